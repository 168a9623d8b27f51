"""Fault entries → ``FaultSpec``s, one problem per wrong key or value.

In a nutshell: each entry must be a mapping with exactly one kind key (``FAULT_KINDS``), an
``at``, a ``for`` when the kind needs one (and none when it forbids it), and only the params of
its kind. Values are converted as the field tables say; whether targets exist in the cluster and
whether ``at`` falls inside the workload is ``semantics.py``'s job.

    [(0, FaultSpec(kind=FaultKind.KILL, at_s=20.0, target="store-leader",
                   params={"restart_after_s": 3.0}))] == check_faults(data, problems)
"""

from __future__ import annotations

from typing import Any

from harness.model import FaultKind, FaultSpec
from harness.scenario.check import check_value, example
from harness.scenario.faultkinds import (
    AT,
    FAULT_KINDS,
    FOR,
    TOXIC_ATTRIBUTES,
    DurationUse,
    FaultKindSpec,
    kind_names,
    params_for,
)
from harness.scenario.problems import INVALID, MISSING, Path, Problems, did_you_mean, one_of

FAULTS_PATH: Path = ("faults",)
_EXAMPLE = "{at: 5s, partition: halves, for: 10s}"


def _param_owners() -> dict[str, list[str]]:
    """Which kinds take a param, for "restart_after belongs to kill" hints on a misplaced key
    (read at each use: a kind registered later counts too)."""
    owners: dict[str, list[str]] = {}
    for spec in FAULT_KINDS.values():
        for param in spec.params:
            owners.setdefault(param.name, []).append(str(spec.kind))
    for toxic_type, attrs in TOXIC_ATTRIBUTES.items():
        for attr in attrs:
            owners.setdefault(attr.name, []).append(f"toxic {toxic_type}")
    return owners


def check_faults(data: Any, problems: Problems) -> list[tuple[int, FaultSpec]]:
    """The valid entries with their index in the file (invalid ones are reported, not kept)."""
    if data is None or data is MISSING or data is INVALID:
        return []
    if not isinstance(data, list):
        problems.add(
            FAULTS_PATH,
            data,
            expected="a list of fault entries",
            fix=f"write faults: [{_EXAMPLE}] or one '- …' line per fault",
        )
        return []
    out = []
    for index, entry in enumerate(data):
        fault = _check_entry(entry, (*FAULTS_PATH, index), problems)
        if fault is not None:
            out.append((index, fault))
    return out


def _check_entry(entry: Any, path: Path, problems: Problems) -> FaultSpec | None:
    if entry is INVALID:
        return None
    if not isinstance(entry, dict):
        problems.add(
            path,
            entry,
            expected="a mapping with one fault kind key, `at` and its params",
            fix=f"write e.g. {_EXAMPLE}",
        )
        return None
    names = kind_names()
    kinds = [key for key in entry if key in names]
    if not kinds:
        _no_kind(entry, path, problems)
        return None
    if len(kinds) > 1:
        problems.add(
            (*path, kinds[1]),
            entry[kinds[1]],
            at_key=True,
            expected=f"exactly one fault kind key per entry (found {', '.join(kinds)})",
            fix="split it into one entry per fault, each with its own at",
        )
        return None
    spec = FAULT_KINDS[kinds[0]]
    raw_value = entry[str(spec.kind)]
    value = check_value(spec.value, raw_value, (*path, str(spec.kind)), problems)
    # bad_under also sees what the YAML reader reported (tags, unreadable scalars) here.
    value_ok = not problems.bad_under((*path, str(spec.kind)))
    params = params_for(spec, raw_value if value_ok else None)
    _unknown_keys(spec, entry, path, problems, [p.name for p in params])
    at_s = check_value(AT, entry.get("at", MISSING), (*path, "at"), problems)
    duration_s = _check_for(spec, entry, path, problems)
    values: dict[str, Any] = {}
    # A toxic with a wrong type has unknown attributes: check only the common params then.
    checked = params if value_ok else spec.params
    for param in checked:
        values[param.name] = check_value(
            param, entry.get(param.name, MISSING), (*path, param.name), problems
        )
    if problems.bad_under(path):
        return None
    return _build(spec, value, at_s, duration_s, values)


