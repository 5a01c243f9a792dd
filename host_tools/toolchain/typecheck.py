"""Type-check the firmware against micropython-esp32-stubs, so only APIs the
ESP32 port has are used. Run by `make check`.

The stub packages install into the venv's site-packages; mypy needs them laid
out as a typeshed (stdlib) plus a stub path (port modules), which we assemble
under build/stubs from the installed files. Errors inside the stubs themselves
are not ours and are filtered out; any error in firmware/ fails the check.
"""
import glob
import os
import shutil
import subprocess
import sys
import sysconfig

from host_tools.repo import BUILD, FIRMWARE

STUBS = os.path.join(BUILD, "stubs")


def assemble_stubs():
    sp = sysconfig.get_paths()["purelib"]
    if not os.path.exists(os.path.join(sp, "stdlib", "VERSIONS")):
        raise RuntimeError("micropython-stdlib-stubs is not installed (make setup)")
    shutil.rmtree(STUBS, ignore_errors=True)
    typeshed = os.path.join(STUBS, "typeshed")
    shutil.copytree(os.path.join(sp, "stdlib"), os.path.join(typeshed, "stdlib"))
    shutil.copytree(os.path.join(sp, "stubs"), os.path.join(typeshed, "stubs"))
    port = os.path.join(STUBS, "esp32")
    os.makedirs(port)
    for f in glob.glob(os.path.join(sp, "*.pyi")):
        shutil.copy(f, port)
    shutil.copytree(os.path.join(sp, "_mpy_shed"), os.path.join(port, "_mpy_shed"))
    return typeshed, port


def run():
    typeshed, port = assemble_stubs()
    env = dict(os.environ, MYPYPATH=os.pathsep.join([port, os.path.join(BUILD, "lib")]))
    # --config-file= reads no config: pyproject.toml's [tool.mypy] is for host_tools (CPython),
    # and mypy would find it from firmware/ by walking up to the repository's root.
    cmd = [sys.executable, "-m", "mypy", "--config-file=", "--custom-typeshed-dir", typeshed,
           "--no-site-packages", "--follow-imports=silent", "--no-error-summary", "--cache-dir",
           os.path.join(BUILD, "mypy_cache"), "-p", "laddvakt"]
    p = subprocess.run(cmd, cwd=FIRMWARE, env=env, capture_output=True, text=True)
    ours = [ln for ln in (p.stdout + p.stderr).splitlines()
            if ln.startswith("laddvakt") and ": error:" in ln]
    return ours, p


def main():
    ours, p = run()
    for ln in ours:
        print("firmware/" + ln)
    if p.returncode not in (0, 1):
        print(p.stdout + p.stderr, file=sys.stderr)
        return p.returncode
    if ours:
        print("typecheck: %d error(s) against micropython-esp32-stubs" % len(ours), file=sys.stderr)
        return 1
    print("typecheck: firmware uses only APIs in micropython-esp32-stubs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
