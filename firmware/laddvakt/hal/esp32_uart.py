# RS485 on an ESP32: machine.UART plus the transceiver's driver-enable (DE) pin, high
# while sending and low again once the last bit has left the shift register, so the
# meter's reply is not lost to our own driver.
import time

from laddvakt.core.board import serial_line

_CHUNK = 64


def uart_kwargs(meter, pins):
    """machine.UART's keyword arguments for the board's meter line (baud rate, 8 data bits, the
    "line"'s parity and stop bits, the RS485 pins); BoardError for a bad line."""
    parity, stop = serial_line(meter)
    return {"baudrate": meter.get("baudrate", 9600), "bits": 8, "parity": parity, "stop": stop,
            "tx": pins["rs485_tx"], "rx": pins["rs485_rx"]}


class Rs485Uart:
    def __init__(self, uart, de=None):
        self._u = uart
        self._de = de
        self._chunk = bytearray(_CHUNK)
        if de is not None:
            de.value(0)

    def write(self, buf, n):
        de = self._de
        if de is not None:
            de.value(1)
        self._u.write(buf if n == len(buf) else memoryview(buf)[:n])
        # flush() returns when the transmission is complete (esp32 port).
        self._u.flush()
        if de is not None:
            de.value(0)

    def read_into(self, buf, off, timeout_ms):
        u = self._u
        t0 = time.ticks_ms()
        while not u.any():
            if time.ticks_diff(time.ticks_ms(), t0) >= timeout_ms:
                return 0
            time.sleep_ms(1)
        room = len(buf) - off
        n = u.readinto(self._chunk, min(u.any(), room, _CHUNK)) or 0
        c = self._chunk
        for i in range(n):
            buf[off + i] = c[i]
        return n

    def drain(self):
        u = self._u
        while u.any():
            u.readinto(self._chunk)
