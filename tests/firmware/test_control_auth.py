# Authorization: free vend, the local allow-list, the reader and `authorize`, remote start and
# stop; the ID tag and vehicle id land on the session records.
from ctlrig import Rig
from fwtest import raises, run
from laddvakt.control.pilot import Authorizer

EV = {"arrive_s": 10, "leave_s": 300, "need_wh": 100000, "max_w": 7360}


def _visit(**kw):
    v = dict(EV)
    v.update(kw)
    return v


def test_authorizer_table():
    a = Authorizer("list", {"AAA"}, 60000)
    assert a.present(0, "ZZZ") == "Invalid" and not a.granted
    assert a.present(0, "AAA") == "Accepted" and a.granted
    a.expire(60000)
    assert a.granted
    a.expire(60001)
    assert not a.granted and a.tag is None
    assert a.present(0, "ZZZ", remote=True) == "Accepted"  # the backend vouched for it
    assert not Authorizer("list", set(), 1000).on_plugged(0)
    assert Authorizer("free", set(), 1000).on_plugged(0)
    raises(ValueError, Authorizer, "open", set(), 1000)


def test_free_vend_records_the_reader_tag():
    r = Rig([_visit(id_tag="04A2B3C4", vehicle_id="VIN123")])
    r.run_to(20000)
    (s,) = r.records("session_start")
    assert s["id_tag"] == "04A2B3C4" and s["vehicle_id"] == "VIN123"
    r.run_to(310000)
    (e,) = r.ends()
    assert e["id_tag"] == "04A2B3C4" and e["vehicle_id"] == "VIN123"


def test_free_vend_without_a_tag():
    r = Rig([_visit()])
    r.run_to(20000)
    (s,) = r.records("session_start")
    assert s["id_tag"] is None and s["vehicle_id"] is None


def test_list_rejects_unknown_card_and_waits_in_preparing():
    r = Rig([_visit(id_tag="ZZZ")], auth_mode="list", auth_list="AAA,BBB")
    r.run_to(60000)
    assert not r.records("session_start") and r.ctl.status == "Preparing"
    assert not r.st.closed and r.st.power_w == 0
    cmds = r.commands()
    assert cmds["authorize"]({"id_tag": "QQQ"})["status"] == "Invalid"
    assert cmds["authorize"]({"id_tag": "BBB"})["status"] == "Accepted"
    r.run_to(62000)
    (s,) = r.records("session_start")
    assert s["id_tag"] == "BBB"
    r.run_to(70000)
    assert r.ctl.status == "Charging"


def test_list_accepts_known_card_at_the_reader():
    r = Rig([_visit(id_tag="AAA")], auth_mode="list", auth_list="AAA,BBB")
    r.run_to(30000)
    assert r.records("session_start")[0]["id_tag"] == "AAA" and r.ctl.status == "Charging"


def test_tag_before_plug_in_within_timeout():
    r = Rig([_visit(arrive_s=40)], auth_mode="list", auth_list="AAA", auth_timeout_s=60)
    r.run_to(5000)
    r.commands()["authorize"]({"id_tag": "AAA"})
    r.run_to(50000)
    assert r.records("session_start")[0]["id_tag"] == "AAA"


def test_tag_before_plug_in_lapses():
    r = Rig([_visit(arrive_s=100)], auth_mode="list", auth_list="AAA", auth_timeout_s=60)
    r.run_to(5000)
    r.commands()["authorize"]({"id_tag": "AAA"})
    r.run_to(120000)
    assert not r.records("session_start") and r.ctl.status == "Preparing"


def test_same_tag_again_stops_locally():
    r = Rig([_visit(id_tag="AAA")], auth_mode="list", auth_list="AAA,BBB")
    cmds = r.commands()
    r.run_to(60000)
    raises(ValueError, cmds["authorize"], {"id_tag": "BBB"})  # someone else's card: no
    cmds["authorize"]({"id_tag": "AAA"})
    r.run_to(61000)
    assert r.ends()[0]["stop_reason"] == "Local"
    r.run_to(70000)
    assert r.ctl.status == "Finishing" and not r.st.closed
    r.run_to(310000)
    assert r.ctl.status == "Available"


def test_remote_start_and_stop():
    r = Rig([_visit()], auth_mode="list")
    cmds = r.commands()
    r.run_to(30000)
    assert r.ctl.status == "Preparing"
    raises(ValueError, cmds["remote_stop"], {})  # no session yet
    assert cmds["remote_start"]({"id_tag": "FLEET-7", "vehicle_id": "BUS-7"})["status"] == "Accepted"
    r.run_to(32000)
    (s,) = r.records("session_start")
    assert s["id_tag"] == "FLEET-7" and s["vehicle_id"] == "BUS-7"
    r.run_to(60000)
    assert cmds["remote_stop"]({})["sid"] == s["sid"]
    r.run_to(61000)
    (e,) = r.ends()
    assert e["stop_reason"] == "Remote" and e["vehicle_id"] == "BUS-7"
    r.run_to(62000)
    assert r.ctl.status == "Finishing"


def test_command_argument_errors():
    r = Rig([_visit()])
    cmds = r.commands()
    for name, args in (("authorize", {}), ("authorize", {"id_tag": "X" * 21}),
                       ("remote_start", {"id_tag": 5}), ("availability", {"available": 1}),
                       ("clear_fault", {"code": "GroundFailure"})):
        raises(ValueError, cmds[name], args)


run(globals())
