"""Read whatever a run directory holds, never failing on a missing or damaged file.

In a nutshell: ``load_run_files(path)`` returns a ``RunFiles`` with every file the report draws
(run.json, scenario.yaml, schedule.json, history, faults, status, verdicts, logs). A crashed run
may lack any of them: each absent file is named in ``missing`` and each unreadable one in
``problems`` (with the error), so the page can say what it could not show instead of crashing.

    files = load_run_files(Path("reports/isolate-leader-s7"))
    files.missing  # ["status.jsonl"]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from harness.history import (
    FaultEvent,
    Op,
    RunDir,
    StatusSample,
    read_faults,
    read_ops,
    read_status,
)

T = TypeVar("T")

# Logs are shown, not analysed: keep the head (start-up) and the tail (the end, where a crash
# shows) of a long log so one chatty member cannot make the page slow.
LOG_HEAD_LINES = 300
LOG_TAIL_LINES = 3_000


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberLog:
    name: str  # file stem, e.g. "store-1"
    text: str
    lines_total: int
    lines_shown: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFiles:
    root: Path
    meta: dict[str, Any] = field(default_factory=dict)
    scenario_yaml: str | None = None
    schedule: list[dict[str, Any]] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)
    faults: list[FaultEvent] = field(default_factory=list)
    status: list[StatusSample] = field(default_factory=list)
    verdicts: dict[str, Any] | None = None
    logs: list[MemberLog] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def load_run_files(root: Path) -> RunFiles:
    run = RunDir(root)
    missing: list[str] = []
    problems: list[str] = []

    def text(path: Path) -> str | None:
        if not path.is_file():
            missing.append(path.name)
            return None
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            problems.append(f"{path.name}: {exc}")
            return None

    def json_doc(path: Path) -> Any:
        raw = text(path)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(f"{path.name}: not JSON ({exc})")
            return None

    def records(path: Path, reader: Callable[[Path], Iterator[T]]) -> list[T]:
        if not path.is_file():
            missing.append(path.name)
            return []
        out: list[T] = []
        try:
            for record in reader(path):
                out.append(record)
        except (ValueError, KeyError, TypeError) as exc:
            # Keep what was read before the damage: a partial history is still evidence.
            problems.append(f"{path.name}: unreadable after {len(out)} records ({exc!r})")
        return out

    meta = json_doc(run.meta)
    scenario_yaml = text(run.scenario)
    schedule = schedule_list(json_doc(run.schedule))
    ops = records(run.history, read_ops)
    faults = sorted(records(run.faults, read_faults), key=lambda f: f.time)
    status = sorted(records(run.status, read_status), key=lambda s: s.time)
    verdicts = json_doc(run.verdicts)
    if verdicts is not None and not isinstance(verdicts, dict):
        problems.append("verdicts.json: not a JSON object")
        verdicts = None
    return RunFiles(
        root=root,
        meta=meta if isinstance(meta, dict) else {},
        scenario_yaml=scenario_yaml,
        schedule=schedule,
        ops=ops,
        faults=faults,
        status=status,
        verdicts=verdicts,
        logs=_logs(run.logs, problems),
        missing=missing,
        problems=problems,
    )


def schedule_list(doc: Any) -> list[dict[str, Any]]:
    """schedule.json is ``{"version", "seed", "faults": [...]}``; a bare list is accepted too."""
    if isinstance(doc, dict):
        doc = doc.get("faults")
    if not isinstance(doc, list):
        return []
    return [d for d in doc if isinstance(d, dict)]


def _logs(folder: Path, problems: list[str]) -> list[MemberLog]:
    if not folder.is_dir():
        return []
    out: list[MemberLog] = []
    for path in sorted(folder.glob("*.log")):
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            problems.append(f"logs/{path.name}: {exc}")
            continue
        shown = lines
        if len(lines) > LOG_HEAD_LINES + LOG_TAIL_LINES:
            cut = len(lines) - LOG_HEAD_LINES - LOG_TAIL_LINES
            shown = [
                *lines[:LOG_HEAD_LINES],
                f"… {cut} lines not shown (full log: logs/{path.name}) …",
                *lines[-LOG_TAIL_LINES:],
            ]
        out.append(
            MemberLog(
                name=path.stem,
                text="\n".join(shown),
                lines_total=len(lines),
                lines_shown=min(len(lines), LOG_HEAD_LINES + LOG_TAIL_LINES),
            )
        )
    return out
