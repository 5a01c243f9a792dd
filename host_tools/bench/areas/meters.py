"""Bench area `meters`: Modbus requests and wire bytes per poll for every profile, the poll
time against the pymodbus simulator over a pty, and the heap allocated per poll.

All figures are measured with the firmware's meter code running under the unix-port
micropython (tests/integration/mp_meter.py) against host_tools.testing.meter_sim on a socat pty,
except the allocation per sampling poll at an uptime below and past 2**30 ms, which runs the whole
agent on the 32-bit WebAssembly port (host_tools/bench/mp/alloc_wrap.py)."""
import statistics
import time

from host_tools.testing.meter_sim import PF, Load, MeterModel, MeterSim, PtyPair

ALLOC_GOAL = 256
REQUESTS_GOAL = 3
# Maps kept split: it is not known that these meters answer a read across registers the map
# does not use, so their map allows no gap (docs/meters.md, Request planner). Every other
# built-in map must poll in at most REQUESTS_GOAL requests.
KEPT_SPLIT = ("iem3000", "pro1", "or_we_514", "em24", "dtsu666")
POLLS = 60
# bench.json names each meter by its maker's model name, as the goals do
# (`modbus_requests_per_poll.SDM630`); the profile ids are the firmware's config values.
MODEL = {"sdm120": "SDM120", "sdm220": "SDM220", "sdm230": "SDM230", "sdm630": "SDM630",
         "sdm72d": "SDM72D-M-2", "sdm72d_v1": "SDM72D-M", "abb_b21": "ABB-B21", "abb_b23": "ABB-B23",
         "abb_b24": "ABB-B24", "em111": "EM111", "em112": "EM112", "em24": "EM24", "em330": "EM330",
         "em340": "EM340", "dtsu666": "DTSU666", "ddsu666": "DDSU666", "pro1": "PRO1", "pro380": "PRO380",
         "or_we_514": "OR-WE-514", "or_we_517": "OR-WE-517", "iem3000": "iEM3000",
         "or_we_504": "OR-WE-504", "or_we_516": "OR-WE-516", "finder_7m": "Finder-7M", "eem_ma": "EEM-MA"}
MAPS_GOAL = 20


def _rig(profile):
    from tests.integration.meter_harness import FirmwareMeter

    model = MeterModel(profile, 1, load=Load(7360))
    pair = PtyPair().__enter__()
    sim = MeterSim(pair.sim_path, [model]).__enter__()
    fw = FirmwareMeter(pair.agent_path, profile, 1, timeout_ms=300, retries=0)
    return pair, sim, fw


def _close(pair, sim, fw):
    fw.close()
    sim.__exit__(None, None, None)
    pair.__exit__(None, None, None)


