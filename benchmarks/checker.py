"""Checker speed side by side with Porcupine: the shared corpus and generated register histories.

In a nutshell: one run prints, per history shape, our check time (parse apart) with the compiled
search core (``native``, harness/checker/native) and with the Python one (``python``, wgl.py;
their verdicts must agree or the run stops), Porcupine's,
and the whole-process wall time of ``chaosplane check`` against Porcupine's process on the same
files, with the ratios ours/Porcupine (≤ 1.0 is the goal, issue 18), the verdicts of both and
our peak RSS. Shapes: the 102 etcd histories of ``../shared/histories/porcupine`` (total, and the
median of the per-file ratios), its 6 kv histories, and seeded generated register histories
(``register_gen.py``: 200 to 100,000 ops, 1 to 200 keys, 2 % info; valid and invalid; "3,000 ops
one hot key"; "100,000 ops hard invalid": a stale read late on a key with many crashed ops).
Times are medians of ``--rounds`` alternating rounds.

Porcupine is not part of this repository and nothing here builds it: point ``PORCUPINE_BIN``
at an executable that takes ``[-timeout S] FILE...`` (our history.jsonl format) and prints one
JSON line per file with ``verdict`` and ``check_s``; without it the Porcupine columns are
skipped. Its memory is capped (``--porcupine-max-gib``) so a blow-up cannot take the machine.

    PORCUPINE_BIN=/tmp/porcupine-bench/pcheck .venv/bin/python benchmarks/checker.py
    .venv/bin/python benchmarks/checker.py --only generated --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.register_gen import Shape, generate, write_jsonl
from harness.checker import LinearizabilityOptions, check_linearizable
from harness.checker.lean import read_paired
from harness.checker.searchcore import CORE_ENV, native_core

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CHAOSPLANE_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "histories" / "porcupine"
OPTIONS = LinearizabilityOptions(time_budget_s=300)
_MAIN = "import sys; from harness.cli import main; sys.exit(main())"

GENERATED = [
    ("200 ops, 1 key", Shape(ops=200, keys=1, clients=5, seed=11)),
    ("200 ops, 1 key, invalid", Shape(ops=200, keys=1, clients=5, invalid=True, seed=11)),
    ("5,000 ops, 20 keys", Shape(ops=5_000, keys=20, clients=10, seed=12)),
    ("5,000 ops, 20 keys, invalid", Shape(ops=5_000, keys=20, clients=10, invalid=True, seed=12)),
    ("20,000 ops, 200 keys", Shape(ops=20_000, keys=200, clients=30, seed=13)),
    (
        "20,000 ops, 200 keys, invalid",
        Shape(ops=20_000, keys=200, clients=30, invalid=True, seed=13),
    ),
    ("3,000 ops, one hot key", Shape(ops=3_000, keys=1, clients=10, seed=14)),
    ("100,000 ops, 100 keys", Shape(ops=100_000, keys=100, clients=30, seed=15)),
    (
        "100,000 ops, 100 keys, invalid",
        Shape(ops=100_000, keys=100, clients=30, invalid=True, seed=15),
    ),
    (
        "100,000 ops, hard invalid",
        Shape(ops=100_000, keys=100, clients=30, invalid=True, hot_info_per_mille=300, seed=16),
    ),
]


@dataclass(slots=True, kw_only=True)
class Row:
    name: str
    files: list[Path]
    ops: int = 0
    ours_verdict: str = ""
    ours_parse_s: list[float] = field(default_factory=list)
    ours_check_s: list[float] = field(default_factory=list)  # the default core (native if built)
    python_check_s: list[float] = field(default_factory=list)  # CHAOSPLANE_CHECKER_CORE=python
    ours_proc_s: list[float] = field(default_factory=list)
    ours_rss_mib: float = 0.0
    porc_verdict: str = ""
    porc_check_s: list[float] = field(default_factory=list)
    porc_proc_s: list[float] = field(default_factory=list)
    per_file: list[tuple[float, float]] = field(default_factory=list)  # (ours, porcupine) check


def ours_in_process(row: Row) -> list[float]:
    """Parse and check each file here with the default core, then check it again with the
    Python core (same verdict and failing key, else the run stops); returns the default
    core's per-file check seconds."""
    parse = check = python = 0.0
    verdicts = []
    per_file = []
    for path in row.files:
        t0 = time.perf_counter()
        history = read_paired(path)
        t1 = time.perf_counter()
        result = check_linearizable(history.paired.calls, OPTIONS)
        t2 = time.perf_counter()
        os.environ[CORE_ENV] = "python"
        try:
            t3 = time.perf_counter()
            slow = check_linearizable(history.paired.calls, OPTIONS)
            python += time.perf_counter() - t3
        finally:
            del os.environ[CORE_ENV]
        if (slow.verdict, slow.details.get("key")) != (result.verdict, result.details.get("key")):
            raise SystemExit(f"{path}: cores disagree: {result.reason} / {slow.reason}")
        parse += t1 - t0
        check += t2 - t1
        per_file.append(t2 - t1)
        verdicts.append(result.verdict.value)
    row.ours_parse_s.append(parse)
    row.ours_check_s.append(check)
    row.python_check_s.append(python)
    row.ours_verdict = _summary(verdicts)
    return per_file


