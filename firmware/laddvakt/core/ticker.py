# The loop's schedule on a board: RealTicker follows the hardware clock and returns the loop's
# time: ms since it started, wrapping at 2**30 (12.4 days) as ticks_ms does on a board, so it
# stays a small integer (core/clock.py: compared with tdiff, turned into uptime for records). The simulation's virtual-time
# ticker is laddvakt_unix.ticker.
import asyncio
import time

from laddvakt.core.clock import tadd


class RealTicker:
    def __init__(self, period_ms):
        self.period_ms = period_ms
        self.up_ms = 0
        self._last = time.ticks_ms()
        self._due = self._last

    async def next(self):
        self._due = time.ticks_add(self._due, self.period_ms)
        now = time.ticks_ms()
        wait = time.ticks_diff(self._due, now)
        if wait > 0:
            await asyncio.sleep_ms(wait)
        else:
            # Late (a stall elsewhere): resynchronise instead of bursting to catch up.
            self._due = now
            await asyncio.sleep_ms(0)
        # The loop's time moves on by the hardware clock's, waits and stalls included.
        now = time.ticks_ms()
        self.up_ms = tadd(self.up_ms, time.ticks_diff(now, self._last))
        self._last = now
        return self.up_ms
