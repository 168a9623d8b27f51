"""The client loop every workload shares: pace, plan, invoke, execute with a deadline, complete.

In a nutshell: a workload subclasses ``ClientWorkload`` and supplies ``plan`` (what the next op
of a client is), ``execute`` (its HTTP requests → an ``Outcome``) and optionally ``observe``
(learn from the result), ``setup`` and ``background`` tasks (watchers). ``run`` is blocking: it
runs its own event loop, stops at ``duration_s`` or when ``stop`` is set, lets every open op
finish (each is bounded by ``op_timeout_s``) and returns a ``WorkloadResult``.

    workload = RegisterWorkload(spec, info, writer, start_ns=start_ns, seed=7)
    result = workload.run(stop)          # WorkloadResult(counts={"ok": 812, ...}, ops_per_s=...)

Jepsen's process rule: after an ``info`` the client continues as ``process + slots`` (slots =
every process id in use at once), so a retired id is never reused.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from harness.history import OpType
from harness.model import WorkloadSpec
from harness.model.cluster import ClusterInfo
from harness.workload.errors import WorkloadConfigError
from harness.workload.http import Endpoint, Http, open_http
from harness.workload.outcome import Effect, Outcome, classify_exception
from harness.workload.pacing import Pacer, percentile
from harness.workload.recorder import Recorder, RecordSink


@dataclass(frozen=True, slots=True, kw_only=True)
class Invocation:
    """What a client is about to do: recorded as the invoke, executed by the workload."""

    f: str
    key: str | None
    value: Any
    effect: Effect


RETURN_HOME_AFTER_OK = 10
MARK_INTERVAL_S = 0.02  # how often a worker's stream promises "nothing older will follow"


class StopFlag(Protocol):
    """A ``threading.Event`` or a ``multiprocessing`` event: only ``is_set`` is used."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Share:
    """The part of a workload one worker process runs: its client slots (global numbers, so
    process ids stay unique across workers) and its index among ``count`` workers."""

    index: int
    count: int
    slots: tuple[int, ...]


@dataclass(slots=True, kw_only=True)
class ClientState:
    """One client's mutable state: its current process id and the server it talks to."""

    slot: int
    process: int
    endpoint: int
    rng: random.Random
    ok_away: int = 0  # ok ops since it failed over from its home endpoint


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkloadResult:
    kind: str
    duration_s: float
    counts: dict[str, int]  # completions by type: ok / fail / info (+ "event" for watch events)
    by_f: dict[str, int]
    ops_per_s: float  # completed client ops (ok + fail + info) per second
    ok_per_s: float
    target_rate: float
    skipped_slots: int  # schedule slots dropped because every client was busy
    jitter_p50_ms: float  # how late ops started against their schedule slot
    jitter_p99_ms: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "duration_s": round(self.duration_s, 3),
            "counts": dict(self.counts),
            "by_f": dict(self.by_f),
            "ops_per_s": round(self.ops_per_s, 1),
            "ok_per_s": round(self.ok_per_s, 1),
            "target_rate": self.target_rate,
            "skipped_slots": self.skipped_slots,
            "jitter_p50_ms": round(self.jitter_p50_ms, 3),
            "jitter_p99_ms": round(self.jitter_p99_ms, 3),
            **self.extra,
        }


