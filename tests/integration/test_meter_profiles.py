"""Every profile against the pymodbus simulator over a pty: every measurand the firmware
reads equals the simulator's value, in the fewest planned requests."""
import pytest

from host_tools.testing.meter_sim import PF, Load, MeterModel, MeterSim, PtyPair
from host_tools.bench.areas.meters import KEPT_SPLIT
from tests.integration.meter_harness import FirmwareMeter, meter_rig

PROFILES = PF.names()  # every built-in map, served by the simulator from its own definition


@pytest.mark.parametrize("profile", PROFILES)
def test_every_measurand_reads_back_equal(profile):
    # A frozen clock: the registers hold still while we compare.
    with meter_rig(profile, load=Load(7360), clock=lambda: 100.0, energy_dwh=98765432) as (model, sim, fw):
        r = fw.cmd("poll")
        assert r["ok"], r
        want = model.expected()
        got = {PF.NAMES[i]: v for i, v in enumerate(r["values"]) if v is not None}
        assert got == want
        # The register's own resolution: 10**exponent for an integer, the float32 spacing else.
        e = [e for e in model.entries if e[0] == PF.E_IMP][0]
        assert abs(got["e_imp"] - 98765432) <= (16 if e[3] == PF.F32 else 10 ** e[5])
        assert got["p"] == 7360
        c = r["counters"]
        assert c["requests"] == c["ok"] == sim.requests and c["timeouts"] == c["crc_errors"] == 0


def test_sdm630_serial_and_three_requests_on_the_wire():
    with meter_rig("sdm630", load=Load(1000), clock=lambda: 0.0) as (model, sim, fw):
        assert fw.cmd("poll")["counters"]["requests"] == 3
        assert [req[:6].hex() for req, _ in sim.log] == ["010400000012", "010400340002", "010400460006"]
        assert fw.cmd("serial")["serial"] == model.serial


# issue 18: two registers with a 2-register hole that the map does not use.
HOLE = {"name": "hole", "registers": {
    "e_imp": {"fc": 3, "address": 0x700, "type": "uint32", "unit": "Wh"},
    "p": {"fc": 3, "address": 0x704, "type": "int32", "unit": "W"}}}


@pytest.mark.parametrize("fw_gap,sim_gap,requests,ok", [(0, 0, 2, True), (2, 2, 1, True), (2, 0, 1, False)])
def test_a_hole_is_read_across_only_where_the_map_allows_it(fw_gap, sim_gap, requests, ok):
    # A meter whose map allows no gap answers a read across an unused register with exception 2,
    # as strict meters do, so every gap-0 map's poll above proves the planner stays on its registers.
    model = MeterModel(dict(HOLE, gap=sim_gap), 1, load=Load(1000), clock=lambda: 0.0)
    with PtyPair() as pair, MeterSim(pair.sim_path, [model]) as sim:
        fw = FirmwareMeter(pair.agent_path, dict(HOLE, gap=fw_gap), 1, timeout_ms=100)
        try:
            r = fw.cmd("poll")
        finally:
            fw.close()
    assert r["ok"] == ok and r["counters"]["requests"] == requests == sim.requests, r
    if not ok:
        assert r["kind"] == 3 and r["code"] == 2, r  # exception 2, illegal data address


def test_requests_per_poll_at_most_three_but_where_the_meter_is_not_known_to_allow_gaps():
    # Every built-in map polls in at most 3 requests, except those docs/meters.md lists as kept
    # split (it is not known that the meter answers a read across registers it does not use).
    split = {"iem3000": 5, "pro1": 4, "or_we_514": 4, "em24": 6, "dtsu666": 4}
    assert sorted(split) == sorted(KEPT_SPLIT)  # the bench's check allows the same ones
    for profile in PROFILES:
        with meter_rig(profile, load=Load(7360), clock=lambda: 100.0) as (model, sim, fw):
            r = fw.cmd("poll")
        assert r["ok"], (profile, r)
        n = r["counters"]["requests"]
        assert n == split[profile] if profile in split else n <= 3, (profile, n)
        assert model.gap == 0 or profile not in split, profile
