"""The report's pure parts: binning, throughput, fault windows, leadership, labels, escaping."""

from __future__ import annotations

import json

from harness.checker.pairing import Call
from harness.history import FaultEvent, FaultPhase, OpType, StatusSample
from harness.report.lanes import counterexample_lanes, op_label
from harness.report.page import embed_json
from harness.report.series import (
    MAX_POINTS,
    latency_points,
    leadership_changes,
    nice_bin_s,
    status_lanes,
    throughput,
)
from harness.report.windows import fault_windows, window_stats

S = 1_000_000_000
MS = 1_000_000


def call(i: int, t0_s: float, latency_ms: float | None, outcome: OpType | None = OpType.OK) -> Call:
    start = int(t0_s * S)
    return Call(
        process=i % 7,
        f="read",
        key="k",
        arg=None,
        result=None,
        outcome=outcome,
        invoke_time=start,
        complete_time=None if latency_ms is None else start + int(latency_ms * MS),
        invoke_index=2 * i,
        complete_index=None if latency_ms is None else 2 * i + 1,
        node="api-1",
        error=None,
    )


def test_small_histories_are_drawn_point_for_point() -> None:
    calls = [call(i, i / 100, 2.0) for i in range(100)] + [call(100, 1.0, None, None)]
    pts = latency_points(calls, end_ns=3 * S)
    assert (pts["binned"], pts["total"], pts["drawn"]) == (False, 101, 101)
    assert pts["lat"][-1] == 2000.0  # never completed: counted to the end of the run
    assert pts["cls"][-1] == 2  # drawn as info (outcome unknown)


def test_large_histories_are_binned_under_the_cap_and_keep_every_outcome() -> None:
    calls = [call(i, i / 1000, 1 + (i * 7919 % 997) / 10) for i in range(60_000)]
    calls[30_000] = call(30_000, 30.0, 5.0, OpType.FAIL)
    calls[40_000] = call(40_000, 40.0, 500.0, OpType.INFO)
    pts = latency_points(calls, end_ns=61 * S)
    assert pts["binned"] and pts["total"] == 60_000
    assert 0 < pts["drawn"] <= MAX_POINTS and pts["drawn"] == len(pts["t"])
    assert sum(pts["n"]) == 60_000  # every call is counted in some cell
    assert pts["cls"].count(1) == 1 and pts["cls"].count(2) == 1
    assert pts["cls"][-2:] == [1, 2]  # failures drawn last, on top


def test_throughput_counts_completions_per_second_by_outcome() -> None:
    calls = [call(i, i / 10, 1.0) for i in range(100)]  # 10 ok/s for 10 s
    calls += [call(1000 + i, 5 + i / 10, 1.0, OpType.FAIL) for i in range(5)]
    tp = throughput(calls, end_ns=10 * S)
    bin_s = tp["bin_s"]
    assert bin_s == nice_bin_s(10.0)
    assert sum(v * bin_s for v in tp["ok"]) == 100
    assert round(sum(v * bin_s for v in tp["fail"])) == 5
    assert sum(tp["info"]) == 0


def test_fault_windows_pair_start_and_end_and_attach_effect() -> None:
    faults = [
        FaultEvent(time=2 * S, type=FaultPhase.START, fault="partition", targets=["store-1"], id=1),
        FaultEvent(
            time=2 * S + 5,
            type=FaultPhase.EFFECT,
            fault="partition",
            id=1,
            detail={"ok": False, "evidence": "peer still reachable"},
        ),
        FaultEvent(time=4 * S, type=FaultPhase.END, fault="partition", targets=["store-1"], id=1),
        FaultEvent(time=6 * S, type=FaultPhase.START, fault="kill", targets=["store-2"], id=2),
    ]
    w1, w2 = fault_windows(faults, [], end_ns=9 * S)
    assert (w1.label, w1.start_ns, w1.end_ns, w1.healed) == ("partition#1", 2 * S, 4 * S, True)
    assert w1.effect_ok is False and w1.evidence == "peer still reachable"
    assert (w2.end_ns, w2.healed, w2.effect_ok) == (9 * S, False, None)  # never healed


