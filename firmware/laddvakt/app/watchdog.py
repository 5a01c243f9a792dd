# The watchdog (issue 7, faults: InternalError). The sampling loop feeds it after each whole
# step, so a step that hangs (a blocking call, an endless loop) stops the feeding and the
# hardware resets the board. After a watchdog reset the agent raises InternalError
# "watchdog reset" (source "watchdog") and clears it once it has run stably for
# watchdog_clear_s of uptime (docs/control.md). The hardware comes from the HAL at start,
# never at import. It also notes the agent's heap use, for the benchmark.
import gc

from laddvakt.core.config import ConfigError
from laddvakt.core.clock import tdiff
# "watchdog" is both what hal.reset_cause() says after a watchdog reset and this part's own
# source of InternalError (the journal's full guard holds another).


class Watchdog:
    def __init__(self, cfg, set_fault, bench=False):
        self.timeout_ms = cfg["watchdog_s"] * 1000
        self.clear_ms = cfg["watchdog_clear_s"] * 1000
        if self.timeout_ms and self.timeout_ms < 2 * cfg["sample_interval_ms"]:
            # One late step would reset the board: a boot loop, not a safety net.
            raise ConfigError("key 'watchdog_s' must be 0 (off) or at least twice sample_interval_ms")
        self._set_fault = set_fault
        self.wdt = None  # the hardware watchdog, once started
        self.held = False  # InternalError "watchdog reset" raised and not yet cleared
        self.feeds = 0
        self.bench = bench  # note_heap collects
        self.heap_peak = 0

    def start(self, make, reset_cause):
        """Once, as the loop starts: `make(timeout_ms)` is hal.wdt; `reset_cause` is
        hal.reset_cause(). A watchdog reset is reported even with the watchdog now off."""
        if reset_cause == "watchdog":
            self.held = True
            self._set_fault("InternalError", True, "watchdog reset", "watchdog")
        if self.timeout_ms:
            self.wdt = make(self.timeout_ms)

    def feed(self, up_ms):
        """After each sampling step, with the uptime it sampled at."""
        w = self.wdt
        if w is not None:
            w.feed()
            self.feeds += 1
        if self.held and tdiff(up_ms, self.clear_ms) >= 0:
            self.held = False
            self._set_fault("InternalError", False, None, "watchdog")

    def note_heap(self):
        """The heap in use at a quiet point, its peak kept in heap_peak for the benchmark. In
        bench mode the heap is then collected, so the peak seen is live data plus one step's
        garbage: the most the agent needs at once."""
        a = gc.mem_alloc()
        if a > self.heap_peak:
            self.heap_peak = a
        if self.bench:
            gc.collect()
