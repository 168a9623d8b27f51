"""The run report: verdict first, fault windows, counterexample lanes, missing files, no network.

Run directories are synthetic (``harness.testing.synthetic``, written with the history writers);
verdicts are written by hand in the ARCHITECTURE shape, except in the test that runs the real
checker so the report follows the checker's actual ``details``.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from harness.checker import check_run
from harness.history import JsonlWriter, Op, OpType, RunDir
from harness.report import render_run_report
from harness.testing.synthetic import SyntheticRun, write_synthetic_run

DATA_RE = re.compile(r'<script type="application/json" id="report-data">(.*?)</script>', re.S)
S = 1_000_000_000


def data_of(html: str) -> dict[str, Any]:
    match = DATA_RE.search(html)
    assert match, "the page embeds its data"
    doc: dict[str, Any] = json.loads(match.group(1))
    return doc


def write_verdicts(run: RunDir, checks: dict[str, dict[str, Any]]) -> None:
    order = [c["verdict"] for c in checks.values()]
    overall = "invalid" if "invalid" in order else "unknown" if "unknown" in order else "valid"
    run.verdicts.write_text(json.dumps({"overall": overall, "checks": checks}), encoding="utf-8")


class Tags(HTMLParser):
    """The real tags of a page (text that merely looks like a tag is not one)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_self_contained(html: str) -> list[tuple[str, dict[str, str | None]]]:
    tags = Tags(html).tags
    for tag, attrs in tags:
        for name in ("src", "href", "action", "data"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), f"<{tag} {name}={value}>"
        assert tag not in ("link", "img", "iframe", "object", "embed"), f"<{tag}> loads a file"
        if tag == "script":
            assert "src" not in attrs, "no external script"
    assert "@import" not in html and "url(" not in html
    return tags


@pytest.fixture
def valid_run(tmp_path: Path) -> RunDir:
    run = write_synthetic_run(tmp_path / "valid", SyntheticRun(ops=400))
    write_verdicts(
        run,
        {
            "linearizable": {"verdict": "valid", "reason": "3 keys linearizable", "details": {}},
            "recovered": {
                "verdict": "valid",
                "reason": "2 recoveries, slowest 1.38 s",
                "details": {
                    "within_s": 5.0,
                    "events": [
                        {
                            "event": "heal partition#1",
                            "at_s": 9.0,
                            "leader_s": 0.12,
                            "first_ok_s": {"api-1": 0.01},
                            "recovered_s": 0.12,
                        }
                    ],
                },
            },
        },
    )
    return run


def test_valid_run_shows_verdict_windows_and_is_self_contained(valid_run: RunDir) -> None:
    path = render_run_report(valid_run.root)
    assert path == valid_run.report
    html = path.read_text(encoding="utf-8")
    assert 'class="verdict-big">VALID<' in html
    assert 'data-check="linearizable"' in html and "3 keys linearizable" in html
    assert 'data-fault="partition#1"' in html and 'data-fault="kill#2"' in html
    data = data_of(html)
    labels = {w["label"]: w for w in data["windows"]}
    assert labels["partition#1"]["targets"] == ["store-1"]
    assert (labels["partition#1"]["start_s"], labels["partition#1"]["end_s"]) == (5.0, 9.0)
    assert data["points"]["total"] == 400 and data["points"]["binned"] is False
    assert {lane["member"] for lane in data["status"]["lanes"]} == {"store-1", "store-2", "store-3"}
    assert data["counterexample"] is None
    assert "heal partition#1" in html  # the recovery table
    assert "chaosplane run scenarios/synthetic.yaml --seed 7" in html
    assert "Missing from the run directory" not in html
    assert_self_contained(html)


