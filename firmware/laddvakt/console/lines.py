# The console's line reader and output pacing: input is taken only as far as it has arrived
# (never waiting for a byte), and long answers leave in small pieces with a yield between.
import asyncio

LINE_MAX = 160
TOO_LONG = "\x00"  # what a line longer than LINE_MAX reads as
_OUT_CHUNK = 256  # bytes written per step: a UART at 115200 baud takes ~22 ms for it


class LineReader:
    def __init__(self, inp):
        self.inp = inp  # a stream select.poll can watch; read(1) gives str or bytes
        self._line = bytearray(LINE_MAX)
        self._n = 0
        self._overflow = False
        self._cr = False
        self._esc = 0  # in an escape sequence: 1 after ESC, 2 in a CSI, 3 in an SS3

    def read_ready(self, poller):
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
                self._esc = 0
                if self._overflow:
                    self._overflow = False
                    self._n = 0
                    return TOO_LONG
                line = bytes(self._line[: self._n]).decode()
                self._n = 0
                return line
            if self._esc or b == 27:
                self._escape(b)  # arrow keys and the like (ECMA-48): dropped whole
                continue
            if b in (8, 127):  # backspace and DEL: the terminal sends either for the same key
                if self._n and not self._overflow:
                    self._n -= 1
                continue
            if b < 32 or b > 126:
                continue  # other control and non-ASCII bytes: line noise
            if self._n < LINE_MAX:
                self._line[self._n] = b
                self._n += 1
            else:
                self._overflow = True
        return None


    def _escape(self, b):
        # ESC [ params final (CSI: final byte 0x40..0x7E), ESC O x (SS3), or ESC and one byte.
        if b == 27:
            self._esc = 1
        elif self._esc == 1:
            self._esc = 2 if b == 91 else 3 if b == 79 else 0
        elif self._esc == 3 or 64 <= b <= 126:
            self._esc = 0


def _ready(poller):
    # ipoll reuses one result tuple: polling every 50 ms allocates nothing.
    for _ in poller.ipoll(0):
        return True
    return False


async def say(write, text):
    """Write text with CR LF line ends, a piece at a time, yielding to the loop in between.
    Line by line, not as whole copies of the text with its line ends changed: an answer is up
    to a kilobyte or two, and in a tight heap those copies were the blocks that found no room."""
    i, n = 0, len(text)
    while i < n:
        j = text.find("\n", i)
        end = n if j < 0 else j
        if j > i and text[j - 1] == "\r":
            end -= 1
        while i < end:
            k = min(end, i + _OUT_CHUNK)
            write(text[i:k])
            i = k
            await asyncio.sleep_ms(0)
        if j >= 0:
            write("\r\n")
        i = n if j < 0 else j + 1
