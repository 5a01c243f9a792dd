# MFRC522 (RC522) card reader over SPI: ISO 14443A REQA and anticollision, giving the UID of a
# card checked against its BCC: 4 bytes at cascade level 1 (MIFARE Classic), 7 bytes through
# SELECT and level 2 (NTAG, Ultralight, DESFire). Register
# protocol per the NXP MFRC522 datasheet (rev. 3.9): §8.1.2 SPI address byte, §9 registers,
# §10 commands. The tag is the UID as 8 or 14 uppercase hex digits (an OCPP IdToken).
import time

from micropython import const

# Registers (datasheet §9.2)
_COMMAND = const(0x01)
_COMIRQ = const(0x04)
_ERROR = const(0x06)
_FIFODATA = const(0x09)
_FIFOLEVEL = const(0x0A)
_BITFRAMING = const(0x0D)
_MODE = const(0x11)
_TXCONTROL = const(0x14)
_TXASK = const(0x15)
_TMODE = const(0x2A)
_TPRESCALER = const(0x2B)
_TRELOADH = const(0x2C)
_TRELOADL = const(0x2D)
_VERSION = const(0x37)
# Commands (§10.3)
_IDLE = const(0x00)
_TRANSCEIVE = const(0x0C)
_SOFTRESET = const(0x0F)
# ISO 14443-3
_REQA = const(0x26)  # sent as a 7-bit short frame
_SEL_CL1 = const(0x93)
_SEL_CL2 = const(0x95)
_NVB_ANTICOLL = const(0x20)  # 2 bytes sent: the card answers the level's 4 UID bytes + BCC
_NVB_SELECT = const(0x70)  # 7 bytes sent: SEL, NVB, 4 UID bytes, BCC (+ CRC_A)
_CASCADE_TAG = const(0x88)  # first byte of a level whose UID goes on at the next level

_WAIT_MS = const(20)  # the chip's own 5 ms timer fires first; this bounds a chip gone quiet
_ABSENT = const(3)  # empty polls before the card counts as gone (see read_tag)

NO_CARD = const(-1)
ERROR = const(-2)


