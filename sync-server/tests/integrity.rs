//! The integrity rules of the shared log (docs/protocol.md), against a real
//! server: a crafted change is quarantined and the village keeps syncing, a
//! change belongs to one document, a document's first change creates it
//! under its own id, refusals say no more than the device may know.

// Test helpers: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use automerge::{Automerge, Change, ROOT, ReadDoc, transaction::Transactable};
use common::*;
use gocua_protocol::bundle::{self, DocChanges};
use gocua_protocol::codes;
use gocua_server::admin;
use gocua_server::storage::Village;
use sha2::{Digest, Sha256};

const POISON: &[u8] = include_bytes!("../../fixtures/integrity/poison-household.changes");

/// A household made the way field-core makes it (derived id, two changes).
fn household(village: &str, actor: u8) -> (String, Automerge, Vec<Vec<u8>>) {
    let stamp = gocua_household::Stamp {
        volunteer_id: "v".into(),
        at: "2026-11-23T02:00:00Z".into(),
        at_secs: 1_795_399_200,
    };
    let (id, doc, changes) = gocua_household::new_household(
        automerge::ActorId::from(vec![actor; 16]),
        &stamp,
        COMMUNE,
        village,
        &[("head_name", gocua_household::str_value("Nguyễn Văn Hạnh"))],
        &[],
    )
    .unwrap();
    (
        id,
        doc,
        changes.iter().map(|c| c.raw_bytes().to_vec()).collect(),
    )
}

/// Applies what a device pulled, one document at a time, as a device would:
/// every change must apply, none may panic.
fn apply_all(pulled: &[(String, Vec<u8>)]) -> std::collections::BTreeMap<String, Automerge> {
    let mut docs: std::collections::BTreeMap<String, Automerge> = Default::default();
    for (id, bytes) in pulled {
        let d = docs.entry(id.clone()).or_default();
        let c = Change::from_bytes(bytes.clone()).unwrap();
        d.apply_changes([c]).unwrap();
        assert!(
            d.get_missing_deps(&[]).is_empty(),
            "a change of {id} was served before its dependencies"
        );
    }
    docs
}

