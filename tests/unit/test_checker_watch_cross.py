"""The watch checker compares watchers with each other, not only with acknowledged writes.

The ``watch-gap`` bug drops one event after an apiserver's store reconnect; when that event
came from a write whose client timed out (``info``), no acknowledgement vouches for it, but the
other watcher saw it. These histories are built by hand: no Docker.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.checker import Verdict, load_run
from harness.checker.verdict import CheckResult
from harness.checker.watch import watch
from harness.history import RunDir

S = 1_000_000_000
Event = tuple[str, str | None, int]  # (type, object name, resourceVersion)


def _history(
    streams: dict[str, list[Event]], *, acked: tuple[int, ...] = (), info_writes: int = 1
) -> list[dict[str, Any]]:
    """Writers first (acknowledged, then timed-out ones), then each watcher's events in order."""
    ops: list[dict[str, Any]] = []

    def op(process: int, typ: str, f: str, value: Any, key: str | None) -> None:
        ops.append(
            {"index": len(ops), "time": len(ops) * S // 10, "process": process, "type": typ,
             "f": f, "value": value, "key": key}
        )  # fmt: skip

    for rv in acked:
        op(0, "invoke", "update", 1, "w-0")
        op(0, "ok", "update", {"value": 1, "resourceVersion": str(rv)}, "w-0")
    for _ in range(info_writes):
        op(1, "invoke", "update", 2, "w-0")
        op(1, "info", "update", None, "w-0")  # timed out: it may have happened, no RV known
    for process, (watcher, events) in enumerate(sorted(streams.items()), start=10):
        for typ, name, rv in events:
            value = {"type": typ, "name": name, "resourceVersion": str(rv)}
            op(process, "ok", "watch-event", value, watcher)
    return ops


def _check(tmp_path: Path, streams: dict[str, list[Event]], **kw: Any) -> CheckResult:
    root = tmp_path / "run"
    root.mkdir(exist_ok=True)
    (root / "run.json").write_text(json.dumps({"expect": {"watch_ordered": True}}))
    rows = _history(streams, **kw)
    (root / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return watch(load_run(RunDir(root)))


def _mods(*rvs: int, name: str = "w-0") -> list[Event]:
    return [("MODIFIED", name, rv) for rv in rvs]


START: Event = ("START", None, 10)


def test_event_of_an_info_write_seen_by_one_watcher_is_owed_by_the_other(tmp_path: Path) -> None:
    # 12 came from the timed-out write: only watcher-1 vouches for it.
    result = _check(
        tmp_path,
        {"watcher-0": [START, *_mods(11, 13)], "watcher-1": [START, *_mods(11, 12, 13)]},
        acked=(11, 13),
    )
    assert result.verdict is Verdict.INVALID
    row = result.details["watchers"]["watcher-0"]
    assert row["missing"] == [12]
    assert row["missing_evidence"] == {"12": "seen by watcher-1"}
    assert result.details["watchers"]["watcher-1"]["missing"] == []


def test_acknowledged_evidence_is_named(tmp_path: Path) -> None:
    result = _check(tmp_path, {"watcher-0": [START, *_mods(11, 13)]}, acked=(11, 12, 13))
    assert result.details["watchers"]["watcher-0"]["missing_evidence"] == {
        "12": "acknowledged write"
    }


def test_a_lone_event_of_an_object_in_a_followed_family_is_owed(tmp_path: Path) -> None:
    # w-7 appears once (created, never updated): watcher-0 follows w-* so it still owes 12.
    streams = {
        "watcher-0": [START, *_mods(11, 13)],
        "watcher-1": [START, *_mods(11), ("ADDED", "w-7", 12), *_mods(13)],
    }
    result = _check(tmp_path, streams)
    assert result.details["watchers"]["watcher-0"]["missing"] == [12]


def test_watchers_that_agree_are_valid(tmp_path: Path) -> None:
    streams = {"watcher-0": [START, *_mods(11, 12, 13)], "watcher-1": [START, *_mods(11, 12, 13)]}
    assert _check(tmp_path, streams, acked=(11, 13)).verdict is Verdict.VALID


def test_an_event_after_a_watchers_last_event_is_not_owed(tmp_path: Path) -> None:
    # watcher-0 stopped at 12 (the run ended for it): 13 is outside the range it watched.
    streams = {"watcher-0": [START, *_mods(11, 12)], "watcher-1": [START, *_mods(11, 12, 13)]}
    assert _check(tmp_path, streams).verdict is Verdict.VALID


def test_an_event_before_a_relist_is_not_owed(tmp_path: Path) -> None:
    # watcher-0 got 410 after 11 and re-listed at 14: 12 and 13 fall between its watches.
    streams = {
        "watcher-0": [START, *_mods(11), ("START", None, 14), *_mods(15)],
        "watcher-1": [START, *_mods(11, 12, 13, 14, 15)],
    }
    result = _check(tmp_path, streams)
    assert result.verdict is Verdict.VALID


def test_a_gap_in_the_second_watch_segment_is_caught(tmp_path: Path) -> None:
    streams = {
        "watcher-0": [START, *_mods(11), ("START", None, 13), *_mods(14, 16)],
        "watcher-1": [START, *_mods(11, 12, 13, 14, 15, 16)],
    }
    result = _check(tmp_path, streams)
    assert result.verdict is Verdict.INVALID
    assert result.details["watchers"]["watcher-0"]["missing"] == [15]


def test_objects_a_watcher_does_not_follow_are_not_owed(tmp_path: Path) -> None:
    # watcher-1 also follows "other-*"; watcher-0 never saw one, so 12 is not owed to it.
    streams = {
        "watcher-0": [START, *_mods(11, 13)],
        "watcher-1": [START, *_mods(11), ("MODIFIED", "other-0", 12), *_mods(13)],
    }
    assert _check(tmp_path, streams).verdict is Verdict.VALID


@settings(max_examples=40, deadline=None)
@given(
    last=st.integers(min_value=13, max_value=40),
    data=st.data(),
)
def test_dropping_any_interior_event_from_one_watcher_is_caught(
    tmp_path_factory: Any, last: int, data: st.DataObject
) -> None:
    rvs = list(range(11, last + 1))
    dropped = data.draw(st.sampled_from(rvs[:-1]))  # the last event bounds the range
    names = [f"w-{rv % 3}" for rv in rvs]
    full: list[Event] = [START, *(("MODIFIED", n, rv) for n, rv in zip(names, rvs, strict=True))]
    gappy = [e for e in full if e[2] != dropped]
    tmp = tmp_path_factory.mktemp("drop")
    bad = _check(tmp, {"watcher-0": gappy, "watcher-1": full})
    assert bad.verdict is Verdict.INVALID
    assert bad.details["watchers"]["watcher-0"]["missing"] == [dropped]
    good = _check(tmp_path_factory.mktemp("full"), {"watcher-0": full, "watcher-1": full})
    assert good.verdict is Verdict.VALID
