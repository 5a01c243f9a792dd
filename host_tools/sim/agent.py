"""One simulated agent: the day's scenario, a device data directory (config, scenario, tariff),
the agent's command line under the unix-port micropython, its summary, and the day run against a
broker and the reference backend (`make sim`, python -m host_tools.sim)."""
import json
import os
import shutil
import subprocess
import time

from host_tools.repo import BOARDS, BUILD, FIRMWARE
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env

# 2026-11-20 06:00:00 UTC: the simulated day starts early in the morning.
START_EPOCH = 1795154400

# Three visits: a full charge with idle time after it, an EV that leaves before it
# is full, and a short top-up with an ID tag.
SCENARIO = {
    "start_epoch": START_EPOCH,
    "sync_after_s": 120,
    "tick_ms": 10000,
    "end_s": 36000,
    "meter_start_wh": 1254300,
    "visits": [
        {"arrive_s": 1800, "leave_s": 12600, "need_wh": 18000, "max_w": 7360},
        {"arrive_s": 14400, "leave_s": 19800, "need_wh": 30000, "max_w": 11000},
        {"arrive_s": 25200, "leave_s": 32400, "need_wh": 8000, "max_w": 3680, "id_tag": "04A2B3C4"},
    ],
}


def device_config(port, device_id="sim-1"):
    return {
        "device_id": device_id,
        "board": "unix-sim",
        "mqtt_port": port,
        "meter_value_interval_s": 900,
        "currency": "SEK",
        "currency_minor_unit": 2,
        "price_minor_per_kwh": 325,
        # A 10 s sample is far longer than any pilot glitch: adopt a state on its first reading.
        "pilot_debounce": 1,
    }


def prepare_device(data_dir, port, scenario=SCENARIO, device_id="sim-1", config=None, tariff=None,
                   ack="broker"):
    """A fresh device data directory: config.json and scenario.json; config overrides
    device_config(), tariff (a dict, docs/tariffs.md) is the tariff in force at boot.
    ack: the uplink_ack written, "broker" for runs with no backend to ack (a bare broker or a
    capture), None to keep the firmware's default ("backend") when the reference backend runs."""
    shutil.rmtree(data_dir, ignore_errors=True)
    os.makedirs(data_dir)
    with open(os.path.join(data_dir, "config.json"), "w") as f:
        conf = device_config(port, device_id)
        if ack:
            conf["uplink_ack"] = ack
        conf.update(config or {})  # the caller's keys win, uplink_ack too
        json.dump(conf, f, indent=1)
    if tariff is not None:
        with open(os.path.join(data_dir, "tariff.json"), "w") as f:
            json.dump(tariff, f)
    with open(os.path.join(data_dir, "scenario.json"), "w") as f:
        json.dump(scenario, f, indent=1)


def agent_command(data_dir, code_dir=None, heapsize=None, bench=False, entry="unix_main.py"):
    code_dir = code_dir or FIRMWARE
    cmd = [MICROPYTHON]
    if heapsize:
        cmd += ["-X", "heapsize=%d" % heapsize]
    cmd += [os.path.join(code_dir, entry), "--data", data_dir, "--boards", BOARDS]
    if bench:
        cmd.append("--bench")
    return cmd, micropython_env(code_dir, os.path.join(BUILD, "lib"))


def parse_summary(stdout):
    for line in stdout.splitlines():
        if line.startswith("laddvakt-summary "):
            return json.loads(line.split(" ", 1)[1])
    return None


def run_agent(data_dir, code_dir=None, heapsize=None, bench=False, timeout=100, entry="unix_main.py"):
    cmd, env = agent_command(data_dir, code_dir, heapsize, bench, entry)
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def run_sim(broker_kind="auto", code_dir=None, heapsize=None, bench=False, workdir=None, quiet=False,
            broker=None, entry="unix_main.py", scenario=SCENARIO, config=None):
    """Run the scenario; starts its own broker unless one is passed in. config: device-config
    keys over device_config()'s (e.g. a Modbus meter's, meter_sim.agent_config)."""
    if broker is None:
        from host_tools.testing.broker import Broker

        with Broker(broker_kind) as b:
            return run_sim(code_dir=code_dir, heapsize=heapsize, bench=bench, workdir=workdir,
                           quiet=quiet, broker=b, entry=entry, scenario=scenario, config=config)
    from host_tools.backend.service import Backend

    workdir = workdir or os.path.join(BUILD, "sim")
    os.makedirs(workdir, exist_ok=True)
    db = os.path.join(workdir, "backend.db")
    if os.path.exists(db):
        os.remove(db)
    data_dir = os.path.join(workdir, "device")
    receipts = []

    def on_receipt(text):
        receipts.append(text)
        if not quiet:
            print(text, flush=True)

    if not quiet:
        print("broker: %s on 127.0.0.1:%d" % (broker.kind, broker.port), flush=True)
    prepare_device(data_dir, broker.port, scenario, config=config, ack=None)
    backend = Backend(db, "127.0.0.1", broker.port, on_receipt=on_receipt)
    backend.start()
    try:
        rc, out, err = run_agent(data_dir, code_dir, heapsize, bench, entry=entry)
        summary = parse_summary(out)
        want = summary["sessions"] if summary else 0
        deadline = time.monotonic() + 10
        while len(backend.store.sessions()) < want and time.monotonic() < deadline:
            time.sleep(0.05)
        sessions = backend.store.sessions()
    finally:
        backend.stop()
    return {"rc": rc, "stdout": out, "stderr": err, "summary": summary,
            "sessions": sessions, "receipts": receipts, "db": db, "broker": broker.kind}
