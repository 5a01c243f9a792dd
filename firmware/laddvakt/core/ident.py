# Device identity kept on flash: a random install id made at first boot, and a
# boot counter. Together with the journal's sequence numbers they make record and
# session ids unique for the lifetime of the install. At the end, the device key (config
# `device_key`, hex) that signs session_end records, parsed in one place: billing signs with
# it and the record codec renders signatures with it.
# First, atomic file replacement, the one copy (the identity, the tariff and prices, the config
# and the S0 counter use it): write a temporary file beside the target, then rename it over the
# target. littlefs and POSIX renames are atomic, so a power cut leaves the old file or the new
# one, never a torn one.
import json
import os
from binascii import hexlify, unhexlify
from laddvakt.core.config import ConfigError
from micropython import const

_INSTALL_BYTES = const(6)  # 12 hex characters


def write_atomic(path, data):
    """Replace path's contents with data (str or bytes)."""
    tmp = path + ".tmp"
    with open(tmp, "wb" if isinstance(data, (bytes, bytearray)) else "w") as f:
        f.write(data)
    os.rename(tmp, path)


class Identity:
    def __init__(self, install, boot):
        self.install = install
        self.boot = boot


def _valid_install(v):
    # Session ids embed it, and must stay within 36 characters.
    if not isinstance(v, str) or len(v) != 2 * _INSTALL_BYTES:
        return False
    for c in v:
        if c not in "0123456789abcdef":
            return False
    return True


def peek(path):
    """The identity at path as it is (no boot counted, nothing written: safe mode), or None
    when the file is missing or not a valid one."""
    try:
        with open(path) as f:
            d = json.loads(f.read())
        if _valid_install(d["install"]):
            return Identity(d["install"], int(d["boot"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def load_and_count_boot(path, urandom):
    """Read (or create) the identity at path and persist boot + 1."""
    install = None
    boot = 0
    try:
        with open(path) as f:
            d = json.loads(f.read())
        install = d["install"]
        boot = int(d["boot"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if not _valid_install(install):
        install = hexlify(urandom(_INSTALL_BYTES)).decode()
    ident = Identity(install, boot + 1)
    write_atomic(path, json.dumps({"install": ident.install, "boot": ident.boot}))
    return ident


def device_key(text):
    """The key's bytes, or None when none is set (records then carry sig null). A value that
    is not hex is a config error naming the key, never printing it (config.SECRETS)."""
    if not text:
        return None
    try:
        return unhexlify(text)
    except ValueError:
        raise ConfigError("key 'device_key' must be an even number of hex digits")
