# The unix port as a board: files in a data directory, the host's clock and
# network. Used for the simulation and for tests.
import os
import time

from ..ticker import RealTicker


class _HostTime:
    # The host keeps its clock synced; time.time() on the unix port is Unix time.
    def unix_s(self, up_ms):
        return int(time.time())


class UnixHal:
    name = "unix"

    # What a reboot from the serial console exits with: the supervisor starts the agent again.
    REBOOT_EXIT = 3

    def __init__(self, data_dir, boards_dir, bench=False, console=None):
        self.data_dir = data_dir
        self.console_path = console
        self.boards_dir = boards_dir
        self.bench = bench
        try:
            os.mkdir(data_dir)
        except OSError:
            pass

    @classmethod
    def from_argv(cls, argv):
        """micropython main.py [--data DIR] [--boards DIR] [--bench] [--console TTY]"""
        data, boards, bench, console = "data", "boards", False, None
        i = 1
        while i < len(argv):
            a = argv[i]
            if a == "--data" and i + 1 < len(argv):
                data = argv[i + 1]
                i += 1
            elif a == "--boards" and i + 1 < len(argv):
                boards = argv[i + 1]
                i += 1
            elif a == "--console" and i + 1 < len(argv):
                console = argv[i + 1]
                i += 1
            elif a == "--bench":
                bench = True
            else:
                raise ValueError("unknown argument: %s" % a)
            i += 1
        return cls(data, boards, bench, console)

    def urandom(self, n):
        return os.urandom(n)

    def time_source(self):
        return _HostTime()

    def ticker(self, period_ms):
        return RealTicker(period_ms)

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
        # No hardware watchdog on a host; the process supervisor plays that role.
        return None

    def rs485(self, meter, pins, cfg):
        """The meter's serial line: a tty or pty path (config meter_device, else the board's)."""
        from .unix_uart import PtyUart

        path = cfg["meter_device"] or meter.get("device", "")
        if not path:
            raise ValueError("no serial device: set meter_device in the config")
        return PtyUart(path, meter.get("baudrate", 9600))
