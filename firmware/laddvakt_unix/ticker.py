# Virtual time for the simulation: advances uptime by one period per tick without waiting
# (or waiting real_sleep_ms), so a simulated day runs in seconds and every run is the same.
import asyncio
import os

from laddvakt.core.clock import tadd


class VirtualTicker:
    def __init__(self, period_ms, real_sleep_ms=0, gate=None):
        self.period_ms = period_ms
        self.up_ms = 0
        self._real_sleep_ms = real_sleep_ms
        # (from up_ms, real ms per tick, path): from that uptime on, each tick waits the real ms
        # until the file at path exists, so a host driving the run (the tight-heap floor scenario:
        # console session, command fuzz) does its part mid-session however fast the run is.
        self._gate = gate

    async def next(self):
        ms = self._real_sleep_ms
        g = self._gate
        if g is not None and self.up_ms >= g[0]:
            try:
                os.stat(g[2])
                self._gate = None
            except OSError:
                ms = g[1]
        await asyncio.sleep_ms(ms)
        self.up_ms = tadd(self.up_ms, self.period_ms)  # the loop's time wraps as on a board
        return self.up_ms
