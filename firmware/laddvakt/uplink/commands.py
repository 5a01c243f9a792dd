# MQTT command handling: parse, validate, dispatch, and always produce one reply.
# A malformed command gets an error reply; nothing here may raise into the agent.
# A command arrives on its own topic (.../cmd/<name>, payload {"id": ..., args}) or,
# as in the first contract, on .../cmd with the name in "cmd". Its payload is checked
# against docs/schemas/cmd-<name>.json (the same schemas are at the end of this file).
import json

from laddvakt.billing.sign import Sink
from laddvakt.uplink.schema import check
from micropython import const

_MAX_ID = const(64)
# The shape a command may have, checked on its bytes before json.loads builds anything: what
# no command's schema allows would only cost heap (a 4 KB string, 2,000 list items, deep
# nesting) and, at the edge of the budget, a MemoryError. The schemas' largest: strings of
# 1,024 characters, 192 prices, a profile of 48 periods (docs/schemas/).
_MAX_STR = const(1024)
_MAX_ITEMS = const(512)  # values and members: commas plus containers
_MAX_DEPTH = const(12)


class CommandError(ValueError):
    pass


def write(w, r):
    """Write reply r (id, ok, result or error) as JSON into stream w: the bytes json.dumps made
    of the reply's dict. A reply waits as its parts and is written where it goes (the link's
    write buffer: Inbox.answer_next), or into a buffer of its size (text()). An unknown
    command's error (a tuple: its name, the known names) is written in pieces."""
    cid, ok, body = r
    w.write(b'{"id": ')
    json.dump(cid, w)
    w.write(b', "ok": true, "result": ' if ok else b', "ok": false, "error": ')
    if type(body) is tuple:
        w.write(b"\"unknown command '")
        n = w.n  # the name as json.dumps escapes it, less its quotes:
        json.dump(body[0], w)
        if w.mv:
            w.mv[n:w.n - 2] = bytes(w.mv[n + 1:w.n - 1])
        w.n -= 2
        w.write(b"' (known: ")
        k = ""
        for i in range(len(body[1])):  # sorted, without a list of them (~200 bytes)
            k = min(x for x in body[1] if x > k)
            w.write(b", " if i else b"")
            w.write(k.encode())
        w.write(b')"')
    else:
        json.dump(body, w)
    w.write(b', "v": 1}')


def size(r):  # the bytes of reply r's JSON
    w = Sink()
    write(w, r)
    return w.n


def text(r):
    """Reply r's JSON, in a bytearray of its size."""
    b = bytearray(size(r))
    w = Sink()
    w.mv = memoryview(b)
    write(w, r)
    return b


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


def shape_error(p):
    """Why payload p (bytes or memoryview) is larger in shape than any command, or None.
    A byte scan in place: nothing is allocated for it."""
    depth = items = n = 0
    instr = esc = False
    for c in p:
        if instr:
            if esc:
                esc = False
            elif c == 92:  # backslash
                esc = True
            elif c == 34:  # closing quote
                instr = False
            else:
                n += 1
                if n > _MAX_STR:
                    return "a string longer than %d bytes" % _MAX_STR
        elif c == 34:
            instr = True
            n = 0
        elif c == 91 or c == 123:  # [ {
            depth += 1
            items += 1
            if depth > _MAX_DEPTH:
                return "nested deeper than %d" % _MAX_DEPTH
        elif c == 93 or c == 125:
            depth -= 1
        elif c == 44:
            items += 1
            if items > _MAX_ITEMS:
                return "more than %d values" % _MAX_ITEMS
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
        return (None, False, "payload of %d bytes exceeds the %d-byte limit%s"
                % (size, self.max_bytes, " (command '%s')" % name[:64] if name else ""))

    def refused(self, name, why):
        # Not authenticated, so never parsed: its id is not to be trusted, and is left out.
        self.errors += 1
        return (None, False, "refused%s: %s" % (" (command '%s')" % name[:64] if name else "", why))

    def overflow_reply(self, n):
        # The dropped commands' ids were never parsed (that would need memory we
        # refused them); the sender sees no reply with its id and this error.
        return (None, False, "command queue full: %d command(s) dropped, resend" % n)

    def handle(self, payload, name=None):
        """The reply's JSON (a bytearray) for one payload. name: from the topic; None means .../cmd."""
        return text(self.reply(payload, name))

    def reply(self, payload, name=None):
        """One reply (write() writes it) for one payload, as handle()."""
        if len(payload) > self.max_bytes:
            return self.oversized(name, len(payload))
        cid = None
        try:
            why = shape_error(payload)
            if why:
                raise CommandError("payload refused before parsing: %s" % why)
            cid, args = _object_with_id(payload)  # parsed once, in place (bytes or memoryview)
            if name is None:
                cmd = args.pop("cmd", None)
                if not isinstance(cmd, str):
                    raise CommandError("'cmd' must be a string")
            else:
                # On .../cmd/<name> the topic names the command; the payload is its arguments.
                cmd = name
            # The authentication envelope (docs/mqtt.md, Authentication), checked before
            # this by inbox.Guard, is not an argument: cmd-<name>.json describes the rest.
            args.pop("ctr", None)
            args.pop("mac", None)
            fn = self.handlers.get(cmd)
            if fn is None:
                # "unknown command '<name>' (known: <names, sorted>)", written by write();
                # truncated: the reply must fit the uplink's send buffer whatever was sent.
                self.errors += 1
                return (cid, False, (cmd[:64], self.handlers))
            sch = schema(cmd)
            if sch is not None:
                err = check(sch, args)
                if err:
                    raise CommandError(err)
            return (cid, True, fn(args))
        except ValueError as e:  # CommandError, and a handler's bad argument
            self.errors += 1
            return (cid, False, str(e))
        except Exception as e:  # a handler bug must not take the agent down
            self.errors += 1
            return (cid, False, "internal error: %r" % (e,))

