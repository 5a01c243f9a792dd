# Commands and acks authenticated end to end (docs/mqtt.md, Authentication): HMAC-SHA256
# (RFC 2104, built on hashlib.sha256, which every port has) with a key derived from the device
# key, over the topic and the payload up to its MAC. The same module signs on the backend (CPython).
#
# Wire form: a JSON object whose last two members are "ctr" (an integer that only grows) and
# "mac" (64 hex digits): {...,"ctr":N,"mac":"<hex>"}. The MAC covers topic + "\n" + every byte
# before ',"mac":"', so it is checked in place, before the payload is parsed.
# Loaded only on a device with a key: the gate that asks it is inbox.Guard.
import hashlib
from binascii import hexlify
from micropython import const

LABEL = b"laddvakt/v1 command-ack mac"  # the signing key is never the record-signing key itself
_TAIL = b',"mac":"'
_TAIL_LEN = const(74)  # ,"mac":" + 64 hex + "}
_CTR = b',"ctr":'
_MAX_CTR_DIGITS = const(16)


def _hmac(ipad, opad, parts):
    h = hashlib.sha256(ipad)
    for p in parts:
        h.update(p)
    inner = h.digest()
    h = hashlib.sha256(opad)
    h.update(inner)
    return h.digest()


def _pads(key):
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key + bytes(64 - len(key))
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hmac_sha256(key, data):
    ipad, opad = _pads(key)
    return _hmac(ipad, opad, (data,))


def derive(device_key):
    """The command/ack MAC key from the device key's bytes."""
    return hmac_sha256(device_key, LABEL)


class Mac:
    def __init__(self, device_key):
        self._ipad, self._opad = _pads(derive(device_key))

    def _mac(self, topic, signed):
        return hexlify(_hmac(self._ipad, self._opad, (topic, b"\n", signed)))

    def sign(self, topic, body, ctr):
        """body: a JSON object's text (bytes) with at least one member; returns the signed payload."""
        if type(topic) is str:
            topic = topic.encode()
        signed = body[:body.rindex(b"}")].rstrip() + b',"ctr":%d' % ctr
        return signed + _TAIL + self._mac(topic, signed) + b'"}'

    def check(self, topic, payload):
        """The payload's counter if its MAC is right; a ValueError saying what is wrong otherwise."""
        n = len(payload)
        if n < _TAIL_LEN + len(_CTR) + 2 or payload[n - _TAIL_LEN:n - _TAIL_LEN + len(_TAIL)] != _TAIL \
                or payload[n - 2:] != b'"}':
            raise ValueError("not signed (no \"ctr\" and \"mac\" at the end)")
        end = n - _TAIL_LEN
        i = end
        while i > 0 and 48 <= payload[i - 1] <= 57 and end - i <= _MAX_CTR_DIGITS:
            i -= 1
        if i == end or end - i > _MAX_CTR_DIGITS or payload[i - len(_CTR):i] != _CTR:
            raise ValueError("bad \"ctr\"")
        mv = memoryview(payload)
        want = self._mac(topic, mv[:end])
        got = mv[end + len(_TAIL):n - 2]
        diff = 0
        for k in range(64):  # compare all of it: no early exit to time
            diff |= want[k] ^ got[k]
        if diff:
            raise ValueError("bad MAC")
        return int(bytes(mv[i:end]))
