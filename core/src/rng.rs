//! A small seeded random number generator for session and socket ids.
//!
//! Why: the core reads no OS randomness (DESIGN §2 rule 7); the runtime passes a seed and the
//! same seed gives the same ids, which keeps transcript tests exact. xoshiro256** is fast and
//! statistically sound for ids; ids are not secrets that guard anything (auth does that).

/// xoshiro256** seeded from 32 bytes.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

const ID_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl Rng {
    /// A generator seeded with `seed`; an all-zero seed is replaced by a fixed non-zero one.
    #[must_use]
    pub fn new(seed: [u8; 32]) -> Self {
        let mut s = [0u64; 4];
        for (i, chunk) in seed.chunks_exact(8).enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            s[i] = u64::from_le_bytes(word);
        }
        if s == [0; 4] {
            s = [
                0x9E37_79B9_7F4A_7C15,
                0xBF58_476D_1CE4_E5B9,
                0x94D0_49BB_1331_11EB,
                1,
            ];
        }
        Self { s }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A 20-character URL-safe id (120 random bits), the shape Engine.IO and Socket.IO ids have.
    pub fn id(&mut self) -> String {
        let mut out = String::with_capacity(20);
        let mut bits = 0u64;
        let mut left = 0;
        for _ in 0..20 {
            if left < 6 {
                bits = self.next_u64();
                left = 64;
            }
            out.push(char::from(ID_ALPHABET[(bits & 63) as usize]));
            bits >>= 6;
            left -= 6;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_ids() {
        let mut a = Rng::new([7; 32]);
        let mut b = Rng::new([7; 32]);
        assert_eq!(a.id(), b.id());
        assert_eq!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn ids_are_twenty_url_safe_characters_and_distinct() {
        let mut rng = Rng::new([0; 32]);
        let ids: std::collections::BTreeSet<String> = (0..1000).map(|_| rng.id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids
            .iter()
            .all(|id| id.len() == 20 && id.bytes().all(|b| ID_ALPHABET.contains(&b))));
    }
}
