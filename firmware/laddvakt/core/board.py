# Board definitions (boards/*.json): pins and peripherals, as data.
import json

from micropython import const

_REQUIRED = const(("name", "mcu", "psram", "description", "pins", "meter", "pilot"))
# Every board names each of these signals: a GPIO number, or null where it has none.
# docs/schemas/board.json requires the same list; tests/host/test_boards.py keeps them equal.
PINS = ("cp_adc", "cp_pwm", "contactor", "contactor_fb", "rcd", "rs485_tx", "rs485_rx",
        "rs485_de", "s0", "led", "button")


class BoardError(ValueError):
    pass


# The error texts, one per line of one constant, _bad(i, args) making line i's error (as
# config.py's): in place each string of more than 10 characters would be an object in RAM.
_E_NONE = const(0)
_E_JSON = const(1)
_E_OBJECT = const(2)
_E_LACKS = const(3)
_E_PINS = const(4)
_E_PIN = const(5)
_E_GPIO = const(6)
_E_PART = const(7)
_E_NAME = const(8)
_E_LINE = const(9)


def _bad(i, args):
    return BoardError(("no board definition %s\n"
                       "%s is not valid JSON\n"
                       "%s must be a JSON object\n"
                       "%s lacks '%s'\n"
                       "%s: 'pins' must be an object\n"
                       "%s lacks pin '%s'\n"
                       "%s: pin '%s' must be a GPIO number 0..48 or null\n"
                       "%s: '%s' must be an object with a string 'type'\n"
                       "%s names itself '%s'\n"
                       "meter line '%s' is not one of %s").split("\n")[i] % args)


def load(boards_dir, name):
    path = "%s/%s.json" % (boards_dir, name)
    try:
        with open(path) as f:
            b = json.loads(f.read())
    except OSError:
        raise _bad(_E_NONE, path)
    except ValueError:
        raise _bad(_E_JSON, path)
    if not isinstance(b, dict):
        raise _bad(_E_OBJECT, path)
    for k in _REQUIRED:
        if k not in b:
            raise _bad(_E_LACKS, (path, k))
    pins = b["pins"]
    if not isinstance(pins, dict):
        raise _bad(_E_PINS, path)
    for k in PINS:
        if k not in pins:
            raise _bad(_E_PIN, (path, k))
        v = pins[k]
        if v is not None and (type(v) is not int or v < 0 or v > 48):
            raise _bad(_E_GPIO, (path, k))
    for k in ("meter", "pilot"):
        part = b[k]
        if not isinstance(part, dict) or type(part.get("type")) is not str:
            raise _bad(_E_PART, (path, k))
    if b["name"] != name:
        raise _bad(_E_NAME, (path, b["name"]))
    return b


def serial_line(meter):
    """Serial line settings of a Modbus meter (issue 18): (parity, stop bits) for the board's
    meter["line"] (default 8N1): parity None, 0 (even) or 1 (odd), as machine.UART takes it;
    BoardError for anything else."""
    line = meter.get("line", "8N1")
    lines = ("8N1", "8E1", "8O1", "8N2")
    if line not in lines:
        raise _bad(_E_LINE, (line, ", ".join(lines)))
    return (None, 0, 1, None)[lines.index(line)], 2 if line == "8N2" else 1
