# Uplink: moves journal records to the broker in batches, a window of them in flight, and answers
# commands. Delivery is at least once; the backend drops repeats by (install, seq). The delivery cursor
# advances on the broker's PUBACK (ack mode "broker") or only on the backend's cumulative {"seq": N}
# (ack mode "backend", the default, with a window over those acks: uplink/acks.py). Nothing here
# blocks: the link is polled, and sampling runs between our steps.
import asyncio
import json
import time

from laddvakt.uplink.acks import BackendAcks, Batch, Keepalive
from laddvakt.core import config
from laddvakt.core.ident import device_key
from laddvakt.uplink.inbox import Guard, Inbox
from micropython import const

_BACKOFF_MIN_MS = const(1000)
_BACKOFF_MAX_MS = const(60000)
_IDLE_POLL_MS = const(50)
_ACK_WAIT_MS = const(2)  # sleep while waiting for acks: short, the loop must stay responsive
# In-flight entry fields: [pid, first seq, last seq, acked, sid filter (replay) or None, kind (0 = the
# main stream, 1 = a replay, which never moves the cursor)]; constants, so they take no names in RAM.
_PID = const(0)
_FIRST = const(1)
_LAST = const(2)
_ACKED = const(3)
_SID = const(4)
_KIND = const(5)


