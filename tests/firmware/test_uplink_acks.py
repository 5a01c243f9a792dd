# The window over the backend's acks and the ack_timeout condition (uplink/acks.py): what may
# go out past the backend's floor, when to resend from it, when the condition is raised.
from fwtest import run
from laddvakt.uplink.acks import ACK_TIMEOUT, BackendAcks


def test_window_bounds_batches_past_the_floor():
    a = BackendAcks(3, 1000)
    for last in (10, 20, 30):
        assert a.may_send()
        a.sent(last)
    assert not a.may_send()
    # An ack that covers the first two batches opens two places.
    assert a.on_ack(5, 20, True) is False
    assert a.may_send()
    a.sent(40)
    a.sent(50)
    assert not a.may_send()
    assert a.on_ack(6, 50, True) is False
    assert a.may_send()


def test_ack_that_covers_nothing_owed_asks_for_a_resend():
    a = BackendAcks(4, 1000)
    a.sent(10)
    a.sent(20)
    # The backend answers with its old floor: it has neither batch.
    assert a.on_ack(3, 0, False) is True
    a.reset(3)
    assert a.may_send()
    # With nothing owed, the same ack is just news.
    assert a.on_ack(4, 0, False) is False


def test_reset_after_reconnect_probes_with_one_batch_then_a_window():
    a = BackendAcks(2, 1000)
    a.sent(1)
    a.sent(2)
    assert not a.may_send()
    a.reset(100)
    assert a.may_send()
    a.sent(3)
    assert not a.may_send()  # one batch until the backend answers
    assert a.on_ack(110, 3, True) is False
    a.sent(4)
    a.sent(5)
    assert not a.may_send()


def test_expired_only_when_owed_and_late():
    a = BackendAcks(2, 1000)
    a.reset(0)
    assert not a.expired(5000, False)  # nothing owed: no timeout at all
    assert not a.expired(1000, True)
    assert a.expired(1001, True)
    assert not a.expired(1500, True)  # the clock restarted at 1001
    assert a.expired(2002, True)
    # A floor that moves restarts the clock.
    a.sent(9)
    a.on_ack(2500, 9, True)
    assert not a.expired(3400, True)


def test_condition_edges_and_fault_record():
    calls = []
    a = BackendAcks(2, 1000)
    a.set_fault = lambda code, on, info, src: calls.append((code, on, info, src))
    online = '{"v":1,"state":"online"}'
    assert a.status(online) == online
    assert a.hold(True) is True
    assert a.hold(True) is False  # no second record for the same condition
    assert a.condition == ACK_TIMEOUT
    assert a.status(online) == '{"v":1,"state":"online","cond":["ack_timeout"]}'
    assert a.hold(False) is True
    assert a.hold(False) is False
    assert a.status(online) == online
    assert calls == [("OtherError", True, ACK_TIMEOUT, "uplink"), ("OtherError", False, ACK_TIMEOUT, "uplink")]
    assert a.timeouts == 1


run(globals())
