//! chaosplane's compiled linearizability core: the two Wing–Gong–Lowe searches of
//! `harness/checker/wgl.py`, step for step, over flat arrays.
//!
//! In a nutshell: `check_keys` takes every key's ops as parallel arrays (kind, a, b, out,
//! call, ret; values interned to integers by the Python side), runs `search` and
//! `search_in_order` for each key interleaved in round-robin slices of `slice_steps` steps —
//! the same order and the same step counts as `linearizable._check`, so the same key fails
//! first — and returns the first key that is not linearizable, or valid, or which budget ran
//! out. Counterexamples are built in Python, on the invalid path only.
//!
//! Memo keys are (128-bit Zobrist hash of the completed ops placed, state), as in wgl.py: a
//! false hit needs a 128-bit collision. The pending ops placed are kept as bitsets over the
//! key's pending ops, for the subset test of `search`.

mod common;
mod inorder;
mod model;
mod search;

use common::{Op, Slice, NO_RET};
use inorder::InOrder;
use model::{KvTable, Model};
use pyo3::prelude::*;
use search::Search;
use std::time::{Duration, Instant};

enum Runner {
    First(Box<Search>),
    InOrder(Box<InOrder>),
}

impl Runner {
    fn run(&mut self, slice_steps: u64) -> Slice {
        match self {
            Runner::First(s) => s.run(slice_steps),
            Runner::InOrder(s) => s.run(slice_steps),
        }
    }
    fn memo_bytes(&self) -> usize {
        match self {
            Runner::First(s) => s.memo_bytes(),
            Runner::InOrder(s) => s.memo_bytes(),
        }
    }
}

/// (code, key, ok-path longest, stuck or -1, memo entries of the deciding search,
/// max memo entries, keys left); code 0 valid, 1 invalid, 2 time budget, 3 memory budget.
type Answer = (u8, i64, Vec<usize>, i64, usize, usize, Vec<usize>);

/// Check every key; see the module doc. `starts` has one entry per key plus the end.
/// `model`: 0 register (values are ids, `init` the id of null), 1 kv (`strings[id]`).
#[pyfunction]
#[pyo3(signature = (model, init, starts, kinds, a, b, out, call, ret, strings, slice_steps, time_budget_s, memory_budget_bytes))]
#[allow(clippy::too_many_arguments)]
fn check_keys(
    py: Python<'_>,
    model: u8,
    init: i64,
    starts: Vec<usize>,
    kinds: Vec<u8>,
    a: Vec<i64>,
    b: Vec<i64>,
    out: Vec<i64>,
    call: Vec<i64>,
    ret: Vec<i64>,
    strings: Vec<String>,
    slice_steps: u64,
    time_budget_s: f64,
    memory_budget_bytes: usize,
) -> PyResult<Answer> {
    let n = kinds.len();
    if [a.len(), b.len(), out.len(), call.len(), ret.len()]
        .iter()
        .any(|&l| l != n)
        || starts.windows(2).any(|w| w[0] > w[1])
        || starts.last().is_some_and(|&e| e != n)
    {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "check_keys: the op arrays differ in length or starts is not a partition",
        ));
    }
    let slice_steps = slice_steps.max(1);
    py.allow_threads(move || {
        let deadline = Instant::now() + Duration::from_secs_f64(time_budget_s.max(0.0));
        let make_model = || match model {
            0 => Model::Register { none: init },
            _ => Model::Kv(KvTable::new(&strings)),
        };
        // (key, variant) in the order linearizable._check creates them
        let mut runners: Vec<(usize, u8, Runner)> = Vec::new();
        let nkeys = starts.len().saturating_sub(1);
        for k in 0..nkeys {
            let (s, e) = (starts[k], starts[k + 1]);
            let ops: Vec<Op> = (s..e)
                .map(|j| Op {
                    kind: kinds[j],
                    a: a[j],
                    b: b[j],
                    out: out[j],
                })
                .collect();
            let calls = call[s..e].to_vec();
            let rets = &ret[s..e];
            if rets.contains(&NO_RET) {
                let first = Search::new(make_model(), init, ops.clone(), calls.clone(), rets);
                runners.push((k, 0, Runner::First(Box::new(first))));
            }
            let walk = InOrder::new(make_model(), init, ops, &calls, rets);
            runners.push((k, 1, Runner::InOrder(Box::new(walk))));
        }
        let mut alive: Vec<bool> = vec![true; runners.len()];
        let mut memo_bytes: Vec<usize> = vec![0; runners.len()];
        let mut entries: Vec<usize> = vec![0; runners.len()];
        let mut max_memo = 0usize;
        let mut left = runners.len();
        while left > 0 {
            for r in 0..runners.len() {
                if !alive[r] {
                    continue;
                }
                let key = runners[r].0;
                match runners[r].2.run(slice_steps) {
                    Slice::Yielded(m) => {
                        entries[r] = m;
                        memo_bytes[r] = runners[r].2.memo_bytes();
                    }
                    Slice::Done(o) => {
                        for s in 0..runners.len() {
                            if alive[s] && runners[s].0 == key {
                                alive[s] = false;
                                left -= 1;
                                entries[s] = 0;
                                memo_bytes[s] = 0;
                                // free the sibling's memo now
                                runners[s].2 = Runner::InOrder(Box::new(InOrder::new(
                                    Model::Register { none: 0 },
                                    0,
                                    Vec::new(),
                                    &[],
                                    &[],
                                )));
                            }
                        }
                        max_memo = max_memo.max(o.memo_entries);
                        if !o.ok {
                            let stuck = o.stuck.map_or(-1, |s| s as i64);
                            return Ok((
                                1,
                                key as i64,
                                o.longest,
                                stuck,
                                o.memo_entries,
                                max_memo,
                                Vec::new(),
                            ));
                        }
                    }
                }
                let total: usize = entries.iter().sum();
                max_memo = max_memo.max(total);
                let over_time = Instant::now() > deadline;
                let over_memory = memo_bytes.iter().sum::<usize>() > memory_budget_bytes;
                if over_time || over_memory {
                    let mut keys: Vec<usize> = (0..runners.len())
                        .filter(|&s| alive[s])
                        .map(|s| runners[s].0)
                        .collect();
                    keys.dedup();
                    let code = if over_time { 2 } else { 3 };
                    return Ok((code, -1, Vec::new(), -1, 0, max_memo, keys));
                }
            }
        }
        Ok((0, -1, Vec::new(), -1, 0, max_memo, Vec::new()))
    })
}