def test_invalid_run_draws_the_counterexample_lanes(valid_run: RunDir) -> None:
    def op(
        index: int, process: int, f: str, value: Any, result: Any, t0: float, t1: float | None
    ) -> dict[str, Any]:
        return {
            "index": index,
            "process": process,
            "f": f,
            "key": "k1",
            "value": value,
            "result": result,
            "type": "ok" if t1 is not None else None,
            "invoke_time": int(t0 * S),
            "complete_time": None if t1 is None else int(t1 * S),
        }

    unorderable = [
        op(10, 0, "write", 1, None, 1.0, 1.1),
        op(20, 1, "write", 2, None, 1.2, 1.3),
        op(30, 2, "read", None, 1, 1.4, 1.5),
    ]
    write_verdicts(
        valid_run,
        {
            "linearizable": {
                "verdict": "invalid",
                "reason": "key 'k1': op 30 (read) cannot be linearized; 3 ops cannot be ordered",
                "details": {
                    "key": "k1",
                    "stuck": unorderable[2],
                    "unorderable": unorderable,
                    "minimal": True,
                    "longest_prefix": [10, 20],
                },
            }
        },
    )
    html = render_run_report(valid_run.root).read_text(encoding="utf-8")
    assert 'class="verdict-big">INVALID<' in html
    assert "op 30 (read) cannot be linearized" in html.split('id="verdicts"')[0], "headline first"
    cx = data_of(html)["counterexample"]
    assert cx["key"] == "k1" and cx["count"] == 3
    lanes = {lane["process"]: lane["ops"] for lane in cx["lanes"]}
    assert sorted(lanes) == [0, 1, 2]
    read = lanes[2][0]
    assert read["label"] == "read → 1" and read["stuck"] and not read["in_prefix"]
    assert lanes[0][0]["in_prefix"] and lanes[1][0]["label"] == "write 2"
    # Laid out by event order: write 1 ends before write 2 starts, which ends before the read.
    assert lanes[0][0]["x1"] < lanes[1][0]["x0"] < lanes[1][0]["x1"] < read["x0"]
    assert 'id="cx-lanes"' in html and "read → 1" in html  # the table, for readers without JS
    assert_self_contained(html)


def test_real_checker_counterexample_is_drawn(tmp_path: Path) -> None:
    run = write_synthetic_run(tmp_path / "stale", SyntheticRun(ops=600, stale_read=True))
    verdicts = check_run(run.root)
    assert verdicts.checks["linearizable"].verdict.value == "invalid"
    cx = data_of(render_run_report(run.root).read_text(encoding="utf-8"))["counterexample"]
    assert cx is not None and cx["count"] >= 2
    assert any(o["label"].startswith("read → ") for lane in cx["lanes"] for o in lane["ops"])


def test_control_run_is_valid_and_has_no_counterexample(tmp_path: Path) -> None:
    run = write_synthetic_run(tmp_path / "control", SyntheticRun(ops=600))
    assert check_run(run.root).overall.value == "valid"
    html = render_run_report(run.root).read_text(encoding="utf-8")
    assert data_of(html)["counterexample"] is None and 'id="cx-lanes"' not in html


def test_missing_files_are_named_not_fatal(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "crashed").create()
    with JsonlWriter(run.history) as w:
        w.write(Op(index=0, time=S, process=0, type=OpType.INVOKE, f="read", key="k"))
    html = render_run_report(run.root).read_text(encoding="utf-8")
    missing = html.split('id="missing"')[1].split("</div>")[0]
    for name in ("run.json", "verdicts.json", "faults.jsonl", "status.jsonl", "scenario.yaml"):
        assert name in missing
    assert "NOT CHECKED" in html and "No fault fired" in html
    assert data_of(html)["points"]["total"] == 1  # the open call is still drawn


def test_empty_directory_renders(tmp_path: Path) -> None:
    html = render_run_report(tmp_path).read_text(encoding="utf-8")
    assert "history.jsonl" in html and "No member logs" in html


def test_damaged_file_is_reported_and_the_rest_kept(valid_run: RunDir) -> None:
    lines = valid_run.faults.read_text(encoding="utf-8").splitlines()
    lines.insert(2, "{not json")
    valid_run.faults.write_text("\n".join(lines) + "\n", encoding="utf-8")
    html = render_run_report(valid_run.root).read_text(encoding="utf-8")
    assert "faults.jsonl: unreadable after 2 records" in html
    assert data_of(html)["windows"][0]["label"] == "partition#1"  # kept what came before


def test_windows_fall_back_to_schedule_json(valid_run: RunDir) -> None:
    valid_run.faults.unlink()
    data = data_of(render_run_report(valid_run.root).read_text(encoding="utf-8"))
    assert [(w["label"], w["start_s"], w["end_s"]) for w in data["windows"]] == [
        ("partition#1", 5.0, 9.0),
        ("kill#2", 12.0, 14.0),
    ]


