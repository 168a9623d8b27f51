"""Apiserver configuration from the environment (the container contract in ARCHITECTURE.md).

In a nutshell: :func:`config_from_env` reads ``API_NAME``, ``API_STORE_URLS``, ``API_PORT``,
``API_TOKENS`` and ``CHAOSPLANE_BUGS`` (plus optional tuning knobs, all with defaults) into a
frozen :class:`ApiConfig`; tests build an ``ApiConfig`` directly.

    cfg = config_from_env({"API_STORE_URLS": "http://127.0.0.1:2379", "API_TOKENS": "t=alice:*"})
    cfg.tokens["t"].allows(Verb.CREATE)   # True

``API_TOKENS`` is a comma list of ``token=user:verbs``; since verbs are comma-separated too,
a comma part without ``=`` continues the previous token's verbs:
``admin=alice:*,ro=bob:get,list,watch`` gives ``ro`` the verbs get, list and watch. An unset or
empty ``API_TOKENS`` turns authentication off (every request acts as ``anonymous`` with all
verbs) — convenient on a laptop, and announced at start.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from controlplane import bugs
from controlplane.apiserver.store import StoreClientConfig


class Verb(enum.StrEnum):
    """Kubernetes API verbs (API concepts: "Kubernetes API terminology")."""

    GET = "get"
    LIST = "list"
    WATCH = "watch"
    CREATE = "create"
    UPDATE = "update"
    PATCH = "patch"
    DELETE = "delete"
    DELETECOLLECTION = "deletecollection"


class ConfigError(ValueError):
    """An environment variable has a value the apiserver cannot use."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenGrant:
    user: str
    verbs: frozenset[str]  # Verb values, or {"*"} for every verb

    def allows(self, verb: Verb) -> bool:
        return "*" in self.verbs or str(verb) in self.verbs


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiConfig:
    store: StoreClientConfig
    name: str = "api-1"
    host: str = "0.0.0.0"
    port: int = 6443
    tokens: Mapping[str, TokenGrant] | None = None  # None: authentication off
    bugs: frozenset[str] = field(default_factory=frozenset)
    watch_max_s: float = 1800.0  # a watch without timeoutSeconds ends after this
    watch_bookmark_s: float = 5.0  # BOOKMARK period of a watch with allowWatchBookmarks
    bootstrap_retry_s: float = 0.5  # pause between attempts to create default namespaces
    # Events have no TTL here: a namespace keeps its newest ``events_per_namespace`` (eventsapi).
    events_per_namespace: int = 1000


def parse_tokens(raw: str) -> dict[str, TokenGrant]:
    """Parse ``API_TOKENS``; raise :class:`ConfigError` naming the bad part."""
    grants: dict[str, tuple[str, set[str]]] = {}
    last: str | None = None
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        if "=" not in part:
            if last is None:
                raise ConfigError(f"API_TOKENS: got {part!r} before any token=user:verbs entry")
            grants[last][1].add(_verb(part))
            continue
        token, _, grant = part.partition("=")
        user, sep, verbs = grant.partition(":")
        if not token or not user or not sep:
            raise ConfigError(
                f"API_TOKENS: got {part!r}; expected token=user:verbs (verbs * or get,...)"
            )
        grants[token] = (user, {_verb(verbs or "*")})
        last = token
    return {t: TokenGrant(user=u, verbs=frozenset(v)) for t, (u, v) in grants.items()}


def _verb(raw: str) -> str:
    word = raw.strip().lower()
    if word != "*" and word not in {str(v) for v in Verb}:
        choices = ", ".join(["*", *(str(v) for v in Verb)])
        raise ConfigError(f"API_TOKENS: unknown verb {raw!r}; expected one of {choices}")
    return word


def config_from_env(environ: Mapping[str, str]) -> ApiConfig:
    """Build the configuration the container contract describes."""
    urls = tuple(u.strip() for u in environ.get("API_STORE_URLS", "").split(",") if u.strip())
    if not urls:
        raise ConfigError("API_STORE_URLS: empty; expected a comma list of store base URLs")
    store = StoreClientConfig(
        urls=urls,
        request_timeout_s=_float(environ, "API_STORE_TIMEOUT_S", 4.0),
        attempt_timeout_s=_float(environ, "API_STORE_ATTEMPT_TIMEOUT_S", 2.0),
        watch_poll_s=_float(environ, "API_WATCH_POLL_S", 2.0),
    )
    raw_tokens = environ.get("API_TOKENS", "").strip()
    return ApiConfig(
        store=store,
        name=environ.get("API_NAME", "api-1"),
        host=environ.get("API_HOST", "0.0.0.0"),
        port=int(_float(environ, "API_PORT", 6443)),
        tokens=parse_tokens(raw_tokens) if raw_tokens else None,
        bugs=bugs.validate(environ),
        watch_bookmark_s=_float(environ, "API_WATCH_BOOKMARK_S", 5.0),
        events_per_namespace=max(1, int(_float(environ, "API_EVENTS_PER_NAMESPACE", 1000))),
    )


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "")
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: got {raw!r}; expected a number") from exc
