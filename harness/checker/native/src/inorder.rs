//! wgl.search_in_order, step for step: Porcupine's walk over every op in invoke order.

use crate::common::{Mix, Op, Outcome, Slice, SplitMix, State, NO_RET, REJECT, SEED};
use crate::model::Model;
use std::collections::{HashMap, HashSet};

/// wgl.search_in_order: Porcupine's walk over every op (pending ones at their invokes), with
/// the Zobrist memo and the invoke-order rule for identical pending ops.
pub struct InOrder {
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
    pub fn new(model: Model, init: State, ops: Vec<Op>, calls: &[i64], rets: &[i64]) -> InOrder {
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

    pub fn run(&mut self, slice_steps: u64) -> Slice {
        while self.nxt[self.head] != self.tail {
            if self.resumed {
                self.resumed = false;
            } else {
                self.steps += 1;
                if self.steps.is_multiple_of(slice_steps) {
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

    pub fn memo_bytes(&self) -> usize {
        self.memo.len() * 48
    }
}
