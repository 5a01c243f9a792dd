# Issue 4's power-cut sweep: the real agent runs a scenario (3 sessions, meter values,
# a tariff change, a fault, part of the backlog delivered) on littlefs over a RAM block
# device, and power is cut at block write k, for every k the scenario makes. After
# each cut it boots again from flash and finishes; then the invariants must hold:
# no completed session lost, no id duplicated, no unreported seq gap, and session
# energy + energy outside sessions == the meter's delta. Then again with torn writes.
import gc

from fwtest import run
import agent_scenario as sc
from laddvakt.journal import frame as jf


def _sweep(torn):
    total = sc.Run().play().bdev.writes
    # Compact records in commit files make few block writes (175 when this was written): the
    # sweep visits each one; this only guards against a scenario that stopped writing.
    assert total > 100, total
    failures = []
    resumed = powerloss = 0
    for k in range(total):
        gc.collect()
        r = sc.Run(cut=k, torn=torn).play()
        assert r.cuts == 1, (k, r.cuts)
        bad = sc.check(r)
        if bad:
            failures.append((k, bad[:3]))
        resumed += r.agent.keeper.resumed
        powerloss += r.agent.keeper.powerloss
    print("cut points", total, "torn" if torn else "plain", "failures", len(failures),
          "sessions resumed", resumed, "ended PowerLoss", powerloss)
    assert not failures, failures[:5]
    # Both outcomes of the continuity rule were exercised.
    assert resumed and powerloss, (resumed, powerloss)


def test_uncut_scenario_is_clean():
    r = sc.Run().play()
    assert sc.check(r) == []
    ends = [p for t, p in r.final.values() if t == jf.TYPE_SESSION_END]
    assert len(ends) == 3
    assert r.agent.journal.delivered == r.agent.journal.seq


def test_power_cut_every_write():
    _sweep(False)


def test_power_cut_every_write_torn():
    _sweep(True)


run(globals())
