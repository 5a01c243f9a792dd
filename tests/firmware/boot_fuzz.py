# Boot fuzz (issue 17 item 1): every class of bad file a technician or a flash fault can leave in
# the data or boards directory, each booted through the real wiring.main on the unix HAL; after
# each the console must answer help, status (with the reason and the file), config get, and
# reboot. tests/firmware/test_boot_fuzz.py checks each class; `make bench` (area robust) counts.
# Runs in the test's own working directory (tests/fwitems.py gives each a fresh one).
import json
import os

from fwtest import rmtree
from laddvakt.app import wiring
from laddvakt_unix.hal import UnixHal

BOARD = {"name": "unix-sim", "mcu": "unix", "psram": False, "description": "boot fuzz",
         "pins": {k: None for k in ("cp_adc", "cp_pwm", "contactor", "contactor_fb", "rcd",
                                    "rs485_tx", "rs485_rx", "rs485_de", "s0", "led", "button")},
         "meter": {"type": "sim"}, "pilot": {"type": "sim"}}
SCENARIO = {"start_epoch": 1795154400, "visits": [], "end_s": 60}
TARIFF = {"id": "t", "version": 1, "currency": "SEK", "price": 250}
_IN = "bootfuzz-console.in"


def _j(v):
    return json.dumps(v).encode()


def _cut(v):
    t = _j(v)
    return t[:len(t) // 2]  # a file the power cut left half written


def _board(**kw):
    b = dict(BOARD)
    b.update(kw)
    return b


def _without(d, k):
    d = dict(d)
    del d[k]
    return d


# class -> [(file, bytes)]; file relative to the device: "config.json", "boards/unix-sim.json", ...
CASES = {
    "encoding": [("config.json", b'{"device_id": "\xff\xfe"}'), ("config.json", bytes(range(256))),
                 ("boards/unix-sim.json", b"\xc3\x28{}"), ("tariff.json", b"\xff" * 40),
                 ("prices.json", b"\x00\x01\x02"), ("ident.json", b"\xfe\xff")],
    "truncated": [("config.json", _cut({"device_id": "cp-1", "mqtt_port": 1883})),
                  ("boards/unix-sim.json", _cut(BOARD)), ("tariff.json", _cut(TARIFF)),
                  ("ident.json", b'{"install": "0123'), ("config.json", b"")],
    "json_type": [("config.json", _j(v)) for v in ([], "x", 1, None, True)]
    + [("boards/unix-sim.json", _j(v)) for v in (7, "unix-sim", [], None)]
    + [("boards/unix-sim.json", _j(_board(meter="sim"))), ("boards/unix-sim.json", _j(_board(pins=[1]))),
       ("boards/unix-sim.json", _j(_board(pilot=None))), ("boards/unix-sim.json", _j(_board(meter={"type": 3})))]
    + [("config.json", _j({k: v})) for k, v in (("mqtt_port", "1883"), ("device_id", 7), ("ha_discovery", "true"),
                                                 ("max_current_a", 16.5), ("mqtt_host", None), ("phases", True),
                                                 ("auth_list", ["a"]), ("wifi_ssid", {"a": 1}))]
    + [("tariff.json", _j(v)) for v in ([], 3, {"id": 1})] + [("prices.json", _j(v)) for v in ([], "p", {"x": []})]
    + [("ident.json", _j(v)) for v in ([], {"install": 5, "boot": "x"})],
    "missing_key": [("boards/unix-sim.json", _j(_without(BOARD, k))) for k in BOARD]
    + [("boards/unix-sim.json", _j(_board(meter={}))), ("boards/unix-sim.json", _j(_board(pins={})))]
    + [("tariff.json", _j(_without(TARIFF, "currency")))],
    "extra_key": [("config.json", _j({"mqtt_hots": "x"})), ("config.json", _j({"": 1})),
                  ("boards/unix-sim.json", _j(_board(extra=1))), ("tariff.json", _j(dict(TARIFF, extra=1)))],
    "range": [("config.json", _j({k: v})) for k, v in (("mqtt_port", 0), ("mqtt_port", 70000), ("batch_max_bytes", 1),
                                                        ("device_id", ""), ("device_id", "x" * 65), ("phases", 4),
                                                        ("temp_stop_c", 10), ("watchdog_s", 1))]
    + [("boards/unix-sim.json", _j(_board(pins=dict(BOARD["pins"], led=99))))]
    + [("tariff.json", _j(dict(TARIFF, price=-1)))],
    "currency": [("config.json", _j({"currency": v})) for v in ("sek", "123", "S€K", "SE")]
    + [("tariff.json", _j(dict(TARIFF, currency="sek")))],
    "enum": [("config.json", _j({k: v})) for k, v in (("auth_mode", "abcd"), ("uplink_ack", "abcdef"),
                                                       ("on_journal_full", "xxxxxxx"), ("board", "no-such-board"),
                                                       ("device_id", "a+b"), ("topic_prefix", "laddvakt/#"),
                                                       ("mqtt_tls", 1))]
    + [("boards/unix-sim.json", _j(_board(meter={"type": "nope"}))),
       ("boards/unix-sim.json", _j(_board(pilot={"type": "nope"}))),
       ("boards/unix-sim.json", _j(_board(name="other")))],
}


class _Booted(Exception):
    pass


class FuzzHal(UnixHal):
    """The unix HAL whose console reads a file of typed lines; a boot that gets as far as the
    network stops there (the agent was built: its own console would run)."""

    def __init__(self, data_dir, boards_dir):
        UnixHal.__init__(self, data_dir, boards_dir)
        self.out = []

    def console(self):
        return open(_IN, "rb"), self.out.append

    def net_up(self, cfg):
        raise _Booted()


def _prepare(root, name, data):
    rmtree(root)
    os.mkdir(root)
    os.mkdir(root + "/dev")
    os.mkdir(root + "/boards")
    files = {"dev/config.json": _j({"device_id": "cp-1"}), "dev/scenario.json": _j(SCENARIO),
             "boards/unix-sim.json": _j(BOARD)}
    files[name if name.startswith("boards/") else "dev/" + name] = data
    for rel, body in files.items():
        with open(root + "/" + rel, "wb") as f:
            f.write(body)


def boot_once(name, data, root="bootfuzz"):
    """'console' (refused; the console answered), 'booted' (accepted: the agent was built), or
    'none: why' (boot died, or the console did not answer as it must)."""
    _prepare(root, name, data)
    with open(_IN, "wb") as f:
        f.write(b"help\rstatus\rconfig get device_id\rhelp reboot\rreboot\r")
    hal = FuzzHal(root + "/dev", root + "/boards")
    try:
        wiring.main(hal)
        return "none: main returned without a console"
    except _Booted:
        return "booted"
    except SystemExit as e:
        if e.args[0] != UnixHal.REBOOT_EXIT:
            return "none: exit %r" % (e.args[0],)
    except Exception as e:
        return "none: %s: %s" % (type(e).__name__, e)
    text = "".join(hal.out)
    for want in ("  status ", "agent ", " not running: ", "\nfile ", "device_id = ", "usage: reboot"):
        if want not in text:
            return "none: the console did not answer %r:\n%s" % (want, text)
    return "console"


def run_class(cls):
    """(files that ended with no console, [their reasons], outcomes count)."""
    bad = []
    seen = {}
    for name, data in CASES[cls]:
        r = boot_once(name, data)
        seen[r[:7]] = seen.get(r[:7], 0) + 1
        if r.startswith("none"):
            bad.append("%s %r: %s" % (name, data[:40], r))
    return len(bad), bad, seen
