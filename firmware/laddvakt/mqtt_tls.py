# TLS for the MQTT link: the server is verified against the configured CA and its
# host name; a client certificate is optional. Files live on flash, named in config.


def context(cfg):
    """An SSLContext for the link, or None when TLS is off."""
    if not cfg["mqtt_tls"]:
        return None
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # MicroPython's default for a client context does not verify: ask for it.
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cafile=cfg["mqtt_ca"])
    if cfg["mqtt_cert"]:
        ctx.load_cert_chain(cfg["mqtt_cert"], cfg["mqtt_key"] or None)
    return ctx
