# Runs under the unix-port micropython, fed by test_cost_agreement.py: one JSON case per
# stdin line, one JSON answer per stdout line. It drives the firmware's own pricing
# (Pricing, SessionCost, Tariff) the way app.Agent.step does, and answers with the
# records the agent would journal plus the device's receipt.
import json
import os
import sys

from laddvakt.journal import records
from laddvakt.core.clock import Clock
from laddvakt.core.ident import Identity
from laddvakt.billing.service import Pricing
from laddvakt.session.flow import Session

STATE = {"charging": 1, "idle": 2, "suspended": 0}


def run_case(case, data_dir):
    recs = []

    def log(rtype, payload):
        d = dict(payload)
        d["seq"] = len(recs) + 1
        recs.append(d)
        return d["seq"]

    clock = Clock()
    cfg = {"currency": "SEK", "currency_minor_unit": 2, "price_minor_per_kwh": 100,
           "device_key": case.get("key", "")}
    for name in ("tariff.json", "prices.json"):
        try:
            os.remove(data_dir + "/" + name)
        except OSError:
            pass
    ident = Identity("5f0c2a9e81d3", 1)
    pr = Pricing(cfg, data_dir, log, clock, ident)
    t0 = case["t0"]
    if case["sync_at"] == 0:
        clock.sync(0, t0)
    pr.cmd_tariff_set({"tariff": case["tariff"]})
    if case.get("sched"):
        pr.cmd_prices_set({"schedule": case["sched"]})
    up = 1000
    wh = case["wh0"]
    pr.idle_step(up, clock.wall_s(up), wh)
    s = Session("5f0c2a9e81d3-00000009", up, clock.wall_s(up), clock.quality(), wh, None)
    st = STATE[case["st0"]]
    log(0, records.session_start(clock, ident, s, pr.tariff, pr.open(s, clock.wall_s(up), up, wh, st)))
    for i, (dt, dwh, stn) in enumerate(case["steps"]):
        up += dt
        wh += dwh
        if case["sync_at"] == i + 1:
            clock.sync(up, t0 + up // 1000)
        ch = case.get("change_at")
        if ch == i:
            pr.cmd_tariff_set({"tariff": case["tariff2"]})
            if case.get("sched2"):
                pr.cmd_prices_set({"schedule": case["sched2"]})
        t = clock.wall_s(up)
        st = STATE[stn]
        r = pr.sample(up, t, s.sid, wh, st)
        if r is not None or i % 7 == 6:
            ctx = r["ctx"] if r is not None else "Sample.Periodic"
            log(0, records.meter(clock, up, ident, s.sid, wh, 0, ctx, pr.reading_fields()))
    s.end_up = up
    s.end_t = clock.wall_s(up)
    s.meter_stop_wh = wh
    s.stop_reason = "EVDisconnected"
    bill = pr.close(s, s.end_t, up, wh)
    log(0, pr.seal(records.session_end(clock, ident, s, pr.tariff, bill["cost_minor"], extra=bill),
                   "dev", "0", "SN1", "T1"))
    return {"recs": recs, "total": bill["cost_minor"], "receipt": bill["receipt"]}


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else "."
    while True:
        line = sys.stdin.readline()
        if not line or not line.strip():
            break
        try:
            out = run_case(json.loads(line), data_dir)
        except Exception as e:
            out = {"error": repr(e)}
        sys.stdout.write(json.dumps(out) + "\n")


main()
