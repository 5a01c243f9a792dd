# Minimal test runner for firmware tests. The same file runs under the unix port
# (one function at a time, driven by tests/fwitems.py) and on a board with `mpremote run`.
# Each test file ends with `run(globals())`; a failing test makes the exit code 1.
# A file that needs a peer on the host (a broker, a pty, a simulator) says so in a line
# "# fwtest: host-peer" near its top; `make test-board` leaves such files out.
import sys


class Skip(Exception):
    pass


def need_heap(n):
    """Skip unless n bytes of heap are free: a plain ESP32 has about 110 KB in all."""
    import gc

    gc.collect()
    if gc.mem_free() < n:
        raise Skip("needs %d bytes of heap, %d free" % (n, gc.mem_free()))


def on_esp32(what):
    """Skip unless on an ESP32: for tests of the hardware itself."""
    if sys.platform != "esp32":
        raise Skip("%s needs an ESP32 (this is %s)" % (what, sys.platform))


def raises(exc, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc as e:
        return e
    raise AssertionError("%s not raised by %s" % (exc.__name__, fn))


def rmtree(path):
    """Remove a directory and everything in it; nothing if it is not there."""
    import os

    try:
        names = os.listdir(path)
    except OSError:
        return
    for n in names:
        p = path + "/" + n
        try:
            os.remove(p)
        except OSError:
            rmtree(p)  # a directory (the journal's old/, c/)
    os.rmdir(path)


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)


_CMP = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
    "is": lambda a, b: a is b, "is not": lambda a, b: a is not b,
}


def _short(v):
    r = repr(v)
    return r if len(r) <= 300 else r[:300] + "..."


def check(a, op, b, msg=None):
    """`assert a op b, msg` that says both values when it fails (the host's test runner turns
    plain asserts into calls of this; the files themselves keep their asserts)."""
    if not _CMP[op](a, b):
        raise AssertionError("%s %s %s%s" % (_short(a), op, _short(b),
                                             "" if msg is None else " -- %s" % (msg,)))


def run(ns):
    names = sorted(k for k in ns if k.startswith("test_") and callable(ns[k]))
    # `micropython test_x.py test_name ...` runs just those (the host's runner does, one
    # item per function); with no names, the whole file (as on a board).
    pick = sys.argv[1:]
    if pick:
        for n in pick:
            if n not in names:
                print("no test named", n)
                sys.exit(1)
        names = pick
    failed = 0
    skipped = 0
    for name in names:
        try:
            ns[name]()
            print("ok", name)
        except Skip as e:
            skipped += 1
            print("SKIP", name, e)
        except Exception as e:
            failed += 1
            print("FAIL", name)
            sys.print_exception(e)
    print("%d passed, %d failed, %d skipped" % (len(names) - failed - skipped, failed, skipped))
    if failed:
        sys.exit(1)
    if not names:
        print("no tests")
        sys.exit(1)
