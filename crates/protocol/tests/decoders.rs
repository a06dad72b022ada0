//! The protocol's other readers over arbitrary input (the bundle's are in
//! `bundle_bytes.rs`): the chunk header, document and village ids, and the
//! JSON request and answer types as a server or device decodes them. Each
//! answers whatever it is given, never panics, and what it accepts comes
//! back the same.
//!
//! `PROPTEST_CASES` runs more cases (the defaults keep CI on 2 cores fast).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers, not input paths

use gocua_protocol::{
    Assignment, EnrollRequest, EnrollResponse, ErrorBody, Info, PushResponse, Refusal,
    UnsentResponse, VillageInfo, chunk, ids,
};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

/// Any text, controls, NULs and astral characters included.
fn text() -> impl Strategy<Value = String> {
    any::<String>()
}

fn enroll_request() -> impl Strategy<Value = EnrollRequest> {
    (text(), text(), proptest::option::of(text())).prop_map(|(code, device_name, request_id)| {
        EnrollRequest {
            code,
            device_name,
            request_id,
        }
    })
}

fn push_response() -> impl Strategy<Value = PushResponse> {
    (
        any::<u64>(),
        any::<u64>(),
        proptest::collection::vec((text(), text(), text()), 0..4),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(
            |(stored, duplicates, refused, quarantined, last_seq)| PushResponse {
                stored,
                duplicates,
                refused: refused
                    .into_iter()
                    .map(|(doc_id, code, message)| Refusal {
                        doc_id,
                        code,
                        message,
                    })
                    .collect(),
                quarantined,
                last_seq,
            },
        )
}

fn enroll_response() -> impl Strategy<Value = EnrollResponse> {
    (
        proptest::collection::vec(text(), 7),
        proptest::option::of(text()),
        proptest::collection::vec((text(), text(), text()), 0..3),
    )
        .prop_map(|(t, volunteer_phone, villages)| EnrollResponse {
            device_id: t[0].clone(),
            token: t[1].clone(),
            volunteer_id: t[2].clone(),
            volunteer_name: t[3].clone(),
            volunteer_phone,
            team_id: t[4].clone(),
            team_name: t[5].clone(),
            commune_code: t[6].clone(),
            villages: villages
                .into_iter()
                .map(|(id, commune_code, name)| VillageInfo {
                    id,
                    commune_code,
                    name,
                })
                .collect(),
        })
}

/// A value written and read back is the value.
fn round_trips<T>(v: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_vec(v).unwrap();
    let back: T = serde_json::from_slice(&json).unwrap();
    prop_assert_eq!(&back, v);
    Ok(())
}

/// Whatever `bytes` are, decoding answers; what decodes writes back to JSON
/// that decodes to the same value.
fn decodes_or_refuses<T>(bytes: &[u8]) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    if let Ok(v) = serde_json::from_slice::<T>(bytes) {
        round_trips(&v)?;
    }
    Ok(())
}

/// `json` with bytes changed, cut or inserted at relative places.
fn damaged(mut json: Vec<u8>, damages: &[(f64, u8, u8)]) -> Vec<u8> {
    for (at, kind, b) in damages {
        let i = ((json.len() as f64 * at) as usize).min(json.len());
        match kind % 3 {
            0 if i < json.len() => json[i] = *b,
            1 => json.truncate(i),
            _ => json.insert(i, *b),
        }
    }
    json
}

