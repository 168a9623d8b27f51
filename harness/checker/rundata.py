"""Everything a checker may look at, loaded once from a run directory (or a bare history).

In a nutshell: ``load_run(RunDir(path))`` reads ``run.json`` (for ``expect``, ``adequacy``,
``workload`` and optional ``checker`` options), ``history.jsonl``, ``faults.jsonl`` and
``status.jsonl``; missing optional files are empty. Checkers are pure functions of a
``RunData``, so a stored run can be re-checked offline. Times are ns since the run started.

The history is read by the lean reader (``lean.py``: paired calls and the well-formedness
problems in one orjson pass, about 4× faster than ``Op`` records); ``run.ops``, the raw
records, are parsed on first use only (the controller checkers read them; the register and
kv checkers never do).

    run = load_run(RunDir(Path("reports/isolate-leader-s7")))
    run.expect.get("recovered_within_s")  # 15.0
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.checker.lean import read_paired
from harness.checker.pairing import Paired, pair_calls
from harness.errors import CheckerError
from harness.history import FaultEvent, Op, RunDir, StatusSample, read_faults, read_ops, read_status
from harness.model import Expectations

NS_PER_S = 1_000_000_000

# ``Expectations().to_json()`` of harness.scenario.model, repeated because checkers import only
# history and errors (ARCHITECTURE.md); tests/unit/test_checker_runs.py keeps the two equal.
EXPECT_DEFAULTS: dict[str, Any] = Expectations().to_json()  # the one source: harness.model


class LazyOps:
    """The raw ``Op`` records of a history file, read on the first ``get()`` and kept."""

    __slots__ = ("_ops", "path")

    def __init__(self, path: Path, ops: list[Op] | None = None) -> None:
        self.path = path
        self._ops = ops

    def get(self) -> list[Op]:
        if self._ops is None:
            self._ops = _read(self.path, read_ops)
        return self._ops

    def __repr__(self) -> str:
        return f"LazyOps({str(self.path)!r}, loaded={self._ops is not None})"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunData:
    source: Path
    records: LazyOps  # ``ops``: the raw records, parsed on first use
    paired: Paired
    faults: list[FaultEvent] = field(default_factory=list)
    status: list[StatusSample] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # run.json ({} for a bare history)
    bare: bool = False  # a history.jsonl alone: no run.json, faults or status
    # Well-formedness problems found while reading (lean.py), in ``well_formed``'s order;
    # None: not computed, ``well_formed`` walks ``ops`` itself.
    problems: list[str] | None = None
    last_op_time: int | None = None  # the last history record's time, when read lean

    @property
    def ops(self) -> list[Op]:
        return self.records.get()

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
        if self.problems is not None:  # read lean: the last record's time is known
            times = [] if self.last_op_time is None else [self.last_op_time]
        else:
            times = [o.time for o in self.ops[-1:]]
        times += [f.time for f in self.faults[-1:]]
        times += [s.time for s in self.status[-1:]]
        return max(times, default=0)


def from_history(path: Path, ops: list[Op] | None = None) -> RunData:
    loaded = ops if ops is not None else _read(path, read_ops)
    return RunData(source=path, records=LazyOps(path, loaded), paired=pair_calls(loaded), bare=True)


def load_run(run: RunDir) -> RunData:
    if not run.history.is_file():
        raise CheckerError(f"{run.root}: no history.jsonl")
    meta: dict[str, Any] = {}
    if run.meta.is_file():
        try:
            meta = json.loads(run.meta.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CheckerError(f"{run.meta}: not JSON: {exc}") from exc
    history = read_paired(run.history)
    faults = _read(run.faults, read_faults) if run.faults.is_file() else []
    status = _read(run.status, read_status) if run.status.is_file() else []
    return RunData(
        source=run.root,
        records=LazyOps(run.history),
        paired=history.paired,
        faults=sorted(faults, key=lambda f: f.time),
        status=sorted(status, key=lambda s: s.time),
        meta=meta if isinstance(meta, dict) else {},
        problems=history.problems,
        last_op_time=history.last_time,
    )


def _read(path: Path, reader: Any) -> list[Any]:
    try:
        return list(reader(path))
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckerError(f"{path}: unreadable record: {exc!r}") from exc
