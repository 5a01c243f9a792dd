# The board loader on the device: every signal named, pins are GPIO numbers or null, and a
# broken file is refused with the field named.
import json

from fwtest import raises, run, write_file
from ramblock import mount_fresh, umount
from laddvakt.core import board
from laddvakt.core.board import BoardError

PINS = {"cp_adc": 36, "cp_pwm": 25, "contactor": 26, "contactor_fb": 27, "rcd": 34, "rs485_tx": 17,
        "rs485_rx": 16, "rs485_de": 4, "s0": 35, "led": 2, "button": 0}


def _board(**changes):
    b = {"name": "b1", "mcu": "esp32", "psram": False, "description": "x", "pins": dict(PINS),
         "meter": {"type": "modbus"}, "pilot": {"type": "adc"}}
    b.update(changes)
    return b


def _load(b):
    mount_fresh(16, "/bd")
    try:
        write_file("/bd/b1.json", json.dumps(b))
        return board.load("/bd", "b1")
    finally:
        umount("/bd")


def test_valid_board_loads():
    assert _load(_board())["pins"]["cp_adc"] == 36
    nulls = dict((k, None) for k in PINS)
    assert _load(_board(pins=nulls))["pins"]["led"] is None


def test_every_signal_required():
    assert sorted(board.PINS) == sorted(PINS)
    for k in PINS:
        pins = dict(PINS)
        del pins[k]
        msg = str(raises(BoardError, _load, _board(pins=pins)))
        assert "lacks pin '%s'" % k in msg, msg


def test_bad_pins_and_fields_named():
    for bad in (49, -1, "2", True, 2.0):
        pins = dict(PINS)
        pins["led"] = bad
        assert "pin 'led'" in str(raises(BoardError, _load, _board(pins=pins)))
    b = _board()
    del b["psram"]
    assert "lacks 'psram'" in str(raises(BoardError, _load, b))
    assert "'pins' must be an object" in str(raises(BoardError, _load, _board(pins=[1, 2])))
    assert "names itself 'b2'" in str(raises(BoardError, _load, _board(name="b2")))


def test_meter_line_settings_as_machine_uart_takes_them():
    # Issue 18 item 2: parity None / 0 even / 1 odd, stop bits 1 or 2; 8N1 without a "line".
    assert board.serial_line({}) == (None, 1)
    assert board.serial_line({"line": "8N1"}) == (None, 1)
    assert board.serial_line({"line": "8E1"}) == (0, 1)
    assert board.serial_line({"line": "8O1"}) == (1, 1)
    assert board.serial_line({"line": "8N2"}) == (None, 2)
    for bad in ("8E2", "7E1", "", 9600):
        e = raises(BoardError, board.serial_line, {"line": bad})
        assert "meter line" in str(e) and "8N1, 8E1, 8O1, 8N2" in str(e)


# Linux termios c_cflag bits (asm-generic/termbits.h), written out independently of the HAL's.
_CS8, _CSIZE, _CSTOPB, _PARENB, _PARODD = 0o60, 0o60, 0o100, 0o400, 0o1000
_EXPECT = {"8N1": (0, 0), "8E1": (_PARENB, 0), "8O1": (_PARENB | _PARODD, 0), "8N2": (0, _CSTOPB)}


def test_both_hals_build_their_line_from_the_same_board_setting():
    # Issue 18 item 2: the ESP32 HAL's machine.UART keywords and the unix HAL's termios flags,
    # as pure code, for every line a board may name (the pty test checks what termios kept).
    from laddvakt.hal.esp32_uart import uart_kwargs
    from laddvakt_unix.uart import line_cflag

    pins = dict(PINS)
    for line, (par, stop) in _EXPECT.items():
        meter = {"type": "modbus", "uart": 2, "baudrate": 19200, "line": line}
        kw = uart_kwargs(meter, pins)
        assert kw == {"baudrate": 19200, "bits": 8, "parity": board.serial_line(meter)[0],
                      "stop": 2 if stop else 1, "tx": 17, "rx": 16}, (line, kw)
        assert kw["parity"] == (None if not par else (1 if par & _PARODD else 0)), (line, kw)
        # From a raw-mode cflag with every parity/stop/size bit set wrongly, and another bit kept.
        for start in (0o4000 | _CSTOPB | _PARENB | _PARODD | 0o20, 0o4000):
            c = line_cflag(start, kw["parity"], kw["stop"])
            assert c & (_PARENB | _PARODD) == par and c & _CSTOPB == stop, (line, oct(c))
            assert c & _CSIZE == _CS8 and c & 0o4000, (line, oct(c))
    assert uart_kwargs({"uart": 1}, pins)["baudrate"] == 9600
    assert "8N1, 8E1" in str(raises(BoardError, uart_kwargs, {"line": "7E1"}, pins))


run(globals())
