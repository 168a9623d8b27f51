"""``render_campaign_index``: one sortable page over many runs, failures first.

In a nutshell: for each run directory read only ``run.json``, ``verdicts.json`` and
``schedule.json`` (never the history, so an index over hundreds of runs is instant), make sure
the run has its own report (rendered when missing), and write ``campaign_dir/index.html``:
scenario, seed, the faults that fired, overall and per-guarantee verdicts, the slowest recovery
against its limit, the lowest availability in a fault window, and a relative link to each run's
report. Rows start invalid → unknown → not checked → valid; clicking a column header sorts by
it (inlined JS).

    render_campaign_index(Path("reports/index-20261125"), [Path("reports/a"), Path("reports/b")])
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from harness.checker.registry import checker_meanings
from harness.history import RunDir
from harness.report.load import schedule_list
from harness.report.page import asset, environment
from harness.report.page import render_run_report as _render_run_report

ROW_ORDER = {"invalid": 0, "unknown": 1, "not checked": 2, "valid": 3}


def _json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _recovery(checks: dict[str, Any]) -> tuple[float | None, float | None]:
    details = (checks.get("recovered") or {}).get("details") or {}
    events = details.get("events") or []
    times = [e.get("recovered_s") for e in events if isinstance(e, dict)]
    known = [float(t) for t in times if isinstance(t, int | float)]
    slowest = max(known) if known and len(known) == len(times) else None
    within = details.get("within_s")
    return slowest, float(within) if isinstance(within, int | float) else None


def _min_availability(checks: dict[str, Any]) -> float | None:
    details = (checks.get("availability") or {}).get("details") or {}
    shares = [
        float(w["share"])
        for w in details.get("windows") or []
        if isinstance(w, dict) and isinstance(w.get("share"), int | float)
    ]
    return min(shares) if shares else None


def _row(campaign_dir: Path, run_dir: Path, notes: list[str]) -> dict[str, Any]:
    run = RunDir(run_dir)
    meta, verdicts = _json(run.meta), _json(run.verdicts)
    if not run.report.is_file() and run_dir.is_dir():
        try:
            _render_run_report(run_dir)
        except Exception as exc:  # one broken run must not cost the index of all the others
            notes.append(f"{run_dir}: report not rendered: {exc!r}")
    checks = {k: v for k, v in (verdicts.get("checks") or {}).items() if isinstance(v, dict)}
    try:
        schedule = schedule_list(json.loads(run.schedule.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError):
        schedule = []
    faults = [
        f"{d.get('kind', '?')}{'@' + str(d['target']) if d.get('target') else ''}" for d in schedule
    ]
    slowest, within = _recovery(checks)
    return {
        "run_id": meta.get("run_id") or run_dir.name,
        "scenario": meta.get("scenario") or "—",
        "seed": meta.get("seed"),
        "faults": faults,
        "overall": str(verdicts.get("overall", "not checked")),
        "checks": {k: str(v.get("verdict", "unknown")) for k, v in checks.items()},
        "reasons": {k: str(v.get("reason", "")) for k, v in checks.items()},
        "recovered_s": slowest,
        "within_s": within,
        "late": slowest is not None and within is not None and slowest > within,
        "availability": _min_availability(checks),
        "duration_s": meta.get("duration_s"),
        "href": Path(os.path.relpath(run.report, campaign_dir)).as_posix()
        if run.report.is_file()
        else None,
    }


def render_campaign_index(campaign_dir: Path, runs: list[Path]) -> Path:
    """Write ``campaign_dir/index.html`` over ``runs`` and return its path."""
    campaign_dir.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    rows = [_row(campaign_dir, r, notes) for r in runs]
    rows.sort(key=lambda r: (ROW_ORDER.get(r["overall"], 1), str(r["scenario"]), str(r["seed"])))
    seen = {name for r in rows for name in r["checks"]}
    known = checker_meanings()  # registry order, checkers registered later included
    names = [n for n in known if n in seen] + sorted(seen - set(known))
    counts = Counter(r["overall"] for r in rows)
    html = (
        environment()
        .get_template("campaign.html.j2")
        .render(
            rows=rows,
            names=names,
            counts=sorted(counts.items(), key=lambda kv: ROW_ORDER.get(kv[0], 1)),
            notes=notes,
            css=asset("report.css"),
            js=asset("campaign.js"),
        )
    )
    out = campaign_dir / "index.html"
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out)
    return out
