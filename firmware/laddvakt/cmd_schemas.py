# The command payload schemas, docs/schemas/cmd-<name>.json, as data the firmware can
# use without reading files (tests/host/test_cmd_schemas.py keeps the two equal).
_ID = {"type": "string", "minLength": 1, "maxLength": 64}

SCHEMAS = {
    "ping": {
        "type": "object",
        "required": ["id"],
        "properties": {"id": _ID},
        "additionalProperties": False,
    },
    "status": {
        "type": "object",
        "required": ["id"],
        "properties": {"id": _ID},
        "additionalProperties": False,
    },
    "replay": {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": _ID,
            "from_seq": {"type": "integer", "minimum": 1, "maximum": 4294967295},
            "to_seq": {"type": "integer", "minimum": 1, "maximum": 4294967295},
            "sid": {"type": "string", "minLength": 1, "maxLength": 36},
        },
        "anyOf": [{"required": ["from_seq"]}, {"required": ["sid"]}],
        "additionalProperties": False,
    },
}
