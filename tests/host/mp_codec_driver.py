# Runs under micropython (never CPython): one case per line on stdin, {"rtype", "seq",
# "install", "key" (hex or null), "sign" (make ocmf and sig as pricing does), "rec"}; answers
# with the record it encoded, the payload (hex) and the rendered JSON text. Driven by
# test_codec_property.py.
import json
import sys
from binascii import hexlify, unhexlify

from laddvakt.billing import sign
from laddvakt.journal.codec import Codec

while True:
    line = sys.stdin.readline()
    if not line:
        break
    c = json.loads(line)
    key = unhexlify(c["key"]) if c["key"] else None
    serial = c["serial"]
    codec = Codec(c["install"], key, c["dev"], "0.1.0", lambda s=serial: s)
    d = c["rec"]
    seq = c["seq"]
    try:
        if c["sign"]:
            d["ocmf"] = codec.ocmf(d, seq)
            d["sig"] = sign.sign(key, d["ocmf"]) if key else None
    except Exception:  # a record too odd to sign: goes through as generated
        pass
    p = codec.encode(c["rtype"], d, seq)
    out = {"rec": d, "payload": hexlify(p).decode(), "json": codec.render(c["rtype"], p, seq).decode()}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
