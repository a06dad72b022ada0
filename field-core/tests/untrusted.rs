//! Bytes from outside are untrusted, Automerge changes from other devices
//! included: a change that makes Automerge panic or fail is quarantined, a change
//! whose dependencies are missing waits, and nothing stops the store.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers, not input paths

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use automerge::Change;
use field_core::store::bundle;
use field_core::*;
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

const POISON: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/integrity/poison-household.changes"
);
/// The fixture was written by protocol 1, under the household's random id;
/// a store names it by the id derived from its first change.
const POISON_LEGACY_ID: &str = "01a2087c-9607-7350-a11f-65652077ec67";

/// A household id of the derived form, bound to no change in particular.
const SOME_HOUSEHOLD: &str = "07070707-0707-8707-8707-070707070707";

fn poison_household() -> String {
    let docs = bundle::decode(&poison()).unwrap();
    assert_eq!(docs[0].doc_id, POISON_LEGACY_ID);
    let first = Change::from_bytes(docs[0].changes[0].clone()).unwrap();
    assert!(first.deps().is_empty());
    gocua_protocol::ids::derived_doc_id(&first.hash().0)
}

fn init(s: &Store, volunteer: &str) {
    s.init(InitRequest {
        volunteer_name: volunteer.into(),
        volunteer_phone: None,
        team_name: "Tổ Công nghệ số cộng đồng thôn Đông".into(),
        commune_code: "00097".into(),
        village_names: vec!["Thôn Đông".into()],
    })
    .unwrap();
}

/// An empty, initialized store file, made once and copied for each case:
/// seeding the reference data is the slow part of opening a new store.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = TEMPLATE.get_or_init(|| {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("template.sqlite");
        let s = Store::open(&path, &field_core::StoreKey::Unencrypted).unwrap();
        init(&s, "Hà Văn Tú");
        drop(s); // the last connection closing folds the WAL into the file
        (dir, path)
    });
    path
}

fn fresh(dir: &TempDir, name: &str) -> Store {
    let path = dir.path().join(format!("{name}.sqlite"));
    std::fs::copy(template(), &path).unwrap();
    Store::open(&path, &field_core::StoreKey::Unencrypted).unwrap()
}

fn poison() -> Vec<u8> {
    std::fs::read(POISON).unwrap()
}

fn hashes_in(bundle_bytes: &[u8]) -> Vec<String> {
    bundle::decode(bundle_bytes)
        .unwrap()
        .into_iter()
        .flat_map(|d| d.changes)
        .map(|b| Change::from_bytes(b).unwrap().hash().to_string())
        .collect()
}