async fn a_crashing_change_is_quarantined_and_the_village_keeps_syncing(db: common::TestDb) {
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let poison = bundle::decode(POISON).unwrap();
    assert_eq!(poison.len(), 1);
    // Written by protocol 1 under a random id; a device of protocol 2 names
    // it by the id derived from its first change.
    let legacy_id = poison[0].doc_id.clone();
    let changes = poison[0].changes.clone();
    assert_eq!(changes.len(), 3);
    let doc_id = gocua_protocol::ids::derived_doc_id(&hash_of(&changes[0]).0);
    assert_ne!(doc_id, legacy_id);
    // The household's village, as its first changes say: register it.
    let mut probe = Automerge::new();
    for c in &changes[..2] {
        probe
            .apply_changes([Change::from_bytes(c.clone()).unwrap()])
            .unwrap();
    }
    let text = |k: &str| {
        probe
            .get(ROOT, k)
            .unwrap()
            .unwrap()
            .0
            .as_str()
            .unwrap()
            .to_string()
    };
    let (village, commune) = (text("village_id"), text("commune_code"));
    st.add_village(
        &Village {
            id: village.clone(),
            commune_code: commune.clone(),
            name: "Thôn Đông".into(),
        },
        0,
    )
    .unwrap();
    let t = admin::add_team(st.as_ref(), "T", &commune, std::slice::from_ref(&village)).unwrap();
    let vol = admin::add_volunteer(st.as_ref(), "Lan", None, &t.id).unwrap();
    let c = client();
    let a = device(&c, &s, st.as_ref(), &vol.id).await;
    let b = device(&c, &s, st.as_ref(), &vol.id).await;

    // Under its old id, the household is refused: an id is bound to its
    // first change, so nobody can claim one they did not make.
    let p = push(&c, &s, &a.token, one(&legacy_id, changes[..2].to_vec())).await;
    assert_eq!((p.stored, p.refused.len()), (0, 1), "{p:?}");
    assert_eq!(p.refused[0].code, codes::BAD_DOCUMENT);
    assert!(p.refused[0].message.contains("older gocua"), "{p:?}");

    // The crafted change arrives with its household's first two changes.
    let p = push(&c, &s, &a.token, one(&doc_id, changes.clone())).await;
    assert_eq!((p.stored, p.quarantined, p.refused.len()), (2, 1, 0));
    let q = st.quarantine(10).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].doc_id, doc_id);
    assert_eq!(q[0].device_id, a.device_id);
    assert_eq!(q[0].hash, hash_of(&changes[2]).to_string());
    assert!(!q[0].reason.is_empty());
    // Sent again: still kept aside, never stored.
    let p = push(&c, &s, &a.token, one(&doc_id, changes.clone())).await;
    assert_eq!((p.stored, p.duplicates), (0, 2));
    assert_eq!(st.quarantine(10).unwrap().len(), 1);

    // The village goes on: a good edit on top of the household, and a new one.
    let mut fork = probe.fork();
    let good = edit(&mut fork, "phone", "0912000111");
    let (hid, _, hchanges) = household(&village, 7);
    let p = push(
        &c,
        &s,
        &a.token,
        bundle::encode(&[
            DocChanges {
                doc_id: doc_id.clone(),
                changes: vec![good.clone()],
            },
            DocChanges {
                doc_id: hid.clone(),
                changes: hchanges.clone(),
            },
        ]),
    )
    .await;
    assert_eq!((p.stored, p.quarantined, p.refused.len()), (3, 0, 0));

    // Another device receives every good change and nothing else, and can
    // apply all of it.
    let got = pull_all(&c, &s, &b.token).await;
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|(_, bytes)| bytes != &changes[2]));
    let docs = apply_all(&got);
    assert_eq!(docs.len(), 2);
    // A new device bootstraps from snapshots that the materializer built
    // past the quarantined change.
    let last = st.change_count().unwrap();
    let items = bootstrap_at(&c, &s, &b.token, last).await;
    assert_eq!(items.len(), 2);
    let mut served = 0;
    for d in &items {
        for item in &d.changes {
            let doc = Automerge::load(item).unwrap();
            served += doc.get_changes(&[]).len();
        }
    }
    assert_eq!(served, 5);
    let health = c.get(s.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    s.stop().await;
}

