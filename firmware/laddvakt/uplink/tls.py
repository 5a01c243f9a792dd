# TLS for the MQTT link: the server is verified against the configured CAs and its
# host name; a client certificate is optional. Files live on flash, named in config,
# in PEM or DER. They are handed to mbedTLS as DER: MicroPython builds may leave out
# mbedTLS's PEM parser (the unix port's does), and DER is smaller anyway.
from binascii import a2b_base64


def _der_len(data, i):
    # Length of the DER element at data[i] (tag, length octets and contents), X.690 §8.1.3.
    n = data[i + 1]
    if n < 0x80:
        return 2 + n
    k = n & 0x7F
    if k == 0 or k > 4 or i + 2 + k > len(data):
        raise ValueError("bad DER length")
    n = 0
    for j in range(k):
        n = (n << 8) | data[i + 2 + j]
    return 2 + k + n


def ders(data):
    """Every certificate or key in a PEM or DER file, as a list of DER blocks in file order.
    A CA bundle holds several; any of them may be the one that signs the server."""
    out = []
    if not data.lstrip().startswith(b"-----"):
        i = 0
        while i < len(data):
            if data[i] != 0x30 or i + 2 > len(data):
                raise ValueError("not DER at byte %d" % i)
            n = _der_len(data, i)
            if i + n > len(data):
                raise ValueError("DER truncated at byte %d" % i)
            out.append(data[i:i + n])
            i += n
        return out
    body = None
    for line in data.split(b"\n"):
        line = line.strip()
        if line.startswith(b"-----BEGIN"):
            body = []
        elif line.startswith(b"-----END"):
            if body is None:
                raise ValueError("PEM END without BEGIN")
            out.append(a2b_base64(b"".join(body)))
            body = None
        elif body is not None and line:
            body.append(line)
    if body is not None or not out:
        raise ValueError("PEM block not closed" if body is not None else "no PEM block")
    return out


def _read(path):
    with open(path, "rb") as f:
        return ders(f.read())


def context(cfg):
    """An SSLContext for the link, or None when TLS is off."""
    if not cfg["mqtt_tls"]:
        return None
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # MicroPython's default for a client context does not verify: ask for it.
    ctx.verify_mode = ssl.CERT_REQUIRED
    # mbedTLS parses one DER certificate per call and appends it to the trusted chain,
    # so each certificate of a bundle is loaded in turn.
    for der in _read(cfg["mqtt_ca_file"]):
        ctx.load_verify_locations(cadata=der)
    if cfg["mqtt_cert"]:
        ctx.load_cert_chain(_read(cfg["mqtt_cert"])[0], _read(cfg["mqtt_key"] or cfg["mqtt_cert"])[-1])
    return ctx
