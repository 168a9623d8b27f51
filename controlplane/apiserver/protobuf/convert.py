"""Kubernetes' JSON form of a protobuf message, and back, walking the message descriptors.

In a nutshell: :func:`to_json` turns a decoded message into the dict the JSON path would have
produced, and :func:`from_json` fills a message from such a dict. Protobuf's own JSON mapping
(``json_format``) is not Kubernetes' JSON: Kubernetes writes times as RFC 3339 strings, a
Quantity as its string, an IntOrString as a bare number or string, ``FieldsV1`` as the object
its bytes hold, and Go's embedded structs (``Volume.volumeSource``, ``Probe.handler``,
``*KeySelector.localObjectReference``) inlined into their parent. Bytes are base64 in both.

    obj = to_json(core_pb2.ConfigMap.FromString(raw))   # {"metadata": {"name": "x"}, "data": …}
    from_json({"metadata": {"name": "x"}}, core_pb2.ConfigMap())

Empty values are omitted as Go's ``omitempty`` omits them: gogo-protobuf writes every
non-pointer field, zero or not, so a zero on the wire usually means "unset". Pointer fields
(``replicas``, ``immutable``, …) and fields without ``omitempty`` keep their zero
(:data:`KEEP_ZERO`), because there a zero is the client's choice.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

_META = "k8s.io.apimachinery.pkg.apis.meta.v1"
TIME = f"{_META}.Time"
MICRO_TIME = f"{_META}.MicroTime"
FIELDS_V1 = f"{_META}.FieldsV1"
QUANTITY = "k8s.io.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "k8s.io.apimachinery.pkg.util.intstr.IntOrString"

# Go embeds these structs with `json:",inline"`: their fields appear in the parent object.
INLINE: frozenset[str] = frozenset(
    {
        "k8s.io.api.core.v1.Volume.volumeSource",
        "k8s.io.api.core.v1.Probe.handler",
        "k8s.io.api.core.v1.ConfigMapKeySelector.localObjectReference",
        "k8s.io.api.core.v1.SecretKeySelector.localObjectReference",
        "k8s.io.api.core.v1.ConfigMapEnvSource.localObjectReference",
        "k8s.io.api.core.v1.SecretEnvSource.localObjectReference",
        "k8s.io.api.core.v1.ConfigMapVolumeSource.localObjectReference",
    }
)

# Scalars whose zero value is meaningful: Go pointer fields (written only when set) and
# fields without `omitempty` (always in Kubernetes' JSON). From the Go types of k8s.io/api.
KEEP_ZERO: frozenset[str] = frozenset(
    f"k8s.io.{name}"
    for name in (
        "apimachinery.pkg.apis.meta.v1.ObjectMeta.deletionGracePeriodSeconds",
        "apimachinery.pkg.apis.meta.v1.OwnerReference.controller",
        "apimachinery.pkg.apis.meta.v1.OwnerReference.blockOwnerDeletion",
        "apimachinery.pkg.apis.meta.v1.DeleteOptions.gracePeriodSeconds",
        "apimachinery.pkg.apis.meta.v1.DeleteOptions.orphanDependents",
        "apimachinery.pkg.apis.meta.v1.DeleteOptions.ignoreStoreReadErrorWithClusterBreakingPotential",
        "api.core.v1.ConfigMap.immutable",
        "api.core.v1.Secret.immutable",
        "api.coordination.v1.LeaseSpec.leaseDurationSeconds",
        "api.coordination.v1.LeaseSpec.leaseTransitions",
        "api.apps.v1.DeploymentSpec.replicas",
        "api.apps.v1.DeploymentSpec.revisionHistoryLimit",
        "api.apps.v1.DeploymentSpec.progressDeadlineSeconds",
        "api.apps.v1.DeploymentStatus.terminatingReplicas",
        "api.apps.v1.DeploymentStatus.collisionCount",
        "api.apps.v1.ReplicaSetSpec.replicas",
        "api.apps.v1.ReplicaSetStatus.terminatingReplicas",
        "api.core.v1.PodSpec.terminationGracePeriodSeconds",
        "api.core.v1.PodSpec.activeDeadlineSeconds",
        "api.core.v1.PodSpec.automountServiceAccountToken",
        "api.core.v1.PodSpec.shareProcessNamespace",
        "api.core.v1.PodSpec.priority",
        "api.core.v1.PodSpec.enableServiceLinks",
        "api.core.v1.PodSpec.setHostnameAsFQDN",
        "api.core.v1.PodSpec.hostUsers",
        "api.core.v1.Probe.terminationGracePeriodSeconds",
        "api.core.v1.SecurityContext.privileged",
        "api.core.v1.SecurityContext.runAsUser",
        "api.core.v1.SecurityContext.runAsGroup",
        "api.core.v1.SecurityContext.runAsNonRoot",
        "api.core.v1.SecurityContext.readOnlyRootFilesystem",
        "api.core.v1.SecurityContext.allowPrivilegeEscalation",
        "api.core.v1.PodSecurityContext.runAsUser",
        "api.core.v1.PodSecurityContext.runAsGroup",
        "api.core.v1.PodSecurityContext.runAsNonRoot",
        "api.core.v1.PodSecurityContext.fsGroup",
        "api.core.v1.Toleration.tolerationSeconds",
        "api.core.v1.ConfigMapKeySelector.optional",
        "api.core.v1.SecretKeySelector.optional",
        "api.core.v1.ConfigMapEnvSource.optional",
        "api.core.v1.SecretEnvSource.optional",
        "api.core.v1.ConfigMapVolumeSource.optional",
        "api.core.v1.ConfigMapVolumeSource.defaultMode",
        "api.core.v1.SecretVolumeSource.optional",
        "api.core.v1.SecretVolumeSource.defaultMode",
        "api.core.v1.KeyToPath.mode",
        "api.core.v1.ContainerStatus.started",
        "api.core.v1.ContainerStatus.ready",
        "api.core.v1.ContainerStatus.restartCount",
        "api.core.v1.ContainerStatus.image",
        "api.core.v1.ContainerStatus.imageID",
        "api.core.v1.ContainerStateTerminated.exitCode",
        "api.core.v1.ContainerPort.containerPort",
        "api.core.v1.DaemonEndpoint.Port",
        "api.core.v1.Event.reportingComponent",
        "api.core.v1.Event.reportingInstance",
    )
)


class ConvertError(ValueError):
    """A value that does not fit the message; ``path`` is the dotted JSON path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or '<root>'}: {message}")
        self.path = path


