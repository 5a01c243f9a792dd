"""The 32-bit measurement (host_tools/bench/wasm32.py): the board set's .mpy files imported on
MicroPython's WebAssembly port take less heap than on the 64-bit unix port, and the port is
really 32-bit. Skipped where node/npm or the package are not available."""
import pytest

from host_tools.bench import board_ram, wasm32


def test_32bit_files_figure_is_measured_and_smaller():
    why = wasm32.available()
    if why:
        pytest.skip(why)
    prep = board_ram.prepare()
    names = ["laddvakt.journal.codec", "laddvakt.session.tracker"]
    files = prep["files"]
    b32 = wasm32.code_ram_files(files, names)
    b64 = board_ram.code_ram(prep, "files", names)
    assert 0 < b32 < b64
    # Importing more costs more on the 32-bit port too: the figure sees what is imported.
    assert wasm32.code_ram_files(files, names[:1]) < b32
