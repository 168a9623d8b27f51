"""``run.json`` and ``schedule.json``: their one typed, versioned reader and writer.

In a nutshell: ``RunMeta`` is the run.json document (frozen; ``harness.runmeta`` builds it at
the start of a run, ``harness.run`` records each change through one ``RunRecord``).
``read_run_meta(path)`` and ``read_schedule_doc(path)`` check the ``version`` and the field
types and raise ``RunFileError`` (file, field, what was found, the fix) instead of handing a
dict to every reader. ``RunMeta.from_json(doc, strict=False)`` never raises: a report of a
damaged run shows what it can, with ``problems`` saying what was off.

    meta = read_run_meta(run_dir / "run.json")
    seed = read_schedule_doc(run_dir / "schedule.json").seed
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

RUN_VERSION = 1  # run.json; a document without "version" is from before versioning: 1
SCHEDULE_VERSION = 1


class RunFileError(HarnessError):
    """A run-directory document is unreadable, of another version, or has a bad field."""

    def __init__(self, *, path: Path | str, field: str, got: Any, expected: str, fix: str) -> None:
        self.path, self.field, self.got, self.expected, self.fix = path, field, got, expected, fix
        super().__init__(
            f"{path}: {field}: got {got!r} ({type(got).__name__}); expected {expected}; {fix}"
        )


# Field name → (accepted JSON types, whether None is allowed). The dataclass below is the
# document; this table is how a stored one is checked.
_NUM = (int, float)
_TYPES: dict[str, tuple[tuple[type, ...], bool]] = {
    "run_id": ((str,), False),
    "scenario": ((str,), False),
    "scenario_file": ((str,), True),
    "description": ((str,), False),
    "seed": ((int,), False),
    "git_sha": ((str,), True),
    "command": ((str,), False),
    "started_at": (_NUM, False),
    "cluster": ((dict,), False),
    "workload": ((dict,), False),
    "expect": ((dict,), False),
    "image_tags": ((dict,), False),
    "cluster_run_id": ((str,), True),
    "adequacy": ((dict,), True),
    "controlplane_timings": ((dict,), True),
    "reference_run": ((str,), True),
    "checker": ((dict,), True),
    "duration_s": (_NUM, True),
    "finished_at": (_NUM, True),
    "error": ((str,), True),
}


_OPTIONAL = ("controlplane_timings", "reference_run", "checker")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunMeta:
    """What a run was (scenario, seed, git SHA, image tags), how to rerun it, how it went."""

    run_id: str
    scenario: str
    scenario_file: str | None = None
    description: str = ""
    seed: int
    git_sha: str | None = None
    command: str = ""
    started_at: float = 0.0
    cluster: dict[str, Any] = field(default_factory=dict)
    workload: dict[str, Any] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)
    image_tags: dict[str, str] = field(default_factory=dict)
    cluster_run_id: str | None = None
    adequacy: dict[str, Any] | None = None
    duration_s: float | None = None
    finished_at: float | None = None
    error: str | None = None
    # Optional parts, written only when set:
    controlplane_timings: dict[str, float] | None = None  # C4; None: no controller layer
    reference_run: str | None = None  # C4: a fault-free run of the same seed to compare with
    checker: dict[str, Any] | None = None  # budget / model overrides (written by hand)
    version: int = RUN_VERSION
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know
    problems: tuple[str, ...] = ()  # lenient reads only: what was off (never written)

    def to_json(self) -> dict[str, Any]:
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        doc.pop("problems")
        extra = doc.pop("extra")
        for name in _OPTIONAL:
            if doc[name] is None:
                del doc[name]
        return {**extra, **doc}

    @classmethod
    def from_json(
        cls, doc: Mapping[str, Any], *, path: Path | str = "run.json", strict: bool = True
    ) -> RunMeta:
        """The document ``doc``; strict: raise ``RunFileError`` on the first bad field,
        else replace it by its default and say so in ``problems``."""
        problems: list[str] = []

        def bad(name: str, got: Any, expected: str, fix: str) -> None:
            error = RunFileError(path=path, field=name, got=got, expected=expected, fix=fix)
            if strict:
                raise error
            problems.append(str(error))

        version = doc.get("version", 1)
        if version != RUN_VERSION:
            bad(
                "version",
                version,
                f"{RUN_VERSION}",
                "this run was written by another chaosplane version: re-check it with that "
                "version, or rerun the scenario",
            )
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, (types, nullable) in _TYPES.items():
            if name not in doc:
                continue
            value = doc[name]
            ok = (value is None and nullable) or (
                isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
            )
            if ok:
                values[name] = value
            else:
                names = " | ".join(t.__name__ for t in types) + (" | null" if nullable else "")
                bad(name, value, names, f"fix or remove {name!r} in run.json")
        for required in ("run_id", "scenario", "seed"):
            if required not in values:
                bad(required, doc.get(required), "present", "run.json is incomplete: rerun")
                values.setdefault(required, "" if required != "seed" else 0)
        extra = {k: v for k, v in doc.items() if k not in known}
        return cls(**values, extra=extra, problems=tuple(problems))


def read_run_meta(path: Path) -> RunMeta:
    """run.json at ``path``, checked (``RunFileError`` names the field and the fix)."""
    return RunMeta.from_json(_read_object(path), path=path)


def write_run_meta(path: Path, meta: RunMeta) -> None:
    """Atomically: a reader never sees half a document."""
    _write_atomic(path, meta.to_json())


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleDoc:
    """schedule.json: the faults as they fired (``harness.nemesis.FiredFault`` records)."""

    seed: int | None
    faults: tuple[dict[str, Any], ...] = ()
    version: int = SCHEDULE_VERSION

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "seed": self.seed, "faults": list(self.faults)}


def read_schedule_doc(path: Path) -> ScheduleDoc:
    doc = _read_object(path)
    version = doc.get("version")
    if version != SCHEDULE_VERSION:
        raise RunFileError(
            path=path,
            field="version",
            got=version,
            expected=str(SCHEDULE_VERSION),
            fix="replay a schedule.json written by this chaosplane version",
        )
    seed, faults = doc.get("seed"), doc.get("faults")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise RunFileError(path=path, field="seed", got=seed, expected="int | null", fix="fix it")
    if not isinstance(faults, list) or not all(isinstance(f, dict) for f in faults):
        raise RunFileError(
            path=path, field="faults", got=faults, expected="a list of objects", fix="fix it"
        )
    return ScheduleDoc(seed=seed, faults=tuple(faults))


def write_schedule_doc(path: Path, doc: ScheduleDoc) -> None:
    _write_atomic(path, doc.to_json())


def _read_object(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RunFileError(
            path=path, field="(file)", got=str(exc), expected="a readable file", fix="check path"
        ) from None
    except json.JSONDecodeError as exc:
        raise RunFileError(
            path=path, field="(file)", got=str(exc), expected="JSON", fix="the file is damaged"
        ) from None
    if not isinstance(doc, dict):
        raise RunFileError(
            path=path, field="(document)", got=doc, expected="a JSON object", fix="fix it"
        )
    return doc


def _write_atomic(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
