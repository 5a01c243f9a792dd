# Minimal test runner for firmware tests. The same file runs under the unix port
# (driven by tests/test_firmware.py) and on a board with `mpremote run`.
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


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)


def run(ns):
    names = sorted(k for k in ns if k.startswith("test_") and callable(ns[k]))
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
