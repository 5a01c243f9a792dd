import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from host_tools.testing.broker import Broker  # noqa: E402

FW_DIR = os.path.join(ROOT, "tests", "firmware")
# Helpers beside the firmware tests (rigs, simulators) are micropython code, never collected.
collect_ignore_glob = ["firmware/[!t]*", "firmware/t[!e]*"]


def pytest_pycollect_makemodule(module_path, parent):
    """Firmware test files run under the unix-port micropython, never under CPython: each of
    their test functions is an item of its own (tests/fwitems.py) instead of a module."""
    if str(module_path.parent) == FW_DIR:
        from tests.fwitems import FirmwareFile

        return FirmwareFile.from_parent(parent, path=module_path)
    return None


@pytest.fixture
def mosquitto():
    """A real mosquitto on a free loopback port, for one test."""
    with Broker("mosquitto") as b:
        yield b


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server (Debian's package) for the whole run (billing, issue 6)."""
    from host_tools.testing.pg import PgServer

    with PgServer() as pg:
        yield pg


@pytest.fixture
def pg_url(postgres, request):
    """A fresh database on that server for one test."""
    import re

    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:50]
    return postgres.create_db(name)
