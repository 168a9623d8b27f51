"""Owner tokens and labels: parsing, liveness (boot id + PID + start time), detached runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cluster import labels as L


def test_start_time_is_field_22_even_when_the_command_name_has_spaces_and_parens() -> None:
    rest = " ".join(str(n) for n in range(3, 53))  # fields 3..52 hold their own number
    assert L.parse_stat_start_time(f"4242 (evil) name) ) {rest}") == 22
    assert L.parse_stat_start_time("4242 (python3) S 1 2") is None  # truncated
    assert L.parse_stat_start_time("garbage") is None


def test_current_owner_round_trips_through_its_token() -> None:
    owner = L.current_owner()
    assert owner.pid == os.getpid()
    assert L.parse_owner(owner.token()) == owner


@pytest.mark.parametrize(
    "token", [None, "", "x", "a:b:c", "boot:12", "boot:12:x", ":1:2", "detached:", "a:1:2:3"]
)
def test_malformed_owner_tokens_parse_to_none(token: str | None) -> None:
    assert L.parse_owner(token) is None


def test_this_process_is_alive_and_a_changed_start_time_or_boot_is_dead() -> None:
    owner = L.current_owner()
    assert L.owner_alive(owner)
    reused_pid = L.Owner(boot_id=owner.boot_id, pid=owner.pid, start_time=owner.start_time + 1)
    assert not L.owner_alive(reused_pid)
    other_boot = L.Owner(boot_id="another-boot", pid=owner.pid, start_time=owner.start_time)
    assert not L.owner_alive(other_boot)
    assert not L.owner_alive(None)


def test_an_exited_process_is_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    start = L.proc_start_time(child.pid)
    assert start is not None
    owner = L.Owner(boot_id=L.boot_id(), pid=child.pid, start_time=start)
    assert L.owner_alive(owner)
    child.kill()
    child.wait()
    assert not L.owner_alive(owner)


def test_owner_alive_reads_the_given_proc_tree(tmp_path: Path) -> None:
    rest = " ".join(["0"] * 19 + ["777"] + ["0"] * 10)  # field 22 = 777
    (tmp_path / "99").mkdir()
    (tmp_path / "99" / "stat").write_text(f"99 (x) {rest}")
    owner = L.Owner(boot_id="b", pid=99, start_time=777)
    assert L.owner_alive(owner, this_boot="b", proc=tmp_path)
    assert not L.owner_alive(
        L.Owner(boot_id="b", pid=98, start_time=777), this_boot="b", proc=tmp_path
    )


def test_detached_owner_counts_as_alive_and_names_its_run() -> None:
    owner = L.detached_owner("cp-12345678")
    assert owner.token() == "detached:cp-12345678"
    assert L.parse_owner(owner.token()) == owner
    assert L.owner_alive(owner, this_boot="whatever")


def test_run_and_member_labels_carry_the_reaper_keys() -> None:
    owner = L.Owner(boot_id="b", pid=1, start_time=2)
    labels = L.member_labels("cp-1", owner, "store-1")
    assert labels == {
        "chaosplane": "1",
        "chaosplane.run": "cp-1",
        "chaosplane.owner": "b:1:2",
        "chaosplane.member": "store-1",
    }
    assert L.new_run_id() != L.new_run_id()
    assert L.new_run_id().startswith("cp-")
