//! Every entry point for received bytes (`import_changes`, `apply_pulled`,
//! `import_doc` and the document reader behind it) over arbitrary bytes and
//! over damaged real changes and saved documents, on a store that already
//! holds a household: no panic; what is refused leaves the store exactly as it
//! was; what is taken leaves it consistent and usable.
//!
//! Modest case counts by default (CI has 2 cores); `PROPTEST_CASES` runs more.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers, not input paths

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use field_core::store::bundle;
use field_core::*;
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// Two households made on one store: created, edited, a member, a visit.
struct Source {
    _dir: TempDir,
    /// A store holding the first household only: each case starts from a copy.
    base: PathBuf,
    /// The first household's id (in `base`).
    first: String,
    /// The second household's id.
    other: String,
    /// Every change of both households, per document.
    changes: Vec<DocChanges>,
    /// The second household's saved document.
    saved_doc: Vec<u8>,
}

fn init(s: &Store) {
    s.init(InitRequest {
        volunteer_name: "Hà Văn Tú".into(),
        volunteer_phone: None,
        team_name: "Tổ Công nghệ số cộng đồng thôn Đông".into(),
        commune_code: "00097".into(),
        village_names: vec!["Thôn Đông".into()],
    })
    .unwrap();
}

fn household(s: &Store, head: &str) -> String {
    let h = s
        .add_household(NewHousehold {
            village: "thon dong".into(),
            address: "Xóm 1, Thôn Đông".into(),
            head_name: head.into(),
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
    s.record_visit(
        &h.id,
        NewVisit {
            person_ids: vec![p.id],
            services: vec![ServiceOutcome {
                service: "vneid_activate".into(),
                outcome: "done".into(),
                note: Some("Bà muốn học thêm".into()),
            }],
            duration_minutes: Some(30),
            ..Default::default()
        },
    )
    .unwrap();
    h.id
}

fn source() -> &'static Source {
    static SOURCE: OnceLock<Source> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let dir = TempDir::new().unwrap();
        let author = Store::open(
            dir.path().join("author.sqlite"),
            &field_core::StoreKey::Unencrypted,
        )
        .unwrap();
        init(&author);
        let first = household(&author, "Nguyễn Văn Hạnh");
        let other = household(&author, "Lò Thị Mai");
        let changes = bundle::decode(&author.export_changes(None).unwrap()).unwrap();
        let saved_doc = author.export_doc(&other).unwrap();

        let base = dir.path().join("base.sqlite");
        let b = Store::open(&base, &field_core::StoreKey::Unencrypted).unwrap();
        init(&b);
        let mine: Vec<DocChanges> = changes
            .iter()
            .filter(|d| d.doc_id == first)
            .cloned()
            .collect();
        b.import_changes(&bundle::encode(&mine)).unwrap();
        drop(b); // the last connection closing folds the WAL into the file
        Source {
            _dir: dir,
            base,
            first,
            other,
            changes,
            saved_doc,
        }
    })
}

fn fresh(dir: &TempDir) -> Store {
    let path = dir.path().join("case.sqlite");
    std::fs::copy(&source().base, &path).unwrap();
    Store::open(&path, &field_core::StoreKey::Unencrypted).unwrap()
}

/// Everything a refused input must leave as it was.
fn fingerprint(s: &Store) -> String {
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        s.projection_dump().unwrap(),
        s.doc_heads().unwrap(),
        s.status().unwrap(),
        s.pull_cursor().unwrap(),
        s.quarantined().unwrap(),
    )
}

/// The store is consistent and still takes local work.
fn usable(s: &Store, path: &Path) -> Result<(), TestCaseError> {
    prop_assert_eq!(s.integrity_check().unwrap(), "ok");
    let dump = s.projection_dump().unwrap();
    s.rebuild_projection().unwrap();
    prop_assert_eq!(s.projection_dump().unwrap(), dump);
    let listed = s.list_households(None, 100).unwrap();
    prop_assert!(!listed.is_empty());
    for h in &listed {
        // A household a damaged input made unreadable is refused, not a panic.
        let _ = s.household(&h.id);
    }
    let first = &source().first;
    s.edit_household(
        first,
        HouseholdEdit {
            address: Some("Xóm 9".into()),
            ..Default::default()
        },
    )
    .unwrap();
    // A store opened afresh (no cache) reads the same.
    let shown = s.household(first).unwrap();
    let again = Store::open(path, &field_core::StoreKey::Unencrypted).unwrap();
    prop_assert_eq!(again.household(first).unwrap(), shown);
    Ok(())
}

