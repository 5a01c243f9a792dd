# The device key (config `device_key`, hex) that signs session_end records, parsed in one
# place: billing signs with it and the record codec renders signatures with it.
from binascii import unhexlify

from laddvakt.core.config import ConfigError


def device_key(hex_text):
    """The key's bytes, or None when none is set (records then carry sig null). A value that
    is not hex is a config error naming the key, never printing it (config.SECRETS)."""
    if not hex_text:
        return None
    try:
        return unhexlify(hex_text)
    except ValueError:
        raise ConfigError("key 'device_key' must be an even number of hex digits")
