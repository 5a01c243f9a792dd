# faults.Faults: edges of a code as a whole, and codes held by several sources (InternalError:
# the journal when full and the watchdog after a reset), none clearing another's.
from fwtest import run
from laddvakt.control.faults import Faults


def test_single_source_edges_unchanged():
    f = Faults()
    assert f.update("GroundFailure", True, "rcd") is True
    assert f.update("GroundFailure", True, "rcd") is False
    assert f.active == {"GroundFailure": "rcd"} and f.codes() == ["GroundFailure"]
    assert f.update("GroundFailure", False) is True
    assert f.update("GroundFailure", False) is False
    assert f.active == {} and not f.is_active("GroundFailure")


def test_clear_by_a_source_that_never_raised_is_no_edge():
    f = Faults()
    assert f.update("InternalError", False, None, "watchdog") is False
    f.update("InternalError", True, "journal full")
    assert f.update("InternalError", False, None, "watchdog") is False
    assert f.is_active("InternalError")


def test_two_sources_hold_one_code():
    f = Faults()
    assert f.update("InternalError", True, "watchdog reset", "watchdog") is True
    assert f.update("InternalError", True, "journal full") is False  # already on: no edge
    assert f.sources("InternalError") == [None, "watchdog"]
    assert f.held_by("InternalError", "watchdog") and f.held_by("InternalError", None)
    assert not f.held_by("GroundFailure", None)
    assert f.update("InternalError", False, None, "watchdog") is False  # the journal still holds it
    assert f.is_active("InternalError")
    assert f.active["InternalError"] == "journal full"  # the info of the source still holding it
    assert f.update("InternalError", False) is True  # the last source clears: one edge
    assert not f.is_active("InternalError") and f.sources("InternalError") == []


def test_sources_clear_in_either_order():
    f = Faults()
    f.update("InternalError", True, "journal full")
    f.update("InternalError", True, "watchdog reset", "watchdog")
    assert f.active["InternalError"] == "journal full"  # raised first, its info stays
    assert f.update("InternalError", False) is False
    assert f.active["InternalError"] == "watchdog reset"
    assert f.update("InternalError", False, None, "watchdog") is True


def test_other_codes_are_independent():
    f = Faults()
    f.update("InternalError", True, "watchdog reset", "watchdog")
    f.update("PowerMeterFailure", True, "timeout")
    assert f.codes() == ["InternalError", "PowerMeterFailure"]
    assert f.update("PowerMeterFailure", False) is True
    assert f.codes() == ["InternalError"]


run(globals())
