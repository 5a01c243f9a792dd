"""Serial line settings per board (issue 18 item 2): the firmware's unix UART sets parity and
stop bits on its pty with termios, and the simulated meter answers only when its own line
settings are the same (a real meter drops frames with parity or framing errors).

A Linux pty keeps the stop bits but clears PARENB whatever is asked (drivers/tty/pty.c,
pty_set_termios), so over a pty only the stop bits can be checked end to end; parity reaches
termios on a real tty (a USB RS485 adapter) and machine.UART on a board. That parity is
asked for is tested in tests/firmware/test_board.py (serial_line)."""
import pytest

from host_tools.testing.meter_sim import Load, MeterModel, MeterSim, PtyPair
from tests.integration.meter_harness import FirmwareMeter

LINES = ("8N1", "8N2")  # what a pty carries


def poll(tmp_path, fw_line, meter_line):
    model = MeterModel("sdm630", 1, load=Load(1000), clock=lambda: 0.0)
    with PtyPair(str(tmp_path)) as pair, \
            MeterSim(pair.sim_path, [model], line=meter_line, peer=pair.agent_path) as sim:
        fw = FirmwareMeter(pair.agent_path, "sdm630", 1, timeout_ms=60, line=fw_line)
        try:
            r = fw.cmd("poll")
            seen = sim.peer_line()
        finally:
            fw.close()
    return r, seen


@pytest.mark.parametrize("line", LINES)
def test_the_same_line_settings_on_both_ends_poll(tmp_path, line):
    r, seen = poll(tmp_path, line, line)
    assert seen == line and r["ok"], r


@pytest.mark.parametrize("fw_line,meter_line", [("8N1", "8N2"), ("8N2", "8N1")])
def test_a_mismatch_fails(tmp_path, fw_line, meter_line):
    r, seen = poll(tmp_path, fw_line, meter_line)
    assert seen == fw_line and not r["ok"] and r["kind"] == 1, r  # 1: timeout
