"""Field-level validation: plain data + the field tables → converted values + problems.

In a nutshell: ``check_section(ROOT, data, (), problems)`` returns a dict with every field of
every section converted (durations to float seconds, defaults filled in) and adds one problem per
wrong field: wrong type, out of range, unknown choice, unknown field (with a did-you-mean), missing
required field. A wrong field keeps its default so the other checks can go on; the loader raises
before anything is built from it. Fault entries are checked by ``check_faults``.

    values = check_section(ROOT, {"name": "x", "workload": {"duration": "30s"}}, (), problems)
    values["workload"]["duration"] == 30.0
"""

from __future__ import annotations

import math
import re
from typing import Any

from harness.scenario.durations import DurationError, parse_duration, to_whole_unit
from harness.scenario.fields import FieldSpec, FieldType
from harness.scenario.problems import (
    INVALID,
    MISSING,
    Path,
    Problems,
    did_you_mean,
    dotted,
    one_of,
)

F = FieldType


def default_value(spec: FieldSpec) -> Any:
    """The converted default (what an absent field means)."""
    if spec.type is F.SECTION:
        return {f.name: default_value(f) for f in spec.fields}
    if spec.default is None:
        return None
    if spec.type is F.DURATION:
        seconds = parse_duration(spec.default)
        return seconds if spec.output_unit is None else to_whole_unit(seconds, spec.output_unit)
    if spec.type is F.NUMBER:
        return float(spec.default)
    if isinstance(spec.default, list):
        return list(spec.default)
    if isinstance(spec.default, dict):
        return dict(spec.default)
    return spec.default


def example(spec: FieldSpec) -> str:
    """A valid value to suggest in a fix."""
    if spec.default not in (None, [], {}, ""):
        value = spec.default
        return ("true" if value else "false") if isinstance(value, bool) else str(value)
    if spec.options():
        return spec.options()[0]
    if spec.type is F.DURATION:
        return "200ms" if spec.unit_required else "5s"
    if spec.type is F.PATTERN:
        return "my-scenario"
    if spec.type in (F.INTEGER, F.NUMBER):
        return str(int(spec.minimum or 0) + (1 if spec.exclusive_minimum else 0))
    return "<value>"


def check_section(spec: FieldSpec, data: Any, path: Path, problems: Problems) -> dict[str, Any]:
    if data is None or data is MISSING or data is INVALID:
        data = {}  # "cluster:" with nothing under it means "all defaults"
    if not isinstance(data, dict):
        fix = (
            f"write it as a mapping, e.g. {spec.name}: {{{spec.fields[0].name}: …}}"
            if path
            else "a scenario file is one mapping, starting e.g. with name: my-scenario"
        )
        problems.add(path, data, expected=spec.rule(), fix=fix)
        return default_value(spec)  # type: ignore[no-any-return]
    names = [f.name for f in spec.fields]
    for key in data:
        if key not in names:
            problems.add(
                (*path, key),
                data[key],
                at_key=True,
                expected=f"a field of {dotted(path)}" if path else "a top-level field",
                fix=f"{did_you_mean(key, names)}valid fields: {one_of(names)}",
            )
    return {
        f.name: check_value(f, data.get(f.name, MISSING), (*path, f.name), problems)
        for f in spec.fields
    }


def check_value(spec: FieldSpec, value: Any, path: Path, problems: Problems) -> Any:
    """The converted value, or the default after adding a problem."""
    if value is INVALID:  # reported by the YAML reader already
        return default_value(spec)
    if value is MISSING:
        if spec.required:
            problems.add(
                path,
                value,
                expected=spec.rule(),
                fix=f"add {spec.name}: {example(spec)}",
            )
        return default_value(spec)
    if value is None and spec.nullable:
        return None
    if spec.type is F.SECTION:
        return check_section(spec, value, path, problems)
    if spec.type is F.FAULTS:
        # Checked by check_faults once the cluster and workload are known.
        return [] if value is None else value
    if spec.type in (F.CHOICE_LIST, F.PATTERN_LIST) and isinstance(value, list):
        return _check_items(spec, value, path, problems)
    checker = _CHECKERS[spec.type]
    result, fix = checker(spec, value)
    if fix is not None:
        problems.add(path, value, expected=spec.rule(), fix=fix)
        return default_value(spec)
    return result


def _check_items(spec: FieldSpec, value: list[Any], path: Path, problems: Problems) -> Any:
    """Each item on its own line and with its own problem; repeats are an error too."""
    item_spec = FieldSpec(
        name=spec.name,
        type=F.CHOICE if spec.type is F.CHOICE_LIST else F.PATTERN,
        choices=spec.options(),
        pattern=spec.pattern,
        pattern_doc=spec.pattern_doc,
        doc=spec.doc,
    )
    out: list[str] = []
    for i, item in enumerate(value):
        ok, fix = (_choice if spec.type is F.CHOICE_LIST else _pattern)(item_spec, item)
        if fix is not None:
            problems.add((*path, i), item, expected=item_spec.rule(), fix=fix)
        elif ok in out:
            problems.add(
                (*path, i), item, expected="each name once", fix=f"remove the repeated {ok!r}"
            )
        else:
            out.append(ok)
    return out


