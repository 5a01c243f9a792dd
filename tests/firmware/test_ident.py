# Device identity on flash: a random install id at first boot, a boot counter after.
import json
import os

from fwtest import run, write_file
from ramblock import mount_fresh, umount
from laddvakt.core.ident import load_and_count_boot

HEX = "0123456789abcdef"


def _is_install_id(s):
    return type(s) is str and len(s) == 12 and all(c in HEX for c in s)


def _stored(path):
    with open(path) as f:
        return json.loads(f.read())


def _fixed(byte):
    calls = []

    def urandom(n):
        calls.append(n)
        return bytes([byte] * n)

    return urandom, calls


def test_first_boot_then_count():
    mount_fresh(16, "/id1")
    try:
        p = "/id1/ident.json"
        a = load_and_count_boot(p, os.urandom)
        assert _is_install_id(a.install), a.install
        assert a.boot == 1
        assert _stored(p) == {"install": a.install, "boot": 1}
        b = load_and_count_boot(p, os.urandom)
        assert b.install == a.install and b.boot == 2
        c = load_and_count_boot(p, os.urandom)
        assert c.install == a.install and c.boot == 3
        assert _stored(p) == {"install": a.install, "boot": 3}
        assert sorted(os.listdir("/id1")) == ["ident.json"]  # no temp file left behind
    finally:
        umount("/id1")


def test_install_id_from_urandom():
    mount_fresh(16, "/id2")
    try:
        urandom, calls = _fixed(0xAB)
        a = load_and_count_boot("/id2/ident.json", urandom)
        assert a.install == "abababababab" and calls == [6]
        b = load_and_count_boot("/id2/ident.json", urandom)
        assert b.install == "abababababab" and calls == [6]  # not drawn again
    finally:
        umount("/id2")


def test_two_installs_differ():
    mount_fresh(16, "/id3")
    try:
        a = load_and_count_boot("/id3/a.json", os.urandom)
        b = load_and_count_boot("/id3/b.json", os.urandom)
        assert a.install != b.install
    finally:
        umount("/id3")


def test_corrupt_file_gets_fresh_id():
    mount_fresh(16, "/id4")
    try:
        p = "/id4/ident.json"
        for i, junk in enumerate(("", "{", "\x00\xff garbage", "[1, 2]", '"abc"', "{}", '{"boot": 4}')):
            write_file(p, junk)
            urandom, _ = _fixed(i + 1)
            ident = load_and_count_boot(p, urandom)
            assert ident.install == ("%02x" % (i + 1)) * 6, (junk, ident.install)
            assert ident.boot >= 1
            assert _stored(p)["install"] == ident.install
            again = load_and_count_boot(p, os.urandom)  # and it is kept from now on
            assert again.install == ident.install and again.boot == ident.boot + 1
    finally:
        umount("/id4")


def test_bad_boot_counter_keeps_install():
    mount_fresh(16, "/id5")
    try:
        p = "/id5/ident.json"
        write_file(p, '{"install": "0123456789ab", "boot": "many"}')
        ident = load_and_count_boot(p, os.urandom)
        assert ident.install == "0123456789ab" and ident.boot == 1
    finally:
        umount("/id5")


run(globals())
