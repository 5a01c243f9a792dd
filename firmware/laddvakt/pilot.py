# IEC 61851-1 control pilot: the high level of the CP signal, in millivolts, to a
# state letter. Thresholds sit midway between the nominal levels (12, 9, 6, 3, 0,
# -12 V) and a reading must hold for `debounce` samples before the state changes.
from micropython import const

_A_MIN = const(10500)
_B_MIN = const(7500)
_C_MIN = const(4500)
_D_MIN = const(1500)
_E_MIN = const(-1500)


def classify_mv(high_mv):
    if high_mv >= _A_MIN:
        return "A"
    if high_mv >= _B_MIN:
        return "B"
    if high_mv >= _C_MIN:
        return "C"
    if high_mv >= _D_MIN:
        return "D"
    if high_mv >= _E_MIN:
        return "E"
    return "F"


class PilotReader:
    """Debounced pilot state from a source with read_mv() -> CP high level in mV."""

    def __init__(self, source, debounce=3):
        self._src = source
        self._debounce = debounce
        self.state = "A"
        self._cand = "A"
        self._count = 0

    def read(self):
        s = classify_mv(self._src.read_mv())
        if s != self._cand:
            self._cand = s
            self._count = 0
        self._count += 1
        if self._count >= self._debounce:
            self.state = s
        return self.state
