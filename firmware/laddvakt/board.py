# Board definitions (boards/*.json): pins and peripherals, as data.
import json

_REQUIRED = ("name", "mcu", "meter", "pilot")


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
    if b["name"] != name:
        raise BoardError("%s names itself '%s'" % (path, b["name"]))
    return b
