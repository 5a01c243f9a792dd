# The firmware's JSON Schema subset and the per-topic command path.
import json

from fwtest import run
from laddvakt.uplink.commands import schema as get
from laddvakt.uplink.commands import CommandHandler
from laddvakt.uplink.schema import check

REPLAY = get("replay")


def test_valid_replays():
    assert check(REPLAY, {"id": "a", "from_seq": 5}) is None
    assert check(REPLAY, {"id": "a", "from_seq": 5, "to_seq": 9}) is None
    assert check(REPLAY, {"id": "a", "sid": "0a1b2c3d4e5f-00000007"}) is None
    assert check(REPLAY, {"id": "a", "from_seq": 5.0}) is None  # JSON Schema: 5.0 is an integer


def test_reasons_name_the_field():
    assert check(REPLAY, {"id": "a", "from_seq": "5"}) == "'from_seq' must be integer"
    assert check(REPLAY, {"id": "a", "from_seq": True}) == "'from_seq' must be integer"
    assert check(REPLAY, {"id": "a", "from_seq": 0}) == "'from_seq' must be >= 1"
    assert check(REPLAY, {"id": "a", "from_seq": 2.5}) == "'from_seq' must be integer"
    assert check(REPLAY, {"id": "a", "sid": "x" * 37}) == "'sid' must be at most 36 characters"
    assert check(REPLAY, {"id": "a", "from_seq": 1, "x": 1}) == "unexpected property 'x'"
    assert check(REPLAY, {"from_seq": 1}) == "'id' is required"
    assert check(REPLAY, {"id": "a"}) == "'from_seq' is required"
    assert check(REPLAY, [1]) == "(root) must be object"


def test_const_and_enum_keep_true_apart_from_1():
    s = {"enum": [1, "a"]}
    assert check(s, 1) is None and check(s, "a") is None
    assert check(s, True) is not None
    assert check({"const": 1}, True) is not None and check({"const": 1}, 1.0) is None


def _r(text):
    return json.loads(text)


def test_command_on_its_own_topic():
    h = CommandHandler({"ping": lambda a: {"pong": True}}, max_bytes=64)
    assert _r(h.handle(b'{"id":"p"}', "ping")) == {"v": 1, "id": "p", "ok": True, "result": {"pong": True}}
    r = _r(h.handle(b'{"id":"p","extra":1}', "ping"))
    assert not r["ok"] and r["id"] == "p" and r["error"] == "unexpected property 'extra'"
    r = _r(h.handle(b'{"id":"p"}', "zap"))
    assert not r["ok"] and "unknown command 'zap'" in r["error"]
    r = _r(h.handle(b'{"id":"p","pad":"' + b"x" * 80 + b'"}', "ping"))
    assert not r["ok"] and r["id"] is None and "exceeds the 64-byte limit" in r["error"]
    assert h.errors == 3


def test_first_contract_topic_is_validated_too():
    h = CommandHandler({"ping": lambda a: {"pong": True}})
    assert _r(h.handle('{"id":"p","cmd":"ping"}'))["ok"]
    r = _r(h.handle('{"id":"p","cmd":"ping","x":2}'))
    assert not r["ok"] and "unexpected property 'x'" in r["error"]


run(globals())
