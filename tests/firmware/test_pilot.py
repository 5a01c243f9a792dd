# IEC 61851-1 control pilot: millivolts to state letters, with debounce.
from fwtest import run
from laddvakt.pilot import PilotReader, classify_mv


def test_nominal_levels():
    assert classify_mv(12000) == "A"
    assert classify_mv(9000) == "B"
    assert classify_mv(6000) == "C"
    assert classify_mv(3000) == "D"
    assert classify_mv(0) == "E"
    assert classify_mv(-12000) == "F"


def test_thresholds():
    # Each threshold belongs to the higher state; one millivolt less is the next state.
    for mv, above, below in ((10500, "A", "B"), (7500, "B", "C"), (4500, "C", "D"),
                             (1500, "D", "E"), (-1500, "E", "F")):
        assert classify_mv(mv) == above, mv
        assert classify_mv(mv - 1) == below, mv


def test_out_of_band_values():
    assert classify_mv(15000) == "A"
    assert classify_mv(-20000) == "F"


class _Src:
    def __init__(self, mvs):
        self._mvs = list(mvs)
        self.reads = 0

    def read_mv(self):
        self.reads += 1
        return self._mvs.pop(0)


MV = {"A": 12000, "B": 9000, "C": 6000, "D": 3000, "E": 0, "F": -12000}


def _reader(states, debounce=3):
    src = _Src(MV[s] for s in states)
    return PilotReader(src, debounce), src


def test_debounce_adopts_after_n_reads():
    r, src = _reader("AABBBBCCCCA")
    got = "".join(r.read() for _ in range(11))
    # B adopted on its third read, C on its third; the last A is too short.
    assert got == "AAAABBBBCCC", got
    assert src.reads == 11


def test_starts_in_a():
    r, _ = _reader("CC")
    assert r.state == "A"
    assert r.read() == "A" and r.read() == "A"


def test_glitch_ignored():
    r, _ = _reader("CCC" + "B" + "CCCC" + "A" + "C" + "F" + "CC")
    got = "".join(r.read() for _ in range(13))
    assert got == "AAC" + "C" + "CCCC" + "C" + "C" + "C" + "CC", got


def test_interrupted_change_restarts_count():
    r, _ = _reader("BBABBB")
    got = "".join(r.read() for _ in range(6))
    # B, B, then a glitch back to A resets the count: three fresh Bs are needed.
    assert got == "AAAAAB", got


def test_debounce_parameter():
    r, _ = _reader("BC", debounce=1)
    assert r.read() == "B" and r.read() == "C"
    r, _ = _reader("BBBBBE", debounce=5)
    assert "".join(r.read() for _ in range(6)) == "AAAABB"


run(globals())
