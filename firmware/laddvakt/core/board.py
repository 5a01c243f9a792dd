# Board definitions (boards/*.json): pins and peripherals, as data.
import json

_REQUIRED = ("name", "mcu", "psram", "description", "pins", "meter", "pilot")
# Every board names each of these signals: a GPIO number, or null where it has none.
# docs/schemas/board.json requires the same list; tests/host/test_boards.py keeps them equal.
PINS = ("cp_adc", "cp_pwm", "contactor", "contactor_fb", "rcd", "rs485_tx", "rs485_rx",
        "rs485_de", "s0", "led", "button")

# .mpy files on the filesystem of a stock image, or frozen into a custom one (docs/boards.md).
CARRY = ("files", "frozen")


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
    # Issue 15: how the code is carried and the heap it must fit in (host_tools/device/deploy.py).
    if b.get("carry", "files") not in CARRY:
        raise BoardError("%s: 'carry' must be 'files' or 'frozen'" % path)
    h = b.get("heap_bytes", 0)
    if type(h) is not int or h < 0:
        raise BoardError("%s: 'heap_bytes' must be a byte count" % path)
    if b["name"] != name:
        raise BoardError("%s names itself '%s'" % (path, b["name"]))
    return b
