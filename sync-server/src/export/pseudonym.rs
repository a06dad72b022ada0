//! Keyed pseudonyms: the same value gives the same pseudonym in every extract
//! made under one key, so that an analyst can follow a person across exports
//! without learning who it is; the key stays on the server, and rotating it
//! makes every pseudonym new.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// The server's pseudonym key (32 random bytes, kept in its database).
#[derive(Clone)]
pub struct PseudonymKey {
    /// HMAC keyed once: keying costs two of the four hash blocks of a
    /// pseudonym, and an extract makes millions.
    keyed: Option<HmacSha256>,
}

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(<redacted>)")
    }
}

impl PseudonymKey {
    pub fn new(bytes: Vec<u8>) -> PseudonymKey {
        PseudonymKey {
            // HMAC takes keys of any length; kept total all the same.
            keyed: HmacSha256::new_from_slice(&bytes).ok(),
        }
    }

    /// The pseudonym of `value` in column `column`: the column is part of
    /// the input, so a phone number and an ID number that happen to be equal
    /// do not share a pseudonym.
    pub fn pseudonym(&self, column: &str, value: &str) -> String {
        let Some(mut mac) = self.keyed.clone() else {
            return String::new();
        };
        mac.update(column.as_bytes());
        mac.update(&[0]);
        mac.update(value.trim().as_bytes());
        let tag = mac.finalize().into_bytes();
        format!("PS-{}", crate::secrets::hex(&tag[..10]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_per_key_and_column_and_different_under_another_key() {
        let k = PseudonymKey::new(vec![1; 32]);
        let a = k.pseudonym("phone", "0912345678");
        assert_eq!(a, k.pseudonym("phone", "0912345678"));
        assert_eq!(a.len(), 3 + 20);
        assert_ne!(a, k.pseudonym("id_number", "0912345678"));
        assert_ne!(a, k.pseudonym("phone", "0912345679"));
        assert_ne!(
            a,
            PseudonymKey::new(vec![2; 32]).pseudonym("phone", "0912345678")
        );
    }
}
