//! The sequential specifications: a register (read / write / cas / delete) and Porcupine's kv.

use crate::common::{Mix, State, CAS, GET, PUT, READ, REJECT, UNKNOWN, WRITE};
use std::collections::HashMap;

/// The sequential specification: `register` (states are value ids, 0 = absent) or `kv`
/// (states are string ids; an append's result is interned by the content hash of the string,
/// computed from its parts — two polynomial hashes modulo 2^61−1 and the length — so no string
/// is ever built or compared: a false merge needs both hashes to collide).
pub enum Model {
    Register { none: i64 },
    Kv(KvTable),
}

pub const M61: u64 = (1 << 61) - 1;
pub const BASES: [u64; 2] = [0x1F35_A7BD_3C0E_91F3 % M61, 0x0D6E_8FEB_8666_8FD5 % M61];

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
pub type Digest = (u64, u64, u64);

pub struct KvTable {
    digest: Vec<Digest>,
    pow: Vec<[u64; 2]>, // base^len of each id, for appending it
    ids: HashMap<Digest, i64, Mix>,
}

impl KvTable {
    pub fn new(strings: &[String]) -> KvTable {
        let mut t = KvTable {
            digest: Vec::new(),
            pow: Vec::new(),
            ids: HashMap::default(),
        };
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

    pub fn append(&mut self, state: i64, a: i64) -> i64 {
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
    pub fn step(&mut self, state: State, kind: u8, a: i64, b: i64, out: i64) -> State {
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
