# MQTT command handling: parse, validate, dispatch, and always produce one reply.
# A malformed command gets an error reply; nothing here may raise into the agent.
import json

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


def parse(payload):
    """(id, cmd, args dict) from a payload; CommandError with the reason otherwise."""
    try:
        d = json.loads(payload)
    except (ValueError, UnicodeError):
        raise CommandError("payload is not valid JSON")
    if not isinstance(d, dict):
        raise CommandError("command must be a JSON object")
    cid = d.get("id")
    if not isinstance(cid, str) or not 0 < len(cid) <= _MAX_ID:
        raise CommandError("'id' must be a string of 1..%d characters" % _MAX_ID)
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

    def __init__(self, handlers):
        self.handlers = handlers
        self.errors = 0

    def overflow_reply(self, n):
        # The dropped commands' ids were never parsed (that would need memory we
        # refused them); the sender sees no reply with its id and this error.
        return _reply(None, False, "command queue full: %d command(s) dropped, resend" % n)

    def handle(self, payload):
        try:
            cid, cmd, args = parse(payload)
            fn = self.handlers.get(cmd)
            if fn is None:
                raise CommandError(
                    "unknown command '%s' (known: %s)" % (cmd, ", ".join(sorted(self.handlers)))
                )
            return _reply(cid, True, fn(args))
        except CommandError as e:
            self.errors += 1
            return _reply(_safe_id(payload), False, str(e))
        except Exception as e:  # a handler bug must not take the agent down
            self.errors += 1
            return _reply(_safe_id(payload), False, "internal error: %r" % (e,))