#[test]
fn the_poison_bundle_is_applied_and_its_crafted_change_quarantined() {
    let dir = TempDir::new().unwrap();
    let s = fresh(&dir, "a");
    let report = s.import_changes(&poison()).unwrap();
    assert_eq!(report.changes_applied, 2, "{report:?}");
    assert_eq!(report.quarantined, 1, "{report:?}");
    assert_eq!(report.waiting, 0, "{report:?}");
    assert_eq!(report.documents, 1);

    let h = s.household(&poison_household()).unwrap();
    assert_eq!(h.id, poison_household());
    assert_eq!(s.list_households(None, 10).unwrap().len(), 1);
    let quarantined = s.quarantined().unwrap();
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    let q = &quarantined[0];
    assert_eq!(q.doc_id, poison_household());
    assert_eq!(q.origin, "peer");
    assert!(q.reason.contains("Automerge"), "{}", q.reason);
    assert!(!q.received_at.is_empty());
    let bundle_hashes = hashes_in(&poison());
    assert!(bundle_hashes.contains(&q.hash));

    // The household works as any other.
    let edited = s
        .edit_household(
            &poison_household(),
            HouseholdEdit {
                phone: Some("0912345678".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(edited.phone.as_deref(), Some("0912345678"));

    // Receiving it again changes nothing and retries nothing.
    let before = s.projection_dump().unwrap();
    let again = s.import_changes(&poison()).unwrap();
    assert_eq!(again.changes_applied, 0, "{again:?}");
    assert_eq!(again.changes_known, 2, "{again:?}");
    assert_eq!(again.quarantined, 1, "skipped, counted: {again:?}");
    assert_eq!(s.projection_dump().unwrap(), before);
    assert_eq!(s.quarantined().unwrap(), quarantined);

    // Never queued for the server, never exported.
    let st = s.status().unwrap();
    assert_eq!(st.quarantined_changes, 1);
    assert_eq!(st.waiting_changes, 0);
    assert_eq!(st.pending_changes, 3, "the two received and the local edit");
    let exported = hashes_in(&s.export_changes(None).unwrap());
    assert_eq!(exported.len(), 3);
    assert!(!exported.contains(&q.hash));
    assert_eq!(s.integrity_check().unwrap(), "ok");
    let dump = s.projection_dump().unwrap();
    s.rebuild_projection().unwrap();
    assert_eq!(s.projection_dump().unwrap(), dump);

    // A store opened afresh (no cache) reads the same.
    let shown = s.household(&poison_household()).unwrap();
    drop(s);
    let s = Store::open(
        dir.path().join("a.sqlite"),
        &field_core::StoreKey::Unencrypted,
    )
    .unwrap();
    assert_eq!(s.household(&poison_household()).unwrap(), shown);
}

#[test]
fn a_pulled_page_with_the_crafted_change_is_applied_with_its_cursor() {
    let dir = TempDir::new().unwrap();
    let s = fresh(&dir, "p");
    let r = s.apply_pulled(&poison(), 41).unwrap();
    assert_eq!((r.changes_applied, r.quarantined), (2, 1), "{r:?}");
    assert_eq!(s.pull_cursor().unwrap(), Some(41));
    let q = s.quarantined().unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].origin, "server");
    // From the server: nothing of it goes back to the server.
    assert_eq!(s.status().unwrap().pending_changes, 0);
    s.household(&poison_household()).unwrap();
}

/// Three households' changes from a real store: created, edited, members added,
/// visits recorded. Per document, in the order `export_changes` gives them.
fn source_changes() -> &'static (Store, Vec<DocChanges>) {
    static SOURCE: OnceLock<(TempDir, (Store, Vec<DocChanges>))> = OnceLock::new();
    &SOURCE
        .get_or_init(|| {
            let dir = TempDir::new().unwrap();
            let path = dir.path().join("source.sqlite");
            std::fs::copy(template(), &path).unwrap();
            let s = Store::open(&path, &field_core::StoreKey::Unencrypted).unwrap();
            for (i, head) in ["Nguyễn Văn Hạnh", "Lò Thị Mai", "Đàm Văn Tú"]
                .iter()
                .enumerate()
            {
                let h = s
                    .add_household(NewHousehold {
                        village: "thon dong".into(),
                        address: format!("Xóm {i}, Thôn Đông"),
                        head_name: (*head).into(),
                        phone: Some("0912000111".into()),
                        member_count: Some(3),
                        device_access: Some("smartphone".into()),
                        target_groups: vec!["elderly".into()],
                    })
                    .unwrap();
                s.edit_household(
                    &h.id,
                    HouseholdEdit {
                        phone: Some("0987654321".into()),
                        add_target_groups: vec!["poor".into()],
                        ..Default::default()
                    },
                )
                .unwrap();
                let p = s
                    .add_member(
                        &h.id,
                        NewPerson {
                            name: "Trần Thị Thủy".into(),
                            birth_year: Some(1958),
                            gender: Some("female".into()),
                            ..Default::default()
                        },
                    )
                    .unwrap();
                for service in ["vneid_activate", "ehealth_book"] {
                    s.record_visit(
                        &h.id,
                        NewVisit {
                            person_ids: vec![p.id.clone()],
                            services: vec![ServiceOutcome {
                                service: service.into(),
                                outcome: "done".into(),
                                note: Some("Bà muốn học thêm".into()),
                            }],
                            duration_minutes: Some(30),
                            ..Default::default()
                        },
                    )
                    .unwrap();
                }
            }
            let docs = bundle::decode(&s.export_changes(None).unwrap()).unwrap();
            (dir, (s, docs))
        })
        .1
}

fn bundle_of(docs: Vec<DocChanges>) -> Vec<u8> {
    bundle::encode(&docs)
}

/// The offset of a change chunk's body: after magic (4), checksum (4), chunk
/// type (1) and the body's LEB128 length.
fn body_start(bytes: &[u8]) -> usize {
    let mut i = 9;
    while bytes[i] & 0x80 != 0 {
        i += 1;
    }
    i + 1
}

/// Writes the checksum that matches the bytes after it.
fn fix_checksum(bytes: &mut [u8]) {
    let hash = Sha256::digest(&bytes[8..]);
    bytes[4..8].copy_from_slice(&hash[..4]);
}

