//! wgl.search, step for step: completed ops first, pending ops in classes placed as prefixes.

use crate::common::{Mix, Op, Outcome, Slice, SplitMix, State, NO_RET, REJECT, SEED, SUBSUME_MAX};
use crate::model::Model;
use std::collections::{HashMap, HashSet};

/// wgl.search: completed ops in a linked list of call/return nodes, pending ops (unknown
/// return) in classes of identical ops placed as prefixes, done when every completed op is
/// placed; memo with the subset test on the pending ops placed.
pub struct Search {
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
    pub fn new(model: Model, init: State, ops: Vec<Op>, calls: Vec<i64>, rets: &[i64]) -> Search {
        let n = ops.len();
        let done_ids: Vec<usize> = (0..n).filter(|&i| rets[i] != NO_RET).collect();
        let mut pending_ids: Vec<usize> = (0..n).filter(|&i| rets[i] == NO_RET).collect();
        pending_ids.sort_by_key(|&i| calls[i]); // stable, as Python's sorted
        let mut events: Vec<(i64, u8, usize)> =
            done_ids.iter().map(|&i| (calls[i], 0, i)).collect();
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
        let zobrist: Vec<u128> = (0..n)
            .map(|i| if rets[i] == NO_RET { 0 } else { rng.next128() })
            .collect();
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

    pub fn set_bit(&mut self, i: usize, on: bool) {
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
    pub fn fresh(&mut self, h: u128, new_state: State) -> bool {
        let ps = &self.pending;
        match self.memo.get_mut(&(h, new_state)) {
            None => {
                self.memo
                    .insert((h, new_state), vec![ps.clone().into_boxed_slice()]);
                self.entries += 1;
                true
            }
            Some(seen) => {
                // skipped when a stored set is a subset of ps (it had every option ps has)
                if seen
                    .iter()
                    .any(|e| e.iter().zip(ps.iter()).all(|(x, y)| x & !y == 0))
                {
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

    pub fn run(&mut self, slice_steps: u64) -> Slice {
        while self.unplaced > 0 {
            if self.resumed {
                self.resumed = false;
            } else {
                self.steps += 1;
                if self.steps.is_multiple_of(slice_steps) {
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
                    if self.ptr[cls] < members.len()
                        && self.calls[members[self.ptr[cls]]] <= self.front
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
                self.stack
                    .push((-1 - self.cls, self.state, self.front_node, i));
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

    pub fn memo_bytes(&self) -> usize {
        // hash-map slot + key + one boxed set per entry
        self.entries * (64 + 8 * self.words)
    }
}
