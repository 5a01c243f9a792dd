"""The reference backend service: MQTT in, idempotent store, a receipt per ended session."""
import json
import sys
import threading
import time

import paho.mqtt.client as mqtt

from . import billing
from .receipt import format_receipt
from .signer import Signer
from .store import Store, check, load_validator

PREFIX = "laddvakt/v1/"
SUBSCRIPTIONS = [(PREFIX + "+/recs", 1), (PREFIX + "+/status", 1), (PREFIX + "+/reply", 1)]
# A gap is asked to be replayed at most this often (the replay itself takes a moment); the
# repair timer doubles the wait for the same gap up to REPLAY_BACKOFF_MAX_S.
REPLAY_EVERY_S = 2.0
REPLAY_BACKOFF_MAX_S = 60.0
GAP_GRACE_S = 1.0
REPAIR_TICK_S = 0.5  # how often the repair timer looks for holes (docs/backend.md, Gap repair)
GAP_ALERT_S = 300.0  # a hole open this long is an alert in health() and the log


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
                 share=None, keys=None, gap_alert_s=GAP_ALERT_S, auth=None, tls=None):
        self.store = Store(db_path)
        # share: a group name; workers with the same group split the fleet's recs between
        # them (MQTT shared subscription). keys: {dev: HMAC key} to verify signed sessions.
        self.subscriptions = [(("$share/%s/" % share if share else "") + PREFIX + "+/recs", 1),
                              (PREFIX + "+/status", 1), (PREFIX + "+/reply", 1),
                              (PREFIX + "+/connector", 1)]
        self.keys = keys or {}
        self.batches = 0  # recs messages this worker handled
        self.received = 0  # records in them, repeats included (duplicates = received - stored)
        self.flagged = []  # verdicts of sessions whose cost or signature failed a check
        self.host, self.port = host, port
        self.on_receipt = on_receipt
        self.status = {}    # dev -> last status payload (dict)
        self.connector = {}  # dev -> last connector payload (dict)
        self.last_seen = {}  # dev -> time.time() of its last message of any kind
        # Issue 19: the web console's live view and its actions. listeners get (dev, kind,
        # payload) for every status, connector, reply and stored record batch; _waiting holds
        # the commands sent with command() until their reply comes.
        self.listeners = []
        self._waiting = {}
        self._cmd_n = 0
        self.rejected = 0   # payloads that break the contract; acked and dropped
        self.errors = 0     # our own failures; a batch that failed to store stays unacked,
                            # so the broker sends it again on the next connection
        self._subscribed = threading.Event()
        self._lock = threading.Lock()
        self._status_schema = load_validator("status.json")
        self.replays = 0    # replay commands sent to mend gaps
        self.gap_alert_s = gap_alert_s
        self.alerts = []    # open holes older than gap_alert_s (store.open_gaps), last round
        self._backoff = {}  # install -> (first missing seq, replays asked for it)
        self._wake = threading.Event()  # a (re)connect: repair now, backoff reset
        self._stopping = threading.Event()
        self._repairer = threading.Thread(target=self._repair_loop, name="gap-repair", daemon=True)
        # Sharing workers see a device's batches out of order: a gap must stay open this long
        # before it is worth a replay (one worker alone receives them in order).
        self.gap_grace_s = GAP_GRACE_S if share else 0.0
        self.lose_batches = set()  # fault injection for tests: these batch numbers (1 = first
                                   # received) are acked to the broker but never stored
        self.lose_acks = 0         # and this many of our acks are never sent
        # A persistent session (clean_session=False) keeps QoS 1 batches queued at the broker
        # while the backend is down. Manual ack: PUBACK only once the batch is committed.
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=False, manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        # Back quickly after a broker restart: devices wait on our acks.
        self.client.reconnect_delay_set(0.05, 2)
        # auth: (user, password) for a broker with the generated ACL (docs/backend.md, Broker
        # security); tls: {"ca_certs", "certfile", "keyfile"} (paho's tls_set arguments).
        if auth:
            self.client.username_pw_set(*auth)
        if tls:
            self.client.tls_set(**tls)
        # Commands and acks carry a MAC made with the device's key (docs/mqtt.md, Authentication).
        self.signer = Signer(self.keys)

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
        self._repairer.start()
        return self

    def stop(self):
        self._stopping.set()
        self._wake.set()
        if self._repairer.is_alive():
            self._repairer.join()
        self.client.disconnect()
        self.client.loop_stop()
        self.store.close()

    def health(self):
        """The backend's status: counters and the gap alerts (docs/backend.md)."""
        return {"batches": self.batches, "received": self.received, "rejected": self.rejected, "errors": self.errors,
                "replays": self.replays, "flagged": len(self.flagged), "gap_alerts": self.alerts}

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
        # Our own or the broker's restart: whatever was in flight may be gone; look now.
        self._backoff.clear()
        self._wake.set()

    def _on_message(self, client, userdata, msg):
        parts = msg.topic.split("/")
        receipts = []
        try:
            if len(parts) != 4:
                raise ValueError("unexpected topic %r" % msg.topic)
            self.last_seen[parts[2]] = time.time()
            if parts[3] == "recs":
                receipts = self._handle_batch(parts[2], msg.payload)
            elif parts[3] == "status":
                self._handle_status(parts[2], msg.payload, msg.retain)
            elif parts[3] == "reply":
                self._handle_reply(parts[2], msg.payload)
            elif parts[3] == "connector":
                self._handle_connector(parts[2], msg.payload)
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
        if self.batches in self.lose_batches:
            _log("losing batch %d on purpose" % self.batches)
            return []
        batch = _decode(payload)
        # A dev that is missing or of the wrong type is left to the schema's clearer message.
        if isinstance(batch, dict) and isinstance(batch.get("dev"), str) and batch["dev"] != dev:
            raise ValueError("batch dev %r does not match topic device %r" % (batch.get("dev"), dev))
        receipts = []
        new = self.store.ingest_batch(batch)
        self.received += len(batch["recs"])
        if new:
            # A batch may complete a session another batch (or worker) left pending. The batch
            # is stored already; billing.check_pending never raises, so it is acked either way.
            for verdict in billing.check_pending(self.store, batch["install"], self.keys):
                if verdict["flagged"]:
                    self.flagged.append(verdict)
                    _log("flagged session %(sid)s: cost %(status)s, signature %(signature)s" % verdict)
        self._ack_and_mend(dev, batch)
        if new:
            self._notify(dev, "recs", new)
        for rec in new:
            if rec["type"] != "session_end":
                continue
            session = self.store.session(rec["sid"])
            # A sid already billed under another record keeps its first receipt only.
            if session and session["install"] == batch["install"] and session["end_seq"] == rec["seq"]:
                receipts.append(format_receipt(session, self.store.receipt(rec["sid"])))
        return receipts

    # ---- acks and replays: payloads built here, all sent through _publish ----------------
    def _publish(self, dev, sub, doc):
        """Every command and ack the backend sends, signed with dev's key (signer.py)."""
        topic = PREFIX + dev + "/" + sub
        self.client.publish(topic, self.signer.payload(dev, topic, doc), qos=1)

    @staticmethod
    def ack_payload(n, inst):
        return {"v": 1, "seq": n, "install": inst}

    @staticmethod
    def replay_payload(inst, first, to):
        return {"id": "gap-%s-%d" % (inst, first), "from_seq": first, "to_seq": to}

    def _send_ack(self, dev, inst, n):
        if self.lose_acks > 0:
            self.lose_acks -= 1
        else:
            self._publish(dev, "ack", self.ack_payload(n, inst))

    def _ask_replay(self, dev, inst, first, to):
        self.replays += 1
        _log("gap in %s after seq %d: asking for a replay up to %d" % (inst, first - 1, to))
        self._publish(dev, "cmd/replay", self.replay_payload(inst, first, to))

    def _ack_and_mend(self, dev, batch):
        """Cumulative ack of what is stored without gaps (docs/mqtt.md, Acknowledgements),
        and a replay request when a batch shows records are missing before it. Both come
        from the database, so workers sharing a fleet ack what all of them stored."""
        inst = batch["install"]
        n = self.store.advance_ack(inst)
        self._send_ack(dev, inst, n)
        if max(r["seq"] for r in batch["recs"]) > n and self.store.claim_replay(
                inst, n + 1, time.time(), self.gap_grace_s, REPLAY_EVERY_S):
            first_after = min(r["seq"] for r in batch["recs"] if r["seq"] > n)
            self._ask_replay(dev, inst, n + 1, max(first_after - 1, n + 1))

    def _repair_loop(self):
        while not self._stopping.is_set():
            self._wake.wait(REPAIR_TICK_S)
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                self.repair(time.time())
            except Exception as e:  # a database hiccup: the next round tries again
                self.errors += 1
                _log("gap repair failed: %r" % e)

    def repair(self, now):
        """One round of gap repair without new traffic (docs/backend.md, Gap repair): ask each
        device with a hole past its ack floor to replay it, backing off per hole, and keep
        the holes older than gap_alert_s as alerts."""
        alerts = []
        for gap in self.store.open_gaps(now):
            inst, first = gap["install"], gap["first"]
            b = self._backoff.get(inst)
            n = b[1] if b and b[0] == first else 0
            every = min(REPLAY_EVERY_S * 2 ** n, REPLAY_BACKOFF_MAX_S)
            if self.store.claim_replay(inst, first, now, self.gap_grace_s, every):
                self._backoff[inst] = (first, n + 1)
                self._ask_replay(gap["dev"], inst, first, gap["last"])
            if gap["age_s"] >= self.gap_alert_s:
                alerts.append(gap)
        for gap in alerts:
            if all(a["install"] != gap["install"] or a["first"] != gap["first"] for a in self.alerts):
                _log("ALERT: %(dev)s (%(install)s) misses seqs %(first)d..%(last)d for %(age_s)s s" % gap)
        self.alerts = alerts

    def _handle_reply(self, dev, payload):
        # A reply to our own replay request: records that are no longer retained on the
        # device can never come, so the ack moves past them instead of waiting forever.
        reply = _decode(payload)
        rid = reply.get("id") if isinstance(reply, dict) else None
        waiter = self._waiting.get(rid) if isinstance(rid, str) else None
        if waiter is not None and waiter[0] == dev:
            waiter[2].append(reply)
            waiter[1].set()
        self._notify(dev, "reply", reply)
        if not (isinstance(rid, str) and rid.startswith("gap-")):
            return
        _, inst, frm = rid.rsplit("-", 2)
        if reply.get("ok"):
            first = reply["result"].get("from_seq", int(frm))
            if first > int(frm) and self.store.acked(inst) < first - 1:
                _log("%s: records %s..%d are lost on the device" % (inst, frm, first - 1))
                self._send_ack(dev, inst, self.store.advance_ack(inst, first - 1))
        else:
            _log("replay refused by %s: %s" % (dev, reply.get("error")))

    def _handle_status(self, dev, payload, retained=False):
        if not payload:  # an empty retained message clears the status
            self.status.pop(dev, None)
            return
        status = _decode(payload)
        check(self._status_schema, status)
        self.status[dev] = status
        self._notify(dev, "status", status)
        if retained and status["state"] == "online":
            # Delivered because we (re)subscribed: we were away, and a device that sent into
            # the void waits on our floor to resend from it (docs/mqtt.md, Acknowledgements).
            self._send_ack(dev, status["install"], self.store.acked(status["install"]))

    def _handle_connector(self, dev, payload):
        if not payload:
            self.connector.pop(dev, None)
            return
        conn = _decode(payload)
        if not isinstance(conn, dict):
            raise ValueError("connector payload is not an object")
        self.connector[dev] = conn
        self._notify(dev, "connector", conn)

    def _notify(self, dev, kind, payload):
        for fn in list(self.listeners):
            try:
                fn(dev, kind, payload)
            except Exception as e:  # a slow or broken page must not stop ingest
                _log("listener failed: %r" % e)

    def command(self, dev, name, args=None, timeout=10.0):
        """Send command `name` to device dev (docs/mqtt.md, Commands and replies) and return
        the device's reply (a dict with ok, and result or error); TimeoutError without one.
        The one path every backend-initiated command takes (the web console's actions too)."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError("bad command name %r" % (name,))
        with self._lock:
            self._cmd_n += 1
            cid = "be-%d-%d" % (int(time.time()), self._cmd_n)
        done, box = threading.Event(), []
        self._waiting[cid] = (dev, done, box)
        try:
            payload = dict(args or {}, id=cid)
            self._publish(dev, "cmd/" + name, payload)
            if not done.wait(timeout):
                raise TimeoutError("no reply from %s to %s within %.0f s" % (dev, name, timeout))
            return box[0]
        finally:
            self._waiting.pop(cid, None)


def _decode(payload):
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError("payload is not JSON: %s" % e) from None

