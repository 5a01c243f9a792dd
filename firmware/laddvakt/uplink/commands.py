# MQTT command handling: parse, validate, dispatch, and always produce one reply.
# A malformed command gets an error reply; nothing here may raise into the agent.
# A command arrives on its own topic (.../cmd/<name>, payload {"id": ..., args}) or,
# as in the first contract, on .../cmd with the name in "cmd". Its payload is checked
# against docs/schemas/cmd-<name>.json (cmd_schemas.py holds the same schemas).
import json

from laddvakt.uplink import cmd_schemas
from laddvakt.uplink.schema import check

_MAX_ID = 64


class CommandError(ValueError):
    pass


def _reply(cid, ok, body):
    d = {"v": 1, "id": cid, "ok": ok}
    if ok:
        d["result"] = body
    else:
        d["error"] = body
    return json.dumps(d)


def _object_with_id(payload):
    try:
        d = json.loads(payload)
    except (ValueError, UnicodeError):
        raise CommandError("payload is not valid JSON")
    if not isinstance(d, dict):
        raise CommandError("command must be a JSON object")
    cid = d.get("id")
    if not isinstance(cid, str) or not 0 < len(cid) <= _MAX_ID:
        raise CommandError("'id' must be a string of 1..%d characters" % _MAX_ID)
    return cid, d


def parse(payload):
    """(id, cmd, args dict) from a payload on .../cmd; CommandError with the reason otherwise."""
    cid, d = _object_with_id(payload)
    cmd = d.get("cmd")
    if not isinstance(cmd, str):
        raise CommandError("'cmd' must be a string")
    return cid, cmd, d


def _safe_id(payload):
    # Best effort, so a reply can still be matched to a command that failed later.
    try:
        cid = json.loads(payload).get("id")
        if isinstance(cid, str) and 0 < len(cid) <= _MAX_ID:
            return cid
    except Exception:
        pass
    return None


class CommandHandler:
    """handlers: {name: fn(args) -> result dict}; fn raises CommandError for bad input."""

    def __init__(self, handlers, max_bytes=4096):
        self.handlers = handlers
        self.max_bytes = max_bytes
        self.errors = 0

    def oversized(self, name, size):
        # Never parsed (that is the point of the limit), so its id is unknown.
        self.errors += 1
        return _reply(None, False, "payload of %d bytes exceeds the %d-byte limit%s"
                      % (size, self.max_bytes, " (command '%s')" % name[:64] if name else ""))

    def refused(self, name, why):
        # Not authenticated, so never parsed: its id is not to be trusted, and is left out.
        self.errors += 1
        return _reply(None, False, "refused%s: %s" % (" (command '%s')" % name[:64] if name else "", why))

    def overflow_reply(self, n):
        # The dropped commands' ids were never parsed (that would need memory we
        # refused them); the sender sees no reply with its id and this error.
        return _reply(None, False, "command queue full: %d command(s) dropped, resend" % n)

    def handle(self, payload, name=None):
        """One reply for one payload. name: from the topic; None means .../cmd."""
        if len(payload) > self.max_bytes:
            return self.oversized(name, len(payload))
        try:
            if name is None:
                cid, cmd, args = parse(payload)
                args = dict(args)
                del args["cmd"]
            else:
                # On .../cmd/<name> the topic names the command; the payload is its arguments.
                cid, args = _object_with_id(payload)
                cmd = name
            # The authentication envelope (docs/mqtt.md, Authentication), checked before
            # this by mac.Guard, is not an argument: cmd-<name>.json describes the rest.
            args.pop("ctr", None)
            args.pop("mac", None)
            fn = self.handlers.get(cmd)
            if fn is None:
                raise CommandError(
                    # Truncated: the reply must fit the uplink's send buffer whatever was sent.
                    "unknown command '%s' (known: %s)" % (cmd[:64], ", ".join(sorted(self.handlers)))
                )
            schema = cmd_schemas.get(cmd)
            if schema is not None:
                err = check(schema, args)
                if err:
                    raise CommandError(err)
            return _reply(cid, True, fn(args))
        except CommandError as e:
            self.errors += 1
            return _reply(_safe_id(payload), False, str(e))
        except Exception as e:  # a handler bug must not take the agent down
            self.errors += 1
            return _reply(_safe_id(payload), False, "internal error: %r" % (e,))
