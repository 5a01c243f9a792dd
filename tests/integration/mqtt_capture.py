"""A paho subscriber that records every message under laddvakt/#, for assertions."""
import itertools
import json
import os
import threading
import time

import paho.mqtt.client as mqtt

from host_tools.backend.signer import Signer
from host_tools.backend.store import load_validator

_SCHEMA_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "schemas")
SCHEMAS = {name: load_validator(name) for name in [
    "status.json", "batch.json", "reply.json", "command.json", "ack.json", "state.json",
    "connector.json"] + sorted(n for n in os.listdir(_SCHEMA_DIR) if n.startswith("cmd-"))}


_IDS = itertools.count()


class Capture:
    def __init__(self, port, topic="laddvakt/#", keys=None):
        """keys: {device id: key bytes}: publish() signs commands and acks to those devices
        as the backend does (docs/mqtt.md, Authentication)."""
        self.signer = Signer(keys)
        self.msgs = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="capture-%d-%d" % (os.getpid(), next(_IDS)))
        self.c.on_message = self._on_message
        self.c.on_subscribe = lambda *a: self._subscribed.set()
        self.c.connect("127.0.0.1", port)
        self.c.subscribe(topic, qos=1)
        self.c.loop_start()
        assert self._subscribed.wait(5), "capture did not subscribe"

    def _on_message(self, c, u, m):
        with self._lock:
            self.msgs.append((m.topic, bytes(m.payload), m.retain))

    def publish(self, topic, payload, retain=False):
        parts = topic.split("/")
        if len(parts) > 3 and parts[3] in ("cmd", "ack") and self.signer.has_key(parts[2]):
            payload = self.signer.payload(parts[2], topic, payload)
        self.c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def on(self, suffix):
        with self._lock:
            return [(t, p) for t, p, _ in self.msgs if t.endswith(suffix)]

    def wait(self, pred, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            time.sleep(0.02)
        return False

    def stop(self):
        self.c.loop_stop()
        self.c.disconnect()


def validate(topic, payload):
    """Validate one agent payload against the schema its topic names."""
    parts = topic.split("/")
    if len(parts) == 5 and parts[3] == "cmd":
        schema = "cmd-%s.json" % parts[4]
    else:
        schema = {"status": "status.json", "recs": "batch.json", "reply": "reply.json",
                  "cmd": "command.json", "ack": "ack.json", "state": "state.json",
                  "connector": "connector.json"}[parts[3]]
    doc = json.loads(payload)
    SCHEMAS[schema].validate(doc)
    return doc
