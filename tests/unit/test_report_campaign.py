"""The campaign index (failures first, relative links, per-guarantee columns) and the CLI."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from harness.cli import main
from harness.history import RunDir
from harness.report import render_campaign_index, render_run_report
from harness.testing.synthetic import SyntheticRun, write_synthetic_run


def make_run(root: Path, overall: str, seed: int, recovered_s: float = 1.0) -> RunDir:
    run = write_synthetic_run(root, SyntheticRun(ops=80, seed=seed))
    meta = json.loads(run.meta.read_text(encoding="utf-8"))
    meta["run_id"] = root.name
    run.meta.write_text(json.dumps(meta), encoding="utf-8")
    checks = {
        "linearizable": {"verdict": overall, "reason": f"lin {overall}", "details": {}},
        "recovered": {
            "verdict": "valid",
            "reason": "",
            "details": {"within_s": 5.0, "events": [{"recovered_s": recovered_s}]},
        },
        "availability": {
            "verdict": "valid",
            "reason": "",
            "details": {"windows": [{"share": 0.5}, {"share": 0.25}]},
        },
    }
    doc = {"overall": overall, "checks": checks}
    run.verdicts.write_text(json.dumps(doc), encoding="utf-8")
    return run


def run_order(html: str) -> list[str]:
    return re.findall(r'class="mono">([a-z0-9-]+)</a>', html)


def test_index_lists_failures_first_with_relative_links(tmp_path: Path) -> None:
    runs = [
        make_run(tmp_path / "runs" / "ok-run", "valid", 1),
        make_run(tmp_path / "runs" / "bad-run", "invalid", 2, recovered_s=7.5),
        make_run(tmp_path / "runs" / "maybe-run", "unknown", 3),
    ]
    out_dir = tmp_path / "campaign" / "index"
    path = render_campaign_index(out_dir, [r.root for r in runs])
    html = path.read_text(encoding="utf-8")
    assert run_order(html) == ["bad-run", "maybe-run", "ok-run"]
    for r in runs:
        assert r.report.is_file(), "a missing run report is rendered for the link"
        href = Path(os.path.relpath(r.report, out_dir)).as_posix()
        assert f'href="{href}"' in html and href.startswith("../../runs/")
        assert (out_dir / href).resolve() == r.report.resolve()
    assert "7.50 s" in html and 'class="late"' in html  # slowest recovery over its limit
    assert "25.0%" in html  # the lowest availability of any window
    assert "partition@store-1, kill@store-2" in html  # the faults that fired
    for name in ("linearizable", "recovered", "availability"):
        assert f'data-type="verdict">{name}</th>' in html
    assert 'title="lin invalid"' in html
    assert "http://" not in html and "https://" not in html
    assert 'class="sortable"' in html and "campaign.js" not in html  # the sorter is inlined


def test_index_survives_a_run_directory_without_anything(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    html = render_campaign_index(tmp_path / "idx", [empty, tmp_path / "gone"]).read_text()
    assert "not checked" in html and "(no report)" in html


def test_cli_regenerates_reports_and_prints_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = make_run(tmp_path / "r1", "valid", 1)
    assert not run.report.exists()
    code = main(["report", str(run.root), str(tmp_path / "nope"), "--index", str(tmp_path / "i")])
    out, err = capsys.readouterr()
    assert code == 3 and "nope: not a run directory" in err
    assert out.splitlines() == [str(run.report), str(tmp_path / "i" / "index.html")]
    assert run.report.is_file()


def test_cli_exit_zero_when_all_render(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(tmp_path / "r1", "invalid", 1)
    render_run_report(run.root)
    assert main(["report", str(run.root)]) == 0
    assert capsys.readouterr().out.strip() == str(run.report)
