"""The package table in ARCHITECTURE.md is the import contract: every ``import`` in
``harness/``, ``controlplane/`` and ``linkproxy/`` (also inside functions and under
``TYPE_CHECKING``) must be allowed by the row its module belongs to.

The checker is three pure functions (parse the table, list the imports, compare), so it is
itself tested on a synthetic table and module list: a planted bad import must be reported.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("harness", "controlplane", "linkproxy")
HEADER = "| package | role | may import (of ours) |"
NAME = re.compile(r"`([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*)`")


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    names: tuple[str, ...]  # the modules/packages the row is about
    allowed: tuple[str, ...]  # what they may import besides their own row
    everything: bool = False  # "everything [but `x`, …]"
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # what it imports, dotted (a module where one exists)
    where: str  # file:line


def covers(name: str, module: str) -> bool:
    return module == name or module.startswith(name + ".")


def parse_table(text: str) -> list[Row]:
    """The rows of the package table (from its header to the first blank line)."""
    start = text.index(HEADER)
    rows: list[Row] = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        names, rule = NAME.findall(cells[0]), cells[-1]
        if rule.startswith("everything"):
            rows.append(Row(names=tuple(names), allowed=(), everything=True,
                            excluded=tuple(NAME.findall(rule))))  # fmt: skip
        else:
            rows.append(Row(names=tuple(names), allowed=tuple(NAME.findall(rule))))
    return rows


def imports_in(root: Path, packages: tuple[str, ...] = OURS) -> list[Import]:
    """Every import of one of ``packages`` made by a module under ``root/<package>``."""
    found: list[Import] = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(rel))
            for node in ast.walk(tree):
                where = f"{rel}:{getattr(node, 'lineno', 0)}"
                for target in _targets(node, root):
                    if target.split(".")[0] in packages:
                        found.append(Import(module=module, target=target, where=where))
    return found


def _targets(node: ast.AST, root: Path) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        # `from controlplane import bugs` imports the module controlplane.bugs.
        out = []
        for alias in node.names:
            sub = f"{node.module}.{alias.name}"
            as_path = root.joinpath(*sub.split("."))
            is_module = as_path.with_suffix(".py").is_file() or as_path.is_dir()
            out.append(sub if is_module else node.module)
        return out
    return []


def row_of(rows: list[Row], module: str) -> Row | None:
    """The row with the longest name covering ``module``."""
    best: tuple[int, Row] | None = None
    for row in rows:
        for name in row.names:
            if covers(name, module) and (best is None or len(name) > best[0]):
                best = (len(name), row)
    return None if best is None else best[1]


def violations(rows: list[Row], imports: list[Import]) -> list[str]:
    problems: list[str] = []
    for imp in imports:
        source = row_of(rows, imp.module)
        if source is None:
            problems.append(f"{imp.where}: {imp.module} is in no row of the table; add it")
            continue
        target = row_of(rows, imp.target)
        if target is source:
            continue
        if source.everything:
            ok = not any(covers(x, imp.target) for x in source.excluded)
        else:
            ok = any(covers(a, imp.target) for a in source.allowed)
        if not ok:
            allowed = "everything but " + ", ".join(source.excluded) if source.everything else (
                ", ".join(source.allowed) or "nothing")  # fmt: skip
            problems.append(
                f"{imp.where}: {imp.module} imports {imp.target}; its row "
                f"({', '.join(source.names)}) allows {allowed}. Fix the import, or change the "
                "table in ARCHITECTURE.md (and say why)"
            )
    return problems


# ----- the real tree --------------------------------------------------------------------------


def real_rows() -> list[Row]:
    return parse_table((ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8"))


@functools.cache
def _real_imports() -> tuple[Import, ...]:
    return tuple(imports_in(ROOT))


def test_every_import_keeps_the_table() -> None:
    problems = violations(real_rows(), list(_real_imports()))
    assert not problems, "\n".join(problems)


def test_the_table_names_only_real_modules() -> None:
    for row in real_rows():
        for name in (*row.names, *row.allowed, *row.excluded):
            path = ROOT.joinpath(*name.split("."))
            assert path.with_suffix(".py").is_file() or path.is_dir(), (
                f"ARCHITECTURE.md package table: {name} is not a module or package"
            )


def test_nothing_in_the_product_imports_the_test_doubles() -> None:
    users = {i.module for i in list(_real_imports()) if covers("harness.testing", i.target)}
    assert {u for u in users if not covers("harness.testing", u)} == set()


def test_the_scan_sees_lazy_imports() -> None:
    # harness.run imports harness.cluster inside a function: the scan must see it.
    found = {(i.module, i.target) for i in list(_real_imports())}
    assert ("harness.run", "harness.cluster") in found
    assert ("harness.plugin.fixtures", "harness.cluster") in found


# ----- the checker can say "violation" --------------------------------------------------------

TABLE = f"""
{HEADER}
|---|---|---|
| `pkg.bottom` | shared types | nothing |
| `pkg.mid` | a layer | `pkg.bottom` |
| `pkg.glue` | glue | everything but `pkg.doubles` |
| `pkg.doubles` | test doubles | everything |

