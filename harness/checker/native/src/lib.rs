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

use pyo3::prelude::*;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

// Op kinds, as models.py numbers them.
const READ: u8 = 0;
const WRITE: u8 = 1;
const CAS: u8 = 2;
// DELETE = 3: the register's last arm
const GET: u8 = 4;
const PUT: u8 = 5;
// APPEND = 6

/// `out` code for "any output accepted" (models.UNKNOWN); a cas/delete out is 1/0 (True/False).
const UNKNOWN: i64 = -1;
/// `ret` code for a return never observed (+∞).
const NO_RET: i64 = i64::MAX;
const SUBSUME_MAX: usize = 8;

type State = i64;
const REJECT: State = i64::MIN;

/// A multiplicative hasher: the keys are Zobrist hashes already, so mixing is all it needs.
#[derive(Default)]
struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(26) ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_i64(&mut self, v: i64) {
        self.write_u64(v as u64)
    }
    fn write_u128(&mut self, v: u128) {
        self.write_u64(v as u64);
        self.write_u64((v >> 64) as u64);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64)
    }
}

type Mix = BuildHasherDefault<MixHasher>;

/// The sequential specification: `register` (states are value ids, 0 = absent) or `kv`
/// (states are string ids; an append's result is interned by the content hash of the string,
/// computed from its parts — two polynomial hashes modulo 2^61−1 and the length — so no string
/// is ever built or compared: a false merge needs both hashes to collide).
enum Model {
    Register { none: i64 },
    Kv(KvTable),
}

const M61: u64 = (1 << 61) - 1;
const BASES: [u64; 2] = [0x1F35_A7BD_3C0E_91F3 % M61, 0x0D6E_8FEB_8666_8FD5 % M61];

fn mulmod(x: u64, y: u64) -> u64 {
    let p = u128::from(x) * u128::from(y);
    let r = ((p as u64) & M61) + ((p >> 61) as u64);
    if r >= M61 {
        r - M61
    } else {
        r
    }
}

fn addmod(x: u64, y: u64) -> u64 {
    let r = x + y;
    if r >= M61 {
        r - M61
    } else {
        r
    }
}

/// (hash under each base, length) of a string.
type Digest = (u64, u64, u64);

struct KvTable {
    digest: Vec<Digest>,
    pow: Vec<[u64; 2]>, // base^len of each id, for appending it
    ids: HashMap<Digest, i64, Mix>,
}

impl KvTable {
    fn new(strings: &[String]) -> KvTable {
        let mut t = KvTable { digest: Vec::new(), pow: Vec::new(), ids: HashMap::default() };
        for s in strings {
            let mut h = [0u64; 2];
            let mut p = [1u64; 2];
            for &byte in s.as_bytes() {
                for k in 0..2 {
                    h[k] = addmod(mulmod(h[k], BASES[k]), u64::from(byte) + 1);
                    p[k] = mulmod(p[k], BASES[k]);
                }
            }
            let d = (h[0], h[1], s.len() as u64);
            let id = t.digest.len() as i64;
            t.digest.push(d);
            t.pow.push(p);
            t.ids.entry(d).or_insert(id);
        }
        t
    }

    fn append(&mut self, state: i64, a: i64) -> i64 {
        let (x, y) = (self.digest[state as usize], self.digest[a as usize]);
        let (px, pa) = (self.pow[state as usize], self.pow[a as usize]);
        let d = (
            addmod(mulmod(x.0, pa[0]), y.0),
            addmod(mulmod(x.1, pa[1]), y.1),
            x.2 + y.2,
        );
        if let Some(&id) = self.ids.get(&d) {
            return id;
        }
        let id = self.digest.len() as i64;
        self.digest.push(d);
        self.pow.push([mulmod(px[0], pa[0]), mulmod(px[1], pa[1])]);
        self.ids.insert(d, id);
        id
    }
}

