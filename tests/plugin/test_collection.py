"""Which YAML files the plugin collects, in projects that are not chaosplane, and how often it
computes its options. Whole pytest sessions through ``pytester``; no Docker."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest_plugins = ["pytester"]

SCENARIO = textwrap.dedent(
    """
    name: tiny
    workload: {kind: register, clients: 1, keys: 1, rate: 10, duration: 2s}
    """
)
NOT_A_SCENARIO = "services:\n  web: {image: nginx}\n"  # e.g. a foreign project's compose file


def test_a_foreign_projects_scenarios_folder_is_not_collected(pytester: pytest.Pytester) -> None:
    # No chaosplane_scenarios ini option: its scenarios/*.yaml belong to someone else.
    pytester.mkdir("scenarios")
    pytester.path.joinpath("scenarios", "x.yaml").write_text(NOT_A_SCENARIO)
    pytester.path.joinpath("scenarios", "tiny.yaml").write_text(SCENARIO)
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = pytester.runpytest_inprocess("--collect-only", "-q")
    out = result.stdout.str()
    assert "x.yaml" not in out and "tiny.yaml" not in out, out
    assert "test_ok.py::test_ok" in out
    assert result.ret == 0
    # Named as a directory, it is still not collected.
    result = pytester.runpytest_inprocess("scenarios", "--collect-only", "-q")
    assert "x.yaml" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_ini_configured_dir_is_collected_and_nothing_else(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nchaosplane_scenarios = chaos\n")
    pytester.mkdir("chaos")
    pytester.mkdir("scenarios")
    pytester.path.joinpath("chaos", "tiny.yaml").write_text(SCENARIO)
    pytester.path.joinpath("scenarios", "x.yaml").write_text(NOT_A_SCENARIO)
    result = pytester.runpytest_inprocess("--collect-only", "-q")
    out = result.stdout.str()
    assert "chaos/tiny.yaml::tiny" in out, out
    assert "x.yaml" not in out
    assert result.ret == 0


def test_a_file_named_scenario_yaml_declares_itself(pytester: pytest.Pytester) -> None:
    pytester.mkdir("elsewhere")
    pytester.path.joinpath("elsewhere", "tiny.scenario.yaml").write_text(SCENARIO)
    pytester.path.joinpath("elsewhere", "other.yaml").write_text(NOT_A_SCENARIO)
    result = pytester.runpytest_inprocess("--collect-only", "-q")
    out = result.stdout.str()
    assert "tiny.scenario.yaml::tiny" in out, out
    assert "other.yaml" not in out


def test_a_file_named_on_the_command_line_is_collected(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("tiny.yaml").write_text(SCENARIO)
    pytester.path.joinpath("other.yaml").write_text(SCENARIO.replace("tiny", "other"))
    result = pytester.runpytest_inprocess("tiny.yaml", "--collect-only", "-q")
    out = result.stdout.str()
    assert "tiny.yaml::tiny" in out, out
    assert "other" not in out


def test_options_are_computed_once_per_session(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nchaosplane_scenarios = scenarios\n")
    pytester.mkdir("scenarios")
    for name in ("a", "b", "c"):
        pytester.path.joinpath("scenarios", f"{name}.yaml").write_text(
            SCENARIO.replace("tiny", name)
        )
    pytester.makeconftest(
        textwrap.dedent(
            """
            import harness.plugin.options as options
            import harness.run

            REAL_COMPUTE, REAL_RUN = options._compute, harness.run.run_scenario
            calls = []

            def counting(config):
                calls.append(1)
                return REAL_COMPUTE(config)

            def fake(scenario, run_options):
                raise RuntimeError("not run here")

            def pytest_configure(config):
                options._compute = counting
                harness.run.run_scenario = fake

            def pytest_unconfigure(config):
                options._compute, harness.run.run_scenario = REAL_COMPUTE, REAL_RUN

            def pytest_sessionfinish(session):
                print(f"COMPUTED={len(calls)}")
            """
        )
    )
    result = pytester.runpytest_inprocess("-s", "--chaos-seed", "3")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["*COMPUTED=1*"])


def test_importing_the_plugin_loads_neither_docker_nor_testcontainers() -> None:
    code = (
        "import sys, harness.plugin\n"
        "heavy = sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('docker', 'testcontainers'))\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_a_cluster_model_import_loads_no_docker_either() -> None:
    # The value types of the cluster package are pure: nemesis and run import them freely.
    code = (
        "import sys, harness.cluster, harness.cluster.model\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('docker', 'testcontainers')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout
