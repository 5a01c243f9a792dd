# Commands: every payload gets exactly one reply; nothing raises into the agent.
import json

from fwtest import raises, run
from laddvakt.uplink.commands import CommandError, CommandHandler, parse, shape_error
from laddvakt.uplink.inbox import Inbox


def _handler():
    def boom(args):
        raise KeyError("oops")

    def picky(args):
        if "n" not in args:
            raise CommandError("'n' is required")
        return {"n2": args["n"] * 2}

    return CommandHandler({
        "ping": lambda a: {"pong": True},
        "status": lambda a: {"session": None, "journal_seq": 7, "delivered_seq": 5, "uptime_ms": 1234},
        "boom": boom,
        "picky": picky,
    })


def _reply(h, payload):
    r = json.loads(h.handle(payload))
    assert r["v"] == 1
    assert type(r["ok"]) is bool
    if r["ok"]:
        assert "error" not in r
    else:
        assert type(r["error"]) is str and r["error"] and "result" not in r
    return r


def test_ping_and_status():
    h = _handler()
    r = _reply(h, '{"id": "a1", "cmd": "ping"}')
    assert r == {"v": 1, "id": "a1", "ok": True, "result": {"pong": True}}
    r = _reply(h, b'{"id": "s-2", "cmd": "status"}')  # MQTT hands over bytes
    assert r["ok"] and r["id"] == "s-2"
    assert r["result"] == {"session": None, "journal_seq": 7, "delivered_seq": 5, "uptime_ms": 1234}
    assert h.errors == 0


def test_replies_are_the_bytes_json_dumps_made_of_their_dict():
    # Replies are written straight into a buffer of their size; their bytes are those that
    # json.dumps made of the reply's dict, key order included.
    h = _handler()
    for payload, cid, ok, body in (
            ('{"id": "a1", "cmd": "ping"}', "a1", True, {"pong": True}),
            ('{"id": "b\\u00e9\\"", "cmd": "picky", "n": 3}', 'b\u00e9"', True, {"n2": 6}),
            ('{"id": "c", "cmd": "picky"}', "c", False, "'n' is required"),
            ("[1]", None, False, "command must be a JSON object")):
        d = {"v": 1, "id": cid, "ok": ok}
        d["result" if ok else "error"] = body
        assert bytes(h.handle(payload)) == json.dumps(d).encode(), (payload, h.handle(payload))
    # An unknown command's error is written in pieces: the same bytes as its text was.
    for name in ("zap", 'r\u00e9"\\\n' + "x" * 70):
        d = {"v": 1, "id": "u", "ok": False}
        d["error"] = "unknown command '%s' (known: %s)" % (name[:64], ", ".join(sorted(h.handlers)))
        assert bytes(h.handle('{"id": "u"}', name)) == json.dumps(d).encode(), name
        # and the same bytes where the inbox writes it: the link's write buffer
        box = Inbox(lambda: h, b"d/cmd/", 4096)
        box.put(b"d/cmd/" + name.encode(), b'{"id": "u"}')
        room = memoryview(bytearray(600))
        n = box.answer_next(room)
        assert bytes(room[:n]) == json.dumps(d).encode() and box.size == 0
    box.put(b"d/cmd/ping", b'{"id": "a1"}')
    raises(ValueError, box.answer_next, memoryview(bytearray(10)))  # never past the room it is given


def test_args_reach_handler():
    h = _handler()
    r = _reply(h, '{"id": "p", "cmd": "picky", "n": 21}')
    assert r["ok"] and r["result"] == {"n2": 42}
    r = _reply(h, '{"id": "p2", "cmd": "picky"}')
    assert not r["ok"] and r["id"] == "p2" and r["error"] == "'n' is required"


def test_not_json():
    h = _handler()
    for bad in ("", "{", "ping", b"\xff\xfe", '{"id": "x", "cmd": "ping"'):
        r = _reply(h, bad)
        assert not r["ok"] and r["id"] is None, bad
        assert "JSON" in r["error"], r["error"]


def test_not_an_object():
    h = _handler()
    for bad in ('[{"id": "x", "cmd": "ping"}]', "42", '"ping"', "null"):
        r = _reply(h, bad)
        assert not r["ok"] and r["id"] is None
        assert "object" in r["error"], r["error"]


def test_bad_id():
    h = _handler()
    for bad in ('{"cmd": "ping"}', '{"id": "", "cmd": "ping"}', '{"id": 5, "cmd": "ping"}',
                '{"id": null, "cmd": "ping"}', '{"id": "%s", "cmd": "ping"}' % ("x" * 65)):
        r = _reply(h, bad)
        assert not r["ok"] and r["id"] is None, bad
        assert "'id'" in r["error"] and "64" in r["error"], r["error"]
    r = _reply(h, '{"id": "%s", "cmd": "ping"}' % ("y" * 64))  # the longest allowed
    assert r["ok"] and r["id"] == "y" * 64


def test_missing_or_bad_cmd_keeps_id():
    h = _handler()
    for bad in ('{"id": "c1"}', '{"id": "c1", "cmd": 3}', '{"id": "c1", "cmd": ["ping"]}'):
        r = _reply(h, bad)
        assert not r["ok"] and r["id"] == "c1", bad
        assert "'cmd'" in r["error"], r["error"]


def test_unknown_cmd_lists_known():
    h = _handler()
    r = _reply(h, '{"id": "u1", "cmd": "reboot"}')
    assert not r["ok"] and r["id"] == "u1"
    assert "unknown command 'reboot'" in r["error"]
    assert "ping" in r["error"] and "status" in r["error"]


def test_handler_exception_becomes_reply():
    h = _handler()
    out = h.handle('{"id": "b1", "cmd": "boom"}')  # must not raise
    r = json.loads(out)
    assert r["ok"] is False and r["id"] == "b1"
    assert r["error"].startswith("internal error") and "oops" in r["error"]


def test_a_handlers_value_error_is_answered_with_its_reason():
    # The control commands reject a bad argument with ValueError (control/commands.py has no
    # wrapper per command): the reply carries the reason, not "internal error".
    def bad(a):
        raise ValueError("'current_a' must be 6 to 32")

    h = CommandHandler({"lim": bad})  # a name without a schema: the handler sees the args
    r = json.loads(h.handle('{"id": "v1", "cmd": "lim"}'))
    assert (r["ok"], r["id"], r["error"]) == (False, "v1", "'current_a' must be 6 to 32") and h.errors == 1


def test_errors_counter():
    h = _handler()
    payloads = ['{"id": "a", "cmd": "ping"}', "nope", "[]", '{"cmd": "ping"}', '{"id": "b"}',
                '{"id": "c", "cmd": "zap"}', '{"id": "d", "cmd": "boom"}', '{"id": "e", "cmd": "status"}']
    oks = [json.loads(h.handle(p))["ok"] for p in payloads]
    assert oks == [True, False, False, False, False, False, False, True]
    assert h.errors == 6


def test_parse():
    cid, cmd, args = parse('{"id": "q", "cmd": "ping", "x": 1}')
    assert (cid, cmd, args["x"]) == ("q", "ping", 1)
    try:
        parse("[]")
    except CommandError as e:
        assert "object" in str(e)
    else:
        raise AssertionError("parse accepted an array")


def test_inbox_is_bounded_and_answers_every_command():
    h = _handler()
    box = Inbox(lambda: h, b"d/cmd/", 4096)
    for i in range(17):
        box.put(b"d/cmd/ping", b'{"id": "p%d"}' % i)
    assert (box.waiting(), box.dropped) == (16, 1)  # 16 at most
    r = json.loads(box.answer_next())
    assert r["id"] == "p0" and r["result"] == {"pong": True}
    over = json.loads(box.overflow_reply())
    assert over["id"] is None and "1 command(s) dropped" in over["error"] and h.errors == 1
    assert box.dropped == 0
    while box.waiting():
        box.answer_next()
    assert box.empty()
    # Bounded in reply bytes too (checked before handling: a command that finds no room is
    # not acted on); a command too big to receive still gets its reply; a topic that is not
    # UTF-8 gets an error, not an exception.
    box = Inbox(lambda: h, b"d/cmd/", 200)
    box.put(b"d/cmd/ping", b'{"id": "a1"}')
    box.oversized(b"d/cmd/ping", 5000)
    box.put(b"d/cmd/\xff", memoryview(b"{}"))
    box.put(b"d/cmd/ping", b'{"id": "a2"}')
    assert (box.waiting(), box.dropped) == (3, 1)
    assert json.loads(box.answer_next())["id"] == "a1"
    big = json.loads(box.answer_next())
    assert big["id"] is None and "5000 bytes" in big["error"] and "'ping'" in big["error"]
    assert not json.loads(box.answer_next())["ok"]



def test_a_reply_larger_than_the_write_buffers_room_is_answered_by_an_error_that_fits():
    # A reply is written into the link's write buffer when it goes (answer_next(room)); one
    # that cannot fit (a long profile list, say) must not reach it, or the uplink's round fails.
    h = CommandHandler({"big": lambda a: {"list": ["x" * 50] * 40}, "ping": lambda a: {"pong": True}})
    box = Inbox(lambda: h, b"d/cmd/", 8192, room=600)
    box.put(b"d/cmd/big", b'{"id": "b1"}')
    box.put(b"d/cmd/ping", b'{"id": "p1"}')
    room = memoryview(bytearray(600))
    n = box.answer_next(room)
    r = json.loads(bytes(room[:n]))
    assert r["id"] == "b1" and not r["ok"] and "exceeds the 600 bytes" in r["error"], r
    assert json.loads(box.answer_next())["result"] == {"pong": True}
    assert h.errors == 1


def test_shapes_no_command_has_are_refused_before_parsing():
    h = _handler()
    assert shape_error(b'{"id":"a","s":"' + b"x" * 1024 + b'"}') is None
    assert shape_error(memoryview(b'{"id":"a","s":"' + b"x" * 1025 + b'"}')) == "a string longer than 1024 bytes"
    assert shape_error(b"[" + b"1," * 511 + b"1]") is None
    assert shape_error(b"[" + b"1," * 513 + b"1]") == "more than 512 values"
    assert shape_error(b"[" * 13 + b"]" * 13) == "nested deeper than 12"
    assert shape_error(b'{"a":"[[[[[[[[[[[[[[[[\\"}') is None  # brackets inside a string are text
    # Refused with the id unknown (never parsed) and a reason; counted as an error.
    r = _reply(h, b"[" * 2000 + b"]" * 2000)
    assert r["id"] is None and r["error"] == "payload refused before parsing: nested deeper than 12"
    r = _reply(h, memoryview(b'{"id": "m1", "cmd": "picky", "n": 4}'))  # parsed in place
    assert r == {"v": 1, "id": "m1", "ok": True, "result": {"n2": 8}}
    r = _reply(h, b'{"id": "c1", "cmd": 7}')
    assert r["id"] == "c1" and r["error"] == "'cmd' must be a string"


run(globals())
