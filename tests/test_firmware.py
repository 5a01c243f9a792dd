"""Run every firmware test file under the unix-port `micropython`, never CPython."""
import os
import subprocess
import sys

import pytest

from host_tools.sim import micropython_env

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FW_TESTS = os.path.join(HERE, "firmware")
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")

FILES = sorted(f for f in os.listdir(FW_TESTS) if f.startswith("test_") and f.endswith(".py"))


def test_firmware_tests_exist():
    assert FILES, "no firmware test files found"


@pytest.mark.parametrize("name", FILES)
def test_firmware_file(name, tmp_path):
    p = subprocess.run(
        [MICROPYTHON, os.path.join(FW_TESTS, name)],
        cwd=tmp_path, env=micropython_env(os.path.join(ROOT, "firmware"), os.path.join(ROOT, "build", "lib"), FW_TESTS), capture_output=True, text=True, timeout=300,
    )
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
    assert lines and " passed, 0 failed" in lines[-1], out
