"""The operation record every part of the harness shares; imports nothing else of ours.

In a nutshell: workloads append ``Op`` records to a ``JsonlWriter`` (streamed, flushed at least
every 100 ms, so a SIGKILLed run leaves a valid file up to its last flush); the nemesis appends
``FaultEvent`` records; probes append ``StatusSample`` records; checkers and reports read them
back with ``read_ops`` / ``read_faults`` / ``read_status``, which tolerate a torn last line.

    with JsonlWriter(run_dir.history) as w:
        w.write(Op(index=0, time=clock.now_ns(), process=3, type=OpType.INVOKE, f="read", key="k1"))
"""

from harness.history.jsonl import JsonlWriter, read_jsonl
from harness.history.progress import CutShort, cut_short, mark_finished, mark_running
from harness.history.records import (
    CLASS_KEY,
    FaultEvent,
    FaultPhase,
    Op,
    OpType,
    StatusSample,
    read_faults,
    read_ops,
    read_status,
)
from harness.history.rundir import RunDir

__all__ = [
    "CLASS_KEY",
    "CutShort",
    "FaultEvent",
    "FaultPhase",
    "JsonlWriter",
    "Op",
    "OpType",
    "RunDir",
    "StatusSample",
    "cut_short",
    "mark_finished",
    "mark_running",
    "read_faults",
    "read_jsonl",
    "read_ops",
    "read_status",
]
