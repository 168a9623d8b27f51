"""Whole pytest sessions through ``pytester`` (as xdist tests itself): collection of scenario
files, collection errors on broken files, and readable failures. No Docker: the run itself is
replaced by a recorded outcome where a test needs one."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

GOOD = textwrap.dedent(
    """
    name: tiny
    description: a short register run with one leader kill
    cluster: {store: {engine: pysyncobj, members: 3}, apiservers: 2}
    workload: {kind: register, clients: 2, keys: 2, rate: 10, duration: 6s}
    faults:
      - {at: 2s, kill: store-leader, restart_after: 1s}
    expect: {linearizable: true}
    """
)

FAKE_RUN = textwrap.dedent(
    """
    # Scenario items are not fixture-aware, so the run is swapped for the session (and restored).
    from pathlib import Path
    import harness.run
    from harness.checker import CheckResult, RunVerdicts, Verdict
    from harness.run import RunOutcome

    REAL = harness.run.run_scenario

    def fake(scenario, options):
        verdict = Verdict(VERDICT)
        reason = "key k1: 3 ops cannot be ordered"
        checks = {"linearizable": CheckResult(verdict=verdict, reason=reason)}
        return RunOutcome(run_id="r1", run_dir=Path("reports/r1"), seed=7,
                          verdicts=RunVerdicts.of(checks), report=Path("reports/r1/index.html"),
                          rerun="chaosplane run scenarios/tiny.yaml --seed 7", duration_s=1.0)

    def pytest_configure(config):
        harness.run.run_scenario = fake

    def pytest_unconfigure(config):
        harness.run.run_scenario = REAL
    """
)


@pytest.fixture(autouse=True)
def scenario_dir_configured(pytester: pytest.Pytester) -> None:
    """Each session below is a project that lists ``scenarios`` in ``chaosplane_scenarios``."""
    pytester.makeini("[pytest]\nchaosplane_scenarios = scenarios\n")
    pytester.mkdir("scenarios")


def test_scenario_files_are_collected_as_items(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("scenarios", "tiny.yaml").write_text(GOOD)
    result = pytester.runpytest_inprocess("scenarios", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*tiny.yaml::tiny*"])
    assert result.ret == 0


def test_yaml_outside_scenarios_is_ignored(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("config.yaml").write_text("not: a scenario\n")
    result = pytester.runpytest_inprocess("--collect-only", "-q")
    assert "config.yaml" not in result.stdout.str()


def test_broken_file_is_a_collection_error_on_that_file_only(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("scenarios", "tiny.yaml").write_text(GOOD)
    broken = GOOD.replace("kind: register", "kind: regsiter").replace("name: tiny", "name: bad")
    pytester.path.joinpath("scenarios", "bad.yaml").write_text(broken)
    result = pytester.runpytest_inprocess("scenarios", "--collect-only", "-q")
    out = result.stdout.str()
    assert "bad.yaml:" in out and "workload.kind" in out  # file:line: dotted.field
    assert "register" in out  # the valid choices are offered
    assert "Traceback" not in out
    result.stdout.fnmatch_lines(["*tiny.yaml::tiny*"])  # the good file is still collected
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_invalid_run_fails_with_verdicts_rerun_command_and_report(
    pytester: pytest.Pytester,
) -> None:
    pytester.path.joinpath("scenarios", "tiny.yaml").write_text(GOOD)
    pytester.makeconftest(FAKE_RUN.replace("VERDICT", '"invalid"'))
    result = pytester.runpytest_inprocess("scenarios")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*verdict: INVALID (seed 7)*",
            "*linearizable*invalid*cannot be ordered*",
            "*rerun:  chaosplane run scenarios/tiny.yaml --seed 7*",
            "*report: reports/r1/index.html*",
        ]
    )


def test_valid_run_passes(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("scenarios", "tiny.yaml").write_text(GOOD)
    pytester.makeconftest(FAKE_RUN.replace("VERDICT", '"valid"'))
    result = pytester.runpytest_inprocess("scenarios")
    result.assert_outcomes(passed=1)


def test_unknown_run_is_not_a_pass(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("scenarios", "tiny.yaml").write_text(GOOD)
    pytester.makeconftest(FAKE_RUN.replace("VERDICT", '"unknown"'))
    result = pytester.runpytest_inprocess("scenarios")
    result.assert_outcomes(failed=1)


def test_chaos_options_reach_the_run(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("scenarios", "tiny.yaml").write_text(GOOD)
    pytester.makeconftest(
        textwrap.dedent(
            """
            import harness.run
            REAL = harness.run.run_scenario
            seen = {}
            def fake(scenario, options):
                seen["options"] = options
                raise RuntimeError("stop here")
            def pytest_configure(config):
                harness.run.run_scenario = fake
            def pytest_unconfigure(config):
                harness.run.run_scenario = REAL
            def pytest_sessionfinish(session):
                o = seen["options"]
                assert (o.seed, o.engine, o.bugs, o.keep_cluster) == (
                    11, "raftos", ("stale-follower-reads", "watch-gap"), True), o
                print("OPTIONS-OK")
            """
        )
    )
    result = pytester.runpytest_inprocess(
        "scenarios", "-s", "--chaos-seed", "11", "--chaos-engine", "raftos",
        "--chaos-bug", "stale-follower-reads,watch-gap", "--chaos-keep-cluster",
    )  # fmt: skip
    result.stdout.fnmatch_lines(["*OPTIONS-OK*"])


@pytest.mark.parametrize(
    ("verdict", "outcome"),
    [("invalid", {"xfailed": 1}), ("valid", {"failed": 1}), ("unknown", {"failed": 1})],
)
def test_known_bad_scenario_passes_only_when_the_defect_is_found(
    pytester: pytest.Pytester, verdict: str, outcome: dict[str, int]
) -> None:
    known_bad = GOOD.replace(
        "expect: {linearizable: true}", "expect: {linearizable: true}\nmarkers: [known_bad]"
    )
    pytester.path.joinpath("scenarios", "tiny.yaml").write_text(known_bad)
    pytester.makeconftest(FAKE_RUN.replace("VERDICT", repr(verdict)))
    result = pytester.runpytest_inprocess("scenarios")
    result.assert_outcomes(**outcome)
