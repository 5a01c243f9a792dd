import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from host_tools.broker import Broker  # noqa: E402

# Firmware test files run under the unix-port micropython (tests/test_firmware.py
# drives them), never under CPython, so pytest must not import them itself.
collect_ignore_glob = ["firmware/*"]


@pytest.fixture
def mosquitto():
    """A real mosquitto on a free loopback port, for one test."""
    with Broker("mosquitto") as b:
        yield b
