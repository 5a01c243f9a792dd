# A serial port on the unix port: a tty or pty in termios raw mode, read with poll() for
# timeouts. VMIN=0/VTIME=0 makes a read return what is there instead of waiting for a
# full buffer, so one readinto() never blocks once poll() has said "readable".
import select
import termios  # type: ignore[import-not-found]  # the unix HAL only; never imported on a board

_VTIME = 5
_VMIN = 6
_CHUNK = 64
# c_cflag bits (Linux; the unix port's termios module has no names for them)
_CSIZE = 0o60
_CS8 = 0o60
_CSTOPB = 0o100
_PARENB = 0o400
_PARODD = 0o1000


def line_cflag(cflag, parity, stop):
    """c_cflag with the parity (None, 0 even, 1 odd) and stop bits (1, 2) as machine.UART takes
    them, 8 data bits, the other bits kept."""
    c = cflag & ~(_PARENB | _PARODD | _CSTOPB | _CSIZE) | _CS8
    if parity is not None:
        c |= _PARENB | (_PARODD if parity else 0)
    if stop == 2:
        c |= _CSTOPB
    return c


class PtyUart:
    def __init__(self, path, baud, parity=None, stop=1):
        self._f = open(path, "r+b")
        fd = self._f.fileno()
        termios.setraw(fd)
        a = termios.tcgetattr(fd)
        a[6][_VMIN] = 0
        a[6][_VTIME] = 0
        # A pty keeps the stop bits and PARODD but clears PARENB (Linux pty_set_termios); the
        # simulator reads the setting back (meter_sim.py); docs/meters.md says what is proven.
        a[2] = line_cflag(a[2], parity, stop)
        speed = getattr(termios, "B%d" % baud, None)
        if speed is not None:
            a[4] = speed
            a[5] = speed
        termios.tcsetattr(fd, termios.TCSANOW, a)
        self._poll = select.poll()
        self._poll.register(self._f, select.POLLIN)
        self._chunk = bytearray(_CHUNK)

    def write(self, buf, n):
        self._f.write(buf if n == len(buf) else memoryview(buf)[:n])

    def _ready(self, timeout_ms):
        # ipoll reuses one tuple: no allocation per call.
        for _ in self._poll.ipoll(timeout_ms):
            return True
        return False

    def read_into(self, buf, off, timeout_ms):
        """Wait up to timeout_ms for input; copy what is there into buf[off:]. Returns the count."""
        if not self._ready(timeout_ms):
            return 0
        room = len(buf) - off
        n = self._f.readinto(self._chunk, room if room < _CHUNK else _CHUNK) or 0
        c = self._chunk
        for i in range(n):
            buf[off + i] = c[i]
        return n

    def drain(self):
        while self._ready(0):
            if not self._f.readinto(self._chunk):
                break

    def close(self):
        self._f.close()
