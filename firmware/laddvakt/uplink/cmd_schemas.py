# The command payload schemas, docs/schemas/cmd-<name>.json, as data the firmware can
# use without reading files (tests/host/test_cmd_schemas.py keeps the two equal). Kept as
# JSON text, parsed only for the command at hand: twenty schemas as live dicts would hold
# kilobytes of the agent's 64 KiB heap for good.
import json

SCHEMAS = {
    "authorize": (
        '{"type":"object","required":["id","id_tag"],"properties":{"id":{"type":"string",'
        '"minLength":1,"maxLength":64},"id_tag":{"type":"string","minLength":1,"maxLength":20}},'
        '"additionalProperties":false}'
    ),
    "availability": (
        '{"type":"object","required":["id","available"],"properties":{"id":{"type":"string",'
        '"minLength":1,"maxLength":64},"available":{"type":"boolean"}},'
        '"additionalProperties":false}'
    ),
    "clear_fault": (
        '{"type":"object","required":["id","code"],"properties":{"id":{"type":"string",'
        '"minLength":1,"maxLength":64},"code":{"enum":["PowerSwitchFailure"]}},'
        '"additionalProperties":false}'
    ),
    "clear_profile": (
        '{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
        '"maxLength":64},"profile_id":{"type":"integer","minimum":0,"maximum":2147483647},'
        '"purpose":{"enum":["ChargePointMaxProfile","TxDefaultProfile","TxProfile"]},'
        '"stack_level":{"type":"integer","minimum":0,"maximum":1000}},'
        '"additionalProperties":false}'
    ),
    "fleet_schedule": (
        '{"type":"object","required":["id","vehicles"],"properties":{"id":{"type":"string",'
        '"minLength":1,"maxLength":64},"vehicles":{"type":"array","maxItems":32,'
        '"items":{"type":"object","required":["vehicle_id","need_wh","by"],'
        '"properties":{"vehicle_id":{"type":"string","minLength":1,"maxLength":36},'
        '"need_wh":{"type":"number","minimum":1,"maximum":1000000},"by":{"type":["integer",'
        '"string"],"minLength":19,"maxLength":40},"max_w":{"type":"number","minimum":0,'
        '"maximum":1000000}},"additionalProperties":false}}},"additionalProperties":false}'
    ),
    "get_composite_schedule": (
        '{"type":"object","required":["id","duration"],"properties":{"id":{"type":"string",'
        '"minLength":1,"maxLength":64},"duration":{"type":"number","minimum":1,"maximum":604800},'
        '"charging_rate_unit":{"enum":["A","W"]},"start":{"type":["integer","string"],'
        '"minLength":19,"maxLength":40}},"additionalProperties":false}'
    ),
    "get_profiles": (
        '{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
        '"maxLength":64}},"additionalProperties":false}'
    ),
    "limit": (
        '{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
        '"maxLength":64},"current_a":{"type":"number","minimum":0,"maximum":80},'
        '"power_w":{"type":"number","minimum":0,"maximum":1000000},"duration_s":{"type":"number",'
        '"minimum":1,"maximum":604800},"clear":{"type":"boolean"}},"anyOf":[{"required":["clear"]},'
        '{"required":["duration_s"]}],"additionalProperties":false}'
    ),
    "ping": (
        '{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
        '"maxLength":64}},"additionalProperties":false}'
    ),
    "prices": (
        '{"type":"object","required":["id","start","step_s","prices"],'
        '"properties":{"id":{"type":"string","minLength":1,"maxLength":64},'
        '"start":{"type":"integer"},"step_s":{"type":"integer","minimum":60},'
        '"prices":{"type":"array","minItems":1,"maxItems":192,"items":{"type":"integer",'
        '"minimum":0}}},"additionalProperties":false}'
    ),
    "prices_set": (
        '{"type":"object","required":["id","schedule"],"properties":{"id":{"type":"string",'
        '"minLength":1,"maxLength":64},"schedule":{"type":"object"}},"additionalProperties":false}'
    ),
    "remote_start": (
        '{"type":"object","required":["id","id_tag"],"properties":{"id":{"type":"string",'
        '"minLength":1,"maxLength":64},"id_tag":{"type":"string","minLength":1,"maxLength":20},'
        '"vehicle_id":{"type":"string","minLength":1,"maxLength":36}},'
        '"additionalProperties":false}'
    ),
    "remote_stop": (
        '{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
        '"maxLength":64}},"additionalProperties":false}'
    ),
    "replay": (
        '{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
        '"maxLength":64},"from_seq":{"type":"integer","minimum":1,"maximum":4294967295},'
        '"to_seq":{"type":"integer","minimum":1,"maximum":4294967295},"sid":{"type":"string",'
        '"minLength":1,"maxLength":36}},"anyOf":[{"required":["from_seq"]},{"required":["sid"]}],'
        '"additionalProperties":false}'
    ),
    "session_limit": (
        '{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
        '"maxLength":64},"energy_wh":{"type":"number","minimum":0,"maximum":1000000},'
        '"duration_s":{"type":"number","minimum":0,"maximum":604800}},'
        '"anyOf":[{"required":["energy_wh"]},{"required":["duration_s"]}],'
        '"additionalProperties":false}'
    ),
    "set_profile": (
        '{"type":"object","required":["id","profile"],"properties":{"id":{"type":"string",'
        '"minLength":1,"maxLength":64},"profile":{"type":"object"}},"additionalProperties":false}'
    ),
    "status": (
        '{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
        '"maxLength":64}},"additionalProperties":false}'
    ),
    "tariff_get": (
        '{"type":"object","required":["id"],"properties":{"id":{"type":"string","minLength":1,'
        '"maxLength":64}},"additionalProperties":false}'
    ),
    "tariff_set": (
        '{"type":"object","required":["id","tariff"],"properties":{"id":{"type":"string",'
        '"minLength":1,"maxLength":64},"tariff":{"type":"object"}},"additionalProperties":false}'
    ),
}


def get(name):
    """The schema of command name as a dict, or None when it has none."""
    text = SCHEMAS.get(name)
    return None if text is None else json.loads(text)