impl Model {
    fn step(&mut self, state: State, kind: u8, a: i64, b: i64, out: i64) -> State {
        match self {
            Model::Register { none } => match kind {
                READ => {
                    if out == UNKNOWN || out == state {
                        state
                    } else {
                        REJECT
                    }
                }
                WRITE => a,
                CAS => {
                    let matches = state == a;
                    if out == UNKNOWN {
                        if matches {
                            b
                        } else {
                            state
                        }
                    } else if out == 1 {
                        if matches {
                            b
                        } else {
                            REJECT
                        }
                    } else if matches {
                        REJECT
                    } else {
                        state
                    }
                }
                _ => {
                    // DELETE: out 1/0 asserts whether the key existed
                    let existed = i64::from(state != *none);
                    if out == UNKNOWN || out == existed {
                        *none
                    } else {
                        REJECT
                    }
                }
            },
            Model::Kv(t) => match kind {
                GET => {
                    if out == UNKNOWN || out == state {
                        state
                    } else {
                        REJECT
                    }
                }
                PUT => a,
                _ => t.append(state, a),
            },
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Op {
    kind: u8,
    a: i64,
    b: i64,
    out: i64,
}

struct Outcome {
    ok: bool,
    longest: Vec<usize>,
    stuck: Option<usize>,
    memo_entries: usize,
}

enum Slice {
    Yielded(usize), // memo entries so far
    Done(Outcome),
}

/// splitmix64: the Zobrist keys (fixed seed: a search is reproducible).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn next128(&mut self) -> u128 {
        (u128::from(self.next()) << 64) | u128::from(self.next())
    }
}

const SEED: u64 = 0x5EED_C4EC;

/// wgl.search: completed ops in a linked list of call/return nodes, pending ops (unknown
/// return) in classes of identical ops placed as prefixes, done when every completed op is
/// placed; memo with the subset test on the pending ops placed.
struct Search {
    model: Model,
    ops: Vec<Op>,
    calls: Vec<i64>,
    head: usize,
    nxt: Vec<usize>,
    prv: Vec<usize>,
    matchr: Vec<i64>,
    opid: Vec<usize>,
    when: Vec<i64>,
    classes: Vec<Vec<usize>>,
    ptr: Vec<usize>,
    zobrist: Vec<u128>,
    pbit: Vec<usize>, // pending op → its bit index (usize::MAX for completed ops)
    words: usize,
    memo: HashMap<(u128, State), Vec<Box<[u64]>>, Mix>,
    overflow: HashSet<(u128, State, Box<[u64]>), Mix>,
    entries: usize,
    stack: Vec<(i64, State, usize, usize)>,
    state: State,
    linearized: u128,
    pending: Vec<u64>,
    best: Vec<usize>,
    stuck: Option<usize>,
    at_new_depth: bool,
    steps: u64,
    unplaced: usize,
    entry: usize,
    cls: i64,
    front_node: usize,
    front: i64,
    resumed: bool,
}

impl Search {
    fn new(model: Model, init: State, ops: Vec<Op>, calls: Vec<i64>, rets: &[i64]) -> Search {
        let n = ops.len();
        let done_ids: Vec<usize> = (0..n).filter(|&i| rets[i] != NO_RET).collect();
        let mut pending_ids: Vec<usize> = (0..n).filter(|&i| rets[i] == NO_RET).collect();
        pending_ids.sort_by_key(|&i| calls[i]); // stable, as Python's sorted
        let mut events: Vec<(i64, u8, usize)> = done_ids.iter().map(|&i| (calls[i], 0, i)).collect();
        events.extend(done_ids.iter().map(|&i| (rets[i], 1, i)));
        events.sort_unstable();
        let size = events.len();
        let nxt: Vec<usize> = (1..size + 3).collect();
        let prv: Vec<usize> = (0..size + 2).map(|i| i.wrapping_sub(1)).collect();
        let mut matchr = vec![-1i64; size + 2];
        let mut opid = vec![usize::MAX; size + 2];
        let mut when = vec![0i64; size + 2];
        let mut call_node = vec![0usize; n];
        for (k, &(t, is_ret, i)) in events.iter().enumerate() {
            let pos = k + 1;
            opid[pos] = i;
            when[pos] = t;
            if is_ret == 1 {
                matchr[call_node[i]] = pos as i64;
            } else {
                call_node[i] = pos;
            }
        }
        let mut class_of: HashMap<Op, usize, Mix> = HashMap::default();
        let mut classes: Vec<Vec<usize>> = Vec::new();
        for &i in &pending_ids {
            let c = *class_of.entry(ops[i]).or_insert_with(|| {
                classes.push(Vec::new());
                classes.len() - 1
            });
            classes[c].push(i);
        }
        let mut rng = SplitMix(SEED);
        let zobrist: Vec<u128> =
            (0..n).map(|i| if rets[i] == NO_RET { 0 } else { rng.next128() }).collect();
        let mut pbit = vec![usize::MAX; n];
        for (k, &i) in pending_ids.iter().enumerate() {
            pbit[i] = k;
        }
        let words = pending_ids.len().div_ceil(64).max(1);
        let nclasses = classes.len();
        Search {
            model,
            ops,
            calls,
            head: 0,
            entry: nxt[0],
            nxt,
            prv,
            matchr,
            opid,
            when,
            classes,
            ptr: vec![0; nclasses],
            zobrist,
            pbit,
            words,
            memo: HashMap::default(),
            overflow: HashSet::default(),
            entries: 0,
            stack: Vec::new(),
            state: init,
            linearized: 0,
            pending: vec![0u64; words],
            best: Vec::new(),
            stuck: None,
            at_new_depth: false,
            steps: 0,
            unplaced: done_ids.len(),
            cls: -1,
            front_node: 0,
            front: 0,
            resumed: false,
        }
    }

