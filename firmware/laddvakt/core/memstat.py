# Heap use of the agent, for the benchmark. In bench mode the heap is collected at
# each quiet point, so the peak seen is live data plus one step's garbage: the most
# the agent needs at once.
import gc


class MemStat:
    def __init__(self, collect):
        self.collect = collect
        self.peak = 0

    def note(self):
        a = gc.mem_alloc()
        if a > self.peak:
            self.peak = a
        if self.collect:
            gc.collect()
