# TLS for the MQTT link: the server is verified against the configured CA and its
# host name; a client certificate is optional. Files live on flash, named in config,
# in PEM or DER. They are handed to mbedTLS as DER: MicroPython builds may leave out
# mbedTLS's PEM parser (the unix port's does), and DER is smaller anyway.
from binascii import a2b_base64


def _der(path):
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"-----"):
        return data
    # The first PEM block only: a CA file with a chain verifies against its first cert.
    body = []
    for line in data.split(b"\n"):
        line = line.strip()
        if line.startswith(b"-----END"):
            break
        if line and not line.startswith(b"-----"):
            body.append(line)
    return a2b_base64(b"".join(body))


def context(cfg):
    """An SSLContext for the link, or None when TLS is off."""
    if not cfg["mqtt_tls"]:
        return None
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # MicroPython's default for a client context does not verify: ask for it.
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=_der(cfg["mqtt_ca_file"]))
    if cfg["mqtt_cert"]:
        ctx.load_cert_chain(_der(cfg["mqtt_cert"]), _der(cfg["mqtt_key"] or cfg["mqtt_cert"]))
    return ctx
