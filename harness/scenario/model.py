"""The typed scenario: what a YAML file resolves to, and what the run consumes.

Pure data (frozen dataclasses); the loader in this package builds them and reports errors as
``file:line: dotted.field: …``. Durations are seconds (float) once loaded. The parts other
layers consume (``FaultSpec``, ``WorkloadSpec``, ``Expectations``, the kinds, ``Engine``) live
in ``harness.model``, the bottom layer; only ``ClusterConfig`` and ``Scenario`` are here.

    Scenario(name="isolate-leader", cluster=ClusterConfig(), workload=WorkloadSpec(kind="register"),
             faults=(FaultSpec(kind="partition", target="isolate-leader", at_s=5, duration_s=10),),
             expect=Expectations(linearizable=True))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.model import AdequacySpec, Engine, Expectations, FaultSpec, WorkloadSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterConfig:
    engine: Engine = Engine.PYSYNCOBJ
    store_members: int = 3
    apiservers: int = 2
    bugs: tuple[str, ...] = ()
    controller_managers: int = 0  # the controller layer (contract C5); 0: none
    schedulers: int = 0
    nodes: int = 0

    @property
    def has_components(self) -> bool:
        return bool(self.controller_managers or self.schedulers or self.nodes)


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    name: str
    description: str = ""
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    workload: WorkloadSpec = field(default_factory=WorkloadSpec)
    faults: tuple[FaultSpec, ...] = ()
    expect: Expectations = field(default_factory=Expectations)
    adequacy: AdequacySpec = field(default_factory=AdequacySpec)
    seed: int | None = None
    source: Path | None = None  # the file it came from
    markers: tuple[str, ...] = ()  # pytest markers, e.g. ("slow",)
