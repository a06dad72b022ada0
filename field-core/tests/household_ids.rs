//! Households are named by the id derived from their first change (protocol
//! 2): a store written before is renamed when it is upgraded, older change
//! files still reach the renamed household, and a first change filed under
//! another household's id is never applied.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers, not input paths

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, Change, ROOT};
use field_core::store::bundle;
use field_core::*;
use tempfile::TempDir;

/// Written by gocua of protocol 1: a household of Thôn Đông (commune 00097)
/// under its random id, its first two changes (the third is crafted).
const FIXTURE: &[u8] = include_bytes!("../../fixtures/integrity/poison-household.changes");
const LEGACY_ID: &str = "01a2087c-9607-7350-a11f-65652077ec67";

fn legacy_changes() -> Vec<Change> {
    let docs = bundle::decode(FIXTURE).unwrap();
    assert_eq!(docs[0].doc_id, LEGACY_ID);
    docs[0].changes[..2]
        .iter()
        .map(|b| Change::from_bytes(b.clone()).unwrap())
        .collect()
}

fn derived_id(changes: &[Change]) -> String {
    let first = changes.iter().find(|c| c.deps().is_empty()).unwrap();
    gocua_protocol::ids::derived_doc_id(&first.hash().0)
}

fn store(dir: &TempDir, name: &str) -> (Store, std::path::PathBuf) {
    let path = dir.path().join(format!("{name}.sqlite"));
    let s = Store::open(&path, &field_core::StoreKey::Unencrypted).unwrap();
    s.init(InitRequest {
        volunteer_name: "Lò Thị Mai".into(),
        volunteer_phone: None,
        team_name: "Tổ Công nghệ số cộng đồng".into(),
        commune_code: "00097".into(),
        village_names: vec!["Thôn Đông".into()],
    })
    .unwrap();
    (s, path)
}

fn add(s: &Store, head: &str) -> Household {
    s.add_household(NewHousehold {
        village: "thon dong".into(),
        address: "Xóm 3".into(),
        head_name: head.into(),
        phone: None,
        member_count: None,
        device_access: None,
        target_groups: vec![],
    })
    .unwrap()
}

/// An edit of the legacy household made the way gocua of protocol 1 made it,
/// as its own change.
fn legacy_edit() -> Change {
    let mut d = Automerge::new().with_actor(ActorId::from(vec![9u8; 16]));
    d.apply_changes(legacy_changes()).unwrap();
    let mut tx = d.transaction();
    tx.put(ROOT, "phone", "0912000111").unwrap();
    tx.commit();
    d.get_last_local_change().unwrap().clone()
}

fn doc_ids(bundle_bytes: &[u8]) -> Vec<String> {
    bundle::decode(bundle_bytes)
        .unwrap()
        .into_iter()
        .map(|d| d.doc_id)
        .collect()
}

