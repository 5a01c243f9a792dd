"""`make sim`: the simulated day through a broker and the reference backend, then the priced
sessions as a table; or, with --scenario fleet-night, ten chargers through a night.

    python -m host_tools.sim [--broker auto|mosquitto|amqtt] [--scenario day|fleet-night]
"""
import argparse
import os
import sys
import time

from host_tools.repo import ROOT
from host_tools.sim.agent import run_sim


def main(argv=None):
    from host_tools.report.tables import render_table

    ap = argparse.ArgumentParser(prog="python -m host_tools.sim",
                                 description="Run the agent in simulation against a broker and the backend.")
    ap.add_argument("--broker", default="auto", choices=["auto", "mosquitto", "amqtt"])
    ap.add_argument("--scenario", default="day", choices=["day", "fleet-night"],
                    help="day: three visits through broker and backend (default); fleet-night: "
                         "ten chargers, spot prices and a demand-response event (control)")
    args = ap.parse_args(argv)
    if args.scenario == "fleet-night":
        from host_tools.sim import fleet_night

        return fleet_night.main()
    t0 = time.monotonic()
    r = run_sim(args.broker)
    if r["rc"] != 0 or r["summary"] is None:
        sys.stderr.write(r["stdout"] + r["stderr"])
        print("sim: agent failed with exit code %s" % r["rc"], file=sys.stderr)
        return 1
    print()
    print(render_table(r["sessions"]))
    print()
    s = r["summary"]
    print("agent: %d sessions, %d records journaled, %d delivered; backend db: %s; %.1f s"
          % (s["sessions"], s["journal_seq"], s["delivered_seq"], os.path.relpath(r["db"], ROOT),
             time.monotonic() - t0))
    if len(r["sessions"]) < 3 or len(r["sessions"]) != s["sessions"]:
        print("sim: expected the backend to hold all %d sessions, it has %d"
              % (s["sessions"], len(r["sessions"])), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
