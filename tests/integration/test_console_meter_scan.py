"""`meter scan` from the serial console of a unix agent whose meter is the pymodbus simulator
on a pty: the scan names the meter, and sampling keeps its schedule while it probes the 247
addresses (about 12 s of probes), because the scan yields to the event loop per address."""
import json
import os
import re
import subprocess

from host_tools.device import console as hc
from host_tools.sim import agent as sim
from host_tools.testing.meter_sim import Load, MeterModel, MeterSim, PtyPair

# 40 ms of real time per 1 s sample: the scan's ~12 s would stall ~300 samples if it blocked.
SCENARIO = dict(sim.SCENARIO, sync_after_s=0, tick_ms=1000, tick_real_ms=40, end_s=3000,
                drain_timeout_ms=1000, visits=[])


def _uptime_s(dev):
    return int(re.search(r"^uptime_s\s+(\d+)", dev.command("status"), re.M).group(1))


def test_meter_scan_names_the_meter_and_sampling_goes_on(mosquitto, tmp_path):
    model = MeterModel("sdm630", 7, load=Load(0))
    data = str(tmp_path / "dev")
    sim.prepare_device(data, mosquitto.port, SCENARIO)
    cfg = dict(sim.device_config(mosquitto.port), board="unix-modbus", meter_profile="sdm630",
               meter_address=7, meter_timeout_ms=60)
    with open(os.path.join(data, "config.json"), "w") as f:
        json.dump(cfg, f)
    (tmp_path / "meter").mkdir()
    (tmp_path / "tty").mkdir()
    with PtyPair(str(tmp_path / "meter")) as line, PtyPair(str(tmp_path / "tty")) as tty, \
            MeterSim(line.sim_path, [model]):
        cfg["meter_device"] = line.agent_path
        with open(os.path.join(data, "config.json"), "w") as f:
            json.dump(cfg, f)
        cmd, env = sim.agent_command(data)
        agent = subprocess.Popen(cmd + ["--console", tty.agent_path], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
        dev = hc.DeviceConsole(tty.sim_path, timeout_s=60)
        try:
            dev.sync()
            before = _uptime_s(dev)
            answer = dev.command("meter scan")
            after = _uptime_s(dev)
        finally:
            dev.close()
            agent.kill()
            out = agent.communicate(timeout=10)[0]
    assert re.search(r"^address 7: sdm630\b", answer, re.M), answer + out
    # One device: its line and the diagnosis (function codes, plausible values) under it.
    lines = answer.strip().splitlines()
    assert len(lines) == 2 and re.match(r"  answers FC 3, 4; energy \d+ Wh, 230\.1 V, 50\.00 Hz$", lines[1]), answer
    # The scan took at least 246 probes of 50 ms; samples went on at their 40 ms pace meanwhile.
    assert after - before >= 150, (before, after)
