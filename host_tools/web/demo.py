"""`make console-web`: the web console on the simulation's database (`make sim` first), with a
broker, the backend and one simulated charger that keeps charging cars at ten times real time;
prints the URL and a demo log-in, and runs until Ctrl-C.

    python -m host_tools.web.demo [--port 8080] [--tz Europe/Stockholm]
"""
import argparse
import os
import secrets
import subprocess
import sys
import time

from host_tools.repo import BUILD
from host_tools.sim import agent as sim

DEMO_USER = "demo"


def scenario():
    """The simulated day's visits, from now, at ten times real time; the first car comes
    after ten seconds instead of half an hour."""
    visits = [dict(v, arrive_s=v["arrive_s"] - 1700, leave_s=v["leave_s"] - 1700) for v in sim.SCENARIO["visits"]]
    return dict(sim.SCENARIO, start_epoch=int(time.time()), sync_after_s=0, tick_ms=1000,
                tick_real_ms=100, end_s=34300, visits=visits)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m host_tools.web.demo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--tz", default="Europe/Stockholm", help="the site's IANA time zone")
    args = ap.parse_args(argv)
    db = os.path.join(BUILD, "sim", "backend.db")
    if not os.path.exists(db):
        print("console-web: no simulation database at %s; run `make sim` first" % db, file=sys.stderr)
        return 2
    from host_tools.backend.service import Backend
    from host_tools.report.accounting import zone
    from host_tools.testing.broker import Broker
    from host_tools.web.app import Console
    from host_tools.web.rig import WebServer

    password = secrets.token_urlsafe(9)  # a fresh demo password each run, never stored in clear
    with Broker("auto") as broker:
        backend = Backend(db, "127.0.0.1", broker.port, on_receipt=lambda text: None).start()
        console = Console(backend, db, zone(args.tz))
        console.users.add(DEMO_USER, password, "admin")
        data = os.path.join(BUILD, "console-web", "device")
        agent = None
        try:
            with WebServer(console.app(), args.port):
                print("console-web: http://127.0.0.1:%d/  log in as %s / %s  (Ctrl-C stops)"
                      % (args.port, DEMO_USER, password), flush=True)
                while True:
                    if agent is None or agent.poll() is not None:
                        sim.prepare_device(data, broker.port, scenario())
                        cmd, env = sim.agent_command(data)
                        agent = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            if agent is not None and agent.poll() is None:
                agent.terminate()
                agent.wait(10)
            backend.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
