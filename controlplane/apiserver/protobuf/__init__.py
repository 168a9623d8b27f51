"""Kubernetes protobuf bodies (``application/vnd.kubernetes.protobuf``) for the served kinds.

In a nutshell: a protobuf body is the 4-byte magic ``k8s\\x00`` followed by a
``runtime.Unknown`` message whose ``typeMeta`` names the kind and whose ``raw`` is that kind's
message from k8s.io/api's generated.proto (we compile a subset, ``k8s/*.proto``).
:func:`decode` turns a request body into the JSON-shaped object the JSON path would have
produced; :func:`encode` does the reverse for a client that accepts only protobuf.

    obj = decode(request_body, res)      # {"apiVersion": "v1", "kind": "ConfigMap", ...}
    body = encode(obj)                   # b"k8s\\x00" + Unknown{...}

Errors: a body that is not a valid envelope or message is 400 BadRequest naming what failed;
a kind or encoding we have no message for is 415 UnsupportedMediaType (send JSON instead).
A field our subset lacks is rejected (400) rather than silently dropped.
"""

from __future__ import annotations

from typing import Any, Protocol

from google.protobuf import unknown_fields
from google.protobuf.message import DecodeError, Message

from controlplane.apiserver.protobuf.convert import ConvertError, from_json, to_json
from controlplane.apiserver.protobuf.k8s import runtime_pb2
from controlplane.apiserver.protobuf.kinds import message_for
from controlplane.apiserver.status import ApiError, Reason

PROTOBUF = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

__all__ = ["MAGIC", "PROTOBUF", "EncodeError", "decode", "encode", "message_for"]


class ResourceLike(Protocol):
    """What :func:`decode` needs of a served resource (contract C2a)."""

    @property
    def kind(self) -> str: ...
    @property
    def api_version(self) -> str: ...


class EncodeError(ValueError):
    """An object we cannot write as protobuf; the caller answers JSON instead."""


def decode(body: bytes, res: ResourceLike) -> dict[str, Any]:
    """The JSON-shaped object of a protobuf request body sent to ``res``'s endpoint."""
    if not body.startswith(MAGIC):
        raise ApiError(
            Reason.BAD_REQUEST,
            f"the protobuf body does not start with the k8s\\x00 magic (got {body[:4]!r}); "
            f"send {PROTOBUF} bodies as Kubernetes clients do, or JSON",
        )
    try:
        envelope = runtime_pb2.Unknown.FromString(body[len(MAGIC) :])
    except DecodeError as exc:
        raise ApiError(
            Reason.BAD_REQUEST, f"the protobuf body is not a runtime.Unknown envelope: {exc}"
        ) from exc
    if envelope.contentEncoding:
        raise ApiError(
            Reason.UNSUPPORTED_MEDIA_TYPE,
            f"protobuf contentEncoding {envelope.contentEncoding!r} is not supported; "
            "send the object unencoded",
        )
    api_version = envelope.typeMeta.apiVersion or res.api_version
    kind = envelope.typeMeta.kind or res.kind
    cls = message_for(api_version, kind)
    if cls is None:
        raise ApiError(
            Reason.UNSUPPORTED_MEDIA_TYPE,
            f"this apiserver has no protobuf message for {api_version} {kind}; "
            "send it as application/json",
        )
    try:
        msg = cls.FromString(envelope.raw)
    except DecodeError as exc:
        raise ApiError(
            Reason.BAD_REQUEST, f"the protobuf body is not a valid {api_version} {kind}: {exc}"
        ) from exc
    unknown = _first_unknown(msg, kind)
    if unknown:
        raise ApiError(
            Reason.BAD_REQUEST,
            f"the protobuf {kind} has {unknown}, which this apiserver's protobuf subset does "
            "not know; send the object as application/json",
        )
    return {"apiVersion": api_version, "kind": kind, **to_json(msg)}


def encode(obj: dict[str, Any]) -> bytes:
    """``obj`` as a protobuf body; :class:`EncodeError` for a kind or field we cannot write."""
    api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
    cls = message_for(api_version, kind)
    if cls is None:
        raise EncodeError(f"no protobuf message for {api_version or '?'} {kind or '?'}")
    msg = cls()
    fields = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    try:
        from_json(fields, msg)
    except ConvertError as exc:
        raise EncodeError(f"{api_version} {kind}: {exc}") from exc
    envelope = runtime_pb2.Unknown(raw=msg.SerializeToString(deterministic=True))
    envelope.typeMeta.apiVersion = api_version
    envelope.typeMeta.kind = kind
    body: bytes = envelope.SerializeToString(deterministic=True)
    return MAGIC + body


def _first_unknown(msg: Message, path: str) -> str | None:
    """Where the first field unknown to our subset is, e.g. "field 34 at spec (…PodSpec)"."""
    unknown = unknown_fields.UnknownFieldSet(msg)
    numbers = sorted({unknown[i].field_number for i in range(len(unknown))})
    if numbers:
        return f"field {numbers[0]} at {path} ({msg.DESCRIPTOR.full_name})"
    for field, value in msg.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        children: list[tuple[str, Message]]
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            if entry.fields_by_name["value"].type != field.TYPE_MESSAGE:
                continue
            children = [(f"{path}.{field.name}[{k}]", v) for k, v in value.items()]
        elif field.is_repeated:
            children = [(f"{path}.{field.name}[{i}]", v) for i, v in enumerate(value)]
        else:
            children = [(f"{path}.{field.name}", value)]
        for where, child in children:
            found = _first_unknown(child, where)
            if found:
                return found
    return None
