"""Whether an engine's container PIDs are this host's: checked in /proc, not guessed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.cluster.engine import engine_locality, pid_is_local

CID = "3f1c" + "a" * 60


def fake_proc(tmp_path: Path, pid: int, cgroup: str) -> Path:
    (tmp_path / str(pid)).mkdir()
    (tmp_path / str(pid) / "cgroup").write_text(cgroup, encoding="utf-8")
    return tmp_path


def test_the_containers_own_process_is_local(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, 4242, f"12:pids:/docker/{CID}\n1:name=systemd:/docker/{CID}\n")
    assert pid_is_local(CID, 4242, proc=proc)[0]
    proc = fake_proc(tmp_path, 7, f"3:memory:/chaosplane-engine2/{CID}\n")
    assert pid_is_local(CID, 7, proc=proc)[0]  # a --cgroup-parent prefix


def test_a_pid_this_host_does_not_have_is_remote(tmp_path: Path) -> None:
    local, reason = pid_is_local(CID, 4242, proc=tmp_path)
    assert not local and "does not exist on this host" in reason


def test_another_process_with_the_same_pid_is_remote(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, 4242, "12:pids:/user.slice/session-1.scope\n")
    local, reason = pid_is_local(CID, 4242, proc=proc)
    assert not local and "not container" in reason


def test_no_pid_is_not_local(tmp_path: Path) -> None:
    assert not pid_is_local(CID, 0, proc=tmp_path)[0]


class _Container:
    def __init__(self, cid: str, pid: int) -> None:
        self.id, self.attrs = cid, {"State": {"Pid": pid}}

    def reload(self) -> None:
        return None


class _Containers:
    def __init__(self, found: list[_Container]) -> None:
        self.found = found

    def list(self, **kwargs: Any) -> list[_Container]:
        return self.found


class _Client:
    def __init__(self, found: list[_Container]) -> None:
        self.containers = _Containers(found)


def test_engine_locality_checks_a_running_container() -> None:
    # This very process stands in for a container's init: its cgroup does not name CID.
    answer = engine_locality(_Client([_Container(CID, os.getpid())]))
    assert answer is not None and not answer.local
    assert engine_locality(_Client([])) is None
