# Table-driven IEC 61851-1 states at the controller: for each CP reading, with and without an
# open session, what the controller drives (PWM duty, contactor) and the OCPP status it shows.
from fwtest import run
from laddvakt.core import config
from laddvakt.control.controller import Controller
from laddvakt.control.faults import Faults
from laddvakt.control.pilot import DUTY_F, DUTY_OFF, duty_for_current


class _Levels:
    """CP levels fixed by the test; everything else quiet. Records what is driven."""

    def __init__(self):
        self.high = 12000
        self.low = -12000
        self.duty = None
        self.closed = None

    def cp_read(self):
        # Steady +12 V or -12 V has no separate low half.
        return self.high, (self.high if self.duty in (DUTY_OFF, DUTY_F) else self.low)

    def set_duty(self, d):
        self.duty = d

    def set_contactor(self, on):
        self.closed = on

    def contactor_feedback(self):
        return self.closed

    def rcd_tripped(self):
        return False

    def temp_c(self):
        return 25

    def read_tag(self):
        return None

    def vehicle_id(self):
        return None


class _Session:
    energy_wh = 0
    start_up = 0


LEVELS = {"A": 12000, "B": 8979, "C": 5996, "D": 2931, "E": 0, "F": -12000}
PWM = duty_for_current(320)

# (pilot, session open?, duty, contactor closed, status, raised fault or None)
TABLE = (
    ("A", False, DUTY_OFF, False, "Available", None),
    ("B", False, PWM, False, "Preparing", None),  # free vend: PWM at plug-in
    ("B", True, PWM, False, "SuspendedEV", None),
    ("C", True, PWM, True, "Charging", None),
    ("D", True, PWM, True, "Charging", None),
    ("E", True, DUTY_F, False, "Faulted", "EVCommunicationError"),
    ("F", True, DUTY_F, False, "Faulted", "EVCommunicationError"),
)


def _ctl():
    hw = _Levels()
    f = Faults()
    return Controller(config.merged({"pilot_debounce": 1}), hw, f, f.update), hw, f


def test_state_table():
    for pilot, in_session, duty, closed, status, fault in TABLE:
        ctl, hw, f = _ctl()
        s = _Session() if in_session else None
        hw.high = LEVELS[pilot]
        up = 0
        for _ in range(3):
            up += 1000
            reason = ctl.tick(up, 1795154400 + up // 1000, 0, s)
        row = (pilot, in_session)
        assert hw.duty == duty, (row, hw.duty)
        assert bool(hw.closed) == closed, (row, hw.closed)
        assert ctl.status == status, (row, ctl.status)
        assert f.codes() == ([fault] if fault else []), (row, f.codes())
        if fault:
            assert reason == "Other", (row, reason)


def test_hysteresis_keeps_c_on_a_noisy_threshold():
    ctl, hw, f = _ctl()
    s = _Session()
    seq = [5996, 5996, 4400, 4600, 4450, 4700, 4550]  # around the C/D threshold at 4.5 V
    got = ""
    for i, mv in enumerate(seq):
        hw.high = mv
        ctl.tick((i + 1) * 1000, 1795154400 + i, 0, s)
        got += ctl.state
    assert got == "CCCCCCC", got


def test_diode_failure_raises_at_the_controller():
    ctl, hw, f = _ctl()
    s = _Session()
    hw.high = LEVELS["C"]
    hw.low = -8800  # shorted diode: the negative half is pulled up
    for i in range(3):
        reason = ctl.tick((i + 1) * 1000, 1795154400 + i, 0, s)
        if reason:
            break
    assert f.codes() == ["EVCommunicationError"] and reason == "Other"
    assert f.active["EVCommunicationError"] == "diode check failed"


run(globals())
