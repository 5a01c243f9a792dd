"""`make bench`: write build/bench.json, one flat JSON object of measured figures.

Each area of the agent owns a module `host_tools/bench/areas/<area>.py` with a `measure()` that
returns a dict of its keys; this runner imports every such module, in name order, and merges
their figures. `--only AREA` runs one area (e.g. `--only heap`).

    python -m host_tools.bench [--only AREA ...]
"""
import argparse
import importlib
import json
import os
import pkgutil
import sys
import time

from host_tools.bench import areas as areas_pkg
from host_tools.repo import BUILD


def areas():
    return sorted(m.name for m in pkgutil.iter_modules(areas_pkg.__path__))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m host_tools.bench")
    ap.add_argument("--only", action="append", choices=areas(), help="run only this area")
    args = ap.parse_args(argv)
    figures = {}
    failed = []
    for area in args.only or areas():
        mod = importlib.import_module("host_tools.bench.areas." + area)
        print("bench: %s" % area, file=sys.stderr, flush=True)
        t0 = time.monotonic()
        got = mod.measure()
        # Wall time per area, so `make bench` stays within its 10 minutes (issue 15).
        print("bench: %s took %.0f s" % (area, time.monotonic() - t0), file=sys.stderr, flush=True)
        clash = set(got) & set(figures)
        if clash:
            raise RuntimeError("bench area %s repeats keys %s" % (area, sorted(clash)))
        figures.update(got)
        check = getattr(mod, "check", None)
        if check:
            failed += ["%s: %s" % (area, why) for why in check(got)]
    os.makedirs(BUILD, exist_ok=True)
    path = os.path.join(BUILD, "bench.json")
    if args.only and os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
        old.update(figures)
        figures = old
    with open(path, "w") as f:
        json.dump(figures, f, indent=1, sort_keys=True)
        f.write("\n")
    print(json.dumps(figures, indent=1, sort_keys=True))
    for why in failed:
        print("bench: goal missed: " + why, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
