# Runs under the unix-port micropython (tests/host/test_powercut_billing.py starts it): the
# power-cut scenario of tests/firmware/agent_scenario.py, cut at every write k, plain and torn.
# Prints one JSON line per cut with its session_end records ("ends"), whose signatures the
# backend's own verifier checks host-side; and, for the first plain cuts after which a session
# went on across the cut with a tariff change (twice) or ended PowerLoss (once), every record the
# backend would have (delivered and still in the journal), with its seq ("recs").
import json

import agent_scenario as sc


def _records(r):
    recs = dict(r.backend)
    recs.update(r.final)
    out = []
    for seq in sorted(recs):
        d = r.agent.codec.decode(recs[seq][0], recs[seq][1], seq)
        d["seq"] = seq
        out.append(d)
    return out


def _kind(recs):
    begun = [d["sid"] for d in recs if d["type"] == "meter" and d["ctx"] == "Interruption.Begin"]
    kind = None
    for d in recs:
        if d["type"] != "session_end":
            continue
        if d["stop_reason"] == "PowerLoss" and d["energy_wh"]:
            kind = "powerloss"
        elif d["sid"] in begun and len(d["tariffs"]) > 1:
            kind = "resumed_split"
    return kind


def main():
    total = sc.Run().play().bdev.writes
    want = {"resumed_split": 2, "powerloss": 1}
    for torn in (False, True):
        for k in range(total):
            r = sc.Run(cut=k, torn=torn).play()
            recs = _records(r)
            out = {"k": k, "torn": torn, "install": r.install,
                   "ends": [d for d in recs if d["type"] == "session_end"]}
            kind = None if torn else _kind(recs)
            if kind and want.get(kind):
                want[kind] -= 1
                out.update(kind=kind, recs=recs)
            print(json.dumps(out))


main()
