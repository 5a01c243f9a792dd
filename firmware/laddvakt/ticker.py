# The sampling schedule. RealTicker follows the hardware clock; VirtualTicker
# advances a virtual uptime by one period per tick, so a simulated day runs in
# seconds and every run of a scenario is the same. Both return uptime in ms that
# never wraps (ticks_ms itself wraps every 2**30 ms, about 12 days).
import asyncio
import time


class RealTicker:
    def __init__(self, period_ms):
        self.period_ms = period_ms
        self.up_ms = 0
        self._last = time.ticks_ms()
        self._due = self._last

    def _advance(self):
        now = time.ticks_ms()
        self.up_ms += time.ticks_diff(now, self._last)
        self._last = now
        return now

    async def next(self):
        self._due = time.ticks_add(self._due, self.period_ms)
        wait = time.ticks_diff(self._due, self._advance())
        if wait > 0:
            await asyncio.sleep_ms(wait)
        else:
            # Late (a stall elsewhere): resynchronise instead of bursting to catch up.
            self._due = self._last
            await asyncio.sleep_ms(0)
        self._advance()
        return self.up_ms


class VirtualTicker:
    def __init__(self, period_ms, real_sleep_ms=0):
        self.period_ms = period_ms
        self.up_ms = 0
        self._real_sleep_ms = real_sleep_ms

    async def next(self):
        await asyncio.sleep_ms(self._real_sleep_ms)
        self.up_ms += self.period_ms
        return self.up_ms
