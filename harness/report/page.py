"""``render_run_report``: one self-contained ``index.html`` for a run directory.

In a nutshell: load whatever the run directory holds (``load.load_run_files``), derive what
the page shows (verdicts first, then recovery and fault windows, then the timeline, the
counterexample, logs and how to reproduce), and render ``templates/run.html.j2`` with the CSS,
the JS renderer and the data inlined — no network, no external file, so the page opens from a
CI artifact or an e-mail. A missing file is named on the page, never an exception.

    path = render_run_report(Path("reports/isolate-leader-s7"))  # …/index.html
"""

from __future__ import annotations

import datetime as dt
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from harness.checker.pairing import pair_calls
from harness.checker.registry import checker_meanings
from harness.history import RunDir, cut_short
from harness.model.runfiles import RunMeta
from harness.report.controllers import controller_section
from harness.report.lanes import counterexample_lanes
from harness.report.load import RunFiles, load_run_files
from harness.report.series import (
    MAX_POINTS,
    NS_PER_S,
    latency_points,
    status_lanes,
    throughput,
)
from harness.report.windows import OkSeries, fault_windows, window_stats

VERDICT_ORDER = {"invalid": 0, "unknown": 1, "valid": 2}
MAX_DETAILS_CHARS = 20_000
MAX_LEADER_ROWS = 60


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=jinja2.select_autoescape(("html", "j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt_s"] = fmt_s
    return env


def asset(name: str) -> str:
    return (resources.files("harness.report") / "templates" / name).read_text(encoding="utf-8")


def embed_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<`` can close the tag."""
    text = json.dumps(data, separators=(",", ":"), default=str, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def fmt_s(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    try:
        return f"{float(value):.{digits}f} s"
    except (TypeError, ValueError):
        return str(value)


def _pretty(value: Any) -> str:
    text = json.dumps(value, indent=2, default=str)
    if len(text) > MAX_DETAILS_CHARS:
        return text[:MAX_DETAILS_CHARS] + f"\n… ({len(text) - MAX_DETAILS_CHARS} more characters)"
    return text


def _checks(verdicts: dict[str, Any] | None) -> list[dict[str, Any]]:
    raw = (verdicts or {}).get("checks") or {}
    meanings = checker_meanings()
    out = []
    for name, check in raw.items():
        if not isinstance(check, dict):
            continue
        verdict = str(check.get("verdict", "unknown"))
        details = check.get("details") or {}
        out.append(
            {
                "name": name,
                "verdict": verdict,
                "reason": str(check.get("reason", "")),
                # what it guarantees, for a reader who has not seen the checker code: the
                # checker's own descriptor (``CheckerSpec.meaning``)
                "meaning": meanings.get(name, ""),
                "details": _pretty(details) if details else "",
            }
        )
    return sorted(out, key=lambda c: (VERDICT_ORDER.get(c["verdict"], 1), c["name"]))


def _combine(checks: list[dict[str, Any]]) -> str:
    """ARCHITECTURE's rule, for a verdicts.json without ``overall``."""
    seen = {c["verdict"] for c in checks}
    if not seen:
        return "not checked"
    return "invalid" if "invalid" in seen else "valid" if seen == {"valid"} else "unknown"


def _recovery(verdicts: dict[str, Any] | None) -> dict[str, Any] | None:
    check = ((verdicts or {}).get("checks") or {}).get("recovered")
    if not isinstance(check, dict):
        return None
    details = check.get("details") or {}
    events = details.get("events")
    if not isinstance(events, list):
        return None
    within = details.get("within_s")
    rows = []
    for e in events:
        if not isinstance(e, dict):
            continue
        worst = e.get("recovered_s")
        late = isinstance(worst, int | float) and isinstance(within, int | float) and worst > within
        first_ok = e.get("first_ok_s")
        rows.append(
            {
                "event": str(e.get("event", "?")),
                "at_s": e.get("at_s"),
                "leader_s": e.get("leader_s"),
                "recovered_s": worst,
                "late": late,
                "first_ok_s": first_ok if isinstance(first_ok, dict) else {},
            }
        )
    return {"within_s": within, "rows": rows}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _adequacy(record: Any) -> dict[str, Any] | None:
    if not isinstance(record, dict):
        return None
    return {"ok": bool(record.get("ok")), "reason": str(record.get("reason") or "")}


def _end_ns(files: RunFiles) -> int:
    times = [o.time for o in files.ops[-1:]] + [f.time for f in files.faults[-1:]]
    times += [s.time for s in files.status[-1:]]
    end = max(times, default=0)
    duration = files.meta.get("duration_s")
    if not end and isinstance(duration, int | float):
        end = int(duration * NS_PER_S)
    return max(end, max((o.time for o in files.ops), default=0))


def _started(meta: dict[str, Any]) -> str:
    started = meta.get("started_at")
    if not isinstance(started, int | float):
        return str(started or "—")
    return dt.datetime.fromtimestamp(started, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _cut_short(root: Path) -> str | None:
    short = cut_short(RunDir(root))
    return None if short is None else short.statement()


def build_context(files: RunFiles) -> dict[str, Any]:
    # run.json through its typed reader (lenient: a damaged field is shown as a problem).
    run_meta = RunMeta.from_json(files.meta, path="run.json", strict=False) if files.meta else None
    meta = run_meta.to_json() if run_meta else {}
    calls = pair_calls(files.ops).calls
    end_ns = _end_ns(files)
    windows = fault_windows(files.faults, files.schedule, end_ns)
    ok = OkSeries.of(calls)
    window_rows = [
        {"w": w, "label": w.label, **window_stats(w, calls, end_ns, ok)} for w in windows
    ]
    points = latency_points(calls, end_ns)
    lanes = status_lanes(files.status, end_ns)
    verdicts = files.verdicts
    checks_raw = (verdicts or {}).get("checks") or {}
    lin = checks_raw.get("linearizable")
    counterexample = counterexample_lanes(lin, calls) if isinstance(lin, dict) else None
    checks = _checks(verdicts)
    controllers = controller_section(files, windows, end_ns)
    overall = str((verdicts or {}).get("overall") or _combine(checks))
    headline = next((c for c in checks if c["verdict"] != "valid"), None)
    data = {
        "end_s": round(end_ns / NS_PER_S, 4),
        "points": points,
        "throughput": throughput(calls, end_ns),
        "windows": [
            {
                "label": w.label,
                "targets": w.targets,
                "start_s": round(w.start_ns / NS_PER_S, 4),
                "end_s": round(w.end_ns / NS_PER_S, 4),
                "healed": w.healed,
                "effect_ok": w.effect_ok,
            }
            for w in windows
        ],
        "status": lanes,
        "counterexample": counterexample,
    }
    return {
        "run_id": meta.get("run_id") or files.root.name,
        "scenario": meta.get("scenario") or "—",
        "description": meta.get("description") or "",
        "seed": meta.get("seed"),
        "git_sha": meta.get("git_sha"),
        "image_tags": _dict(meta.get("image_tags")),
        "command": meta.get("command"),
        "started": _started(meta),
        "duration_s": meta.get("duration_s"),
        "error": meta.get("error"),
        "cut_short": _cut_short(files.root),
        "cluster": _dict(meta.get("cluster")),
        "workload": _dict(meta.get("workload")),
        "expect": _dict(meta.get("expect")),
        "adequacy": _adequacy(meta.get("adequacy")),
        "overall": overall,
        "headline": headline,
        "checks": checks,
        "recovery": _recovery(verdicts),
        "windows": window_rows,
        "leaders": lanes["changes"][:MAX_LEADER_ROWS],
        "leaders_more": max(0, len(lanes["changes"]) - MAX_LEADER_ROWS),
        "counterexample": counterexample,
        "controllers": controllers,
        "calls_total": len(calls),
        "points": {k: points[k] for k in ("binned", "total", "drawn")},
        "max_points": MAX_POINTS,
        "scenario_yaml": files.scenario_yaml,
        "logs": files.logs,
        "missing": files.missing,
        "problems": [*files.problems, *(run_meta.problems if run_meta else ())],
        "meta_json": _pretty(meta) if meta else "",
        "css": asset("report.css"),
        "js": asset("report.js"),
        "data_json": embed_json(data),
    }


def render_run_report(run_dir: Path) -> Path:
    """Write ``index.html`` into ``run_dir`` (atomically) and return its path."""
    files = load_run_files(run_dir)
    html = environment().get_template("run.html.j2").render(**build_context(files))
    out = RunDir(run_dir).report
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out)
    return out
