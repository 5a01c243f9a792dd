"""Serial line settings per board (issue 18 item 2): the firmware's unix UART sets parity and
stop bits on its pty with termios, and the simulated meter answers only when its own line
settings are the same (a real meter drops frames with parity or framing errors).

A Linux pty keeps the stop bits and PARODD but clears PARENB whatever is asked
(drivers/tty/pty.c, pty_set_termios), so over a pty the stop bits are checked end to end and
odd parity by its PARODD bit; PARENB itself is tested as the flags the HAL computes
(tests/firmware/test_board.py) and takes effect on a real tty (a USB RS485 adapter) and in
machine.UART on a board. docs/meters.md, Serial line settings, says what is proven."""
import os
import termios

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


@pytest.mark.parametrize("line", ("8N1", "8E1", "8O1", "8N2"))
def test_the_unix_hal_sets_the_lines_termios_flags_on_the_pty(tmp_path, line):
    # The firmware opens its end of the pty pair for the board line; this test opens the same
    # pty and reads the termios flags the kernel kept.
    with PtyPair(str(tmp_path)) as pair:
        fw = FirmwareMeter(pair.agent_path, "sdm630", 1, timeout_ms=60, line=line)
        try:
            assert fw.cmd("poll")["kind"] == 1  # the HAL is up (no meter: a timeout)
            fd = os.open(pair.agent_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
            try:
                c = termios.tcgetattr(fd)[2]
            finally:
                os.close(fd)
        finally:
            fw.close()
    assert c & termios.CSIZE == termios.CS8, oct(c)
    assert bool(c & termios.CSTOPB) == (line == "8N2"), oct(c)
    assert bool(c & termios.PARODD) == (line == "8O1"), oct(c)
    # The pty driver drops PARENB: if a kernel ever keeps it, check it here and say so in the docs.
    assert not c & termios.PARENB, oct(c)
