"""Campaign planning, sharding, results, JUnit XML and merging — no Docker: run folders are
written by hand as a finished run would leave them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.campaign import Job, JobResult, exit_code, merge_campaigns, parse_shard, plan_jobs
from harness.campaign.junit import write_junit
from harness.campaign.results import CampaignResult
from harness.campaign.runner import collect
from harness.errors import HarnessError
from harness.scenario import Scenario

SUITE = Path(__file__).resolve().parents[2] / "scenarios" / "suite"


def scenarios(n: int) -> list[Scenario]:
    return [Scenario(name=f"s{i}", source=Path(f"scenarios/s{i}.yaml")) for i in range(n)]


def test_shards_partition_the_campaign_exactly() -> None:
    whole = plan_jobs(scenarios(5), seeds=[1, 2, 3])
    assert len(whole) == 15
    parts = [
        plan_jobs(scenarios(5), seeds=[1, 2, 3], shard=parse_shard(f"{i}/4")) for i in (1, 2, 3, 4)
    ]
    merged = sorted((j for p in parts for j in p), key=lambda j: j.position)
    assert merged == whole  # every job in exactly one shard, same order
    assert all(parts)  # none empty here


@pytest.mark.parametrize("text", ["0/2", "3/2", "1/0", "a/b", "1-2", ""])
def test_bad_shard_is_a_clear_error(text: str) -> None:
    with pytest.raises(HarnessError, match="--shard"):
        parse_shard(text)


def result(position: int, overall: str, scenario: str = "s") -> JobResult:
    checks = {"linearizable": {"verdict": overall, "reason": "why"}} if overall != "error" else {}
    error = "boom" if overall == "error" else None
    return JobResult(
        position=position, job_id=f"{position:04d}", scenario=scenario, file="f.yaml", seed=1,
        overall=overall, checks=checks, duration_s=1.5, error=error,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("overalls", "code"),
    [(["valid"], 0), (["valid", "invalid"], 1), (["valid", "unknown"], 2),
     (["unknown", "invalid"], 1), (["valid", "error", "invalid"], 3), ([], 0)],
)  # fmt: skip
def test_exit_codes(overalls: list[str], code: int) -> None:
    assert exit_code([result(i, o) for i, o in enumerate(overalls)]) == code


def test_junit_has_one_case_per_run_and_unknown_is_not_a_pass(tmp_path: Path) -> None:
    runs = [result(0, "valid"), result(1, "invalid"), result(2, "unknown"), result(3, "error")]
    root = ET.parse(write_junit(tmp_path / "junit.xml", runs)).getroot()
    # The shape of pytest's own --junitxml files: testsuites > testsuite > testcase.
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "2", "1")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["s[seed=1]"] * 4
    assert cases[0].find("failure") is None and cases[0].find("error") is None
    assert cases[1].find("failure").get("type") == "invalid"  # type: ignore[union-attr]
    assert cases[2].find("failure").get("type") == "unknown"  # type: ignore[union-attr]
    assert cases[3].find("error") is not None
    props = {p.get("name"): p.get("value") for p in cases[1].iter("property")}
    assert props["seed"] == "1" and props["verdict.linearizable"] == "invalid"


def fake_run_dir(reports: Path, overall: str) -> Path:
    run = reports / "leader-killed-s1-x"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"command": "chaosplane run x --seed 1"}))
    checks = {"linearizable": {"verdict": overall, "reason": "r", "details": {}}}
    (run / "verdicts.json").write_text(json.dumps({"overall": overall, "checks": checks}))
    return run


def test_collect_reads_the_run_folder_and_calls_a_missing_one_an_error(tmp_path: Path) -> None:
    job = Job(scenario="leader-killed", file=Path("f.yaml"), seed=1, position=0)
    reports = tmp_path / "runs" / job.job_id
    fake_run_dir(reports, "invalid")
    got = collect(job, reports, tmp_path, 1, 2.0, tmp_path / "log")
    assert got.overall == "invalid" and got.rerun == "chaosplane run x --seed 1"
    assert got.run_dir == f"runs/{job.job_id}/leader-killed-s1-x"
    log = tmp_path / "empty.log"
    log.write_text("Traceback: it broke\n")
    missing = collect(job, tmp_path / "nothing", tmp_path, 3, 2.0, log)
    assert missing.overall == "error" and "it broke" in (missing.error or "")


def test_merging_shards_equals_the_unsharded_result(tmp_path: Path) -> None:
    runs = [
        result(i, o, scenario=f"s{i % 2}")
        for i, o in enumerate(["valid", "invalid", "valid", "unknown"])
    ]
    whole = CampaignResult(results=runs)
    for i in (1, 2):
        folder = tmp_path / f"shard{i}"
        folder.mkdir()
        CampaignResult(results=[r for r in runs if r.position % 2 == i - 1], shard=f"{i}/2").write(
            folder
        )
    merged = merge_campaigns([tmp_path / "shard1", tmp_path / "shard2"], tmp_path / "merged")
    assert merged.to_json() == whole.to_json()
    assert merged.to_json()["reproduction"]["s1"] == {"runs": 2, "invalid": 1, "rate": 0.5}


def test_a_run_in_two_shards_is_refused(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        CampaignResult(results=[result(0, "valid")]).write(tmp_path / name)
    with pytest.raises(HarnessError, match="two shards"):
        merge_campaigns([tmp_path / "a", tmp_path / "b"], tmp_path / "m")