after the table
"""


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


GOOD_TREE = {
    "pkg/__init__.py": "",
    "pkg/bottom/__init__.py": "",
    "pkg/bottom/types.py": "X = 1\n",
    "pkg/mid/__init__.py": "from pkg.bottom import types\n",
    "pkg/mid/part.py": "from pkg.mid import __name__ as _n\n",
    "pkg/glue.py": "import pkg.mid\nimport pkg.bottom.types\n",
    "pkg/doubles.py": "import pkg.glue\n",
}


def test_a_clean_synthetic_tree_passes(tmp_path: Path) -> None:
    root = _tree(tmp_path, GOOD_TREE)
    assert violations(parse_table(TABLE), imports_in(root, ("pkg",))) == []


@pytest.mark.parametrize(
    ("planted", "expected"),
    [
        # an import running back up, at module level
        ({"pkg/bottom/types.py": "from pkg.mid import part\n"}, "pkg.bottom.types imports pkg.mid"),
        # the same inside a function (a lazy import counts)
        ({"pkg/bottom/types.py": "def f():\n    import pkg.glue\n"}, "imports pkg.glue"),
        # under TYPE_CHECKING
        (
            {
                "pkg/mid/part.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                "    from pkg import doubles\n"
            },
            "pkg.mid.part imports pkg.doubles",
        ),
        # the glue may import everything but the doubles
        ({"pkg/glue.py": "from pkg.doubles import X\n"}, "pkg.glue imports pkg.doubles"),
        # a module the table forgot
        ({"pkg/new.py": "import pkg.bottom\n"}, "pkg.new is in no row of the table"),
    ],
)
def test_a_planted_bad_import_is_reported(
    tmp_path: Path, planted: dict[str, str], expected: str
) -> None:
    root = _tree(tmp_path, {**GOOD_TREE, **planted})
    problems = violations(parse_table(TABLE), imports_in(root, ("pkg",)))
    assert len(problems) == 1 and expected in problems[0], problems
    assert "ARCHITECTURE.md" in problems[0] or "add it" in problems[0]


def test_a_planted_bad_import_in_a_copy_of_the_real_tree_is_reported(tmp_path: Path) -> None:
    # The real table, the real packages' import lines, plus one checker importing the cluster.
    imports = list(_real_imports())
    planted = Import(module="harness.checker.recovery", target="harness.cluster.cluster",
                     where="harness/checker/recovery.py:1")  # fmt: skip
    problems = violations(real_rows(), [*imports, planted])
    assert problems == [
        "harness/checker/recovery.py:1: harness.checker.recovery imports harness.cluster.cluster; "
        "its row (harness.checker) allows harness.model, harness.history, harness.errors. Fix "
        "the import, or change the table in ARCHITECTURE.md (and say why)"
    ]


def test_the_workload_may_no_longer_import_the_cluster_model() -> None:
    # The known violation of issue 13 is gone from the table: planting it again is reported.
    planted = Import(module="harness.workload.base", target="harness.cluster.model",
                     where="harness/workload/base.py:1")  # fmt: skip
    problems = violations(real_rows(), [planted])
    assert (
        len(problems) == 1
        and "harness.workload.base imports harness.cluster.model" in (problems[0])
    )


def test_the_cluster_model_is_a_reexport_of_the_bottom_layer() -> None:
    import harness.cluster.model as old
    import harness.model.cluster as new

    for name in old.__all__:
        assert getattr(old, name) is getattr(new, name), name
