# The serial console's command logic on a real agent and journal (littlefs in RAM): answers,
# and that a long journal scan yields to other tasks instead of holding the loop.
import asyncio
import json

from fwtest import need_heap, run
from ramblock import mount_fresh, umount
from laddvakt.core import config
from laddvakt.journal import frame as jf
from laddvakt.app.agent import Agent
from laddvakt.app.console_view import make_console
from laddvakt.console.text import money
from laddvakt.core.clock import iso_utc as iso
from laddvakt.core.ident import Identity
from laddvakt.journal.store import Journal
from laddvakt.uplink.commands import CommandHandler
from laddvakt.uplink.uplink import Uplink
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
    a = Agent(_Hal(), config.defaults(), board, Identity(INSTALL, 1), j, meter=plant, pilot=plant,
              time_source=SimTimeSource(scenario), ticker=VirtualTicker(1000), plant=plant)
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
        c = make_console(a.hal, a, None, lambda s: None)
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
        c = make_console(a.hal, a, None, lambda s: None)
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
        c = make_console(a.hal, a, None, lambda s: None)
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


def test_without_an_agent_only_the_safe_commands_answer():
    # The config was refused at boot: the console runs on a view without an agent.
    need_heap(96 * 4096 + 30000)
    mount_fresh(96, "/ct")
    try:
        with open("/ct/config.json", "w") as f:
            f.write('{"mqtt_prot": 1883}')
        c = make_console(_Hal(), None, None, lambda s: None, "unknown key 'mqtt_prot'")
        assert "not running: unknown key 'mqtt_prot'" in _exec(c, "status")
        assert _exec(c, "sessions").startswith("error: the agent is not running (unknown key 'mqtt_prot')")
        assert "mqtt_prot = 1883" in _exec(c, "config get")
        assert "removed" in _exec(c, "config unset mqtt_prot")
        assert "  replay " in _exec(c, "help")
        assert (c.commands, c.errors) == (4, 1)
    finally:
        umount("/ct")


def test_config_get_shows_a_saved_value_as_pending_until_reboot():
    a = _agent()
    try:
        c = make_console(a.hal, a, None, lambda s: None)
        assert _exec(c, "config get max_current_a") == "max_current_a = 32\n"
        assert "saved" in _exec(c, "config set max_current_a 16")
        assert _exec(c, "config get max_current_a") == \
            "max_current_a = 32 (pending 16 at the next reboot)\n"
        assert "pending" not in _exec(c, "config get phases")
        assert "removed" in _exec(c, "config unset max_current_a")
        assert _exec(c, "config get max_current_a") == "max_current_a = 32\n"
        # A secret stays masked on both sides of the marker.
        _exec(c, "config set wifi_password hunter22")
        out = _exec(c, "config get wifi_password")
        assert out == 'wifi_password = "" (pending "***" at the next reboot)\n', out
    finally:
        a.journal.close()
        umount("/ct")


class _Link:
    """The MQTT link as the uplink uses it, connected at once; records what is published."""

    def __init__(self):
        self.sent = []
        self.last_rx_ms = 0
        self.on_ack = self.on_oversize = None
        self._pid = 0
        self._owed = []
        self._room = memoryview(bytearray(8192))  # where the uplink builds a batch in place

    def room(self, topic_len):
        return self._room

    def publish_built(self, topic, n, pid=0):
        return self.publish(topic.decode(), self._room[:n], qos=1, pid=pid)

    def set_callback(self, fn):
        pass

    def set_last_will(self, *a, **kw):
        pass

    async def open(self, clean_session=False):
        return 0

    def publish(self, topic, msg, retain=False, qos=0, pid=0):
        self.sent.append((topic, msg.encode() if type(msg) is str else bytes(msg)))
        self._pid += 1
        self._owed.append(self._pid)
        return self._pid

    def subscribe(self, topic, qos=0):
        pass

    def poll(self):
        owed, self._owed = self._owed, []
        for pid in owed:
            self.on_ack(pid)  # the broker's PUBACKs, on the next poll
        return len(owed)

    def idle(self):
        return True

    def ping(self):
        pass

    def close(self):
        pass


def test_replay_from_a_seq_resends_through_the_uplink():
    a = _agent()
    try:
        for n in range(1, 7):
            a.journal.append(jf.TYPE_METER, _end(n))
        a.journal.set_delivered(6)
        link = _Link()
        h = {}
        a.uplink = Uplink(link, a.journal, a.cfg, a.ident, "t", (h, lambda: CommandHandler(h, 4096)), lambda n: 0,
                          None, a.codec)
        c = make_console(a.hal, a, None, lambda s: None)
        assert _exec(c, "replay").startswith("nothing pending: every record up to seq 6")
        out = _exec(c, "replay 3")
        assert out.startswith("replay seq 3..6: sent again ahead of new records; uplink offline"), out
        assert a.journal.delivered == 6  # the cursor does not move

        async def main():
            t = asyncio.create_task(a.uplink.run())
            await asyncio.sleep_ms(30)
            t.cancel()

        asyncio.run(main())
        seqs = []
        for topic, msg in link.sent:
            if topic.endswith("/recs"):
                seqs += [r["seq"] for r in json.loads(msg)["recs"]]
        assert seqs == [3, 4, 5, 6], link.sent
        assert _exec(c, "replay 7").startswith("error: replay seq must be a whole number 1..6")
        assert _exec(c, "replay").startswith("nothing pending")
    finally:
        a.journal.close()
        umount("/ct")


run(globals())
