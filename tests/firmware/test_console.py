# The serial console's command logic on a real agent and journal (littlefs in RAM): answers,
# and that a long journal scan yields to other tasks instead of holding the loop.
import asyncio
import json

from fwtest import need_heap, run
from ramblock import mount_fresh, umount
from laddvakt.core import config
from laddvakt.journal import frame as jf
from laddvakt.app.agent import Agent
from laddvakt.console.shell import Console, money
from laddvakt.core.calendar import iso_utc as iso
from laddvakt.core.ident import Identity
from laddvakt.journal.store import Journal
from laddvakt_unix.sim.ev import SimStation
from laddvakt_unix.sim.plant import SimTimeSource
from laddvakt_unix.ticker import VirtualTicker

INSTALL = "0123456789ab"


class _Hal:
    data_dir = "/ct"
    bench = False


def _agent():
    need_heap(96 * 4096 + 30000)
    mount_fresh(96, "/ct")  # segments of about 1 KiB each take a block until thinned
    scenario = {"start_epoch": 1795154400, "visits": []}
    plant = SimStation(scenario)  # the simulated station: meter and control hardware
    j = Journal("/ct/j", 16384, 262144).open()
    board = {"name": "unix-sim", "meter": {"type": "sim"}, "pilot": {"type": "sim"}}
    a = Agent(_Hal(), config.defaults(), board, Identity(INSTALL, 1), j, plant,
              plant, SimTimeSource(scenario), VirtualTicker(1000), plant)
    return a


def _end(n):
    return json.dumps({"type": "session_end", "sid": "%s-%08x" % (INSTALL, n), "start_t": 1795154400 + n * 60,
                       "energy_wh": 1000 + n, "cost_minor": 250 + n, "minor_unit": 2, "currency": "SEK",
                       "stop_reason": "EVDisconnected"}).encode()


def _exec(c, line):
    return asyncio.run(c.execute(line))


def test_iso_and_money():
    assert iso(0) == "1970-01-01T00:00:00Z"
    assert iso(1795154400) == "2026-11-20T06:00:00Z"
    assert iso(951782400 + 86399) == "2000-02-29T23:59:59Z"
    assert iso(None) == "-"
    assert money(5854, 2) == "58.54" and money(5, 3) == "0.005" and money(-5, 2) == "-0.05"
    assert money(7, 0) == "7"


def test_scan_yields_to_sampling():
    a = _agent()
    try:
        for n in range(1, 241):
            a.journal.append(jf.TYPE_SESSION_END if n % 3 == 0 else jf.TYPE_METER, _end(n))
        c = Console(a.hal, a, None, lambda s: None)
        ticks = [0]
        done = [False]

        async def sampler():
            while not done[0]:
                ticks[0] += 1
                await asyncio.sleep_ms(0)

        async def main():
            t = asyncio.create_task(sampler())
            out = await c.execute("sessions 20")
            done[0] = True
            await t
            return out

        out = asyncio.run(main())
        rows = [ln for ln in out.split("\n") if ln.startswith(INSTALL)]
        assert len(rows) == 20, out
        assert rows[-1].startswith("%s-%08x" % (INSTALL, 240)) and rows[0].startswith("%s-%08x" % (INSTALL, 183))
        assert "1.240" in rows[-1] and "4.90 SEK" in rows[-1]
        # 240 records in slices of 32: the sampler ran between every slice.
        assert ticks[0] >= 240 // 32, ticks[0]
    finally:
        a.journal.close()
        umount("/ct")


def test_config_set_is_validated_and_secret():
    a = _agent()
    try:
        c = Console(a.hal, a, None, lambda s: None)
        out = _exec(c, "config set mqtt_password s3cret!")
        assert "***" in out and "s3cret" not in out
        with open("/ct/config.json") as f:
            assert json.loads(f.read()) == {"mqtt_password": "s3cret!"}
        assert _exec(c, "config set mqtt_port 0").startswith("error: config key 'mqtt_port' value 0")
        with open("/ct/config.json") as f:
            assert "mqtt_port" not in json.loads(f.read())
        a.cfg["mqtt_password"] = "s3cret!"
        assert _exec(c, "config get mqtt_password") == 'mqtt_password = "***"\n'
        assert "s3cret" not in _exec(c, "config get")
    finally:
        a.journal.close()
        umount("/ct")


def test_counts_commands_and_errors():
    a = _agent()
    try:
        c = Console(a.hal, a, None, lambda s: None)
        assert _exec(c, "") == ""
        _exec(c, "faults")
        _exec(c, "nope")
        _exec(c, "faults x")
        assert (c.commands, c.errors) == (2, 2)
        # A session record this build cannot read: an error answer, and the console goes on.
        a.journal.append(jf.TYPE_SESSION_END, b'{"type":"session_end","sid":"x"}')
        out = _exec(c, "sessions")
        assert out.startswith("error: sessions failed: KeyError"), out
        assert _exec(c, "faults") == "no active faults\n"
        a.set_fault("PowerMeterFailure", True, "no reply")
        assert _exec(c, "faults") == "PowerMeterFailure  no reply\n"
    finally:
        a.journal.close()
        umount("/ct")


run(globals())