class Uplink:
    def __init__(self, link, journal, cfg, ident, fw, commands, rand, extra=None, codec=None):
        self.link = link  # an MQTTLink
        self.journal = journal
        if codec is None:
            from laddvakt.journal.codec import Codec

            codec = Codec(ident.install, device_key(cfg["device_key"]), cfg["device_id"], fw,
                          lambda: cfg["meter_serial"])
        handlers, make = commands  # {name: fn(args)}; fn() -> its CommandHandler (inbox.py)
        self.rand = rand  # callable(n) -> 0..n-1, for backoff jitter
        self.extra = extra  # or None; HA discovery: on_connect, step, subscriptions, message
        root = config.root(cfg)
        self.root = root
        self.t_status = root + "status"
        self.t_recs = (root + "recs").encode()  # bytes: batches are framed in place (wire.py)
        self.t_reply = (root + "reply").encode()  # bytes: replies are framed in place too
        self.t_ack = (root + "ack").encode()  # bytes: compared with each message's topic
        self.ack_backend = cfg["uplink_ack"] == "backend"
        self.window = cfg["mqtt_window"]
        self.acks = BackendAcks(self.window, cfg["ack_timeout_ms"])
        self.online = json.dumps({"v": 1, "state": "online", "fw": fw, "boot": ident.boot, "install": ident.install})
        self._status_due = False  # the condition changed: publish the status again
        self.offline = json.dumps({"v": 1, "state": "offline", "install": ident.install})
        self.install = ident.install
        head = ('{"v":1,"dev":%s,"install":%s,"recs":[' % (
            json.dumps(cfg["device_id"]), json.dumps(ident.install))).encode()
        self._batch = Batch(journal, codec, head, link.room(len(self.t_recs)), cfg["batch_max_bytes"])
        self.in_flight = []  # in flight, in send order
        self._resend = 0  # how many of in_flight still need resending after a reconnect
        self.sent = journal.delivered  # main stream: last seq handed to the broker
        self.replays = None  # a replay.Replayer, made at the first replay (_replays)
        self.inbox = Inbox(make, (root + "cmd/").encode(), 2 * cfg["cmd_max_bytes"], len(link.room(len(self.t_reply))))
        self.guard = Guard(device_key(cfg["device_key"]), journal.path + ".ctr", handlers)  # mqtt.md, Authentication
        self.retained = []  # (suffix, fn() -> payload): sent retained unless last sent on this connection
        self._sent_retained = {}
        self.keepalive = Keepalive(cfg["mqtt_keepalive_s"] * 1000, cfg["mqtt_timeout_ms"])
        self.connected = False
        self.connects = self.failures = self.published = self.resent = 0  # counters for status
        self.last_error = None
        self.t_start = time.ticks_ms()
        self.drain_ms = None  # first time the backlog was fully delivered, from t_start
        self.first_batch_ms = None  # when the first recs batch went out, from t_start (bench)
        link.set_callback(self._on_msg)
        link.on_ack = self.on_ack
        link.on_oversize = self.inbox.oversized
        link.set_last_will(self.t_status, self.offline, retain=True, qos=1)
        handlers["replay"] = lambda a: self._replays().cmd(a)

    # ---- connection -----------------------------------------------------------
    def _drop(self, err):
        self.connected = False
        self.failures += 1
        a = err.args
        msg = a[0] if len(a) == 1 and isinstance(a[0], str) else repr(err)
        if msg != self.last_error:
            # The console shows why a board stays offline (a wrong CA...), a reason once in a row.
            print("uplink: %s" % msg)
        self.last_error = msg
        self.link.close()

    def _on_msg(self, topic, msg):
        # From the link's poll; msg is valid during this call only. Replies go out later.
        if self.extra and self.extra.message(topic, msg, self.link.rx_retained):
            return  # a Home Assistant control: no MAC; the broker's ACL confines it (mqtt.md)
        ack = topic == self.t_ack
        why = self.guard.admit(topic, msg, self.link.rx_retained, ack)
        if why:
            self.inbox.refused(topic, ("ack " if ack else "") + why)
        elif not ack:
            self.inbox.put(topic, msg)
        else:  # the backend's cumulative ack
            try:
                d = json.loads(msg)
                seq = d["seq"]
            except (ValueError, KeyError, TypeError):
                return  # not ours to answer: the ack topic is the backend's, not a command
            if type(seq) is not int or d.get("install", self.install) != self.install:
                return  # an ack of another install (a wiped device) names other records
            seq = min(seq, self.journal.seq)
            moved = seq > self.journal.delivered
            if moved:
                self.journal.set_delivered(seq)
                self.sent = max(self.sent, seq)
                self._status_due |= self.acks.hold(False)
            now = time.ticks_ms()
            if self.acks.on_ack(now, seq, moved) and not self._main_in_flight():
                self.sent = self.journal.delivered  # the backend is there without them: again
                self.acks.reset(now)

    # ---- acknowledgements -----------------------------------------------------
    def on_ack(self, pid):  # the link's on_ack: a PUBACK
        fl = self.in_flight
        for e in fl:
            if e[_PID] == pid:
                e[_ACKED] = True
                break
        else:
            return  # a reply's or status's PUBACK: nothing waits on it
        while fl and fl[0][_ACKED]:
            # Only resent entries can be acked, ahead of those still to resend: _resend (from the tail) holds.
            e = fl.pop(0)
            if e[_KIND] == 0 and not self.ack_backend:
                self.journal.set_delivered(e[_LAST])

    def _main_in_flight(self):
        for e in self.in_flight:  # a loop, not any(): no generator allocated each round
            if not e[_KIND]:
                return True
        return False

    # ---- batching -------------------------------------------------------------
    def _send_batch(self, kind, sid, pid=0):
        b = self._batch
        p = self.link.publish_built(self.t_recs, b.size(), pid)
        if not pid:
            self.in_flight.append([p, b.first, b.last, False, sid, kind])
            if not kind and self.ack_backend:
                self.acks.sent(b.last)
        if self.first_batch_ms is None:
            self.first_batch_ms = time.ticks_diff(time.ticks_ms(), self.t_start)
        self.published += 1

    # ---- work -----------------------------------------------------------------
    def service(self, now):
        """One round on a live link. Returns True if there was work."""
        link = self.link
        busy = link.poll() > 0
        if self.keepalive.ping_due(now, link.last_rx_ms, bool(self.in_flight)):
            link.ping()
        if self._status_due and link.idle():
            link.publish(self.t_status, self.acks.status(self.online), retain=True, qos=1)
            self._status_due = False
        inbox = self.inbox
        while inbox.waiting() and link.idle():
            link.publish_built(self.t_reply, inbox.answer_next(link.room(len(self.t_reply))))
            busy = True
        if inbox.dropped and link.idle():
            link.publish(self.t_reply, inbox.overflow_reply(), qos=1)
            busy = True
        for sub, fn in self.retained:
            payload = fn()
            if link.idle() and self._sent_retained.get(sub) is not payload:
                link.publish(self.root + sub, payload, retain=True, qos=1)
                self._sent_retained[sub] = payload
                busy = True
        if self.extra and link.idle():
            busy = self.extra.step(self, now) or busy
        # Resend after a reconnect first, in the original order with the original ids.
        while self._resend and link.idle():
            e = self.in_flight[len(self.in_flight) - self._resend]
            self._resend -= 1
            if self._batch.build(e[_FIRST] - 1, e[_LAST], e[_SID]):
                self._send_batch(e[_KIND], e[_SID], e[_PID])
            else:
                self.on_ack(e[_PID])  # history trimmed meanwhile: nothing to resend
            self.resent += 1
            busy = True
        # Taken by the broker, never acked by the backend: a named condition, and send again.
        if self.ack_backend and self.acks.expired(now, self.sent > self.journal.delivered and not self._main_in_flight()):
            self._status_due |= self.acks.hold(True)
            self.sent = self.journal.delivered
            self.acks.reset(now)
        b = self._batch
        while not self._resend and len(self.in_flight) < self.window and link.idle():
            rp = self.replays
            r = rp and rp.r
            if r:
                if rp.next(b):
                    self._send_batch(1, r[2])
                busy = True
                continue
            if self.ack_backend and not self.acks.may_send():
                break
            if self.sent < self.journal.seq and b.build(self.sent, self.journal.seq, None):
                self._send_batch(0, None)
                self.sent = b.last
                busy = True
                continue
            break
        if self.drain_ms is None and not self.journal.pending():
            self.drain_ms = time.ticks_diff(now, self.t_start)
        return busy

    def _replays(self):
        if self.replays is None:  # its code loads with the first replay asked
            from laddvakt.uplink.replay import Replayer

            self.replays = Replayer(self.journal, self.install)
        return self.replays

    def replay(self, first, to=None, sid=None):
        """Queue a replay (the console's; uplink/replay.py)."""
        return self._replays().start(first, to, sid)

    async def run(self):
        backoff = _BACKOFF_MIN_MS
        while True:
            if not self.connected:
                try:
                    # Clean session off: the broker keeps our subscriptions and queued commands,
                    # and MQTT 3.1.1 §4.4 has us resend unacked publishes with their ids.
                    await self.link.open(clean_session=False)
                    self._sent_retained = {}
                    self.connected = True
                    self.connects += 1
                    self.keepalive.reset()
                    self.link.publish(self.t_status, self.acks.status(self.online), retain=True, qos=1)
                    # Resubscribe every time: a restarted broker has forgotten the session.
                    cmd = self.root + "cmd"
                    self.link.subscribe(cmd, qos=1)
                    self.link.subscribe(cmd + "/+", qos=1)
                    if self.ack_backend:
                        self.link.subscribe(self.t_ack, qos=1)
                        # What the backend has not acked goes again (a restarted broker may have lost it), a window
                        # of it, then as its acks say (it drops the repeats). PUBACKs no longer matter.
                        self.sent = self.journal.delivered
                        self.acks.reset(time.ticks_ms())
                        self.in_flight = [e for e in self.in_flight if e[_KIND]]
                    self._resend = len(self.in_flight)
                    if self.extra:
                        for t in self.extra.subscriptions():
                            self.link.subscribe(t, qos=1)
                        self.extra.on_connect(self)
                    backoff = _BACKOFF_MIN_MS
                except Exception as e:
                    # OSError from the network, MQTTException for a refused CONNECT, anything odd from
                    # umqtt on a malformed reply: retry (CancelledError is a BaseException: it ends the task).
                    self._drop(e)
                    # Exponential backoff with jitter, so a fleet does not reconnect in step.
                    await asyncio.sleep_ms(backoff // 2 + self.rand(backoff // 2 + 1))
                    backoff = min(backoff * 2, _BACKOFF_MAX_MS)
                    continue
            try:
                busy = self.service(time.ticks_ms())
            except Exception as e:
                self._drop(e)
                # A link that was up: retry within a second, at random (a restarted broker meets no fleet).
                await asyncio.sleep_ms(self.rand(_BACKOFF_MIN_MS))
                continue
            if busy:
                await asyncio.sleep_ms(0)
            else:
                await asyncio.sleep_ms(_ACK_WAIT_MS if self.in_flight or not self.link.idle() else _IDLE_POLL_MS)

    def drained(self):
        return (self.connected and not self.journal.pending() and self.inbox.empty()
                and not (self.replays and self.replays.r) and self.link.idle())

    def stats(self):
        return {"connects": self.connects, "failures": self.failures, "published": self.published, "resent": self.resent,
                "in_flight": len(self.in_flight), "error": self.last_error, "cond": self.acks.condition,
                "ack_timeouts": self.acks.timeouts, "auth_refused": self.guard.refused, "first_batch_ms": self.first_batch_ms}

    def shutdown(self):
        """Clean stop: offline status, then DISCONNECT (no Will is sent for that)."""
        if self.connected:
            try:
                self.link.publish(self.t_status, self.offline, retain=True, qos=1)
                self.link.disconnect()
            except OSError:
                pass
        self.link.close()
        self.connected = False
