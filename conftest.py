"""Thin root conftest: the chaosplane pytest plugin itself is loaded through its ``pytest11``
entry point (``harness.plugin``), so ``pytest scenarios/`` and ``pytest tests/`` need nothing here.

Scenario files are collected from any ``scenarios/`` folder; see ``scenarios/README.md``.
"""
