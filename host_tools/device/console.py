"""Talk to the agent's serial console (firmware/laddvakt/console.py) over a serial port.

    python -m host_tools.device.console --port /dev/ttyUSB0            interactive, with history
    python -m host_tools.device.console --port /dev/ttyUSB0 -c status  one command, then exit
    python -m host_tools.device.console --sim      the unix agent in simulation, on a pty (socat)

Each answer ends with the device's prompt, which is how we know it is complete. The history
is kept in ~/.laddvakt_console_history (readline: arrow keys, Ctrl-R).
"""
import argparse
import os
import sys
import time

import serial

PROMPT = b"lv> "

# For --sim: a minute of virtual time per 10 ms tick, so sessions come and go while you type;
# the third EV stays for weeks, so the agent runs until you leave.
SIM_SCENARIO = {
    "start_epoch": 1795154400,
    "sync_after_s": 60,
    "tick_ms": 60000,
    "tick_real_ms": 10,
    "end_s": 3000000,
    "meter_start_wh": 1000000,
    "visits": [
        {"arrive_s": 600, "leave_s": 3000, "need_wh": 5000, "max_w": 7360},
        {"arrive_s": 3600, "leave_s": 5400, "need_wh": 3000, "max_w": 3680, "id_tag": "04A2B3C4"},
        {"arrive_s": 7200, "leave_s": 2900000, "need_wh": 900000, "max_w": 11000},
    ],
}
HISTORY = os.path.expanduser("~/.laddvakt_console_history")


class ConsoleError(Exception):
    pass


class DeviceConsole:
    def __init__(self, port, baudrate=115200, timeout_s=5.0):
        self.timeout_s = timeout_s
        ser = serial.Serial()
        ser.port = port
        ser.baudrate = baudrate
        ser.timeout = 0.05
        # DTR/RTS reset an ESP32 DevKit through its auto-download circuit: keep them released.
        ser.dtr = False
        ser.rts = False
        try:
            ser.open()
        except serial.SerialException as e:
            raise ConsoleError("cannot open %s: %s" % (port, e)) from e
        self.ser = ser

    def close(self):
        self.ser.close()

    def _read_to_prompt(self):
        buf = bytearray()
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            buf += self.ser.read(256)
            if buf.endswith(PROMPT):
                return bytes(buf[: -len(PROMPT)])
        raise ConsoleError("no prompt from the device within %.0f s (is the agent running, and on "
                           "this port?); got %r" % (self.timeout_s, bytes(buf[-200:])))

    def sync(self):
        """Get a fresh prompt and drop anything the device said before we came."""
        self.ser.reset_input_buffer()
        self.ser.write(b"\r")
        self._read_to_prompt()
        time.sleep(0.1)
        if self.ser.in_waiting:
            # The banner's prompt was still queued: one more prompt may follow.
            self.ser.reset_input_buffer()
            self.ser.write(b"\r")
            self._read_to_prompt()

    def command(self, line):
        """Send one command line, return the device's answer as text (without the prompt)."""
        if "\r" in line or "\n" in line:
            raise ConsoleError("one command per line")
        self.ser.write(line.encode("ascii", "replace") + b"\r")
        return self._read_to_prompt().decode("utf-8", "replace").replace("\r\n", "\n")


def _sets_secret(line):
    from host_tools.toolchain import firmware

    w = line.split()
    return len(w) >= 3 and w[0] == "config" and w[1] == "set" and w[2] in firmware.module("core.config").SECRETS


def _interactive(dev):
    try:
        import readline
    except ImportError:
        readline = None
    if readline:
        try:
            readline.read_history_file(HISTORY)
        except OSError:
            pass
        readline.set_history_length(1000)
    print("connected; 'help' lists the commands, Ctrl-D leaves")
    try:
        while True:
            try:
                line = input(PROMPT.decode())
            except EOFError:
                print()
                return 0
            if not line.strip():
                continue
            if readline:
                if not sys.stdin.isatty():
                    readline.add_history(line)  # input() records only what a terminal typed
                if _sets_secret(line):
                    # The history file is plain text on the laptop: a password stays out of it.
                    readline.remove_history_item(readline.get_current_history_length() - 1)
            sys.stdout.write(dev.command(line))
            sys.stdout.flush()
            if line.strip() == "reboot":
                return 0
    finally:
        if readline:
            try:
                readline.write_history_file(HISTORY)
            except OSError as e:
                print("console: history not saved to %s: %s" % (HISTORY, e.strerror), file=sys.stderr)


def _sim(args):
    """A broker, the unix agent with its console on one end of a socat pty pair, and us on
    the other end."""
    import shutil
    import subprocess
    import tempfile

    from host_tools.sim.agent import agent_command, prepare_device
    from host_tools.testing.broker import Broker

    if shutil.which("socat") is None:
        print("console: --sim needs socat (apt-get install socat)", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="laddvakt-console-")
    dev_tty, host_tty = os.path.join(work, "dev-tty"), os.path.join(work, "host-tty")
    socat = subprocess.Popen(["socat", "pty,raw,echo=0,link=" + dev_tty, "pty,raw,echo=0,link=" + host_tty],
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not (os.path.exists(dev_tty) and os.path.exists(host_tty)) and time.monotonic() < deadline:
            time.sleep(0.02)
        with Broker("auto") as broker:
            data = os.path.join(work, "device")
            prepare_device(data, broker.port, SIM_SCENARIO)
            cmd, env = agent_command(data)
            agent = subprocess.Popen(cmd + ["--console", dev_tty], env=env, stdout=subprocess.DEVNULL)
            try:
                args.port = host_tty
                return _connect(args)
            finally:
                if agent.poll() is None:
                    agent.terminate()
                agent.wait(5)
    finally:
        socat.terminate()
        socat.wait(5)
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description="The laddvakt serial console.")
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", help="serial port, e.g. /dev/ttyUSB0")
    where.add_argument("--sim", action="store_true", help="start the unix agent in simulation and connect to it")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for an answer")
    ap.add_argument("-c", "--command", action="append", default=[],
                    help="run this command and exit (repeatable)")
    args = ap.parse_args(argv)
    return _sim(args) if args.sim else _connect(args)


def _connect(args):
    try:
        dev = DeviceConsole(args.port, args.baud, args.timeout)
        try:
            dev.sync()
            if not args.command:
                return _interactive(dev)
            rc = 0
            for c in args.command:
                out = dev.command(c)
                sys.stdout.write(out)
                if out.startswith("error:"):
                    rc = 1
            return rc
        finally:
            dev.close()
    except ConsoleError as e:
        print("console: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
