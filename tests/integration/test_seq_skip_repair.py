"""A boot that skips seqs up to the journal's seq mark (docs/journal.md, Seq marks) leaves the
reference backend no hole it cannot mend: it asks for a replay of the skipped range, the agent
answers that the range holds no record (from_seq after to_seq), and the backend's ack floor
moves past it to the last record. The agent runs under micropython against real mosquitto."""
import json
import os

from host_tools.backend.service import Backend
from host_tools.sim import agent as sim
from host_tools.testing.broker import Broker


def _summary(data):
    rc, out, err = sim.run_agent(data, timeout=120)
    assert "Traceback" not in err, out + err
    s = sim.parse_summary(out)
    assert s is not None, out + err
    return s


def test_a_skip_at_boot_is_acked_past_and_reported(tmp_path):
    with Broker("mosquitto") as b:
        data = str(tmp_path / "dev")
        sim.prepare_device(data, b.port, ack=None)  # ack mode backend
        backend = Backend(str(tmp_path / "db.sqlite"), "127.0.0.1", b.port).start()
        try:
            first = _summary(data)
            with open(os.path.join(data, "ident.json")) as f:
                inst = json.load(f)["install"]
            top = first["journal_seq"]
            assert backend.wait_for(lambda: backend.store.acked(inst) == top, 10)
            # As a power cut leaves it: the mark a block ahead of the last record (the clean
            # close of the simulation brought it down to the last seq).
            mark = (top // 128 + 1) * 128
            for n in ("mark.a", "mark.b"):
                with open(os.path.join(data, "journal", n), "w") as f:
                    f.write("%d %d" % (mark, mark))
            second = _summary(data)
            assert second["journal_seq"] > mark
            gaps = [r for r in backend.store.records(inst) if r["type"] == "gap"]
            assert [(g["first"], g["last"], g["why"]) for g in gaps] == [(top + 1, mark, "reserved")]
            end = second["journal_seq"]
            assert backend.wait_for(lambda: backend.store.acked(inst) == end, 20), \
                (backend.store.acked(inst), end)
            assert backend.store.open_gaps() == []
            seqs = [r["seq"] for r in backend.store.records(inst)]
            assert seqs == list(range(1, top + 1)) + list(range(mark + 1, end + 1))
            assert backend.replays >= 1
        finally:
            backend.stop()
