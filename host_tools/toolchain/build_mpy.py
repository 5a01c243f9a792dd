"""Compile every firmware module (and the fetched umqtt.simple) with mpy-cross.

The output tree build/mpy/ is what a board without the agent frozen in loads:
main.py stays source (MicroPython runs it by name), everything else is .mpy. The unix port's
own package (laddvakt_unix: its HAL and the simulation) and unix_main.py are compiled beside it
for the simulation runs from .mpy; the board gets only what firmware/manifest.py names.
"""
import os
import shutil
import subprocess
import sys

from host_tools.repo import BUILD, FIRMWARE, ROOT

MPY_CROSS = os.path.join(os.path.dirname(sys.executable), "mpy-cross")


def sources():
    """(source path, path relative to the board's root) of every module to compile."""
    for pkg in ("laddvakt", "laddvakt_unix"):
        for base, _, files in os.walk(os.path.join(FIRMWARE, pkg)):
            for f in sorted(files):
                if f.endswith(".py"):
                    p = os.path.join(base, f)
                    yield p, os.path.relpath(p, FIRMWARE)
    lib = os.path.join(BUILD, "lib")
    for rel in ("umqtt/__init__.py", "umqtt/simple.py"):
        yield os.path.join(lib, rel), rel


def build(out_dir):
    # Always from scratch: a stale .mpy of a deleted module must not linger.
    shutil.rmtree(out_dir, ignore_errors=True)
    failures = []
    for src, rel in sources():
        dst = os.path.join(out_dir, rel[:-3] + ".mpy")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        # The source name a traceback shows is the dotted module name: the module's own name,
        # already interned when it loads, so it takes no name of its own in the board's RAM
        # (a path would be one more per module: docs/bench.md, heap).
        name = rel[:-3].replace("/", ".")
        name = name[: -len(".__init__")] if name.endswith(".__init__") else name
        p = subprocess.run([MPY_CROSS, "-o", dst, "-s", name, src], capture_output=True, text=True)
        if p.returncode:
            failures.append("%s: %s" % (rel, (p.stderr or p.stdout).strip()))
    for entry in ("main.py", "unix_main.py"):
        shutil.copyfile(os.path.join(FIRMWARE, entry), os.path.join(out_dir, entry))
    return failures


def module_names(out_dir):
    """Dotted names of every compiled module, for importing them all."""
    names = []
    for base, _, files in os.walk(out_dir):
        for f in files:
            if f.endswith(".mpy"):
                rel = os.path.relpath(os.path.join(base, f), out_dir)[:-4]
                name = rel.replace(os.sep, ".")
                names.append(name[: -len(".__init__")] if name.endswith(".__init__") else name)
    return sorted(names)


def main():
    out = os.path.join(BUILD, "mpy")
    failures = build(out)
    for f in failures:
        print("mpy-cross failed: " + f, file=sys.stderr)
    if not failures:
        print("compiled %d modules into %s" % (len(module_names(out)), os.path.relpath(out, ROOT)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