# ---- protobuf -> Kubernetes JSON ------------------------------------------------------------


def to_json(msg: Message) -> dict[str, Any]:
    """The Kubernetes JSON of a message (no ``apiVersion``/``kind``: the envelope has them)."""
    out: dict[str, Any] = {}
    for field, value in msg.ListFields():
        full = f"{msg.DESCRIPTOR.full_name}.{field.name}"
        if full in INLINE:
            out.update(to_json(value))
            continue
        converted = _field_to_json(field, value)
        if _is_empty(converted) and full not in KEEP_ZERO and not _is_scalar_message(field):
            continue
        out[field.name] = converted
    return out


def _field_to_json(field: FieldDescriptor, value: Any) -> Any:
    if _is_map(field):
        value_field = _msg_type(field).fields_by_name["value"]
        return {k: _single_to_json(value_field, v) for k, v in value.items()}
    if field.is_repeated:
        return [_single_to_json(field, v) for v in value]
    return _single_to_json(field, value)


def _single_to_json(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode("ascii")
    if field.type != FieldDescriptor.TYPE_MESSAGE:
        return value
    name = _msg_type(field).full_name
    if name in (TIME, MICRO_TIME):
        return _time_to_json(value, micro=name == MICRO_TIME)
    if name == QUANTITY:
        return value.string
    if name == INT_OR_STRING:
        return value.strVal if value.type == 1 else value.intVal
    if name == FIELDS_V1:
        return json.loads(value.Raw) if value.Raw else {}
    return to_json(value)


def _time_to_json(value: Message, *, micro: bool) -> str | None:
    seconds = getattr(value, "seconds", 0)
    nanos = getattr(value, "nanos", 0)
    if seconds == 0 and nanos == 0:
        return None  # Go's zero time: metav1.Time marshals it as an empty message
    when = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    if micro:
        when = when.replace(microsecond=nanos // 1000)
        return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_empty(value: Any) -> bool:
    return value is None or value in ("", 0, False) or value == {} or value == []


def _msg_type(field: FieldDescriptor) -> Descriptor:
    desc = field.message_type
    if desc is None:
        raise TypeError(f"{field.full_name} is not a message field")
    return desc


def _is_scalar_message(field: FieldDescriptor) -> bool:
    """IntOrString and Quantity: present means set (``maxUnavailable: 0`` is a choice)."""
    return bool(
        field.type == FieldDescriptor.TYPE_MESSAGE
        and not field.is_repeated
        and _msg_type(field).full_name in (INT_OR_STRING, QUANTITY)
    )


def _is_map(field: FieldDescriptor) -> bool:
    return bool(
        field.type == FieldDescriptor.TYPE_MESSAGE and _msg_type(field).GetOptions().map_entry
    )


# ---- Kubernetes JSON -> protobuf ------------------------------------------------------------


def from_json(obj: dict[str, Any], msg: Message, path: str = "") -> None:
    """Fill ``msg`` from a Kubernetes JSON object; :class:`ConvertError` on what does not fit."""
    targets = _json_targets(msg.DESCRIPTOR)
    for key, value in obj.items():
        if value is None:
            continue  # JSON null: the field is unset ("creationTimestamp": null)
        where = f"{path}.{key}" if path else key
        hit = targets.get(key)
        if hit is None:
            raise ConvertError(
                where, f"no such field in {msg.DESCRIPTOR.full_name} (protobuf subset)"
            )
        holder = msg
        for inline in hit[:-1]:
            holder = getattr(holder, inline.name)
        _field_from_json(hit[-1], value, holder, where)


def _json_targets(desc: Any) -> dict[str, tuple[FieldDescriptor, ...]]:
    """JSON key -> the chain of fields that holds it (longer than one through inlined fields)."""
    targets: dict[str, tuple[FieldDescriptor, ...]] = {}
    for field in desc.fields:
        if f"{desc.full_name}.{field.name}" in INLINE:
            for key, chain in _json_targets(_msg_type(field)).items():
                targets[key] = (field, *chain)
        else:
            targets[field.name] = (field,)
    return targets


def _field_from_json(field: FieldDescriptor, value: Any, msg: Message, path: str) -> None:
    if _is_map(field):
        if not isinstance(value, dict):
            raise ConvertError(path, f"expected an object, got {type(value).__name__}")
        container = getattr(msg, field.name)
        value_field = _msg_type(field).fields_by_name["value"]
        for k, v in value.items():
            if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                _message_from_json(value_field, v, container[k], f"{path}.{k}")
            else:
                container[k] = _scalar_from_json(value_field, v, f"{path}.{k}")
        return
    if field.is_repeated:
        if not isinstance(value, list):
            raise ConvertError(path, f"expected a list, got {type(value).__name__}")
        container = getattr(msg, field.name)
        for i, item in enumerate(value):
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                _message_from_json(field, item, container.add(), f"{path}[{i}]")
            else:
                container.append(_scalar_from_json(field, item, f"{path}[{i}]"))
        return
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        child = getattr(msg, field.name)
        child.SetInParent()  # present even when empty ({} is not null)
        _message_from_json(field, value, child, path)
        return
    setattr(msg, field.name, _scalar_from_json(field, value, path))


def _message_from_json(field: FieldDescriptor, value: Any, msg: Message, path: str) -> None:
    name = _msg_type(field).full_name
    if name in (TIME, MICRO_TIME):
        seconds, nanos = _parse_time(value, path)
        msg.seconds = seconds  # type: ignore[attr-defined]
        if name == MICRO_TIME and nanos:
            msg.nanos = nanos  # type: ignore[attr-defined]
    elif name == QUANTITY:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConvertError(path, f"expected a quantity string, got {type(value).__name__}")
        msg.string = str(value)  # type: ignore[attr-defined]
    elif name == INT_OR_STRING:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ConvertError(path, f"expected an integer or a string, got {value!r}")
        if isinstance(value, int):
            msg.type, msg.intVal = 0, value  # type: ignore[attr-defined]
        else:
            msg.type, msg.strVal = 1, value  # type: ignore[attr-defined]
    elif name == FIELDS_V1:
        msg.Raw = json.dumps(value, separators=(",", ":")).encode()  # type: ignore[attr-defined]
    elif isinstance(value, dict):
        from_json(value, msg, path)
    else:
        raise ConvertError(path, f"expected an object, got {type(value).__name__}")


def _scalar_from_json(field: FieldDescriptor, value: Any, path: str) -> Any:
    if field.type == FieldDescriptor.TYPE_BYTES:
        if not isinstance(value, str):
            raise ConvertError(path, f"expected a base64 string, got {type(value).__name__}")
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ConvertError(path, f"not valid base64: {exc}") from exc
    expected: type | tuple[type, ...]
    if field.type == FieldDescriptor.TYPE_STRING:
        expected = str
    elif field.type == FieldDescriptor.TYPE_BOOL:
        expected = bool
    else:
        expected = int
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConvertError(path, f"expected {expected.__name__}, got {value!r}")  # type: ignore[union-attr]
    return value


def _parse_time(value: Any, path: str) -> tuple[int, int]:
    if not isinstance(value, str):
        raise ConvertError(path, f"expected an RFC 3339 time string, got {value!r}")
    try:
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConvertError(path, f"not an RFC 3339 time: {value!r}") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return int(when.timestamp() // 1), when.microsecond * 1000
