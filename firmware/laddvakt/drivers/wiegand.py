# Wiegand card reader: the frame decoder (pure: bits in, tag or error out) and the pin glue
# that collects bits from the D0/D1 lines in IRQ handlers. A frame is 26 or 34 bits: a
# leading even-parity bit over the first half, the card data, a trailing odd-parity bit over
# the second half (HID H10301 for 26 bits; the common 34-bit layout with a 32-bit number).
# The tag is the data bits as uppercase hex, zero-padded (6 or 8 digits): an OCPP IdToken
# (CiString20, OCPP 1.6 §7.28) whatever the card's facility/number split.
import time

from micropython import const

_MAX_BITS = const(34)  # the longest frame we accept; longer ones are counted, then dropped
GAP_MS = const(25)  # readers send a frame's bits 1-2 ms apart; a 25 ms silence ends it

ERR_LENGTH = "length"
ERR_PARITY = "parity"


def decode(bits, n):
    """(tag, None) for a valid frame of n bits (bits[i] is 0 or 1, in arrival order), else
    (None, ERR_LENGTH or ERR_PARITY). Never accepts a frame it cannot check."""
    if n != 26 and n != 34:
        return None, ERR_LENGTH
    half = n // 2
    ones = 0
    for i in range(half):
        ones += bits[i]
    if ones & 1:
        return None, ERR_PARITY  # the first half, leading bit included, must be even
    ones = 0
    for i in range(half, n):
        ones += bits[i]
    if not ones & 1:
        return None, ERR_PARITY  # the second half, trailing bit included, must be odd
    v = 0
    for i in range(1, n - 1):
        v = (v << 1) | bits[i]
    return ("%06X" if n == 26 else "%08X") % v, None


class WiegandReader:
    """Bits from two falling-edge input pins (D0 = a 0 bit, D1 = a 1 bit). `d0`, `d1` need
    only .irq(handler, trigger); the HAL builds them (hal.wiegand_input)."""

    def __init__(self, d0, d1, trigger, gap_ms=GAP_MS):
        self._bits = bytearray(_MAX_BITS)  # allocated once: the handlers only store into it
        self._n = 0
        self._last = time.ticks_ms()
        self.gap_ms = gap_ms
        self.frames = 0
        self.length_errors = 0
        self.parity_errors = 0
        # Bound once: binding a method allocates, which an IRQ must not do.
        self._h0 = self._on_d0
        self._h1 = self._on_d1
        d0.irq(self._h0, trigger)
        d1.irq(self._h1, trigger)

    def _bit(self, b):
        # IRQ context: no allocation (ticks_ms is a small int); extra bits are only counted,
        # so an over-long frame fails the length check instead of overrunning the buffer.
        n = self._n
        if n < _MAX_BITS:
            self._bits[n] = b
        self._n = n + 1
        self._last = time.ticks_ms()

    def _on_d0(self, pin):
        self._bit(0)

    def _on_d1(self, pin):
        self._bit(1)

    def read_tag(self):
        """Polled each control tick: the tag of a frame that has ended (no bit for gap_ms),
        else None. Bad frames are counted and dropped."""
        n = self._n
        if not n or time.ticks_diff(time.ticks_ms(), self._last) < self.gap_ms:
            return None
        # Reset first: a next frame can only start after the gap, and then writes from bit 0,
        # while decoding this one takes well under a Wiegand bit time (~1 ms).
        self._n = 0
        tag, err = decode(self._bits, n)
        if err is ERR_LENGTH:
            self.length_errors += 1
        elif err is ERR_PARITY:
            self.parity_errors += 1
        else:
            self.frames += 1
        return tag
