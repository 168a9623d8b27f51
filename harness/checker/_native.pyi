"""Types of the compiled checker core (harness/checker/native/src/lib.rs)."""

from typing import Final

CORE: Final[str]

def check_keys(
    model: int,
    init: int,
    starts: list[int],
    kinds: list[int],
    a: list[int],
    b: list[int],
    out: list[int],
    call: list[int],
    ret: list[int],
    strings: list[str],
    slice_steps: int,
    time_budget_s: float,
    memory_budget_bytes: int,
) -> tuple[int, int, list[int], int, int, int, list[int]]: ...
def search_one(
    model: int,
    init: int,
    kinds: list[int],
    a: list[int],
    b: list[int],
    out: list[int],
    call: list[int],
    ret: list[int],
    strings: list[str],
    slice_steps: int,
    max_slices: int,
    time_budget_s: float,
) -> int: ...
def quick_keys(
    model: int,
    init: int,
    starts: list[int],
    kinds: list[int],
    a: list[int],
    b: list[int],
    out: list[int],
    call: list[int],
    ret: list[int],
    strings: list[str],
    steps_per_op: int,
    min_steps: int,
) -> list[int]: ...
