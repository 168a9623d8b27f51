"""JUnit XML for a campaign: one test case per run, the way CI systems read pytest's files.

The shape follows pytest's own ``--junitxml`` output (``testsuites/testsuite/testcase`` with
``failure``/``error``/``properties``). An invalid run is a failure; an unknown run is a failure
too (unknown is never a pass), typed ``unknown``; a harness error is an error.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.campaign.results import JobResult


def write_junit(path: Path, results: list[JobResult], *, name: str = "chaosplane") -> Path:
    failures = sum(r.overall in ("invalid", "unknown") for r in results)
    errors = sum(r.overall == "error" for r in results)
    total_s = sum(r.duration_s for r in results)
    suites = ET.Element("testsuites")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=name,
        errors=str(errors),
        failures=str(failures),
        skipped="0",
        tests=str(len(results)),
        time=f"{total_s:.3f}",
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"),
        hostname="localhost",
    )
    for r in sorted(results, key=lambda r: r.position):
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"scenarios.{r.scenario}",
            name=f"{r.scenario}[seed={r.seed}]",
            time=f"{r.duration_s:.3f}",
        )
        props = ET.SubElement(case, "properties")
        for key, value in _properties(r):
            ET.SubElement(props, "property", name=key, value=value)
        message = _message(r)
        if r.overall == "error":
            ET.SubElement(case, "error", message=message, type="harness-error").text = r.error
        elif r.overall in ("invalid", "unknown"):
            ET.SubElement(case, "failure", message=message, type=r.overall).text = _details(r)
    ET.indent(suites)
    path.write_bytes(ET.tostring(suites, encoding="utf-8", xml_declaration=True))
    return path


def _properties(r: JobResult) -> list[tuple[str, str]]:
    props = [("seed", str(r.seed)), ("overall", r.overall), ("scenario_file", r.file)]
    props += [(f"verdict.{name}", str(c.get("verdict"))) for name, c in sorted(r.checks.items())]
    recovered = r.checks.get("recovered", {}).get("details", {})
    for key in ("max_recovery_s", "leader_recovery_s"):
        if key in recovered:
            props.append((f"recovery.{key}", str(recovered[key])))
    for key, value in (("schedule", r.schedule), ("report", r.report), ("rerun", r.rerun)):
        if value:
            props.append((key, value))
    return props


def _message(r: JobResult) -> str:
    bad = [
        f"{n}: {c.get('verdict')}"
        for n, c in sorted(r.checks.items())
        if c.get("verdict") != "valid"
    ]
    return f"{r.overall}: " + ("; ".join(bad) if bad else (r.error or "no verdict"))


def _details(r: JobResult) -> str:
    lines = [
        f"{n}: {c.get('verdict')} — {c.get('reason', '')}" for n, c in sorted(r.checks.items())
    ]
    lines += [f"rerun: {r.rerun}", f"report: {r.report}"]
    return "\n".join(lines)
