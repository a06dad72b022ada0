//! The encrypted store: nothing personal reaches the disk in the clear, a
//! wrong key is told as such and changes nothing, a plain store is encrypted
//! in place with everything in it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests

use std::path::Path;

use field_core::store::cipher::{self, FileState};
use field_core::*;
use tempfile::TempDir;

const KEY: [u8; 32] = [7; 32];
const HEAD: &str = "Hoàng Thị Xuyến";
const MEMBER: &str = "Lò Văn Quỳnh";
const PHONE: &str = "0971234568";
const ID_NUMBER: &str = "001088004567";

/// What would identify the family, as the store could hold it: as typed, in
/// the search index's folded form, and the member's ID number.
fn secrets() -> Vec<Vec<u8>> {
    let mut s: Vec<Vec<u8>> = [
        HEAD,
        MEMBER,
        PHONE,
        ID_NUMBER,
        "hoang thi xuyen",
        "xuyen",
        "quynh",
    ]
    .iter()
    .map(|t| t.as_bytes().to_vec())
    .collect();
    // Automerge keeps text as UTF-8; SQLite as UTF-8 too. A UTF-16 copy
    // would be a surprise worth knowing about.
    s.push(HEAD.encode_utf16().flat_map(|u| u.to_le_bytes()).collect());
    s
}

/// The secrets found in any file under `dir`, with the file they are in.
fn leaks(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        for s in secrets() {
            if bytes.windows(s.len()).any(|w| w == s.as_slice()) {
                found.push(format!(
                    "{} holds {:?}",
                    path.file_name().unwrap().to_string_lossy(),
                    String::from_utf8_lossy(&s)
                ));
            }
        }
    }
    found
}

fn fill(s: &Store) {
    s.init(InitRequest {
        volunteer_name: "Tình nguyện viên".into(),
        volunteer_phone: None,
        team_name: "Tổ CNSCĐ".into(),
        commune_code: "00097".into(),
        village_names: vec!["Bản Mường".into()],
    })
    .unwrap();
    let h = s
        .add_household(NewHousehold {
            head_name: HEAD.into(),
            phone: Some(PHONE.into()),
            address: "Đội 3".into(),
            ..Default::default()
        })
        .unwrap();
    s.add_member(
        &h.id,
        NewPerson {
            name: MEMBER.into(),
            birth_year: Some(1988),
            id_number: Some(ID_NUMBER.into()),
            ..Default::default()
        },
    )
    .unwrap();
    s.record_visit(
        &h.id,
        NewVisit {
            services: vec![ServiceOutcome {
                service: "vneid_activate".into(),
                outcome: "done".into(),
                note: Some(format!("Đã giúp {MEMBER} kích hoạt VNeID")),
            }],
            feedback: Some(format!("{MEMBER} hài lòng")),
            ..Default::default()
        },
    )
    .unwrap();
    // The search index and its sorts run too.
    assert_eq!(s.search("xuyen", 10).unwrap().households.len(), 1);
}

#[test]
fn nothing_personal_reaches_the_disk_in_the_clear() {
    // The scan finds what a plain store holds: it can fail.
    let plain = TempDir::new().unwrap();
    let s = Store::open(plain.path().join("store.sqlite"), &StoreKey::Unencrypted).unwrap();
    fill(&s);
    let found = leaks(plain.path());
    assert!(found.iter().any(|l| l.contains(HEAD)), "{found:?}");
    assert!(found.iter().any(|l| l.contains(ID_NUMBER)), "{found:?}");
    drop(s);

    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.sqlite");
    let s = Store::open(&path, &StoreKey::Raw(KEY)).unwrap();
    fill(&s);
    s.rebuild_projection().unwrap();
    // Open (with its WAL and shared memory) and after closing.
    assert_eq!(leaks(dir.path()), Vec::<String>::new());
    let exported = s.export_changes(None).unwrap();
    drop(s);
    assert_eq!(leaks(dir.path()), Vec::<String>::new());
    assert_eq!(cipher::file_state(&path).unwrap(), FileState::Encrypted);

    // A change file the volunteer exports is plaintext by their choice.
    let file = dir.path().join("to-a-neighbour.changes");
    std::fs::write(&file, exported).unwrap();
    assert!(!leaks(dir.path()).is_empty());
}

#[test]
fn a_wrong_key_is_told_and_changes_nothing() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.sqlite");
    let s = Store::open(&path, &StoreKey::Raw(KEY)).unwrap();
    fill(&s);
    drop(s);
    let before = std::fs::read(&path).unwrap();

    let wrong = Store::open(&path, &StoreKey::Raw([8; 32])).unwrap_err();
    assert!(matches!(wrong, Error::WrongKey { .. }), "{wrong:?}");
    assert!(wrong.to_string().contains("key does not open"), "{wrong}");
    assert!(wrong.is_user_error());
    let passphrase = Store::open(&path, &StoreKey::Passphrase("not it at all".into())).unwrap_err();
    assert!(
        matches!(passphrase, Error::WrongKey { .. }),
        "{passphrase:?}"
    );
    let none = Store::open(&path, &StoreKey::Unencrypted).unwrap_err();
    assert!(matches!(none, Error::KeyNeeded { .. }), "{none:?}");

    assert_eq!(std::fs::read(&path).unwrap(), before);
    let s = Store::open(&path, &StoreKey::Raw(KEY)).unwrap();
    assert_eq!(s.list_households(None, 10).unwrap().len(), 1);
}

