"""Election Safety checker: golden good/bad status timelines (Raft paper §5.2, Figure 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.checker.election import election, election_safety
from harness.checker.rundata import load_run
from harness.checker.verdict import Verdict
from harness.history import RunDir, StatusSample

S = 1_000_000_000


def sample(
    t_s: float, member: str, role: str | None, term: int | None, leader: str | None = None
) -> StatusSample:
    return StatusSample(
        time=int(t_s * S),
        member=member,
        reachable=role is not None,
        role=role,
        term=term,
        leader=leader if leader is not None else (member if role == "leader" else None),
    )


GOOD = [
    # store-1 leads term 2, is killed; store-2 wins term 3; store-1 comes back as a follower.
    sample(0.0, "store-1", "leader", 2),
    sample(0.0, "store-2", "follower", 2, "store-1"),
    sample(0.0, "store-3", "follower", 2, "store-1"),
    sample(1.0, "store-1", None, None),
    sample(1.0, "store-2", "candidate", 3),
    sample(1.2, "store-2", "leader", 3),
    sample(1.2, "store-3", "follower", 3, "store-2"),
    sample(2.0, "store-1", "follower", 3, "store-2"),
]

# A deposed leader still claiming an *older* term is not a violation (no-step-down shows that).
STALE_OLD_TERM = [
    sample(0.0, "store-1", "leader", 2),
    sample(1.0, "store-1", "leader", 2),
    sample(1.0, "store-2", "leader", 3),
    sample(1.2, "store-2", "leader", 3),
]

# From a real run (bug-stale-follower-reads, seed 7): store-3 was sampled once between PySyncObj
# setting the candidate's term and setting its own role to follower. One sample is not a leader.
TORN_STEP_DOWN = [
    sample(0.93, "store-3", "leader", 1),
    sample(0.93, "store-2", "follower", 1, "store-3"),
    sample(1.52, "store-1", "candidate", 2),
    sample(1.52, "store-2", "follower", 1, "store-3"),
    sample(1.53, "store-3", "leader", 2),
    sample(1.78, "store-1", "leader", 2),
    sample(1.83, "store-3", "follower", 2, "store-1"),
    sample(2.10, "store-1", "leader", 2),
]

BAD_AT_ONCE = [
    sample(0.0, "store-1", "leader", 4),
    sample(0.0, "store-3", "leader", 4),
    sample(0.0, "store-2", "follower", 4, "store-1"),
    sample(0.2, "store-1", "leader", 4),
    sample(0.2, "store-3", "leader", 4),
]

# Term 5 led by store-1, later (after everyone restarted and forgot their votes) by store-2;
# the second leader is backed by a follower's view, not only by its own.
BAD_OVER_TIME = [
    sample(0.0, "store-1", "leader", 5),
    sample(0.2, "store-1", "leader", 5),
    sample(3.0, "store-1", None, None),
    sample(6.0, "store-2", "leader", 5),
    sample(6.0, "store-3", "follower", 5, "store-2"),
]


@pytest.mark.parametrize(
    "samples", [GOOD, STALE_OLD_TERM, TORN_STEP_DOWN], ids=["failover", "stale-old-term", "torn"]
)
def test_one_leader_per_term_is_valid(samples: list[StatusSample]) -> None:
    result = election_safety(samples)
    assert result.verdict is Verdict.VALID, result.reason


@pytest.mark.parametrize("samples", [BAD_AT_ONCE, BAD_OVER_TIME], ids=["at-once", "over-time"])
def test_two_leaders_in_one_term_is_invalid(samples: list[StatusSample]) -> None:
    result = election_safety(samples)
    assert result.verdict is Verdict.INVALID
    [violation] = result.details["violations"]
    assert len(violation["leaders"]) == 2


def test_violation_names_term_members_and_first_seen() -> None:
    result = election_safety(BAD_OVER_TIME)
    assert result.details["violations"] == [
        {"term": 5, "leaders": {"store-1": 0.0, "store-2": 6.0}}
    ]
    assert "term 5" in result.reason


def test_torn_step_down_is_reported_as_transient() -> None:
    result = election_safety(TORN_STEP_DOWN)
    assert {"term": 2, "member": "store-3", "at_s": 1.53} in result.details["transient_claims"]


def test_one_sample_each_is_not_enough_evidence() -> None:
    once = [sample(0.0, "store-1", "leader", 4), sample(0.0, "store-3", "leader", 4)]
    assert election_safety(once).verdict is Verdict.UNKNOWN


def test_same_member_repeating_its_term_is_fine() -> None:
    samples = [sample(t, "store-1", "leader", 1) for t in (0.0, 0.2, 0.4)]
    assert election_safety(samples).verdict is Verdict.VALID


def test_no_samples_or_no_leader_is_unknown() -> None:
    assert election_safety([]).verdict is Verdict.UNKNOWN
    no_leader = [sample(0.0, "store-1", "candidate", 3), sample(0.0, "store-2", None, None)]
    assert election_safety(no_leader).verdict is Verdict.UNKNOWN


def test_unreachable_sample_with_stale_fields_is_ignored() -> None:
    ghost = StatusSample(time=0, member="store-2", reachable=False, role="leader", term=2)
    ok = [sample(0.0, "store-1", "leader", 2), sample(0.2, "store-1", "leader", 2)]
    result = election_safety([*ok, ghost, ghost])
    assert result.verdict is Verdict.VALID


def test_reads_status_jsonl_of_a_run_directory(tmp_path: Path) -> None:
    run = RunDir(tmp_path).create()
    run.history.write_text("", encoding="utf-8")
    run.status.write_text(
        "".join(json.dumps(s.to_json()) + "\n" for s in BAD_AT_ONCE), encoding="utf-8"
    )
    assert election(load_run(run)).verdict is Verdict.INVALID
