"""The firmware's own pure modules (config schema, board loader), imported under CPython so the
host tools validate with the very code the device runs instead of a copy of it."""
import importlib
import os
import sys
import types

from host_tools.repo import BOARDS, FIRMWARE


def module(name):
    """laddvakt.<name> from firmware/; only modules that need no MicroPython builtins but
    const(), which is the value itself on CPython (the meter map checks use it)."""
    if "micropython" not in sys.modules:
        sys.modules["micropython"] = types.SimpleNamespace(const=lambda x: x)
    if FIRMWARE not in sys.path:
        sys.path.insert(0, FIRMWARE)
    return importlib.import_module("laddvakt." + name)


def board_names():
    return sorted(f[:-5] for f in os.listdir(BOARDS) if f.endswith(".json"))
