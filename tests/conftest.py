import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from host_tools.broker import Broker  # noqa: E402


@pytest.fixture
def mosquitto():
    """A real mosquitto on a free loopback port, for one test."""
    with Broker("mosquitto") as b:
        yield b