def _no_kind(entry: dict[str, Any], path: Path, problems: Problems) -> None:
    for key in entry:
        guess = did_you_mean(key, kind_names())
        if guess and key not in _param_owners() and key not in ("at", "for"):
            problems.add(
                (*path, key),
                entry[key],
                at_key=True,
                expected="a fault kind key",
                fix=f"{guess}fault kinds: {one_of(kind_names())}",
            )
            return
    problems.add(
        path,
        entry,
        expected="exactly one fault kind key",
        fix=f"add one of {one_of(kind_names())}, e.g. {_EXAMPLE}",
    )


# Misplaced keys that have a right way to say them in this kind.
_INSTEAD: dict[tuple[str, str], str] = {
    (FaultKind.LEADER_LOSS, "restart_after"): "for leader-loss write for: <duration> (how long "
    "the last leader stays out; earlier ones come back at the next strike); ",
    (FaultKind.TOXIC, "attributes"): "write the attributes beside toxic:, e.g. latency: 200ms; ",
    (FaultKind.KILL, "target"): "the target is the kill: value itself; ",
}


def _unknown_keys(
    spec: FaultKindSpec, entry: dict[str, Any], path: Path, problems: Problems, params: list[str]
) -> None:
    allowed = [str(spec.kind), "at", "for", *params]
    for key in entry:
        if key in allowed:
            continue
        owners = _param_owners().get(key)
        hint = f"{key} belongs to {' / '.join(owners)}; " if owners else ""
        hint += _INSTEAD.get((spec.kind, key), "")
        problems.add(
            (*path, key),
            entry[key],
            at_key=True,
            expected=f"a field of a {spec.kind!s} fault",
            fix=f"{hint}{did_you_mean(key, allowed)}valid fields: {one_of(allowed)}",
        )


def _check_for(
    spec: FaultKindSpec, entry: dict[str, Any], path: Path, problems: Problems
) -> float | None:
    present = "for" in entry
    if spec.duration is DurationUse.FORBIDDEN and present:
        problems.add(
            (*path, "for"),
            entry["for"],
            at_key=True,
            expected=f"no `for` on a {spec.kind!s} fault",
            fix=spec.forbidden_hint,
        )
        return None
    if spec.duration is DurationUse.REQUIRED and not present:
        problems.add(
            (*path, "for"),
            MISSING,
            expected=f"a `for` duration > 0 on a {spec.kind!s} fault",
            fix=f"add for: {example(FOR)} ({spec.duration_doc})",
        )
        return None
    if not present:
        return None
    result: float | None = check_value(FOR, entry["for"], (*path, "for"), problems)
    return result


def _build(
    spec: FaultKindSpec,
    value: str,
    at_s: float,
    duration_s: float | None,
    values: dict[str, Any],
) -> FaultSpec:
    if spec.kind is FaultKind.TOXIC:
        attributes = {a.name: values[a.name] for a in TOXIC_ATTRIBUTES[value]}
        return FaultSpec(
            kind=spec.kind,
            at_s=at_s,
            duration_s=duration_s,
            target=values["link"],
            params={
                "type": value,
                "attributes": attributes,
                "stream": values["stream"],
                "toxicity": values["toxicity"],
            },
        )
    params = {spec.param_key(name): v for name, v in values.items()}
    if spec.value_is == "target":
        return FaultSpec(
            kind=spec.kind, at_s=at_s, duration_s=duration_s, target=value, params=params
        )
    return FaultSpec(
        kind=spec.kind,
        at_s=at_s,
        duration_s=duration_s,
        target=None,
        params={spec.value_is: value, **params},
    )
