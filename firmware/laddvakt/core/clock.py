# Wall time that may be unknown. Until a sync (NTP, or the backend), records carry
# no wall time but a boot id and uptime; once synced, any uptime converts to wall time.
#
# The loop's time is ms since the agent started, wrapping at 2**30 as time.ticks_ms does on a
# board (12.4 days), on every port, so it stays a small integer and the unix port wraps where a
# board does: compare it only with tdiff/age_ms, move it with tadd/before. The clock follows it
# from an anchor that advance() moves on every ~1.5 days, keeping uptime and wall time there as
# seconds plus ms, so converting a stamp is small-integer work that stays right across the wrap.
# At the end, the calendar: the proleptic Gregorian calendar in integers, the one copy every part
# uses (tariffs, profiles, signed records, the console): day counts since 1970-01-01 to dates and
# back, after Howard Hinnant's public-domain date algorithms, and ISO 8601 UTC text both ways. No
# floats, no epoch differences between ports. Last, the session ids.
from micropython import const

# Earliest wall time we accept as a real sync (2024-01-01); an RTC that reset to
# its epoch must not be taken for the truth.
_MIN_VALID_S = const(1704067200)
_MASK = const(0x3FFFFFFF)  # the loop's period - 1 (2**30 itself is no small integer on a board)
_HALF = const(0x20000000)
_REBASE = const(0x8000000)  # move the anchor on after 1/8 of the period (1.55 days)
_AHEAD = const(0x10000000)  # a stamp further ahead of the anchor is one from before the wrap
_DAY = const(86400)


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
        return "synced" if self._w_s is not None else "unsynced"


# ---- the calendar ----------------------------------------------------------------------------

def days_from_civil(y, m, d):
    """Days since 1970-01-01 of year y, month m (1-12), day d."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z):
    """(year, month, day) of a day count since 1970-01-01."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (1 if m <= 2 else 0), m, d


def weekday(days):
    """0 = Monday … 6 = Sunday; 1970-01-01 was a Thursday."""
    return (days + 3) % 7


def iso_utc(t):
    """Unix seconds as ISO 8601 UTC ("2026-11-20T06:30:00Z"); None as "-"."""
    if t is None:
        return "-"
    days, s = divmod(t, _DAY)
    y, m, d = civil_from_days(days)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, m, d, s // 3600, s // 60 % 60, s % 60)


def iso_seconds(v):
    """Unix seconds of an ISO 8601 date-time "YYYY-MM-DDThh:mm:ss[.fff][Z|+hh:mm|-hh:mm]" (OCPP's
    dateTime; no offset is UTC), the inverse of iso_utc. None if v does not have that shape;
    ValueError if it has but cannot be read."""
    if not isinstance(v, str) or len(v) < 19 or v[4] != "-" or v[10] not in "Tt ":
        return None
    try:
        t = (days_from_civil(int(v[0:4]), int(v[5:7]), int(v[8:10])) * _DAY
             + int(v[11:13]) * 3600 + int(v[14:16]) * 60 + int(v[17:19]))
        rest = v[19:]
        if rest[:1] == ".":
            i = 1
            while i < len(rest) and rest[i] in "0123456789":
                i += 1
            rest = rest[i:]
        if rest in ("Z", "z", ""):
            return t
        off = int(rest[1:3]) * 3600 + int(rest[4:6]) * 60
        return t - off if rest[0] == "+" else t + off
    except IndexError:
        raise ValueError("cannot read date-time %r" % v)


# Session ids, built and parsed in one place (here, with the other small pure helpers every part
# shares): the install id and the journal seq of the session's start record, "<install>-<seq as 8
# hex digits>" (21 characters; OCPP 2.0.1 allows 36). Unique for the install's lifetime, and the
# seq says where the session begins.
def session_id(install, seq):
    return "%s-%08x" % (install, seq)


def session_seq(sid, install):
    """The journal seq that install's session id names; ValueError if it is not one."""
    if len(sid) != len(install) + 9 or not sid.startswith(install + "-"):
        raise ValueError("not a session of %s: %r" % (install, sid))
    return int(sid[-8:], 16)  # ValueError on anything but hex digits
