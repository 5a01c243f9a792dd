"""Send one command to a device and print its reply, signed with the device's key (docs/mqtt.md,
Authentication), as the backend's user on a broker with the generated ACL:

    LADDVAKT_BACKEND_MQTT_PASSWORD=... python -m host_tools.backend.command --broker HOST:PORT \\
        --keys keys.json --user laddvakt-backend [--tls-ca ca.pem] cp-0042 availability '{"available": false}'

The reply is printed as JSON; exit 0 when it says ok, 1 when it is an error, 2 when none came.
"""
import argparse
import json
import os
import sys
import threading
import uuid

import paho.mqtt.client as mqtt

from .__main__ import _host_port
from .billing import load_keys
from .service import PREFIX
from .signer import Signer


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m host_tools.backend.command", description=__doc__.split("\n")[0])
    ap.add_argument("--broker", type=_host_port, default=("127.0.0.1", 1883), help="HOST:PORT")
    ap.add_argument("--keys", metavar="FILE", help="JSON {device id: hex key}; without the device's key it goes unsigned")
    ap.add_argument("--user", help="broker user; password in LADDVAKT_BACKEND_MQTT_PASSWORD")
    ap.add_argument("--tls-ca", dest="tls_ca")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("device")
    ap.add_argument("name")
    ap.add_argument("args", nargs="?", default="{}", help="the arguments as a JSON object")
    a = ap.parse_args(argv)
    try:
        doc = json.loads(a.args)
    except ValueError as e:
        print("command: arguments are not JSON: %s" % e, file=sys.stderr)
        return 2
    if not isinstance(doc, dict):
        print("command: arguments must be a JSON object", file=sys.stderr)
        return 2
    keys = load_keys(a.keys) if a.keys else {}
    if a.device not in keys:
        print("command: no key for %s: sent unsigned (a device with a key refuses it)" % a.device, file=sys.stderr)
    cid = doc.setdefault("id", "cli-" + uuid.uuid4().hex[:8])
    topic = PREFIX + a.device + "/cmd/" + a.name
    payload = Signer(keys).payload(a.device, topic, doc)
    got = threading.Event()
    reply = {}

    def on_message(c, u, m):
        try:
            d = json.loads(m.payload)
        except ValueError:
            return
        # A refusal has id null: it is ours if it names our command.
        if isinstance(d, dict) and (d.get("id") == cid or (d.get("id") is None and "'%s'" % a.name in str(d.get("error")))):
            reply.update(d)
            got.set()

    def on_connect(c, u, f, rc, p):
        if rc.is_failure:
            print("command: broker refused the connection: %s" % rc, file=sys.stderr)
            got.set()
            return
        c.subscribe(PREFIX + a.device + "/reply", 1)

    def on_subscribe(c, u, mid, rcs, p):
        c.publish(topic, payload, qos=1)

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="laddvakt-cmd-" + uuid.uuid4().hex[:6])
    if a.user:
        c.username_pw_set(a.user, os.environ.get("LADDVAKT_BACKEND_MQTT_PASSWORD"))
    if a.tls_ca:
        c.tls_set(ca_certs=a.tls_ca)
    c.on_message, c.on_connect, c.on_subscribe = on_message, on_connect, on_subscribe
    try:
        c.connect(a.broker[0], a.broker[1], keepalive=30)
    except OSError as e:
        print("command: cannot connect to %s:%d: %s" % (a.broker[0], a.broker[1], e), file=sys.stderr)
        return 2
    c.loop_start()
    got.wait(a.timeout)
    c.disconnect()
    c.loop_stop()
    if not reply:
        print("command: no reply within %.0f s" % a.timeout, file=sys.stderr)
        return 2
    print(json.dumps(reply))
    return 0 if reply.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
