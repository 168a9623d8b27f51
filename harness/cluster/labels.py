"""Labels on every Docker object a run creates, and who owns them (alive or dead).

In a nutshell: each container and network carries ``chaosplane=1``, ``chaosplane.run=<run id>``
and ``chaosplane.owner=<boot id>:<pid>:<start time>``. A PID alone is reused; boot id + PID +
the process start time (field 22 of ``/proc/<pid>/stat``) names one process for ever, so the
reaper can tell a crashed runner's leftovers from a live run's objects. ``chaosplane up``
writes the owner ``detached:<run id>`` instead: such a cluster lives until ``chaosplane down``.

    owner = current_owner()                  # Owner(boot_id="…", pid=4242, start_time=123456)
    labels = run_labels("cp-1a2b3c4d", owner)
    owner_alive(parse_owner(labels[OWNER]))  # True while this process lives
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

KEY = "chaosplane"  # presence marks an object the reaper may remove
RUN = "chaosplane.run"
OWNER = "chaosplane.owner"
MEMBER = "chaosplane.member"
DETACHED_PREFIX = "detached:"

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")


@dataclass(frozen=True, slots=True, kw_only=True)
class Owner:
    """The process that owns a run's objects, or a detached marker (``pid`` 0)."""

    boot_id: str
    pid: int
    start_time: int
    detached_run: str | None = None

    def token(self) -> str:
        if self.detached_run is not None:
            return f"{DETACHED_PREFIX}{self.detached_run}"
        return f"{self.boot_id}:{self.pid}:{self.start_time}"


def new_run_id(prefix: str = "cp") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def boot_id() -> str:
    return BOOT_ID_PATH.read_text(encoding="ascii").strip()


def proc_start_time(pid: int, proc: Path = Path("/proc")) -> int | None:
    """Field 22 of ``/proc/<pid>/stat`` (clock ticks after boot), or None if no such process."""
    try:
        stat = (proc / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return parse_stat_start_time(stat)


def parse_stat_start_time(stat: str) -> int | None:
    # The command name (field 2) is in parentheses and may itself contain spaces and ")":
    # split after the *last* ")". Fields 3.. follow; start time is field 22.
    _, paren, rest = stat.rpartition(")")
    if not paren:
        return None
    fields = rest.split()
    index = 22 - 3
    if len(fields) <= index or not fields[index].isdigit():
        return None
    return int(fields[index])


def current_owner() -> Owner:
    pid = os.getpid()
    start = proc_start_time(pid)
    if start is None:  # /proc always has ourselves; this guards odd sandboxes
        raise RuntimeError(f"cannot read /proc/{pid}/stat")
    return Owner(boot_id=boot_id(), pid=pid, start_time=start)


def detached_owner(run_id: str) -> Owner:
    return Owner(boot_id="", pid=0, start_time=0, detached_run=run_id)


def parse_owner(token: str | None) -> Owner | None:
    """The owner named by a label value; None when the value is missing or malformed."""
    if not token:
        return None
    if token.startswith(DETACHED_PREFIX):
        run = token.removeprefix(DETACHED_PREFIX)
        return detached_owner(run) if run else None
    parts = token.split(":")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit() or not parts[0]:
        return None
    return Owner(boot_id=parts[0], pid=int(parts[1]), start_time=int(parts[2]))


def owner_alive(
    owner: Owner | None, *, this_boot: str | None = None, proc: Path = Path("/proc")
) -> bool:
    """Whether the owner still runs. Detached runs count as alive; unknown owners as dead."""
    if owner is None:
        return False
    if owner.detached_run is not None:
        return True
    if owner.boot_id != (this_boot if this_boot is not None else boot_id()):
        return False  # the machine rebooted since: every process of that boot is gone
    return proc_start_time(owner.pid, proc) == owner.start_time


def run_labels(run_id: str, owner: Owner) -> dict[str, str]:
    return {KEY: "1", RUN: run_id, OWNER: owner.token()}


def member_labels(run_id: str, owner: Owner, member: str) -> dict[str, str]:
    return {**run_labels(run_id, owner), MEMBER: member}
