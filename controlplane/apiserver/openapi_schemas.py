"""Swagger schemas of Kubernetes kinds, derived from the official client's model classes.

In a nutshell: :func:`definitions` walks ``kubernetes.client.models`` (``V1Pod.openapi_types``,
``attribute_map``, the pydantic field descriptions and the class docstrings) from the root
kinds and returns Swagger 2.0 definitions under Kubernetes' own names
(``io.k8s.api.core.v1.Pod``), so ``kubectl explain`` prints the real descriptions. The client
flattens a few named scalar types; they are mapped back to Kubernetes' definitions (``datetime``
→ ``Time``, an int-or-str union → ``IntOrString``, ``fieldsV1`` → ``FieldsV1``).

    defs = definitions(("V1Pod", "V1PodList"))
    defs["io.k8s.api.core.v1.Pod"]["properties"]["spec"]  # {"$ref": "#/definitions/…PodSpec", …}

Importing ``kubernetes.client`` costs about a second, so it happens on the first call only.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable
from typing import Any

Schema = dict[str, Any]
REF = "#/definitions/"

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
TIME = f"{META}.Time"
MICRO_TIME = f"{META}.MicroTime"
FIELDS_V1 = f"{META}.FieldsV1"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"

# Definitions Kubernetes gives to types the client flattens to scalars (its swagger.json).
SCALARS: dict[str, Schema] = {
    TIME: {
        "description": "Time is a wrapper around time.Time which supports correct marshaling to "
        "YAML and JSON. Wrappers are provided for many of the factory methods that the time "
        "package offers.",
        "type": "string",
        "format": "date-time",
    },
    MICRO_TIME: {
        "description": "MicroTime is version of Time with microsecond level precision.",
        "type": "string",
        "format": "date-time",
    },
    FIELDS_V1: {
        "description": "FieldsV1 stores a set of fields in a data structure like a Trie, in "
        "JSON format.",
        "type": "object",
    },
    QUANTITY: {
        "description": "Quantity is a fixed-point representation of a number, serialized as a "
        'string such as "100m", "1Gi" or "2".',
        "type": "string",
    },
    INT_OR_STRING: {
        "description": "IntOrString is a type that can hold an int32 or a string.",
        "type": "string",
        "format": "int-or-string",
    },
}

# MicroTime fields outside LeaseSpec (the client flattens both Time kinds to ``datetime``).
_MICRO_TIME_FIELDS = frozenset(
    {
        ("CoreV1Event", "eventTime"),
        ("CoreV1EventSeries", "lastObservedTime"),
        ("EventsV1Event", "eventTime"),
        ("EventsV1EventSeries", "lastObservedTime"),
    }
)

# Client class (without the version prefix) -> Kubernetes package, where not core/v1.
_META_TYPES = frozenset(
    {
        "ObjectMeta",
        "ListMeta",
        "OwnerReference",
        "LabelSelector",
        "LabelSelectorRequirement",
        "ManagedFieldsEntry",
        "DeleteOptions",
        "Preconditions",
        "Status",
        "StatusDetails",
        "StatusCause",
    }
)
_PACKAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(Deployment|ReplicaSet|RollingUpdateDeployment|DaemonSet|StatefulSet)"), "apps"),
    (re.compile(r"^Lease(Spec|List)?$"), "coordination"),
    (re.compile(r"^Eviction$"), "policy"),
    (re.compile(r"^Scale(Spec|Status)?$"), "autoscaling"),
)
# An optional group prefix where names collide across groups (``CoreV1ResourceClaim``).
_CLASS_RE = re.compile(r"^([A-Z][a-z]+)?(V\d+(?:alpha\d+|beta\d+)?)([A-Z]\w*)$")


def definition_name(class_name: str) -> str:
    """``V1Pod`` -> ``io.k8s.api.core.v1.Pod``; ``V1ObjectMeta`` -> ``io.k8s.apimachinery…``."""
    m = _CLASS_RE.match(class_name)
    if m is None:
        raise ValueError(f"{class_name!r} is not a versioned Kubernetes client model class")
    prefix, version, name = m.group(1), m.group(2).lower(), m.group(3)
    if prefix:
        return f"io.k8s.api.{prefix.lower()}.{version}.{name}"
    if name in _META_TYPES:
        return f"{META}.{name}"
    package = next((pkg for rx, pkg in _PACKAGES if rx.match(name)), "core")
    return f"io.k8s.api.{package}.{version}.{name}"


def model_class(class_name: str) -> Any | None:
    from kubernetes.client import models  # lazy: ~1 s

    return getattr(models, class_name, None)


def definitions(roots: Iterable[str]) -> dict[str, Schema]:
    """Swagger definitions for the client classes ``roots`` and everything they reference."""
    out: dict[str, Schema] = {}
    pending = [r for r in roots]
    while pending:
        class_name = pending.pop()
        name = definition_name(class_name)
        if name in out:
            continue
        cls = model_class(class_name)
        if cls is None:
            raise ValueError(f"the kubernetes client has no model {class_name}")
        out[name] = _model_schema(cls, pending)
    for name, schema in SCALARS.items():
        out.setdefault(name, dict(schema))
    return dict(sorted(out.items()))


def _model_schema(cls: Any, pending: list[str]) -> Schema:
    properties: dict[str, Schema] = {}
    required: list[str] = []
    fields = getattr(cls, "model_fields", {})
    for attr, type_str in cls.openapi_types.items():
        json_name = cls.attribute_map[attr]
        info = fields.get(attr)
        prop = _type_schema(type_str, info, pending, owner=cls.__name__, attr=json_name)
        description = getattr(info, "description", None)
        if description:
            prop = {"description": description, **prop}
        properties[json_name] = prop
        if info is not None and info.is_required():
            required.append(json_name)
    schema: Schema = {"type": "object", "properties": properties}
    description = _class_description(cls)
    if description:
        schema = {"description": description, **schema}
    if required:
        schema["required"] = sorted(required)
    return schema


def _class_description(cls: Any) -> str:
    doc = (cls.__doc__ or "").strip()
    first = doc.split("\n\n", 1)[0].strip()
    if not first or first.startswith("NOTE: This class is auto generated"):
        return ""
    return " ".join(line.strip() for line in first.splitlines())


def _type_schema(type_str: str, info: Any, pending: list[str], *, owner: str, attr: str) -> Schema:
    if type_str.startswith("List["):
        inner = type_str[len("List[") : -1]
        return {
            "type": "array",
            "items": _type_schema(inner, None, pending, owner=owner, attr=attr),
        }
    if type_str.startswith("Dict[str, "):
        inner = type_str[len("Dict[str, ") : -1]
        value = _type_schema(inner, None, pending, owner=owner, attr=attr)
        return {"type": "object", "additionalProperties": value}
    if type_str == "str":
        return {"type": "string"}
    if type_str == "int":
        return {"type": "integer", "format": "int64"}
    if type_str == "float":
        return {"type": "number", "format": "double"}
    if type_str == "bool":
        return {"type": "boolean"}
    if type_str == "bytearray" or type_str == "bytes":
        return {"type": "string", "format": "byte"}
    if type_str == "datetime":
        micro = owner == "V1LeaseSpec" or (owner, attr) in _MICRO_TIME_FIELDS
        return {"$ref": REF + (MICRO_TIME if micro else TIME)}
    if type_str == "date":
        return {"type": "string", "format": "date"}
    if type_str == "object":
        if attr == "fieldsV1":
            return {"$ref": REF + FIELDS_V1}
        if info is not None and _is_int_or_str(info.annotation):
            return {"$ref": REF + INT_OR_STRING}
        return {"type": "object"}
    pending.append(type_str)
    return {"$ref": REF + definition_name(type_str)}


def _is_int_or_str(annotation: Any) -> bool:
    """True for the client's ``Union[int, str]`` (strict-annotated): Kubernetes' IntOrString."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return False
    bases = set()
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is typing.Annotated:
            arg = typing.get_args(arg)[0]
        bases.add(arg)
    return {int, str} <= bases
