"""JSON Schema (draft 2020-12) for scenario files, rendered from the field tables.

In a nutshell: ``json_schema()`` walks ``fields.ROOT`` and ``faultkinds.FAULT_KINDS`` and returns
the schema editors use for completion and inline checks (``# yaml-language-server: $schema=…``).
It is a helper for editors, not the judge: the loader is stricter (targets that exist in the
cluster, ``at`` < duration, …). ``python -m harness.scenario.schema [DIR]`` rewrites
``DIR/schema.json`` and the field reference in ``DIR/README.md`` (DIR defaults to ``scenarios``);
a unit test fails when either is stale.

    json.dumps(json_schema(), indent=2) == Path("scenarios/schema.json").read_text().rstrip()
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from harness.model import FaultKind
from harness.scenario.durations import DURATION_PATTERN
from harness.scenario.faultkinds import (
    AT,
    FAULT_KINDS,
    FOR,
    TOXIC_ATTRIBUTES,
    DurationUse,
    FaultKindSpec,
)
from harness.scenario.fields import ROOT, FieldSpec, FieldType
from harness.scenario.reference import update_readme

F = FieldType
SCHEMA_ID = "https://chaosplane.invalid/schemas/scenario.schema.json"
NON_NEGATIVE_DURATION = DURATION_PATTERN.replace("^-?", "^")


def json_schema() -> dict[str, Any]:
    schema = _section(ROOT)
    defs: dict[str, Any] = {
        "duration": {
            "description": "500ms, 5s, 1m, 1.5h, 20us, or a number of seconds.",
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": NON_NEGATIVE_DURATION},
            ],
        },
        "durationWithUnit": {
            "description": "A duration with its unit (a bare number would be ambiguous: "
            "Toxiproxy counts ms, scenario files count seconds).",
            "type": "string",
            "pattern": NON_NEGATIVE_DURATION,
        },
    }
    variants = []
    for spec in FAULT_KINDS.values():
        for name, variant in _fault_variants(spec):
            defs[name] = variant
            variants.append({"$ref": f"#/$defs/{name}"})
    schema["properties"]["faults"] = {
        "description": ROOT.child("faults").doc,
        "type": ["array", "null"],
        "items": {"oneOf": variants},
        "default": [],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "chaosplane scenario",
        **schema,
        "$defs": defs,
    }


def _section(spec: FieldSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": spec.doc,
        "type": "object",
        "properties": {f.name: _field(f) for f in spec.fields},
        "additionalProperties": False,
    }
    required = [f.name for f in spec.fields if f.required]
    if required:
        out["required"] = required
    return out


def _field(spec: FieldSpec) -> dict[str, Any]:
    if spec.type is F.SECTION:
        return _section(spec)
    body = _body(spec)
    if spec.nullable:
        body = {"anyOf": [body, {"type": "null"}]}
    out = {"description": spec.doc, **body}
    if spec.default is not None or spec.nullable:
        out["default"] = spec.default
    return out


def _bounds(spec: FieldSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.minimum is not None:
        out["exclusiveMinimum" if spec.exclusive_minimum else "minimum"] = spec.minimum
    if spec.maximum is not None:
        out["maximum"] = spec.maximum
    return out


def _body(spec: FieldSpec) -> dict[str, Any]:
    t = spec.type
    if t in (F.INTEGER, F.NUMBER):
        return {"type": t.value, **_bounds(spec)}
    if t is F.BOOLEAN:
        return {"type": "boolean"}
    if t is F.STRING:
        return {"type": "string"}
    if t in (F.PATTERN, F.TARGET):
        return {"type": "string", "pattern": spec.pattern} if spec.pattern else {"type": "string"}
    if t is F.DURATION:
        return {"$ref": "#/$defs/durationWithUnit" if spec.unit_required else "#/$defs/duration"}
    if t is F.CHOICE:
        return {"enum": list(spec.options())}
    if t is F.CHOICE_LIST:
        return {"type": "array", "items": {"enum": list(spec.options())}, "uniqueItems": True}
    if t is F.PATTERN_LIST:
        items = {"type": "string", "pattern": spec.pattern}
        return {"type": "array", "items": items, "uniqueItems": True}
    if t is F.FAULTS:
        return {"type": "array"}  # items are filled in by json_schema()
    if t is F.WEIGHTS:
        return {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}}
    raise AssertionError(f"no schema for {t}")


def _fault_variants(spec: FaultKindSpec) -> list[tuple[str, dict[str, Any]]]:
    kind = str(spec.kind)
    if spec.kind is not FaultKind.TOXIC:
        return [(f"fault-{kind}", _fault_object(spec, _field(spec.value), spec.params))]
    return [
        (
            f"fault-toxic-{toxic}",
            _fault_object(
                spec,
                {"description": spec.value.doc, "const": toxic},
                spec.params + attributes,
            ),
        )
        for toxic, attributes in TOXIC_ATTRIBUTES.items()
    ]


def _fault_object(
    spec: FaultKindSpec, value: dict[str, Any], params: tuple[FieldSpec, ...]
) -> dict[str, Any]:
    kind = str(spec.kind)
    properties: dict[str, Any] = {kind: value, "at": _field(AT)}
    required = [kind, "at"]
    if spec.duration is not DurationUse.FORBIDDEN:
        properties["for"] = {**_field(FOR), "description": f"{FOR.doc} ({spec.duration_doc})"}
    if spec.duration is DurationUse.REQUIRED:
        required.append("for")
    for param in params:
        properties[param.name] = _field(param)
        if param.required:
            required.append(param.name)
    return {
        "description": spec.doc,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def render_schema() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0] if args else "scenarios")
    (folder / "schema.json").write_text(render_schema(), encoding="utf-8")
    readme = folder / "README.md"
    readme.write_text(update_readme(readme.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {folder / 'schema.json'} and the field reference in {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
