# The console's `config get|set|unset`: the running config shown with secrets masked, and
# changes validated and written to the config file for the next boot. Works without a running
# agent too, so a config the agent refused can be fixed over the cable.
import json
import os

from laddvakt.console.text import UsageError
from laddvakt.core import config
from laddvakt.core.files import write_atomic

_USAGE = "config get [key] | config set <key> <value> | config unset <key>"


def run(con, args, line):
    if not args or args[0] not in ("get", "set", "unset"):
        raise UsageError("needs get, set or unset; usage: " + _USAGE)
    v = con.view
    if args[0] == "get":
        if len(args) > 2:
            raise UsageError("get takes at most one key; usage: " + _USAGE)
        # The running config; without a running agent, the file over the defaults as it is.
        # Secrets are masked row by row, not in masked copies of both dicts: two dicts of every
        # key were kilobytes of garbage for one `config get key` in a tight heap.
        saved = _file_over_defaults(v.config_path)
        cfg = v.cfg if v.running else saved
        keys = args[1:] or sorted(cfg)
        for k in keys:
            if k not in cfg:
                raise UsageError("unknown key '%s'; 'config get' lists them" % k)
        return "".join(_row(k, _mask(k, cfg[k]), _mask(k, saved.get(k)), v.running) for k in keys)
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


def _file_over_defaults(path):
    cfg = config.defaults()
    cfg.update(_read_json(path))
    return cfg
