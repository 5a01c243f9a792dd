# Technician's serial console on the REPL UART: one command per line, one answer ending in a
# prompt. The reader polls without blocking and long answers (journal scans) yield between
# slices, so a technician typing never delays a sample.
import asyncio
import json
import select

from laddvakt.core import config
from laddvakt.core.calendar import iso_utc
from laddvakt.journal import frame as jf
from laddvakt.core.files import write_atomic
from laddvakt.core.ids import session_seq

PROMPT = "lv> "
_POLL_MS = 50
_LINE_MAX = 160
_SLICE = 32  # journal records read per step of a scan, between yields
_OUT_CHUNK = 256  # bytes written per step: a UART at 115200 baud takes ~22 ms for it
_SESSIONS_DEFAULT = 5
_SESSIONS_MAX = 20

_HELP = (
    ("help", "", "this list"),
    ("status", "", "device, uptime, pilot, session, journal, uplink, faults"),
    ("sessions", "[n]", "the last n completed sessions (default 5, at most 20)"),
    ("session", "<id>", "one session's records"),
    ("meter", "[scan]", "live reading and meter health; scan: look for meters on the bus"),
    ("faults", "", "active faults (OCPP 1.6 ErrorCode)"),
    ("config", "get [key]|set <key> <v>|unset <key>", "show (secrets masked), change, or remove a key"),
    ("journal", "", "records written, delivered, pending; flash used and capacity"),
    ("replay", "[seq]", "what the uplink will resend; seq: resend from there"),
    ("tariff", "", "the price in force"),
    ("limit", "[amps]", "the charging current limit"),
    ("authorize", "<id_tag>", "present an ID tag, as at the card reader"),
    ("reboot", "", "restart the device (the journal is already on flash)"),
)


class UsageError(Exception):
    pass


def money(minor, unit):
    """Integer minor units as a decimal string: 5854, 2 -> '58.54'."""
    if not unit:
        return str(minor)
    sign = "-" if minor < 0 else ""
    q, r = divmod(abs(minor), 10 ** unit)
    return "%s%d.%0*d" % (sign, q, unit, r)


def _int_arg(text, name, lo, hi, usage):
    try:
        n = int(text)
    except ValueError:
        n = None
    if n is None or n < lo or n > hi:
        raise UsageError("%s must be a whole number %d..%d, got '%s'; usage: %s" % (name, lo, hi, text, usage))
    return n


