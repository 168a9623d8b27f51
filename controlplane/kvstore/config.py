"""Store member configuration, read from the environment (the container contract).

In a nutshell: :func:`load_config` turns ``KV_*`` and ``CHAOSPLANE_BUGS`` into a frozen
:class:`StoreConfig` or raises :class:`ConfigError` naming the variable, the value and the fix.

    cfg = load_config({"KV_ID": "store-1", "KV_PEERS": "store-1=127.0.0.1:2380"})
    cfg.self_address  # "127.0.0.1:2380"

Besides the container contract (ARCHITECTURE.md), three optional tuning variables exist for
tests: ``KV_RAFT_MIN_TIMEOUT_S`` / ``KV_RAFT_MAX_TIMEOUT_S`` (election timeouts) and
``KV_LOG_COMPACTION_ENTRIES`` (log entries before a snapshot, default 5000).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from controlplane import bugs


class ConfigError(ValueError):
    """An environment variable is missing or malformed."""


class EngineKind(StrEnum):
    PYSYNCOBJ = "pysyncobj"
    RAFTOS = "raftos"


@dataclass(frozen=True, slots=True, kw_only=True)
class RaftTimings:
    """Raft timers (seconds). Defaults (measured for this store): short election timeouts
    for fast failover, and a leader that loses its majority falls back to follower after about
    two election timeouts (PySyncObj's own default is 30 s of stale leadership)."""

    min_timeout_s: float = 0.2
    max_timeout_s: float = 0.4
    append_entries_period_s: float = 0.05
    leader_fallback_timeout_s: float = 0.8
    connection_timeout_s: float = 1.0
    connection_retry_s: float = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreConfig:
    member_id: str
    peers: tuple[tuple[str, str], ...]  # (name, raft address), all members incl. self
    engine: EngineKind = EngineKind.PYSYNCOBJ
    data_dir: str = "/data"
    http_host: str = "0.0.0.0"
    http_port: int = 2379
    raft_port: int = 2380
    bugs: frozenset[str] = frozenset()
    timings: RaftTimings = RaftTimings()
    request_timeout_s: float = 3.0
    # Raft log entries before a snapshot (PySyncObj's full dump); reads are log entries too.
    log_compaction_entries: int = 5000

    @property
    def self_address(self) -> str:
        return dict(self.peers)[self.member_id]

    @property
    def other_addresses(self) -> tuple[str, ...]:
        return tuple(addr for name, addr in self.peers if name != self.member_id)

    def bug(self, name: str) -> bool:
        if name not in bugs.KNOWN_BUGS:
            raise bugs.UnknownBugError(name)
        return name in self.bugs


def _parse_peers(raw: str) -> tuple[tuple[str, str], ...]:
    peers: list[tuple[str, str]] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        name, sep, addr = part.partition("=")
        host, colon, port = addr.rpartition(":")
        if not sep or not name or not colon or not host or not port.isdigit():
            raise ConfigError(
                f"KV_PEERS: got entry {part!r}; expected name=host:port, "
                "e.g. store-1=10.0.0.2:2380,store-2=10.0.0.3:2380"
            )
        peers.append((name.strip(), addr.strip()))
    if len({n for n, _ in peers}) != len(peers):
        raise ConfigError(f"KV_PEERS: got {raw!r}; member names must be unique")
    return tuple(peers)


def _int(env: Mapping[str, str], var: str, default: int) -> int:
    raw = env.get(var, "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 2:
        raise ConfigError(f"{var}: got {raw!r}; expected a whole number >= 2")
    return int(raw)


def _timings(env: Mapping[str, str]) -> RaftTimings:
    """Election timeouts may be overridden (``KV_RAFT_MIN_TIMEOUT_S``/``KV_RAFT_MAX_TIMEOUT_S``,
    not part of the container contract) so a test can decide who wins the first election; the
    leader fallback stays at 2 × the max timeout."""
    base = RaftTimings()
    raw_min, raw_max = env.get("KV_RAFT_MIN_TIMEOUT_S", ""), env.get("KV_RAFT_MAX_TIMEOUT_S", "")
    if not raw_min and not raw_max:
        return base
    try:
        lo = float(raw_min) if raw_min else base.min_timeout_s
        hi = float(raw_max) if raw_max else max(base.max_timeout_s, 2 * lo)
    except ValueError:
        raise ConfigError(
            f"KV_RAFT_MIN_TIMEOUT_S/KV_RAFT_MAX_TIMEOUT_S: got {raw_min!r}/{raw_max!r}; "
            "expected seconds"
        ) from None
    if not base.append_entries_period_s * 3 < lo < hi:
        raise ConfigError(
            f"raft timeouts: got min={lo} max={hi}; expected "
            f"{base.append_entries_period_s * 3} < min < max"
        )
    return RaftTimings(
        min_timeout_s=lo,
        max_timeout_s=hi,
        leader_fallback_timeout_s=2 * hi,
        connection_timeout_s=max(base.connection_timeout_s, hi),
    )


def load_config(environ: Mapping[str, str] | None = None) -> StoreConfig:
    env = os.environ if environ is None else environ
    member_id = env.get("KV_ID", "")
    if not member_id:
        raise ConfigError("KV_ID: missing; set it to this member's name, e.g. store-1")
    peers = _parse_peers(env.get("KV_PEERS", ""))
    if member_id not in dict(peers):
        raise ConfigError(
            f"KV_PEERS: got {env.get('KV_PEERS', '')!r}; it must list every member including "
            f"this one ({member_id}=host:port)"
        )
    engine_raw = env.get("KV_ENGINE", "") or EngineKind.PYSYNCOBJ.value
    try:
        engine = EngineKind(engine_raw)
    except ValueError:
        choices = ", ".join(k.value for k in EngineKind)
        raise ConfigError(f"KV_ENGINE: got {engine_raw!r}; expected one of {choices}") from None
    try:
        active = bugs.active(env)
    except bugs.UnknownBugError as exc:
        raise ConfigError(str(exc)) from None
    return StoreConfig(
        member_id=member_id,
        peers=peers,
        engine=engine,
        data_dir=env.get("KV_DATA_DIR", "") or "/data",
        http_port=_int(env, "KV_HTTP_PORT", 2379),
        raft_port=_int(env, "KV_RAFT_PORT", 2380),
        bugs=active,
        timings=_timings(env),
        log_compaction_entries=_int(env, "KV_LOG_COMPACTION_ENTRIES", 5000),
    )
