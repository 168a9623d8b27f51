"""YAML text → plain Python data plus the line of every field, for ``file:line`` errors.

In a nutshell: ``yaml.compose`` (SafeLoader) keeps a mark on every node; we walk the node tree
ourselves so we know each value's line and each key's line, can refuse duplicate keys (PyYAML
silently keeps the last), non-string keys, custom tags and alias bombs, and can turn *any* parser
failure into a problem with a line instead of an exception.

    data, lines = parse_yaml("name: x\\nseed: 3\\n", problems)
    lines.of(("seed",)) == 2
"""

from __future__ import annotations

from typing import Any

import yaml

from harness.scenario.problems import INVALID, Path, Problems, type_name

MAX_NODES = 20_000  # a real scenario has a few hundred; more means an alias bomb or garbage
_PLAIN_TAGS = {
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


class _Abort(Exception):
    """Stops the walk after a problem that makes the rest meaningless (a bomb, a cycle)."""


class _Walker:
    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.lines = problems.lines
        self.nodes = 0
        self.stack: set[int] = set()
        # One constructor resolves scalars exactly as yaml.safe_load would (ints, floats, bools).
        self.constructor = yaml.SafeLoader("")

    def walk(self, node: yaml.Node, path: Path) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self._fail(node, path, f"a document under {MAX_NODES} nodes", "remove repeated aliases")
        if id(node) in self.stack:
            self._fail(node, path, "a tree", "an alias refers to a node that contains it")
        self.lines.values[path] = node.start_mark.line + 1
        if node.tag not in _PLAIN_TAGS:
            self.problems.add(
                path,
                node.tag.replace("tag:yaml.org,2002:", "!!"),
                got_type="YAML tag",
                expected="plain YAML (mappings, lists, strings, numbers, booleans, null)",
                fix="remove the tag",
            )
            return INVALID
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        self.stack.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.walk(item, (*path, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, yaml.MappingNode)
            return self._mapping(node, path)
        finally:
            self.stack.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except Exception as exc:
            self.problems.add(
                path,
                node.value,
                got_type="unreadable scalar",
                expected=f"a value YAML can read ({type(exc).__name__})",
                fix="quote it or write a smaller number",
            )
            return INVALID

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.add(
                    path,
                    "<<",
                    got_type="merge key",
                    expected="fields written out (merge keys are not supported)",
                    fix="copy the fields instead of merging an anchor with <<",
                    line=key_line,
                )
                continue
            key = (
                self._scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else key_node
            )
            if not isinstance(key, str):
                # Show the key as written (`on`), not as YAML 1.1 read it (True).
                written = key_node.value if isinstance(key_node, yaml.ScalarNode) else "…"
                kind = type_name(key) if isinstance(key_node, yaml.ScalarNode) else "complex"
                self.problems.add(
                    path,
                    written,
                    got_type=f"{kind} key",
                    expected="field names that are strings",
                    fix=f"quote the key, e.g. '{written}': …",
                    line=key_line,
                )
                continue
            child = (*path, key)
            if key in out:
                self.problems.add(
                    child,
                    key,
                    got_type="duplicate key",
                    expected="each field once",
                    fix=f"remove one of the {key!r} entries (YAML keeps only the last)",
                    line=key_line,
                )
                continue
            self.lines.keys[child] = key_line
            out[key] = self.walk(value_node, child)
        return out

    def _fail(self, node: yaml.Node, path: Path, expected: str, fix: str) -> None:
        self.problems.add(
            path,
            "…",
            got_type="YAML structure",
            expected=expected,
            fix=fix,
            line=node.start_mark.line + 1,
        )
        raise _Abort


def parse_yaml(text: str, problems: Problems) -> Any:
    """The document's data (None after a syntax error, which is added to ``problems``)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        column = f" at column {mark.column + 1}" if mark is not None else ""
        context = f" ({exc.context})" if exc.problem and exc.context else ""
        problems.add(
            (),
            str(exc.problem or exc.context or "unreadable"),
            got_type="YAML syntax error",
            expected="valid YAML",
            fix=f"check the indentation, quoting and brackets{column}{context}",
            line=line,
        )
        return None
    except RecursionError:
        problems.add(
            (),
            "…",
            got_type="YAML syntax error",
            expected="nesting under ~900 levels",
            fix="flatten the document",
            line=1,
        )
        return None
    except Exception as exc:
        problems.add(
            (),
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            got_type="YAML syntax error",
            expected="valid YAML text",
            fix="remove control characters and check the encoding (UTF-8)",
            line=1,
        )
        return None
    if node is None:
        return None
    try:
        return _Walker(problems).walk(node, ())
    except _Abort:
        return None
    except RecursionError:
        problems.add(
            (),
            "…",
            got_type="YAML structure",
            expected="nesting under ~900 levels",
            fix="flatten the document",
            line=1,
        )
        return None
