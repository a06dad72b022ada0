//! Bearer tokens and enrollment codes: made from the operating system's
//! randomness (through `rand`'s thread generator, seeded from it), shown once,
//! stored only as their SHA-256.

use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

/// A secret that must never reach a log: `Debug` shows only that it is there.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that shows or sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Letters and digits that cannot be mistaken for each other when read aloud
/// or typed from a screen: no 0/O, 1/I/L.
pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Characters of an enrollment code, shown as two groups of four.
pub const CODE_LEN: usize = 8;

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The bytes of lowercase or uppercase hexadecimal text; `None` if it is not.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// `N` random bytes from the operating system's randomness.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A new device or account token: 32 random bytes, hex.
pub fn new_token() -> Secret {
    Secret(hex(&random_bytes::<32>()))
}

pub fn token_hash(token: &str) -> String {
    sha256_hex(token.trim().as_bytes())
}

/// A new enrollment code such as `K7M2-9QXD`.
pub fn new_enroll_code() -> Secret {
    let mut rng = rand::rng();
    let mut s = String::with_capacity(CODE_LEN + 1);
    for i in 0..CODE_LEN {
        if i == CODE_LEN / 2 {
            s.push('-');
        }
        let k = rng.random_range(0..CODE_ALPHABET.len());
        s.push(char::from(CODE_ALPHABET[k]));
    }
    Secret(s)
}

/// What a typed code means: case, spaces and dashes do not matter.
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

pub fn code_hash(code: &str) -> String {
    sha256_hex(normalize_code(code).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_typeable_and_normalized() {
        let c = new_enroll_code();
        assert_eq!(c.expose().len(), 9);
        assert_eq!(&c.expose()[4..5], "-");
        assert!(
            normalize_code(c.expose())
                .bytes()
                .all(|b| CODE_ALPHABET.contains(&b))
        );
        assert_eq!(code_hash("k7m2 9qxd"), code_hash("K7M2-9QXD"));
        assert_eq!(format!("{c:?}"), "Secret(<redacted>)");
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a, b);
        assert_eq!(token_hash(a.expose()).len(), 64);
    }
}
