"""Forged, replayed, retained and wrong-key commands and acks against a live simulated agent
with a device key (docs/mqtt.md, Authentication), on an anonymous mosquitto: the MAC must hold
without any help from the broker. Counts what the agent acted on, and checks that the signed
control traffic sent beside it does act (so a 0 means refused, not deaf).

"Acted on": a forged command that got an `ok: true` reply with its id, or made the connector
Unavailable; a forged ack that moved the agent's delivered_seq past the one authentic ack.
"""
import json
import os
import subprocess
import tempfile
import threading
import time
import uuid

import paho.mqtt.client as mqtt

from host_tools.backend.signer import Signer
from host_tools.sim import agent as sim
from host_tools.testing.broker import Broker
from host_tools.toolchain import firmware

DEV = "sim-1"
KEY = bytes(range(1, 33))
OTHER_KEY = bytes(range(2, 34))
ROOT = "laddvakt/v1/%s/" % DEV
# No EV: `availability false` applies at once (during a session it would wait for its end).
LONG = dict(sim.SCENARIO, tick_real_ms=5, end_s=200000, visits=[])


class _Peer:
    def __init__(self, port):
        self.msgs = []
        self.cond = threading.Condition()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="forge-" + uuid.uuid4().hex[:8])
        c.on_message = self._msg
        c.connect("127.0.0.1", port)
        c.subscribe(ROOT + "#", 1)
        c.loop_start()
        self.c = c

    def _msg(self, cl, ud, m):
        with self.cond:
            self.msgs.append((m.topic, bytes(m.payload)))
            self.cond.notify_all()

    def send(self, topic, payload, retain=False):
        self.c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def replies(self):
        with self.cond:
            return [json.loads(p) for t, p in self.msgs if t == ROOT + "reply"]

    def wait(self, pred, timeout=20):
        with self.cond:
            return self.cond.wait_for(pred, timeout)

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def _sign(key, topic, doc):
    return Signer({DEV: key}).payload(DEV, topic, doc)


def run(work=None, device_key=KEY):
    """device_key=None: the agent has no key, so nothing authenticates (the probe must then count)."""
    work = work or tempfile.mkdtemp(prefix="laddvakt-forge-")
    good = Signer({DEV: KEY})  # the backend's signer: one counter per kind, like the backend
    forged_cmds = []  # ids of forged commands
    r = {}
    with Broker("mosquitto") as br:
        peer = _Peer(br.port)
        # Retained before the agent subscribes, validly signed: delivered with RETAIN set.
        peer.send(ROOT + "cmd/ping", good.payload(DEV, ROOT + "cmd/ping", {"id": "f-retained"}), retain=True)
        forged_cmds.append("f-retained")
        peer.send(ROOT + "cmd/availability", good.payload(DEV, ROOT + "cmd/availability",
                                                          {"id": "f-retained-av", "available": False}), retain=True)
        forged_cmds.append("f-retained-av")
        peer.send(ROOT + "ack", good.payload(DEV, ROOT + "ack", {"v": 1, "seq": 4294967295}), retain=True)
        data = os.path.join(work, "dev")
        sim.prepare_device(data, br.port, LONG, DEV, config={"device_key": device_key.hex() if device_key else "", "uplink_ack": "backend"})
        cmd, env = sim.agent_command(data)
        agent = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            r.update(_probe(peer, good, forged_cmds))
        finally:
            agent.kill()
            out, err = agent.communicate()
            peer.send(ROOT + "cmd/ping", b"", retain=True)  # clear the retained messages
            peer.close()
        r["agent_traceback"] = int("Traceback" in err)
    return r


def _status(peer, good, tag):
    cid = "st-%s-%s" % (tag, uuid.uuid4().hex[:6])
    peer.send(ROOT + "cmd/status", good.payload(DEV, ROOT + "cmd/status", {"id": cid}))
    ok = peer.wait(lambda: any(x.get("id") == cid for x in peer.replies()))
    if not ok:
        raise RuntimeError("the agent did not answer a signed status command")
    return [x for x in peer.replies() if x.get("id") == cid][0]["result"]