/// One `search` (wgl.search) over one key's ops, for the counterexample minimiser: 1
/// linearizable, 0 not, -1 undecided (it yielded `max_slices` times, or the time ran out).
#[pyfunction]
#[pyo3(signature = (model, init, kinds, a, b, out, call, ret, strings, slice_steps, max_slices, time_budget_s))]
#[allow(clippy::too_many_arguments)]
fn search_one(
    py: Python<'_>,
    model: u8,
    init: i64,
    kinds: Vec<u8>,
    a: Vec<i64>,
    b: Vec<i64>,
    out: Vec<i64>,
    call: Vec<i64>,
    ret: Vec<i64>,
    strings: Vec<String>,
    slice_steps: u64,
    max_slices: u64,
    time_budget_s: f64,
) -> PyResult<i8> {
    let n = kinds.len();
    if [a.len(), b.len(), out.len(), call.len(), ret.len()]
        .iter()
        .any(|&l| l != n)
    {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "search_one: the op arrays differ in length",
        ));
    }
    let slice_steps = slice_steps.max(1);
    Ok(py.allow_threads(move || {
        let deadline = Instant::now() + Duration::from_secs_f64(time_budget_s.max(0.0));
        let m = if model == 0 {
            Model::Register { none: init }
        } else {
            Model::Kv(KvTable::new(&strings))
        };
        let ops: Vec<Op> = (0..n)
            .map(|j| Op {
                kind: kinds[j],
                a: a[j],
                b: b[j],
                out: out[j],
            })
            .collect();
        let mut s = Search::new(m, init, ops, call, &ret);
        let mut slices = 0u64;
        loop {
            match s.run(slice_steps) {
                Slice::Done(o) => return i8::from(o.ok),
                Slice::Yielded(_) => {
                    slices += 1;
                    if slices > max_slices || Instant::now() > deadline {
                        return -1;
                    }
                }
            }
        }
    }))
}

/// A first, bounded try on every key: `search` with at most `steps_per_op` × ops +
/// `min_steps` steps; per key 1 linearizable, 0 not, -1 undecided within that.
#[pyfunction]
#[pyo3(signature = (model, init, starts, kinds, a, b, out, call, ret, strings, steps_per_op, min_steps))]
#[allow(clippy::too_many_arguments)]
fn quick_keys(
    py: Python<'_>,
    model: u8,
    init: i64,
    starts: Vec<usize>,
    kinds: Vec<u8>,
    a: Vec<i64>,
    b: Vec<i64>,
    out: Vec<i64>,
    call: Vec<i64>,
    ret: Vec<i64>,
    strings: Vec<String>,
    steps_per_op: u64,
    min_steps: u64,
) -> PyResult<Vec<i8>> {
    let n = kinds.len();
    if [a.len(), b.len(), out.len(), call.len(), ret.len()]
        .iter()
        .any(|&l| l != n)
        || starts.windows(2).any(|w| w[0] > w[1])
        || starts.last().is_some_and(|&e| e != n)
    {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "quick_keys: the op arrays differ in length or starts is not a partition",
        ));
    }
    Ok(py.allow_threads(move || {
        (0..starts.len().saturating_sub(1))
            .map(|k| {
                let (s, e) = (starts[k], starts[k + 1]);
                let m = if model == 0 {
                    Model::Register { none: init }
                } else {
                    Model::Kv(KvTable::new(&strings))
                };
                let ops: Vec<Op> = (s..e)
                    .map(|j| Op {
                        kind: kinds[j],
                        a: a[j],
                        b: b[j],
                        out: out[j],
                    })
                    .collect();
                let limit = steps_per_op
                    .saturating_mul((e - s) as u64)
                    .saturating_add(min_steps);
                let mut search = Search::new(m, init, ops, call[s..e].to_vec(), &ret[s..e]);
                match search.run(limit.max(2)) {
                    Slice::Done(o) => i8::from(o.ok),
                    Slice::Yielded(_) => -1,
                }
            })
            .collect()
    }))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(quick_keys, m)?)?;
    m.add_function(wrap_pyfunction!(check_keys, m)?)?;
    m.add_function(wrap_pyfunction!(search_one, m)?)?;
    m.add("CORE", "rust")?;
    Ok(())
}
