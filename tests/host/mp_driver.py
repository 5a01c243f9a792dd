"""A long-lived micropython process that runs a firmware driver script (tests/host/mp_*.py):
one JSON case per line in, one JSON answer per line out. Property tests feed it thousands of
cases without paying a process start for each, and the firmware code under test runs on the
unix-port micropython, never on CPython."""
import json
import os
import subprocess

from host_tools.sim import MICROPYTHON, ROOT, micropython_env


class Driver:
    def __init__(self, script, paths=(), cwd=None):
        """paths: more module directories after firmware/ (e.g. tests/firmware for ctlrig);
        cwd: where the script runs, for one that writes files (a journal)."""
        self.p = subprocess.Popen([MICROPYTHON, os.path.join(ROOT, "tests", "host", script)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=cwd,
                                  env=micropython_env(os.path.join(ROOT, "firmware"), *paths))

    def ask(self, case):
        self.p.stdin.write(json.dumps(case) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        assert line, "micropython died on %r" % (case,)
        return json.loads(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait(10)
