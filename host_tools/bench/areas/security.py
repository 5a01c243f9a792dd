"""Bench area `security`: what the generated per-device broker ACL lets through, from a real
mosquitto run (host_tools.testing.acl_probe; docs/backend.md, Broker security), and what a live
agent acts on among forged, replayed and retained commands and acks (host_tools.testing.forge_probe;
docs/mqtt.md, Authentication).

`acl_cross_device_writes_accepted` counts device A's publishes, subscriptions, commands, acks and
discovery overwrites on device B's topics that reached a reader. The same run sends the allowed
traffic beside them; if any of it is missing the figure is not reported as 0 but as a failure.
"""
import tempfile

from host_tools.testing import acl_probe, cmd_fuzz, forge_probe
from host_tools.testing.broker import Broker

FUZZ_N = 10000  # the full corpus; `make test` runs 2,000 (tests/integration/test_tight_heap.py)


def measure():
    r = acl_probe.run()
    f = forge_probe.run()
    with Broker("mosquitto") as br:
        z = cmd_fuzz.fuzz_tight(_Capture, br, tempfile.mkdtemp(prefix="laddvakt-fuzz-"), n=FUZZ_N)
    return {
        "robust_tight_heap_memory_errors": z["memory_errors"] + z["link_drops"] + z["uplink_memory_lines"],
        "robust_tight_heap_fuzz_replies": z["replies"],
        "robust_tight_heap_fuzz_alive": int(z["alive"]),
        "forged_commands_acted_on": f["forged_acted_on"],
        "forged_commands_sent": f["forged_sent"],
        "forged_controls_failed": 3 - (f["control_command_ok"] + f["control_ack_moved"] + f["control_availability_ok"]),
        "acl_cross_device_writes_accepted": r["cross_device_accepted"],
        "acl_allowed_messages_missing": r["controls_missing"],
        "acl_anonymous_or_wrong_password_accepted": r["anonymous_accepted"] + r["wrong_password_accepted"],
    }


def _Capture(port):
    from tests.integration.mqtt_capture import Capture  # the tests' recorder, run from the repo root

    return Capture(port)


def check(got):
    why = []
    if not got["robust_tight_heap_fuzz_alive"]:
        why.append("the agent stopped answering under the command fuzz at the runtime budget")
    if got["acl_allowed_messages_missing"]:
        why.append("allowed broker traffic did not arrive: the ACL probe measured nothing")
    if got["forged_controls_failed"]:
        why.append("signed control commands/acks did not act: the forgery probe measured nothing")
    for k in ("acl_cross_device_writes_accepted", "acl_anonymous_or_wrong_password_accepted",
              "forged_commands_acted_on", "robust_tight_heap_memory_errors"):
        if got[k]:
            why.append("%s = %d (goal 0)" % (k, got[k]))
    return why
