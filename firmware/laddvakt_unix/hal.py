# The unix port as a board (firmware/unix_main.py builds it from the command line): files in a
# data directory, the host's clock and network, the station (`station()`: a board's meter and CP
# hardware, or the simulated station of a scenario), the loop's schedule (`ticker()`: real or
# virtual time) and a scenario's end (`run_limit()`). Used for the simulation and for tests.
import os
import time

from laddvakt.core.ticker import RealTicker
from laddvakt_unix.ticker import VirtualTicker


class _HostTime:
    # The host keeps its clock synced; time.time() on the unix port is Unix time.
    def unix_s(self, up_ms):
        return int(time.time())


class SoftWdt:
    # A host process has no hardware watchdog, and one thread cannot watch itself: a hung
    # loop would hang the check too. So this only records the feeds (tests read them); the
    # host's supervisor (systemd WatchdogSec=, a container's health check)
    # restarts a hung process, and passes --reset-cause watchdog to the new one. No reset
    # is faked here.
    def __init__(self, timeout_ms):
        self.timeout_ms = timeout_ms
        self.fed_ms = time.ticks_ms()
        self.feeds = 0

    def feed(self):
        self.fed_ms = time.ticks_ms()
        self.feeds += 1


class UnixHal:
    name = "unix"

    # What a reboot from the serial console exits with: the supervisor starts the agent again.
    REBOOT_EXIT = 3

    def __init__(self, data_dir, boards_dir, bench=False, console=None, reset=None):
        self.data_dir = data_dir
        self._reset = reset
        self.console_path = console
        self.boards_dir = boards_dir
        self.bench = bench
        self.scenario = None  # the simulation's, once station() has read it
        self._resolver = None  # built by dns() on first use
        self._tick_ms = 0
        try:
            os.mkdir(data_dir)
        except OSError:
            pass

    @classmethod
    def from_argv(cls, argv):
        """micropython unix_main.py [--data DIR] [--boards DIR] [--bench] [--console TTY]
        [--reset-cause watchdog]"""
        val = {"--data": "data", "--boards": "boards", "--console": None, "--reset-cause": None}
        bench = False
        i = 1
        while i < len(argv):
            a = argv[i]
            if a in val and i + 1 < len(argv):
                val[a] = argv[i + 1]
                i += 1
            elif a == "--bench":
                bench = True
            else:
                raise ValueError("unknown argument: %s" % a)
            i += 1
        # Why the previous run ended, as the supervisor that restarted us saw it.
        reset = val["--reset-cause"]
        if reset is not None and reset != "watchdog":
            raise ValueError("--reset-cause: only 'watchdog' is known, got %s" % reset)
        return cls(val["--data"], val["--boards"], bench, val["--console"], reset)

    def urandom(self, n):
        return os.urandom(n)

    def time_source(self, cfg):
        if not cfg["ntp_host"]:
            return _HostTime()
        from laddvakt.uplink.sntp import sntp_source

        return sntp_source(cfg, self.urandom, "", self.dns(cfg))

    def dns(self, cfg):
        """The network task's resolver (uplink/dns.py): dns_server, else the host's getaddrinfo."""
        if self._resolver is None:
            from laddvakt.uplink.dns import Resolver

            self._resolver = Resolver(cfg["dns_server"] or None, urandom=self.urandom)
        return self._resolver

    def station(self, board, cfg):
        """The board's meter and CP hardware; on a "sim" meter or pilot, the simulated station
        of data_dir/scenario.json (a real meter may still be read, over a pty)."""
        import json

        if board["meter"]["type"] != "sim" and board["pilot"]["type"] != "sim":
            from laddvakt.app.hardware import board_station

            return board_station(self, board, cfg)
        meter = profile = None
        if board["meter"]["type"] != "sim":
            from laddvakt.app.hardware import build_meter

            meter, profile = build_meter(self, board, cfg)
        from laddvakt_unix.sim.ev import SimStation
        from laddvakt_unix.sim.plant import SimTimeSource

        with open(self.data_dir + "/scenario.json") as f:
            self.scenario = json.loads(f.read())
        # The simulated station is the control hardware, and the meter unless the board has
        # a real one.
        self._tick_ms = self.scenario.get("tick_ms", cfg["sample_interval_ms"])
        st = SimStation(self.scenario)
        # With ntp_host set, wall time comes from SNTP, as on a board (the target bench).
        ts = self.time_source(cfg) if cfg["ntp_host"] else SimTimeSource(self.scenario)
        return meter or st, st, ts, st, profile

    def ticker(self, period_ms):
        sc = self.scenario
        if sc is None:
            return RealTicker(period_ms)
        # Virtual time: one scenario tick per step, without waiting.
        g = sc.get("gate")  # {"at_s", "tick_real_ms"}: slow from there until data_dir/go exists
        gate = (g["at_s"] * 1000, g["tick_real_ms"], self.data_dir + "/go") if g else None
        t = VirtualTicker(self._tick_ms, sc.get("tick_real_ms", 0), gate)
        if sc.get("jitter"):  # the uplink bench measures sampling jitter
            from laddvakt_unix.jitter import JitterTicker

            t = JitterTicker(t, sc.get("tick_real_ms", 0))
        return t

    def run_limit(self):
        """(end ms, drain timeout ms) of a scenario, else None (run until stopped)."""
        sc = self.scenario
        return None if sc is None else (sc["end_s"] * 1000, sc.get("drain_timeout_ms", 30000))

    def net_up(self, cfg):
        # The host is already on the network.
        return True

    def console(self):
        """(input stream, write) of the serial console: a tty (e.g. one end of a socat pty
        pair) given with --console; none without it, so stdin stays the operator's."""
        if not self.console_path:
            return None
        f = open(self.console_path, "r+b")

        def write(text):
            f.write(text.encode())

        return f, write

    def reboot(self):
        raise SystemExit(self.REBOOT_EXIT)

    def wdt(self, timeout_ms):
        return SoftWdt(timeout_ms)

    def reset_cause(self):
        """'watchdog' when started with --reset-cause watchdog, else None (a plain start)."""
        return self._reset

    def rs485(self, meter, pins, cfg):
        """The meter's serial line: a tty or pty path (config meter_device, else the board's)."""
        from laddvakt_unix.uart import PtyUart

        path = cfg["meter_device"] or meter.get("device", "")
        if not path:
            raise ValueError("no serial device: set meter_device in the config")
        from laddvakt.core.board import serial_line

        parity, stop = serial_line(meter)
        return PtyUart(path, meter.get("baudrate", 9600), parity, stop)