    fn set_bit(&mut self, i: usize, on: bool) {
        let b = self.pbit[i];
        if b != usize::MAX {
            if on {
                self.pending[b / 64] |= 1 << (b % 64);
            } else {
                self.pending[b / 64] &= !(1u64 << (b % 64));
            }
        }
    }

    /// The memo test for the configuration (h, state, self.pending): true when it is new.
    fn fresh(&mut self, h: u128, new_state: State) -> bool {
        let ps = &self.pending;
        match self.memo.get_mut(&(h, new_state)) {
            None => {
                self.memo.insert((h, new_state), vec![ps.clone().into_boxed_slice()]);
                self.entries += 1;
                true
            }
            Some(seen) => {
                // skipped when a stored set is a subset of ps (it had every option ps has)
                if seen.iter().any(|e| e.iter().zip(ps.iter()).all(|(x, y)| x & !y == 0)) {
                    return false;
                }
                if seen.len() < SUBSUME_MAX {
                    let before = seen.len();
                    // drop the ones ps dominates (ps ⊆ e)
                    seen.retain(|e| e.iter().zip(ps.iter()).any(|(x, y)| y & !x != 0));
                    let kept = seen.len();
                    seen.push(ps.clone().into_boxed_slice());
                    self.entries = self.entries + kept + 1 - before;
                    return true;
                }
                let key = (h, new_state, ps.clone().into_boxed_slice());
                if self.overflow.contains(&key) {
                    return false;
                }
                self.overflow.insert(key);
                self.entries += 1;
                true
            }
        }
    }

    fn run(&mut self, slice_steps: u64) -> Slice {
        while self.unplaced > 0 {
            if self.resumed {
                self.resumed = false;
            } else {
                self.steps += 1;
                if self.steps % slice_steps == 0 {
                    self.resumed = true;
                    return Slice::Yielded(self.entries);
                }
            }
            let i;
            if self.cls < 0 {
                let ret = self.matchr[self.entry];
                if ret < 0 {
                    self.front_node = self.entry;
                    self.front = self.when[self.entry];
                    self.cls = 0;
                    continue;
                }
                i = self.opid[self.entry];
            } else {
                let mut cls = self.cls as usize;
                while cls < self.classes.len() {
                    let members = &self.classes[cls];
                    if self.ptr[cls] < members.len() && self.calls[members[self.ptr[cls]]] <= self.front
                    {
                        break;
                    }
                    cls += 1;
                }
                self.cls = cls as i64;
                if cls == self.classes.len() {
                    // nothing left to try here: backtrack
                    if self.at_new_depth || self.stuck.is_none() {
                        self.best = self.stack.iter().map(|f| f.3).collect();
                        self.stuck = Some(self.opid[self.front_node]);
                        self.at_new_depth = false;
                    }
                    let Some((where_, state, front_node, i)) = self.stack.pop() else {
                        return Slice::Done(Outcome {
                            ok: false,
                            longest: std::mem::take(&mut self.best),
                            stuck: self.stuck,
                            memo_entries: self.entries,
                        });
                    };
                    self.state = state;
                    self.front_node = front_node;
                    self.front = self.when[front_node];
                    if where_ >= 0 {
                        let w = where_ as usize;
                        let r = self.matchr[w] as usize;
                        let (pr, nr) = (self.prv[r], self.nxt[r]);
                        self.nxt[pr] = r;
                        self.prv[nr] = r;
                        let (pw, nw) = (self.prv[w], self.nxt[w]);
                        self.nxt[pw] = w;
                        self.prv[nw] = w;
                        self.unplaced += 1;
                        self.entry = self.nxt[w];
                        self.cls = -1;
                    } else {
                        let k = (-1 - where_) as usize;
                        self.ptr[k] -= 1;
                        self.cls = k as i64 + 1;
                    }
                    self.linearized ^= self.zobrist[i];
                    self.set_bit(i, false);
                    continue;
                }
                i = self.classes[cls][self.ptr[cls]];
            }
            let op = self.ops[i];
            let new_state = self.model.step(self.state, op.kind, op.a, op.b, op.out);
            let mut fresh = false;
            let h = self.linearized ^ self.zobrist[i];
            if new_state != REJECT {
                self.set_bit(i, true);
                fresh = self.fresh(h, new_state);
                if !fresh {
                    self.set_bit(i, false);
                }
            }
            if !fresh {
                if self.cls < 0 {
                    self.entry = self.nxt[self.entry];
                } else {
                    self.cls += 1;
                }
                continue;
            }
            self.linearized = h;
            if self.cls < 0 {
                self.stack.push((self.entry as i64, self.state, 0, i));
                let e = self.entry;
                let ret = self.matchr[e] as usize;
                let (p, q) = (self.prv[e], self.nxt[e]);
                self.nxt[p] = q;
                self.prv[q] = p;
                let (p, q) = (self.prv[ret], self.nxt[ret]);
                self.nxt[p] = q;
                self.prv[q] = p;
                self.unplaced -= 1;
            } else {
                let c = self.cls as usize;
                self.stack.push((-1 - self.cls, self.state, self.front_node, i));
                self.ptr[c] += 1;
            }
            self.state = new_state;
            if self.stack.len() > self.best.len() {
                self.at_new_depth = true;
            }
            self.entry = self.nxt[self.head];
            self.cls = -1;
        }
        Slice::Done(Outcome {
            ok: true,
            longest: self.stack.iter().map(|f| f.3).collect(),
            stuck: None,
            memo_entries: self.entries,
        })
    }

