//! The change bundle reader over arbitrary and damaged bytes: it answers,
//! never panics, and what it accepts is exactly what was sent (the format has
//! no slack: a bundle that reads encodes back to the same bytes).
//!
//! `PROPTEST_CASES` runs more cases (the defaults keep CI on 2 cores fast).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers, not input paths

use gocua_protocol::bundle::{DocChanges, MAGIC, decode, encode};
use proptest::prelude::*;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn docs() -> impl Strategy<Value = Vec<DocChanges>> {
    proptest::collection::vec(
        (
            "[0-9a-f-]{1,64}",
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..5),
        )
            .prop_map(|(doc_id, changes)| DocChanges { doc_id, changes }),
        0..5,
    )
}

/// A damage to a byte string: flip, cut, insert or delete, at a relative place.
#[derive(Debug, Clone)]
enum Damage {
    Flip(f64, u8),
    Truncate(f64),
    Insert(f64, Vec<u8>),
    Delete(f64, usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (0.0..1.0f64, 1..=255u8).prop_map(|(at, x)| Damage::Flip(at, x)),
        (0.0..1.0f64).prop_map(Damage::Truncate),
        (0.0..1.0f64, proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, b)| Damage::Insert(at, b)),
        (0.0..1.0f64, 1..8usize).prop_map(|(at, n)| Damage::Delete(at, n)),
    ]
}

fn apply(bytes: &mut Vec<u8>, d: &Damage) {
    let at = |f: f64, len: usize| ((len as f64 * f) as usize).min(len);
    match d {
        Damage::Flip(f, x) => {
            if !bytes.is_empty() {
                let i = at(*f, bytes.len() - 1);
                bytes[i] ^= x;
            }
        }
        Damage::Truncate(f) => {
            let i = at(*f, bytes.len());
            bytes.truncate(i);
        }
        Damage::Insert(f, b) => {
            let i = at(*f, bytes.len());
            bytes.splice(i..i, b.iter().copied());
        }
        Damage::Delete(f, n) => {
            let i = at(*f, bytes.len());
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(512),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn round_trip(d in docs()) {
        prop_assert_eq!(decode(&encode(&d)).unwrap(), d);
    }

    /// Any bytes at all: an answer, never a panic; without the magic, a refusal.
    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(d) = decode(&bytes) {
            prop_assert_eq!(encode(&d), bytes.clone());
        }
        if !bytes.starts_with(MAGIC) {
            prop_assert!(decode(&bytes).is_err());
        }
    }

    /// A real bundle damaged: read or refused; what reads is what was there.
    #[test]
    fn damaged_bundles(
        d in docs(),
        damages in proptest::collection::vec(damage(), 1..4),
    ) {
        let mut bytes = encode(&d);
        for x in &damages {
            apply(&mut bytes, x);
        }
        if let Ok(read) = decode(&bytes) {
            prop_assert_eq!(encode(&read), bytes);
            for doc in &read {
                prop_assert!(!doc.doc_id.is_empty() && doc.doc_id.len() <= 64);
            }
        }
    }

    /// Lengths that claim more than there is (up to the largest allowed and
    /// past it) are refused without allocating them.
    #[test]
    fn lying_lengths(count in any::<u32>(), len in any::<u32>(), tail in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&4u16.to_be_bytes());
        bytes.extend_from_slice(b"abcd");
        bytes.extend_from_slice(&count.to_be_bytes());
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(&tail);
        let r = decode(&bytes);
        if count > 0 && len as usize > tail.len() {
            prop_assert!(r.is_err(), "{:?}", r);
        }
    }
}
