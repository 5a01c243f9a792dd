"""The reference backend service: MQTT in, idempotent store, a receipt per ended session."""
import json
import sys
import threading
import time

import paho.mqtt.client as mqtt

from . import billing
from .receipt import format_receipt
from .store import Store, check, load_validator

PREFIX = "laddvakt/v1/"
SUBSCRIPTIONS = [(PREFIX + "+/recs", 1), (PREFIX + "+/status", 1)]


def wait_for(predicate, timeout=5.0, interval=0.02):
    """Poll predicate() until it is true or timeout passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(interval)


def _log(msg):
    print("backend: " + msg, file=sys.stderr, flush=True)


class Backend:
    """Subscribes to every agent's recs and status; stores batches, emits receipts."""

    def __init__(self, db_path, host, port, client_id="laddvakt-backend", on_receipt=print,
                 share=None, keys=None):
        self.store = Store(db_path)
        # share: a group name; workers with the same group split the fleet's recs between
        # them (MQTT shared subscription). keys: {dev: HMAC key} to verify signed sessions.
        self.subscriptions = [(("$share/%s/" % share if share else "") + PREFIX + "+/recs", 1),
                              (PREFIX + "+/status", 1)]
        self.keys = keys or {}
        self.batches = 0  # recs messages this worker handled
        self.flagged = []  # verdicts of sessions whose cost or signature failed a check
        self.host, self.port = host, port
        self.on_receipt = on_receipt
        self.status = {}    # dev -> last status payload (dict)
        self.rejected = 0   # payloads that break the contract; acked and dropped
        self.errors = 0     # our own failures; a batch that failed to store stays unacked,
                            # so the broker sends it again on the next connection
        self._subscribed = threading.Event()
        self._status_schema = load_validator("status.json")
        # A persistent session (clean_session=False) keeps QoS 1 batches queued at the broker
        # while the backend is down. Manual ack: PUBACK only once the batch is committed.
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=False, manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def start(self, timeout=10.0):
        """Connect and return once the subscriptions are granted; raise TimeoutError otherwise."""
        try:
            self.client.connect(self.host, self.port, keepalive=30)
        except OSError:
            self.store.close()
            raise
        self.client.loop_start()
        if not self._subscribed.wait(timeout):
            self.stop()
            raise TimeoutError("backend not subscribed within %.1f s" % timeout)
        return self

    def stop(self):
        self.client.disconnect()
        self.client.loop_stop()
        self.store.close()

    def wait_for(self, predicate, timeout=5.0):
        return wait_for(predicate, timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            _log("connect refused: %s" % reason_code)
            return
        # Subscribe on every connect: a broker that lost its session state forgets them.
        client.subscribe(self.subscriptions)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        if any(rc.is_failure for rc in reason_codes):
            _log("subscription refused: %s" % reason_codes)
            return
        self._subscribed.set()

    def _on_message(self, client, userdata, msg):
        parts = msg.topic.split("/")
        receipts = []
        try:
            if len(parts) != 4:
                raise ValueError("unexpected topic %r" % msg.topic)
            if parts[3] == "recs":
                receipts = self._handle_batch(parts[2], msg.payload)
            elif parts[3] == "status":
                self._handle_status(parts[2], msg.payload)
        except ValueError as e:
            self.rejected += 1
            _log("rejected %s: %s" % (msg.topic, e))
        except Exception as e:  # a bad disk or a bug must not kill paho's network thread
            self.errors += 1
            _log("error on %s: %r" % (msg.topic, e))
            return
        client.ack(msg.mid, msg.qos)
        # After the commit and the ack: a failing printer must not make the batch come again,
        # because the repeat would be a duplicate and get no receipt at all.
        for text in receipts:
            try:
                self.on_receipt(text)
            except Exception as e:
                self.errors += 1
                _log("receipt handler failed: %r" % e)

    def _handle_batch(self, dev, payload):
        self.batches += 1
        batch = _decode(payload)
        # A dev that is missing or of the wrong type is left to the schema's clearer message.
        if isinstance(batch, dict) and isinstance(batch.get("dev"), str) and batch["dev"] != dev:
            raise ValueError("batch dev %r does not match topic device %r" % (batch.get("dev"), dev))
        receipts = []
        new = self.store.ingest_batch(batch)
        if new:
            # A batch may complete a session another batch (or worker) left pending. The batch
            # is stored already; billing.check_pending never raises, so it is acked either way.
            for verdict in billing.check_pending(self.store, batch["install"], self.keys):
                if verdict["flagged"]:
                    self.flagged.append(verdict)
                    _log("flagged session %(sid)s: cost %(status)s, signature %(signature)s" % verdict)
        for rec in new:
            if rec["type"] != "session_end":
                continue
            session = self.store.session(rec["sid"])
            # A sid already billed under another record keeps its first receipt only.
            if session and session["install"] == batch["install"] and session["end_seq"] == rec["seq"]:
                receipts.append(format_receipt(session, self.store.receipt(rec["sid"])))
        return receipts

    def _handle_status(self, dev, payload):
        if not payload:  # an empty retained message clears the status
            self.status.pop(dev, None)
            return
        status = _decode(payload)
        check(self._status_schema, status)
        self.status[dev] = status


def _decode(payload):
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError("payload is not JSON: %s" % e) from None

