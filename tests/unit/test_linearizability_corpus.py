"""Parity with Porcupine on the shared corpus: 102 etcd cas-register histories and 6 kv ones.

The corpus lives outside the repo (../shared/histories/porcupine, see its README for how fail
and info are read); these tests skip when it is absent.
"""

from __future__ import annotations

import pytest
from corpus_support import CORPUS, ROWS, needs_corpus

from harness.checker import (
    LinearizabilityOptions,
    Verdict,
    check_history,
    check_linearizable,
    pair_calls,
)
from harness.history import read_ops

# ../shared beside the clone (as in CI); CHAOSPLANE_SHARED points elsewhere (from a worktree).


@needs_corpus
def test_corpus_has_every_verdict() -> None:
    etcd = [r for r in ROWS if r["history"].startswith("etcd_")]
    kv = [r for r in ROWS if not r["history"].startswith("etcd_")]
    assert (len(etcd), len(kv)) == (102, 6)
    assert sum(r["verdict"] == "linearizable" for r in etcd) == 23


@needs_corpus
@pytest.mark.parametrize("row", ROWS, ids=[r["history"] for r in ROWS])
def test_verdict_matches_porcupine(row: dict[str, str]) -> None:
    result = check_history(CORPUS / row["jsonl"]).checks["linearizable"]
    expected = Verdict.VALID if row["verdict"] == "linearizable" else Verdict.INVALID
    assert result.verdict is expected, result.reason
    if expected is Verdict.INVALID:
        assert result.details["unorderable"], "an invalid verdict names the ops"
        assert result.details["longest_prefix"] is not None


@needs_corpus
@pytest.mark.parametrize("name", ["etcd_000", "etcd_057", "c10-bad"])
def test_counterexample_is_itself_not_linearizable(name: str) -> None:
    """The reported ops, checked on their own, are not linearizable (and are few)."""
    ops = list(read_ops(CORPUS / "jsonl" / f"{name}.jsonl"))
    calls = pair_calls(ops).calls
    result = check_linearizable(calls, LinearizabilityOptions())
    picked = {c["index"] for c in result.details["unorderable"]}
    subset = [c for c in calls if c.invoke_index in picked]
    again = check_linearizable(subset, LinearizabilityOptions(minimize_budget_s=0))
    assert again.verdict is Verdict.INVALID
    assert result.details["minimal"] is True
    assert len(picked) <= 6


@needs_corpus
def test_dropping_failed_cas_gives_the_same_verdicts() -> None:
    """The README: reading `fail cas` as "did not happen" gives the same verdicts here."""
    from harness.checker import FailCas

    for row in ROWS:
        if not row["history"].startswith("etcd_"):
            continue
        calls = pair_calls(read_ops(CORPUS / row["jsonl"])).calls
        opts = LinearizabilityOptions(fail_cas=FailCas.DROPPED, minimize_budget_s=0)
        expected = Verdict.VALID if row["verdict"] == "linearizable" else Verdict.INVALID
        assert check_linearizable(calls, opts).verdict is expected, row["history"]


@needs_corpus
def test_fast_path_agrees_with_porcupine_where_it_decides() -> None:
    """The unique-value fast path never contradicts a corpus verdict (most etcd histories
    write duplicate values, so it hands them to the search), and the exact search alone, with
    the fast path off, still gives every verdict."""
    from harness.checker.fastpath import decide
    from harness.checker.linearizable import split_by_key
    from harness.checker.models import REGISTER, FailCas

    decided = 0  # none on this corpus today; the assertion below says why
    for row in ROWS:
        calls = pair_calls(read_ops(CORPUS / row["jsonl"])).calls
        expected = Verdict.VALID if row["verdict"] == "linearizable" else Verdict.INVALID
        exact = check_linearizable(calls, LinearizabilityOptions(fast_path=False))
        assert exact.verdict is expected, row["history"]
        if not row["history"].startswith("etcd_"):
            continue
        (key,) = split_by_key(calls, REGISTER, FailCas.AUTO)
        fast = decide(key.ops)
        if fast.decided:
            decided += 1
            assert (Verdict.VALID if fast.ok else Verdict.INVALID) is expected, row["history"]
        else:  # Jepsen's etcd test writes random small ints: values repeat
            assert fast.reason == "a value is written twice", row["history"]
