"""Vote persistence checker: known-bad and known-good status timelines (Raft Figure 2)."""

from __future__ import annotations

import json
from pathlib import Path

from harness.checker.registry import REGISTRY
from harness.checker.rundata import RunData, load_run
from harness.checker.verdict import Verdict
from harness.checker.votes import applies, vote_persistence
from harness.cluster.probe import sample_from
from harness.history import RunDir, StatusSample

S = 1_000_000_000


def up(t_s: float, member: str, term: int, voted_for: str | None) -> StatusSample:
    role = "leader" if voted_for == member else "follower"
    return StatusSample(
        time=int(t_s * S), member=member, reachable=True, role=role, term=term, voted_for=voted_for
    )


def down(t_s: float, member: str) -> StatusSample:
    return StatusSample(time=int(t_s * S), member=member, reachable=False)


# store-2 voted for store-1 in term 3 at 1.0 s, is killed after 5.0 s, is back at 7.0 s.
FORGOT = [
    up(1.0, "store-2", 3, "store-1"),
    up(5.0, "store-2", 3, "store-1"),
    down(5.2, "store-2"),
    down(6.0, "store-2"),
    up(7.0, "store-2", 3, None),  # same term, vote gone: the forget-vote bug
    up(8.0, "store-2", 3, None),
]


def test_forgotten_vote_after_restart_is_invalid() -> None:
    result = vote_persistence(FORGOT)
    assert result.verdict is Verdict.INVALID
    (v,) = result.details["violations"]
    assert v == {
        "member": "store-2",
        "term": 3,
        "voted_for": "store-1",
        "vote_seen_s": 1.0,
        "last_up_s": 5.0,
        "back_s": 7.0,
        "back_term": 3,
        "back_voted_for": None,
    }


def test_a_different_vote_in_the_same_term_is_invalid() -> None:
    samples = [*FORGOT[:4], up(7.0, "store-2", 3, "store-3")]
    result = vote_persistence(samples)
    assert result.verdict is Verdict.INVALID
    assert result.details["violations"][0]["back_voted_for"] == "store-3"


def test_a_term_gone_backwards_after_restart_is_invalid() -> None:
    samples = [*FORGOT[:4], up(7.0, "store-2", 2, None)]
    assert vote_persistence(samples).verdict is Verdict.INVALID


def test_the_vote_kept_across_a_restart_is_valid() -> None:
    samples = [*FORGOT[:4], up(7.0, "store-2", 3, "store-1"), down(9.0, "store-2")]
    result = vote_persistence([*samples, up(10.0, "store-2", 3, "store-1")])
    assert result.verdict is Verdict.VALID
    assert result.details["votes_survived_restart"] == 2


def test_a_newer_term_after_restart_is_not_judged() -> None:
    # The restarted member heard the new leader before the probe saw it: nothing to say.
    samples = [*FORGOT[:4], up(7.0, "store-2", 4, None)]
    result = vote_persistence(samples)
    assert result.verdict is Verdict.VALID
    assert result.details["newer_term_after_restart"] == 1


def test_a_vote_lost_within_the_persist_timer_is_tolerated() -> None:
    # PySyncObj writes journal.meta every 1 s: a vote seen 0.5 s before the kill may be lost.
    samples = [
        up(4.5, "store-2", 3, "store-1"),
        up(5.0, "store-2", 3, "store-1"),
        down(5.2, "store-2"),
        up(7.0, "store-2", 3, None),
    ]
    result = vote_persistence(samples)
    assert result.verdict is Verdict.VALID
    assert result.details["too_fresh_to_judge"] == 1
    # The same timeline with a zero tolerance is flagged: the tolerance is what spares it.
    assert vote_persistence(samples, tolerance_s=0.0).verdict is Verdict.INVALID


def test_no_restart_no_judgement() -> None:
    # Without a gap, a changed vote is not a persistence question (election's job).
    samples = [up(1.0, "store-2", 3, "store-1"), up(5.0, "store-2", 3, None)]
    assert vote_persistence(samples).verdict is Verdict.VALID


def test_members_are_judged_separately() -> None:
    other = [
        up(0.5, "store-3", 3, "store-1"),
        up(5.0, "store-3", 3, "store-1"),
        down(5.5, "store-3"),
        up(6.5, "store-3", 3, None),
    ]
    samples = sorted([*FORGOT, *other], key=lambda s: s.time)
    result = vote_persistence(samples)
    assert [v["member"] for v in result.details["violations"]] == ["store-2", "store-3"]


def test_no_votes_reported_is_unknown_and_does_not_apply(tmp_path: Path) -> None:
    plain = [StatusSample(time=0, member="store-1", reachable=True, role="leader", term=1)]
    assert vote_persistence(plain).verdict is Verdict.UNKNOWN
    run = _write_run(tmp_path / "plain", plain)
    assert not applies(run)


def test_round_trip_through_status_jsonl_and_registry(tmp_path: Path) -> None:
    run = _write_run(tmp_path / "bad", FORGOT)
    assert applies(run)
    assert REGISTRY["vote_persistence"].check(run).verdict is Verdict.INVALID


def test_old_status_files_without_voted_for_still_load() -> None:
    old = {"time": 1, "member": "store-1", "reachable": True, "role": "leader", "term": 2}
    assert StatusSample.from_json(old).voted_for is None
    assert "voted_for" not in StatusSample.from_json(old).to_json()


def _write_run(path: Path, samples: list[StatusSample]) -> RunData:
    run = RunDir(path).create()
    run.history.write_text("", encoding="utf-8")
    run.status.write_text(
        "".join(json.dumps(s.to_json()) + "\n" for s in samples), encoding="utf-8"
    )
    return load_run(run)


def test_the_probe_records_voted_for_from_status() -> None:
    status = {"id": "store-2", "role": "follower", "term": 3, "leader": "store-1"}
    assert sample_from("store-2", {**status, "voted_for": "store-1"}, 5).voted_for == "store-1"
    assert sample_from("store-2", {**status, "voted_for": None}, 5).voted_for is None
    assert sample_from("store-2", status, 5).voted_for is None  # engines that do not report it