# The command payload schemas, docs/schemas/cmd-<name>.json (tests/host/test_cmd_schemas.py keeps
# the two equal), as one bytes constant of lines "<name> <schema JSON>": in place it stays in flash as a
# single object, and only the schema of the command at hand is parsed, when it comes.
_SCHEMAS = (
    b"\nauthorize "
    b'{"type":"object","required":["id","id_tag"],"properties":{"id":{"type":"string",'
    b'"minLength":1,"maxLength":64},"id_tag":{"type":"string","minLength":1,"maxLength":20}},'
    b'"additionalProperties":false}'
    b"\navailability "
    b'{"type":"object","required":["id","available"],"properties":{"id":{"type":"string",'
    b'"minLength":1,"maxLength":64},"available":{"type":"boolean"}},'
    b'"additionalProperties":false}'
    b"\nclear_fault "
    b'{"type":"object","required":["id","code"],"properties":{"id":{"type":"string",'
    b'"minLength":1,"maxLength":64},"code":{"enum":["PowerSwitchFailure"]}},'
    b'"additionalProperties":false}'
    b"\nclear_profile "
    b'{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
    b'"maxLength":64},"profile_id":{"type":"integer","minimum":0,"maximum":2147483647},'
    b'"purpose":{"enum":["ChargePointMaxProfile","TxDefaultProfile","TxProfile"]},'
    b'"stack_level":{"type":"integer","minimum":0,"maximum":1000}},'
    b'"additionalProperties":false}'
    b"\nfleet_schedule "
    b'{"type":"object","required":["id","vehicles"],"properties":{"id":{"type":"string",'
    b'"minLength":1,"maxLength":64},"vehicles":{"type":"array","maxItems":32,'
    b'"items":{"type":"object","required":["vehicle_id","need_wh","by"],'
    b'"properties":{"vehicle_id":{"type":"string","minLength":1,"maxLength":36},'
    b'"need_wh":{"type":"number","minimum":1,"maximum":1000000},"by":{"type":["integer",'
    b'"string"],"minLength":19,"maxLength":40},"max_w":{"type":"number","minimum":0,'
    b'"maximum":1000000}},"additionalProperties":false}}},"additionalProperties":false}'
    b"\nget_composite_schedule "
    b'{"type":"object","required":["id","duration"],"properties":{"id":{"type":"string",'
    b'"minLength":1,"maxLength":64},"duration":{"type":"number","minimum":1,"maximum":604800},'
    b'"charging_rate_unit":{"enum":["A","W"]},"start":{"type":["integer","string"],'
    b'"minLength":19,"maxLength":40}},"additionalProperties":false}'
    b"\nget_profiles "
    b'{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
    b'"maxLength":64}},"additionalProperties":false}'
    b"\nlimit "
    b'{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
    b'"maxLength":64},"current_a":{"type":"number","minimum":0,"maximum":80},'
    b'"power_w":{"type":"number","minimum":0,"maximum":1000000},"duration_s":{"type":"number",'
    b'"minimum":1,"maximum":604800},"clear":{"type":"boolean"}},'
    b'"anyOf":[{"required":["clear"]},{"required":["duration_s"]}],'
    b'"additionalProperties":false}'
    b"\nping "
    b'{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
    b'"maxLength":64}},"additionalProperties":false}'
    b"\nprices "
    b'{"type":"object","required":["id","start","step_s","prices"],'
    b'"properties":{"id":{"type":"string","minLength":1,"maxLength":64},'
    b'"start":{"type":"integer"},"step_s":{"type":"integer","minimum":60},'
    b'"prices":{"type":"array","minItems":1,"maxItems":192,"items":{"type":"integer",'
    b'"minimum":0}}},"additionalProperties":false}'
    b"\nprices_set "
    b'{"type":"object","required":["id","schedule"],"properties":{"id":{"type":"string",'
    b'"minLength":1,"maxLength":64},"schedule":{"type":"object"}},'
    b'"additionalProperties":false}'
    b"\nremote_start "
    b'{"type":"object","required":["id","id_tag"],"properties":{"id":{"type":"string",'
    b'"minLength":1,"maxLength":64},"id_tag":{"type":"string","minLength":1,"maxLength":20},'
    b'"vehicle_id":{"type":"string","minLength":1,"maxLength":36}},'
    b'"additionalProperties":false}'
    b"\nremote_stop "
    b'{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
    b'"maxLength":64}},"additionalProperties":false}'
    b"\nreplay "
    b'{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
    b'"maxLength":64},"from_seq":{"type":"integer","minimum":1,"maximum":4294967295},'
    b'"to_seq":{"type":"integer","minimum":1,"maximum":4294967295},"sid":{"type":"string",'
    b'"minLength":1,"maxLength":36}},"anyOf":[{"required":["from_seq"]},{"required":["sid"]}],'
    b'"additionalProperties":false}'
    b"\nsession_limit "
    b'{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
    b'"maxLength":64},"energy_wh":{"type":"number","minimum":0,"maximum":1000000},'
    b'"duration_s":{"type":"number","minimum":0,"maximum":604800}},'
    b'"anyOf":[{"required":["energy_wh"]},{"required":["duration_s"]}],'
    b'"additionalProperties":false}'
    b"\nset_profile "
    b'{"type":"object","required":["id","profile"],"properties":{"id":{"type":"string",'
    b'"minLength":1,"maxLength":64},"profile":{"type":"object"}},"additionalProperties":false}'
    b"\nstatus "
    b'{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
    b'"maxLength":64}},"additionalProperties":false}'
    b"\ntariff_get "
    b'{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
    b'"maxLength":64}},"additionalProperties":false}'
    b"\ntariff_set "
    b'{"type":"object","required":["id","tariff"],"properties":{"id":{"type":"string",'
    b'"minLength":1,"maxLength":64},"tariff":{"type":"object"}},"additionalProperties":false}'
    b"\n"
)


def schema_names():
    """The commands that have a schema."""
    return [ln.split(b" ", 1)[0].decode() for ln in _SCHEMAS.split(b"\n") if ln]


def schema(name):
    """The schema of command name as a dict, or None when it has none."""
    i = _SCHEMAS.find(("\n%s " % name).encode())
    if i < 0:
        return None
    i += len(name) + 2
    # Parsed straight from the constant (a memoryview, not a copy of the text).
    return json.loads(memoryview(_SCHEMAS)[i:_SCHEMAS.index(b"\n", i)])
