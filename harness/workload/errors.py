"""The workload layer's errors: each names the field or op at fault, the value, and the fix.

In a nutshell: ``WorkloadConfigError`` — the workload was asked for something it cannot do (a
kind, a ``through``, a mix op); ``RecorderError`` — the history contract was broken (a retired or
busy process, a second completion; a bug in a workload, never the cluster's fault);
``HistoryWriterError`` — records could not reach ``history.jsonl``; ``WorkerError`` — a worker
process died. All are ``HarnessError``s with structured fields, so the CLI and the pytest plugin
render them without a traceback.

    raise WorkloadConfigError(field="workload.through", got="etcd", expected="apiserver or store",
                              fix="set workload.through: apiserver")
"""

from __future__ import annotations

from typing import Any

from harness.errors import HarnessError


class WorkloadError(HarnessError):
    """Base of the workload layer's errors."""


class WorkloadConfigError(WorkloadError, ValueError):
    """A workload setting the workload cannot honour (ValueError too: older callers catch it)."""

    def __init__(self, *, field: str, got: Any, expected: str, fix: str) -> None:
        self.field = field
        self.got = got
        self.expected = expected
        self.fix = fix
        super().__init__(f"{field}: got {got!r} ({type(got).__name__}); expected {expected}; {fix}")


class RecorderError(WorkloadError, RuntimeError):
    """A workload broke the history's rules (a bug in the harness, not in the cluster)."""

    def __init__(self, message: str, *, process: int | None = None, index: int | None = None):
        self.process = process
        self.index = index
        super().__init__(
            f"{message} (history rule: one open op per process, one completion per invoke, "
            "no op after an info; this is a bug in the workload — report it with the run dir)"
        )


class HistoryWriterError(WorkloadError, RuntimeError):
    """Records could not be written to the history file; ``cause`` is the underlying error."""

    def __init__(self, *, target: str, cause: BaseException) -> None:
        self.target = target
        self.cause = cause
        super().__init__(
            f"history writer for {target} failed: {type(cause).__name__}: {cause} "
            "(check the run directory's disk space and permissions)"
        )


class WorkerError(WorkloadError, RuntimeError):
    """A workload worker process failed; its records up to then are in the history."""

    def __init__(self, *, worker: int, exitcode: int | None, detail: str) -> None:
        self.worker = worker
        self.exitcode = exitcode
        self.detail = detail
        super().__init__(
            f"workload worker {worker} failed (exit code {exitcode}): {detail.strip()[-2000:]} "
            "(rerun with workload.workers: 1 to run the clients in-process)"
        )
