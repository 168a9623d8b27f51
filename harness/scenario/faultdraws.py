"""The Hypothesis draws of the built-in fault kinds: one fault as a scenario-file entry.

In a nutshell: a built-in ``FaultKindSpec`` whose kind the search may draw names its ``draw``
here: ``draw(d, DrawContext(members=3, apiservers=2, hold_s=2.0))`` returns the entry without
``at`` (``{"partition": "halves", "for": "2s"}``), drawing through ``d`` (Hypothesis'
``DrawFn``) so shrinking works. ``harness.strategies`` samples the kinds that have a draw, in
registration order (the simplest first). Hypothesis is imported on the first draw only, so
loading scenarios never imports it.

    entry = kill_draw(draw, DrawContext(members=3, apiservers=2, hold_s=1.5))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn

FaultEntry = dict[str, Any]  # one fault as a scenario file writes it (without ``at``)


@dataclass(frozen=True, slots=True, kw_only=True)
class DrawContext:
    members: int  # store members
    apiservers: int
    hold_s: float  # how long the drawn fault lasts

    @property
    def hold(self) -> str:
        return f"{self.hold_s:g}s"

    @property
    def stores(self) -> list[str]:
        return [f"store-{i}" for i in range(1, self.members + 1)]

    @property
    def apis(self) -> list[str]:
        return [f"api-{i}" for i in range(1, self.apiservers + 1)]

    @property
    def links(self) -> list[str]:
        return ["client-api-*", *(f"api-{i}-store-*" for i in range(1, self.apiservers + 1))]


FaultDraw = Callable[["DrawFn", DrawContext], FaultEntry]


def partition_targets(members: int) -> list[str]:
    """Partition modes valid for ``members`` store members, simplest first."""
    targets = ["isolate-leader", *(f"isolate:store-{i}" for i in range(1, members + 1))]
    if members >= 2:
        targets.append("halves")
    if members >= 3:
        targets.append("majority-minority")
    if members >= 5:
        targets += ["bridge", "ring"]
    return targets


def partition_draw(draw: DrawFn, ctx: DrawContext) -> FaultEntry:
    from hypothesis import strategies as st

    return {"partition": draw(st.sampled_from(partition_targets(ctx.members))), "for": ctx.hold}


def kill_draw(draw: DrawFn, ctx: DrawContext) -> FaultEntry:
    from hypothesis import strategies as st

    target = draw(st.sampled_from(["store-leader", *ctx.stores, *ctx.apis]))
    return {"kill": target, "restart_after": ctx.hold}


def pause_draw(draw: DrawFn, ctx: DrawContext) -> FaultEntry:
    from hypothesis import strategies as st

    return {
        "pause": draw(st.sampled_from(["store-leader", *ctx.stores, *ctx.apis])),
        "for": ctx.hold,
    }


def toxic_draw(draw: DrawFn, ctx: DrawContext) -> FaultEntry:
    from hypothesis import strategies as st

    link = draw(st.sampled_from(ctx.links))
    toxic = draw(st.sampled_from(["latency", "timeout", "reset_peer"]))
    entry: FaultEntry = {"toxic": toxic, "link": link, "for": ctx.hold}
    if toxic == "latency":
        entry |= {
            "latency": f"{draw(st.integers(50, 400))}ms",
            "jitter": f"{draw(st.integers(0, 100))}ms",
        }
    else:
        entry["timeout"] = "0ms"
    return entry


def link_down_draw(draw: DrawFn, ctx: DrawContext) -> FaultEntry:
    from hypothesis import strategies as st

    return {"link-down": draw(st.sampled_from(ctx.links)), "for": ctx.hold}