Outcome = tuple[Any, str | None]  # (converted value, None) or (None, fix)


def _number(spec: FieldSpec, value: Any) -> Outcome:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if spec.type is F.INTEGER and not is_int:
        if isinstance(value, float) and value.is_integer():
            return None, f"write it without a fraction, e.g. {spec.name}: {int(value)}"
        return None, f"write a whole number, e.g. {spec.name}: {example(spec)}"
    if not (is_int or isinstance(value, float)):
        return None, f"write a number, e.g. {spec.name}: {example(spec)}"
    if isinstance(value, float) and not math.isfinite(value):
        return None, f"write a finite number, e.g. {spec.name}: {example(spec)}"
    low, high = spec.minimum, spec.maximum
    too_low = low is not None and (value <= low if spec.exclusive_minimum else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        return None, f"choose a value in range, e.g. {spec.name}: {example(spec)}"
    return (value if spec.type is F.INTEGER else float(value)), None


def _boolean(spec: FieldSpec, value: Any) -> Outcome:
    if isinstance(value, bool):
        return value, None
    return None, f"write {spec.name}: true or {spec.name}: false (no quotes)"


def _string(spec: FieldSpec, value: Any) -> Outcome:
    if isinstance(value, str):
        return value, None
    return None, f'quote it, e.g. {spec.name}: "…"'


def _pattern(spec: FieldSpec, value: Any) -> Outcome:
    assert spec.pattern is not None
    if isinstance(value, str) and re.match(spec.pattern, value):
        return value, None
    hint = re.sub(r"[^A-Za-z0-9._-]+", "-", str(value)).strip("-._")[:60] or "my-scenario"
    if spec.type is F.PATTERN_LIST:
        hint = hint.replace("-", "_").replace(".", "_")
    return None, f"write e.g. {spec.name}: {hint}"


def _choice(spec: FieldSpec, value: Any) -> Outcome:
    if isinstance(value, str) and value in spec.options():
        return value, None
    return None, f"{did_you_mean(value, spec.options())}valid choices: {one_of(spec.options())}"


def _list(spec: FieldSpec, value: Any) -> Outcome:
    # Lists themselves go through _check_items; anything reaching here is not a list.
    return None, f"write a list, e.g. {spec.name}: [{example_item(spec)}]"


def example_item(spec: FieldSpec) -> str:
    return spec.options()[0] if spec.options() else "slow"


def _weights(spec: FieldSpec, value: Any) -> Outcome:
    if not isinstance(value, dict):
        return None, f"write a mapping, e.g. {spec.name}: {{read: 1, write: 1}}"
    out: dict[str, float] = {}
    for op, weight in value.items():
        ok = isinstance(weight, int | float) and not isinstance(weight, bool)
        if not ok or not math.isfinite(weight) or weight < 0:
            return None, f"give {op!r} a weight ≥ 0, e.g. {op}: 1"
        out[op] = float(weight)
    if value and not any(out.values()):
        return None, "give at least one op a weight > 0"
    return out, None


def _duration(spec: FieldSpec, value: Any) -> Outcome:
    try:
        seconds = parse_duration(value, unit_required=spec.unit_required)
    except DurationError as exc:
        hint = (
            "a bare number is ambiguous here (Toxiproxy counts ms, scenario files count "
            "seconds); write e.g. 200ms"
            if spec.unit_required and isinstance(value, int | float)
            else f"write e.g. {spec.name}: {example(spec)} ({exc})"
        )
        return None, hint
    if spec.exclusive_minimum and seconds <= 0:
        return None, f"write a positive duration, e.g. {spec.name}: {example(spec)}"
    if spec.output_unit is None:
        return seconds, None
    whole = to_whole_unit(seconds, spec.output_unit)
    if whole is None or whole > 2**31 - 1:
        return None, f"write a whole number of {spec.output_unit} under 2^31"
    return whole, None


def _target(spec: FieldSpec, value: Any) -> Outcome:
    # Only the shape here; whether it names something in this cluster is checked in semantics.
    if isinstance(value, str) and value:
        return value, None
    return None, f"write a name, e.g. {spec.name}: {example(spec)}"


_CHECKERS = {
    F.STRING: _string,
    F.PATTERN: _pattern,
    F.INTEGER: _number,
    F.NUMBER: _number,
    F.BOOLEAN: _boolean,
    F.DURATION: _duration,
    F.CHOICE: _choice,
    F.CHOICE_LIST: _list,
    F.PATTERN_LIST: _list,
    F.WEIGHTS: _weights,
    F.TARGET: _target,
}
