# Unix-port entry point (simulation, tests, a host-run agent): the same agent as main.py on the
# unix HAL. `micropython unix_main.py --data DIR --boards DIR [--bench] [--console TTY]`.
import gc
import sys

_room = bytearray(8192)  # as in main.py (see there)
from laddvakt.app import wiring as app  # noqa: E402
from laddvakt_unix.hal import UnixHal  # noqa: E402

del _room
gc.collect()
rc = app.main(UnixHal.from_argv(sys.argv))
if rc:
    sys.exit(rc)