#[test]
fn a_store_of_protocol_1_is_renamed_when_upgraded_and_reads_older_files() {
    let dir = TempDir::new().unwrap();
    let (s, path) = store(&dir, "a");
    drop(s);
    let changes = legacy_changes();
    let new_id = derived_id(&changes);
    assert!(gocua_protocol::ids::is_derived(&new_id));
    // What the store of schema 5 held: the household under its random id,
    // its two changes queued for the server.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute(
            "INSERT INTO documents (id, kind, snapshot, heads, changes_since_snapshot, updated_at)
             VALUES (?1, 'household', NULL, ?2, 2, '2026-11-01T00:00:00Z')",
            rusqlite::params![LEGACY_ID, changes[1].hash().to_string()],
        )
        .unwrap();
        for ch in &changes {
            c.execute(
                "INSERT INTO doc_changes (doc_id, hash, bytes) VALUES (?1, ?2, ?3)",
                rusqlite::params![LEGACY_ID, ch.hash().to_string(), ch.raw_bytes()],
            )
            .unwrap();
            c.execute(
                "INSERT INTO outbox (hash, doc_id, created_at) VALUES (?1, ?2, '2026-11-01T00:00:00Z')",
                rusqlite::params![ch.hash().to_string(), LEGACY_ID],
            )
            .unwrap();
        }
        // What later migrations added is taken out again: a store of schema 5.
        c.execute_batch(
            "DROP TABLE same_people; DROP INDEX households_merge_target; DROP INDEX households_merged_into; ALTER TABLE households DROP COLUMN merge_target; ALTER TABLE households DROP COLUMN merged_into; ALTER TABLE persons DROP COLUMN doc_id; ALTER TABLE visits DROP COLUMN doc_id; ALTER TABLE consents DROP COLUMN doc_id; 
             DROP TABLE legacy_ids;
             ALTER TABLE households DROP COLUMN in_error_at;
             ALTER TABLE persons DROP COLUMN removed_at;
             ALTER TABLE visits DROP COLUMN cancelled_at;
             ALTER TABLE visits DROP COLUMN cancelled_by;
             ALTER TABLE visits DROP COLUMN cancel_reason;
             ALTER TABLE visits DROP COLUMN edited_at;
             ALTER TABLE visits DROP COLUMN edited_by;
             DROP TABLE imported_records;
             DROP TABLE suggestion_rules;
             PRAGMA user_version = 5;",
        )
        .unwrap();
    }

    let s = Store::open(&path, &field_core::StoreKey::Unencrypted).unwrap();
    assert_eq!(s.status().unwrap().schema_version, SCHEMA_VERSION);
    let h = s.household(&new_id).unwrap();
    assert_eq!(h.id, new_id);
    // The old id, written on a paper card, still finds it.
    assert_eq!(s.household(LEGACY_ID).unwrap().id, new_id);
    let listed: Vec<String> = s
        .list_households(None, 10)
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(listed, vec![new_id.clone()]);
    // Sent to the server under the new id.
    assert_eq!(
        doc_ids(&s.export_changes(None).unwrap()),
        vec![new_id.clone()]
    );
    assert_eq!(s.status().unwrap().pending_changes, 2);

    // A change file from a device still on protocol 1 names the household by
    // its old id, without its first change: it reaches the renamed household.
    let old_file = bundle::encode(&[DocChanges {
        doc_id: LEGACY_ID.into(),
        changes: vec![legacy_edit().raw_bytes().to_vec()],
    }]);
    let r = s.import_changes(&old_file).unwrap();
    assert_eq!(
        (r.changes_applied, r.quarantined, r.waiting),
        (1, 0, 0),
        "{r:?}"
    );
    assert_eq!(
        s.household(&new_id).unwrap().phone.as_deref(),
        Some("0912000111")
    );
    assert_eq!(
        doc_ids(&s.export_changes(None).unwrap()),
        vec![new_id.clone()]
    );

    // An old id this store never held, without its first change: refused
    // whole, nothing changed.
    let before = s.projection_dump().unwrap();
    let unknown = bundle::encode(&[DocChanges {
        doc_id: "01a2087c-9607-7350-a11f-000000000000".into(),
        changes: vec![legacy_edit().raw_bytes().to_vec()],
    }]);
    match s.import_changes(&unknown) {
        Err(Error::BadChanges(m)) => assert!(m.contains("protocol 2"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(s.projection_dump().unwrap(), before);
    assert_eq!(s.integrity_check().unwrap(), "ok");
    let dump = s.projection_dump().unwrap();
    s.rebuild_projection().unwrap();
    assert_eq!(s.projection_dump().unwrap(), dump);
}

/// A file written by protocol 1 that carries the household's first change is
/// named by it on arrival, and its changes that arrived before it (waiting)
/// follow it.
#[test]
fn an_older_file_with_the_first_change_names_the_household_by_it() {
    let dir = TempDir::new().unwrap();
    let (s, _) = store(&dir, "b");
    let changes = legacy_changes();
    let new_id = derived_id(&changes);
    let edit = legacy_edit();
    // The edit alone first, under the id it was filed under then: nothing
    // names it yet, so the file is refused.
    let edit_only = bundle::encode(&[DocChanges {
        doc_id: LEGACY_ID.into(),
        changes: vec![edit.raw_bytes().to_vec()],
    }]);
    assert!(matches!(
        s.import_changes(&edit_only),
        Err(Error::BadChanges(_))
    ));
    let whole = bundle::encode(&[DocChanges {
        doc_id: LEGACY_ID.into(),
        changes: changes
            .iter()
            .chain([&edit])
            .map(|c| c.raw_bytes().to_vec())
            .collect(),
    }]);
    let r = s.import_changes(&whole).unwrap();
    assert_eq!((r.changes_applied, r.quarantined), (3, 0), "{r:?}");
    let h = s.household(&new_id).unwrap();
    assert_eq!(h.phone.as_deref(), Some("0912000111"));
    assert_eq!(s.household(LEGACY_ID).unwrap().id, new_id);
    // Queued for the server under the new id only.
    assert_eq!(doc_ids(&s.export_changes(None).unwrap()), vec![new_id]);
}

/// Another household's first change filed under this one's id (by a crafted
/// or mistaken file) is quarantined with what depends on it; the household
/// and the store are untouched, in a store that holds it and in one that
/// does not.
#[test]
fn a_first_change_under_another_households_id_is_quarantined() {
    let dir = TempDir::new().unwrap();
    let (a, _) = store(&dir, "a");
    let (b, _) = store(&dir, "b");
    let (c, _) = store(&dir, "c");
    let mine = add(&a, "Vũ Thị Thu");
    let theirs = add(&b, "Hà Văn Tú");
    let their_changes = bundle::decode(&b.export_changes(None).unwrap())
        .unwrap()
        .remove(0)
        .changes;
    assert_eq!(their_changes.len(), 2);
    let crafted = bundle::encode(&[DocChanges {
        doc_id: mine.id.clone(),
        changes: their_changes,
    }]);
    for s in [&a, &c] {
        let before = s.projection_dump().unwrap();
        let r = s.import_changes(&crafted).unwrap();
        assert_eq!((r.changes_applied, r.quarantined), (0, 2), "{r:?}");
        assert_eq!(s.projection_dump().unwrap(), before);
        let q = s.quarantined().unwrap();
        assert_eq!(q.len(), 2, "{q:?}");
        assert!(q.iter().all(|q| q.doc_id == mine.id));
        assert_eq!(s.status().unwrap().waiting_changes, 0);
        assert!(s.household(&theirs.id).is_err());
    }
    assert_eq!(a.household(&mine.id).unwrap().head_name, "Vũ Thị Thu");
    assert_eq!(a.status().unwrap().pending_changes, 2, "its own two only");
}