/// Writes the checksum that matches the bytes after it (one chunk).
fn fix_checksum(bytes: &mut [u8]) {
    if bytes.len() > 8 {
        let hash = Sha256::digest(&bytes[8..]);
        bytes[4..8].copy_from_slice(&hash[..4]);
    }
}

/// The offset of a chunk's body: after magic (4), checksum (4), chunk type (1)
/// and the body's LEB128 length.
fn body_start(bytes: &[u8]) -> usize {
    let mut i = 9;
    while i < bytes.len() && bytes[i] & 0x80 != 0 {
        i += 1;
    }
    (i + 1).min(bytes.len())
}

/// `xors` applied inside the body of `bytes`, the checksum made right again.
fn damaged(bytes: &[u8], xors: &[(f64, u8)]) -> Vec<u8> {
    let mut m = bytes.to_vec();
    let start = body_start(&m);
    if start < m.len() {
        for (at, xor) in xors {
            let i = (start + ((m.len() - start) as f64 * at) as usize).min(m.len() - 1);
            m[i] ^= xor;
        }
    }
    fix_checksum(&mut m);
    m
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn xors() -> impl Strategy<Value = Vec<(f64, u8)>> {
    proptest::collection::vec((0.0..1.0f64, 1..=255u8), 1..4)
}

/// Imports `input` through one entry point; for a refusal, checks that the
/// store did not change; for an answer, that it is consistent and usable.
fn take(s: &Store, path: &Path, entry: u8, input: &[u8]) -> Result<(), TestCaseError> {
    let before = fingerprint(s);
    let taken = match entry {
        0 => s.import_changes(input).map(|_| ()),
        1 => s.apply_pulled(input, 77).map(|_| ()),
        _ => s.import_doc(input).map(|_| ()),
    };
    match taken {
        Ok(()) => {
            if entry == 1 {
                prop_assert_eq!(s.pull_cursor().unwrap(), Some(77));
            }
            usable(s, path)
        }
        Err(e) => {
            prop_assert_eq!(fingerprint(s), before, "changed by a refused input: {}", e);
            usable(s, path)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(16),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Real changes of both households, some damaged (checksums made right),
    /// through `import_changes` or `apply_pulled`, alone or after the genuine
    /// changes they stand for.
    #[test]
    fn damaged_changes(
        entry in 0..2u8,
        with_genuine in any::<bool>(),
        picks in proptest::collection::vec((any::<usize>(), xors()), 1..4),
    ) {
        let src = source();
        let all: Vec<(usize, &Vec<u8>)> = src
            .changes
            .iter()
            .enumerate()
            .flat_map(|(i, d)| d.changes.iter().map(move |c| (i, c)))
            .collect();
        let mut out: Vec<DocChanges> = if with_genuine {
            src.changes.clone()
        } else {
            src.changes.iter().map(|d| DocChanges { doc_id: d.doc_id.clone(), changes: vec![] }).collect()
        };
        for (which, x) in &picks {
            let (doc, original) = all[which % all.len()];
            out[doc].changes.push(damaged(original, x));
        }
        let dir = TempDir::new().unwrap();
        let s = fresh(&dir);
        take(&s, &dir.path().join("case.sqlite"), entry, &bundle::encode(&out))?;
    }

    /// The second household's saved document, damaged (checksum made right),
    /// through `import_doc` (the document reader), then its genuine changes.
    #[test]
    fn damaged_saved_documents(x in xors()) {
        let src = source();
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("case.sqlite");
        let s = fresh(&dir);
        let mangled = damaged(&src.saved_doc, &x);
        take(&s, &path, 2, &mangled)?;
        // Whatever it took, the genuine household still arrives whole, or
        // waits or is set aside; never a panic, never a broken store.
        let genuine: Vec<DocChanges> = src
            .changes
            .iter()
            .filter(|d| d.doc_id == src.other)
            .cloned()
            .collect();
        take(&s, &path, 0, &bundle::encode(&genuine))?;
        // The undamaged document is read as the household it is.
        let (id, _) = s.import_doc(&src.saved_doc).unwrap();
        prop_assert_eq!(&id, &src.other);
        usable(&s, &path)?;
    }

    /// Any bytes, raw or inside a well-formed bundle, into every entry point.
    #[test]
    fn arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        wrap in any::<bool>(),
        entry in 0..3u8,
    ) {
        let input = if wrap {
            bundle::encode(&[DocChanges { doc_id: source().other.clone(), changes: vec![bytes] }])
        } else {
            bytes
        };
        let dir = TempDir::new().unwrap();
        let s = fresh(&dir);
        take(&s, &dir.path().join("case.sqlite"), entry, &input)?;
    }
}
