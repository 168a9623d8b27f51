"""The Swagger 2.0 document in gnostic's protobuf form, as kubectl fetches ``/openapi/v2``.

In a nutshell: kubectl (1.20, and 1.32 for client-side validation and ``explain
--output plaintext-openapiv2``) asks for
``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``
only and unmarshals the answer as gnostic's ``openapi.v2.Document``. :func:`v2_protobuf` fills
that message from the JSON document :func:`openapi.openapi_v2` builds, covering exactly the
Swagger constructs that document uses; a construct it does not know raises ``ValueError``
(a bug here, caught by the tests), never a silently smaller document. Vendor extensions go
in ``Any.yaml`` as JSON text, which is YAML, as kube-openapi reads them.

    body = v2_protobuf(openapi_v2(SERVED))
"""

from __future__ import annotations

import json
from typing import Any

from controlplane.apiserver.protobuf.gnostic import openapiv2_pb2 as pb

MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"  # what clients ask
# What kube-openapi answers: Go's mime parser rejects the "@" of the requested form.
RESPONSE_MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

_SCHEMA_KEYS = frozenset(
    {
        "$ref",
        "format",
        "title",
        "description",
        "required",
        "additionalProperties",
        "type",
        "items",
        "allOf",
        "properties",
        "readOnly",
    }
)
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


def v2_protobuf(doc: dict[str, Any]) -> bytes:
    out = pb.Document(swagger=doc["swagger"])
    info = doc.get("info", {})
    out.info.title = info.get("title", "")
    out.info.version = info.get("version", "")
    for path, item in doc.get("paths", {}).items():
        out.paths.path.add(name=path, value=_path_item(item))
    for name, schema in doc.get("definitions", {}).items():
        out.definitions.additional_properties.add(name=name, value=_schema(schema, name))
    for name, sec in doc.get("securityDefinitions", {}).items():
        item = out.security_definitions.additional_properties.add(name=name)
        key = item.value.api_key_security
        key.type, key.name, key.description = sec["type"], sec["name"], sec.get("description", "")
        setattr(key, "in", sec["in"])
    for requirement in doc.get("security", []):
        _security(out.security.add(), requirement)
    return out.SerializeToString(deterministic=True)


def _extensions(target: Any, obj: dict[str, Any]) -> None:
    for key, value in obj.items():
        if key.startswith("x-"):
            target.add(name=key).value.yaml = json.dumps(value)


def _schema(obj: dict[str, Any], where: str) -> pb.Schema:
    unknown = {k for k in obj if not k.startswith("x-")} - _SCHEMA_KEYS
    if unknown:
        raise ValueError(f"{where}: schema keys {sorted(unknown)} have no gnostic conversion")
    out = pb.Schema(
        _ref=obj.get("$ref", ""),
        format=obj.get("format", ""),
        title=obj.get("title", ""),
        description=obj.get("description", ""),
        required=obj.get("required", []),
        read_only=obj.get("readOnly", False),
    )
    if "type" in obj:
        out.type.value.append(obj["type"])
    if "items" in obj:
        out.items.schema.append(_schema(obj["items"], f"{where}.items"))
    if "additionalProperties" in obj:
        extra = obj["additionalProperties"]
        if isinstance(extra, bool):
            out.additional_properties.boolean = extra
        else:
            out.additional_properties.schema.CopyFrom(_schema(extra, f"{where}.*"))
    for i, part in enumerate(obj.get("allOf", [])):
        out.all_of.append(_schema(part, f"{where}.allOf[{i}]"))
    for name, prop in obj.get("properties", {}).items():
        out.properties.additional_properties.add(name=name, value=_schema(prop, f"{where}.{name}"))
    _extensions(out.vendor_extension, obj)
    return out


def _path_item(item: dict[str, Any]) -> pb.PathItem:
    out = pb.PathItem()
    for param in item.get("parameters", []):
        out.parameters.append(_parameter(param))
    for method in _METHODS:
        if method in item:
            getattr(out, method).CopyFrom(_operation(item[method]))
    _extensions(out.vendor_extension, item)
    return out


def _operation(op: dict[str, Any]) -> pb.Operation:
    out = pb.Operation(
        tags=op.get("tags", []),
        description=op.get("description", ""),
        operation_id=op.get("operationId", ""),
        produces=op.get("produces", []),
        consumes=op.get("consumes", []),
        schemes=op.get("schemes", []),
    )
    for param in op.get("parameters", []):
        out.parameters.append(_parameter(param))
    for code, resp in op.get("responses", {}).items():
        value = out.responses.response_code.add(name=code).value.response
        value.description = resp.get("description", "")
        if "schema" in resp:
            value.schema.schema.CopyFrom(_schema(resp["schema"], f"{out.operation_id} {code}"))
    _extensions(out.vendor_extension, op)
    return out


def _parameter(param: dict[str, Any]) -> pb.ParametersItem:
    out = pb.ParametersItem()
    where = param["in"]
    if where == "body":
        body = out.parameter.body_parameter
        body.name, body.required = param["name"], param.get("required", False)
        body.description = param.get("description", "")
        setattr(body, "in", "body")
        body.schema.CopyFrom(_schema(param["schema"], f"parameter {param['name']}"))
        return out
    if where == "query":
        sub: Any = out.parameter.non_body_parameter.query_parameter_sub_schema
    elif where == "path":
        sub = out.parameter.non_body_parameter.path_parameter_sub_schema
    else:
        raise ValueError(f"parameter {param['name']}: 'in: {where}' has no gnostic conversion")
    sub.name, sub.type = param["name"], param.get("type", "")
    sub.required = param.get("required", False)
    sub.description = param.get("description", "")
    sub.format = param.get("format", "")
    sub.unique_items = param.get("uniqueItems", False)
    setattr(sub, "in", where)
    return out


def _security(out: pb.SecurityRequirement, requirement: dict[str, list[str]]) -> None:
    for name, scopes in requirement.items():
        out.additional_properties.add(name=name).value.value.extend(scopes)
