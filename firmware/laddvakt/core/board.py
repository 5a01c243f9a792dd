# Board definitions (boards/*.json): pins and peripherals, as data.
import json

_REQUIRED = ("name", "mcu", "psram", "description", "pins", "meter", "pilot")
# Every board names each of these signals: a GPIO number, or null where it has none.
# docs/schemas/board.json requires the same list; tests/host/test_boards.py keeps them equal.
PINS = ("cp_adc", "cp_pwm", "contactor", "contactor_fb", "rcd", "rs485_tx", "rs485_rx",
        "rs485_de", "s0", "led", "button")


class BoardError(ValueError):
    pass


def load(boards_dir, name):
    path = "%s/%s.json" % (boards_dir, name)
    try:
        with open(path) as f:
            b = json.loads(f.read())
    except OSError:
        raise BoardError("no board definition %s" % path)
    except ValueError:
        raise BoardError("%s is not valid JSON" % path)
    if not isinstance(b, dict):
        raise BoardError("%s must be a JSON object" % path)
    for k in _REQUIRED:
        if k not in b:
            raise BoardError("%s lacks '%s'" % (path, k))
    pins = b["pins"]
    if not isinstance(pins, dict):
        raise BoardError("%s: 'pins' must be an object" % path)
    for k in PINS:
        if k not in pins:
            raise BoardError("%s lacks pin '%s'" % (path, k))
        v = pins[k]
        if v is not None and (type(v) is not int or v < 0 or v > 48):
            raise BoardError("%s: pin '%s' must be a GPIO number 0..48 or null" % (path, k))
    for k in ("meter", "pilot"):
        part = b[k]
        if not isinstance(part, dict) or type(part.get("type")) is not str:
            raise BoardError("%s: '%s' must be an object with a string 'type'" % (path, k))
    if b["name"] != name:
        raise BoardError("%s names itself '%s'" % (path, b["name"]))
    return b


def serial_line(meter):
    """Serial line settings of a Modbus meter (issue 18): (parity, stop bits) for the board's
    meter["line"] (default 8N1): parity None, 0 (even) or 1 (odd), as machine.UART takes it;
    BoardError for anything else."""
    line = meter.get("line", "8N1")
    lines = ("8N1", "8E1", "8O1", "8N2")
    if line not in lines:
        raise BoardError("meter line '%s' is not one of %s" % (line, ", ".join(lines)))
    return (None, 0, 1, None)[lines.index(line)], 2 if line == "8N2" else 1
