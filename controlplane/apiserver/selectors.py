"""Label and field selectors (``labelSelector=``, ``fieldSelector=``) for list and watch.

In a nutshell: :func:`parse_selector` turns the two query parameters into one
:class:`Selector` whose ``matches(obj)`` decides membership, with Kubernetes' grammar
(API concepts: "Label selectors", "Field selectors"):

- labels: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a`` (exists),
  ``!a`` (does not exist), comma = AND; ``a!=b`` and ``notin`` also match objects without ``a``;
- fields: ``=``, ``==``, ``!=`` on ``metadata.name``, ``metadata.namespace`` and the fields each
  kind supports in Kubernetes that our clients use (pods ``spec.nodeName``, ``status.phase``;
  nodes ``spec.unschedulable``; secrets ``type``; events ``involvedObject.*``, ``reason``,
  ``source``, ``type``, ``reportingComponent``, which ``events.k8s.io`` spells
  ``regarding.*`` and ``reportingController``). Any other field is 400 BadRequest, as
  Kubernetes answers "field label not supported".

    sel = parse_selector(PODS, labels="app in (web,api),!canary", fields="spec.nodeName=")
    sel.matches(pod)
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from controlplane.apiserver.resources import Resource
from controlplane.apiserver.status import ApiError, Reason

Obj = dict[str, Any]


class Op(enum.StrEnum):
    EQ = "="
    NE = "!="
    IN = "in"
    NOTIN = "notin"
    EXISTS = "exists"
    NOT_EXISTS = "!"


@dataclass(frozen=True, slots=True, kw_only=True)
class Requirement:
    key: str
    op: Op
    values: frozenset[str] = frozenset()

    def matches(self, fields: dict[str, str]) -> bool:
        present = self.key in fields
        value = fields.get(self.key)
        match self.op:
            case Op.EQ | Op.IN:
                return present and value in self.values
            case Op.NE | Op.NOTIN:
                return not present or value not in self.values
            case Op.EXISTS:
                return present
            case Op.NOT_EXISTS:
                return not present


_INVOLVED_FIELDS = (
    "kind",
    "namespace",
    "name",
    "uid",
    "apiVersion",
    "resourceVersion",
    "fieldPath",
)

# Fields every kind supports, plus the extra ones Kubernetes registers per kind.
_COMMON_FIELDS = ("metadata.name", "metadata.namespace")
_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec.nodeName", "status.phase", "spec.schedulerName", "spec.restartPolicy"),
    "Node": ("spec.unschedulable",),
    "Secret": ("type",),
    # pkg/registry/core/event/strategy.go ToSelectableFields
    "Event": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
}
# events.k8s.io/v1 field labels -> the core labels they select on (its objects are stored in
# the core form; pkg/apis/events/v1/conversion.go AddFieldLabelConversionsForEvent).
_GROUP_FIELD_ALIASES: dict[str, dict[str, str]] = {
    "events.k8s.io": {
        **{f"regarding.{f}": f"involvedObject.{f}" for f in _INVOLVED_FIELDS},
        "reportingController": "reportingComponent",
        "reason": "reason",
        "source": "source",
        "type": "type",
    },
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Selector:
    labels: tuple[Requirement, ...] = ()
    fields: tuple[Requirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.labels and not self.fields

    def matches(self, obj: Any) -> bool:
        if self.empty:
            return True
        if not isinstance(obj, dict):
            return False
        meta = obj.get("metadata") or {}
        labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
        if not all(r.matches(labels) for r in self.labels):
            return False
        if not self.fields:
            return True
        values = {r.key: _field_value(obj, r.key) for r in self.fields}
        return all(r.matches(values) for r in self.fields)


def _field_value(obj: Obj, path: str) -> str:
    if path == "source":  # an event's source.component, else its reportingComponent
        source = obj.get("source") or {}
        component = source.get("component") if isinstance(source, dict) else None
        return str(component or obj.get("reportingComponent") or "")
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if node is None:
        # Kubernetes' field sets hold "" for an unset string and "false" for an unset bool.
        return "false" if path == "spec.unschedulable" else ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def parse_selector(res: Resource, *, labels: str | None, fields: str | None) -> Selector:
    return Selector(
        labels=parse_label_selector(labels or ""),
        fields=parse_field_selector(res, fields or ""),
    )


_KEY = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"
_SET_RE = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s*\(([^)]*)\)\s*$")
_EQ_RE = re.compile(rf"^\s*({_KEY})\s*(==|=|!=)\s*([-A-Za-z0-9_.]*)\s*$")
_EXISTS_RE = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")


def parse_label_selector(raw: str) -> tuple[Requirement, ...]:
    out: list[Requirement] = []
    for term in _split_terms(raw):
        if m := _SET_RE.match(term):
            values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
            out.append(Requirement(key=m.group(1), op=Op(m.group(2)), values=values))
        elif m := _EQ_RE.match(term):
            op = Op.NE if m.group(2) == "!=" else Op.EQ
            out.append(Requirement(key=m.group(1), op=op, values=frozenset({m.group(3)})))
        elif m := _EXISTS_RE.match(term):
            op = Op.NOT_EXISTS if m.group(1) else Op.EXISTS
            out.append(Requirement(key=m.group(2), op=op))
        else:
            raise ApiError(
                Reason.BAD_REQUEST,
                f"unable to parse requirement {term.strip()!r} of labelSelector {raw!r}: expected "
                "key=value, key!=value, key in (a,b), key notin (a,b), key or !key",
            )
    return tuple(out)


def _split_terms(raw: str) -> list[str]:
    """Split on commas outside parentheses (``a in (x,y),b`` is two terms)."""
    terms: list[str] = []
    depth = 0
    current = ""
    for ch in raw:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    terms.append(current)
    return [t for t in terms if t.strip()]


_FIELD_OPS = (("!=", Op.NE), ("==", Op.EQ), ("=", Op.EQ))


def parse_field_selector(res: Resource, raw: str) -> tuple[Requirement, ...]:
    aliases = _GROUP_FIELD_ALIASES.get(res.group)
    if aliases is not None:
        names = {**{f: f for f in _COMMON_FIELDS}, **aliases}
    else:
        names = {f: f for f in _COMMON_FIELDS + _KIND_FIELDS.get(res.kind, ())}
    allowed = tuple(names)
    out: list[Requirement] = []
    for term in (t for t in raw.split(",") if t.strip()):
        token, op = next(((t, o) for t, o in _FIELD_OPS if t in term), ("", Op.EQ))
        if not token:
            raise ApiError(
                Reason.BAD_REQUEST,
                f"invalid fieldSelector term {term!r}: expected field=value, field==value "
                "or field!=value",
            )
        key, _, value = term.partition(token)
        key = key.strip()
        if key not in allowed:
            raise ApiError(
                Reason.BAD_REQUEST,
                f'field label not supported: "{key}" (fields of {res.plural}: '
                f"{', '.join(allowed)})",
            )
        out.append(Requirement(key=names[key], op=op, values=frozenset({value.strip()})))
    return tuple(out)


EVERYTHING = Selector()  # no selector: every object matches
