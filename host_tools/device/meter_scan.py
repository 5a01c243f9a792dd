"""`meter scan` from the host: probe Modbus addresses 1-247 on a serial line (a USB RS485
adapter, or a pty from host_tools.testing.meter_sim) and diagnose each device that answers: which
read function codes answer, which known maps' energy registers answer, the matching profile with
plausible values, or a register-map skeleton to start from. It runs the
firmware's own scan (laddvakt.meters.scan) under the unix-port micropython, so the host and
the board identify meters with the same code.

    python -m host_tools.device.meter_scan --device /dev/ttyUSB0 [--baud 9600] [--first 1] [--last 247]
"""
import argparse
import json
import subprocess
import sys

from host_tools.repo import FIRMWARE
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env


def scan(device, baud=9600, first=1, last=247, probe_timeout_ms=50, timeout=600):
    """(devices found, summary) as dicts."""
    cmd = [MICROPYTHON, "-m", "laddvakt_unix.meter_scan", "--device", device, "--baud", str(baud),
           "--first", str(first), "--last", str(last), "--probe-timeout-ms", str(probe_timeout_ms)]
    p = subprocess.run(cmd, env=micropython_env(FIRMWARE), capture_output=True,
                       text=True, timeout=timeout)
    if p.returncode:
        raise RuntimeError("meter scan failed:\n" + p.stdout + p.stderr)
    lines = [json.loads(ln) for ln in p.stdout.splitlines() if ln.startswith("{")]
    return lines[:-1], lines[-1]


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m host_tools.device.meter_scan", description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", required=True)
    ap.add_argument("--baud", type=int, default=9600)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--last", type=int, default=247)
    ap.add_argument("--probe-timeout-ms", type=int, default=50)
    a = ap.parse_args(argv)
    found, summary = scan(a.device, a.baud, a.first, a.last, a.probe_timeout_ms)
    for d in found:
        print(d["text"], end="")
    print("scanned %d-%d: %d meter(s), %d requests" % (summary["scanned"][0], summary["scanned"][1],
                                                        summary["found"], summary["requests"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
