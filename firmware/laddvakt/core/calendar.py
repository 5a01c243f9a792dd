# The proleptic Gregorian calendar in integers, the one copy every part uses (tariffs, profiles,
# signed records, the console): day counts since 1970-01-01 to dates and back, after Howard
# Hinnant's public-domain date algorithms, and ISO 8601 UTC text both ways. No floats, no epoch
# differences between ports.
from micropython import const

_DAY = const(86400)


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
