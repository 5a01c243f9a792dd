"""A long-lived micropython process that runs a firmware driver script (tests/host/mp_*.py,
tests/integration/mp_*.py): one JSON case per line in, one JSON answer per line out. Property
tests feed it thousands of cases without paying a process start for each, and the firmware code
under test runs on the unix-port micropython, never on CPython."""
import json
import os
import subprocess

from host_tools.repo import FIRMWARE, ROOT
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env


class Driver:
    def __init__(self, script, paths=(), cwd=None, args=(), utf8=False):
        """script: a file name in tests/host, or a path; paths: more module directories after
        firmware/ (e.g. tests/firmware for ctlrig); cwd: where the script runs, for one that
        writes files (a journal); args: its command-line arguments; utf8: lines carry text as
        UTF-8 instead of \\u escapes (micropython's JSON reader does not join surrogate pairs)."""
        self.ensure_ascii = not utf8
        self.p = subprocess.Popen([MICROPYTHON, os.path.join(ROOT, "tests", "host", script), *args],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, encoding="utf-8", cwd=cwd,
                                  env=micropython_env(FIRMWARE, *paths))

    def ask(self, case):
        self.p.stdin.write(json.dumps(case, ensure_ascii=self.ensure_ascii) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        assert line, "micropython died on %r" % (case,)
        return json.loads(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait(10)