/// Bytes 4..8 of a change chunk are the first bytes of its hash, the SHA-256
/// of everything after them.
fn fix_checksum(bytes: &mut [u8]) {
    let hash = Sha256::digest(&bytes[8..]);
    bytes[4..8].copy_from_slice(&hash[..4]);
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // SplitMix64: small, seeded, the same sequence everywhere.
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

async fn mutated_changes_never_stop_the_server_and_good_ones_still_flow(db: common::TestDb) {
    let cases: usize = std::env::var("GOCUA_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "T", &["Thôn Đông"]);
    let village = t.villages[0].clone();
    let c = client();
    let attacker = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    let honest = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    let reader = device(&c, &s, st.as_ref(), &t.volunteer_id).await;

    // Real changes to mutate: a household, edits, a nested map.
    let (hid, mut doc, first) = household(&village, 1);
    let mut base = first.clone();
    base.push(edit(&mut doc, "phone", "0912000111"));
    {
        let mut tx = doc.transaction();
        let visits = match tx.get(ROOT, "visits").unwrap() {
            Some((_, id)) => id,
            None => tx
                .put_object(ROOT, "visits", automerge::ObjType::Map)
                .unwrap(),
        };
        let v = tx
            .put_object(
                &visits,
                "0190c6a0-0000-7000-8000-000000000001",
                automerge::ObjType::Map,
            )
            .unwrap();
        tx.put(&v, "visited_at", "2026-11-23T02:00:00Z").unwrap();
        tx.put(&v, "duration_minutes", 30).unwrap();
        tx.commit();
    }
    base.push(doc.get_last_local_change().unwrap().raw_bytes().to_vec());
    // The checksum rule, checked on a real change.
    {
        let mut copy = base[1].clone();
        copy[4..8].copy_from_slice(&[0; 4]);
        fix_checksum(&mut copy);
        assert_eq!(copy, base[1]);
        assert_eq!(&base[1][4..8], &hash_of(&base[1]).0[..4]);
    }
    // The honest device stores the household first.
    let p = push(&c, &s, &honest.token, one(&hid, base.clone())).await;
    assert_eq!(p.stored, 4);

    let mut rng = Rng(0x5EED);
    let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
    let mut expected_good = 4u64;
    let mut quarantined = 0u64;
    for i in 0..cases {
        // A fresh change (a new author, so its number is free), then damaged.
        let mut fork = doc.fork();
        {
            let mut tx = fork.transaction();
            match rng.below(4) {
                0 => {
                    tx.put(ROOT, "phone", "0987654321").unwrap();
                }
                1 => {
                    tx.put(ROOT, "member_count", 4).unwrap();
                    tx.put(ROOT, "address", "Xóm 3").unwrap();
                }
                2 => {
                    let m = tx
                        .put_object(ROOT, "target_groups", automerge::ObjType::Map)
                        .unwrap();
                    tx.put(&m, "elderly", true).unwrap();
                }
                _ => {
                    tx.delete(ROOT, "phone").unwrap();
                    tx.put(ROOT, "head_name", "Trần Thị Thủy").unwrap();
                }
            }
            tx.commit();
        }
        let mut bytes = fork.get_last_local_change().unwrap().raw_bytes().to_vec();
        let flips = 1 + rng.below(4);
        for _ in 0..flips {
            let at = 8 + rng.below(bytes.len() - 8);
            bytes[at] ^= 1 << rng.below(8);
        }
        fix_checksum(&mut bytes);
        let r = push_raw(&c, &s, &attacker.token, one(&hid, vec![bytes])).await;
        let status = r.status().as_u16();
        *statuses.entry(status).or_default() += 1;
        assert!(
            status == 200 || status == 400,
            "case {i}: status {status}: {:?}",
            r.text().await
        );
        if status == 200 {
            let answer: gocua_protocol::PushResponse = r.json().await.unwrap();
            expected_good += answer.stored;
            quarantined += answer.quarantined;
        }
        // Every few cases an honest edit goes through and stays servable.
        if i % 50 == 0 {
            let mut fork = doc.fork();
            let good = edit(&mut fork, "address", &format!("Xóm {i}"));
            let p = push(&c, &s, &honest.token, one(&hid, vec![good])).await;
            assert_eq!(p.stored, 1, "case {i}");
            expected_good += 1;
        }
    }
    eprintln!("statuses {statuses:?}, quarantined {quarantined}");
    // Whatever was stored, a device applies all of it without a panic.
    let got = pull_all(&c, &s, &reader.token).await;
    assert_eq!(got.len() as u64, expected_good);
    let docs = apply_all(&got);
    assert_eq!(docs.len(), 1);
    assert_eq!(st.quarantine(10_000).unwrap().len() as u64, quarantined);
    // The materializer got past everything.
    let last = st.change_count().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while st.materialized_seq().unwrap() < st_last_seq(&db) {
        assert!(tokio::time::Instant::now() < deadline, "materializer stuck");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(last >= expected_good);
    s.stop().await;
}

fn st_last_seq(db: &TestDb) -> u64 {
    db.int("SELECT coalesce(max(seq), 0) FROM changes") as u64
}

async fn a_change_belongs_to_one_document(db: common::TestDb) {
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let east = team(st.as_ref(), "Đông", &["Thôn Đông"]);
    let west = team(st.as_ref(), "Tây", &["Thôn Tây"]);
    let c = client();
    let owner = device(&c, &s, st.as_ref(), &east.volunteer_id).await;
    let neighbour = device(&c, &s, st.as_ref(), &east.volunteer_id).await;
    let attacker = device(&c, &s, st.as_ref(), &west.volunteer_id).await;
    let east_v = east.villages[0].clone();
    let west_v = west.villages[0].clone();

    // An east household the owner has not pushed yet; its changes reached the
    // west device in a change file.
    let (hid, mut hdoc, hfirst) = household(&east_v, 1);
    let later = edit(&mut hdoc, "phone", "0912000111");

    // 2. The household's real changes under another id.
    let other = uuid::Uuid::now_v7().to_string();
    let p = push(&c, &s, &owner.token, one(&other, hfirst.clone())).await;
    assert_eq!(p.refused[0].code, codes::BAD_DOCUMENT);
    let forged = gocua_protocol::ids::derived_doc_id(&[9; 32]);
    let p = push(&c, &s, &owner.token, one(&forged, hfirst.clone())).await;
    assert_eq!(p.refused[0].code, codes::BAD_DOCUMENT);

    // 3a. The west device files them inside a new household of its own.
    let (wid, _, mut wchanges) = household(&west_v, 2);
    wchanges.extend(hfirst.clone());
    wchanges.push(later.clone());
    let p = push(&c, &s, &attacker.token, one(&wid, wchanges)).await;
    assert_eq!(p.stored, 0);
    assert_eq!(p.refused[0].code, codes::BAD_DOCUMENT);
    // ... or pushes them under their own id: not its village.
    let mut relayed = hfirst.clone();
    relayed.push(later.clone());
    let p = push(&c, &s, &attacker.token, one(&hid, relayed.clone())).await;
    assert_eq!(
        (p.stored, p.refused[0].code.as_str()),
        (0, codes::OUTSIDE_VILLAGES)
    );
    // 5. A refusal does not say which village the household is in.
    assert!(
        !p.refused[0].message.contains(&east_v),
        "{}",
        p.refused[0].message
    );

    // 3b. The west device creates its own document under the east id.
    let mut fake = Automerge::new();
    {
        let mut tx = fake.transaction();
        tx.put(ROOT, "kind", "household").unwrap();
        tx.put(ROOT, "id", hid.as_str()).unwrap();
        tx.put(ROOT, "village_id", west_v.as_str()).unwrap();
        tx.commit();
    }
    let fake_first = fake.get_last_local_change().unwrap().raw_bytes().to_vec();
    let p = push(&c, &s, &attacker.token, one(&hid, vec![fake_first])).await;
    assert_eq!(p.refused[0].code, codes::BAD_DOCUMENT);
    // ... or a change of its own on top of the east household's.
    let mut on_top = hdoc.fork();
    let sneaky = edit(&mut on_top, "village_id", &west_v);
    let mut with_move = relayed.clone();
    with_move.push(sneaky);
    let p = push(&c, &s, &attacker.token, one(&hid, with_move)).await;
    assert_eq!(p.stored, 0);
    assert!(!p.refused.is_empty());

    // The owner pushes: everything is stored (not counted as already there),
    // and the east village receives all of it.
    let p = push(&c, &s, &owner.token, one(&hid, relayed.clone())).await;
    assert_eq!((p.stored, p.duplicates, p.refused.len()), (3, 0, 0));
    let got = pull_all(&c, &s, &neighbour.token).await;
    let mine: Vec<&Vec<u8>> = got
        .iter()
        .filter(|(d, _)| d == &hid)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(mine.len(), 3);
    assert!(pull_all(&c, &s, &attacker.token).await.is_empty());

    // Now that the server knows it, the same changes under another
    // document are another document's.
    let p = push(&c, &s, &owner.token, one(&wid, vec![later.clone()])).await;
    assert_eq!(p.refused[0].code, codes::FOREIGN_CHANGE);
    // A second first change for a known document is refused.
    let (_, _, again) = household(&east_v, 3);
    let p = push(&c, &s, &owner.token, one(&hid, vec![again[0].clone()])).await;
    assert_eq!(p.refused[0].code, codes::BAD_DOCUMENT);
    // Nothing waits on the server for a dependency.
    let served = pull_all(&c, &s, &neighbour.token).await;
    apply_all(&served);
    s.stop().await;
}

common::on_both!(
    mutated_changes_never_stop_the_server_and_good_ones_still_flow,
    a_crashing_change_is_quarantined_and_the_village_keeps_syncing,
    a_change_belongs_to_one_document,
);
