//! The server's change application path over arbitrary and damaged bytes,
//! called directly (no HTTP, so many cases run in seconds): `push::inspect`
//! reads or refuses any body without a panic; `push::push` of whatever it
//! reads answers without a panic; every stored change still loads as the
//! document; a push that stores nothing leaves the log as it was; honest
//! changes keep being stored. The same over HTTP, with a seeded fuzzer, is in
//! `integrity.rs`.
//!
//! Modest case counts by default (CI has 2 cores); `PROPTEST_CASES` runs more.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers, not input paths

use automerge::{Automerge, ROOT, transaction::Transactable};
use gocua_pgtest::PgCluster;
use gocua_protocol::bundle::{self, DocChanges};
use gocua_server::push::{self, DocCache};
use gocua_server::storage::{Storage, Village};
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

const COMMUNE: &str = "00097";
const VILLAGE: &str = "c3da56a8-952a-5d6e-b3eb-97b31b1c3703";

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A household made the way field-core makes it, and an edit on top.
fn household() -> (String, Automerge, Vec<Vec<u8>>) {
    let stamp = gocua_household::Stamp {
        volunteer_id: "v".into(),
        at: "2026-11-23T02:00:00Z".into(),
        at_secs: 1_795_399_200,
    };
    let (id, mut doc, changes) = gocua_household::new_household(
        automerge::ActorId::from(vec![1; 16]),
        &stamp,
        COMMUNE,
        VILLAGE,
        &[("head_name", gocua_household::str_value("Nguyễn Văn Hạnh"))],
        &[],
    )
    .unwrap();
    let mut all: Vec<Vec<u8>> = changes.iter().map(|c| c.raw_bytes().to_vec()).collect();
    all.push(edit(&mut doc, "phone", "0912000111"));
    (id, doc, all)
}

fn edit(doc: &mut Automerge, key: &str, value: &str) -> Vec<u8> {
    let mut tx = doc.transaction();
    tx.put(ROOT, key, value).unwrap();
    tx.commit();
    doc.get_last_local_change().unwrap().raw_bytes().to_vec()
}

struct Server {
    _dir: TempDir,
    storage: std::sync::Arc<dyn Storage>,
    cache: DocCache,
    villages: Vec<String>,
    hid: String,
    doc: Automerge,
    genuine: Vec<Vec<u8>>,
}

/// A server database holding one household of the village: a new SQLite
/// file, or a new database in `pg`.
fn server(pg: Option<&PgCluster>) -> Server {
    static DATABASES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = TempDir::new().unwrap();
    let database = match pg {
        Some(pg) => std::path::PathBuf::from(pg.create_database(&format!(
            "case_{}",
            DATABASES.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ))),
        None => dir.path().join("s.sqlite"),
    };
    let storage = gocua_server::open_database(&gocua_server::Config {
        database,
        load_units: false,
        ..gocua_server::Config::default()
    })
    .unwrap();
    storage
        .add_village(
            &Village {
                id: VILLAGE.into(),
                commune_code: COMMUNE.into(),
                name: "Thôn Đông".into(),
            },
            0,
        )
        .unwrap();
    let (hid, doc, genuine) = household();
    let s = Server {
        _dir: dir,
        storage,
        cache: DocCache::default(),
        villages: vec![VILLAGE.to_string()],
        hid,
        doc,
        genuine,
    };
    let a = send(&s, "honest", &one(&s.hid, s.genuine.clone())).expect("a genuine push reads");
    assert_eq!((a.stored, a.refused.len()), (3, 0), "{a:?}");
    s
}

fn one(doc_id: &str, changes: Vec<Vec<u8>>) -> Vec<u8> {
    bundle::encode(&[DocChanges {
        doc_id: doc_id.into(),
        changes,
    }])
}

/// What the push endpoint does with a body after authentication: read it,
/// then decide and store. `None` when the body is refused as unreadable.
fn send(s: &Server, device: &str, body: &[u8]) -> Option<gocua_protocol::PushResponse> {
    let docs = push::inspect(body).ok()?;
    Some(
        push::push(s.storage.as_ref(), &s.cache, device, &s.villages, docs, 1)
            .expect("a push of readable bytes is answered"),
    )
}

/// The log, the quarantine, and the household as stored, still loading.
fn log_state(s: &Server) -> (u64, usize) {
    push::load_document(s.storage.as_ref(), &s.hid).expect("the stored household loads");
    (
        s.storage.change_count().unwrap(),
        s.storage.quarantine(100_000).unwrap().len(),
    )
}

