# Safe mode's uplink (robust, issue 17): boot failed, but where the network part of the config
# is usable the device says why on its usual retained status topic (and keeps the Will there),
# acting on no command. docs/mqtt.md, Safe mode.
import asyncio
import json
import time

from micropython import const

from laddvakt import VERSION
from laddvakt.core import config

# All the link reads from the config: a bad tariff, board or billing key cannot stop it.
NET_KEYS = ("device_id", "topic_prefix", "mqtt_host", "mqtt_port", "mqtt_user", "mqtt_password",
            "mqtt_keepalive_s", "mqtt_timeout_ms", "mqtt_tls", "mqtt_ca_file", "mqtt_cert",
            "mqtt_key", "mqtt_tls_host", "wifi_ssid", "wifi_password", "dns_server")
_BACKOFF_MAX_MS = const(60000)
_POLL_MS = const(200)


def net_config(path):
    """The config file's network keys over the defaults, checked as boot checks them; None when
    the file is not a JSON object or one of those keys is refused."""
    try:
        with open(path, "rb") as f:
            raw = json.loads(f.read().decode())
    except OSError:
        raw = {}  # no file: the defaults, as boot takes them
    except ValueError:  # not UTF-8 or not JSON
        return None
    if not isinstance(raw, dict):
        return None
    part = {k: raw[k] for k in NET_KEYS if k in raw}
    try:
        config.validate(part)
    except config.ConfigError:
        return None
    cfg = config.defaults()
    cfg.update(part)
    if cfg["mqtt_tls"] and not cfg["mqtt_ca_file"]:
        return None
    return cfg


def key_of(reason):
    """The config or board key a refusal names ("key 'x' ...", "... lacks 'x'"), or None."""
    for w in ("key '", "lacks '"):
        i = reason.find(w)
        if i >= 0:
            i += len(w)
            j = reason.find("'", i)
            return reason[i:j] if j > i else None
    return None


def status(cfg, ident, reason, where):
    """(online status, Will) payloads; ident None when ident.json could not be read: install
    is then null (a new one is made only by a boot that gets that far)."""
    for k in config.SECRETS:
        v = cfg.get(k)
        if v and v in reason:
            reason = reason.replace(v, "***")  # a message quoting a value never carries a secret
    inst = ident.install if ident else None
    st = {"v": 1, "state": "safe_mode", "install": inst, "fw": VERSION, "reason": reason,
          "file": where, "key": key_of(reason)}
    if ident:
        st["boot"] = ident.boot
    return json.dumps(st), json.dumps({"v": 1, "state": "offline", "install": inst})


def make(cfg, ident, reason, where, dns=None):
    """(link, status topic, status payload) for safe mode; raises OSError/ValueError when a TLS
    file is unusable. dns: the HAL's resolver (uplink/dns.py), so the broker's name is looked
    up without blocking the console."""
    from laddvakt.uplink.mqtt import MQTTLink

    tls = None
    if cfg["mqtt_tls"]:
        from laddvakt.uplink.tls import context

        tls = context(cfg)
    # The install id names the client as in normal running; without one, the device id does.
    cid = "laddvakt-" + (ident.install if ident else "safe-" + cfg["device_id"])
    # Only CONNACK, PUBACK and PINGRESP come in: it subscribes to nothing.
    link = MQTTLink(cid, cfg["mqtt_host"], cfg["mqtt_port"], cfg["mqtt_timeout_ms"], 1024, 128,
                    tls=tls, tls_host=cfg["mqtt_tls_host"] or None, user=cfg["mqtt_user"] or None,
                    password=cfg["mqtt_password"] or None, keepalive=cfg["mqtt_keepalive_s"], dns=dns)
    topic = "%s/%s/status" % (cfg["topic_prefix"], cfg["device_id"])
    online, will = status(cfg, ident, reason, where)
    link.set_last_will(topic, will, retain=True, qos=1)
    return link, topic, online


async def run(link, topic, payload, keepalive_ms, timeout_ms):
    """Connect, publish the status (retained), keep the link alive; reconnect with backoff."""
    from laddvakt.uplink.acks import Keepalive

    ka = Keepalive(keepalive_ms, timeout_ms)
    backoff = 1000
    last = None
    while True:
        try:
            await link.open(clean_session=True)
            link.publish(topic, payload, retain=True, qos=1)
            backoff = 1000
            ka.reset()
            while True:
                link.poll()
                if ka.ping_due(time.ticks_ms(), link.last_rx_ms, False):
                    link.ping()
                await asyncio.sleep_ms(_POLL_MS)
        except Exception as e:  # the network, a refused CONNECT: retry
            msg = str(e)
            if msg != last:
                print("uplink: %s" % msg)
            last = msg
            link.close()
            await asyncio.sleep_ms(backoff)
            backoff = min(backoff * 2, _BACKOFF_MAX_MS)
