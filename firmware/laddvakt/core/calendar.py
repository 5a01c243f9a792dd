# The proleptic Gregorian calendar in integers, the one copy every part uses (tariffs, profiles,
# signed records, the console): day counts since 1970-01-01 to dates and back, after Howard
# Hinnant's public-domain date algorithms. No floats, no epoch differences between ports.
_DAY = 86400


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