def measure():
    requests, wire = {}, {}
    poll_ms = alloc = None
    for profile in PF.names():
        pair, sim, fw = _rig(profile)
        try:
            fw.cmd("poll")  # warm up: first use of each code path
            # The simulator logs a reply just after sending it: let the log settle.
            time.sleep(0.1)
            n0 = len(sim.log)
            r = fw.cmd("poll")
            if not r["ok"]:
                raise RuntimeError("poll of %s failed: %s" % (profile, r))
            time.sleep(0.1)
            one = sim.log[n0:]
            if len(one) != r["counters"]["requests"] // 2:
                raise RuntimeError("%s: the simulator saw %d requests, the firmware sent %d"
                                   % (profile, len(one), r["counters"]["requests"] // 2))
            requests[MODEL.get(profile, profile)] = len(one)
            wire[MODEL.get(profile, profile)] = sum(len(q) + len(a or b"") for q, a in one)
            if profile == "sdm630":
                times = [fw.cmd("poll")["us"] for _ in range(POLLS)]
                poll_ms = round(statistics.median(times) / 1000, 2)
                alloc = fw.cmd("alloc %d" % POLLS)["alloc_per_poll"]
        finally:
            _close(pair, sim, fw)
    scan_s = _scan_seconds()
    return {
        "meter_scan_s_per_address": scan_s,
        # Built-in maps the simulator served and the firmware polled without an error.
        "meter_maps": len(requests),
        "modbus_requests_per_poll": requests,
        "modbus_wire_bytes_per_poll": wire,
        "meter_poll_ms_median": poll_ms,
        "alloc_bytes_per_poll": alloc,
        **_alloc_wrap(),
    }


def _alloc_wrap():
    """alloc_bytes_per_poll_{before,after}_2e30_ms on the 32-bit port, where integers of 2**30
    and more are heap objects as on an ESP32 (the 64-bit unix port's small integers reach 2**62,
    so it cannot show this); None with the reason when that port cannot run here."""
    import json
    import os

    from host_tools.repo import ROOT
    from host_tools.toolchain import wasm32

    why = wasm32.why_not()
    if why:
        return {"alloc_bytes_per_poll_after_2e30_ms": None, "alloc_wrap_not_measured": why}
    script = os.path.join(ROOT, "host_tools", "bench", "mp", "alloc_wrap.py")
    out = wasm32.run_with_firmware("exec(open('/alloc_wrap.py').read())\n", {"/alloc_wrap.py": script})
    fig = json.loads(out.strip().splitlines()[-1])
    return {"alloc_bytes_per_poll_after_2e30_ms": fig["after"], "alloc_bytes_per_poll_before_2e30_ms": fig["before"]}


SCAN_GOAL_S = 5.0
UNKNOWN = {"name": "unknown", "registers": {"e_imp": {"fc": 3, "address": 0x0700, "type": "uint32", "unit": "Wh"}}}


def _scan_seconds():
    """Seconds `meter scan` spends on one address holding a device, at 9600 baud wire timing
    (the simulator waits each request's and reply's line time): the slower of a known SDM630
    and a device no map knows. Taken as the difference between scanning addresses 1-2 (the
    device at 2) and address 1 alone (silent), so the tool's start-up is not counted."""
    from host_tools.device import meter_scan

    out = []
    for model in (MeterModel("sdm630", 2, load=Load(7360)), MeterModel(UNKNOWN, 2)):
        with PtyPair() as pair, MeterSim(pair.sim_path, [model], baud=9600):
            t0 = time.monotonic()
            meter_scan.scan(pair.agent_path, first=1, last=1)
            t1 = time.monotonic()
            found, _ = meter_scan.scan(pair.agent_path, first=1, last=2)
            t2 = time.monotonic()
        if len(found) != 1:
            raise RuntimeError("meter scan found %d devices, not 1" % len(found))
        out.append((t2 - t1) - (t1 - t0))
    return round(max(out), 2)


def check(fig):
    if fig["meter_scan_s_per_address"] > SCAN_GOAL_S:
        yield "meter scan takes %.2f s per address, goal %.1f" % (fig["meter_scan_s_per_address"], SCAN_GOAL_S)
    if fig["meter_maps"] < MAPS_GOAL:
        yield "%d built-in meter maps poll, goal %d" % (fig["meter_maps"], MAPS_GOAL)
    split = [MODEL.get(p, p) for p in KEPT_SPLIT]
    for model, n in sorted(fig["modbus_requests_per_poll"].items()):
        if n > REQUESTS_GOAL and model not in split:
            yield "%s needs %d requests per poll, goal %d" % (model, n, REQUESTS_GOAL)
    missing = sorted(set(fig["modbus_requests_per_poll"]) ^ set(fig["modbus_wire_bytes_per_poll"]))
    if missing:
        yield "requests and wire bytes are not both reported for %s" % ", ".join(missing)
    if fig["alloc_bytes_per_poll"] > ALLOC_GOAL:
        yield "a poll allocates %d bytes, goal %d" % (fig["alloc_bytes_per_poll"], ALLOC_GOAL)
    after = fig.get("alloc_bytes_per_poll_after_2e30_ms")
    if after is None:
        yield "alloc_bytes_per_poll_after_2e30_ms not measured: %s" % fig.get("alloc_wrap_not_measured")
    elif after > ALLOC_GOAL:
        yield "past 2**30 ms of uptime a sampling poll allocates %d bytes (%d before), goal %d" % (
            after, fig["alloc_bytes_per_poll_before_2e30_ms"], ALLOC_GOAL)
