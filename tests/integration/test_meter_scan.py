"""`meter scan` over the whole address range against simulated meters on one line."""
from host_tools.device import meter_scan
from host_tools.testing.meter_sim import PF, Load, MeterModel, MeterSim, PtyPair


def test_scan_finds_and_identifies_every_meter(tmp_path, capsys):
    meters = [MeterModel("em340", 7, load=Load(3000)), MeterModel("sdm120", 200, load=Load(0)),
              MeterModel("abb_b23", 247, load=Load(0)), MeterModel("dtsu666", 1, load=Load(0))]
    with PtyPair(str(tmp_path)) as pair, MeterSim(pair.sim_path, meters):
        found, summary = meter_scan.scan(pair.agent_path, probe_timeout_ms=20)
        assert meter_scan.main(["--device", pair.agent_path, "--first", "5", "--last", "8",
                                "--probe-timeout-ms", "20"]) == 0
    got = {d["address"]: d for d in found}
    assert sorted(got) == [1, 7, 200, 247]
    assert got[7]["profile"] == "em340" and got[7]["candidates"] == ["em340", "em330"]
    assert got[247]["profile"] == "abb_b23"
    assert got[1]["profile"] == "dtsu666"
    # Meters that share their maker's register map all match; the first is named.
    assert got[200]["candidates"] == ["sdm230", "sdm220", "sdm120"]
    assert got[247]["candidates"] == ["abb_b23", "abb_b24", "abb_b21"]
    assert summary["scanned"] == [1, 247] and summary["found"] == 4
    out = capsys.readouterr().out
    assert "address 7: em340 (also matches em330)\n  answers FC 3, 4; energy " in out and "1 meter(s)" in out


def test_simulator_command_line_serves_a_meter_the_scan_finds():
    import os
    import signal
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-m", "host_tools.testing.meter_sim", "--profile", "dtsu666", "--address", "3",
                          "--power", "1500"], stdout=subprocess.PIPE, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    try:
        line = p.stdout.readline()
        assert line.startswith("meter_sim: dtsu666 at address 3 on "), line
        found, _ = meter_scan.scan(line.rsplit(" ", 1)[1].strip(), first=1, last=4, probe_timeout_ms=20)
        assert [(d["address"], d["profile"]) for d in found] == [(3, "dtsu666")]
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(30)  # a loaded 2-core CI box once needed more than 10 s
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise


UNKNOWN = {"name": "site", "registers": {"e_imp": {"fc": 3, "address": 0x0700, "type": "uint32", "unit": "Wh"}}}


def test_scan_diagnoses_an_unknown_device_and_prints_a_map_skeleton_that_validates(tmp_path):
    import json

    import jsonschema

    from host_tools.repo import ROOT

    with open(ROOT + "/docs/schemas/meter_map.json") as f:
        schema = json.load(f)
    with PtyPair(str(tmp_path)) as pair, MeterSim(pair.sim_path, [MeterModel(UNKNOWN, 4)]):
        found, _ = meter_scan.scan(pair.agent_path, first=4, last=4)
    d = found[0]
    assert d["profile"] is None and d["candidates"] == [] and d["fcs"] == [3, 4]
    assert set(d["probes"]) == set(PF.names()) and all(v is None for v in d["probes"].values())
    jsonschema.validate(d["skeleton"], schema)
    assert "unknown device" in d["text"] and "map skeleton" in d["text"]


def test_implausible_values_are_not_named_a_match(tmp_path):
    # An SDM630 whose voltage reads 120 V and frequency 60 Hz... 120 V is outside 180-260 V.
    model = MeterModel("sdm630", 5, load=Load(0))
    model.volts = [1200, 1200, 1200]
    with PtyPair(str(tmp_path)) as pair, MeterSim(pair.sim_path, [model]):
        found, _ = meter_scan.scan(pair.agent_path, first=5, last=5)
    d = found[0]
    assert d["probes"]["sdm630"] == model.e_imp // 10
    # Only the totals-only SDM72D-M map, which reads no voltage to check, still matches.
    assert d["candidates"] == ["sdm72d_v1"]


def test_energy_going_backwards_between_the_two_polls_is_not_a_match(tmp_path):
    model = MeterModel("em340", 6, load=Load(0))
    real = model.measurands
    calls = []

    def backwards():
        v = real()
        calls.append(1)
        v[PF.E_IMP] -= 10000 * len(calls)
        return v

    model.measurands = backwards
    with PtyPair(str(tmp_path)) as pair, MeterSim(pair.sim_path, [model]):
        found, _ = meter_scan.scan(pair.agent_path, first=6, last=6)
    assert found[0]["candidates"] == []
