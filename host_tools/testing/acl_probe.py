"""Cross-device probe of the generated broker ACL against a real mosquitto (docs/backend.md,
Broker security). Device A tries to write, read and command on device B's topics, to overwrite
B's discovery config and to send acks; what the broker lets through is counted by what B, the
backend and Home Assistant actually receive (mosquitto drops a denied publish silently and, under
MQTT 3.1.1, still PUBACKs it). Allowed traffic is sent beside it as the control: if that does
not arrive either, the probe says so instead of reporting 0.
"""
import os
import secrets
import threading
import time
import uuid

import paho.mqtt.client as mqtt

from host_tools.device import broker_auth as ba
from host_tools.testing.broker import Broker

P = ba.PREFIX
H = ba.HA_PREFIX


class _Client:
    def __init__(self, port, user, password, subs=()):
        self.got = []  # (topic, payload, retained)
        self.granted = []
        self.cond = threading.Condition()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="probe-%s-%s" % (user, uuid.uuid4().hex[:6]),
                        protocol=mqtt.MQTTv311)
        c.username_pw_set(user, password)
        c.on_message = self._msg
        c.on_subscribe = self._sub
        self.c = c
        self.rc = None
        c.on_connect = lambda cl, ud, fl, rc, pr: setattr(self, "rc", rc)
        c.connect("127.0.0.1", port, keepalive=30)
        c.loop_start()
        deadline = time.monotonic() + 10
        while self.rc is None and time.monotonic() < deadline:
            time.sleep(0.01)
        for t in subs:
            self.subscribe(t)

    def _msg(self, cl, ud, m):
        with self.cond:
            self.got.append((m.topic, bytes(m.payload), m.retain))
            self.cond.notify_all()

    def _sub(self, cl, ud, mid, rcs, pr):
        with self.cond:
            self.granted.append([r.value for r in rcs])
            self.cond.notify_all()

    def subscribe(self, topic):
        n = len(self.granted)
        self.c.subscribe(topic, 1)
        with self.cond:
            self.cond.wait_for(lambda: len(self.granted) > n, 10)

    def publish(self, topic, payload, retain=False):
        self.c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def has(self, marker):
        with self.cond:
            return [g for g in self.got if marker in g[1]]

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def _connect_rc(port, user, password):
    c = _Client(port, user, password)
    rc = c.rc
    c.close()
    return rc


