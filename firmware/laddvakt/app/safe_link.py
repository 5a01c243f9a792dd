# Safe mode (robust, issue 17), loaded only when boot failed: the console that stays to fix the
# file, and the uplink: where the network part of the config is usable the device says why on
# its usual retained status topic (and keeps the Will there), acting on no command. docs/mqtt.md,
# Safe mode.
import asyncio
import gc
import json
import time

from micropython import const

from laddvakt import VERSION
from laddvakt.core import config
from laddvakt.core.board import BoardError
from laddvakt.core.ident import peek

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
    topic = config.root(cfg) + "status"
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


def safe_mode(hal, e, where):
    """Boot failed (robust, issue 17): say why, drive nothing (the contactor stays open, the
    connector Unavailable), and keep the console answering help, status (the reason and the
    file), config get/set/unset and reboot, so a technician can fix the file over the cable."""
    # A refused config or board names its key; anything else (a file of the wrong shape that a
    # loader did not expect) is named by its exception's type.
    reason = str(e) if isinstance(e, (config.ConfigError, BoardError)) else \
        "%s: %s" % (type(e).__name__, e)
    print("laddvakt: cannot start: %s (%s)" % (reason, where))
    gc.collect()
    console = hal.console()
    if console:
        # Safe mode lasts while the console runs (on a board, until a reboot); a simulation
        # without a console ends here, as before.
        asyncio.run(_console(hal, console, reason, where, _uplink(hal, reason, where)))
    return 2


def _uplink(hal, reason, where):
    """Safe mode's status link when the config's network keys are usable, else None; it never
    stops the console."""
    cfg = net_config(hal.data_dir + "/config.json")
    if cfg is None:
        print("laddvakt: safe mode: network config not usable, no MQTT status")
        return None
    try:
        hal.net_up(cfg)
        link, topic, payload = make(cfg, peek(hal.data_dir + "/ident.json"), reason, where,
                                    hal.dns(cfg) if hasattr(hal, "dns") else None)
    except Exception as e:  # a TLS file unusable, the network down: the console still runs
        print("laddvakt: safe mode: no MQTT status: %s: %s" % (type(e).__name__, e))
        return None
    return run(link, topic, payload, cfg["mqtt_keepalive_s"] * 1000, cfg["mqtt_timeout_ms"])


async def _console(hal, console, reason, where, up):
    from laddvakt.app.console_view import make_console

    if up:
        asyncio.create_task(up)
    await make_console(hal, None, console[0], console[1], reason, where).run()
