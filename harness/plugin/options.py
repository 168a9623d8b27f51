"""The plugin's settings, computed once per session into ``config.stash``.

In a nutshell: ``settings(config)`` returns the ``PluginSettings`` of this session — the
``RunOptions`` every scenario run gets (from the ``--chaos-*`` options) and the collection rule
(the ``chaosplane_scenarios`` ini dirs). Hooks, items and fixtures all read it from here, so
the options are parsed once, not for every item.

    opts = settings(item.config).run_options
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from harness.run import RunOptions

INI_SCENARIO_DIRS = "chaosplane_scenarios"
SCENARIO_SUFFIXES = (".yaml", ".yml")
# A file anywhere declares itself a scenario by its name (``leader-killed.scenario.yaml``).
DECLARED_SUFFIXES = (".scenario.yaml", ".scenario.yml")


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginSettings:
    scenario_dirs: tuple[Path, ...]  # absolute: every YAML file under these is a scenario
    named_files: frozenset[Path]  # YAML files named on the command line (absolute)
    reports_dir: Path
    seed: int | None
    replay: Path | None
    engine: str | None
    bugs: tuple[str, ...]
    keep_cluster: bool

    def is_scenario(self, path: Path) -> bool:
        """Whether pytest should collect ``path`` as a scenario file (see ``hooks``)."""
        if not path.name.endswith(SCENARIO_SUFFIXES):
            return False
        if path.name.endswith(DECLARED_SUFFIXES) or path in self.named_files:
            return True
        return any(path.is_relative_to(d) for d in self.scenario_dirs)

    @property
    def run_options(self) -> RunOptions:
        from harness.run import RunOptions

        return RunOptions(
            reports_dir=self.reports_dir,
            seed=self.seed,
            replay=self.replay,
            engine=self.engine,
            bugs=self.bugs,
            keep_cluster=self.keep_cluster,
        )


_KEY = pytest.StashKey[PluginSettings]()


def settings(config: pytest.Config) -> PluginSettings:
    """This session's settings (computed at the first call, then read from the stash)."""
    found = config.stash.get(_KEY, None)
    if found is None:
        found = config.stash[_KEY] = _compute(config)
    return found


def _compute(config: pytest.Config) -> PluginSettings:
    bugs: list[str] = []
    for value in config.getoption("--chaos-bug") or []:
        bugs.extend(b.strip() for b in str(value).split(",") if b.strip())
    replay = config.getoption("--chaos-replay")
    root = config.rootpath
    dirs = tuple((root / str(d)).resolve() for d in config.getini(INI_SCENARIO_DIRS))
    invocation = config.invocation_params.dir
    named = frozenset(
        (invocation / str(arg).split("::")[0]).resolve()
        for arg in config.args
        if str(arg).split("::")[0].endswith(SCENARIO_SUFFIXES)
    )
    return PluginSettings(
        scenario_dirs=dirs,
        named_files=named,
        reports_dir=Path(config.getoption("--chaos-report-dir")),
        seed=config.getoption("--chaos-seed"),
        replay=Path(replay) if replay else None,
        engine=config.getoption("--chaos-engine"),
        bugs=tuple(bugs),
        keep_cluster=bool(config.getoption("--chaos-keep-cluster")),
    )


def run_options(config: pytest.Config) -> RunOptions:
    return settings(config).run_options
