# Board entry point: MicroPython runs this after boot.py.
import gc

# Where the code is loaded into the heap (.mpy files, not frozen), importing leaves its
# garbage between the modules' code: collected, it is a scatter of small holes, and a record
# of a kilobyte or two finds no room. A block taken first and given back after the imports
# leaves the runtime one contiguous region at the bottom of the heap. Its size is measured, not
# derived: with the modules split into single jobs, 16 KiB left the sim's uplink without a
# 1.3 KB block in a heap of code + 64 KiB (tests/integration/test_tight_heap.py), 4-8 KiB do not.
# Still worth it from files: the sim's floor was 57,344 bytes with it, 59,392 without. Frozen
# (in place: ROMFS on unix) it made no difference (62,464 both ways, the floor scenario); kept, as
# this one file serves both.
_room = bytearray(8192)
from laddvakt.app import wiring as app  # noqa: E402
from laddvakt.hal import load  # noqa: E402

del _room
gc.collect()
app.main(load())
