"""Spread a workload's clients over worker processes, recording to one history.

In a nutshell: ``ParallelWorkload`` starts ``workers`` processes; each runs the workload's own
client loop (an asyncio loop, its share of the clients and of the rate) and streams its records
through a pipe with watermarks; the parent merges them in time order (``merge.StreamMerger``)
into the caller's ``JsonlWriter``, so crash-safety stays that of ``history.jsonl`` (a record
is at most ~20 ms in a worker, plus the writer's flush interval). Clients that share state (a
register key's value counter) stay in one process (``ClientWorkload.parallel_group``).
``final_read`` runs in the parent, continuing the merged history's indices and process ids.

    workload = make_workload(replace(spec, workers=2), info, writer, start_ns, seed)
    result = workload.run(stop)   # WorkloadResult over both workers; extra["workers"] == 2

Why processes: one Python process runs all clients under one GIL; on a loaded 2-core runner
that process gets a share of one core and the target rate slips (issue 17). Why forkserver,
not fork: a plain fork copies the parent's locks in whatever state its other threads hold them
(the nemesis, the status sampler, HTTP pools, the import lock of a lazy import), and a child
that takes one waits forever — a full pytest run hung that way. The forkserver is a fresh,
single-threaded process started once (``prepare_workers``, before the run's clock starts) with
the workload modules imported; each worker is forked from it in milliseconds.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import os
import resource
import signal
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.history import JsonlWriter, OpType
from harness.model import WorkloadSpec
from harness.model.cluster import ClusterInfo
from harness.workload.base import ClientWorkload, Share, StopFlag, WorkloadResult
from harness.workload.errors import WorkerError
from harness.workload.merge import StreamMerger
from harness.workload.pacing import percentile
from harness.workload.recorder import Mark

# One process costs ~0.8 ms of CPU per op (httpx; benchmarks/workload.py), ~1,200 ops per
# CPU-second: a paced rate up to 500/s leaves headroom on a shared core, so "auto" stays
# in-process there (no worker processes where one process keeps up).
AUTO_IN_PROCESS_MAX_RATE = 500.0
POLL_S = 0.05
JOIN_TIMEOUT_S = 10.0
# Imported once in the forkserver, so a worker forked from it starts with them loaded.
FORKSERVER_PRELOAD = ["harness.workload", "httpx"]


def _context() -> Any:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(FORKSERVER_PRELOAD)
    return ctx


def prepare_workers() -> None:
    """Start the forkserver now (≈ 0.3–1 s of imports) so workers start in milliseconds later."""
    _context()
    multiprocessing.forkserver.ensure_running()


def resolve_workers(spec: WorkloadSpec, cls: type[ClientWorkload]) -> int:
    """How many processes: ``spec.workers`` when set (≥ 1), else derived (0 = auto)."""
    if not cls.parallel:
        return 1
    if spec.workers > 0:
        return spec.workers
    if 0 < spec.rate <= AUTO_IN_PROCESS_MAX_RATE:
        return 1
    return max(1, min(os.cpu_count() or 1, spec.clients))


def plan_shares(workload: ClientWorkload, workers: int) -> list[Share]:
    """Client slots per worker: whole ``parallel_group``s, dealt round-robin (≤ one worker per
    group, so a 1-key register runs in one process whatever was asked)."""
    groups: dict[int, list[int]] = {}
    for slot in range(workload.spec.clients):
        groups.setdefault(workload.parallel_group(slot), []).append(slot)
    count = max(1, min(workers, len(groups)))
    slots: list[list[int]] = [[] for _ in range(count)]
    for n, members in enumerate(groups.values()):
        slots[n % count].extend(members)
    return [Share(index=i, count=count, slots=tuple(sorted(s))) for i, s in enumerate(slots)]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Job:
    cls: type[ClientWorkload]
    spec: WorkloadSpec
    info: ClusterInfo
    start_ns: int
    seed: int
    share: Share


class _PipeSink:
    """A worker's record sink: buffers op records, sends a batch at every watermark."""

    def __init__(self, conn: multiprocessing.connection.Connection) -> None:
        self._conn = conn
        self._batch: list[dict[str, Any]] = []

    def write(self, record: Any) -> None:
        if isinstance(record, Mark):
            self._conn.send(("batch", self._batch, record.time))
            self._batch = []
        else:
            self._batch.append(record.to_json())

    def finish(self) -> None:
        self._conn.send(("batch", self._batch, None))
        self._batch = []


def _worker_main(job: _Job, conn: multiprocessing.connection.Connection, stop: StopFlag) -> None:
    # A worker stops when the parent says so (``stop``) or dies; Ctrl-C is the parent's to handle.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sink = _PipeSink(conn)
    try:
        workload = job.cls(
            job.spec, job.info, sink, start_ns=job.start_ns, seed=job.seed, share=job.share
        )
        result = workload.run(stop)
        sink.finish()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        part = {**result.to_json(), "cpu_s": usage.ru_utime + usage.ru_stime}
        conn.send(("result", part, workload.jitters_s))
    except BaseException:  # reported to the parent, which raises WorkerError
        conn.send(("error", traceback.format_exc()))
        raise
    finally:
        conn.close()


