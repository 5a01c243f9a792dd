# The meter service: health counters, PowerMeterFailure after the grace and cleared on
# recovery, guarded energy, and the split when the meter is replaced.
from fwtest import raises, run
from laddvakt.core import config
from laddvakt.meters import registers as pf
from laddvakt.meters.service import MeterService
from laddvakt.session.flow import SessionTracker


class Driver:
    serial_spec = (3, 0xFC00, 2)
    has_energy = True
    res_dwh = 1

    def __init__(self):
        self.values = [None] * pf.N
        self.fail = None
        self.sn = 0x1234
        self.serial_reads = 0

    def poll(self):
        if self.fail:
            raise OSError(self.fail)
        return self.values

    def serial(self):
        self.serial_reads += 1
        return self.sn

    def counters(self):
        return {"requests": 0}


def setup(**over):
    cfg = config.merged(over)
    faults = []
    events = []
    d = Driver()
    s = MeterService(d, cfg, lambda c, on, info=None: faults.append((c, on)),
                     lambda *a: events.append(a), "sdm630")
    return d, s, faults, events


def edges(faults):
    out = []
    state = False
    for _code, on in faults:
        if on != state:
            out.append(on)
            state = on
    return out


def test_fault_after_three_failed_polls_and_cleared_on_recovery():
    d, s, faults, _ = setup()
    d.values[pf.E_IMP] = 1000
    d.values[pf.P] = 500
    assert s.sample(0) and s.energy_wh == 100 and s.power_w == 500
    d.fail = "modbus timeout"
    assert not s.sample(1000) and not s.sample(2000)
    assert edges(faults) == []
    assert not s.sample(3000)
    assert edges(faults) == [True]
    d.fail = None
    assert not s.sample(4000)  # within meter_retry_ms of the last try: not polled
    assert s.sample(8000)
    assert edges(faults) == [True, False]
    st = s.status()
    assert (st["polls"], st["failed_polls"], st["failed_in_a_row"]) == (5, 3, 0)


def test_a_failed_meter_is_polled_only_every_retry_interval():
    d, s, faults, _ = setup(meter_retry_ms=5000)
    d.values[pf.E_IMP] = 1
    s.sample(0)
    d.fail = "timeout"
    for t in range(1, 4):
        s.sample(t * 1000)
    assert edges(faults) == [True] and s.health.polls == 4
    for t in range(4, 8):
        assert not s.sample(t * 1000)
    assert s.health.polls == 4  # skipped: no timeout spent
    d.fail = None
    assert s.sample(8000) and s.health.polls == 5
    assert edges(faults) == [True, False]
    assert s.sample(9000) and s.health.polls == 6


def test_fault_after_the_grace_time_even_with_slow_polls():
    d, s, faults, _ = setup(meter_grace_polls=100, meter_grace_ms=10000)
    d.values[pf.E_IMP] = 1
    s.sample(0)
    d.fail = "x"
    s.sample(9000)
    assert edges(faults) == []
    s.sample(10000)
    assert edges(faults) == [True]


def test_no_reading_ever_means_no_sample():
    d, s, _, _ = setup()
    assert not s.sample(0)  # NaN before any baseline: nothing to book from
    d.values[pf.E_IMP] = 10
    assert s.sample(1000) and s.energy_wh == 1


def test_rejections_are_reported_once_per_run_and_not_booked():
    d, s, _, events = setup()
    d.values[pf.E_IMP] = 100000
    s.sample(0)
    d.values[pf.E_IMP] = 99000
    s.sample(1000)
    s.sample(2000)
    assert s.energy_wh == 10000
    assert events == [("rejected", "backwards", 99000)]
    assert s.status()["rejected_backwards"] == 2
    d.values[pf.E_IMP] = 100200
    assert s.sample(3000) and s.energy_wh == 10020


def test_replaced_meter_splits_the_session():
    d, s, _, events = setup()
    tr = SessionTracker(lambda: "sid-%d" % len(events))
    d.values[pf.E_IMP] = 500000
    s.sample(0)
    assert tr.on_sample(0, None, "unsynced", "C", s.energy_wh)[0] == "start"
    s.mark()
    d.values[pf.E_IMP] = 500500
    s.sample(10000)
    tr.on_sample(10000, None, "unsynced", "C", s.energy_wh)
    # Swapped while silent: the serial is read again after the outage.
    d.fail = "timeout"
    s.sample(20000)
    d.fail = None
    d.sn = 0x9999
    d.values[pf.E_IMP] = 30
    assert s.sample(30000)
    kind, old = s.split(tr, 30000, None)
    assert kind == "end" and old.stop_reason == "Other" and old.energy_wh == 50
    assert s.session_flags() == ["meter_replaced"]
    assert events == [("replaced", None, 30)]
    assert s.energy_wh == 3
    assert s.split(tr, 30000, None) is None
    kind, new = tr.on_sample(40000, None, "unsynced", "C", s.energy_wh)
    assert kind == "start" and new.meter_start_wh == 3


