"""Everything a checker may look at, loaded once from a run directory (or a bare history).

In a nutshell: ``load_run(RunDir(path))`` reads ``run.json`` (for ``expect``, ``adequacy``,
``workload`` and optional ``checker`` options), ``history.jsonl``, ``faults.jsonl`` and
``status.jsonl``; missing optional files are empty. Checkers are pure functions of a
``RunData``, so a stored run can be re-checked offline. Times are ns since the run started.

    run = load_run(RunDir(Path("reports/isolate-leader-s7")))
    run.expect.get("recovered_within_s")  # 15.0
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.checker.pairing import Paired, pair_calls
from harness.errors import CheckerError
from harness.history import FaultEvent, Op, RunDir, StatusSample, read_faults, read_ops, read_status
from harness.model import Expectations

NS_PER_S = 1_000_000_000

# ``Expectations().to_json()`` of harness.scenario.model, repeated because checkers import only
# history and errors (ARCHITECTURE.md); tests/unit/test_checker_runs.py keeps the two equal.
EXPECT_DEFAULTS: dict[str, Any] = Expectations().to_json()  # the one source: harness.model


@dataclass(frozen=True, slots=True, kw_only=True)
class RunData:
    source: Path
    ops: list[Op]
    paired: Paired
    faults: list[FaultEvent] = field(default_factory=list)
    status: list[StatusSample] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # run.json ({} for a bare history)
    bare: bool = False  # a history.jsonl alone: no run.json, faults or status

    @property
    def expect(self) -> dict[str, Any]:
        """The scenario's expectations, defaults filled in (Expectations.to_json shape)."""
        return {**EXPECT_DEFAULTS, **(self.meta.get("expect") or {})}

    @property
    def workload_kind(self) -> str | None:
        workload = self.meta.get("workload") or {}
        kind = workload.get("kind")
        return None if kind is None else str(kind)

    @property
    def end_time(self) -> int:
        """The last time anything was recorded."""
        times = [o.time for o in self.ops[-1:]] + [f.time for f in self.faults[-1:]]
        times += [s.time for s in self.status[-1:]]
        return max(times, default=0)


def from_history(path: Path, ops: list[Op] | None = None) -> RunData:
    loaded = ops if ops is not None else _read(path, read_ops)
    return RunData(source=path, ops=loaded, paired=pair_calls(loaded), bare=True)


def load_run(run: RunDir) -> RunData:
    if not run.history.is_file():
        raise CheckerError(f"{run.root}: no history.jsonl")
    meta: dict[str, Any] = {}
    if run.meta.is_file():
        try:
            meta = json.loads(run.meta.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CheckerError(f"{run.meta}: not JSON: {exc}") from exc
    ops = _read(run.history, read_ops)
    faults = _read(run.faults, read_faults) if run.faults.is_file() else []
    status = _read(run.status, read_status) if run.status.is_file() else []
    return RunData(
        source=run.root,
        ops=ops,
        paired=pair_calls(ops),
        faults=sorted(faults, key=lambda f: f.time),
        status=sorted(status, key=lambda s: s.time),
        meta=meta if isinstance(meta, dict) else {},
    )


def _read(path: Path, reader: Any) -> list[Any]:
    try:
        return list(reader(path))
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckerError(f"{path}: unreadable record: {exc!r}") from exc
