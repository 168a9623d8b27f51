"""Scenario problems: one line each, collected per file, raised together as one ``ScenarioError``.

In a nutshell: the loader never stops at the first mistake. Every check calls
``Problems.add(path, value, expected=…, fix=…)``; at the end ``raise_if_any()`` raises a
``ScenarioFileError`` (a ``ScenarioError``) whose message has one problem per line, shaped
``file:line: dotted.field: got <value> (<type>); expected <rule>; <fix>``. Line numbers come from
the YAML node marks the parser recorded for each path (``Lines``).

    problems = Problems(source="s.yaml", lines=lines)
    problems.add(("workload", "clients"), -1, expected="an integer 1–1000", fix="write e.g. 4")
    problems.raise_if_any()   # ScenarioFileError: s.yaml:7: workload.clients: got -1 (integer); …
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.errors import ScenarioError

PathPart = str | int
Path = tuple[PathPart, ...]

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>"})()
"""Stands for a field that is absent (``got nothing (missing)``)."""

INVALID: Any = type("Invalid", (), {"__repr__": lambda self: "<invalid>"})()
"""Stands for a YAML node already reported (a tag, an unreadable scalar): checks skip it."""


def dotted(path: Path) -> str:
    """``("faults", 0, "at")`` → ``faults[0].at``; the root is ``(document)``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(document)"


def type_name(value: Any) -> str:
    """YAML's names for Python values, as a scenario author knows them."""
    if value is MISSING:
        return "missing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def show(value: Any, limit: int = 60) -> str:
    """The value as the author wrote it, short enough for one line."""
    if value is MISSING:
        return "nothing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    try:
        text = repr(value)
    except ValueError:  # ints past Python's digit limit refuse repr
        text = "<a very large number>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``"did you mean 'clients'? "`` for a near miss, else ``""`` (difflib, as argparse does)."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def one_of(choices: Sequence[str]) -> str:
    return ", ".join(choices)


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One thing wrong with a scenario, with everything needed to render and to fix it."""

    source: str
    line: int | None  # 1-based; None when the input had no marks (a dict, not a file)
    field: str  # dotted path, e.g. "faults[1].kill"
    got: str  # the value as shown, e.g. "'store-5'"
    got_type: str  # "string", "integer", "missing", "YAML syntax error", …
    expected: str
    fix: str

    def render(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return (
            f"{where}: {self.field}: got {self.got} ({self.got_type}); "
            f"expected {self.expected}; {self.fix}"
        )


class ScenarioFileError(ScenarioError):
    """All problems found in one or more scenario files; ``str()`` is one problem per line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(p.render() for p in self.problems))


@dataclass(frozen=True, slots=True, kw_only=True)
class Lines:
    """Where each path sits in the file: the value's line and, for mapping entries, the key's."""

    values: dict[Path, int] = field(default_factory=dict)
    keys: dict[Path, int] = field(default_factory=dict)

    def of(self, path: Path, *, key: bool = False) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one (a missing field
        points at the mapping that should hold it)."""
        if key and path in self.keys:
            return self.keys[path]
        for end in range(len(path), -1, -1):
            line = self.values.get(path[:end])
            if line is not None:
                return line
        return None


@dataclass(slots=True, kw_only=True)
class Problems:
    """The problems of one input, in the order found."""

    source: str
    lines: Lines = field(default_factory=Lines)
    found: list[Problem] = field(default_factory=list)
    _bad: set[Path] = field(default_factory=set)

    def add(
        self,
        path: Path,
        value: Any,
        *,
        expected: str,
        fix: str,
        at_key: bool = False,
        got_type: str | None = None,
        line: int | None = None,
    ) -> None:
        self._bad.add(path)
        self.found.append(
            Problem(
                source=self.source,
                line=line if line is not None else self.lines.of(path, key=at_key),
                field=dotted(path),
                got=show(value),
                got_type=got_type or type_name(value),
                expected=expected,
                fix=fix,
            )
        )

    def bad_under(self, prefix: Path) -> bool:
        """Whether any problem was found at or below ``prefix`` (later checks that depend on
        it are skipped, so one mistake gives one line, not a cascade)."""
        return any(p[: len(prefix)] == prefix for p in self._bad)

    def raise_if_any(self) -> None:
        if self.found:
            # In file order (stable), so a reader can walk down the file fixing them.
            ordered = sorted(self.found, key=lambda p: p.line if p.line is not None else 0)
            raise ScenarioFileError(ordered)
