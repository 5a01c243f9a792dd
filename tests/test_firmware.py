"""The firmware tests run under the unix-port `micropython`, never CPython: conftest.py makes
each test function of tests/firmware/test_*.py a pytest item of its own (tests/fwitems.py).
This file checks that the collection finds them and that failures say their values."""
import os
import subprocess

from host_tools.repo import BUILD
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env
from tests.fwitems import FW_TESTS, rewrite, function_names

FILES = sorted(f for f in os.listdir(FW_TESTS) if f.startswith("test_") and f.endswith(".py"))


def test_every_firmware_file_has_tests():
    assert FILES, "no firmware test files found"
    for f in FILES:
        with open(os.path.join(FW_TESTS, f)) as fh:
            assert function_names(fh.read()), f


def test_rewrite_keeps_lines_and_shows_values(tmp_path):
    src = ("# a test\nfrom fwtest import run\n\n\ndef test_a():\n    x = [1, 2]\n"
           "    assert len(x) == (\n        3), 'short'\n    assert x\n\n\nrun(globals())\n")
    out = rewrite(src)
    assert out.count("\n") == src.count("\n")
    assert "assert x" in out and "_fwc(len(x)" in out
    p = tmp_path / "test_t.py"
    p.write_text(out)
    r = subprocess.run([MICROPYTHON, str(p), "test_a"], capture_output=True, text=True, timeout=60,
                       env=micropython_env(FW_TESTS, os.path.join(BUILD, "lib")))
    assert r.returncode == 1
    assert "2 == 3 -- short" in r.stdout + r.stderr
    assert 'line 7' in r.stdout + r.stderr  # the assert's own line in the source