def test_window_stats_before_during_after() -> None:
    # 10 ok/s everywhere, except nothing succeeds during [2, 4): 10 info calls there.
    calls = [call(i, i / 10, 1.0) for i in range(60) if not 20 <= i < 40]
    calls += [call(100 + i, 2 + i / 5, 500.0, OpType.INFO) for i in range(10)]
    (w,) = fault_windows(
        [
            FaultEvent(time=2 * S, type=FaultPhase.START, fault="kill", id=1),
            FaultEvent(time=4 * S, type=FaultPhase.END, fault="kill", id=1),
        ],
        [],
        end_ns=6 * S,
    )
    stats = window_stats(w, sorted(calls, key=lambda c: c.invoke_time), end_ns=6 * S)
    assert (stats["ok"], stats["info"], stats["share"]) == (1, 10, round(1 / 11, 4))
    assert stats["before"]["ok_per_s"] == 10.0 and stats["after"]["ok_per_s"] == 10.0
    assert stats["during"]["ok_per_s"] == 0.0 and stats["during"]["p99_ms"] is None
    assert stats["before"]["p99_ms"] == 1.0


def test_status_lanes_and_leadership_changes() -> None:
    samples = [
        StatusSample(time=0, member="store-1", reachable=True, role="leader", term=1),
        StatusSample(time=0, member="store-2", reachable=True, role="follower", term=1),
        StatusSample(time=S, member="store-1", reachable=False),
        StatusSample(time=S, member="store-2", reachable=True, role="candidate", term=2),
        StatusSample(time=2 * S, member="store-1", reachable=False),
        StatusSample(time=2 * S, member="store-2", reachable=True, role="leader", term=2),
    ]
    lanes = {lane["member"]: lane["segments"] for lane in status_lanes(samples, 3 * S)["lanes"]}
    assert lanes["store-1"] == [[0.0, 1.0, "leader", 1], [1.0, 3.0, "down", None]]
    assert [s[2] for s in lanes["store-2"]] == ["follower", "candidate", "leader"]
    changes = leadership_changes(samples)
    assert [(c["leader"], c["term"]) for c in changes] == [
        ("store-1", 1),
        (None, None),
        ("store-2", 2),
    ]


def test_op_labels() -> None:
    assert op_label({"f": "write", "value": 3, "type": "ok"}) == "write 3"
    assert op_label({"f": "read", "result": 3, "type": "ok"}) == "read → 3"
    assert op_label({"f": "read", "type": "info"}) == "read ?"
    assert op_label({"f": "cas", "value": [1, 2], "type": "fail"}) == "cas 1→2 ✗"
    assert op_label({"f": "cas", "value": [1, 2], "type": None}) == "cas 1→2 ?"
    assert op_label({"f": "put", "value": "x" * 40, "type": "ok"}).endswith("…")


def test_counterexample_only_for_invalid_checks_with_ops() -> None:
    assert counterexample_lanes({"verdict": "valid", "details": {}}, []) is None
    assert counterexample_lanes({"verdict": "invalid", "details": {"key": "k"}}, []) is None
    assert counterexample_lanes({"verdict": "invalid", "details": {"unorderable": [1]}}, []) is None


def test_counterexample_accepts_prefix_as_ops_and_caps_large_sets() -> None:
    ops = [
        {
            "index": 2 * i,
            "process": i % 5,
            "f": "write",
            "value": i,
            "type": "ok",
            "invoke_time": i * S,
            "complete_time": i * S + MS,
        }
        for i in range(100)
    ]
    check = {
        "verdict": "invalid",
        "details": {"key": "k", "unorderable": ops, "longest_prefix": ops[:3], "stuck": ops[99]},
    }
    cx = counterexample_lanes(check, [])
    assert cx is not None
    assert (cx["count"], cx["drawn"], cx["prefix_len"]) == (100, 60, 3)
    drawn = [o for lane in cx["lanes"] for o in lane["ops"]]
    assert any(o["stuck"] for o in drawn), "the ops nearest the stuck op are the ones kept"
    assert min(o["index"] for o in drawn) == 2 * 40


def test_embedded_json_cannot_close_its_script_tag() -> None:
    text = embed_json({"v": "</script><!-- & -->"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"v": "</script><!-- & -->"}
