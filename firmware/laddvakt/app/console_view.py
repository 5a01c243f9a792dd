# The serial console's narrow view of the agent: only what its commands read or do, taken from
# the agent's public attributes, so the console (console/) never holds the agent itself.
from laddvakt.console.shell import Console
from laddvakt.console.text import uplink_state
from laddvakt.core.calendar import iso_utc


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
        self.meter_status = agent.meter_status  # () -> (key, value) rows
        self.journal_status = agent.journal_status
        self.meter_scan = getattr(agent.meter, "scan", None)  # None: the meter has no bus
        self.meter_type = agent.board["meter"]["type"]
        self.pilot_type = agent.board["pilot"]["type"]
        lim = getattr(agent, "limits", None)
        self.limit = lim.console if lim is not None else None  # (amps or None) -> answer
        ctl = getattr(agent, "control", None)
        self.present_tag = ctl.present_tag if ctl is not None else None  # (id_tag) -> status

    def reboot(self):
        self._hal.reboot()

    def session(self):
        """The open session (sid, start_up, energy_wh), or None."""
        return self._a.tracker.session

    def faults(self):
        """{code: info} of the active faults."""
        return self._a.faults.active

    def tariff(self):
        return self._a.tariff

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
