"""The console's front-end library, fetched from the npm registry at build time into
build/web-vendor/ (never committed): Chart.js for the report and fleet charts. `make setup`
runs this; the pages work without it (tables, no charts).

    python -m host_tools.web.vendor [--dest build/web-vendor]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

from host_tools.repo import BUILD

PACKAGE, VERSION = "chart.js", "4.6.1"
FILES = {"package/dist/chart.umd.min.js": "chart.umd.min.js", "package/LICENSE.md": "chart.js-LICENSE.md"}
DEST = os.path.join(BUILD, "web-vendor")


def present(dest=DEST):
    return all(os.path.exists(os.path.join(dest, name)) for name in FILES.values())


def fetch(dest=DEST):
    """npm pack the pinned package and unpack the files the pages load; raises RuntimeError."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed (Debian: apt-get install npm)")
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.run([npm, "pack", "%s@%s" % (PACKAGE, VERSION), "--silent", "--pack-destination", tmp],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise RuntimeError("npm pack %s@%s failed: %s" % (PACKAGE, VERSION, p.stderr.strip()))
        [tgz] = [f for f in os.listdir(tmp) if f.endswith(".tgz")]
        os.makedirs(dest, exist_ok=True)
        with tarfile.open(os.path.join(tmp, tgz)) as t:
            for member, name in FILES.items():
                src = t.extractfile(member)
                if src is None:
                    raise RuntimeError("%s is not in %s" % (member, tgz))
                with open(os.path.join(dest, name), "wb") as f:
                    f.write(src.read())
    return dest


def ensure(dest=DEST):
    if not present(dest):
        fetch(dest)
    return dest


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m host_tools.web.vendor", description=__doc__)
    ap.add_argument("--dest", default=DEST)
    args = ap.parse_args(argv)
    try:
        print("web-vendor: %s@%s in %s" % (PACKAGE, VERSION, fetch(args.dest)))
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        print("web-vendor: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
