"""Receipt tampering: every field of a session_end record changed alone, to count those the
backend's verify_signature still calls valid (issue 16 item 8; bench key
`tampered_fields_verified_valid`). The fields are walked from the record itself, so a field
added to session_end and left out of the signed payload is caught without editing this list."""
import copy

from host_tools.backend.billing import UNSIGNED_FIELDS, verify_signature


def field_paths(rec):
    """Every leaf of rec as a key path, except the UNSIGNED_FIELDS at the top."""
    out = []

    def walk(v, path):
        if isinstance(v, dict) and v:
            for k in v:
                walk(v[k], path + (k,))
        elif isinstance(v, list) and v:
            for i, x in enumerate(v):
                walk(x, path + (i,))
        else:
            out.append(path)

    for k, v in rec.items():
        if k not in UNSIGNED_FIELDS:
            walk(v, (k,))
    return out


def _other(v):
    """A value of the same kind that differs from v."""
    if isinstance(v, bool):
        return not v
    if isinstance(v, int):
        return v + 1
    if isinstance(v, str):
        return v + "X" if len(v) < 3 else v[:-1] + ("A" if v[-1] != "A" else "B")
    if v is None:
        return 1
    if isinstance(v, list):
        return [1]
    if isinstance(v, dict):
        return {"x": 1}
    return None


def tampered(rec, path):
    """A copy of rec with the field at path changed."""
    out = copy.deepcopy(rec)
    o = out
    for k in path[:-1]:
        o = o[k]
    o[path[-1]] = _other(o[path[-1]])
    return out


def still_valid(rec, key):
    """The paths that, changed alone, still verify as valid (the goal is none)."""
    if verify_signature(rec, key) != "valid":
        raise ValueError("the untouched record does not verify: %s" % verify_signature(rec, key))
    return [p for p in field_paths(rec) if verify_signature(tampered(rec, p), key) == "valid"]
