"""Classify what happened to one client request: ok, fail (certainly no effect) or info (unknown).

In a nutshell: a workload calls ``classify_exception(exc, effect=...)`` when httpx raised (or
``classify_aiohttp_exception`` for aiohttp, which names its failures with the httpx words of the
table, so histories read the same whichever client made them) and
``classify_status(code, effect=...)`` when a response came back that is not a success. Both
return an ``Outcome`` whose ``type`` is the completion type of the op in the history. ``effect``
says whether the request could change state (a write) or not (a read): a read has no effect, so
whatever goes wrong with it, the op can safely be recorded as ``fail`` (Jepsen's habit for reads).

    classify_exception(httpx.ReadTimeout("slow"), effect=Effect.WRITE).type  # OpType.INFO
    classify_status(409, effect=Effect.WRITE).type                          # OpType.FAIL

The table (httpx's exception tree: https://www.python-httpx.org/exceptions/):

| what happened                                        | write | read | why                        |
|------------------------------------------------------|-------|------|----------------------------|
| ConnectError, ConnectTimeout                         | fail  | fail | connect phase: never sent  |
| PoolTimeout, LocalProtocolError, UnsupportedProtocol | fail  | fail | never sent                 |
| ReadTimeout, WriteTimeout, ReadError, WriteError     | info  | fail | sent, maybe partly         |
| RemoteProtocolError, CloseError, other TransportError| info  | fail | server gone mid-exchange   |
| TimeoutError (our own per-op deadline)               | info  | fail | cancelled at unknown point |
| any other exception                                  | info  | fail | unknown; error recorded    |
| 5xx (500/502/503/504): may have been forwarded       | info  | fail | the leader may commit it   |
| 404 Not Found                                        | fail  | ok*  | *absent → value null       |
| 409 Conflict / AlreadyExists, CAS compare failed     | fail  | fail | a definite refusal         |
| other 4xx (400, 401, 403, 410, 422, 429)             | fail  | fail | refused before any effect  |
| 1xx / 3xx (never sent by our servers)                | info  | fail | cannot tell                |

A CAS whose compare failed is a 200 from the store (``succeeded: false``) or a 409 from the
apiserver; either way the op is ``fail``: it certainly did not take effect.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import httpx

from harness.history import OpType


class Effect(enum.StrEnum):
    READ = "read"  # no effect on the state: failures are always `fail`
    WRITE = "write"  # may change state: an unknown outcome is `info`


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """The completion of one op: its type, the value to record and an error text (not ok)."""

    type: OpType
    value: Any = None
    error: str | None = None
    unavailable: bool = False  # the server did not answer properly: try another one next time
    # What the server said the current state is, e.g. the value a failed CAS found: a hint for
    # the generator's next op, never recorded. A 1-tuple, so "absent" (None) is expressible.
    observed: tuple[Any] | None = None

    @property
    def definite(self) -> bool:
        """True when the op certainly happened (ok) or certainly did not (fail)."""
        return self.type is not OpType.INFO


def ok(value: Any = None) -> Outcome:
    return Outcome(type=OpType.OK, value=value)


def fail(error: str, value: Any = None) -> Outcome:
    return Outcome(type=OpType.FAIL, value=value, error=error)


def _unknown(effect: Effect, error: str, value: Any) -> Outcome:
    kind = OpType.INFO if effect is Effect.WRITE else OpType.FAIL
    return Outcome(type=kind, value=value, error=error, unavailable=True)


# Exceptions raised before a single byte of the request reached the server.
_NEVER_SENT: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.LocalProtocolError,
    httpx.UnsupportedProtocol,
)


def classify_exception(exc: BaseException, *, effect: Effect, value: Any = None) -> Outcome:
    """The outcome of a request that raised ``exc`` (see the module table)."""
    error = f"{type(exc).__name__}: {exc}".rstrip(": ")
    if isinstance(exc, _NEVER_SENT):
        return Outcome(type=OpType.FAIL, value=value, error=error, unavailable=True)
    if isinstance(exc, TimeoutError):  # asyncio.TimeoutError is TimeoutError on 3.11
        return _unknown(effect, f"TimeoutError: op deadline exceeded {exc}".rstrip(), value)
    return _unknown(effect, error, value)


def classify_aiohttp_exception(exc: BaseException, *, effect: Effect, value: Any = None) -> Outcome:
    """The outcome of an aiohttp request that raised ``exc``, in the table's terms.

    Only a failed connect (refused, unreachable, TLS handshake, connect timeout) or a bad URL is
    certainly never sent; anything later — a timeout, a reset, a server that closed the
    connection — may have reached the server, so a write is ``info``.
    """
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        name = "ConnectTimeout"
    elif isinstance(exc, aiohttp.ClientConnectorError | aiohttp.InvalidURL):
        name = "ConnectError"
    elif isinstance(exc, TimeoutError):  # aiohttp's own deadline (the op's is a cancellation)
        name = "ReadTimeout"
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        name = "RemoteProtocolError"
    elif isinstance(exc, aiohttp.ClientOSError | aiohttp.ClientPayloadError):
        name = "ReadError"
    else:
        name = "TransportError"
    error = f"{name}: {type(exc).__name__}: {exc}".rstrip(": ")
    if name.startswith("Connect"):
        return Outcome(type=OpType.FAIL, value=value, error=error, unavailable=True)
    return _unknown(effect, error, value)


def classify_status(status: int, *, effect: Effect, body: Any = None, value: Any = None) -> Outcome:
    """The outcome of a non-2xx response (a 404 read is ``ok`` with value null)."""
    reason = _reason(body)
    error = f"HTTP {status}" + (f" {reason}" if reason else "")
    if status == 404 and effect is Effect.READ:
        return ok(None)
    if 400 <= status < 500:
        return fail(error, value)
    if 200 <= status < 300:
        return ok(value)
    return _unknown(effect, error, value)


def _reason(body: Any) -> str:
    """A short reason from a store error body or a Kubernetes Status body."""
    if isinstance(body, dict):
        for field in ("reason", "error", "message"):
            text = body.get(field)
            if isinstance(text, str) and text:
                return text
    return ""


class _JsonBody(Protocol):
    def json(self) -> Any: ...


def response_json(response: _JsonBody) -> Any:
    """The JSON body, or None when it is absent or not JSON (error pages from proxies)."""
    try:
        return response.json()
    except ValueError:
        return None


__all__ = [
    "Effect",
    "Outcome",
    "classify_aiohttp_exception",
    "classify_exception",
    "classify_status",
    "fail",
    "ok",
    "response_json",
]
