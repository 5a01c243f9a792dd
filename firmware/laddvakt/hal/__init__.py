# Hardware abstraction: one small surface (docs/architecture.md). The board's is here; the unix
# port's (simulation and tests) is laddvakt_unix.hal, which the board never loads.
import sys


def load():
    if sys.platform != "esp32":
        raise OSError("no HAL for %s here: on the unix port run unix_main.py" % sys.platform)
    from laddvakt.hal.esp32 import Esp32Hal

    return Esp32Hal()