def test_hostile_text_cannot_break_out_of_the_page(valid_run: RunDir) -> None:
    evil = "</script><script>window.pwned=1</script><img src=https://evil.example/x>"
    valid_run.logs.joinpath("api-1.log").write_text(f"boot\n{evil}\n", encoding="utf-8")
    with JsonlWriter(valid_run.history) as w:
        w.write(
            Op(
                index=10**6,
                time=30 * S,
                process=99,
                type=OpType.INVOKE,
                f="write",
                key="k0",
                value=evil,
            )
        )
    meta = json.loads(valid_run.meta.read_text(encoding="utf-8"))
    meta["command"] = evil
    valid_run.meta.write_text(json.dumps(meta), encoding="utf-8")
    html = render_run_report(valid_run.root).read_text(encoding="utf-8")
    assert "window.pwned" not in html.replace("&lt;script&gt;window.pwned", "")
    tags = assert_self_contained(html)
    assert [t for t, _ in tags].count("script") == 3  # onerror guard, data, renderer
    assert "&lt;/script&gt;&lt;script&gt;window.pwned" in html  # shown, as text


def test_logs_are_collapsible_and_capped(valid_run: RunDir) -> None:
    big = "\n".join(f"line {i}" for i in range(10_000))
    valid_run.logs.joinpath("store-9.log").write_text(big, encoding="utf-8")
    html = render_run_report(valid_run.root).read_text(encoding="utf-8")
    assert '<details class="log" data-member="store-9">' in html
    assert 'id="log-filter"' in html
    assert "line 9999" in html and "line 0\n" in html and "line 5000\n" not in html
    assert "lines not shown" in html


@pytest.mark.parametrize(
    "meta, verdicts",
    [
        ({"cluster": [1], "expect": "x", "image_tags": None, "adequacy": [], "seed": "s"}, None),
        ([], {"overall": "invalid", "checks": {"recovered": {"verdict": "invalid"}}}),
        ({}, {"overall": "valid", "checks": {"recovered": {"details": {"events": [{}, 3]}}}}),
        ({}, {"checks": {"linearizable": {"verdict": "invalid", "details": {"unorderable": "x"}}}}),
        ({}, {"checks": {"linearizable": {"verdict": "invalid", "details": []}}}),
        ({}, {"checks": {"availability": "nonsense", "x": {"verdict": "weird", "reason": 3}}}),
    ],
)
def test_odd_shapes_in_json_files_still_render(valid_run: RunDir, meta: Any, verdicts: Any) -> None:
    valid_run.meta.write_text(json.dumps(meta), encoding="utf-8")
    valid_run.verdicts.write_text(json.dumps(verdicts), encoding="utf-8")
    html = render_run_report(valid_run.root).read_text(encoding="utf-8")
    assert 'id="timeline"' in html


def test_recovery_not_seen_is_not_called_late(valid_run: RunDir) -> None:
    events = [
        {"event": "heal kill#2", "at_s": 14.0, "leader_s": 0.1, "recovered_s": None},
        {"event": "heal partition#1", "at_s": 9.0, "leader_s": 0.1, "recovered_s": 6.5},
    ]
    recovered = {
        "verdict": "invalid",
        "reason": "late",
        "details": {"within_s": 5.0, "events": events},
    }
    write_verdicts(valid_run, {"recovered": recovered})
    html = render_run_report(valid_run.root).read_text(encoding="utf-8")
    rows = html.split('id="recovery"')[1].split("</section>")[0].split("<tr")
    kill = next(r for r in rows if "heal kill#2" in r)
    partition = next(r for r in rows if "heal partition#1" in r)
    assert "not seen" in kill and "over limit" not in kill
    assert "over limit" in partition and 'class="late"' in partition


def test_structured_effect_evidence_is_shown_as_json(valid_run: RunDir) -> None:
    lines = valid_run.faults.read_text(encoding="utf-8").splitlines()
    docs = [json.loads(line) for line in lines]
    for d in docs:
        if d["type"] == "effect":
            d["detail"] = {"ok": False, "evidence": {"store-1": {"probe": "reachable"}}}
    valid_run.faults.write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    html = render_run_report(valid_run.root).read_text(encoding="utf-8")
    row = html.split('data-fault="partition#1"')[1].split("</tr>")[0]
    assert '<span class="badge invalid">no</span>' in row
    assert "{&#34;store-1&#34;: {&#34;probe&#34;: &#34;reachable&#34;}}" in row
