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

# Two slips in Meta's v23.0 file, mended before judging: the button index
# pattern `^[2-6, 11-14]$` refuses Meta's own example "0" (the description
# says 0-9), and the button sub_type enum lacks copy_code, which Meta's
# template guide lists beside quick_reply and url.
for name in ("TemplateComponent", "ButtonComponent"):
    node = schemas[name]
    for part in [node] + node.get("allOf", []):
        props = part.get("properties", {})
        if "index" in props:
            props["index"]["pattern"] = "^[0-9]$"
        if "sub_type" in props and "copy_code" not in props["sub_type"]["enum"]:
            props["sub_type"]["enum"].append("copy_code")

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
