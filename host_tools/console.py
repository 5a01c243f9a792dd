"""Talk to the agent's serial console (firmware/laddvakt/console.py) over a serial port.

    python -m host_tools.console --port /dev/ttyUSB0            interactive, with history
    python -m host_tools.console --port /dev/ttyUSB0 -c status  one command, then exit

Each answer ends with the device's prompt, which is how we know it is complete. The history
is kept in ~/.laddvakt_console_history (readline: arrow keys, Ctrl-R).
"""
import argparse
import os
import sys
import time

import serial

PROMPT = b"lv> "
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
            if readline and not sys.stdin.isatty():
                readline.add_history(line)  # input() records only what a terminal typed
            sys.stdout.write(dev.command(line))
            sys.stdout.flush()
            if line.strip() == "reboot":
                return 0
    finally:
        if readline:
            readline.write_history_file(HISTORY)


def main(argv=None):
    ap = argparse.ArgumentParser(description="The laddvakt serial console.")
    ap.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyUSB0")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for an answer")
    ap.add_argument("-c", "--command", action="append", default=[],
                    help="run this command and exit (repeatable)")
    args = ap.parse_args(argv)
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
