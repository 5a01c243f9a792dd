# Boot never dies without a console (issue 17 item 1): each class of bad file, booted through
# wiring.main, leaves the console answering help, status (reason and file), config and reboot.
# fwtest: host-peer
from boot_fuzz import CASES, boot_once, run_class
from fwtest import run


def _check(cls):
    n, bad, seen = run_class(cls)
    assert n == 0, "\n".join(bad)
    assert seen.get("console", 0) >= 1, seen  # the class holds files that boot refuses
    return seen


def test_wrong_encoding():
    _check("encoding")


def test_truncated_files():
    _check("truncated")


def test_wrong_json_type_at_each_level():
    _check("json_type")


def test_missing_keys():
    _check("missing_key")


def test_extra_keys():
    _check("extra_key")


def test_out_of_range_values():
    _check("range")


def test_wrong_currency():
    _check("currency")


def test_wrong_enums():
    _check("enum")


def test_a_good_device_boots():
    # The baseline: the same files unharmed get past the build to the network.
    assert boot_once("config.json", b'{"device_id": "cp-1"}') == "booted"
    assert len(CASES) == 8


run(globals())
