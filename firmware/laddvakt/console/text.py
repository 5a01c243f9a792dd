# What the console's command modules share: argument checks that answer with the usage, and
# the formatting of answers (key/value rows, money, the uplink's state).


class UsageError(Exception):
    pass


def money(minor, unit):
    """Integer minor units as a decimal string: 5854, 2 -> '58.54'."""
    if not unit:
        return str(minor)
    sign = "-" if minor < 0 else ""
    q, r = divmod(abs(minor), 10 ** unit)
    return "%s%d.%0*d" % (sign, q, unit, r)


def int_arg(text, name, lo, hi, usage):
    try:
        n = int(text)
    except ValueError:
        n = None
    if n is None or n < lo or n > hi:
        raise UsageError("%s must be a whole number %d..%d, got '%s'; usage: %s" % (name, lo, hi, text, usage))
    return n


def no_args(args, usage):
    if args:
        raise UsageError("takes no arguments; usage: " + usage)


def kv(rows):
    return "".join("%-15s %s\n" % (k, v) for k, v in rows)


def uplink_state(up):
    """One line on the uplink (an uplink.Uplink, or None when there is none)."""
    if up is None:
        return "none"
    return "%s, %d connect(s), %d failure(s)%s" % (
        "connected" if up.connected else "offline", up.connects, up.failures,
        ", last error " + up.last_error if up.last_error and not up.connected else "")


def mem_free():
    import gc

    return gc.mem_free()
