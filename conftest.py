"""Thin root conftest: the chaosplane pytest plugin itself is loaded through its ``pytest11``
entry point (``harness.plugin``), so ``pytest scenarios/`` and ``pytest tests/`` need nothing here.

Scenario files are collected from the dirs of the ``chaosplane_scenarios`` ini option
(``pyproject.toml``: ``scenarios/``), from ``*.scenario.yaml`` files and from files named on
the command line; see ``scenarios/README.md``.
"""