fn damages() -> impl Strategy<Value = Vec<(f64, u8, u8)>> {
    proptest::collection::vec((0.0..1.0f64, any::<u8>(), any::<u8>()), 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The chunk header is read where it is, or not at all: short or odd
    /// items are no documents and match no checksum.
    #[test]
    fn chunk_headers(item in bytes(32), hash in any::<[u8; 32]>()) {
        prop_assert_eq!(chunk::is_document(&item), item.len() > 8 && item[8] == chunk::DOCUMENT);
        prop_assert_eq!(
            chunk::checksum_matches(&item, &hash),
            item.len() >= 8 && item[4..8] == hash[..4]
        );
        let mut right = item.clone();
        right.resize(right.len().max(9), 0);
        right[4..8].copy_from_slice(&hash[..4]);
        prop_assert!(chunk::checksum_matches(&right, &hash));
    }

    /// A derived id is bound to its hash's first 16 bytes (less the
    /// version and variant bits), in any case the client spells it; one
    /// hex digit (or a hyphen) changed, and it names none.
    #[test]
    fn derived_ids(hash in any::<[u8; 32]>(), other in any::<[u8; 32]>(), at in 0..36usize) {
        let id = ids::derived_doc_id(&hash);
        let mut typo = id.clone().into_bytes();
        typo[at] = if typo[at] == b'0' { b'1' } else { b'0' };
        prop_assert!(!ids::matches_genesis(std::str::from_utf8(&typo).unwrap(), &hash));
        prop_assert!(ids::is_derived(&id));
        prop_assert!(ids::matches_genesis(&id, &hash));
        prop_assert!(ids::matches_genesis(&id.to_uppercase(), &hash));
        let u = uuid::Uuid::parse_str(&id).unwrap();
        let b = u.as_bytes();
        for (i, (got, want)) in b.iter().zip(&hash[..16]).enumerate() {
            let kept = match i {
                6 => 0x0f,
                8 => 0x3f,
                _ => 0xff,
            };
            prop_assert_eq!(got & kept, want & kept, "byte {}", i);
        }
        prop_assert_eq!(ids::matches_genesis(&id, &other), ids::derived_doc_id(&other) == id);
    }

    /// Any text as an id, and text shaped like the forms a UUID parser
    /// takes (hyphenated, simple, braced, URN): an answer, and a match only
    /// for the id itself.
    #[test]
    fn ids_from_any_text(
        s in prop_oneof![
            text(),
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[89][0-9a-fA-F]{3}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
            "\\{?[0-9a-f]{32}\\}?",
            "urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        ],
        hash in any::<[u8; 32]>(),
    ) {
        let derived = ids::is_derived(&s);
        if derived {
            prop_assert!(uuid::Uuid::parse_str(&s).is_ok());
        }
        if ids::matches_genesis(&s, &hash) {
            prop_assert!(derived);
            prop_assert_eq!(
                uuid::Uuid::parse_str(&s).unwrap().to_string(),
                ids::derived_doc_id(&hash)
            );
        }
    }

    /// Any commune code and name make a village id: a UUID v5, the same
    /// however the name's spaces fall.
    #[test]
    fn village_ids_from_any_text(commune in text(), name in text()) {
        let id = ids::village_id(&commune, &name);
        let u = uuid::Uuid::parse_str(&id).unwrap();
        prop_assert_eq!(u.get_version_num(), 5);
        prop_assert_eq!(ids::village_id(&format!(" {commune} "), &format!(" {name} ")), id);
    }

    #[test]
    fn json_values_round_trip(
        e in enroll_request(),
        p in push_response(),
        r in enroll_response(),
        (error, message, reason) in (text(), text(), proptest::option::of(text())),
        (changes, documents) in any::<(u64, u64)>(),
        (server_version, protocol_version) in (text(), any::<u32>()),
    ) {
        round_trips(&e)?;
        round_trips(&p)?;
        round_trips(&r)?;
        round_trips(&r.assignment())?;
        round_trips(&ErrorBody { error, message, reason })?;
        round_trips(&UnsentResponse { changes, documents })?;
        round_trips(&Info { server_version, protocol_version })?;
    }

    /// Arbitrary bytes as each JSON type: a value or an error, never a panic.
    #[test]
    fn json_from_any_bytes(b in bytes(256)) {
        decodes_or_refuses::<EnrollRequest>(&b)?;
        decodes_or_refuses::<EnrollResponse>(&b)?;
        decodes_or_refuses::<Assignment>(&b)?;
        decodes_or_refuses::<PushResponse>(&b)?;
        decodes_or_refuses::<ErrorBody>(&b)?;
        decodes_or_refuses::<UnsentResponse>(&b)?;
        decodes_or_refuses::<Info>(&b)?;
    }

    /// Real JSON of each type, damaged: arbitrary bytes rarely get past the
    /// first brace, these reach every field's decoder.
    #[test]
    fn damaged_json(
        e in enroll_request(),
        p in push_response(),
        r in enroll_response(),
        d in damages(),
    ) {
        decodes_or_refuses::<EnrollRequest>(&damaged(serde_json::to_vec(&e).unwrap(), &d))?;
        decodes_or_refuses::<PushResponse>(&damaged(serde_json::to_vec(&p).unwrap(), &d))?;
        decodes_or_refuses::<EnrollResponse>(&damaged(serde_json::to_vec(&r).unwrap(), &d))?;
        decodes_or_refuses::<Assignment>(&damaged(serde_json::to_vec(&r.assignment()).unwrap(), &d))?;
    }
}
