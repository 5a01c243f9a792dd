# Virtual time for the simulation: advances uptime by one period per tick without waiting
# (or waiting real_sleep_ms), so a simulated day runs in seconds and every run is the same.
import asyncio

from laddvakt.core.clock import tadd


class VirtualTicker:
    def __init__(self, period_ms, real_sleep_ms=0):
        self.period_ms = period_ms
        self.up_ms = 0
        self._real_sleep_ms = real_sleep_ms

    async def next(self):
        await asyncio.sleep_ms(self._real_sleep_ms)
        self.up_ms = tadd(self.up_ms, self.period_ms)  # the loop's time wraps as on a board
        return self.up_ms
