# Technician's serial console on the REPL UART: one command per line, one answer ending in a
# prompt. The reader polls without blocking and long answers (journal scans) yield between
# slices, so a technician typing never delays a sample. The agent is read through a small view
# (app/console_view.py builds it; make_console is the one way to build a Console).
import asyncio
import select

from laddvakt.console import cmd_config, cmd_device, cmd_journal
from laddvakt.console.lines import LINE_MAX, TOO_LONG, LineReader, say
from laddvakt.console.text import UsageError

PROMPT = "lv> "
_POLL_MS = 50

_HELP = (
    ("help", "[command]", "this list, or one command's usage"),
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


def _help(con, args, line):
    if not args:
        return "".join("  %-9s %-36s %s\n" % c for c in _HELP)
    for c in _HELP:
        if c[0] == args[0].lower():
            return "usage: %s\n  %s\n" % ((c[0] + " " + c[1]).strip(), c[2])
    raise UsageError("no command '%s'; 'help' lists them" % args[0])


# name -> fn(console, args, line) -> answer text (or a coroutine giving it)
_COMMANDS = {
    "help": _help,
    "status": cmd_device.status,
    "sessions": cmd_journal.sessions,
    "session": cmd_journal.session,
    "meter": cmd_device.meter,
    "faults": cmd_device.faults,
    "config": cmd_config.run,
    "journal": cmd_journal.journal,
    "replay": cmd_journal.replay,
    "tariff": cmd_device.tariff,
    "limit": cmd_device.limit,
    "authorize": cmd_device.authorize,
    "reboot": cmd_device.reboot,
}
_SAFE = ("help", "status", "config", "reboot")  # what answers while the agent is not running


class Console:
    def __init__(self, view, inp, write, error=None, where=None):
        self.view = view  # app/console_view.ConsoleView; view.running False: `error` says why
        self.error = error
        self.where = where  # and the file it was loading
        self.inp = inp  # a stream select.poll can watch; read(1) gives str or bytes
        self.write = write  # callable(str)
        self._reader = LineReader(inp)
        self.commands = 0
        self.errors = 0

    async def run(self):
        poller = select.poll()
        poller.register(self.inp, select.POLLIN)
        await say(self.write, "laddvakt console: type 'help'\r\n" + PROMPT)
        while True:
            line = self._reader.read_ready(poller)
            if line is None:
                await asyncio.sleep_ms(_POLL_MS)
                continue
            try:
                await say(self.write, await self.execute(line))
                await say(self.write, PROMPT)
            except OSError:
                pass  # the terminal went away mid-answer; the next one may be back

    async def execute(self, line):
        """The answer to one line, ending in a newline (empty for an empty line)."""
        if line == TOO_LONG:
            self.errors += 1
            return "error: line longer than %d characters\n" % LINE_MAX
        words = line.split()
        if not words:
            return ""
        name = words[0].lower()
        fn = _COMMANDS.get(name)
        if fn is None:
            self.errors += 1
            return "error: unknown command '%s'; type 'help' for the list\n" % name
        if not self.view.running and name not in _SAFE:
            self.errors += 1
            return "error: the agent is not running (%s); fix the config ('config get', 'config set', " \
                   "'config unset'), then 'reboot'\n" % self.error
        self.commands += 1
        try:
            r = fn(self, words[1:], line)
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
