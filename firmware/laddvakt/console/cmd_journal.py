# Console commands that read the journal: sessions, session, journal, replay. A scan reads
# _SLICE records at a time and yields to the sampling task in between.
import asyncio

from laddvakt.console.text import UsageError, int_arg, kv, money, no_args, uplink_state
from laddvakt.core.clock import iso_utc, session_seq
from laddvakt.journal import frame as jf

_SLICE = 32  # journal records read per step of a scan, between yields
_SESSIONS_DEFAULT = 5
_SESSIONS_MAX = 20


async def scan(journal, after, want, stop=None):
    """Feed want(seq, type, payload) every journal record after `after`, _SLICE at a time,
    yielding to the sampling task in between."""
    j = journal
    st = [after, 0]

    def visit(seq, rtype, mv):
        if st[1] >= _SLICE:
            return False
        st[0] = seq
        st[1] += 1
        want(seq, rtype, mv)
        return True

    while st[0] < j.seq and not (stop and stop()):
        st[1] = 0
        j.read_after(st[0], visit)
        if not st[1]:
            break
        await asyncio.sleep_ms(0)


async def sessions(con, args, line):
    usage = "sessions [n]"
    if len(args) > 1:
        raise UsageError("takes at most one argument; usage: " + usage)
    n = int_arg(args[0], "n", 1, _SESSIONS_MAX, usage) if args else _SESSIONS_DEFAULT
    v = con.view
    last = []

    def want(seq, rtype, payload):
        if rtype == jf.TYPE_SESSION_END:
            # Keep the formatted row, not the parsed record: 20 rows fit in 2 KB.
            d = v.decode(rtype, payload, seq)
            last.append("%-21s  %-20s  %9s  %10s  %s\n" % (
                d["sid"], iso_utc(d.get("start_t")), money(d["energy_wh"], 3),
                "%s %s" % (money(d["cost_minor"], d["minor_unit"]), d["currency"]), d["stop_reason"]))
            if len(last) > n:
                last.pop(0)

    await scan(v.journal, 0, want)
    out = []
    s = v.session()
    if s is not None:
        out.append("active  %s  since up %d s  %d Wh so far\n" % (s.sid, s.start_up // 1000, s.energy_wh))
    if not last:
        out.append("no completed sessions in the journal\n")
    else:
        out.append("%-21s  %-20s  %9s  %10s  %s\n" % ("session", "start (UTC)", "kWh", "cost", "stop reason"))
    return "".join(out + last)


async def session(con, args, line):
    usage = "session <id>   (ids are listed by 'sessions')"
    if len(args) != 1:
        raise UsageError("takes one session id; usage: " + usage)
    v = con.view
    sid = args[0]
    try:
        seq = session_seq(sid, v.install)
    except ValueError:
        raise UsageError("'%s' is not a session id of this device; usage: %s" % (sid, usage))
    found = {}
    meters = [0]

    def want(rseq, rtype, payload):
        if rtype in (jf.TYPE_SESSION_START, jf.TYPE_SESSION_END, jf.TYPE_METER, jf.TYPE_METER_PERIODIC,
                     jf.TYPE_METER_EDGE):
            d = v.decode(rtype, payload, rseq)
            if d.get("sid") != sid:
                return
            if rtype != jf.TYPE_SESSION_START and rtype != jf.TYPE_SESSION_END:
                meters[0] += 1
            else:
                found[d["type"]] = d

    await scan(v.journal, seq - 1, want, stop=lambda: "session_end" in found)
    if "session_start" not in found:
        return "error: session %s is not in the journal (trimmed, or never existed)\n" % sid
    st = found["session_start"]
    rows = [("session", sid), ("start", iso_utc(st["t"]) + " (" + st["tq"] + ")"),
            ("meter_start_wh", st["meter_start_wh"]), ("id_tag", st["id_tag"] or "-"),
            ("meter_records", meters[0])]
    end = found.get("session_end")
    if end:
        rows += [("end", iso_utc(end["end_t"])), ("meter_stop_wh", end["meter_stop_wh"]),
                 ("energy_wh", end["energy_wh"]), ("duration_s", end["duration_s"]),
                 ("cost", "%s %s" % (money(end["cost_minor"], end["minor_unit"]), end["currency"])),
                 ("stop_reason", end["stop_reason"])]
    else:
        s = v.session()
        live = s is not None and s.sid == sid
        rows.append(("state", "active, %d Wh so far" % s.energy_wh if live else "no end record"))
    return kv(rows)


def journal(con, args, line):
    no_args(args, "journal")
    return kv(con.view.journal_status())


def replay(con, args, line):
    v = con.view
    j = v.journal
    up = v.uplink()
    if args:
        seq = int_arg(args[0], "seq", 1, j.seq if j.seq else 1, "replay [seq]")
        if up is None:
            return "error: replay: no uplink is running\n"
        # The MQTT command's way (docs/mqtt.md, Replay): sent again as recs batches ahead of
        # new records; the delivery cursor does not move.
        try:
            first, last = up.replay(seq)
        except ValueError as e:
            return "error: replay: %s\n" % e
        return "replay seq %d..%d: sent again ahead of new records; uplink %s\n" % (
            first, last, uplink_state(up))
    return "pending %d record(s): seq %d..%d; uplink %s\n" % (
        j.pending(), j.delivered + 1, j.seq, uplink_state(up)) if j.pending() else \
        "nothing pending: every record up to seq %d is delivered\n" % j.seq
