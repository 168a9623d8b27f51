"""The bottom layer of shared types: imports nothing of ours but the error tree.

In a nutshell: the specs a run is made of (``FaultSpec``, ``WorkloadSpec``, ``Expectations``,
the closed vocabularies ``Engine``, ``FaultKind``, ``WorkloadKind``) and the typed, versioned
run-directory documents (``runfiles``: ``run.json`` / ``schedule.json`` readers). Every package
may import it; it imports neither Docker nor the scenario loader (ARCHITECTURE.md's table, kept
by ``tests/unit/test_import_contract.py``).

    from harness.model import FaultKind, FaultSpec
"""

from harness.model.specs import (
    AdequacySpec,
    Engine,
    Expectations,
    FaultKind,
    FaultSpec,
    WorkloadKind,
    WorkloadSpec,
)

__all__ = [
    "AdequacySpec",
    "Engine",
    "Expectations",
    "FaultKind",
    "FaultSpec",
    "WorkloadKind",
    "WorkloadSpec",
]
