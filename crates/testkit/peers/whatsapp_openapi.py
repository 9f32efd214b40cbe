"""Judge for the WhatsApp request bodies Switchboard sends: each body of
the JSON list in argv[2] must validate against the schema Meta's own
OpenAPI description (argv[1]) gives for its message type.

Meta's schemas put `additionalProperties: false` on one member of an
`allOf`, meaning the union of the members' properties (a strict JSON Schema
validator would refuse Meta's own examples), so members are merged first.
Prints each error and exits 1 if there is any.
"""
import sys, json, yaml, jsonschema, copy
spec = yaml.safe_load(open(sys.argv[1]))
schemas = spec["components"]["schemas"]

def deref(s):
    while isinstance(s, dict) and "$ref" in s and len(s) == 1:
        s = schemas[s["$ref"].split("/")[-1]]
    return s

def merged(s):
    """allOf members merged into one object schema: Meta's schemas put
    additionalProperties: false on one member, meaning the union."""
    s = deref(s)
    if not isinstance(s, dict):
        return s
    s = copy.deepcopy(s)
    if "allOf" in s:
        out = {k: v for k, v in s.items() if k != "allOf"}
        props, req, closed = dict(out.get("properties", {})), list(out.get("required", [])), False
        for member in s["allOf"]:
            m = merged(member)
            props.update(m.get("properties", {}))
            req += m.get("required", [])
            closed = closed or m.get("additionalProperties") is False
            for k in ("type",):
                if k in m: out[k] = m[k]
        out["properties"], out["required"] = props, sorted(set(req))
        if closed: out["additionalProperties"] = False
        s = out
    for key in ("properties", "patternProperties"):
        if key in s:
            s[key] = {k: merged(v) for k, v in s[key].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(s.get(key), dict):
            s[key] = merged(s[key])
    for key in ("oneOf", "anyOf"):
        if key in s:
            s[key] = [merged(x) for x in s[key]]
    return s

mapping = schemas["Message"]["discriminator"]["mapping"]
failed = 0
for body in json.load(open(sys.argv[2])):
    kind = body.get("type")
    schema = merged({"$ref": mapping[kind]})
    # $refs left inside (those with siblings) resolve against the document.
    schema["components"] = spec["components"]
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(body))
    for e in errors:
        failed += 1
        print(f"{kind}: {list(e.absolute_path)}: {e.message[:300]}")
sys.exit(1 if failed else 0)