class Rc522:
    """`spi` needs write() and write_readinto() (machine.SPI, mode 0, up to 10 MHz); `cs` is
    the chip select output (active low). Both come from the HAL."""

    def __init__(self, spi, cs):
        self._spi = spi
        self._cs = cs
        self._w2 = bytearray(2)  # one register access: address byte, data byte
        self._r2 = bytearray(2)
        self._buf = bytearray(16)  # the card's answer, read from the FIFO
        self._tx = bytearray(9)  # the frame to send: at most SELECT with its CRC_A
        self._uid = bytearray(8)
        self._last = bytearray(7)  # the UID reported for the card now in the field
        self._last_n = 0
        self._have_last = False
        self._absent = 0
        self.reads = 0
        self.errors = 0  # collisions, parity/protocol errors, short answers
        self.bcc_errors = 0
        self.long_uids = 0  # 10-byte UIDs: cascade level 3 is not read
        cs.value(1)
        self._w(_COMMAND, _SOFTRESET)
        time.sleep_ms(50)  # the oscillator restarts: the datasheet allows 37.74 us + start-up
        self.version = self._r(_VERSION)
        # 0x91/0x92: MFRC522 v1/v2; clones answer 0x88 or 0x12. 0x00/0xFF: nothing on the bus.
        self.ok = self.version not in (0x00, 0xFF)
        # Timer starts when a transmission ends (TAuto): prescaler 0xD3E -> 2 kHz, reload 10
        # -> a 5 ms answer timeout; a card answers REQA within ~0.1 ms.
        self._w(_TMODE, 0x8D)
        self._w(_TPRESCALER, 0x3E)
        self._w(_TRELOADH, 0)
        self._w(_TRELOADL, 10)
        self._w(_TXASK, 0x40)  # 100 % ASK, as ISO 14443A needs
        self._w(_MODE, 0x3D)  # CRC preset 0x6363 (ISO 14443-3 CRC_A)
        tx = self._r(_TXCONTROL)
        if tx & 0x03 != 0x03:
            self._w(_TXCONTROL, tx | 0x03)  # antenna drivers TX1 and TX2 on

    def _w(self, reg, val):
        b = self._w2
        b[0] = (reg << 1) & 0x7E  # §8.1.2.3: MSB 0 = write, LSB 0
        b[1] = val
        self._cs.value(0)
        self._spi.write(b)
        self._cs.value(1)

    def _r(self, reg):
        b = self._w2
        b[0] = 0x80 | ((reg << 1) & 0x7E)  # MSB 1 = read; the data comes in the next byte
        b[1] = 0
        self._cs.value(0)
        self._spi.write_readinto(b, self._r2)
        self._cs.value(1)
        return self._r2[1]

    def _transceive(self, n, last_bits):
        """Send the first n bytes of self._tx, the last one of last_bits bits (0 = all 8);
        the answer's length in self._buf, NO_CARD on the timer, or ERROR."""
        w = self._w
        w(_COMMAND, _IDLE)
        w(_COMIRQ, 0x7F)  # clear every interrupt request bit
        w(_FIFOLEVEL, 0x80)  # flush the FIFO
        tx = self._tx
        for i in range(n):
            w(_FIFODATA, tx[i])
        w(_COMMAND, _TRANSCEIVE)
        w(_BITFRAMING, 0x80 | last_bits)  # StartSend
        t0 = time.ticks_ms()
        while True:
            irq = self._r(_COMIRQ)
            if irq & 0x30:  # RxIRq or IdleIRq: an answer is in
                break
            if irq & 0x01 or time.ticks_diff(time.ticks_ms(), t0) > _WAIT_MS:
                # TimerIRq: nobody answered; or the chip itself went quiet.
                w(_BITFRAMING, 0)
                return NO_CARD
        w(_BITFRAMING, 0)
        if self._r(_ERROR) & 0x1B:  # BufferOvfl, CollErr, ParityErr, ProtocolErr
            return ERROR
        k = self._r(_FIFOLEVEL)
        if k > len(self._buf):
            return ERROR
        for i in range(k):
            self._buf[i] = self._r(_FIFODATA)
        return k

    def _cascade(self, sel, at):
        """Anticollision at one cascade level (sel 0x93 or 0x95): the level's 4 UID bytes
        into self._uid[at:at+4] after the BCC check. Returns True, or False (counted)."""
        tx = self._tx
        tx[0] = sel
        tx[1] = _NVB_ANTICOLL
        k = self._transceive(2, 0)
        if k != 5:
            if k != NO_CARD:
                self.errors += 1
            return False
        u = self._buf
        if u[0] ^ u[1] ^ u[2] ^ u[3] != u[4]:
            self.bcc_errors += 1
            return False
        uid = self._uid
        for i in range(4):
            uid[at + i] = u[i]
        return True

    def _select(self, sel):
        """SELECT the level just read (the 4 bytes and BCC still in self._buf), CRC_A
        appended; the SAK, or -1 on no answer or a bad answer (counted)."""
        tx = self._tx
        tx[0] = sel
        tx[1] = _NVB_SELECT
        for i in range(5):
            tx[2 + i] = self._buf[i]
        c = crc_a(tx, 7)
        tx[7] = c & 0xFF
        tx[8] = c >> 8
        k = self._transceive(9, 0)
        if k != 3 or crc_a(self._buf, 1) != self._buf[1] | (self._buf[2] << 8):
            if k != NO_CARD:
                self.errors += 1
            return -1
        return self._buf[0]

    def read_tag(self):
        """Polled each control tick. A card's UID once per tap: the same card lying on the
        reader is not reported again until it has been gone for a few polls (else every tick
        would present it, and the same tag again stops its own session)."""
        if not self.ok:
            return None
        self._tx[0] = _REQA
        k = self._transceive(1, 7)
        if k == NO_CARD:
            # A card left in READY after anticollision ignores the next REQA (ISO 14443-3
            # §6.3) and answers the one after, so one silent poll is not yet "gone".
            self._absent += 1
            if self._absent >= _ABSENT:
                self._have_last = False
            return None
        self._absent = 0
        if k != 2:
            self.errors += 1
            return None
        if not self._cascade(_SEL_CL1, 0):
            return None
        uid = self._uid  # CL1's bytes at 0-3, CL2's at 4-7
        o, n = 0, 4
        if uid[0] == _CASCADE_TAG:
            # A 7-byte UID (ISO 14443-3 §6.4.4): CL1 held the cascade tag and UID0-2; select
            # CL1, whose SAK must say "UID not complete", then read CL2's UID3-6.
            sak = self._select(_SEL_CL1)
            if sak < 0:
                return None
            if not sak & 0x04:
                self.errors += 1
                return None
            if not self._cascade(_SEL_CL2, 4):
                return None
            if uid[4] == _CASCADE_TAG:
                self.long_uids += 1  # a 10-byte UID needs a third level: rare, not read
                return None
            o, n = 1, 7
        last = self._last
        if self._have_last and self._last_n == n:
            for i in range(n):
                if last[i] != uid[o + i]:
                    break
            else:
                return None  # still the same card: no allocation while it lies there
        for i in range(n):
            last[i] = uid[o + i]
        self._last_n = n
        self._have_last = True
        self.reads += 1
        return "".join("%02X" % uid[o + i] for i in range(n))


def crc_a(buf, n):
    """ISO 14443-3 Annex B CRC_A over buf[:n]: preset 0x6363, reflected polynomial 0x8408.
    Returns the 16-bit value; it goes on the air low byte first."""
    crc = 0x6363
    for i in range(n):
        b = (buf[i] ^ crc) & 0xFF
        b = (b ^ (b << 4)) & 0xFF
        crc = (crc >> 8) ^ (b << 8) ^ (b << 3) ^ (b >> 4)
    return crc
