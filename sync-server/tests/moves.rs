//! A household that moves between villages loses nothing (docs/protocol.md,
//! "Moving a household"): devices of different scopes, a real server.
//! A serves V1 and V2, B serves V2, D serves V1.

// Test helpers: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use automerge::transaction::Transactable;
use automerge::{Automerge, Change, ChangeHash, ROOT, ReadDoc};
use common::*;
use gocua_protocol::codes;

/// Records a visit (a key of `visits`) and returns the change's bytes.
fn visit(doc: &mut Automerge, key: &str) -> Vec<u8> {
    let visits = match doc.get(ROOT, "visits").unwrap() {
        Some((_, id)) => id,
        None => panic!("no visits map"),
    };
    let mut tx = doc.transaction();
    tx.put(&visits, key, "done").unwrap();
    tx.commit();
    doc.get_last_local_change().unwrap().raw_bytes().to_vec()
}

fn visits(doc: &Automerge) -> BTreeSet<String> {
    let (_, id) = doc.get(ROOT, "visits").unwrap().unwrap();
    doc.keys(&id).collect()
}

fn village(doc: &Automerge) -> String {
    match doc.get(ROOT, "village_id").unwrap() {
        Some((automerge::Value::Scalar(s), _)) => s.as_str().unwrap().to_string(),
        other => panic!("village_id {other:?}"),
    }
}

/// What a device keeps: the changes it pulled after `cursor`, applied.
struct Device {
    token: String,
    cursor: u64,
    doc: Automerge,
}

impl Device {
    async fn pull(&mut self, c: &reqwest::Client, s: &TestServer) -> Vec<ChangeHash> {
        let mut got = Vec::new();
        loop {
            let page = pull(c, s, &self.token, self.cursor, 1000).await;
            for d in page.docs {
                for bytes in d.changes {
                    let change = Change::from_bytes(bytes).unwrap();
                    got.push(change.hash());
                    self.doc.apply_changes([change]).unwrap();
                }
            }
            self.cursor = page.cursor;
            if !page.more {
                break;
            }
        }
        assert!(
            self.doc.get_missing_deps(&[]).is_empty(),
            "a change was served before its dependencies"
        );
        got
    }
}

fn max_position(db: &TestDb) -> u64 {
    db.int("SELECT MAX(position) FROM feed") as u64
}

async fn a_household_moves_and_back_and_every_visit_reaches_its_village(db: common::TestDb) {
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let both = team(st.as_ref(), "Cả hai", &["Thôn Một", "Thôn Hai"]);
    let second = team(st.as_ref(), "Hai", &["Thôn Hai"]);
    let first = team(st.as_ref(), "Một", &["Thôn Một"]);
    let (v1, v2) = (both.villages[0].clone(), both.villages[1].clone());
    assert_eq!(second.villages, vec![v2.clone()]);
    assert_eq!(first.villages, vec![v1.clone()]);
    let c = client();
    let new_device = |token: String| Device {
        token,
        cursor: 0,
        doc: Automerge::new(),
    };
    let mut a = new_device(device(&c, &s, st.as_ref(), &both.volunteer_id).await.token);
    let mut b = new_device(
        device(&c, &s, st.as_ref(), &second.volunteer_id)
            .await
            .token,
    );
    let mut d = new_device(device(&c, &s, st.as_ref(), &first.volunteer_id).await.token);

    // A registers the household in V1; D receives it, B does not.
    let (id, doc, genesis) = new_household(&v1);
    a.doc = doc;
    assert_eq!(
        push(&c, &s, &a.token, one(&id, vec![genesis])).await.stored,
        1
    );
    assert_eq!(d.pull(&c, &s).await.len(), 1);
    assert!(b.pull(&c, &s).await.is_empty());

    // D visits it offline; meanwhile A moves it to V2.
    let d1 = visit(&mut d.doc, "d1");
    let moved = edit(&mut a.doc, "village_id", &v2);
    assert_eq!(
        push(&c, &s, &a.token, one(&id, vec![moved.clone()]))
            .await
            .stored,
        1
    );

    // B (V2) receives its whole history; D (V1) is told of the move.
    assert_eq!(b.pull(&c, &s).await.len(), 2);
    assert_eq!(village(&b.doc), v2);

    // D's visit, made before it knew, is accepted and reaches V2.
    let p = push(&c, &s, &d.token, one(&id, vec![d1.clone()])).await;
    assert_eq!((p.stored, p.refused.len()), (1, 0), "{p:?}");
    assert_eq!(d.pull(&c, &s).await, vec![hash_of(&moved)]);
    assert_eq!(village(&d.doc), v2);
    let b1 = visit(&mut b.doc, "b1");
    b.pull(&c, &s).await;
    assert!(visits(&b.doc).contains("d1"));
    assert_eq!(push(&c, &s, &b.token, one(&id, vec![b1])).await.stored, 1);
    assert!(
        d.pull(&c, &s).await.is_empty(),
        "later changes go to the household's village only"
    );

    // A change D makes after it learned of the move is refused, saying
    // nothing of where the household went.
    let late = visit(&mut d.doc.fork(), "late");
    let p = push(&c, &s, &d.token, one(&id, vec![late])).await;
    assert_eq!(p.stored, 0);
    assert_eq!(p.refused.len(), 1);
    assert_eq!(p.refused[0].code, codes::OUTSIDE_VILLAGES);
    assert!(!p.refused[0].message.contains(&v2));

    // A new device of V2 bootstraps the household from its snapshot.
    let mut e = new_device(
        device(&c, &s, st.as_ref(), &second.volunteer_id)
            .await
            .token,
    );
    let top = max_position(&db);
    let snapshots = bootstrap_at(&c, &s, &e.token, top).await;
    assert_eq!(snapshots.len(), 1);
    assert_eq!(snapshots[0].doc_id, id);
    e.doc = Automerge::load(&snapshots[0].changes[0]).unwrap();
    e.cursor = top;
    assert_eq!(visits(&e.doc), ["b1", "d1"].map(String::from).into());
    // A new device of V1 no longer gets it.
    let f = device(&c, &s, st.as_ref(), &first.volunteer_id).await;
    assert!(bootstrap_at(&c, &s, &f.token, top).await.is_empty());

    // A moves it back: D receives what V2 recorded meanwhile.
    a.pull(&c, &s).await;
    assert_eq!(visits(&a.doc), ["b1", "d1"].map(String::from).into());
    let back = edit(&mut a.doc, "village_id", &v1);
    assert_eq!(push(&c, &s, &a.token, one(&id, vec![back])).await.stored, 1);
    d.pull(&c, &s).await;
    assert_eq!(village(&d.doc), v1);
    assert_eq!(visits(&d.doc), ["b1", "d1"].map(String::from).into());
    e.pull(&c, &s).await;
    assert_eq!(village(&e.doc), v1, "V2 is told it left again");

    // D's next visit is accepted and reaches A; B, no longer serving it,
    // does not receive it.
    let d2 = visit(&mut d.doc, "d2");
    assert_eq!(push(&c, &s, &d.token, one(&id, vec![d2])).await.stored, 1);
    a.pull(&c, &s).await;
    assert_eq!(visits(&a.doc), ["b1", "d1", "d2"].map(String::from).into());
    b.pull(&c, &s).await;
    assert!(!visits(&b.doc).contains("d2"));
    assert_eq!(village(&b.doc), v1);
    s.stop().await;
}

