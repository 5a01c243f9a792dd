# Board entry point: MicroPython runs this after boot.py.
import gc

# Where the code is loaded into the heap (.mpy files, not frozen), importing leaves its
# garbage between the modules' code: collected, it is a scatter of small holes, and a record
# of a kilobyte or two finds no room. A block taken first and given back after the imports
# leaves the runtime one contiguous region at the bottom of the heap.
_room = bytearray(16384)
from laddvakt.app import wiring as app  # noqa: E402
from laddvakt.hal import load  # noqa: E402

del _room
gc.collect()
app.main(load())
