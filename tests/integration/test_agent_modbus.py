"""The agent on the unix port with a real Modbus meter: the pymodbus simulator on a pty.
Sessions are booked from the meter's register; a dead meter raises PowerMeterFailure after
the grace and clears it on recovery, both journaled and published; `status` shows the
meter's counters."""
import json
import os
import subprocess

import jsonschema

from host_tools.sim import agent as sim
from host_tools.testing.meter_sim import Load, MeterModel, agent_config, served
from host_tools.repo import ROOT
from tests.integration.mqtt_capture import Capture, validate

with open(os.path.join(ROOT, "docs", "schemas", "meter_status.json")) as _f:
    METER_STATUS = json.load(_f)

# Virtual time runs on while a poll is on the line (a dead poll spans several 40 ms ticks, as it
# would on a board), so the visit is long enough for six dead polls and the recovery.
SCENARIO = dict(sim.SCENARIO, sync_after_s=0, tick_ms=1000, tick_real_ms=40, end_s=100,
                drain_timeout_ms=10000,
                visits=[{"arrive_s": 3, "leave_s": 95, "need_wh": 100000, "max_w": 7360}])


def records(cap):
    out = []
    for t, p in cap.on("/recs"):
        out += validate(t, p)["recs"]
    return out


def start_agent(tmp_path, port, pty, profile="sdm630", boards_dir=None, **extra):
    data = str(tmp_path / "dev")
    sim.prepare_device(data, port, SCENARIO)
    # no backend here to ack: a capture reads the records
    cfg = dict(sim.device_config(port), meter_value_interval_s=10, uplink_ack="broker",
               **agent_config(pty, profile))
    cfg.update(extra)
    with open(os.path.join(data, "config.json"), "w") as f:
        json.dump(cfg, f)
    cmd, env = sim.agent_command(data)
    if boards_dir:
        cmd[cmd.index("--boards") + 1] = boards_dir
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_on_meter(tmp_path, port, model, during, profile="sdm630", boards_dir=None, timeout=60, **cfg):
    """The agent run to its end on model, served over a pty; during(cap, msim, agent) acts while
    it runs. Returns (the capture, the simulator, stdout, stderr)."""
    cap = Capture(port)
    with served(str(tmp_path), [model]) as (pair, msim):
        agent = start_agent(tmp_path, port, pair.agent_path, profile, boards_dir, **cfg)
        try:
            during(cap, msim, agent)
            out, err = agent.communicate(timeout=timeout)
        finally:
            if agent.poll() is None:
                agent.kill()
            cap.stop()
    assert agent.returncode == 0, out + err
    return cap, msim, out, err


def started(cap, agent):
    assert cap.wait(lambda: any(r["type"] == "session_start" for r in records(cap)), 20), \
        agent.communicate(timeout=30) if agent.poll() is not None else cap.msgs


def ask_status(cap):
    cap.publish("laddvakt/v1/sim-1/cmd", b'{"id":"st","cmd":"status"}')
    assert cap.wait(lambda: cap.on("/reply"), 10)


def test_agent_books_sessions_from_the_modbus_meter_and_reports_its_health(mosquitto, tmp_path):
    model = MeterModel("sdm630", 1, load=Load(7000, speed=20), energy_dwh=54321000)

    def during(cap, msim, agent):
        started(cap, agent)
        msim.inject(*["none"] * 12)  # a dead meter for six polls (a request and its retry each)
        assert cap.wait(lambda: [r for r in records(cap) if r["type"] == "fault" and not r["active"]], 20)
        ask_status(cap)

    cap, msim, out, err = run_on_meter(tmp_path, mosquitto.port, model, during)
    recs = records(cap)
    faults = [(r["code"], r["active"]) for r in recs if r["type"] == "fault"]
    assert faults == [("PowerMeterFailure", True), ("PowerMeterFailure", False)]
    assert all(r["sid"] for r in recs if r["type"] == "fault")
    ends = [r for r in recs if r["type"] == "session_end"]
    assert len(ends) == 1
    e = ends[0]
    assert e["meter_start_wh"] in msim.served_wh and e["meter_stop_wh"] in msim.served_wh
    assert e["energy_wh"] == e["meter_stop_wh"] - e["meter_start_wh"] > 0
    assert "energy_flags" not in e
    reply = validate(*cap.on("/reply")[0])
    m = reply["result"]["meter"]
    assert m["profile"] == "sdm630" and m["timeouts"] >= 6 and m["requests"] > m["timeouts"]
    assert m["failed_polls"] >= 3 and m["serial"] == "%x" % model.serial
    jsonschema.validate(m, METER_STATUS)
    assert m["serial_check"] == "on"
    summary = json.loads(out.split("laddvakt-summary ", 1)[1])
    assert summary["meter_errors"] >= 3


