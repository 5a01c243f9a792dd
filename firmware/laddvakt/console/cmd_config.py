# The console's `config get|set|unset`: the running config shown with secrets masked, and
# changes validated and written to the config file for the next boot. Works without a running
# agent too, so a config the agent refused can be fixed over the cable.
import json
import os

from laddvakt.console.text import UsageError
from laddvakt.core import config
from laddvakt.core.ident import write_atomic

_USAGE = "config get [key] | config set <key> <value> | config unset <key>"


def run(con, args, line):
    if not args or args[0] not in ("get", "set", "unset"):
        raise UsageError("needs get, set or unset; usage: " + _USAGE)
    v = con.view
    if args[0] == "get":
        if len(args) > 2:
            raise UsageError("get takes at most one key; usage: " + _USAGE)
        return _get(v, args[1] if len(args) > 1 else None)
    if args[0] == "unset":
        if len(args) != 2:
            raise UsageError("unset takes one key; usage: " + _USAGE)
        # Any key, known or not: removing a mistyped key is how a refused config is fixed.
        _save(v.config_path, {}, args[1])
        return "%s removed (back to its default); takes effect at the next reboot\n" % args[1]
    if len(args) < 3:
        raise UsageError("set needs a key and a value; usage: " + _USAGE)
    key = args[1]
    if config.spec(key) is None:
        raise UsageError("unknown key '%s'; 'config get' lists them" % key)
    # The value is the rest of the line as typed, so an SSID may hold spaces.
    try:
        val = config.parse(key, line.split(None, 3)[3])
    except config.ConfigError as e:
        raise UsageError(str(e))
    _save(v.config_path, {key: val})
    shown = "***" if key in config.SECRETS else json.dumps(val)
    return "%s = %s saved; takes effect at the next reboot\n" % (key, shown)


def _save(path, changes, drop=None):
    """Validate the file with the change applied and write it atomically (rename); the
    running config is untouched until the next boot."""
    cur = _read_json(path)
    if drop is not None:
        if drop not in cur:
            raise UsageError("'%s' is not in %s" % (drop, path))
        del cur[drop]
    cur.update(changes)
    try:
        # The very check boot makes (core/config.merged): what it would refuse is refused here.
        config.merged(cur)
    except config.ConfigError as e:
        raise UsageError(str(e))
    if not _intact(path):
        # A file that is not a JSON object (bad bytes, truncated): kept beside, never lost.
        os.rename(path, path + ".bad")
    write_atomic(path, json.dumps(cur))


def _intact(path):
    """False if the file exists but is not a JSON object."""
    try:
        with open(path) as f:
            return isinstance(json.loads(f.read()), dict)
    except OSError:
        return True
    except ValueError:
        return False


def _get(v, key):
    """`config get [key]`: the running config; without a running agent, the file over the
    defaults as it is. Printed from the schema's rows and the file's few keys: a dict of every
    default (and masked copies) was kilobytes of garbage for one `config get key` in a tight heap."""
    over = _read_json(v.config_path)
    cfg = v.cfg if v.running else over
    if key is not None:
        s = config.spec(key)
        if not (key in cfg or (s is not None and not v.running)):
            raise UsageError("unknown key '%s'; 'config get' lists them" % key)
        saved = over[key] if key in over else (None if s is None else s[1])
        return _line(key, v.cfg[key] if v.running else saved, saved, v.running)
    # Every key in one walk of the rows, sorted as lines: a key's line sorts as the key does,
    # since the " = " after it sorts before any character a key holds.
    lines = []
    n = 0
    for k, s in config.rows():
        if k in cfg:
            n += 1
        saved = over[k] if k in over else s[1]
        lines.append(_line(k, v.cfg[k] if v.running else saved, saved, v.running))
    if n < len(cfg):
        # Keys the schema does not have: in a config the agent refused, the file's typos.
        for k in cfg:
            if config.spec(k) is None:
                lines.append(_line(k, cfg[k], over.get(k), v.running))
    lines.sort()
    return "".join(lines)


def _line(key, running, saved, running_agent):
    return _row(key, _mask(key, running), _mask(key, saved), running_agent)


def _mask(key, val):
    # config.masked, for one value
    return "***" if val and key in config.SECRETS else val


def _row(key, running, saved, running_agent):
    # A saved value the running agent does not use yet is shown beside it until the reboot.
    if running_agent and saved != running:
        return "%s = %s (pending %s at the next reboot)\n" % (key, json.dumps(running), json.dumps(saved))
    return "%s = %s\n" % (key, json.dumps(running))


def _read_json(path):
    try:
        with open(path) as f:
            d = json.loads(f.read())
    except (OSError, ValueError):
        return {}
    return d if isinstance(d, dict) else {}
