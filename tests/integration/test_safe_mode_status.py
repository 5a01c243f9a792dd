"""Safe mode over MQTT (issue 17, Deliver 1): a device whose boot fails on a bad billing value or
board, with a usable network config, publishes a retained status on its usual topic saying safe
mode, why, the file and the key (validated against docs/schemas/status.json), keeps its Will
there, and its serial console still answers."""
import json
import os
import re
import shutil
import subprocess

import pytest

from host_tools.device import console as hc
from host_tools.sim.agent import agent_command, prepare_device
from host_tools.testing.meter_sim import PtyPair
from tests.integration.mqtt_capture import Capture, validate

pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")

INSTALL = "0123456789ab"


@pytest.fixture
def pty_pair(tmp_path):
    """(the device's end, the host's end) of a socat pty pair."""
    with PtyPair(str(tmp_path)) as pair:
        yield pair.agent_path, pair.sim_path


@pytest.mark.parametrize("override, ident, reason, file, key", [
    # A billing value boot refuses, on a device that booted before: its install id and boot.
    ({"currency": "sek", "mqtt_password": "Secret9"}, {"install": INSTALL, "boot": 4},
     "key 'currency' must be an ISO 4217 code like 'SEK', got 'sek'", r"/config\.json$", "currency"),
    # A board that does not exist, on a device with no ident.json: install null, no key.
    ({"board": "no-such-board", "device_key": "ab" * 16}, None,
     "no board definition", r"/no-such-board\.json$", None),
])
def test_safe_mode_publishes_why_and_the_console_answers(tmp_path, pty_pair, mosquitto, override,
                                                         ident, reason, file, key):
    data = str(tmp_path / "device")
    prepare_device(data, mosquitto.port, device_id="safe-1", config=override)
    if ident:
        with open(os.path.join(data, "ident.json"), "w") as f:
            json.dump(ident, f)
    cmd, env = agent_command(data)
    p = subprocess.Popen(cmd + ["--console", pty_pair[0]], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    cap = Capture(mosquitto.port)
    dev = hc.DeviceConsole(pty_pair[1], timeout_s=10)
    try:
        dev.sync()
        st = dev.command("status")
        assert re.search(r"^agent\s+not running: .*%s" % re.escape(reason), st, re.M), st
        topic = "laddvakt/v1/safe-1/status"
        assert cap.wait(lambda: cap.on(topic)), "no status published"
        (t, payload), = cap.on(topic)
        doc = validate(t, payload)
        assert doc["state"] == "safe_mode" and reason in doc["reason"], doc
        assert re.search(file, doc["file"]) and doc["key"] == key, doc
        assert doc["install"] == (ident["install"] if ident else None), doc
        assert doc.get("boot") == (ident["boot"] if ident else None), doc
        assert b"Secret9" not in payload
        late = Capture(mosquitto.port, topic)  # subscribes after it went out: the retained copy
        try:
            assert late.wait(lambda: late.msgs), "the status is not retained"
            assert late.msgs == [(topic, payload, True)], late.msgs
        finally:
            late.stop()
        # The console answers, as without a network: config get masks secrets, reboot works.
        assert "Secret9" not in dev.command("config get")
        # The boot did not count itself, wrote no identity: safe mode writes nothing.
        assert os.path.exists(os.path.join(data, "ident.json")) == bool(ident)
        # A dead link leaves the Will on the topic: offline, the same install.
        p.kill()
        p.wait(5)
        assert cap.wait(lambda: len(cap.on(topic)) == 2, 30), cap.on(topic)
        will = validate(topic, cap.on(topic)[1][1])
        assert will == {"v": 1, "state": "offline", "install": doc["install"]}
    finally:
        cap.stop()
        dev.close()
        if p.poll() is None:
            p.kill()
            p.wait(5)