def timed_process(
    argv: list[str], *, max_bytes: int | None = None, env: dict[str, str] | None = None
) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and stdout of one child process."""

    def limit() -> None:
        if max_bytes is not None:
            resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))

    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, preexec_fn=limit, env=env
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _pid, _status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS
    seconds = time.perf_counter() - t0
    proc.returncode = 0
    return seconds, usage.ru_maxrss / 1024, out.decode()


def _bytecode_env() -> dict[str, str]:
    """The environment for our child processes: bytecode cached, as an installed package has
    it. Where ``PYTHONDONTWRITEBYTECODE`` is set (this machine's shells) an editable install
    has no ``.pyc`` for our modules, and every ``chaosplane check`` compiles them again
    (≈ 0.3 s measured); so they are compiled once here and the variable is dropped."""
    import compileall

    compileall.compile_dir(str(ROOT / "harness"), quiet=1)
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


_ENV: dict[str, str] | None = None


def ours_process(row: Row) -> None:
    global _ENV
    if _ENV is None:
        _ENV = _bytecode_env()
    script = Path(sys.executable).parent / "chaosplane"  # the installed entry point users run
    head = [str(script)] if script.exists() else [sys.executable, "-c", _MAIN]
    argv = [*head, "check", "--no-write"]
    seconds, rss, out = timed_process([*argv, *map(str, row.files)], env=_ENV)
    row.ours_proc_s.append(seconds)
    row.ours_rss_mib = max(row.ours_rss_mib, rss)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    got = [line["checks"]["linearizable"]["verdict"] for line in lines]
    if _summary(got) != row.ours_verdict:
        raise SystemExit(f"{row.name}: in-process {row.ours_verdict} but CLI {_summary(got)}")


def porcupine(row: Row, binary: str, timeout_s: float, max_gib: float) -> list[float]:
    argv = [binary, "-timeout", str(timeout_s), *map(str, row.files)]
    seconds, _rss, out = timed_process(argv, max_bytes=int(max_gib * 2**30))
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if len(lines) < len(row.files):
        row.porc_verdict = f"crashed ({len(lines)}/{len(row.files)} files; memory cap?)"
        row.porc_proc_s.append(seconds)
        row.porc_check_s.append(float("nan"))
        return []
    row.porc_proc_s.append(seconds)
    row.porc_check_s.append(sum(line["check_s"] for line in lines))
    row.porc_verdict = _summary([line["verdict"] for line in lines])
    return [float(line["check_s"]) for line in lines]


def _summary(verdicts: list[str]) -> str:
    if len(verdicts) == 1:
        return verdicts[0]
    counts = {v: verdicts.count(v) for v in sorted(set(verdicts))}
    return " ".join(f"{n} {v}" for v, n in counts.items())


def corpus_rows() -> list[Row]:
    verdicts = CORPUS / "verdicts.tsv"
    if not verdicts.is_file():
        print(f"# corpus skipped: {verdicts} not found (set CHAOSPLANE_SHARED)")
        return []
    lines = verdicts.read_text(encoding="utf-8").splitlines()
    head = lines[0].split("\t")
    rows = [dict(zip(head, line.split("\t"), strict=False)) for line in lines[1:]]
    rows = [r for r in rows if r["verdict"] in ("linearizable", "not-linearizable")]
    etcd = [CORPUS / r["jsonl"] for r in rows if r["history"].startswith("etcd_")]
    kv = [CORPUS / r["jsonl"] for r in rows if not r["history"].startswith("etcd_")]
    out = [Row(name=f"{len(etcd)} etcd histories", files=etcd)]
    out += [Row(name=f"kv {p.stem}", files=[p]) for p in kv]
    return out


def generated_rows(folder: Path, only_small: bool) -> list[Row]:
    rows = []
    for name, shape in GENERATED:
        if only_small and shape.ops > 20_000:
            continue
        path = folder / (name.replace(",", "").replace(" ", "-") + ".jsonl")
        write_jsonl(generate(shape), path)
        rows.append(Row(name=name, files=[path]))
    return rows


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _ratio(a: float, b: float) -> str:
    return "—" if not b or b != b or a != a else f"{a / b:.2f}"


def print_table(rows: list[Row], have_porcupine: bool) -> None:
    head = (
        f"{'history':32} {'verdict ours / porcupine':40} {'parse':>7} {'native':>8} "
        f"{'python':>8} {'porc':>8} {'ratio':>6} {'proc':>7} {'porc':>7} {'ratio':>6} "
        f"{'RSS MiB':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        ours_c, porc_c = _median(r.ours_check_s), _median(r.porc_check_s)
        ours_p, porc_p = _median(r.ours_proc_s), _median(r.porc_proc_s)
        verdict = f"{r.ours_verdict} / {r.porc_verdict if have_porcupine else '—'}"
        print(
            f"{r.name:32} {verdict[:40]:40} {_median(r.ours_parse_s):7.3f} {ours_c:8.4f} "
            f"{_median(r.python_check_s):8.4f} {porc_c:8.4f} {_ratio(ours_c, porc_c):>6} "
            f"{ours_p:7.3f} {porc_p:7.3f} {_ratio(ours_p, porc_p):>6} {r.ours_rss_mib:8.1f}"
        )
        if len(r.files) > 1 and r.per_file:
            ratios = [o / p for o, p in r.per_file if p > 0]
            print(f"{'':32} median per-file check ratio ours/porcupine: {_median(ratios):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["corpus", "generated"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--small", action="store_true", help="generated shapes ≤ 20,000 ops only")
    parser.add_argument("--porcupine-timeout-s", type=float, default=60.0)
    parser.add_argument("--porcupine-max-gib", type=float, default=6.0)
    args = parser.parse_args()
    binary = os.environ.get("PORCUPINE_BIN", "")
    have_porcupine = bool(binary) and os.access(binary, os.X_OK)
    if not have_porcupine:
        print("# Porcupine columns skipped: set PORCUPINE_BIN to its checker executable")
    core = "native (compiled)" if native_core() is not None else "python (native core not built)"
    print(f"# our default core: {core}; ratio columns: default core / Porcupine")
    print(f"# load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="chaosplane-bench-") as tmp:
        rows: list[Row] = []
        if args.only in (None, "corpus"):
            rows += corpus_rows()
        if args.only in (None, "generated"):
            rows += generated_rows(Path(tmp), args.small)
        for row in rows:
            row.ops = sum(1 for p in row.files for _ in p.open(encoding="utf-8"))
            for k in range(args.rounds):
                ours = ours_in_process(row)
                ours_process(row)
                # Porcupine on a hard history runs to its timeout: once is enough
                if have_porcupine and (
                    k == 0 or (row.porc_check_s and _median(row.porc_check_s) < 10)
                ):
                    porc = porcupine(row, binary, args.porcupine_timeout_s, args.porcupine_max_gib)
                    if k == 0 and porc:
                        row.per_file = list(zip(ours, porc, strict=True))
            print(f"# done: {row.name} ({row.ops} records)", file=sys.stderr, flush=True)
    print(f"# load average after: {os.getloadavg()}")
    print_table(rows, have_porcupine)


if __name__ == "__main__":
    main()