class ParallelWorkload:
    """The ``Workload`` of a run whose clients live in worker processes."""

    def __init__(
        self,
        local: ClientWorkload,
        history: JsonlWriter,
        *,
        start_ns: int,
        shares: Sequence[Share],
    ) -> None:
        self.local = local  # in the parent: final reads, checkers
        self.checkers = local.checkers
        self.history = history
        self.start_ns = start_ns
        self.shares = list(shares)
        prepare_workers()

    def run(self, stop: StopFlag | None = None) -> WorkloadResult:
        ctx = _context()
        halt = ctx.Event()
        conns: list[multiprocessing.connection.Connection] = []
        procs: list[Any] = []
        for share in self.shares:
            job = _Job(
                cls=type(self.local),
                spec=self.local.spec,
                info=self.local.info,
                start_ns=self.start_ns,
                seed=self.local.seed,
                share=share,
            )
            receive, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(
                target=_worker_main, args=(job, send, halt), name=f"workload-{share.index}"
            )
            proc.daemon = True
            proc.start()
            send.close()
            conns.append(receive)
            procs.append(proc)
        merger = StreamMerger(streams=len(procs))
        try:
            results, errors = self._pump(conns, merger, stop, halt)
        finally:
            halt.set()
            for proc in procs:
                proc.join(JOIN_TIMEOUT_S)
                if proc.is_alive():
                    proc.terminate()
                    proc.join(JOIN_TIMEOUT_S)
        for record in merger.ready():  # every stream has ended: nothing is held back
            self.history.write(record)
        self.local.recorder.resume(next_index=merger.next_index, max_process=merger.max_process)
        for n, proc in enumerate(procs):
            if n not in results:
                raise WorkerError(
                    worker=n, exitcode=proc.exitcode, detail=errors.get(n, "no result sent")
                )
        return _combine([results[n] for n in range(len(procs))], self.local.spec.rate)

    def _pump(
        self,
        conns: list[multiprocessing.connection.Connection],
        merger: StreamMerger,
        stop: StopFlag | None,
        halt: Any,
    ) -> tuple[dict[int, tuple[dict[str, Any], list[float]]], dict[int, str]]:
        """Read every worker until all pipes closed; write what the merger releases."""
        live = {conn: n for n, conn in enumerate(conns)}
        results: dict[int, tuple[dict[str, Any], list[float]]] = {}
        errors: dict[int, str] = {}
        while live:
            if stop is not None and stop.is_set():
                halt.set()
            for conn in multiprocessing.connection.wait(list(live), timeout=POLL_S):
                assert isinstance(conn, multiprocessing.connection.Connection)
                n = live[conn]
                try:
                    message = conn.recv()
                except EOFError:
                    del live[conn]
                    merger.finish(n)
                    continue
                if message[0] == "batch":
                    merger.add(n, message[1], watermark=message[2])
                elif message[0] == "result":
                    results[n] = (message[1], message[2])
                else:
                    errors[n] = str(message[1])
                    halt.set()  # one worker failed: stop the others, keep their records
            for record in merger.ready():
                self.history.write(record)
        return results, errors

    def final_read(self) -> None:
        self.local.final_read()


def _combine(parts: list[tuple[dict[str, Any], list[float]]], rate: float) -> WorkloadResult:
    counts: dict[str, int] = {}
    by_f: dict[str, int] = {}
    jitters: list[float] = []
    duration_s = max(float(p["duration_s"]) for p, _ in parts)
    for part, jitter in parts:
        for k, v in part["counts"].items():
            counts[k] = counts.get(k, 0) + int(v)
        for k, v in part["by_f"].items():
            by_f[k] = by_f.get(k, 0) + int(v)
        jitters.extend(jitter)
    jitters.sort()
    # Workers are the forkserver's children, not ours: each reports the CPU it used itself.
    cpu_s = sum(float(p.get("cpu_s", 0.0)) for p, _ in parts)
    completed = sum(counts.get(t.value, 0) for t in (OpType.OK, OpType.FAIL, OpType.INFO))
    span_s = max(duration_s, 1e-9)
    return WorkloadResult(
        kind=str(parts[0][0]["kind"]),
        duration_s=duration_s,
        counts=counts,
        by_f=by_f,
        ops_per_s=completed / span_s,
        ok_per_s=counts.get("ok", 0) / span_s,
        target_rate=rate,
        skipped_slots=sum(int(p["skipped_slots"]) for p, _ in parts),
        jitter_p50_ms=percentile(jitters, 0.5) * 1000,
        jitter_p99_ms=percentile(jitters, 0.99) * 1000,
        extra={"workers": len(parts), "workers_cpu_s": round(cpu_s, 3)},
    )


__all__ = ["ParallelWorkload", "plan_shares", "resolve_workers"]