def test_meter_replaced_mid_session_splits_it(mosquitto, tmp_path):
    model = MeterModel("em340", 1, load=Load(7000, speed=20), energy_dwh=77700000)

    def during(cap, msim, agent):
        started(cap, agent)
        with model.lock:
            model.serial = 0x5EC0D
            model.e_imp = 10000  # the new meter's register: 1 kWh

    cap, _, out, err = run_on_meter(tmp_path, mosquitto.port, model, during, "em340")
    recs = records(cap)
    ends = [r for r in recs if r["type"] == "session_end"]
    starts = [r for r in recs if r["type"] == "session_start"]
    assert len(starts) == len(ends) == 2
    first, second = ends
    assert first["stop_reason"] == "Other" and first["energy_flags"] == ["meter_replaced"]
    assert first["meter_stop_wh"] >= 7770000 and first["energy_wh"] == first["meter_stop_wh"] - first["meter_start_wh"]
    assert 1000 <= starts[1]["meter_start_wh"] < 1100
    assert second["stop_reason"] == "EVDisconnected" and "energy_flags" not in second
    events = [(r["event"], r["sid"]) for r in recs if r["type"] == "meter_event"]
    assert ("replaced", first["sid"]) in events


def test_session_ends_on_time_while_the_meter_is_silent(mosquitto, tmp_path):
    model = MeterModel("abb_b23", 1, load=Load(7000, speed=20), energy_dwh=11100000)

    def during(cap, msim, agent):
        # Ten polls in (about 10 s of the 100 s run): records are published in batches, often
        # only at the end of this fast run, so the agent's progress is read off the simulator.
        assert cap.wait(lambda: msim.requests >= 30, 20)
        msim.inject(*["none"] * 100000)  # dead until the end of the run

    cap, msim, out, err = run_on_meter(tmp_path, mosquitto.port, model, during, "abb_b23", timeout=90)
    recs = records(cap)
    ends = [r for r in recs if r["type"] == "session_end"]
    assert len(ends) == 1
    e = ends[0]
    assert e["stop_reason"] == "EVDisconnected" and e["energy_flags"] == ["unverified_end"]
    assert e["meter_stop_wh"] in msim.served_wh and e["energy_wh"] == e["meter_stop_wh"] - e["meter_start_wh"]
    assert [(r["code"], r["active"]) for r in recs if r["type"] == "fault"] == [("PowerMeterFailure", True)]


# A meter no built-in map knows, defined only in a board file (issue 18): registers chosen
# to match none of the table's, holding registers, uint32 energy in Wh low word first, int16 W.
BOARD_MAP = {"name": "site meter", "registers": {
    "e_imp": {"fc": 3, "address": 0x0700, "type": "uint32", "words": "low_first", "unit": "Wh"},
    "p": {"fc": 3, "address": 0x0702, "type": "int32", "unit": "W"},
    "u1": {"fc": 3, "address": 0x0704, "type": "uint16", "unit": "V", "scale": -1}}}


def _whole_session_on_a_data_map(mosquitto, tmp_path, addr, boards_dir=None, **cfg):
    model = MeterModel(BOARD_MAP, addr, load=Load(7000, speed=20), energy_dwh=11110000)

    def during(cap, msim, agent):
        started(cap, agent)
        ask_status(cap)

    cap, msim, out, err = run_on_meter(tmp_path, mosquitto.port, model, during, "", boards_dir, **cfg)
    ends = [r for r in records(cap) if r["type"] == "session_end"]
    assert len(ends) == 1
    e = ends[0]
    assert e["meter_start_wh"] in msim.served_wh and e["meter_stop_wh"] in msim.served_wh
    assert e["energy_wh"] == e["meter_stop_wh"] - e["meter_start_wh"] > 0
    m = validate(*cap.on("/reply")[0])["result"]["meter"]
    jsonschema.validate(m, METER_STATUS)
    assert m["failed_polls"] == 0
    assert m["serial"] is None and m["serial_check"] == "off: the meter map has no serial register"
    return m


def test_a_meter_defined_only_in_a_board_file_runs_a_whole_session(mosquitto, tmp_path):
    with open(os.path.join(sim.BOARDS, "unix-modbus.json")) as f:
        board = json.load(f)
    board["meter"] = {"type": "modbus", "baudrate": 9600, "address": 3, "map": BOARD_MAP}
    bdir = tmp_path / "boards"
    bdir.mkdir()
    with open(bdir / "unix-modbus.json", "w") as f:
        json.dump(board, f)
    m = _whole_session_on_a_data_map(mosquitto, tmp_path, 3, str(bdir))
    assert m["profile"] == "site meter"


def test_a_meter_defined_only_in_the_device_config_runs_a_whole_session(mosquitto, tmp_path):
    # issue 18: the stock unix-modbus board (an SDM630 at address 1) with the config's map and
    # address: the simulator serves only the config's map, so only it can book the session.
    m = _whole_session_on_a_data_map(mosquitto, tmp_path, 5, meter_map=BOARD_MAP, meter_address=5)
    assert m["profile"] == "site meter (config map)"