    fn memo_bytes(&self) -> usize {
        // hash-map slot + key + one boxed set per entry
        self.entries * (64 + 8 * self.words)
    }
}

/// wgl.search_in_order: Porcupine's walk over every op (pending ones at their invokes), with
/// the Zobrist memo and the invoke-order rule for identical pending ops.
struct InOrder {
    model: Model,
    ops: Vec<Op>,
    head: usize,
    tail: usize,
    nxt: Vec<usize>,
    prv: Vec<usize>,
    matchr: Vec<i64>,
    opid: Vec<usize>,
    zobrist: Vec<u128>,
    after: Vec<i64>,
    done: Vec<bool>,
    memo: HashSet<(u128, State), Mix>,
    stack: Vec<(usize, State)>,
    state: State,
    linearized: u128,
    best: Vec<usize>,
    stuck: Option<usize>,
    at_new_depth: bool,
    steps: u64,
    entry: usize,
    resumed: bool,
}

impl InOrder {
    fn new(model: Model, init: State, ops: Vec<Op>, calls: &[i64], rets: &[i64]) -> InOrder {
        let n = ops.len();
        let mut events: Vec<(i64, u8, usize)> = (0..n).map(|i| (calls[i], 0, i)).collect();
        events.extend((0..n).map(|i| (rets[i], 1, i)));
        events.sort_unstable();
        let nxt: Vec<usize> = (1..2 * n + 3).collect();
        let prv: Vec<usize> = (0..2 * n + 2).map(|i| i.wrapping_sub(1)).collect();
        let mut matchr = vec![-1i64; 2 * n + 2];
        let mut opid = vec![usize::MAX; 2 * n + 2];
        let mut call_node = vec![0usize; n];
        let mut ret_node = vec![0usize; n];
        for (k, &(_t, is_ret, i)) in events.iter().enumerate() {
            let pos = k + 1;
            opid[pos] = i;
            if is_ret == 1 {
                ret_node[i] = pos;
            } else {
                call_node[i] = pos;
            }
        }
        for i in 0..n {
            matchr[call_node[i]] = ret_node[i] as i64;
        }
        let mut rng = SplitMix(SEED ^ 0x1_0000_0000);
        let zobrist: Vec<u128> = (0..n).map(|_| rng.next128()).collect();
        let mut after = vec![-1i64; n];
        let mut last_of: HashMap<Op, usize, Mix> = HashMap::default();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| calls[i]);
        for i in order {
            if rets[i] == NO_RET {
                after[i] = last_of.get(&ops[i]).map_or(-1, |&j| j as i64);
                last_of.insert(ops[i], i);
            }
        }
        InOrder {
            model,
            ops,
            head: 0,
            tail: 2 * n + 1,
            entry: nxt[0],
            nxt,
            prv,
            matchr,
            opid,
            zobrist,
            after,
            done: vec![false; n],
            memo: HashSet::default(),
            stack: Vec::new(),
            state: init,
            linearized: 0,
            best: Vec::new(),
            stuck: None,
            at_new_depth: false,
            steps: 0,
            resumed: false,
        }
    }

