"""Every profile against the pymodbus simulator over a pty: every measurand the firmware
reads equals the simulator's value, in the fewest planned requests."""
import pytest

from host_tools.testing.meter_sim import PF, Load
from tests.integration.meter_harness import meter_rig

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
