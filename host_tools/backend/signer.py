"""Signing commands and acks for devices (docs/mqtt.md, Authentication), with the firmware's own
module (laddvakt/uplink/mac.py), so both ends share one definition of the MAC.

The counter is the time in milliseconds, kept strictly increasing per device and kind: a backend
restart needs no stored state as long as its clock does not go back."""
import json
import threading
import time

from host_tools.toolchain import firmware


class Signer:
    def __init__(self, keys):
        """keys: {device id: device key bytes} (the --keys file)."""
        self._mac = firmware.module("uplink.mac")
        self._keys = keys or {}
        self._macs = {}
        self._last = {}
        self._lock = threading.Lock()

    def has_key(self, dev):
        return dev in self._keys

    def payload(self, dev, topic, doc):
        """The bytes to publish on topic: doc (a dict, or JSON bytes/str of an object) signed with
        dev's key; unsigned if the backend has no key for dev (such a device accepts unsigned ones
        only when it has no key either)."""
        body = doc if isinstance(doc, (bytes, str)) else json.dumps(doc, separators=(",", ":"))
        if isinstance(body, str):
            body = body.encode()
        key = self._keys.get(dev)
        if key is None:
            return body
        kind = "ack" if topic.endswith("/ack") else "cmd"
        with self._lock:
            m = self._macs.get(dev)
            if m is None:
                m = self._macs[dev] = self._mac.Mac(key)
            ctr = max(int(time.time() * 1000), self._last.get((dev, kind), 0) + 1)
            self._last[(dev, kind)] = ctr
        return m.sign(topic.encode(), body, ctr)
