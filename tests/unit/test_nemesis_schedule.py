"""The schedule against a fake cluster: ordering, timeline, effects, healing, leftovers, replay."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import pytest

from harness.history import FaultPhase
from harness.model import FaultKind, FaultSpec
from harness.nemesis import (
    LeftoverFaultError,
    NemesisThread,
    ScheduleOptions,
    read_schedule,
    replay_specs,
    run_schedule,
    write_schedule,
)
from harness.nemesis.iptables import CHAIN
from harness.testing.nemesis_fakes import PROXY_IP, fake_context, link_port

FAST = ScheduleOptions(health=True, status_timeout_s=0.1)


def spec(
    kind: FaultKind,
    at_s: float,
    target: str | None = None,
    duration_s: float | None = 0.0,
    **params: object,
) -> FaultSpec:
    return FaultSpec(kind=kind, at_s=at_s, target=target, duration_s=duration_s, params=params)


def test_faults_fire_in_time_order_with_start_effect_end_and_health() -> None:
    ctx, cluster, _, timeline = fake_context()
    specs = [
        spec(FaultKind.KILL, 0.10, "store-3"),
        spec(FaultKind.PARTITION, 0.0, "isolate:store-2", duration_s=0.02),
    ]
    fired = run_schedule(specs, ctx, threading.Event(), FAST)
    assert [(f.id, f.kind) for f in fired] == [(1, "partition"), (2, "kill")]
    assert fired[0].at_s < fired[1].at_s
    assert fired[1].at_s >= 0.10
    for fault_id in (1, 2):
        phases = timeline.of(fault_id)
        assert phases == ["health", "start", "effect", "health", "end"], phases
    effects = [e for e in timeline.events if e.type == FaultPhase.EFFECT]
    assert all(e.detail["ok"] for e in effects), effects
    start = next(e for e in timeline.events if e.type == FaultPhase.START and e.id == 1)
    assert start.targets == ["store-1", "store-2", "store-3"]
    assert cluster.node("store-3").starts == 1  # killed, then restarted by heal


def test_partition_rules_go_on_receivers_and_heal_empties_them() -> None:
    ctx, cluster, _, timeline = fake_context(stores=5)
    fired = run_schedule(
        [spec(FaultKind.PARTITION, 0.0, "majority-minority", duration_s=0.05)],
        ctx,
        threading.Event(),
        FAST,
    )
    grudge = fired[0].resolved["grudge"]
    minority = [m for m, d in grudge.items() if len(d) == 3]
    assert len(minority) == 2
    effect = next(e for e in timeline.events if e.type == FaultPhase.EFFECT)
    for receiver, ev in effect.detail["evidence"].items():
        assert ev["probe"] == "timeout" and ev["dropped"] >= 1, receiver
    for node in cluster.nodes():
        assert cluster.net.rules.get(node.pid(), []) == []
        assert cluster.net.jumps.get(node.pid(), 0) <= 1


def test_a_fault_that_does_not_take_effect_is_recorded_not_hidden() -> None:
    ctx, cluster, _, timeline = fake_context()
    cluster.node("store-2").broken_pause = True
    fired = run_schedule([spec(FaultKind.PAUSE, 0.0, "store-2")], ctx, threading.Event(), FAST)
    assert fired[0].effect_ok is False
    effect = next(e for e in timeline.events if e.type == FaultPhase.EFFECT)
    assert effect.detail["ok"] is False
    assert "paused=False" in effect.detail["reason"]


def test_kill_during_partition_gets_its_rules_back_on_restart() -> None:
    ctx, cluster, _, _ = fake_context(stores=3)
    stop = threading.Event()
    results: list[object] = []

    def during() -> None:
        # while the partition holds, kill+restart the isolated member by hand
        node = cluster.node("store-1")
        old_pid = node.pid()
        assert cluster.net.drops(old_pid)
        node.kill()
        node.start()
        results.append(cluster.net.drops(node.pid()))

    timer = threading.Timer(0.1, during)
    timer.start()
    run_schedule(
        [spec(FaultKind.PARTITION, 0.0, "isolate:store-1", duration_s=0.3)], ctx, stop, FAST
    )
    timer.join()
    assert results == [{"10.0.0.12", "10.0.0.13"}]


def test_leftovers_are_reported_with_what_was_left() -> None:
    ctx, _, toxiproxy, timeline = fake_context()
    toxiproxy.stuck = True
    specs = [
        spec(FaultKind.TOXIC, 0.0, "client-api-1", type="latency", attributes={"latency": 100})
    ]
    with pytest.raises(LeftoverFaultError) as info:
        run_schedule(specs, ctx, threading.Event(), FAST)
    assert info.value.leftovers == ["link client-api-1: toxic(s) left: chaosplane-1-latency"]
    assert [f.kind for f in info.value.fired] == ["toxic"]
    final = timeline.events[-1]
    assert final.detail["when"] == "final" and final.detail["leftovers"]


def test_leftover_paused_member_and_iptables_rule_are_read_back() -> None:
    ctx, cluster, _, _ = fake_context()
    cluster.node("store-3").paused = True  # broken behind the nemesis' back
    ctx.firewall.driver.restore(
        cluster.node("store-2"),
        cluster.node("store-2").pid(),
        f"*filter\n:{CHAIN} - [0:0]\n-A {CHAIN} -s 10.0.0.11/32 -j DROP\nCOMMIT\n",
        install_hook=True,
    )
    with pytest.raises(LeftoverFaultError) as info:
        run_schedule([], ctx, threading.Event(), FAST)
    assert info.value.leftovers == [
        "store-3: container is paused",
        "store-2: 1 iptables DROP rule(s) from 10.0.0.11",
    ]


def test_stop_heals_early_and_skips_faults_not_yet_due() -> None:
    ctx, cluster, _, _ = fake_context()
    stop = threading.Event()
    threading.Timer(0.1, stop.set).start()
    fired = run_schedule(
        [
            spec(FaultKind.PAUSE, 0.0, "store-1", duration_s=30.0),
            spec(FaultKind.KILL, 20.0, "store-2"),
        ],
        ctx,
        stop,
        FAST,
    )
    assert [f.kind for f in fired] == ["pause"]
    assert fired[0].held_s < 5.0
    assert not cluster.node("store-1").is_paused()


def test_inject_error_is_recorded_and_the_run_goes_on() -> None:
    ctx, _, _, timeline = fake_context()
    fired = run_schedule(
        [spec(FaultKind.KILL, 0.0, "store-9"), spec(FaultKind.PAUSE, 0.01, "store-1")],
        ctx,
        threading.Event(),
        FAST,
    )
    assert fired[0].error is not None and "store-9" in fired[0].error
    assert fired[0].effect_ok is False
    assert fired[1].effect_ok is True
    assert timeline.of(1)[-1] == "end"


def test_leader_loss_strikes_each_new_leader_with_a_higher_term() -> None:
    ctx, cluster, _, timeline = fake_context(stores=5)
    fired = run_schedule(
        [spec(FaultKind.LEADER_LOSS, 0.0, None, action="kill", repeat=3, interval_s=0.01)],
        ctx,
        threading.Event(),
        FAST,
    )
    struck = fired[0].targets
    assert len(struck) == 3 and struck[0] == "store-1"
    assert all(a != b for a, b in itertools.pairwise(struck))  # each a new leader
    effect = next(e for e in timeline.events if e.type == FaultPhase.EFFECT)
    strikes = effect.detail["evidence"]["strikes"]
    assert [s["ok"] for s in strikes] == [True, True, True]
    assert [s["new_term"] for s in strikes] == [2, 3, 4]
    assert all(n.is_running() for n in cluster.nodes())


@pytest.mark.parametrize("action", ["pause", "isolate"])
def test_leader_loss_pause_and_isolate(action: str) -> None:
    ctx, cluster, _, _ = fake_context(stores=3)
    fired = run_schedule(
        [spec(FaultKind.LEADER_LOSS, 0.0, None, action=action)], ctx, threading.Event(), FAST
    )
    assert fired[0].targets == ["store-1"]
    assert fired[0].effect_ok is True
    assert cluster.leader() == "store-2"


def test_rolling_restart_restarts_every_apiserver_once() -> None:
    ctx, cluster, _, _ = fake_context(apiservers=3)
    fired = run_schedule(
        [spec(FaultKind.ROLLING_RESTART, 0.0, "apiservers", interval_s=0.0)],
        ctx,
        threading.Event(),
        FAST,
    )
    assert fired[0].effect_ok is True
    assert [cluster.node(f"api-{i}").starts for i in (1, 2, 3)] == [1, 1, 1]


def test_toxic_and_link_down_are_applied_and_healed() -> None:
    ctx, _, toxiproxy, timeline = fake_context(apiservers=2)
    specs = [
        spec(
            FaultKind.TOXIC,
            0.0,
            "api-*-store-1",
            duration_s=0.05,
            type="latency",
            attributes={"latency": 50},
        ),
        spec(FaultKind.LINK_DOWN, 0.0, "client-api-2", duration_s=0.05),
    ]
    fired = run_schedule(specs, ctx, threading.Event(), FAST)
    assert fired[0].targets == ["api-1-store-1", "api-2-store-1"]
    assert fired[1].targets == ["client-api-2"]
    assert all(f.effect_ok for f in fired)
    assert all(p["enabled"] and not p["toxics"] for p in toxiproxy.state.values())
    start = next(e for e in timeline.events if e.type == FaultPhase.START and e.id == 1)
    assert start.detail["members"] == ["api-1", "api-2", "store-1"]


def test_loss_rules_carry_the_probability() -> None:
    ctx, cluster, _, _ = fake_context()
    seen: list[list[object]] = []
    threading.Timer(
        0.05, lambda: seen.extend(cluster.net.rules[cluster.node("store-1").pid()])
    ).start()
    fired = run_schedule(
        [spec(FaultKind.LOSS, 0.0, None, duration_s=0.2, probability=0.3)],
        ctx,
        threading.Event(),
        FAST,
    )
    assert fired[0].effect_ok is True
    assert sorted(r[0] for r in seen) == ["10.0.0.12", "10.0.0.13"]  # type: ignore[type-var]
    assert {r[1] for r in seen} == {0.3}


def test_same_seed_same_choices_and_replay_strikes_the_same_members(tmp_path: Path) -> None:
    specs = [
        spec(FaultKind.KILL, 0.0, "random-store"),
        spec(FaultKind.PARTITION, 0.02, "halves", duration_s=0.02, members="store"),
        spec(FaultKind.KILL, 0.04, "store-leader"),
    ]
    runs = []
    for _ in range(2):
        ctx, *_ = fake_context(stores=5, seed=11)
        runs.append(run_schedule(specs, ctx, threading.Event(), FAST))
    assert [f.resolved for f in runs[0]] == [f.resolved for f in runs[1]]

    path = tmp_path / "schedule.json"
    write_schedule(path, runs[0], seed=11)
    loaded = read_schedule(path)
    assert loaded == runs[0]
    replayed = replay_specs(loaded)
    assert [s.at_s for s in replayed] == sorted(s.at_s for s in replayed)

    ctx, *_ = fake_context(stores=5, seed=999)  # another seed: replay must not draw again
    again = run_schedule(replayed, ctx, threading.Event(), FAST)
    assert [f.targets for f in again] == [f.targets for f in runs[0]]
    assert [f.resolved for f in again] == [f.resolved for f in runs[0]]


def test_kill_without_restart_after_stays_down_until_the_final_heal() -> None:
    ctx, cluster, _, _ = fake_context()
    kill = FaultSpec(kind=FaultKind.KILL, at_s=0.0, target="store-2", params={})
    nemesis = NemesisThread([kill], ctx, FAST)
    nemesis.start()
    time.sleep(0.3)  # the workload runs; the schedule has nothing else to do
    assert not cluster.node("store-2").is_running()
    fired = nemesis.result(timeout_s=10)  # the workload is done: final heal
    assert cluster.node("store-2").is_running()
    assert fired[0].duration_s is None and fired[0].effect_ok is True


def test_without_a_finish_signal_the_final_heal_follows_the_last_timed_fault() -> None:
    ctx, cluster, _, timeline = fake_context()
    specs = [
        FaultSpec(kind=FaultKind.KILL, at_s=0.0, target="store-2", params={}),
        spec(FaultKind.PAUSE, 0.05, "store-3", duration_s=0.2),
    ]
    fired = run_schedule(specs, ctx, threading.Event(), FAST)
    assert cluster.node("store-2").is_running()
    kill_end = next(e for e in timeline.events if e.id == 1 and e.type == FaultPhase.END)
    pause_end = next(e for e in timeline.events if e.id == 2 and e.type == FaultPhase.END)
    assert kill_end.time > pause_end.time
    assert [f.effect_ok for f in fired] == [True, True]


def test_isolating_an_apiserver_cuts_it_from_every_member() -> None:
    ctx, _, _, _ = fake_context(apiservers=2)
    fired = run_schedule(
        [spec(FaultKind.PARTITION, 0.0, "isolate:api-1", members="store")],
        ctx,
        threading.Event(),
        FAST,
    )
    grudge = fired[0].resolved["grudge"]
    assert grudge["api-1"] == ["api-2", "store-1", "store-2", "store-3"]
    assert grudge["store-1"] == ["api-1"]
    assert fired[0].effect_ok is True


def test_leader_loss_replay_keeps_its_per_strike_duration() -> None:
    ctx, _, _, _ = fake_context(stores=5)
    loss = FaultSpec(
        kind=FaultKind.LEADER_LOSS,
        at_s=0.0,
        duration_s=0.05,
        params={"action": "pause", "repeat": 2, "interval_s": 0.1},
    )
    fired = run_schedule([loss], ctx, threading.Event(), FAST)
    assert fired[0].effect_ok is True and len(fired[0].targets) == 2
    (replayed,) = replay_specs(fired)
    assert replayed.duration_s == 0.05
    assert replayed.params["replay"] == {"members": fired[0].targets}


def test_a_cut_between_apiserver_and_store_also_cuts_their_proxy_link() -> None:
    ctx, cluster, _, timeline = fake_context(stores=3, apiservers=2)
    seen: dict[str, list[list[object]]] = {}

    def snapshot() -> None:
        for name in ("api-1", "api-2", "store-2"):
            seen[name] = list(cluster.net.rules.get(cluster.node(name).pid(), []))

    threading.Timer(0.1, snapshot).start()
    fired = run_schedule(
        [spec(FaultKind.PARTITION, 0.0, "isolate:store-1", duration_s=0.3, members="all")],
        ctx,
        threading.Event(),
        FAST,
    )
    assert fired[0].effect_ok is True
    # api-i drops what the proxy sends from link api-i-store-1's port, and nothing else of it
    for api in (1, 2):
        proxy_rules = [r for r in seen[f"api-{api}"] if r[0] == PROXY_IP]
        assert [r[3] for r in proxy_rules] == [link_port(api, 1)]
    assert all(r[3] is None for r in seen["store-2"])
    effect = next(e for e in timeline.events if e.type == FaultPhase.EFFECT)
    assert {(link["apiserver"], link["probe"]) for link in effect.detail["evidence"]["links"]} == {
        ("api-1", "timeout"),
        ("api-2", "timeout"),
    }
    assert all(not rules for rules in cluster.net.rules.values())


def test_a_member_restarted_behind_the_nemesis_back_still_gets_its_rules() -> None:
    ctx, cluster, _, _ = fake_context()
    ctx.firewall.set(99, {"store-3": frozenset({"store-1"})})  # caches store-3's PID
    node = cluster.node("store-3")
    cluster.hooks.clear()  # a restart no hook hears about: the cached PID is stale
    node.kill()
    node.start()
    ctx.firewall.set(99, {"store-3": frozenset({"store-2"})})
    assert cluster.net.drops(node.pid()) == {"10.0.0.12"}
    ctx.firewall.clear(99)
    assert cluster.net.drops(node.pid()) == set()
