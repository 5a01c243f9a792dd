"""tests/firmware/test_wrap.py on the 32-bit WebAssembly port (host_tools/toolchain/wasm32.py):
there the loop's ticks wrap at 2**30 ms and integers of 2**30 and more are heap objects, as on an
ESP32: the agent runs across the loop's wrap at 2**30 ms where small integers end, as on a board."""
import os

import pytest

from host_tools.toolchain import wasm32

HERE = os.path.dirname(os.path.abspath(__file__))


def test_the_agent_runs_across_the_boards_ticks_wrap():
    why = wasm32.why_not()
    if why:
        pytest.skip(why)
    fw = os.path.join(HERE, "..", "firmware")
    out = wasm32.run_with_firmware(
        "import time\nassert time.ticks_add(0, -1) == (1 << 30) - 1, 'not a 32-bit port'\n"
        "sys.path.append('/t')\nexec(open('/t/test_wrap.py').read())\n",
        {"/t/test_wrap.py": os.path.join(fw, "test_wrap.py"), "/t/fwtest.py": os.path.join(fw, "fwtest.py"),
         "/t/ctlrig.py": os.path.join(fw, "ctlrig.py")})
    lines = out.strip().splitlines()
    assert ", 0 failed," in lines[-1], out
    assert {ln.split()[1] for ln in lines if ln.startswith("ok ")} >= {"test_across_the_wrap"}, out