#[test]
fn a_passphrase_opens_whichever_way_its_tones_were_typed() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.sqlite");
    // "Mật khẩu" composed (NFC), then decomposed (NFD) as some keyboards type it.
    let composed = "M\u{1EAD}t kh\u{1EA9}u b\u{00ED} m\u{1EAD}t";
    let decomposed = "Ma\u{0323}\u{0302}t kha\u{0302}\u{0309}u bi\u{0301} ma\u{0323}\u{0302}t";
    assert_ne!(composed, decomposed);
    let s = Store::open(&path, &StoreKey::Passphrase(composed.into())).unwrap();
    fill(&s);
    drop(s);
    let s = Store::open(&path, &StoreKey::Passphrase(decomposed.into())).unwrap();
    assert_eq!(s.list_households(None, 10).unwrap().len(), 1);
}

#[test]
fn a_plain_store_is_encrypted_in_place_with_everything_in_it() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.sqlite");
    let s = Store::open(&path, &StoreKey::Unencrypted).unwrap();
    fill(&s);
    // While another handle has it open, whose writes would go to the file
    // replaced, the store is not encrypted and the refusal says why.
    let busy = Store::open(&path, &StoreKey::Raw(KEY)).unwrap_err();
    assert!(matches!(busy, Error::InUse { .. }), "{busy:?}");
    assert_eq!(cipher::file_state(&path).unwrap(), FileState::Plain);
    s.record_visit(&s.list_households(None, 1).unwrap()[0].id, one_service())
        .unwrap();
    let heads = s.doc_heads().unwrap();
    let rows = s.projection_dump().unwrap();
    let pending = s.status().unwrap();
    drop(s);
    let s2 = Store::open(&path, &StoreKey::Raw(KEY)).unwrap();
    assert_eq!(cipher::file_state(&path).unwrap(), FileState::Encrypted);
    assert_eq!(s2.doc_heads().unwrap(), heads);
    assert_eq!(s2.projection_dump().unwrap(), rows);
    assert_eq!(s2.status().unwrap(), pending);
    s2.record_visit(&s2.list_households(None, 1).unwrap()[0].id, one_service())
        .unwrap();
    drop(s2);
    assert_eq!(leaks(dir.path()), Vec::<String>::new());
    assert!(!cipher::encrypting_path(&path).exists());
    // The same store, not a copy: its actor was kept, none retired.
    assert_eq!(retired_actors(&path, KEY), "");
    let none = Store::open(&path, &StoreKey::Unencrypted).unwrap_err();
    assert!(matches!(none, Error::KeyNeeded { .. }), "{none:?}");
}

fn one_service() -> NewVisit {
    NewVisit {
        services: vec![ServiceOutcome {
            service: "scam_awareness".into(),
            outcome: "done".into(),
            note: None,
        }],
        ..Default::default()
    }
}

#[test]
fn a_wiped_store_is_as_new_and_keeps_the_reference_data() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.sqlite");
    let s = Store::open(&path, &StoreKey::Raw(KEY)).unwrap();
    fill(&s);
    let communes = s.catalogue("services").unwrap().len();
    s.wipe_local_data().unwrap();
    assert!(matches!(s.identity(), Err(Error::NotInitialized)));
    assert_eq!(s.doc_heads().unwrap(), vec![]);
    assert_eq!(s.pending_changes().unwrap(), 0);
    assert_eq!(s.catalogue("services").unwrap().len(), communes);
    drop(s);
    // Reopened: as new, and it can be set up again.
    let s = Store::open(&path, &StoreKey::Raw(KEY)).unwrap();
    assert!(matches!(s.identity(), Err(Error::NotInitialized)));
    fill(&s);
    assert_eq!(s.list_households(None, 10).unwrap().len(), 1);
}

#[test]
fn the_key_changes_with_everything_kept_and_not_while_the_store_is_open() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.sqlite");
    let s = Store::open(&path, &StoreKey::Raw(KEY)).unwrap();
    fill(&s);
    let rows = s.projection_dump().unwrap();
    let busy = cipher::change_key(&path, &StoreKey::Raw(KEY), &StoreKey::Raw([9; 32])).unwrap_err();
    assert!(matches!(busy, Error::InUse { .. }), "{busy:?}");
    drop(s);
    let wrong =
        cipher::change_key(&path, &StoreKey::Raw([1; 32]), &StoreKey::Raw([9; 32])).unwrap_err();
    assert!(matches!(wrong, Error::WrongKey { .. }), "{wrong:?}");
    cipher::change_key(&path, &StoreKey::Raw(KEY), &StoreKey::Raw([9; 32])).unwrap();
    let old = Store::open(&path, &StoreKey::Raw(KEY)).unwrap_err();
    assert!(matches!(old, Error::WrongKey { .. }), "{old:?}");
    let s = Store::open(&path, &StoreKey::Raw([9; 32])).unwrap();
    assert_eq!(s.projection_dump().unwrap(), rows);
    drop(s);
    assert_eq!(
        retired_actors(&path, [9; 32]),
        "",
        "a changed key is not a copied store"
    );
}

/// The actors the store at `path` retired (renewed when it took its file for
/// a copy), read directly with its raw `key`.
fn retired_actors(path: &Path, key: [u8; 32]) -> String {
    use rusqlite::OptionalExtension;
    let conn = rusqlite::Connection::open(path).unwrap();
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    conn.pragma_update(None, "key", format!("x'{hex}'"))
        .unwrap();
    conn.pragma_update(None, "cipher_hmac_algorithm", cipher::HMAC)
        .unwrap();
    conn.query_row(
        "SELECT value FROM meta WHERE key = 'retired_actors'",
        [],
        |r| r.get(0),
    )
    .optional()
    .unwrap()
    .unwrap_or_default()
}
