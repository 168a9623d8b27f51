"""Grudges on 3, 5 and 7 members: who drops whom, for every named partition."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import FaultError
from harness.nemesis import grudge as g

M3 = ["n1", "n2", "n3"]
M5 = ["n1", "n2", "n3", "n4", "n5"]
M7 = ["n1", "n2", "n3", "n4", "n5", "n6", "n7"]


def visible(grudge: g.Grudge, member: str) -> set[str]:
    return set(grudge) - grudge[member]


def is_symmetric(grudge: g.Grudge) -> bool:
    return all((r, s) in g.cut_pairs(grudge) for s, r in g.cut_pairs(grudge))


def test_isolate_cuts_the_victim_from_everyone_both_ways() -> None:
    grudge = g.isolate(M5, "n3")
    assert grudge["n3"] == frozenset({"n1", "n2", "n4", "n5"})
    assert all(grudge[m] == {"n3"} for m in M5 if m != "n3")
    assert is_symmetric(grudge)


def test_isolate_unknown_member_is_an_error() -> None:
    with pytest.raises(FaultError, match="n9"):
        g.isolate(M3, "n9")


@pytest.mark.parametrize(("members", "small"), [(M3, 1), (M5, 2), (M7, 3)])
def test_halves_splits_into_two_sides_that_see_only_themselves(
    members: list[str], small: int
) -> None:
    grudge = g.halves(members)
    side_a, side_b = set(members[:small]), set(members[small:])
    for m in side_a:
        assert visible(grudge, m) == side_a
    for m in side_b:
        assert visible(grudge, m) == side_b
    assert is_symmetric(grudge)


@pytest.mark.parametrize(("members", "minority"), [(M3, 1), (M5, 2), (M7, 3)])
def test_majority_minority_leaves_exactly_one_quorum(members: list[str], minority: int) -> None:
    grudge = g.majority_minority(members)
    quorum = len(members) // 2 + 1
    sides = {frozenset(visible(grudge, m)) for m in members}
    assert sorted(len(s) for s in sides) == [minority, len(members) - minority]
    assert sum(1 for s in sides if len(s) >= quorum) == 1


def test_majority_minority_needs_three() -> None:
    with pytest.raises(FaultError, match="at least 3"):
        g.majority_minority(["a", "b"])


@pytest.mark.parametrize("members", [M3, M5, M7])
def test_bridge_member_sees_everyone_and_the_sides_do_not_see_each_other(
    members: list[str],
) -> None:
    grudge = g.bridge(members)
    middle = len(members) // 2
    bridge_member = members[middle]
    assert visible(grudge, bridge_member) == set(members)
    left, right = set(members[:middle]), set(members[middle + 1 :])
    for m in left:
        assert visible(grudge, m) == left | {bridge_member}
    for m in right:
        assert visible(grudge, m) == right | {bridge_member}
    assert is_symmetric(grudge)


@pytest.mark.parametrize(("members", "sees"), [(M5, 3), (M7, 5)])
def test_ring_every_member_sees_a_majority_but_no_two_the_same(
    members: list[str], sees: int
) -> None:
    grudge = g.ring(members)
    views = [frozenset(visible(grudge, m)) for m in members]
    assert all(len(v) == sees for v in views)
    assert all(len(v) > len(members) // 2 for v in views)
    assert len(set(views)) == len(members)
    # neighbours in order: n1 sees n2 and the last member
    assert {"n2", members[-1]} <= visible(grudge, "n1")
    assert is_symmetric(grudge)


def test_ring_on_three_is_refused() -> None:
    with pytest.raises(FaultError, match="ring needs at least 4"):
        g.ring(M3)


@pytest.mark.parametrize("members", [M3, M5, M7])
def test_one_way_minority_stops_hearing_the_majority_only(members: list[str]) -> None:
    grudge = g.build_grudge(
        "majority-minority", members, rng=random.Random(1), one_way_side="minority"
    )
    receivers = {m for m, d in grudge.items() if d}
    assert len(receivers) == (len(members) - 1) // 2
    pairs = g.cut_pairs(grudge)
    # a majority member → minority member is cut, the reverse is not
    for sender, receiver in pairs:
        assert receiver in receivers and sender not in receivers
        assert (receiver, sender) not in pairs


def test_one_way_majority_side() -> None:
    grudge = g.build_grudge("isolate:n1", M5, rng=random.Random(1), one_way_side="majority")
    assert grudge["n1"] == frozenset()
    assert all(grudge[m] == {"n1"} for m in M5[1:])


def test_one_way_on_ring_is_refused() -> None:
    with pytest.raises(FaultError, match="ring has no sides"):
        g.build_grudge("ring", M5, rng=random.Random(1), one_way_side="minority")


def test_isolate_leader_needs_and_uses_the_leader() -> None:
    grudge = g.build_grudge("isolate-leader", M5, rng=random.Random(1), leader="n4")
    assert grudge == g.isolate(M5, "n4")
    with pytest.raises(FaultError, match="no store leader"):
        g.build_grudge("isolate-leader", M5, rng=random.Random(1))


def test_unknown_target_lists_the_choices() -> None:
    with pytest.raises(FaultError, match="majority-minority"):
        g.build_grudge("split-brain", M5, rng=random.Random(1))


def test_same_seed_same_sides_other_seed_other_sides() -> None:
    first = g.build_grudge("halves", M7, rng=random.Random(42))
    assert first == g.build_grudge("halves", M7, rng=random.Random(42))
    others = {
        frozenset(g.cut_pairs(g.build_grudge("halves", M7, rng=random.Random(s))))
        for s in range(20)
    }
    assert len(others) > 1


def test_merge_is_the_union_and_json_round_trips() -> None:
    merged = g.merge([g.isolate(M5, "n1"), g.isolate(M5, "n2")])
    assert merged["n3"] == {"n1", "n2"}
    assert merged["n1"] == {"n2", "n3", "n4", "n5"}
    assert g.from_json(g.to_json(merged)) == merged


@given(
    n=st.integers(min_value=4, max_value=9),
    name=st.sampled_from(["halves", "majority-minority", "bridge", "ring"]),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_two_way_grudges_are_symmetric_and_nobody_drops_itself(
    n: int, name: str, seed: int
) -> None:
    members = [f"m{i}" for i in range(n)]
    grudge = g.build_grudge(name, members, rng=random.Random(seed))
    assert set(grudge) == set(members)
    assert all(m not in grudge[m] for m in members)
    assert is_symmetric(grudge)
    assert g.cut_pairs(grudge)  # every named partition cuts something
