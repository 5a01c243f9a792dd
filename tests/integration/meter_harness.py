"""Host side of the meter integration tests: a pymodbus simulator on a socat pty pair and
the firmware's meter code in a micropython process on the other end."""
import contextlib
import json
import os
import subprocess

from host_tools.testing.meter_sim import MeterModel, MeterSim, PtyPair
from host_tools.repo import BUILD, ROOT
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env

HERE = os.path.dirname(os.path.abspath(__file__))


class FirmwareMeter:
    def __init__(self, path, profile, address=1, timeout_ms=100, retries=0, line="8N1"):
        env = micropython_env(os.path.join(ROOT, "firmware"), os.path.join(BUILD, "lib"))
        if isinstance(profile, dict):
            profile = json.dumps(profile)
        self.p = subprocess.Popen([MICROPYTHON, os.path.join(HERE, "mp_meter.py"), path, profile, str(address),
                                   str(timeout_ms), str(retries), line], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = self.p.stdout.readline()
        if not out:
            raise RuntimeError("firmware meter died: " + self.p.stderr.read())
        return json.loads(out)

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write("quit\n")
                self.p.stdin.flush()
                self.p.wait(5)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.p.kill()


@contextlib.contextmanager
def meter_rig(profile, address=1, timeout_ms=100, retries=0, **model_kw):
    """(model, sim, firmware meter) wired over a fresh pty pair."""
    model = MeterModel(profile, address, **model_kw)
    with PtyPair() as pair, MeterSim(pair.sim_path, [model]) as sim:
        fw = FirmwareMeter(pair.agent_path, profile, address, timeout_ms, retries)
        try:
            yield model, sim, fw
        finally:
            fw.close()