#[test]
fn the_checksum_is_the_start_of_the_sha256_of_the_chunk() {
    let (_, docs) = source_changes();
    for bytes in docs.iter().flat_map(|d| &d.changes) {
        let change = Change::from_bytes(bytes.clone()).unwrap();
        let hash = change.hash();
        assert_eq!(&bytes[4..8], &hash.0[..4]);
        assert_eq!(Sha256::digest(&bytes[8..]).as_slice(), &hash.0[..]);
        let mut fixed = bytes.clone();
        fixed[4..8].copy_from_slice(&[0, 0, 0, 0]);
        fix_checksum(&mut fixed);
        assert_eq!(&fixed, bytes);
    }
}

#[test]
fn changes_wait_for_their_dependencies_then_apply() {
    let (source, docs) = source_changes();
    let d = &docs[0];
    let dir = TempDir::new().unwrap();
    let s = fresh(&dir, "b");
    // Everything but the first change: nothing can apply yet.
    let later = bundle_of(vec![DocChanges {
        doc_id: d.doc_id.clone(),
        changes: d.changes[1..].to_vec(),
    }]);
    let r = s.import_changes(&later).unwrap();
    assert_eq!(r.changes_applied, 0, "{r:?}");
    assert_eq!(r.waiting, d.changes.len() as u64 - 1, "{r:?}");
    let st = s.status().unwrap();
    assert_eq!(st.waiting_changes, d.changes.len() as i64 - 1);
    assert_eq!(st.households, 0);
    assert_eq!(st.pending_changes, 0, "waiting changes are not sent on");
    // Received again: still waiting, nothing doubled.
    let r = s.import_changes(&later).unwrap();
    assert_eq!(r.waiting, d.changes.len() as u64 - 1, "{r:?}");
    assert_eq!(s.status().unwrap().waiting_changes, st.waiting_changes);

    let first = bundle_of(vec![DocChanges {
        doc_id: d.doc_id.clone(),
        changes: d.changes[..1].to_vec(),
    }]);
    let r = s.import_changes(&first).unwrap();
    assert_eq!(r.changes_applied, d.changes.len() as u64, "{r:?}");
    assert_eq!(r.waiting, 0);
    let st = s.status().unwrap();
    assert_eq!(st.waiting_changes, 0);
    assert_eq!(st.pending_changes, d.changes.len() as i64);
    assert_eq!(
        s.household(&d.doc_id).unwrap(),
        source.household(&d.doc_id).unwrap()
    );
}

#[test]
fn stored_changes_with_missing_dependencies_keep_working() {
    // A store from before the waiting table kept such changes as change rows,
    // and Automerge held them queued.
    let (source, docs) = source_changes();
    let d = &docs[1];
    let dir = TempDir::new().unwrap();
    let s = fresh(&dir, "c");
    let r = s
        .import_changes(&bundle_of(vec![DocChanges {
            doc_id: d.doc_id.clone(),
            changes: d.changes[..1].to_vec(),
        }]))
        .unwrap();
    assert_eq!(r.changes_applied, 1);
    {
        let c = rusqlite::Connection::open(s.path()).unwrap();
        for bytes in &d.changes[2..] {
            let hash = Change::from_bytes(bytes.clone())
                .unwrap()
                .hash()
                .to_string();
            c.execute(
                "INSERT INTO doc_changes (doc_id, hash, bytes) VALUES (?1, ?2, ?3)",
                rusqlite::params![d.doc_id, hash, bytes],
            )
            .unwrap();
        }
    }
    // Reading and writing the household still work.
    let h = s.household(&d.doc_id).unwrap();
    assert_eq!(h.members.len(), 0);
    s.rebuild_projection().unwrap();
    // The missing change arrives: the stored ones apply after it.
    let r = s
        .import_changes(&bundle_of(vec![DocChanges {
            doc_id: d.doc_id.clone(),
            changes: d.changes[1..2].to_vec(),
        }]))
        .unwrap();
    assert_eq!(r.changes_applied, 1, "{r:?}");
    assert_eq!(
        s.household(&d.doc_id).unwrap(),
        source.household(&d.doc_id).unwrap()
    );
    let reopened = Store::open(s.path(), &field_core::StoreKey::Unencrypted).unwrap();
    assert_eq!(
        reopened.household(&d.doc_id).unwrap(),
        source.household(&d.doc_id).unwrap()
    );
}