class ClientWorkload(abc.ABC):
    """Base of the workloads: the shared client loop; subclasses say what each op does."""

    kind: ClassVar[str]
    checkers: tuple[str, ...] = ("well_formed",)
    # Whether clients can be spread over worker processes (``harness.workload.workers``): true
    # when no state is shared between clients of different ``parallel_group``s.
    parallel: ClassVar[bool] = False

    def __init__(
        self,
        spec: WorkloadSpec,
        info: ClusterInfo,
        history: RecordSink,
        *,
        start_ns: int,
        seed: int,
        share: Share | None = None,
    ) -> None:
        self.spec = spec
        self.info = info
        self.seed = seed
        self.share = share
        self.jitters_s: list[float] = []  # sorted after run(): how late each op started
        if spec.through not in ("apiserver", "store"):
            raise WorkloadConfigError(
                field="workload.through",
                got=spec.through,
                expected="'apiserver' or 'store'",
                fix="set workload.through to one of those",
            )
        self.recorder = Recorder(history, start_ns=start_ns)
        self.endpoints = self.make_endpoints(info)
        if not self.endpoints:
            raise WorkloadConfigError(
                field=f"cluster ({spec.through} endpoints)",
                got=[],
                expected=f"at least one {spec.through} URL in ClusterInfo",
                fix="start the cluster with at least one member of that kind",
            )
        self.token: str | None = info.api_token if spec.through == "apiserver" else None
        self.slots = spec.clients + self.extra_processes()
        # Server-side names start with this, so runs sharing one cluster never meet.
        self.prefix: str = getattr(spec, "key_prefix", "") or ""

    # ----- what subclasses provide -------------------------------------------------------
    def make_endpoints(self, info: ClusterInfo) -> list[Endpoint]:
        urls = info.store if self.spec.through == "store" else info.apiservers
        return [Endpoint(name=name, url=url.rstrip("/")) for name, url in sorted(urls.items())]

    def parallel_group(self, slot: int) -> int:
        """Clients of one group share state (a key's counter) and must run in one process."""
        return slot

    def client_slots(self) -> tuple[int, ...]:
        """The client slots this instance runs: all of them, or its worker's share."""
        return self.share.slots if self.share is not None else tuple(range(self.spec.clients))

    def unique(self, n: int) -> int:
        """The ``n``-th value of a per-run counter, unique across worker processes."""
        return n if self.share is None else n * self.share.count + self.share.index

    def extra_processes(self) -> int:
        """Process ids used besides the clients' (watchers)."""
        return 0

    @abc.abstractmethod
    def plan(self, client: ClientState) -> Invocation: ...

    @abc.abstractmethod
    async def execute(self, http: Http, inv: Invocation, endpoint: Endpoint) -> Outcome: ...

    def observe(self, client: ClientState, inv: Invocation, outcome: Outcome) -> None:  # noqa: B027
        """Learn from a completion (e.g. the last value seen); default: nothing."""

    async def setup(self, http: Http) -> None:  # noqa: B027
        """Before the clients start; default: nothing."""

    def background(self, http: Http, stopping: asyncio.Event) -> list[Coroutine[Any, Any, None]]:
        """Tasks that run beside the clients (watchers); default: none."""
        return []

    async def drain(self, tasks: list[asyncio.Task[None]]) -> None:
        """After the clients stopped: end the background tasks; default: cancel them."""
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def result_extra(self) -> dict[str, Any]:
        """Workload-specific figures for the result (e.g. watch reconnects)."""
        return {}

    def final_read(self) -> None:  # noqa: B027
        """After healing: read back what the checkers need; default: nothing to read."""

    # ----- the loop ----------------------------------------------------------------------
    def run(self, stop: StopFlag | None = None) -> WorkloadResult:
        try:
            return asyncio.run(self._main(stop))
        finally:
            self.recorder.close()

    def open_http(self, connections: int | None = None) -> Any:
        """An HTTP client; by default sized for every process at once (setup, final reads)."""
        if connections is None:
            connections = self.slots + len(self.endpoints) + 4
        return open_http(
            token=self.token,
            timeout_s=self.spec.op_timeout_s,
            connections=connections,
            ca_pem=self.info.ca_pem or None,  # the apiservers' CA (https); "" for plain http
        )

    async def _main(self, stop: StopFlag | None) -> WorkloadResult:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        jitters_s = self.jitters_s
        slots = self.client_slots()
        async with contextlib.AsyncExitStack() as stack:
            http = await stack.enter_async_context(self.open_http())
            # One small pool per client: httpcore scans every pooled connection (a poll(2)
            # each) on every request, so one shared pool costs O(clients) per op.
            own = [
                await stack.enter_async_context(self.open_http(len(self.endpoints) + 1))
                for _ in slots
            ]
            await self.setup(http)
            start_s = loop.time()
            # A worker paces its share of the rate; the shares add up to the target.
            share = len(slots) / self.spec.clients if self.spec.clients else 1.0
            pacer = Pacer(
                rate=self.spec.rate * share,
                start_s=start_s,
                max_lag_s=max(self.spec.op_timeout_s, 0.5),
            )
            background = [asyncio.create_task(c) for c in self.background(http, stopping)]
            if self.share is not None:
                background.append(asyncio.create_task(self._mark_loop(stopping)))
            clients = [
                asyncio.create_task(
                    self._client_loop(own[n], self._client(slot), pacer, stopping, jitters_s)
                )
                for n, slot in enumerate(slots)
            ]
            timer = asyncio.create_task(self._stop_timer(stop, stopping, start_s))
            try:
                # The timer too: with zero clients (watchers only) the run still lasts duration_s.
                await asyncio.gather(timer, *clients)
            finally:
                stopping.set()
                for task in clients:
                    task.cancel()
                await asyncio.gather(*clients, return_exceptions=True)
                timer.cancel()
                elapsed_s = max(loop.time() - start_s, 1e-9)
                await self.drain(background)
        jitters_s.sort()
        return self._result(elapsed_s, pacer, jitters_s)

    async def _mark_loop(self, stopping: asyncio.Event) -> None:
        """Watermarks on the loop thread, so the parent can merge the workers' streams."""
        while not stopping.is_set():
            self.recorder.mark()
            await asyncio.sleep(MARK_INTERVAL_S)

    def _client(self, slot: int) -> ClientState:
        return ClientState(
            slot=slot,
            process=slot,
            endpoint=slot % len(self.endpoints),
            rng=random.Random(f"{self.seed}:{self.kind}:{slot}"),
        )

    async def _stop_timer(
        self, stop: StopFlag | None, stopping: asyncio.Event, start_s: float
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline_s = start_s + self.spec.duration_s
        # The stop flag belongs to another thread: poll it (50 ms is far below any fault's scale).
        while loop.time() < deadline_s and not (stop is not None and stop.is_set()):
            await asyncio.sleep(min(0.05, max(deadline_s - loop.time(), 0.0)))
        stopping.set()

    async def _client_loop(
        self,
        http: Http,
        client: ClientState,
        pacer: Pacer,
        stopping: asyncio.Event,
        jitters_s: list[float],
    ) -> None:
        loop = asyncio.get_running_loop()
        while not stopping.is_set():
            due_s = pacer.take(loop.time())
            # Sleep in short steps so a stop is seen quickly even at low rates.
            while (delay_s := due_s - loop.time()) > 0 and not stopping.is_set():
                await asyncio.sleep(min(delay_s, 0.1))
            if stopping.is_set():
                return
            jitters_s.append(loop.time() - due_s)
            await self.perform(http, client)

    async def perform(self, http: Http, client: ClientState) -> Outcome:
        """One op of one client: invoke, execute within the deadline, complete, observe."""
        inv = self.plan(client)
        endpoint = self.endpoints[client.endpoint]
        pending = self.recorder.invoke(
            process=client.process, f=inv.f, key=inv.key, value=inv.value, node=endpoint.name
        )
        try:
            # asyncio.timeout, not wait_for: no extra task per op (wait_for wraps one on 3.11)
            async with asyncio.timeout(self.spec.op_timeout_s):
                outcome = await self.execute(http, inv, endpoint)
        except Exception as exc:  # any failure of ours or theirs becomes the op's outcome
            outcome = classify_exception(exc, effect=inv.effect)
        # Jepsen keeps the invoked value unless the completion says more (a read's result);
        # reads invoke with null, so a read of an absent key still completes with null.
        value = outcome.value if outcome.value is not None else inv.value
        self.recorder.complete(
            pending, outcome.type, value=value, node=endpoint.name, error=outcome.error
        )
        self.observe(client, inv, outcome)
        if outcome.type is OpType.INFO:
            client.process += self.slots
        self._steer(client, outcome)
        return outcome

    def _steer(self, client: ClientState, outcome: Outcome) -> None:
        """Fail over on an unavailable endpoint; after a while away, go back home, so a healed
        endpoint gets traffic again (recovery is judged per endpoint)."""
        home = client.slot % len(self.endpoints)
        if outcome.unavailable:
            client.endpoint = (client.endpoint + 1) % len(self.endpoints)
            client.ok_away = 0
        elif client.endpoint != home and outcome.type is OpType.OK:
            client.ok_away += 1
            if client.ok_away >= RETURN_HOME_AFTER_OK:
                client.endpoint, client.ok_away = home, 0

    def _result(self, elapsed_s: float, pacer: Pacer, jitters_s: list[float]) -> WorkloadResult:
        counts = dict(self.recorder.counts)
        completed = sum(counts.get(t.value, 0) for t in (OpType.OK, OpType.FAIL, OpType.INFO))
        return WorkloadResult(
            kind=self.kind,
            duration_s=elapsed_s,
            counts=counts,
            by_f=dict(self.recorder.by_f),
            ops_per_s=completed / elapsed_s,
            ok_per_s=counts.get("ok", 0) / elapsed_s,
            target_rate=self.spec.rate,
            skipped_slots=pacer.skipped,
            jitter_p50_ms=percentile(jitters_s, 0.5) * 1000,
            jitter_p99_ms=percentile(jitters_s, 0.99) * 1000,
            extra=self.result_extra(),
        )

    # ----- final reads -------------------------------------------------------------------
    def fresh_process(self) -> int:
        """A process id never used in this history (for final reads after the run)."""
        return self.recorder.max_process + 1

    def final_read_until_ok(
        self,
        key: str,
        read: Callable[[Http, Endpoint], Awaitable[Outcome]],
        *,
        timeout_s: float,
    ) -> None:
        """Record ``final-read`` ops (key ``key``) until one is ok or ``timeout_s`` passes;
        each attempt goes to the next endpoint, under a fresh process id."""

        async def body(http: Http) -> None:
            deadline_s = time.monotonic() + timeout_s
            attempt = 0
            while True:
                endpoint = self.endpoints[attempt % len(self.endpoints)]
                pending = self.recorder.invoke(
                    process=self.fresh_process(),
                    f="final-read",
                    key=key,
                    value=None,
                    node=endpoint.name,
                )
                try:
                    async with asyncio.timeout(self.spec.op_timeout_s):
                        outcome = await read(http, endpoint)
                except Exception as exc:  # a read: whatever went wrong, it had no effect
                    outcome = classify_exception(exc, effect=Effect.READ)
                self.recorder.complete(
                    pending,
                    outcome.type,
                    value=outcome.value,
                    node=endpoint.name,
                    error=outcome.error,
                )
                attempt += 1
                if outcome.type is OpType.OK or time.monotonic() >= deadline_s:
                    return
                await asyncio.sleep(min(0.5, max(deadline_s - time.monotonic(), 0.0)))

        self.run_final(body)

    def run_final(self, body: Any) -> None:
        """Run ``body(http)`` (a coroutine function) on a fresh loop, then flush the records."""

        async def main() -> None:
            async with self.open_http() as http:
                await body(http)

        try:
            asyncio.run(main())
        finally:
            self.recorder.close()