async fn changes_made_before_the_move_are_taken_in_one_push_and_later_ones_refused(
    db: common::TestDb,
) {
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let both = team(st.as_ref(), "Cả hai", &["Thôn Một", "Thôn Hai"]);
    let first = team(st.as_ref(), "Một", &["Thôn Một"]);
    let (v1, v2) = (both.villages[0].clone(), both.villages[1].clone());
    let c = client();
    let a = device(&c, &s, st.as_ref(), &both.volunteer_id).await;
    let d = device(&c, &s, st.as_ref(), &first.volunteer_id).await;
    let (id, mut on_a, genesis) = new_household(&v1);
    push(&c, &s, &a.token, one(&id, vec![genesis])).await;
    let mut on_d = on_a.fork();
    // Two visits by D, the second on top of the first, both before the move.
    let d1 = visit(&mut on_d, "d1");
    let d2 = visit(&mut on_d, "d2");
    let moved = edit(&mut on_a, "village_id", &v2);
    push(&c, &s, &a.token, one(&id, vec![moved.clone()])).await;

    // With them, one made after D applied the move: the document is refused
    // whole, nothing stored.
    let mut after = on_d.fork();
    after
        .apply_changes([Change::from_bytes(moved).unwrap()])
        .unwrap();
    let late = visit(&mut after, "late");
    let p = push(
        &c,
        &s,
        &d.token,
        one(&id, vec![d1.clone(), d2.clone(), late]),
    )
    .await;
    assert_eq!((p.stored, p.refused.len()), (0, 1), "{p:?}");
    assert_eq!(p.refused[0].code, codes::OUTSIDE_VILLAGES);

    // Offered again without it, as the device does: both are taken.
    let p = push(&c, &s, &d.token, one(&id, vec![d1, d2])).await;
    assert_eq!((p.stored, p.refused.len()), (2, 0), "{p:?}");
    for (_, bytes) in pull_all(&c, &s, &a.token).await {
        on_a.apply_changes([Change::from_bytes(bytes).unwrap()])
            .unwrap();
    }
    assert!(on_a.get_missing_deps(&[]).is_empty());
    assert_eq!(visits(&on_a), ["d1", "d2"].map(String::from).into());
    s.stop().await;
}

common::on_both!(
    a_household_moves_and_back_and_every_visit_reaches_its_village,
    changes_made_before_the_move_are_taken_in_one_push_and_later_ones_refused,
);
