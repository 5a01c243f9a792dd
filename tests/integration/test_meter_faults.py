"""Injected faults against the firmware's meter service over a pty: each fault gives its
documented counter (docs/meters.md), PowerMeterFailure is raised after the grace and
cleared on recovery, and no wrong energy is ever booked."""
import itertools

import pytest

from host_tools.testing.meter_sim import Load
from tests.integration.meter_harness import meter_rig

_t = itertools.count(1)


def sample(fw):
    return fw.cmd("sample %d" % (next(_t) * 1000))


# fault -> the counter it must raise (one poll, no retries)
REPLY_FAULTS = [
    ("none", "timeouts"),
    ("crc", "crc_errors"),
    (("exception", 4), "exceptions"),
    ("garbage", "bad_frames"),
    ("truncate", "bad_frames"),
    (("late", 250), "timeouts"),
]


@pytest.mark.parametrize("fault,counter", REPLY_FAULTS, ids=[str(f[0]) for f in REPLY_FAULTS])
def test_reply_fault_counts_and_books_nothing(fault, counter):
    with meter_rig("sdm630", load=Load(0), clock=lambda: 0.0) as (model, sim, fw):
        good = sample(fw)
        assert good["ok"] and good["energy_wh"] == model.e_imp // 10
        sim.inject(fault)
        r = sample(fw)
        assert not r["ok"]
        st = r["status"]
        assert st[counter] == 1, st
        others = {"timeouts", "crc_errors", "exceptions", "bad_frames"} - {counter}
        assert all(st[k] == 0 for k in others), st
        assert st["failed_polls"] == 1 and r["energy_wh"] == good["energy_wh"]
        assert r["faults"] == []  # one bad poll is within the grace
        after = sample(fw)
        assert after["ok"] and after["energy_wh"] == good["energy_wh"]


def test_echo_and_noise_are_tolerated():
    with meter_rig("em340", load=Load(0), clock=lambda: 0.0) as (model, sim, fw):
        sim.inject("echo", "noise")
        r = sample(fw)
        assert r["ok"], r
        st = r["status"]
        assert st["timeouts"] == st["crc_errors"] == st["bad_frames"] == 0


def test_a_retry_absorbs_one_bad_reply():
    with meter_rig("abb_b23", retries=1, load=Load(0), clock=lambda: 0.0) as (model, sim, fw):
        sim.inject("crc")
        r = sample(fw)
        assert r["ok"] and r["status"]["crc_errors"] == 1 and r["status"]["retries"] == 1


def test_power_meter_failure_after_three_failed_polls_and_cleared():
    with meter_rig("dtsu666", load=Load(0), clock=lambda: 0.0) as (model, sim, fw):
        assert sample(fw)["ok"]
        sim.inject(*["none"] * 12)  # 4 polls x 3 requests would time out; the first fails each poll
        for _ in range(3):
            r = sample(fw)
            assert not r["ok"]
        assert [f[:2] for f in r["faults"]] == [["PowerMeterFailure", True]]
        assert "3 failed polls" in r["faults"][0][2]
        sim.faults.clear()
        r = fw.cmd("sample %d" % ((next(_t) + 5) * 1000))  # after meter_retry_ms
        assert r["ok"]
        assert [f[:2] for f in r["faults"]] == [["PowerMeterFailure", True], ["PowerMeterFailure", False]]


def test_energy_backwards_and_nan_are_rejected_not_booked():
    with meter_rig("sdm630", load=Load(0), clock=lambda: 0.0) as (model, sim, fw):
        base = sample(fw)["energy_wh"]
        model.energy_offset = -5000
        r = sample(fw)
        assert r["ok"] and r["energy_wh"] == base and r["status"]["rejected_backwards"] == 1
        model.energy_offset = 0
        model.energy_nan = True
        r = sample(fw)
        assert r["energy_wh"] == base and r["status"]["rejected_nan"] == 1
        assert r["flags"] == ["unverified_end"]
        model.energy_nan = False
        r = sample(fw)
        assert r["energy_wh"] == base and r["flags"] == []
        assert [e[:2] for e in r["events"]] == [["rejected", "backwards"], ["rejected", "nan"]]


def test_energy_jump_is_rejected():
    with meter_rig("em340", load=Load(0), clock=lambda: 0.0) as (model, sim, fw):
        base = sample(fw)["energy_wh"]
        model.e_imp += 10_000_000  # 1 MWh in a second
        r = sample(fw)
        assert r["energy_wh"] == base and r["status"]["rejected_jump"] == 1


def test_meter_replaced_is_detected_by_its_serial():
    with meter_rig("sdm630", load=Load(0), clock=lambda: 0.0) as (model, sim, fw):
        assert sample(fw)["ok"]
        model.serial = 0xBADC0DE
        model.e_imp = 420
        r = sample(fw)  # the register went backwards: rejected, serial to be checked
        assert r["status"]["rejected_backwards"] == 1 and r["status"]["replaced"] == 0
        r = sample(fw)
        assert r["status"]["replaced"] == 1 and r["energy_wh"] == 42
        assert r["status"]["serial"] == "badc0de"
        assert "meter_replaced" in r["flags"]
        assert r["events"][-1][:1] == ["replaced"]
