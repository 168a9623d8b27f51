"""The shared linearizability corpus (../shared/histories/porcupine) for the tests that read it.

Absent in a user's clone: ``needs_corpus`` skips, saying where it looked; ``ROWS`` is empty.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

CORPUS = Path(os.environ.get("CHAOSPLANE_SHARED", "../shared")) / "histories" / "porcupine"
needs_corpus = pytest.mark.skipif(
    not (CORPUS / "verdicts.tsv").is_file(), reason=f"shared corpus not found at {CORPUS}"
)


def _rows() -> list[dict[str, str]]:
    if not (CORPUS / "verdicts.tsv").is_file():
        return []
    with (CORPUS / "verdicts.tsv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [r for r in rows if r["verdict"] in ("linearizable", "not-linearizable")]


ROWS = _rows()
