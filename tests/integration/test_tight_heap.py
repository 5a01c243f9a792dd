"""The sim scenario in tight heaps, with the firmware as a board carries it: from .mpy files
(a PSRAM board on a stock image) and from a ROMFS image run in place (the stand-in for a
frozen build), each in a heap of its code's own RAM plus the 64 KiB runtime budget. From ROMFS
it is the floor scenario (host_tools/bench/full_floor.py): three sessions over TLS, a backlog
drained, a console session over a pty and the command fuzz corpus, in one run."""
import shutil

import pytest

from host_tools.bench import full_floor
from host_tools.bench.tight_heap import (MPY_DIR, RUNTIME_BUDGET, completes, full_modules, rom_heap, romfs_plan,
                                         run_romfs_full, run_tight)
from host_tools.testing.broker import tls_broker
from host_tools.toolchain.unix_port import arena
from tests.integration.mqtt_capture import Capture


def test_sim_runs_from_mpy_within_64k_runtime_heap(mosquitto, tmp_path):
    r = run_tight(workdir=str(tmp_path))
    assert completes(r), r["stdout"] + r["stderr"]
    runtime = r["summary"]["heap_peak_bytes"] - r["heap_code_bytes"]
    assert 0 < runtime <= RUNTIME_BUDGET


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")
def test_floor_scenario_runs_from_romfs_in_image_plus_inplace_code_plus_64k_plus_tls_share(tmp_path):
    # Issue 15's Done-when, with everything the floor holds in one run. On this port mbedTLS
    # allocates from the GC heap, on an ESP32 from the IDF heap beside it: the heap given is the
    # board's 64 KiB plus what a TLS connect takes from the GC heap here, measured against the
    # same broker (docs/bench.md, heap).
    with tls_broker() as b:
        plan = romfs_plan(workdir=str(tmp_path), mods=full_modules(b, Capture, str(tmp_path / "probe")))
        tls, plain = full_floor.tls_gc_bytes(b, MPY_DIR, str(tmp_path), step=512)
        assert 0 < tls - plain < 32768, (tls, plain)
        runtime = RUNTIME_BUDGET + tls - plain
        r = run_romfs_full(plan, b, Capture, runtime, workdir=str(tmp_path / "rom"))
        assert full_floor.completes(r), (full_floor.failures(r), r["stdout"][-2000:])
        assert r["heapsize"] == rom_heap(plan, runtime) == arena(
            plan["image"] + plan["inplace"] + plan["unix_modules"] + RUNTIME_BUDGET + tls - plain)
        assert r["replies"] >= full_floor.FUZZ_N // 2 and r["summary"]["journal_seq"] > full_floor.BACKLOG
        # and the heap is what limits it: a quarter of the budget is not enough
        small = run_romfs_full(plan, b, Capture, RUNTIME_BUDGET // 4, workdir=str(tmp_path / "rom-small"))
        assert "MemoryError" in full_floor.failures(small), full_floor.failures(small)
def test_command_fuzz_within_64k_runtime_heap(mosquitto, tmp_path):
    # The command fuzz corpus, with near-limit and oversized payloads, at the runtime budget
    # (issue 17 item 4): no MemoryError reply, no link drop, and the agent still answers.
    from host_tools.testing.cmd_fuzz import fuzz_tight
    from tests.integration.mqtt_capture import Capture

    r = fuzz_tight(Capture, mosquitto, str(tmp_path), n=2000)
    assert r["alive"] and r["replies"] > 1500, r
    assert r["memory_errors"] == 0 and r["link_drops"] == 0 and r["uplink_memory_lines"] == 0, (
        r["uplink_lines"], r)
    assert r["oversized_answered"] > 100 and not r["traceback"], r



def test_each_floor_run_starts_without_the_commands_an_earlier_run_left_queued(mosquitto, tmp_path):
    # The bisection's runs share a broker and an install id, and the agent keeps its session:
    # what a failed run left queued for it must not reach the next run (full_floor.drop_session).
    import json
    import time

    import paho.mqtt.client as mqtt

    data = tmp_path / "device"
    data.mkdir()
    (data / "ident.json").write_text(json.dumps({"install": "00c0ffee", "boot": 3}))
    cid, topic = "laddvakt-00c0ffee", "laddvakt/sim-1/cmd"

    def client(**kw):
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311, **kw)
        c.connect("127.0.0.1", mosquitto.port)
        c.loop_start()
        return c

    def close(c):
        c.disconnect()
        c.loop_stop()

    def agent_session():
        # the agent's client: (whether the broker kept its session, what it was sent)
        got, flags = [], {}
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, clean_session=False,
                        protocol=mqtt.MQTTv311)
        c.on_connect = lambda cl, ud, fl, rc, pr: flags.update(present=fl.session_present)
        c.on_message = lambda cl, ud, m: got.append(m.payload)
        c.connect("127.0.0.1", mosquitto.port)
        c.loop_start()
        c.subscribe(topic, qos=1)
        time.sleep(0.5)
        close(c)
        return flags.get("present"), got

    def command_while_away():
        pub = client()
        pub.publish(topic, b'{"cmd": "ping"}', qos=1).wait_for_publish(5)
        close(pub)

    assert agent_session() == (False, [])  # a run that failed: it leaves its session behind
    command_while_away()
    assert agent_session() == (True, [b'{"cmd": "ping"}'])  # the broker queues for that session
    command_while_away()
    full_floor.drop_session(mosquitto.port, str(data))
    assert agent_session() == (False, [])
