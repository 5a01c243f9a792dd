# The serial console's narrow view of the agent: only what its commands read or do, taken from
# the agent's public attributes, so the console (console/) never holds the agent itself.
from laddvakt.console.shell import Console
from laddvakt.console.text import uplink_state
from laddvakt.core.clock import iso_utc
from laddvakt.meters.report import serial_check


def make_console(hal, agent, reader, writer, error=None, where=None):
    """The serial console on (reader, writer), the pair hal.console() gives. agent None: it
    could not start (`error` says why); then only help, status, config and reboot answer."""
    return Console(ConsoleView(hal, agent), reader, writer, error, where)


class ConsoleView:
    def __init__(self, hal, agent):
        self._hal = hal
        self._a = agent
        self.running = agent is not None
        self.config_path = hal.data_dir + "/config.json"
        if agent is None:
            return
        self.cfg = agent.cfg  # the running config
        self.install = agent.ident.install
        self.journal = agent.journal  # read_after, seq, delivered, pending
        self.decode = agent.codec.decode  # (type, payload, seq) -> the record as a dict
        self.meter_scan = getattr(agent.meter, "scan", None)  # None: the meter has no bus
        self.meter_type = agent.board["meter"]["type"]
        self.pilot_type = agent.board["pilot"]["type"]
        lim = getattr(agent, "limits", None)
        self.limit = lim.console if lim is not None else None  # (amps or None) -> answer
        ctl = getattr(agent, "control", None)
        self.present_tag = ctl.present_tag if ctl is not None else None  # (id_tag) -> status

    def meter_status(self):
        """(key, value) rows of the meter's state."""
        a = self._a
        m = a.metering
        return (("type", a.board["meter"]["type"]), ("profile", m.profile or "-"),
                ("energy_wh", "-" if m.energy_wh is None else m.energy_wh), ("power_w", m.power_w),
                ("read_errors", m.health.failed_polls), ("failed_in_a_row", m.health.in_a_row),
                ("rejected", sum(m.guard.rejected)), ("serial_check", serial_check(m)))

    def journal_status(self):
        j = self.journal
        used = j.bytes_used()
        return (("seq", j.seq), ("delivered", j.delivered), ("pending", j.pending()),
                ("bytes_used", used), ("capacity", j.max_bytes),
                ("fill_pct", used * 100 // j.max_bytes), ("segment_bytes", j.segment_bytes),
                ("segments", j.segment_count), ("corrupt_tails", len(j.corrupt)))

    def reboot(self):
        self._hal.reboot()

    def session(self):
        """The open session (sid, start_up, energy_wh), or None."""
        return self._a.tracker.session

    def faults(self):
        """{code: info} of the active faults."""
        return self._a.faults.active

    def tariff(self):
        return self._a.pricing.tariff

    def uplink(self):
        """The uplink (connected, connects, failures, last_error, replay(seq)), or None."""
        return self._a.uplink

    def status_rows(self):
        a = self._a
        s = a.tracker.session
        j = a.journal
        up = a.up_ms
        return (
            ("device", a.cfg["device_id"]),
            ("board", a.board["name"]),
            ("install", a.ident.install),
            ("boot", a.ident.boot),
            ("uptime_s", a.clock.up(up) // 1000),
            ("time", iso_utc(a.clock.wall_s(up)) + " (" + a.clock.quality() + ")"),
            ("pilot", a.tracker.pilot),
            ("session", s.sid if s else "-"),
            ("journal", "seq %d, delivered %d, pending %d" % (j.seq, j.delivered, j.pending())),
            ("uplink", uplink_state(a.uplink)),
            ("faults", " ".join(a.faults.codes()) or "none"),
        )
