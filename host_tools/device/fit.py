"""Does the agent fit a board? `make deploy` asks before it copies anything (docs/boards.md).

The need is measured now, on the deploy set itself (host_tools/toolchain/coderam.py): the RAM
its code takes as the board carries it (`files`: imported from .mpy files; `frozen`: run in
place, measured from a ROMFS image), on the 32-bit WebAssembly port where node can run it (an
ESP32's object sizes), else on the 64-bit unix port (larger: the check errs on the safe side),
plus the runtime budget that tests/integration/test_tight_heap.py holds the agent to. It is
compared with the board file's `heap_bytes`, the GC heap a stock image leaves with Wi-Fi up.
"""
from host_tools.bench.tight_heap import RUNTIME_BUDGET
from host_tools.toolchain import coderam, wasm32


class FitError(Exception):
    pass


def need(carry):
    """(code bytes, how measured, runtime bytes) for the whole deploy set in mode carry."""
    names = coderam.stage()
    if carry == "frozen":
        coderam.build_image()
    why = wasm32.why_not()
    if why is None:
        code = (coderam.inplace_bytes32 if carry == "frozen" else coderam.files_bytes32)(names)
        how = "32-bit, %d modules" % len(names)
    else:
        code = (coderam.inplace_bytes if carry == "frozen" else coderam.files_bytes)(names)
        how = "64-bit, %d modules; no 32-bit port here: %s" % (len(names), why)
    return code, how, RUNTIME_BUDGET


def check(board, frozen=False, measure=need):
    """Lines describing the fit; raises FitError (with those lines' facts) if it does not fit.
    frozen: the image has the agent frozen in, whatever the board file says."""
    for key in ("carry", "heap_bytes", "image"):
        if key not in board:
            raise FitError("board %s lacks '%s' (docs/boards.md): cannot tell whether the agent "
                           "fits" % (board["name"], key))
    carry = "frozen" if frozen else board["carry"]
    heap = board["heap_bytes"]
    code, how, runtime = measure(carry)
    total = code + runtime
    where = "code %s (%s) + runtime %d B (the tight-heap budget)" % (
        "in place %d B" % code if carry == "frozen" else "from .mpy files %d B" % code, how,
        runtime)
    lines = ["board %s: %s, %s PSRAM; image %s; code carried as %s" % (
        board["name"], board.get("module", board["mcu"]), "with" if board["psram"] else "no",
        board["image"], carry)]
    if heap is None:
        return lines + ["fit: %s = %d B; a host, no heap limit" % (where, total)]
    if total > heap:
        hint = (" Use a PSRAM board (esp32-wrover, esp32-s3-devkitc: make deploy BOARD=...)."
                if not board["psram"] else "")
        raise FitError("the agent does not fit %s: it needs %d B of RAM (%s) but the board's "
                       "heap is %d B.%s" % (board["name"], total, where, heap, hint))
    return lines + ["fit: %s = %d B of %d B heap: fits, %d B to spare" % (where, total, heap, heap - total)]
