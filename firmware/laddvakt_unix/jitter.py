# Sampling jitter, for the bench: wraps a ticker and records how late each sample
# came against the nominal period, in a buffer allocated once.
import time
from array import array


class JitterTicker:
    def __init__(self, inner, period_ms, capacity=1024):
        self._inner = inner
        self.period_ms = period_ms
        self._late = array("I", bytes(4 * capacity))
        self.n = 0
        self._last = None

    async def next(self):
        up = await self._inner.next()
        now = time.ticks_ms()
        if self._last is not None and self.n < len(self._late):
            d = time.ticks_diff(now, self._last) - self.period_ms
            self._late[self.n] = d if d > 0 else 0
            self.n += 1
        self._last = now
        return up

    def p99_ms(self):
        if not self.n:
            return None
        v = sorted(self._late[: self.n])
        return v[min(self.n - 1, (self.n * 99) // 100)]
