# A JSON Schema (draft 2020-12) validator for the small subset our command schemas
# use, since jsonschema does not run on MicroPython. Keywords: type, properties,
# required, additionalProperties (false), anyOf, enum, const, minLength, maxLength,
# minimum, maximum, items, minItems, maxItems. tests/host/test_cmd_schemas.py checks that it agrees with
# jsonschema on the schema files.


def _is_int(v):
    if type(v) is int:
        return True
    # JSON Schema: 2.0 is an integer too.
    return type(v) is float and v - v == 0 and v == int(v)


def _is(v, t):
    if t == "object":
        return type(v) is dict
    if t == "string":
        return type(v) is str
    if t == "integer":
        return _is_int(v)
    if t == "number":
        return type(v) is int or type(v) is float
    if t == "boolean":
        return type(v) is bool
    if t == "array":
        return type(v) is list
    if t == "null":
        return v is None
    return False


def _eq(a, b):
    # true is not 1 in JSON Schema, though it is in Python.
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    return a == b


def check(schema, v, path="(root)"):
    """None if v is valid, else a one-line reason naming where."""
    t = schema.get("type")
    if t is not None:
        ts = t if type(t) is list else (t,)
        if not any(_is(v, x) for x in ts):
            return "%s must be %s" % (path, " or ".join(ts))
    if "const" in schema and not _eq(v, schema["const"]):
        return "%s must be %s" % (path, schema["const"])
    if "enum" in schema and not any(_eq(v, e) for e in schema["enum"]):
        return "%s must be one of %s" % (path, ", ".join(str(e) for e in schema["enum"]))
    if type(v) is str:
        if len(v) < schema.get("minLength", 0):
            return "%s must be at least %d characters" % (path, schema["minLength"])
        if "maxLength" in schema and len(v) > schema["maxLength"]:
            return "%s must be at most %d characters" % (path, schema["maxLength"])
    if (type(v) is int or type(v) is float) and type(v) is not bool:
        if "minimum" in schema and v < schema["minimum"]:
            return "%s must be >= %s" % (path, schema["minimum"])
        if "maximum" in schema and v > schema["maximum"]:
            return "%s must be <= %s" % (path, schema["maximum"])
    if type(v) is dict:
        for k in schema.get("required", ()):
            if k not in v:
                return "'%s' is required" % k
        props = schema.get("properties", {})
        for k in v:
            sub = props.get(k)
            if sub is None:
                if schema.get("additionalProperties", True) is False:
                    return "unexpected property '%s'" % k
                continue
            err = check(sub, v[k], "'%s'" % k)
            if err:
                return err
    if type(v) is list:
        if len(v) < schema.get("minItems", 0):
            return "%s must have at least %d items" % (path, schema["minItems"])
        if "maxItems" in schema and len(v) > schema["maxItems"]:
            return "%s must have at most %d items" % (path, schema["maxItems"])
        sub = schema.get("items")
        if sub is not None:
            for i in range(len(v)):
                err = check(sub, v[i], "%s[%d]" % (path, i))
                if err:
                    return err
    any_of = schema.get("anyOf")
    if any_of is not None and all(check(s, v, path) for s in any_of):
        return check(any_of[0], v, path)
    return None
