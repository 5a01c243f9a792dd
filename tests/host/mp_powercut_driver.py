# Runs under the unix-port micropython (tests/host/test_powercut_billing.py starts it): the
# power-cut scenario of tests/firmware/agent_scenario.py, cut at write k for k from 0 until
# it has found sessions that went on across the cut with a tariff change and a session that
# ended PowerLoss; prints one JSON line per run: the cut point and every record the backend
# would have (delivered and still in the journal), with its seq.
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


def main():
    total = sc.Run().play().bdev.writes
    want = {"resumed_split": 2, "powerloss": 1}
    for k in range(total):
        r = sc.Run(cut=k).play()
        recs = _records(r)
        begun = [d["sid"] for d in recs if d["type"] == "meter" and d["ctx"] == "Interruption.Begin"]
        kind = None
        for d in recs:
            if d["type"] != "session_end":
                continue
            if d["stop_reason"] == "PowerLoss" and d["energy_wh"]:
                kind = "powerloss"
            elif d["sid"] in begun and len(d["tariffs"]) > 1:
                kind = "resumed_split"
        if kind and want.get(kind):
            want[kind] -= 1
            print(json.dumps({"k": k, "kind": kind, "install": r.install, "recs": recs}))
        if not any(want.values()):
            break


main()