def test_serial_is_checked_at_start_and_every_n_polls():
    d, s, _, _ = setup(meter_serial_check_polls=5)
    d.values[pf.E_IMP] = 1
    for t in range(11):
        s.sample(t * 1000)
    assert d.serial_reads == 3
    assert s.status()["serial"] == "1234"


def test_a_meter_without_energy_register_integrates_power_flagged_estimated():
    d, s, _, _ = setup()
    d.has_energy = False
    d.serial_spec = None
    d.values[pf.P] = 3600
    for t in range(0, 10001, 1000):
        assert s.sample(t)
    assert s.energy_wh == 10  # 3600 W for 10 s
    assert s.session_flags() == ["estimated"]


class Hal:
    data_dir = "."

    def __init__(self):
        self.opened = []

    def rs485(self, meter, pins, cfg):
        self.opened.append((meter["uart"], pins["rs485_de"]))
        return object()


BOARD = {"name": "b", "pins": {"rs485_de": 4},
         "meter": {"type": "modbus", "uart": 2, "baudrate": 9600, "address": 1, "profile": "sdm630"}}


def test_board_meter_is_built_from_board_and_config():
    from laddvakt.app.hardware import build_meter

    hal = Hal()
    m, prof = build_meter(hal, BOARD, config.merged({"meter_profile": "em340", "meter_address": 9}))
    assert prof == "em340" and m.addr == 9 and m.master.baud == 9600 and hal.opened == [(2, 4)]
    m, prof = build_meter(hal, BOARD, config.defaults())
    assert prof == "sdm630" and m.addr == 1 and len(m.plan) == 3
    e = None
    try:
        build_meter(hal, BOARD, config.merged({"meter_profile": "nope"}))
    except config.ConfigError as x:
        e = x
    assert e is not None and "unknown meter profile 'nope'" in str(e)
    for kind in ("s0", "pulse"):
        e = raises(config.ConfigError, build_meter, hal, dict(BOARD, meter={"type": kind}), config.defaults())
        assert "meter" in str(e)



def test_the_device_configs_meter_map_is_used_over_the_boards():
    # issue 18: a map in the device config wins over the board's profile (and its own map).
    from laddvakt.app.hardware import build_meter

    cmap = {"name": "site", "registers": {
        "e_imp": {"fc": 3, "address": 0x700, "type": "uint32", "words": "low_first", "unit": "Wh"},
        "p": {"fc": 3, "address": 0x702, "type": "int32", "unit": "W"}}}
    bmap = {"registers": {"p": {"fc": 4, "address": 9, "type": "int16", "unit": "W"}}}
    for board in (BOARD, dict(BOARD, meter=dict(BOARD["meter"], map=bmap))):
        m, prof = build_meter(Hal(), board, config.merged({"meter_map": cmap}))
        assert prof == m.profile == "site (config map)", prof
        assert m.plan == ((3, 0x700, 4, ((0, 0, 2, 1, 1), (2, 4, 1, 0, 0))),), m.plan
    m, prof = build_meter(Hal(), BOARD, config.merged({"meter_map": {"registers": cmap["registers"]}}))
    assert prof == "unnamed (config map)"


def test_a_meter_whose_serial_read_fails_books_energy_and_says_swap_detection_is_off():
    # Issue 18 item 3: the serial read answered with a Modbus exception (no such register).
    from laddvakt.meters.modbus import EXCEPTION, ModbusError

    d, s, faults, _ = setup()

    def no_serial():
        d.serial_reads += 1
        raise ModbusError(EXCEPTION, 2)

    d.serial = no_serial
    d.values[pf.P] = 1000
    for t in range(5):
        d.values[pf.E_IMP] = 1000 + 10 * t
        assert s.sample(t * 1000)
    assert s.energy_wh == 104 and edges(faults) == []
    assert d.serial_reads == 1  # asked once; an exception means the meter has no such register
    st = s.status()
    assert st["serial"] is None and st["failed_polls"] == 0
    assert st["serial_check"] == "off: serial read answered modbus exception 2 (illegal data address)"


def test_a_serial_read_timeout_after_a_good_poll_books_and_asks_again():
    from laddvakt.meters.modbus import TIMEOUT, ModbusError

    d, s, faults, _ = setup()
    real = d.serial
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise ModbusError(TIMEOUT)
        return real()

    d.serial = flaky
    d.values[pf.E_IMP] = 1000
    assert s.sample(0) and s.energy_wh == 100
    assert s.status()["serial_check"] == "pending"
    assert s.sample(1000)
    assert s.status()["serial"] == "1234" and s.status()["serial_check"] == "on"
    assert edges(faults) == []


def test_a_profile_without_serial_says_so_in_status():
    d, s, _, _ = setup()
    d.serial_spec = None
    s2 = MeterService(d, config.defaults(), lambda *a: None, lambda *a: None, "dtsu666")
    d.values[pf.E_IMP] = 10
    assert s2.sample(0)
    assert s2.status()["serial_check"] == "off: the meter map has no serial register"


run(globals())
