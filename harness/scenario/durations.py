"""Durations in scenario files: ``500ms``, ``5s``, ``1m``, ``1.5h``, ``20us`` or seconds.

In a nutshell: ``parse_duration`` turns what a file says into float seconds or raises
``DurationError`` with the reason; ``format_duration`` writes seconds back in the shortest form
that parses to exactly the same float (so dumped scenarios round-trip).

    parse_duration("500ms") == 0.5;  parse_duration(3) == 3.0;  format_duration(0.5) == "500ms"
"""

from __future__ import annotations

import math
import re

UNITS_S: dict[str, float] = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
# Long enough for any soak test, short enough that float seconds stay exact to the microsecond.
MAX_DURATION_S = 7 * 24 * 3600.0
DURATION_PATTERN = r"^-?[0-9]+(\.[0-9]+)?(us|ms|s|m|h)$"
_DURATION_RE = re.compile(r"^\s*(-?)([0-9]+(?:\.[0-9]+)?)\s*(us|ms|s|m|h)\s*$")
_UNIT_DIVISORS: dict[str, int] = {"us": 1_000_000, "ms": 1000}


class DurationError(ValueError):
    """Why a value is not a duration, in a few words ("negative", "no unit", …)."""


def parse_duration(value: object, *, unit_required: bool = False) -> float:
    """Seconds from ``value``; numbers are seconds unless ``unit_required`` forbids them."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise DurationError("it is not a duration")
    if isinstance(value, int | float):
        if unit_required:
            raise DurationError("it has no unit")
        try:
            seconds = float(value)
        except OverflowError:
            raise DurationError("it is over 7 days") from None
    else:
        match = _DURATION_RE.match(value)
        if match is None:
            raise DurationError("units are us, ms, s, m, h")
        sign, number, unit = match.groups()
        if unit in _UNIT_DIVISORS:
            # Divide rather than multiply by 1e-3 so "100ms" is exactly the float 0.1.
            seconds = float(number) / _UNIT_DIVISORS[unit]
        else:
            seconds = float(number) * UNITS_S[unit]
        if sign:
            seconds = -seconds
    if not math.isfinite(seconds):
        raise DurationError("it is not finite")
    if seconds < 0:
        raise DurationError("it is negative")
    if seconds > MAX_DURATION_S:
        raise DurationError("it is over 7 days")
    return seconds


def format_duration(seconds: float) -> str | float:
    """``0.5`` → ``"500ms"``, ``5.0`` → ``"5s"``, ``90.0`` → ``"90s"``; otherwise the number."""
    for unit, divisor in (("s", 1), ("ms", 1000), ("us", 1_000_000)):
        scaled = seconds * divisor
        if scaled == int(scaled) and float(int(scaled)) / divisor == seconds:
            return f"{int(scaled)}{unit}"
    return seconds


def format_in_unit(amount: int, unit: str) -> str:
    """A whole amount of ``ms`` or ``us`` (Toxiproxy attributes) as a duration string."""
    return f"{amount}{unit}"


def to_whole_unit(seconds: float, unit: str) -> int | None:
    """``seconds`` as a whole number of ``unit`` (``ms``/``us``), or None if it is not whole."""
    amount = seconds * _UNIT_DIVISORS[unit]
    rounded = round(amount)
    return rounded if math.isclose(amount, rounded, rel_tol=0, abs_tol=1e-6) else None
