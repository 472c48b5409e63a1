//! Hashing for maps looked up for every frame (the arguments a dissection wants, statistics'
//! nodes by name, processes by ID, conversations by address): a multiply-and-fold over 8-byte
//! words, seeded once per run from the standard library's random keys (so that a hostile
//! recording cannot aim its names at known collisions), much cheaper than SipHash on short
//! keys.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// A hash map with [`FastHash`].
pub type FastMap<K, V> = HashMap<K, V, FastHash>;

const MUL: u64 = 0x5851_F42D_4C95_7F2D;

#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let m = u128::from(a) * u128::from(b);
    (m as u64) ^ ((m >> 64) as u64)
}

/// Builds [`FastHasher`]s with the run's seed.
#[derive(Clone, Copy, Debug)]
pub struct FastHash(u64);

impl Default for FastHash {
    fn default() -> FastHash {
        static SEED: OnceLock<u64> = OnceLock::new();
        FastHash(*SEED.get_or_init(|| {
            std::collections::hash_map::RandomState::new().hash_one(0x6f73_7072_6579u64) | 1
        }))
    }
}

impl BuildHasher for FastHash {
    type Hasher = FastHasher;
    #[inline]
    fn build_hasher(&self) -> FastHasher {
        FastHasher(self.0)
    }
}

/// See [`FastHash`].
#[derive(Clone, Copy, Debug)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    #[inline]
    fn finish(&self) -> u64 {
        fold(self.0, MUL.rotate_left(17))
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.0 = fold(self.0 ^ w, MUL);
        }
        let mut last = 0u64;
        for (i, b) in chunks.remainder().iter().enumerate() {
            last |= u64::from(*b) << (8 * i);
        }
        self.0 = fold(self.0 ^ last ^ ((bytes.len() as u64) << 56), MUL);
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = fold(self.0 ^ n, MUL);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    #[inline]
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    #[inline]
    fn write_isize(&mut self, n: isize) {
        self.write_u64(n as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spread_over_both_ends_of_the_hash() {
        let h = FastHash::default();
        assert_eq!(
            h.hash_one("security_file_open"),
            h.hash_one("security_file_open")
        );
        // hashbrown picks buckets with the low bits and tags with the top 7: both must vary
        // over keys that differ little (paths, PIDs).
        for keys in [
            (0..4096)
                .map(|i| h.hash_one(format!("/tmp/file{i}")))
                .collect::<Vec<_>>(),
            (0..4096u64).map(|i| h.hash_one(i)).collect(),
        ] {
            let tops: std::collections::HashSet<u64> = keys.iter().map(|k| k >> 57).collect();
            let lows: std::collections::HashSet<u64> = keys.iter().map(|k| k & 4095).collect();
            assert_eq!(tops.len(), 128);
            assert!(lows.len() > 2400, "{} distinct buckets of 4096", lows.len());
        }
    }
}
