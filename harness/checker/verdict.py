"""Three-valued verdicts and the ``verdicts.json`` shape.

In a nutshell: every checker returns a ``CheckResult`` (valid / invalid / unknown, a one-line
reason, JSON-able details); ``RunVerdicts`` gathers them by name and derives ``overall`` by the
ARCHITECTURE rule: invalid if any check is invalid, else unknown if any is unknown, else valid.

    r = CheckResult(verdict=Verdict.INVALID, reason="read 3 of k1 cannot be ordered")
    RunVerdicts.of({"linearizable": r}).to_json()["overall"]  # "invalid"
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Verdict(enum.StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNKNOWN = "unknown"  # the checker could not decide: budget, crash, bad or inadequate input


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """Invalid wins over unknown, unknown over valid; no verdicts at all is unknown."""
    seen = set(verdicts)
    if Verdict.INVALID in seen:
        return Verdict.INVALID
    if Verdict.UNKNOWN in seen or not seen:
        return Verdict.UNKNOWN
    return Verdict.VALID


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    verdict: Verdict
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict.value, "reason": self.reason, "details": self.details}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> CheckResult:
        return cls(
            verdict=Verdict(d["verdict"]),
            reason=str(d.get("reason", "")),
            details=dict(d.get("details") or {}),
        )

    @classmethod
    def valid(cls, reason: str = "", **details: Any) -> CheckResult:
        return cls(verdict=Verdict.VALID, reason=reason, details=details)

    @classmethod
    def invalid(cls, reason: str, **details: Any) -> CheckResult:
        return cls(verdict=Verdict.INVALID, reason=reason, details=details)

    @classmethod
    def unknown(cls, reason: str, **details: Any) -> CheckResult:
        return cls(verdict=Verdict.UNKNOWN, reason=reason, details=details)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunVerdicts:
    overall: Verdict
    checks: dict[str, CheckResult]

    @classmethod
    def of(cls, checks: Mapping[str, CheckResult]) -> RunVerdicts:
        return cls(overall=combine(c.verdict for c in checks.values()), checks=dict(checks))

    def to_json(self) -> dict[str, Any]:
        return {
            "overall": self.overall.value,
            "checks": {name: c.to_json() for name, c in self.checks.items()},
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RunVerdicts:
        checks = {str(k): CheckResult.from_json(v) for k, v in (d.get("checks") or {}).items()}
        return cls(overall=Verdict(d["overall"]), checks=checks)
