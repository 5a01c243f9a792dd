"""The meter simulator's own model: its load follows the EVs of a scenario, energy integrates
without loss, and its register encoding (pymodbus) decodes back to the value."""
from host_tools.testing.meter_sim import PF, Load, MeterModel, decode_expected, encode


class Clock:
    t = 0.0

    def __call__(self):
        return self.t


def test_power_follows_the_scenario_evs():
    scenario = {"visits": [{"arrive_s": 10, "leave_s": 100, "need_wh": 10, "max_w": 3600},
                           {"arrive_s": 200, "leave_s": 300, "need_wh": 1000, "max_w": 7200}]}
    clk = Clock()
    m = MeterModel("sdm630", load=Load(scenario=scenario, speed=1.0), energy_dwh=0, clock=clk)
    seen = []
    for t in range(0, 320, 5):
        clk.t = float(t)
        m.advance()
        seen.append((t, m.power_w, m.e_imp))
    power = dict((t, p) for t, p, _ in seen)
    assert power[5] == 0 and power[10] == 3600
    # 10 Wh at 3.6 kW takes 10 s: the EV stops drawing once it has what it needs.
    assert power[20] == 0 and power[150] == 0
    assert power[200] == 7200 and power[305] == 0
    e = dict((t, e) for t, _, e in seen)
    assert e[25] == 100  # 10 Wh in 0.1 Wh
    assert e[305] == 100 + 7200 * 100 // 360  # 100 s at 7.2 kW


def test_encoding_round_trips_for_every_profile_type():
    cases = [(12345678, PF.F32, PF.HI, 4), (-1235, PF.I32, PF.HI, -2), (74565000, PF.I32, PF.LO, 3),
             (10000000, PF.U64, PF.HI, 2), (5000, PF.I16, PF.HI, 1), (2305, PF.U32, PF.HI, 0)]
    for value, typ, wo, exp in cases:
        words = encode(value, typ, wo, exp)
        assert len(words) == PF.WORDS[typ]
        got = decode_expected(words, typ, wo, exp)
        assert abs(got - value) <= (2 if typ == PF.F32 else 0), (value, typ, got)


def test_meter_replaced_and_nan_states():
    m = MeterModel("abb_b23", clock=Clock())
    assert m.expected()["e_imp"] == m.e_imp // 100 * 100
    m.energy_nan = True
    assert m.expected()["e_imp"] is None
    regs = m.registers()
    assert (regs[(3, 0x8900)] << 16 | regs[(3, 0x8901)]) == m.serial