    fn run(&mut self, slice_steps: u64) -> Slice {
        while self.nxt[self.head] != self.tail {
            if self.resumed {
                self.resumed = false;
            } else {
                self.steps += 1;
                if self.steps % slice_steps == 0 {
                    self.resumed = true;
                    return Slice::Yielded(self.memo.len());
                }
            }
            let entry = self.entry;
            let ret = self.matchr[entry];
            if ret >= 0 {
                let i = self.opid[entry];
                let a = self.after[i];
                if a >= 0 && !self.done[a as usize] {
                    self.entry = self.nxt[entry];
                    continue;
                }
                let op = self.ops[i];
                let new_state = self.model.step(self.state, op.kind, op.a, op.b, op.out);
                if new_state != REJECT {
                    let h = self.linearized ^ self.zobrist[i];
                    if self.memo.insert((h, new_state)) {
                        self.stack.push((entry, self.state));
                        self.state = new_state;
                        self.linearized = h;
                        self.done[i] = true;
                        let ret = ret as usize;
                        let (p, q) = (self.prv[entry], self.nxt[entry]);
                        self.nxt[p] = q;
                        self.prv[q] = p;
                        let (p, q) = (self.prv[ret], self.nxt[ret]);
                        self.nxt[p] = q;
                        self.prv[q] = p;
                        if self.stack.len() > self.best.len() {
                            self.at_new_depth = true;
                        }
                        self.entry = self.nxt[self.head];
                        continue;
                    }
                }
                self.entry = self.nxt[entry];
                continue;
            }
            // a return: the op it closes cannot be linearized on this path
            if self.at_new_depth || self.stuck.is_none() {
                self.best = self.stack.iter().map(|&(c, _)| self.opid[c]).collect();
                self.stuck = Some(self.opid[entry]);
                self.at_new_depth = false;
            }
            let Some((e, state)) = self.stack.pop() else {
                return Slice::Done(Outcome {
                    ok: false,
                    longest: std::mem::take(&mut self.best),
                    stuck: self.stuck,
                    memo_entries: self.memo.len(),
                });
            };
            self.state = state;
            let i = self.opid[e];
            self.linearized ^= self.zobrist[i];
            self.done[i] = false;
            let r = self.matchr[e] as usize;
            let (pr, nr) = (self.prv[r], self.nxt[r]);
            self.nxt[pr] = r;
            self.prv[nr] = r;
            let (pe, ne) = (self.prv[e], self.nxt[e]);
            self.nxt[pe] = e;
            self.prv[ne] = e;
            self.entry = self.nxt[e];
        }
        Slice::Done(Outcome {
            ok: true,
            longest: self.stack.iter().map(|&(c, _)| self.opid[c]).collect(),
            stuck: None,
            memo_entries: self.memo.len(),
        })
    }

    fn memo_bytes(&self) -> usize {
        self.memo.len() * 48
    }
}

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
    if [a.len(), b.len(), out.len(), call.len(), ret.len()].iter().any(|&l| l != n)
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
                .map(|j| Op { kind: kinds[j], a: a[j], b: b[j], out: out[j] })
                .collect();
            let calls = call[s..e].to_vec();
            let rets = &ret[s..e];
            if rets.iter().any(|&r| r == NO_RET) {
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
                            return Ok((1, key as i64, o.longest, stuck, o.memo_entries, max_memo, Vec::new()));
                        }
                    }
                }
                let total: usize = entries.iter().sum();
                max_memo = max_memo.max(total);
                let over_time = Instant::now() > deadline;
                let over_memory = memo_bytes.iter().sum::<usize>() > memory_budget_bytes;
                if over_time || over_memory {
                    let mut keys: Vec<usize> =
                        (0..runners.len()).filter(|&s| alive[s]).map(|s| runners[s].0).collect();
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
    if [a.len(), b.len(), out.len(), call.len(), ret.len()].iter().any(|&l| l != n) {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "search_one: the op arrays differ in length",
        ));
    }
    let slice_steps = slice_steps.max(1);
    Ok(py.allow_threads(move || {
        let deadline = Instant::now() + Duration::from_secs_f64(time_budget_s.max(0.0));
        let m = if model == 0 { Model::Register { none: init } } else { Model::Kv(KvTable::new(&strings)) };
        let ops: Vec<Op> =
            (0..n).map(|j| Op { kind: kinds[j], a: a[j], b: b[j], out: out[j] }).collect();
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
    if [a.len(), b.len(), out.len(), call.len(), ret.len()].iter().any(|&l| l != n)
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
                    .map(|j| Op { kind: kinds[j], a: a[j], b: b[j], out: out[j] })
                    .collect();
                let limit = steps_per_op.saturating_mul((e - s) as u64).saturating_add(min_steps);
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
