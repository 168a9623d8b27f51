"""Sequential specifications the linearizability search checks against, and how calls map onto them.

In a nutshell: a ``Model`` has an initial state and a ``step(state, op)`` that returns the next
state, or ``REJECT`` when ``op``'s recorded output is impossible from ``state``. Ops are small
tuples ``(kind, a, b, out)`` built by ``encode`` from paired calls; ``out`` is ``UNKNOWN`` when
any output must be accepted (info ops, failed reads). States and values are hashable (JSON
lists/dicts are canonicalised), because the search memoises (linearized set, state) pairs.

Two models:
- ``REGISTER``: per-key register, initial ``None`` (= absent). ``read`` (ok value = value read,
  null = absent), ``write`` (value), ``cas`` (value ``[expected, new]``; ok = swapped; a
  compare-failed ``fail`` = "ran, value ≠ expected"), ``delete`` (ok value ``true``/``false`` =
  "the key existed", anything else = not asserted; the key is absent afterwards).
- ``KV``: Porcupine's kv test model, per-key string, initial ``""``: ``get``, ``put``, ``append``.

    m = REGISTER; s = m.init
    s = m.step(s, (WRITE, 1, None, UNKNOWN)); m.step(s, (READ, None, None, 2)) is REJECT  # True
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Final

from harness.history import OpType


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


UNKNOWN: Final = _Sentinel("UNKNOWN")  # output not observed: any result is accepted
REJECT: Final = _Sentinel("REJECT")  # step() result: this output is impossible from this state

READ, WRITE, CAS, DELETE, GET, PUT, APPEND = range(7)
KIND_NAMES = ("read", "write", "cas", "delete", "get", "put", "append")
_KIND_OF = {name: kind for kind, name in enumerate(KIND_NAMES)}

Value = Hashable
ModelOp = tuple[int, Value, Value, Any]  # (kind, a, b, out)


class FailCas(enum.StrEnum):
    """How a ``fail`` on ``cas`` is read."""

    COMPARE_FAILED = "compare-failed"  # ran, and the register's value ≠ expected (the corpus)
    DROPPED = "dropped"  # did not happen (Jepsen/Knossos)
    AUTO = "auto"  # compare-failed when there is no error text (the corpus) or it says so


_SCALARS = (type(None), str, int, float)


def canonical(v: Any) -> Value:
    """A hashable stand-in for a JSON value; bools stay distinct from 1 and 0."""
    if type(v) in _SCALARS:  # exact types: bool (a subclass of int) is not among them
        scalar: Value = v
        return scalar
    if isinstance(v, bool):
        return ("bool", v)
    return ("json", json.dumps(v, sort_keys=True, separators=(",", ":")))


def _step_register(state: Value, op: ModelOp) -> Any:
    kind, a, b, out = op
    if kind == READ:
        return state if out is UNKNOWN or out == state else REJECT
    if kind == WRITE:
        return a
    if kind == CAS:
        matches = state == a
        if out is UNKNOWN:
            return b if matches else state
        if out:
            return b if matches else REJECT
        return REJECT if matches else state
    # DELETE: out True/False asserts whether the key existed
    if out is UNKNOWN or out == (state is not None):
        return None
    return REJECT


def _step_kv(state: Value, op: ModelOp) -> Any:
    kind, a, _b, out = op
    if kind == GET:
        return state if out is UNKNOWN or out == state else REJECT
    if kind == PUT:
        return a
    return f"{state}{a}"  # APPEND


@dataclass(frozen=True, slots=True, kw_only=True)
class Model:
    name: str
    init: Value
    step: Callable[[Value, ModelOp], Any]
    fs: frozenset[str]
    writes: frozenset[int]  # kinds that may change the state
    # Estimated bytes one memo entry holds (set slot, 2-tuple, 128-bit hash, a new state object
    # when the step builds one), measured with tracemalloc: 130 on etcd_002 (register), 323 on
    # Porcupine's c50-ok (kv: every append makes a new, longer string).
    memo_entry_bytes: int


REGISTER = Model(
    name="register",
    init=None,
    step=_step_register,
    fs=frozenset({"read", "write", "cas", "delete"}),
    writes=frozenset({WRITE, CAS, DELETE}),
    memo_entry_bytes=160,
)
KV = Model(
    name="kv",
    init="",
    step=_step_kv,
    fs=frozenset({"get", "put", "append"}),
    writes=frozenset({PUT, APPEND}),
    memo_entry_bytes=400,
)
MODELS = {m.name: m for m in (REGISTER, KV)}

# Error texts of a cas whose compare ran and failed (the workload's "compare failed: …",
# HTTP 409 Conflict / AlreadyExists from the apiserver's resourceVersion precondition).
_COMPARE_FAILED = ("compare", "409", "conflict", "alreadyexists", "already exists")


def encode(
    f: str, arg: Any, result: Any, outcome: OpType | None, error: str | None, fail_cas: FailCas
) -> ModelOp | None:
    """The model op for one call, or None when the call is dropped (it certainly did nothing,
    or it is an unobserved read that can always be placed at +∞)."""
    kind = _KIND_OF[f]
    done = outcome is OpType.OK
    if outcome is OpType.FAIL:
        if kind == CAS and fail_cas_ran(fail_cas, result, error):
            return (CAS, *_cas_args(arg), False)
        return None  # a failed write did nothing; a failed read is the same as no read
    if not done and kind in (READ, GET):
        return None  # info read: no effect, any output
    if kind in (READ, GET):
        return (kind, None, None, canonical(result))
    if kind in (WRITE, PUT, APPEND):
        return (kind, canonical(arg), None, UNKNOWN)
    if kind == CAS:
        swapped: Any = UNKNOWN
        if done:
            swapped = result.get("succeeded", True) if isinstance(result, dict) else True
            swapped = bool(swapped)
        return (CAS, *_cas_args(arg), swapped)
    existed: Any = result if done and isinstance(result, bool) else UNKNOWN
    if done and isinstance(result, dict) and isinstance(result.get("deleted"), bool):
        existed = result["deleted"]
    return (DELETE, None, None, existed)


def _cas_args(arg: Any) -> tuple[Value, Value]:
    if not isinstance(arg, list | tuple) or len(arg) != 2:
        raise ValueError(f"cas value must be [expected, new], got {arg!r}")
    return canonical(arg[0]), canonical(arg[1])


def fail_cas_ran(policy: FailCas, result: Any, error: str | None) -> bool:
    if policy is FailCas.COMPARE_FAILED:
        return True
    if policy is FailCas.DROPPED:
        return False
    if isinstance(result, dict) and result.get("succeeded") is False:
        return True
    if error is None:
        return True
    text = error.lower()
    return any(word in text for word in _COMPARE_FAILED)
