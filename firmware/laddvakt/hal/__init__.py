# Hardware abstraction: one small surface, two implementations, chosen once at start-up.
import sys


def load(argv=None):
    if sys.platform == "esp32":
        from .esp32 import Esp32Hal

        return Esp32Hal()
    from .unix import UnixHal

    return UnixHal.from_argv(argv if argv is not None else sys.argv)
