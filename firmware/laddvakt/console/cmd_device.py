# Console commands about the device and its charging: status, meter, faults, tariff, limit,
# authorize, reboot. They read the agent only through the console's view (app/console_view.py).
from laddvakt.console.text import UsageError, int_arg, kv, mem_free, money, no_args


def status(con, args, line):
    no_args(args, "status")
    v = con.view
    if not v.running:
        return kv((("agent", "not running: %s" % con.error),
                   ("file", con.where or "-"),
                   ("fix", "config get / config set / config unset, then reboot"),
                   ("heap_free", mem_free())))
    return kv(v.status_rows() + (("heap_free", mem_free()),))


def meter(con, args, line):
    v = con.view
    if args == ["scan"]:
        if v.meter_scan is None:
            return "meter scan: the configured meter (type '%s') has no bus to scan\n" % v.meter_type
        return v.meter_scan()
    if args:
        raise UsageError("unknown argument '%s'; usage: meter [scan]" % args[0])
    return kv(v.meter_status())


def faults(con, args, line):
    no_args(args, "faults")
    active = con.view.faults()
    if not active:
        return "no active faults\n"
    return "".join("%s  %s\n" % (code, active[code] or "") for code in sorted(active))


def tariff(con, args, line):
    no_args(args, "tariff")
    t = con.view.tariff()
    return kv((("kind", type(t).__name__),
               ("energy", "%s %s/kWh" % (money(t.price_minor_per_kwh, t.minor_unit), t.currency)),
               ("currency", "%s (minor unit %d)" % (t.currency, t.minor_unit))))


def limit(con, args, line):
    if len(args) > 1:
        raise UsageError("takes at most one value; usage: limit [amps]")
    amps = int_arg(args[0], "amps", 6, 80, "limit [amps]") if args else None
    v = con.view
    if v.limit is None:
        return "error: no charging current control in this build: the pilot is %s and nothing limits it\n" % (
            v.pilot_type)
    return v.limit(amps)


def authorize(con, args, line):
    usage = "authorize <id_tag>"
    if len(args) != 1:
        raise UsageError("takes one ID tag; usage: " + usage)
    if len(args[0]) > 20:
        raise UsageError("an ID tag has at most 20 characters (OCPP IdToken); usage: " + usage)
    present = con.view.present_tag
    if present is None:
        return "error: no charging control in this build\n"
    # The same path as the card reader: the local list decides, as for a card.
    try:
        return "authorize %s: %s\n" % (args[0], present(args[0]))
    except ValueError as e:
        return "error: authorize: %s\n" % e


def reboot(con, args, line):
    no_args(args, "reboot")
    con.write("rebooting\r\n")
    con.view.reboot()
    return ""
