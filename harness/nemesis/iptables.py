"""iptables in a container's network namespace, driven from the host with ``nsenter``.

In a nutshell: ``render_rules`` turns "drop these sources (some only with probability p)" into
one ``iptables-restore --noflush`` text for the chain ``CHAOSPLANE-IN``; declaring the chain in
the input flushes it, so each apply replaces the whole rule set atomically and an empty rule set
heals. ``Netns`` runs commands in a member's netns with the
host's binaries (2 ms a call; the container needs no NET_ADMIN and no iptables).

    netns = Netns()
    netns.restore(pid, render_rules([DropRule(source_ip="10.201.7.12")]), install_hook=True)
    netns.counters(pid)  # → [RuleCounter(source_ip="10.201.7.12", packets=17, ...)]
"""

from __future__ import annotations

import enum
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from harness.errors import FaultError

CHAIN = "CHAOSPLANE-IN"

# One shell line that creates the chain and jumps to it exactly once: a jump inserted twice runs
# every rule twice (a 30 % loss became 66 %, notes §4.1). ``-w`` waits for the xtables lock.
HOOK_SCRIPT = (
    f"iptables -w -N {CHAIN} 2>/dev/null; "
    f"iptables -w -C INPUT -j {CHAIN} 2>/dev/null || iptables -w -I INPUT 1 -j {CHAIN}"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DropRule:
    source_ip: str
    probability: float | None = None  # None: drop every packet; else random loss
    source_port: int | None = None  # TCP only: one Toxiproxy link of the proxy's many


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleCounter:
    source_ip: str
    packets: int
    bytes: int
    probability: float | None = None
    source_port: int | None = None


def render_rules(rules: Sequence[DropRule]) -> str:
    """The ``iptables-restore --noflush`` input that makes ``CHAIN`` exactly ``rules``."""
    lines = ["*filter", f":{CHAIN} - [0:0]"]
    for rule in rules:
        line = f"-A {CHAIN} -s {rule.source_ip}/32"
        if rule.source_port is not None:
            line += f" -p tcp -m tcp --sport {rule.source_port}"
        if rule.probability is not None:
            if not 0.0 < rule.probability <= 1.0:
                raise FaultError(f"loss probability must be in (0, 1], got {rule.probability}")
            line += f" -m statistic --mode random --probability {rule.probability:.6f}"
        lines.append(line + " -j DROP")
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def parse_counters(listing: str) -> list[RuleCounter]:
    """Parse ``iptables -L CHAOSPLANE-IN -v -n -x``: one counter per DROP rule, in order."""
    out: list[RuleCounter] = []
    for line in listing.splitlines():
        fields = line.split()
        # pkts bytes target prot opt in out source destination [extra...]
        if len(fields) < 9 or fields[2] != "DROP" or not fields[0].isdigit():
            continue
        probability = None
        if "probability" in fields:
            probability = float(fields[fields.index("probability") + 1])
        source_port = None
        sport = [f for f in fields if f.startswith("spt:")]
        if sport:
            source_port = int(sport[0].removeprefix("spt:"))
        out.append(
            RuleCounter(
                source_ip=fields[7].removesuffix("/32"),
                packets=int(fields[0]),
                bytes=int(fields[1]),
                probability=probability,
                source_port=source_port,
            )
        )
    return out


class ProbeResult(enum.StrEnum):
    CONNECTED = "connected"
    REFUSED = "refused"  # the packets got there: no partition in between
    TIMEOUT = "timeout"  # silence: what a DROP looks like


class CommandRunner(Protocol):
    """Runs argv with optional stdin; returns ``(exit code, stdout + stderr)``. Fakes in tests."""

    def __call__(self, argv: list[str], stdin: str | None, timeout_s: float) -> tuple[int, str]: ...


def run_subprocess(argv: list[str], stdin: str | None, timeout_s: float) -> tuple[int, str]:
    try:
        done = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise FaultError(f"{' '.join(argv)}: no answer within {timeout_s} s") from exc
    return done.returncode, done.stdout + done.stderr


class Netns:
    """Commands in a container's network namespace (``nsenter -t <pid> -n``), host binaries."""

    def __init__(self, runner: CommandRunner = run_subprocess, *, timeout_s: float = 5.0) -> None:
        self._run = runner
        self.timeout_s = timeout_s

    def _nsenter(self, pid: int, argv: list[str], stdin: str | None = None) -> tuple[int, str]:
        return self._run(["nsenter", "-t", str(pid), "-n", *argv], stdin, self.timeout_s)

    def restore(self, pid: int, rules_text: str, *, install_hook: bool) -> None:
        """Replace the chain atomically; with ``install_hook`` also create it and jump to it once
        (in the same call, so a fresh netns costs one fork, not three)."""
        if install_hook:
            argv = ["sh", "-c", f"{HOOK_SCRIPT} && iptables-restore -w --noflush"]
        else:
            argv = ["iptables-restore", "-w", "--noflush"]
        code, out = self._nsenter(pid, argv, rules_text)
        if code != 0:
            raise FaultError(
                f"iptables-restore in netns of pid {pid} failed ({code}): {out.strip()}"
            )

    def counters(self, pid: int) -> list[RuleCounter]:
        code, out = self._nsenter(pid, ["iptables", "-w", "-L", CHAIN, "-v", "-n", "-x"])
        if code != 0:
            return []  # no chain: nothing was ever applied in this netns
        return parse_counters(out)

    def tcp_probe(self, pid: int, ip: str, port: int, *, timeout_s: float = 0.5) -> ProbeResult:
        """Open a TCP connection from inside ``pid``'s netns to ``ip:port``. A dropped SYN (or
        SYN-ACK) shows as ``TIMEOUT``; a reachable host with no listener as ``REFUSED``."""
        code, _ = self._run(
            [
                "nsenter",
                "-t",
                str(pid),
                "-n",
                "timeout",
                str(timeout_s),
                "bash",
                "-c",
                f"exec 3<>/dev/tcp/{ip}/{port} 2>/dev/null",
            ],
            None,
            timeout_s + 2.0,
        )
        if code == 0:
            return ProbeResult.CONNECTED
        return ProbeResult.TIMEOUT if code == 124 else ProbeResult.REFUSED
