//! What the searches share: op kinds and codes (as models.py numbers them), the op record, a
//! search's outcome, the Zobrist key generator and a hasher for keys that are hashes already.

use std::hash::{BuildHasherDefault, Hasher};

// Op kinds, as models.py numbers them.
pub const READ: u8 = 0;
pub const WRITE: u8 = 1;
pub const CAS: u8 = 2;
// DELETE = 3: the register's last arm
pub const GET: u8 = 4;
pub const PUT: u8 = 5;
// APPEND = 6

/// `out` code for "any output accepted" (models.UNKNOWN); a cas/delete out is 1/0 (True/False).
pub const UNKNOWN: i64 = -1;
/// `ret` code for a return never observed (+∞).
pub const NO_RET: i64 = i64::MAX;
pub const SUBSUME_MAX: usize = 8;

pub type State = i64;
pub const REJECT: State = i64::MIN;

/// A multiplicative hasher: the keys are Zobrist hashes already, so mixing is all it needs.
#[derive(Default)]
pub struct MixHasher(u64);

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

pub type Mix = BuildHasherDefault<MixHasher>;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Op {
    pub kind: u8,
    pub a: i64,
    pub b: i64,
    pub out: i64,
}

pub struct Outcome {
    pub ok: bool,
    pub longest: Vec<usize>,
    pub stuck: Option<usize>,
    pub memo_entries: usize,
}

pub enum Slice {
    Yielded(usize), // memo entries so far
    Done(Outcome),
}

/// splitmix64: the Zobrist keys (fixed seed: a search is reproducible).
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn next128(&mut self) -> u128 {
        (u128::from(self.next()) << 64) | u128::from(self.next())
    }
}

pub const SEED: u64 = 0x5EED_C4EC;
