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

    def __init__(self, data_dir, boards_dir, bench=False):
        self.data_dir = data_dir
        self.boards_dir = boards_dir
        self.bench = bench
        try:
            os.mkdir(data_dir)
        except OSError:
            pass

    @classmethod
    def from_argv(cls, argv):
        """micropython main.py [--data DIR] [--boards DIR] [--bench]"""
        data, boards, bench = "data", "boards", False
        i = 1
        while i < len(argv):
            a = argv[i]
            if a == "--data" and i + 1 < len(argv):
                data = argv[i + 1]
                i += 1
            elif a == "--boards" and i + 1 < len(argv):
                boards = argv[i + 1]
                i += 1
            elif a == "--bench":
                bench = True
            else:
                raise ValueError("unknown argument: %s" % a)
            i += 1
        return cls(data, boards, bench)

    def urandom(self, n):
        return os.urandom(n)

    def time_source(self):
        return _HostTime()

    def ticker(self, period_ms):
        return RealTicker(period_ms)

    def net_up(self, cfg):
        # The host is already on the network.
        return True

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
