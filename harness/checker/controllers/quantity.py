"""Kubernetes resource quantities ("100m", "1Gi", "2", "1e3") as floats.

In a nutshell: ``parse_quantity("250m") == 0.25``, ``parse_quantity("1Ki") == 1024``; the
suffixes are those of apimachinery's ``resource.Quantity`` (decimal SI k M G T P E, binary
Ki Mi Gi Ti Pi Ei, milli m, and decimal exponents). A value that is not a quantity raises
``ValueError`` naming it.
"""

from __future__ import annotations

import re
from typing import Any

_SUFFIX = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "Ei": 2.0**60,
}
_RE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE]))?$")


def parse_quantity(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"quantity: got {value!r}; expected a number or a string like '250m'")
    if isinstance(value, int | float):
        return float(value)
    m = _RE.match(str(value).strip())
    if m is None:
        raise ValueError(f"quantity: got {value!r}; expected e.g. '250m', '2', '128Mi', '1e3'")
    number, exponent, suffix = m.groups()
    if exponent:
        return float(number + exponent)
    return float(number) * _SUFFIX[suffix or ""]
