# A register-level MFRC522 on an SPI bus stand-in, with ISO 14443A cards in its field, for
# tests of the RC522 driver. It speaks the chip's SPI framing (datasheet §8.1.2: an address
# byte, MSB 1 = read, then data bytes; a read answers each address in the next byte), keeps
# the registers, FIFO and interrupt bits the driver uses, and runs Transceive when StartSend
# is set. Cards follow ISO 14443-3's states for REQA, anticollision and SELECT (CRC_A checked).
_COMMAND = 0x01
_COMIRQ = 0x04
_ERROR = 0x06
_FIFODATA = 0x09
_FIFOLEVEL = 0x0A
_CONTROL = 0x0C
_BITFRAMING = 0x0D
_TXCONTROL = 0x14
_VERSION = 0x37
_TRANSCEIVE = 0x0C
_SOFTRESET = 0x0F


def crc_a(data):
    # ISO 14443-3 Annex B, bit by bit (the driver computes it bytewise).
    crc = 0x6363
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return bytes([crc & 0xFF, crc >> 8])


def _bcc(b):
    x = 0
    for v in b:
        x ^= v
    return x


class Card:
    """A card with a 4- or 7-byte UID. States: IDLE, READY (CL1), READY2 (CL1 selected,
    waiting for CL2); `bcc` overrides CL1's BCC to corrupt the answer."""

    def __init__(self, uid, bcc=None):
        self.uid = bytes(uid)
        self.cl1 = self.uid if len(self.uid) == 4 else b"\x88" + self.uid[:3]
        self.bcc = _bcc(self.cl1) if bcc is None else bcc
        self.state = "IDLE"
        self.selects = 0

    def answer(self, frame, bits):
        """The card's answer to a frame (bytes, bits in the last byte), or None."""
        st = self.state
        if bits == 7 and frame == b"\x26":  # REQA
            if st != "IDLE":
                self.state = "IDLE"  # REQA is not valid once out of IDLE: back, silent
                return None
            self.state = "READY"
            return b"\x04\x00" if len(self.uid) == 4 else b"\x44\x00"  # ATQA: UID size
        if bits == 0 and frame == b"\x93\x20" and st == "READY":
            return self.cl1 + bytes([self.bcc])
        if bits == 0 and len(frame) == 9 and frame[:2] == b"\x93\x70" and st == "READY":
            if frame[7:] != crc_a(frame[:7]) or frame[2:7] != self.cl1 + bytes([self.bcc]):
                self.state = "IDLE"
                return None
            self.selects += 1
            if len(self.uid) == 4:
                self.state = "ACTIVE"
                sak = b"\x08"
            else:
                self.state = "READY2"
                sak = b"\x04"  # UID not complete
            return sak + crc_a(sak)
        if bits == 0 and frame == b"\x95\x20" and st == "READY2":
            cl2 = self.uid[3:7]
            return cl2 + bytes([_bcc(cl2)])
        self.state = "IDLE"
        return None


class Chip:
    def __init__(self, version=0x92):
        self.version = version
        self.cards = []  # cards in the field; two or more collide
        self.frames = []  # (bytes, bits) transmitted over the air
        self.cs_low = False
        self.quiet = False  # a chip that stops raising interrupts (brown-out, loose wire)
        self._reset()

    def _reset(self):
        self.regs = bytearray(64)
        self.regs[_VERSION] = self.version
        self.regs[_TXCONTROL] = 0x80  # antenna drivers off after reset (§9.3.2.5)
        self.fifo = bytearray()

    def place(self, card):
        card.state = "IDLE"  # a card entering the field powers up in IDLE
        self.cards.append(card)

    def take(self, card):
        self.cards.remove(card)

    # ---- the SPI bus: the driver's spi object -----------------------------------------
    def write(self, buf):
        assert self.cs_low, "SPI transfer without chip select"
        addr = buf[0]
        assert not addr & 0x01, "address LSB must be 0"
        assert not addr & 0x80, "a write() carries a write address"
        reg = (addr >> 1) & 0x3F
        for v in buf[1:]:
            self._write_reg(reg, v)

    def write_readinto(self, wbuf, rbuf):
        assert self.cs_low, "SPI transfer without chip select"
        rbuf[0] = 0
        for i in range(1, len(wbuf)):
            a = wbuf[i - 1]
            assert a & 0x80 and not a & 0x01, "read address byte expected"
            rbuf[i] = self._read_reg((a >> 1) & 0x3F)

    # ---- chip select: the driver's cs pin --------------------------------------------
    def value(self, v=None):
        if v is None:
            return 0 if self.cs_low else 1
        self.cs_low = not v

    # ---- registers --------------------------------------------------------------------
    def _read_reg(self, reg):
        if reg == _FIFODATA:
            if not self.fifo:
                return 0
            v = self.fifo[0]
            self.fifo = self.fifo[1:]
            return v
        if reg == _FIFOLEVEL:
            return len(self.fifo)
        return self.regs[reg]

    def _write_reg(self, reg, v):
        if reg == _COMMAND:
            if v & 0x0F == _SOFTRESET:
                self._reset()
                return
            self.regs[reg] = v
        elif reg == _COMIRQ:
            if v & 0x80:
                self.regs[reg] |= v & 0x7F
            else:
                self.regs[reg] &= ~v & 0x7F
        elif reg == _FIFOLEVEL:
            if v & 0x80:
                self.fifo = bytearray()
        elif reg == _FIFODATA:
            if len(self.fifo) < 64:
                self.fifo.append(v)
        elif reg == _BITFRAMING:
            self.regs[reg] = v & 0x7F  # StartSend reads back 0 once sent
            if v & 0x80 and self.regs[_COMMAND] & 0x0F == _TRANSCEIVE:
                self._transceive(v & 0x07)
        elif reg == _VERSION:
            pass  # read-only
        else:
            self.regs[reg] = v

    def _transceive(self, last_bits):
        frame = bytes(self.fifo)
        self.fifo = bytearray()
        self.frames.append((frame, last_bits))
        self.regs[_ERROR] = 0
        self.regs[_CONTROL] &= ~0x07
        if self.quiet:
            return
        field = self.regs[_TXCONTROL] & 0x03 == 0x03
        answers = [a for a in (c.answer(frame, last_bits) for c in self.cards) if a] if field else []
        if not answers:
            self.regs[_COMIRQ] |= 0x01  # TimerIRq: the 5 ms timeout ran out
            return
        if len(answers) > 1 and any(a != answers[0] for a in answers):
            self.regs[_ERROR] |= 0x08  # CollErr: two cards answered different bits
        self.fifo = bytearray(answers[0])
        self.regs[_COMIRQ] |= 0x30  # RxIRq, IdleIRq