def probe(port, pw):
    """Counts from one run against the broker on `port`. pw: {user: password} for
    laddvakt-backend, homeassistant, cp-a, cp-b."""
    be = _Client(port, ba.BACKEND_USER, pw[ba.BACKEND_USER], ["%s/+/recs" % P, "%s/+/status" % P, "%s/+/reply" % P,
                                                              "%s/+/connector" % P])
    ha = _Client(port, ba.HA_USER, pw[ba.HA_USER], ["%s/#" % H, "%s/+/state" % P])
    b = _Client(port, "cp-b", pw["cp-b"], ["%s/cp-b/cmd" % P, "%s/cp-b/cmd/+" % P, "%s/cp-b/ack" % P,
                                           "%s/cp-b/ha/set/#" % P])
    a = _Client(port, "cp-a", pw["cp-a"])
    # A's reads of B's topics (and of everything): each filter is kept apart to count it.
    spy_filters = ["%s/cp-b/#" % P, "%s/+/cmd/#" % P, "%s/+/ack" % P, "%s/+/recs" % P, "%s/#" % H, "#"]
    for t in spy_filters:
        a.subscribe(t)
    bad = "x-" + secrets.token_hex(4)  # marks A's forbidden writes
    good = "ok-" + secrets.token_hex(4)  # marks the allowed control traffic
    writes = [("%s/cp-b/%s" % (P, s), be) for s in ("recs", "status", "reply", "connector")]
    writes += [("%s/cp-b/state" % P, ha), ("%s/sensor/cp-b/power/config" % H, ha)]
    commands = [("%s/cp-b/cmd/availability" % P, b), ("%s/cp-b/cmd" % P, b), ("%s/cp-b/ack" % P, b),
                ("%s/cp-b/ha/set/current" % P, b)]
    own_acks = [("%s/cp-a/ack" % P, a), ("%s/cp-a/cmd/remote_start" % P, a)]
    a.subscribe("%s/cp-a/cmd/+" % P)
    a.subscribe("%s/cp-a/ack" % P)
    # B's discovery config is in the broker's retained store before A tries to replace it.
    b.publish("%s/sensor/cp-b/power/config" % H, good.encode(), retain=True)
    for topic, _ in writes + commands + own_acks:
        a.publish(topic, ('{"v":1,"id":"%s","seq":4294967295}' % bad).encode(),
                  retain=topic.endswith("/config"))
    # Allowed: B writes its own topics, the backend commands B, HA sets B, B publishes its discovery.
    for s in ("recs", "status", "reply", "connector"):
        b.publish("%s/cp-b/%s" % (P, s), good.encode())
    b.publish("%s/cp-b/state" % P, good.encode())
    be.publish("%s/cp-b/cmd/availability" % P, good.encode())
    be.publish("%s/cp-b/ack" % P, good.encode())
    ha.publish("%s/cp-b/ha/set/current" % P, good.encode())
    # Every allowed message reaches its reader; by then the denied ones (sent first, on the
    # same ordered connection) would have arrived too.
    deadline = time.monotonic() + 10
    expect = {be: 4, ha: 2, b: 3}
    while time.monotonic() < deadline and any(len(c.has(good.encode())) < n for c, n in expect.items()):
        time.sleep(0.02)
    controls_missing = sum(max(0, n - len(c.has(good.encode()))) for c, n in expect.items())
    time.sleep(0.2)
    writes_accepted = sum(1 for t, r in writes if any(g[0] == t for g in r.has(bad.encode())))
    commands_accepted = sum(1 for t, r in commands if any(g[0] == t for g in r.has(bad.encode())))
    # A's own ack and command topics: only the backend writes them.
    acks_accepted = sum(1 for t, _ in own_acks if any(g[0] == t for g in a.has(bad.encode())))
    spied = len(a.has(good.encode()))  # B's traffic that reached A through any filter
    # A fresh HA reader sees B's retained discovery config as B wrote it, not A's.
    late = _Client(port, ba.HA_USER, pw[ba.HA_USER], ["%s/sensor/cp-b/power/config" % H])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not late.got:
        time.sleep(0.02)
    retained = [g[1] for g in late.got]
    discovery_overwritten = int(retained != [good.encode()])
    late.close()
    anonymous = _connect_rc(port, "", "")
    wrong = _connect_rc(port, "cp-a", pw["cp-a"] + "x")
    for c in (a, b, be, ha):
        c.close()
    return {
        "writes_accepted": writes_accepted,
        "commands_accepted": commands_accepted,
        "acks_accepted": acks_accepted,
        "subscriptions_leaking": spied,
        "discovery_overwritten": discovery_overwritten,
        "controls_missing": controls_missing,
        "anonymous_accepted": int(anonymous is not None and not anonymous.is_failure),
        "wrong_password_accepted": int(wrong is not None and not wrong.is_failure),
    }


def run(acl=None):
    """Generate the broker files (as an operator would), start mosquitto on them, probe.
    acl: another ACL text in place of the generated one (to show the probe catches a lax one)."""
    pw = {u: secrets.token_urlsafe(16) for u in (ba.BACKEND_USER, ba.HA_USER, "cp-a", "cp-b")}
    users = list(pw.items())

    def conf(d, port):
        ba.generate(d, users, port=port, bind="127.0.0.1", persistence=False)
        if acl is not None:
            with open(os.path.join(d, "acl"), "w") as f:
                f.write(acl)
        for name in ("passwd", "acl"):
            # mosquitto, started as root, drops to its own user before reading the files.
            os.chmod(os.path.join(d, name), 0o644)
        with open(d + "/mosquitto.conf") as f:
            return f.read()

    with Broker("mosquitto", conf=conf) as br:
        r = probe(br.port, pw)
    r["cross_device_accepted"] = sum(r[k] for k in ("writes_accepted", "commands_accepted", "acks_accepted",
                                                    "subscriptions_leaking", "discovery_overwritten"))
    return r