/// After anything: the stored household loads, and an honest edit is stored.
fn still_serving(s: &Server, i: usize) -> Result<(), TestCaseError> {
    let before = log_state(s);
    let mut fork = s.doc.fork();
    let good = edit(&mut fork, "address", &format!("Xóm {i}"));
    let a = send(s, "honest", &one(&s.hid, vec![good])).expect("a genuine push reads");
    prop_assert_eq!((a.stored, a.refused.len()), (1, 0), "{:?}", a);
    prop_assert_eq!(log_state(s).0, before.0 + 1);
    Ok(())
}

/// Bytes 4..8 of a chunk are the start of the SHA-256 of everything after.
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
    (i + 1).min(bytes.len() - 1)
}

/// Checks one push of `body` by the attacker: answered, and what it did is
/// what the log shows.
fn attack(s: &Server, body: &[u8]) -> Result<(), TestCaseError> {
    let (changes, quarantined) = log_state(s);
    let Some(a) = send(s, "attacker", body) else {
        prop_assert_eq!(
            log_state(s),
            (changes, quarantined),
            "an unreadable body stored something"
        );
        return Ok(());
    };
    let (changes_after, quarantined_after) = log_state(s);
    prop_assert_eq!(changes_after, changes + a.stored, "{:?}", a);
    prop_assert!(
        quarantined_after as u64 <= quarantined as u64 + a.quarantined,
        "{:?}",
        a
    );
    Ok(())
}

type Picks = Vec<(bool, usize, Vec<(f64, u8)>)>;

fn picks() -> impl Strategy<Value = Picks> {
    proptest::collection::vec(
        (
            any::<bool>(),
            any::<usize>(),
            proptest::collection::vec((0.0..1.0f64, 1..=255u8), 1..4),
        ),
        1..4,
    )
}

/// New changes on top of the household and its genuine changes, with bytes
/// of their bodies changed and the checksum made right again.
fn damaged_changes(s: &Server, picks: &Picks) -> Result<(), TestCaseError> {
    let mut sent = Vec::new();
    for (i, (fresh, which, xors)) in picks.iter().enumerate() {
        let mut bytes = if *fresh {
            let mut fork = s.doc.fork();
            edit(&mut fork, "member_count", &i.to_string())
        } else {
            s.genuine[which % s.genuine.len()].clone()
        };
        // Inside the body, after the chunk type and length, where the
        // damage reaches Automerge rather than the chunk reader.
        let start = body_start(&bytes);
        for (at, xor) in xors {
            let k = start + ((bytes.len() - start) as f64 * at) as usize;
            let k = k.min(bytes.len() - 1);
            bytes[k] ^= xor;
        }
        fix_checksum(&mut bytes);
        sent.push(bytes);
    }
    attack(s, &one(&s.hid, sent.clone()))?;
    // Again: the same answer's effect, nothing doubled.
    let before = log_state(s).0;
    if let Some(a) = send(s, "attacker", &one(&s.hid, sent)) {
        prop_assert_eq!(a.stored, 0, "{:?}", a);
    }
    prop_assert_eq!(log_state(s).0, before);
    still_serving(s, 1)?;
    Ok(())
}

/// Any bytes, raw, or as the only change of the household, or of a new
/// document.
fn arbitrary_bytes(s: &Server, bytes: Vec<u8>, wrap: u8) -> Result<(), TestCaseError> {
    let body = match wrap {
        0 => bytes,
        1 => one(&s.hid, vec![bytes]),
        _ => {
            // A change chunk header with a right checksum around them.
            let body = &bytes[..bytes.len().min(127)];
            let mut c = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, body.len() as u8];
            c.extend_from_slice(body);
            fix_checksum(&mut c);
            one(&uuid::Uuid::now_v7().to_string(), vec![c])
        }
    };
    attack(s, &body)?;
    still_serving(s, 2)?;
    Ok(())
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(cases(48)))]

    #[test]
    fn damaged_changes_on_sqlite(picks in picks()) {
        damaged_changes(&server(None), &picks)?;
    }

    #[test]
    fn arbitrary_bytes_on_sqlite(bytes in proptest::collection::vec(any::<u8>(), 0..400), wrap in 0..3u8) {
        arbitrary_bytes(&server(None), bytes, wrap)?;
    }
}

/// The same on PostgreSQL, a new database of one cluster per case (fewer
/// cases: each costs a database).
#[test]
fn damaged_changes_on_postgres() {
    let pg = PgCluster::start();
    proptest!(config(cases(48) / 4 + 1), |(picks in picks())| {
        damaged_changes(&server(Some(&pg)), &picks)?;
    });
}

#[test]
fn arbitrary_bytes_on_postgres() {
    let pg = PgCluster::start();
    proptest!(config(cases(48) / 4 + 1), |(bytes in proptest::collection::vec(any::<u8>(), 0..400), wrap in 0..3u8)| {
        arbitrary_bytes(&server(Some(&pg)), bytes, wrap)?;
    });
}
