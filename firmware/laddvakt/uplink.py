# Uplink: moves journal records to the broker in batches and answers commands.
# The cursor advances only when the broker has acknowledged a batch (PUBACK), so
# delivery is at least once; the backend drops repeats by (install, seq).
import asyncio
import json

_BACKOFF_MIN_MS = 1000
_BACKOFF_MAX_MS = 60000
_IDLE_POLL_MS = 50
_MAX_QUEUED_CMDS = 16


class Uplink:
    def __init__(self, link, journal, cfg, ident, fw, commands, rand):
        self.link = link  # an MQTTLink
        self.journal = journal
        self.commands = commands
        self._rand = rand  # callable(n) -> 0..n-1, for backoff jitter
        root = "%s/%s/" % (cfg["topic_prefix"], cfg["device_id"])
        self.t_status = root + "status"
        self.t_recs = root + "recs"
        self.t_cmd = root + "cmd"
        self.t_reply = root + "reply"
        self.online = json.dumps(
            {"v": 1, "state": "online", "fw": fw, "boot": ident.boot, "install": ident.install}
        )
        self.offline = json.dumps({"v": 1, "state": "offline", "install": ident.install})
        self._head = ('{"v":1,"dev":%s,"install":%s,"recs":[' % (
            json.dumps(cfg["device_id"]), json.dumps(ident.install))).encode()
        self._batch = bytearray(cfg["batch_max_bytes"])
        self._bmv = memoryview(self._batch)
        self._n = 0
        self._last = 0
        self._cmds = []
        # (topic suffix, fn() -> payload): state published retained whenever fn's payload
        # differs from the last one sent on this connection (the connector status).
        self.retained = []
        self._root = root
        self._sent_retained = {}
        self._dropped = 0  # commands that found the queue full; answered with one error
        self.connected = False
        self.connects = 0
        self.failures = 0
        self.published = 0
        self.last_error = None
        link.set_callback(self._on_msg)
        link.set_last_will(self.t_status, self.offline, retain=True, qos=1)

    # ---- connection -----------------------------------------------------------
    def _connect(self):
        self.link.connect(clean_session=True)
        self.link.publish(self.t_status, self.online, retain=True, qos=1)
        self.link.subscribe(self.t_cmd, qos=1)
        self._sent_retained = {}
        self.connected = True
        self.connects += 1

    def _drop(self, err):
        self.connected = False
        self.failures += 1
        self.last_error = repr(err)
        self.link.close()

    def _on_msg(self, topic, msg):
        # Called from inside umqtt's reads; queue, answer later (no re-entrant publish).
        if len(self._cmds) < _MAX_QUEUED_CMDS:
            self._cmds.append(bytes(msg))
        else:
            self._dropped += 1

    # ---- batching -------------------------------------------------------------
    def _put(self, data):
        n = len(data)
        self._bmv[self._n:self._n + n] = data
        self._n += n

    def _visit(self, seq, rtype, payload):
        # Each record goes out as {"seq":N, <payload fields>}: splice, don't re-parse.
        prefix = b'{"seq":%d,' % seq
        need = len(prefix) + len(payload) - 1 + 3
        if self._last and self._n + need > len(self._batch):
            return False
        # config bounds batch_max_bytes above the largest frame payload, so a
        # single record always fits an empty batch.
        if self._last:
            self._put(b",")
        self._put(prefix)
        self._put(payload[1:])
        self._last = seq
        return True

    def _build_batch(self):
        self._n = 0
        self._last = 0
        self._put(self._head)
        self.journal.read_after(self.journal.delivered, self._visit)
        if not self._last:
            return 0
        self._put(b"]}")
        return self._last

    # ---- work -----------------------------------------------------------------
    def _service(self):
        """One round on a live link. Returns True if there was work."""
        self.link.check_msg()
        busy = False
        while self._cmds:
            reply = self.commands.handle(self._cmds.pop(0))
            self.link.publish(self.t_reply, reply, qos=1)
            busy = True
        if self._dropped:
            n = self._dropped
            self._dropped = 0
            self.commands.errors += n
            self.link.publish(self.t_reply, self.commands.overflow_reply(n), qos=1)
            busy = True
        for sub, fn in self.retained:
            payload = fn()
            if self._sent_retained.get(sub) is not payload:
                self.link.publish(self._root + sub, payload, retain=True, qos=1)
                self._sent_retained[sub] = payload
                busy = True
        if self.journal.pending():
            last = self._build_batch()
            if last:
                self.link.publish(self.t_recs, self._bmv[: self._n], qos=1)
                self.journal.set_delivered(last)
                self.published += 1
                busy = True
        return busy

    async def run(self):
        backoff = _BACKOFF_MIN_MS
        while True:
            if not self.connected:
                try:
                    self._connect()
                    backoff = _BACKOFF_MIN_MS
                except Exception as e:
                    # OSError from the network, MQTTException for a refused CONNECT,
                    # AssertionError from umqtt on a malformed reply: all mean retry.
                    # (CancelledError is a BaseException and still ends the task.)
                    self._drop(e)
                    # Exponential backoff with jitter, so a fleet does not reconnect in step.
                    await asyncio.sleep_ms(backoff // 2 + self._rand(backoff // 2 + 1))
                    backoff = min(backoff * 2, _BACKOFF_MAX_MS)
                    continue
            try:
                busy = self._service()
            except Exception as e:
                self._drop(e)
                continue
            await asyncio.sleep_ms(0 if busy else _IDLE_POLL_MS)

    def drained(self):
        return self.connected and not self.journal.pending() and not self._cmds and not self._dropped

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