/// What the target lacks of the source's changes.
fn missing_from(target: &Store) -> usize {
    let (source, _) = source_changes();
    let lacking = source
        .export_changes(Some(&target.doc_heads().unwrap()))
        .unwrap();
    bundle::decode(&lacking)
        .unwrap()
        .iter()
        .map(|d| d.changes.len())
        .sum()
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// (which change, where in its body as a fraction, xor value) per mutated byte.
fn mutation() -> impl Strategy<Value = (usize, Vec<(f64, u8)>)> {
    (
        any::<usize>(),
        proptest::collection::vec((0.0..1.0f64, 1..=255u8), 1..4),
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        // Each case opens a store and imports a bundle: 24 by default, more in CI.
        cases: cases(24),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Real changes with random bytes changed and the checksum made right again,
    /// sent with the genuine ones: no panic escapes, the store stays consistent,
    /// and every genuine change is applied whenever the bundle is taken.
    #[test]
    fn mutated_changes_never_stop_the_store(
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let (_, docs) = source_changes();
        let all: Vec<(usize, &Vec<u8>)> = docs
            .iter()
            .enumerate()
            .flat_map(|(i, d)| d.changes.iter().map(move |c| (i, c)))
            .collect();
        let mut out: Vec<DocChanges> = docs.clone();
        let mut unparsable: Vec<DocChanges> = Vec::new();
        for (which, bytes) in &mutations {
            let (doc, original) = all[which % all.len()];
            let mut m = original.clone();
            let start = body_start(&m);
            for (at, xor) in bytes {
                let i = start + ((m.len() - start) as f64 * at) as usize;
                let i = i.min(m.len() - 1);
                m[i] ^= xor;
            }
            fix_checksum(&mut m);
            let copy = m.clone();
            let parses = matches!(
                std::panic::catch_unwind(move || Change::from_bytes(copy).is_ok()),
                Ok(true)
            );
            if parses {
                // After the genuine changes: a forged change that claims a genuine
                // one's actor and sequence number and comes first is taken, and
                // the genuine one refused; only signatures could tell them apart.
                out[doc].changes.push(m);
            } else {
                unparsable.push(DocChanges { doc_id: docs[doc].doc_id.clone(), changes: vec![m] });
            }
        }
        let dir = TempDir::new().unwrap();
        let s = fresh(&dir, "t");
        let r = s.import_changes(&bundle_of(out));
        prop_assert!(r.is_ok(), "{:?}", r);
        prop_assert_eq!(missing_from(&s), 0, "genuine changes not applied: {:?}", r);
        // An item that does not parse (damage in transit) refuses its bundle
        // whole, and nothing is stored.
        if !unparsable.is_empty() {
            let before = s.projection_dump().unwrap();
            let refused = s.import_changes(&bundle_of(unparsable));
            prop_assert!(matches!(refused, Err(Error::BadChanges(_))), "{:?}", refused);
            prop_assert_eq!(s.projection_dump().unwrap(), before);
        }
        prop_assert_eq!(s.integrity_check().unwrap(), "ok");
        let dump = s.projection_dump().unwrap();
        s.rebuild_projection().unwrap();
        prop_assert_eq!(s.projection_dump().unwrap(), dump);
        // The households still take local edits.
        for d in s.list_households(None, 10).unwrap() {
            s.edit_household(&d.id, HouseholdEdit {
                address: Some("Xóm 9".into()),
                ..Default::default()
            }).unwrap();
        }
    }

    /// Any bytes, raw or inside a well-formed bundle or document header, into
    /// every entry point for received data: an answer, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        wrap in 0..4u8,
    ) {
        let input = match wrap {
            0 => bytes,
            // A well-formed bundle around one random item.
            1 => bundle_of(vec![DocChanges {
                doc_id: SOME_HOUSEHOLD.into(),
                changes: vec![bytes],
            }]),
            // A random change chunk with a right checksum.
            2 => {
                let body = &bytes[..bytes.len().min(127)];
                let mut c = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, body.len() as u8];
                c.extend_from_slice(body);
                fix_checksum(&mut c);
                bundle_of(vec![DocChanges {
                    doc_id: SOME_HOUSEHOLD.into(),
                    changes: vec![c],
                }])
            }
            // A random document chunk with a right checksum.
            _ => {
                let body = &bytes[..bytes.len().min(127)];
                let mut c = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 0, body.len() as u8];
                c.extend_from_slice(body);
                fix_checksum(&mut c);
                c
            }
        };
        let dir = TempDir::new().unwrap();
        let s = fresh(&dir, "t");
        let _ = s.import_changes(&input);
        let _ = s.import_doc(&input);
        let _ = s.apply_pulled(&input, 7);
        prop_assert_eq!(s.integrity_check().unwrap(), "ok");
        let dump = s.projection_dump().unwrap();
        s.rebuild_projection().unwrap();
        prop_assert_eq!(s.projection_dump().unwrap(), dump);
    }
}
