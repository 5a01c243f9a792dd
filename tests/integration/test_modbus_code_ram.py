"""The probe behind code_ram_bytes_inplace_modbus (docs/bench.md, heap): the three-session day
on the unix-modbus board, its meter served by the pymodbus simulator over a socat pty, lists the
Modbus meter's modules, and what is measured of it holds board code only."""
import shutil

import pytest

from host_tools.bench import tight_heap as t
from host_tools.toolchain import coderam

pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")


def test_the_modbus_probe_lists_the_meter_driver_and_measures_board_code_only(tmp_path):
    t.build()
    modbus = t.modbus_modules(workdir=str(tmp_path / "modbus"))  # raises unless 3 sessions are stored
    sim = t.loaded_modules(workdir=str(tmp_path / "sim"))
    staged = coderam.stage(str(tmp_path / "stage"))
    # the driver, its map lookup and planner, read off the run's sys.modules; the register
    # vocabulary (meters/registers.py) is for tests and tools: the driver keeps its numbers as const()
    for m in ("laddvakt.meters.modbus", "laddvakt.meters.modbus_meter", "laddvakt.meters.plan"):
        assert m in modbus, (m, modbus)
    assert "laddvakt.meters.registers" not in modbus, modbus
    # the run read the pty through the unix HAL's UART, which a board does not carry
    assert "laddvakt_unix.uart" in modbus
    board = t.on_board(modbus, staged)
    assert board and not [m for m in board if m.startswith("laddvakt_unix") or m == "__main__"], board
    extra = set(board) - set(t.on_board(sim, staged))
    assert {"laddvakt.meters.plan", "laddvakt.meters.modbus"} <= extra, extra
    assert not [m for m in extra if not m.startswith("laddvakt.")], extra
    # the names it leaves, and the pools that hold them: on this port pools made at run time
    # are 20, 40, 80, ... names (docs/bench.md, heap), so p pools hold 20 * (2**p - 1)
    image = coderam.build_image(str(tmp_path / "stage"), str(tmp_path / "image.romfs"))
    ram, names, pools = coderam.inplace_bytes(board, image, names=True)
    assert ram == coderam.inplace_bytes(board, image) and ram > 0
    assert 20 * (2 ** (pools - 1) - 1) < names <= 20 * (2 ** pools - 1), (names, pools)
