# The meter scan's command line on the unix port, against a tty or pty (the host tool
# `python -m host_tools.device.meter_scan` runs it): laddvakt.meters.scan does the work.
import json
import sys

from laddvakt.meters import modbus
from laddvakt.meters.scan import describe, scan


def main(argv):
    """micropython -m laddvakt_unix.meter_scan --device PATH [--baud N] [--first A] [--last B]
    [--probe-timeout-ms T]: one JSON line per device found, then a summary line."""
    from laddvakt_unix.uart import PtyUart

    opts = {"--device": None, "--baud": "9600", "--first": "1", "--last": "247", "--probe-timeout-ms": "50"}
    i = 1
    while i < len(argv):
        if argv[i] not in opts or i + 1 >= len(argv):
            print("usage: " + main.__doc__.split(":")[0])
            return 2
        opts[argv[i]] = argv[i + 1]
        i += 2
    if not opts["--device"]:
        print("meter scan: --device is required")
        return 2
    baud = int(opts["--baud"])
    master = modbus.RtuMaster(PtyUart(opts["--device"], baud), baud, 300, 0)
    found = scan(master, int(opts["--first"]), int(opts["--last"]), int(opts["--probe-timeout-ms"]),
                 lambda d: print(json.dumps(dict(d, text=describe(d)))))
    print(json.dumps({"scanned": [int(opts["--first"]), int(opts["--last"])], "found": len(found),
                      "requests": master.requests}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