def _probe(peer, good, forged_cmds):
    if not peer.wait(lambda: any(t == ROOT + "status" and b"online" in p for t, p in peer.msgs)):
        raise RuntimeError("the agent did not come online")
    # Control: an authentic command acts.
    t_ping = ROOT + "cmd/ping"
    g1 = good.payload(DEV, t_ping, {"id": "good-1"})
    peer.send(t_ping, g1)
    peer.wait(lambda: any(x.get("id") == "good-1" for x in peer.replies()))
    deadline = time.monotonic() + 20
    st = _status(peer, good, "0")
    while st["journal_seq"] < 3 and time.monotonic() < deadline:  # records for the ack to name
        time.sleep(0.1)
        st = _status(peer, good, "0")
    base_refused = st["auth"]["refused"]
    cmds = [
        ("f-unsigned", t_ping, json.dumps({"id": "f-unsigned"}).encode()),
        ("f-wrongkey", t_ping, _sign(OTHER_KEY, t_ping, {"id": "f-wrongkey"})),
        ("good-1", t_ping, g1),  # replay of the authentic one: a second ok reply would be acting on it
        ("f-tampered", t_ping, g1.replace(b"good-1", b"f-tampered")),
        ("f-topic", t_ping, good.payload(DEV, ROOT + "cmd/status", {"id": "f-topic"})),
        ("f-old", t_ping, _old_signed(t_ping, {"id": "f-old"})),
        ("f-av-unsigned", ROOT + "cmd/availability", json.dumps({"id": "f-av-unsigned", "available": False}).encode()),
        ("f-av-wrongkey", ROOT + "cmd/availability",
         _sign(OTHER_KEY, ROOT + "cmd/availability", {"id": "f-av-wrongkey", "available": False})),
    ]
    for cid, topic, payload in cmds:
        peer.send(topic, payload)
        if cid != "good-1":
            forged_cmds.append(cid)
    # Acks: the one authentic ack (seq 2), then forgeries that would move the cursor to the end.
    t_ack = ROOT + "ack"
    a1 = good.payload(DEV, t_ack, {"v": 1, "seq": 2})
    peer.send(t_ack, a1)
    acks = [
        json.dumps({"v": 1, "seq": 4294967295}).encode(),
        _sign(OTHER_KEY, t_ack, {"v": 1, "seq": 4294967295}),
        a1.replace(b'"seq":2', b'"seq":9'),
        a1,  # replayed: harmless here, but refused and counted all the same
        _old_signed(t_ack, {"v": 1, "seq": 4294967295}),
    ]
    for p in acks:
        peer.send(t_ack, p)
    # Validly signed, fresh, but for another install (a wiped device's old ack): ignored.
    peer.send(t_ack, good.payload(DEV, t_ack, {"v": 1, "seq": 4294967295, "install": "someone-else"}))
    st = _status(peer, good, "1")
    replies = peer.replies()
    acted = [x["id"] for x in replies if x.get("ok") and x.get("id") in forged_cmds]
    acted += ["good-1 (replayed)"] * max(0, sum(1 for x in replies if x.get("id") == "good-1" and x.get("ok")) - 1)
    unavailable = any(t == ROOT + "connector" and json.loads(p).get("status") == "Unavailable"
                      for t, p in list(peer.msgs))
    ack_acted = int(st["delivered_seq"] != 2)
    # The control for availability: an authentic one does make the connector Unavailable.
    peer.send(ROOT + "cmd/availability", good.payload(DEV, ROOT + "cmd/availability",
                                                      {"id": "good-av", "available": False}))
    av_works = peer.wait(lambda: any(t == ROOT + "connector" and json.loads(p).get("status") == "Unavailable"
                                     for t, p in peer.msgs), 20)
    refusals = [x for x in replies if x.get("id") is None and not x.get("ok") and "refused" in x.get("error", "")]
    return {
        "forged_sent": len(forged_cmds) + 1 + len(acks) + 1,  # + the retained ack, + the other install's ack
        "forged_acted_on": len(acted) + int(unavailable) + ack_acted,
        "acted_ids": acted,
        "refused_counted": st["auth"]["refused"] - base_refused,
        "refused_expected_after_control": len(cmds) + len(acks),
        "refusal_replies": len(refusals),
        "control_command_ok": int(any(x.get("id") == "good-1" and x.get("ok") for x in replies)),
        "control_ack_moved": int(st["delivered_seq"] == 2),
        "control_availability_ok": int(bool(av_works)),
        "retained_refused_at_connect": base_refused,
    }


def _old_signed(topic, doc):
    """Validly signed with the device's key, but with a counter from long ago (ctr 1000)."""
    return firmware.module("uplink.mac").Mac(KEY).sign(topic.encode(), json.dumps(doc, separators=(",", ":")).encode(), 1000)
