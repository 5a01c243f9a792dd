# Wall time that may be unknown. Until a sync (NTP, or the backend), records carry
# no wall time but a boot id and uptime; once synced, any uptime converts to wall time.
#
# The loop's time is ms since the agent started, wrapping at 2**30 as time.ticks_ms does on a
# board (12.4 days), on every port, so it stays a small integer and the unix port wraps where a
# board does: compare it only with tdiff/age_ms, move it with tadd/before. The clock follows it
# from an anchor that advance() moves on every ~1.5 days, keeping uptime and wall time there as
# seconds plus ms, so converting a stamp is small-integer work that stays right across the wrap.
from micropython import const

_SYNCED = "synced"
_UNSYNCED = "unsynced"
# Earliest wall time we accept as a real sync (2024-01-01); an RTC that reset to
# its epoch must not be taken for the truth.
_MIN_VALID_S = const(1704067200)
_MASK = const(0x3FFFFFFF)  # the loop's period - 1 (2**30 itself is no small integer on a board)
_HALF = const(0x20000000)
_REBASE = const(0x8000000)  # move the anchor on after 1/8 of the period (1.55 days)
_AHEAD = const(0x10000000)  # a stamp further ahead of the anchor is one from before the wrap


def tdiff(a, b):
    """a - b for loop times, signed, for spans under 2**29 ms (6.2 days): ticks_diff's rule."""
    d = (a - b) & _MASK
    return d - _MASK - 1 if d >= _HALF else d


def tadd(t, ms):
    """The loop time ms after t (ms may be negative, |ms| < 2**29), without a large integer
    on the way."""
    if ms >= 0:
        return (t - _MASK - 1 + ms) & _MASK
    return (t + ms) & _MASK


def age_ms(now, t):
    """ms from loop time t back to now (t not after now): modular, so right for up to a whole
    period (12.4 days), twice the span tdiff's signed result allows."""
    return (now - t) & _MASK


def before(now, ms):
    """The loop time ms before now, for ms up to a whole period (tadd takes half)."""
    return (now - ms) & _MASK


class Clock:
    def __init__(self, up0=0):
        self._a_up = up0  # loop time at the anchor
        self._a_s = 0  # uptime at the anchor: s and ms (from up0, the agent's start)
        self._a_ms = 0
        self._w_s = None  # wall time at the anchor, s and ms, once synced
        self._w_ms = 0
        self._k = None  # wall_s's last answer, as whole seconds past the anchor's wall time
        self._wk = None

    def _d(self, t):
        # ms from the anchor to t: stamps run from a little before the wrap to shortly after
        # the anchor, so a large positive difference is a stamp from before the wrap.
        d = tdiff(t, self._a_up)
        if d > _AHEAD:
            d = d - _MASK - 1
        return d

    def advance(self, now):
        """Follow the loop (every step): the anchor moves on before now is too far from it."""
        d = self._d(now)
        if d < _REBASE:
            return
        self._a_up = now
        ms = self._a_ms + d
        self._a_s += ms // 1000
        self._a_ms = ms % 1000
        if self._w_s is not None:
            ms = self._w_ms + d
            self._w_s += ms // 1000
            self._w_ms = ms % 1000
        self._k = None

    def up(self, t):
        """Uptime in ms since the agent started at loop time t: monotonic across the ticks
        wrap (a large integer after 12.4 days, made only when a record is)."""
        return self._a_s * 1000 + self._a_ms + self._d(t)

    def sync(self, up_ms, unix_s):
        if unix_s < _MIN_VALID_S:
            return False
        self.advance(up_ms)
        ms = -self._d(up_ms)  # the anchor's wall time: unix_s, ms before up_ms
        self._w_s = unix_s + ms // 1000
        self._w_ms = ms % 1000
        self._k = None
        return True

    @property
    def synced(self):
        return self._w_s is not None

    def wall_s(self, up_ms):
        """Unix seconds at loop time up_ms, or None while unsynced. The same second's answer is
        the same object: wall seconds are large integers on a board, made once a second."""
        if self._w_s is None:
            return None
        k = (self._w_ms + self._d(up_ms)) // 1000
        if k != self._k:
            self._k = k
            self._wk = self._w_s + k
        return self._wk

    def quality(self):
        return _SYNCED if self._w_s is not None else _UNSYNCED
