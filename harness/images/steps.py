"""Progress for long build steps: a rich spinner while a step runs, a timed line when it ends.

In a nutshell: ``with steps.step("debootstrap bookworm"):`` shows a spinner on a terminal and
prints ``✓ debootstrap bookworm  43.1 s`` (or ``✗ …``) afterwards; every finished step is kept
in ``steps.timings_s`` so benchmarks and the CLI can report them.

    steps = Steps(Console(stderr=True))
    with steps.step("import base image"): ...
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console


class Steps:
    def __init__(self, console: Console | None = None, *, quiet: bool = False) -> None:
        self.console = console or Console(stderr=True)
        self.quiet = quiet
        self.timings_s: dict[str, float] = {}

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        started = time.monotonic()
        ok = False
        try:
            if self.quiet or not self.console.is_terminal:
                yield
            else:
                with self.console.status(f"{label} …"):
                    yield
            ok = True
        finally:
            elapsed_s = time.monotonic() - started
            self.timings_s[label] = elapsed_s
            if not self.quiet:
                mark = "[green]✓[/]" if ok else "[red]✗[/]"
                self.console.print(f"{mark} {label}  [dim]{elapsed_s:.1f} s[/]", highlight=False)

    def note(self, text: str) -> None:
        if not self.quiet:
            self.console.print(f"  {text}", highlight=False)