class Console:
    def __init__(self, hal, agent, inp, write, error=None):
        self.hal = hal
        self.agent = agent  # None when it could not start: then `error` says why
        self.error = error
        self.inp = inp  # a stream select.poll can watch; read(1) gives str or bytes
        self._write = write  # callable(str)
        self._line = bytearray(_LINE_MAX)
        self._n = 0
        self._overflow = False
        self._cr = False
        self.commands = 0
        self.errors = 0

    # ---- the task ---------------------------------------------------------------
    async def run(self):
        poller = select.poll()
        poller.register(self.inp, select.POLLIN)
        await self._say("laddvakt console: type 'help'\r\n" + PROMPT)
        while True:
            line = self._read_ready(poller)
            if line is None:
                await asyncio.sleep_ms(_POLL_MS)
                continue
            try:
                await self._say(await self.execute(line) + PROMPT)
            except OSError:
                pass  # the terminal went away mid-answer; the next one may be back

    def _read_ready(self, poller):
        """Take what has arrived, without waiting; a complete line or None."""
        while _ready(poller):
            # One byte per poll: after a poll, read(1) returns at once on every port, while
            # read() with no size blocks on a board's stdin (micropython issue #16550).
            c = self.inp.read(1)
            if not c:
                return None  # peer hung up: poll stays readable, so don't spin on it
            b = c[0] if isinstance(c, bytes) else ord(c)
            after_cr = self._cr
            self._cr = b == 13
            if b == 10 and after_cr:
                continue  # CR LF is one line end, not a line and an empty one
            if b in (10, 13):
                if self._overflow:
                    self._overflow = False
                    self._n = 0
                    return "\x00"
                line = bytes(self._line[: self._n]).decode()
                self._n = 0
                return line
            if b < 32 or b > 126:
                continue  # control and non-ASCII bytes: a terminal's escapes, line noise
            if self._n < _LINE_MAX:
                self._line[self._n] = b
                self._n += 1
            else:
                self._overflow = True
        return None

    async def _say(self, text):
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        for i in range(0, len(text), _OUT_CHUNK):
            self._write(text[i:i + _OUT_CHUNK])
            await asyncio.sleep_ms(0)

    # ---- dispatch -----------------------------------------------------------------
    async def execute(self, line):
        """The answer to one line, ending in a newline (empty for an empty line)."""
        if line == "\x00":
            self.errors += 1
            return "error: line longer than %d characters\n" % _LINE_MAX
        words = line.split()
        if not words:
            return ""
        name = words[0].lower()
        fn = getattr(self, "c_" + name, None)
        if fn is None:
            self.errors += 1
            return "error: unknown command '%s'; type 'help' for the list\n" % name
        if self.agent is None and name not in _SAFE:
            self.errors += 1
            return "error: the agent is not running (%s); fix the config ('config get', 'config set', " \
                   "'config unset'), then 'reboot'\n" % self.error
        self.commands += 1
        try:
            r = fn(words[1:], line)
            if not isinstance(r, str):
                r = await r
            return r
        except UsageError as e:
            self.errors += 1
            return "error: %s %s\n" % (name, e)
        except Exception as e:
            # A record this build cannot read, a flash error: say so, and keep the console.
            self.errors += 1
            return "error: %s failed: %s %s\n" % (name, type(e).__name__, e)

    # ---- commands -----------------------------------------------------------------
    def c_help(self, args, line):
        return "".join("  %-9s %-36s %s\n" % c for c in _HELP)

    def c_status(self, args, line):
        _none(args, "status")
        a = self.agent
        if a is None:
            return _kv((("agent", "not running: %s" % self.error),
                        ("fix", "config get / config set / config unset, then reboot"),
                        ("heap_free", _mem_free())))
        s = a.tracker.session
        cfg = a.cfg
        up = a.uplink
        return _kv((
            ("device", cfg["device_id"]),
            ("board", a.board["name"]),
            ("install", a.ident.install),
            ("boot", a.ident.boot),
            ("uptime_s", a.up_ms // 1000),
            ("time", iso_utc(a.clock.wall_s(a.up_ms)) + " (" + a.clock.quality() + ")"),
            ("pilot", a.tracker.pilot),
            ("session", s.sid if s else "-"),
            ("journal", "seq %d, delivered %d, pending %d" % (a.journal.seq, a.journal.delivered,
                                                              a.journal.pending())),
            ("uplink", _uplink_state(up)),
            ("faults", " ".join(a.faults.codes()) or "none"),
            ("heap_free", _mem_free()),
        ))

    async def c_sessions(self, args, line):
        usage = "sessions [n]"
        if len(args) > 1:
            raise UsageError("takes at most one argument; usage: " + usage)
        n = _int_arg(args[0], "n", 1, _SESSIONS_MAX, usage) if args else _SESSIONS_DEFAULT
        last = []

        def want(seq, rtype, payload):
            if rtype == jf.TYPE_SESSION_END:
                # Keep the formatted row, not the parsed record: 20 rows fit in 2 KB.
                d = self.agent.codec.decode(rtype, payload, seq)
                last.append("%-21s  %-20s  %9s  %10s  %s\n" % (
                    d["sid"], iso_utc(d.get("start_t")), money(d["energy_wh"], 3),
                    "%s %s" % (money(d["cost_minor"], d["minor_unit"]), d["currency"]), d["stop_reason"]))
                if len(last) > n:
                    last.pop(0)

        await self._scan(0, want)
        out = []
        s = self.agent.tracker.session
        if s is not None:
            out.append("active  %s  since up %d s  %d Wh so far\n" % (s.sid, s.start_up // 1000, s.energy_wh))
        if not last:
            out.append("no completed sessions in the journal\n")
        else:
            out.append("%-21s  %-20s  %9s  %10s  %s\n" % ("session", "start (UTC)", "kWh", "cost", "stop reason"))
        return "".join(out + last)

    async def c_session(self, args, line):
        usage = "session <id>   (ids are listed by 'sessions')"
        if len(args) != 1:
            raise UsageError("takes one session id; usage: " + usage)
        sid = args[0]
        seq = _sid_seq(sid, self.agent.ident.install)
        if seq is None:
            raise UsageError("'%s' is not a session id of this device; usage: %s" % (sid, usage))
        found = {}
        meters = [0]

        def want(rseq, rtype, payload):
            if rtype in (jf.TYPE_SESSION_START, jf.TYPE_SESSION_END, jf.TYPE_METER, jf.TYPE_METER_PERIODIC,
                         jf.TYPE_METER_EDGE):
                d = self.agent.codec.decode(rtype, payload, rseq)
                if d.get("sid") != sid:
                    return
                if rtype != jf.TYPE_SESSION_START and rtype != jf.TYPE_SESSION_END:
                    meters[0] += 1
                else:
                    found[d["type"]] = d

        await self._scan(seq - 1, want, stop=lambda: "session_end" in found)
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
            s = self.agent.tracker.session
            live = s is not None and s.sid == sid
            rows.append(("state", "active, %d Wh so far" % s.energy_wh if live else "no end record"))
        return _kv(rows)

    def c_meter(self, args, line):
        a = self.agent
        if args == ["scan"]:
            scan = getattr(a.meter, "scan", None)
            if scan is None:
                return "meter scan: the configured meter (type '%s') has no bus to scan\n" % a.board["meter"]["type"]
            return scan()
        if args:
            raise UsageError("unknown argument '%s'; usage: meter [scan]" % args[0])
        return _kv(a.meter_status())

    def c_faults(self, args, line):
        _none(args, "faults")
        active = self.agent.faults.active
        if not active:
            return "no active faults\n"
        return "".join("%s  %s\n" % (code, active[code] or "") for code in sorted(active))

    def c_config(self, args, line):
        usage = "config get [key] | config set <key> <value> | config unset <key>"
        if not args or args[0] not in ("get", "set", "unset"):
            raise UsageError("needs get, set or unset; usage: " + usage)
        if args[0] == "get":
            if len(args) > 2:
                raise UsageError("get takes at most one key; usage: " + usage)
            # The running config; without a running agent, the file over the defaults as it is.
            cfg = self.agent.cfg if self.agent else _file_over_defaults(self._path())
            cfg = config.masked(cfg)
            keys = args[1:] or sorted(cfg)
            for k in keys:
                if k not in cfg:
                    raise UsageError("unknown key '%s'; 'config get' lists them" % k)
            return "".join("%s = %s\n" % (k, json.dumps(cfg[k])) for k in keys)
        if args[0] == "unset":
            if len(args) != 2:
                raise UsageError("unset takes one key; usage: " + usage)
            # Any key, known or not: removing a mistyped key is how a refused config is fixed.
            self._save({}, args[1])
            return "%s removed (back to its default); takes effect at the next reboot\n" % args[1]
        if len(args) < 3:
            raise UsageError("set needs a key and a value; usage: " + usage)
        key = args[1]
        spec = config.SCHEMA.get(key)
        if spec is None:
            raise UsageError("unknown key '%s'; 'config get' lists them" % key)
        # The value is the rest of the line as typed, so an SSID may hold spaces.
        raw = line.split(None, 3)[3]
        if spec[0] is int:
            try:
                val = int(raw)
            except ValueError:
                raise UsageError("%s must be a whole number, got '%s'" % (key, raw))
        else:
            val = raw
        self._save({key: val})
        shown = "***" if key in config.SECRETS else json.dumps(val)
        return "%s = %s saved; takes effect at the next reboot\n" % (key, shown)

    def _path(self):
        return self.hal.data_dir + "/config.json"

    def _save(self, changes, drop=None):
        """Validate the file with the change applied and write it atomically (rename); the
        running config is untouched until the next boot."""

        path = self._path()
        cur = _read_json(path)
        if drop is not None:
            if drop not in cur:
                raise UsageError("'%s' is not in %s" % (drop, path))
            del cur[drop]
        cur.update(changes)
        try:
            config.validate(cur)
        except config.ConfigError as e:
            raise UsageError(str(e))
        write_atomic(path, json.dumps(cur))

    def c_journal(self, args, line):
        _none(args, "journal")
        return _kv(self.agent.journal_status())

    def c_replay(self, args, line):
        a = self.agent
        j = a.journal
        replay = getattr(a.uplink, "replay", None)
        if args:
            seq = _int_arg(args[0], "seq", 1, j.seq if j.seq else 1, "replay [seq]")
            if replay is None:
                return "error: replay from an older seq is not in this build; pending records are sent by themselves\n"
            return replay(seq)
        return "pending %d record(s): seq %d..%d; uplink %s\n" % (
            j.pending(), j.delivered + 1, j.seq, _uplink_state(a.uplink)) if j.pending() else \
            "nothing pending: every record up to seq %d is delivered\n" % j.seq

    def c_tariff(self, args, line):
        _none(args, "tariff")
        t = self.agent.tariff
        return _kv((("kind", type(t).__name__),
                    ("energy", "%s %s/kWh" % (money(t.price_minor_per_kwh, t.minor_unit), t.currency)),
                    ("currency", "%s (minor unit %d)" % (t.currency, t.minor_unit))))

    def c_limit(self, args, line):
        if len(args) > 1:
            raise UsageError("takes at most one value; usage: limit [amps]")
        amps = _int_arg(args[0], "amps", 6, 80, "limit [amps]") if args else None
        lim = getattr(self.agent, "limits", None)
        if lim is None:
            return "error: no charging current control in this build: the pilot is %s and nothing limits it\n" % (
                self.agent.board["pilot"]["type"])
        return lim.console(amps)

    def c_authorize(self, args, line):
        usage = "authorize <id_tag>"
        if len(args) != 1:
            raise UsageError("takes one ID tag; usage: " + usage)
        if len(args[0]) > 20:
            raise UsageError("an ID tag has at most 20 characters (OCPP IdToken); usage: " + usage)
        ctl = getattr(self.agent, "control", None)
        if ctl is None:
            return "error: no charging control in this build\n"
        # The same path as the card reader: the local list decides, as for a card.
        try:
            return "authorize %s: %s\n" % (args[0], ctl.present_tag(args[0]))
        except ValueError as e:
            return "error: authorize: %s\n" % e

    def c_reboot(self, args, line):
        _none(args, "reboot")
        self._write("rebooting\r\n")
        self.hal.reboot()
        return ""

    # ---- helpers --------------------------------------------------------------------
    async def _scan(self, after, want, stop=None):
        """Feed want(seq, type, payload) every journal record after `after`, _SLICE at a time,
        yielding to the sampling task in between."""
        j = self.agent.journal
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


_SAFE = ("help", "status", "config", "reboot")  # what answers while the agent is not running


def _read_json(path):
    try:
        with open(path) as f:
            d = json.loads(f.read())
    except (OSError, ValueError):
        return {}
    return d if isinstance(d, dict) else {}


def _file_over_defaults(path):
    cfg = config.defaults()
    cfg.update(_read_json(path))
    return cfg


def _ready(poller):
    # ipoll reuses one result tuple: polling every 50 ms allocates nothing.
    for _ in poller.ipoll(0):
        return True
    return False


def _none(args, usage):
    if args:
        raise UsageError("takes no arguments; usage: " + usage)


def _kv(rows):
    return "".join("%-15s %s\n" % (k, v) for k, v in rows)


def _uplink_state(up):
    if up is None:
        return "none"
    return "%s, %d connect(s), %d failure(s)%s" % (
        "connected" if up.connected else "offline", up.connects, up.failures,
        ", last error " + up.last_error if up.last_error and not up.connected else "")


def _sid_seq(sid, install):
    try:
        return session_seq(sid, install)
    except ValueError:
        return None


def _mem_free():
    import gc

    return gc.mem_free()
