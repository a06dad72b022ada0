//! The sync server end to end: a real server on 127.0.0.1:0 driven over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;

use automerge::{Automerge, ROOT, ReadDoc};
use common::*;
use gocua_protocol::bundle::{self, DocChanges};
use gocua_protocol::{HEADER_PROTOCOL, codes};
use gocua_server::admin;
use gocua_server::secrets;
use gocua_server::storage::Role;

async fn enrollment_codes_are_one_time_and_expire(db: common::TestDb) {
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "Tổ thôn Đông", &["Thôn Đông", "Thôn Tây"]);
    let c = client();

    let (code, _) = admin::new_enroll_code(st.as_ref(), &t.volunteer_id, 72).unwrap();
    // Typed in lower case with a space instead of the dash.
    let typed = code.expose().to_lowercase().replace('-', " ");
    let r = enroll(&c, &s, &typed).await;
    assert_eq!(r.status(), 200);
    let e: gocua_protocol::EnrollResponse = r.json().await.unwrap();
    assert_eq!(e.volunteer_id, t.volunteer_id);
    assert_eq!(e.team_id, t.team_id);
    assert_eq!(e.commune_code, COMMUNE);
    assert_eq!(e.volunteer_phone.as_deref(), Some("0912345678"));
    let mut got: Vec<_> = e.villages.iter().map(|v| v.id.clone()).collect();
    got.sort();
    let mut want = t.villages.clone();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(e.token.len(), 64);
    // Only the token's hash is stored.
    let devices = st.devices().unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].id, e.device_id);

    // Used again: refused.
    let (status, err) = error_of(enroll(&c, &s, code.expose()).await).await;
    assert_eq!(
        (status, err.error.as_str()),
        (403, codes::ENROLLMENT_CODE_INVALID)
    );
    assert!(err.message.contains("already been used"));
    // The reason a device says it by, in its user's language.
    assert_eq!(
        err.reason.as_deref(),
        Some(gocua_protocol::reasons::CODE_USED)
    );

    // Expired.
    let expired = secrets::new_enroll_code();
    let now = gocua_server::now();
    st.add_enroll_code(
        &secrets::code_hash(expired.expose()),
        &t.volunteer_id,
        now - 7200,
        now - 10,
    )
    .unwrap();
    let (status, err) = error_of(enroll(&c, &s, expired.expose()).await).await;
    assert_eq!(
        (status, err.error.as_str()),
        (403, codes::ENROLLMENT_CODE_INVALID)
    );
    assert!(err.message.contains("expired"));
    assert_eq!(
        err.reason.as_deref(),
        Some(gocua_protocol::reasons::CODE_EXPIRED)
    );

    // Unknown.
    let (status, err) = error_of(enroll(&c, &s, "ABCD-EFGH").await).await;
    assert_eq!(
        (status, err.error.as_str()),
        (401, codes::ENROLLMENT_CODE_INVALID)
    );
    assert_eq!(
        err.reason.as_deref(),
        Some(gocua_protocol::reasons::CODE_UNKNOWN)
    );
    assert_eq!(st.devices().unwrap().len(), 1);

    // Wrong JSON.
    let r = c
        .post(s.url("/v1/enroll"))
        .header(HEADER_PROTOCOL, "2")
        .header("content-type", "application/json")
        .body("{\"code\": 12")
        .send()
        .await
        .unwrap();
    let (status, err) = error_of(r).await;
    assert_eq!((status, err.error.as_str()), (400, codes::BAD_REQUEST));

    let audit = st.audit_log(100).unwrap();
    let actions: Vec<_> = audit.iter().map(|a| a.entry.action.as_str()).collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "device_enrolled").count(),
        1
    );
    assert_eq!(
        actions.iter().filter(|a| **a == "enroll_refused").count(),
        3
    );
    // No secret reaches the audit log.
    let text = format!("{audit:?}");
    assert!(!text.contains(&e.token) && !text.contains(code.expose()));
    s.stop().await;
}

async fn tokens_are_checked_and_revoked_devices_refused(db: common::TestDb) {
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "T", &["Thôn Đông"]);
    let c = client();
    let dev = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    let (id, _, first) = new_household(&t.villages[0]);

    // No token, unknown token.
    let r = c
        .get(s.url("/v1/pull?cursor=0"))
        .header(HEADER_PROTOCOL, "2")
        .send()
        .await
        .unwrap();
    let (status, err) = error_of(r).await;
    assert_eq!((status, err.error.as_str()), (401, codes::UNAUTHORIZED));
    let (status, err) =
        error_of(push_raw(&c, &s, "not-a-token", one(&id, vec![first.clone()])).await).await;
    assert_eq!((status, err.error.as_str()), (401, codes::UNAUTHORIZED));
    assert_eq!(st.change_count().unwrap(), 0);

    // A good token works, until the device is revoked.
    let p = push(&c, &s, &dev.token, one(&id, vec![first.clone()])).await;
    assert_eq!(p.stored, 1);
    assert!(
        st.revoke_device(&dev.device_id, gocua_server::now(), false)
            .unwrap()
    );
    let (_, _, other) = new_household(&t.villages[0]);
    let (status, err) = error_of(push_raw(&c, &s, &dev.token, one(&id, vec![other])).await).await;
    assert_eq!((status, err.error.as_str()), (403, codes::DEVICE_REVOKED));
    assert!(err.message.contains("revoked"));
    let r = c
        .get(s.url("/v1/pull?cursor=0"))
        .header(HEADER_PROTOCOL, "2")
        .bearer_auth(&dev.token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.1.error, codes::DEVICE_REVOKED);
    assert_eq!(st.change_count().unwrap(), 1);
    let audit = st.audit_log(100).unwrap();
    assert!(audit.iter().any(|a| a.entry.action == "device_revoked"));
    assert!(
        audit
            .iter()
            .any(|a| a.entry.action == "revoked_access_refused")
    );
    s.stop().await;
}

async fn pushing_twice_stores_once(db: common::TestDb) {
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "T", &["Thôn Đông"]);
    let c = client();
    let a = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    let b = device(&c, &s, st.as_ref(), &t.volunteer_id).await;

    let (id, mut doc, first) = new_household(&t.villages[0]);
    let second = edit(&mut doc, "phone", "0912000111");
    let body = one(&id, vec![first.clone(), second.clone()]);
    let p = push(&c, &s, &a.token, body.clone()).await;
    assert_eq!((p.stored, p.duplicates, p.refused.len()), (2, 0, 0));
    let p = push(&c, &s, &a.token, body).await;
    assert_eq!((p.stored, p.duplicates, p.refused.len()), (0, 2, 0));
    // The same changes from another device of the team: free too.
    let p = push(&c, &s, &b.token, one(&id, vec![second.clone()])).await;
    assert_eq!((p.stored, p.duplicates), (0, 1));

    // A change repeated inside one push is stored once too.
    let (id2, _, third) = new_household(&t.villages[0]);
    let p = push(&c, &s, &a.token, one(&id2, vec![third.clone(), third])).await;
    assert_eq!(p.stored, 1, "{p:?}");

    let got = pull_all(&c, &s, &b.token).await;
    assert_eq!(got.len(), 3);
    assert_eq!(&got[..2], &[(id.clone(), first), (id, second)]);
    assert_eq!(st.change_count().unwrap(), 3);
    // Duplicates took no numbers: the log and the feed have no holes.
    assert_eq!(db.rows("SELECT count(*), max(seq) FROM changes"), ["3|3"]);
    assert_eq!(db.rows("SELECT count(*), max(position) FROM feed"), ["3|3"]);
    s.stop().await;
}

async fn devices_push_only_their_villages(db: common::TestDb) {
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let east = team(st.as_ref(), "Đông", &["Thôn Đông"]);
    let west = team(st.as_ref(), "Tây", &["Thôn Tây"]);
    let c = client();
    let a = device(&c, &s, st.as_ref(), &east.volunteer_id).await;
    let a2 = device(&c, &s, st.as_ref(), &east.volunteer_id).await;
    let w = device(&c, &s, st.as_ref(), &west.volunteer_id).await;
    let east_v = east.villages[0].clone();
    let west_v = west.villages[0].clone();

    let (id, mut doc, first) = new_household(&east_v);
    assert_eq!(
        push(&c, &s, &a.token, one(&id, vec![first.clone()]))
            .await
            .stored,
        1
    );

    // Another team's device edits a household of a village not its own.
    let mut doc_w = doc.fork();
    let foreign = edit(&mut doc_w, "phone", "0987654321");
    let p = push(&c, &s, &w.token, one(&id, vec![foreign])).await;
    assert_eq!(p.stored, 0);
    assert_eq!(p.refused.len(), 1);
    assert_eq!(p.refused[0].code, codes::OUTSIDE_VILLAGES);

    // Moving a household to a village the device does not serve.
    let mut unmoved = doc.fork();
    let moved = edit(&mut doc, "village_id", &west_v);
    let p = push(&c, &s, &a.token, one(&id, vec![moved])).await;
    assert_eq!(p.refused[0].code, codes::MOVES_VILLAGE);

    // A household the server does not know, without its first change.
    let (orphan_id, mut orphan_doc, _never_sent) = new_household(&east_v);
    let orphan = edit(&mut orphan_doc, "phone", "0912000999");
    let p = push(&c, &s, &a.token, one(&orphan_id, vec![orphan])).await;
    assert_eq!(p.refused[0].code, codes::MISSING_DEPENDENCIES);

    // A new household of another village.
    let (wid, _, wfirst) = new_household(&west_v);
    let p = push(&c, &s, &a.token, one(&wid, vec![wfirst])).await;
    assert_eq!(p.refused[0].code, codes::OUTSIDE_VILLAGES);

    // In one push: a refused document and an accepted one; only the latter is stored.
    // (Made on a copy that never saw the refused move, which the server lacks.)
    let ok = edit(&mut unmoved, "phone", "0912000111");
    let (wid2, _, wfirst2) = new_household(&west_v);
    let p = push(
        &c,
        &s,
        &a.token,
        bundle::encode(&[
            DocChanges {
                doc_id: wid2.clone(),
                changes: vec![wfirst2],
            },
            DocChanges {
                doc_id: id.clone(),
                changes: vec![ok.clone()],
            },
        ]),
    )
    .await;
    assert_eq!((p.stored, p.refused.len()), (1, 1));
    assert_eq!(p.refused[0].doc_id, wid2);

    // What the other device of the east team sees: only what was allowed.
    assert_eq!(
        pull_all(&c, &s, &a2.token).await,
        vec![(id.clone(), first), (id, ok)]
    );
    assert!(pull_all(&c, &s, &w.token).await.is_empty());
    assert_eq!(st.change_count().unwrap(), 2);
    assert!(
        st.audit_log(100)
            .unwrap()
            .iter()
            .any(|a| a.entry.action == "push_refused")
    );
    s.stop().await;
}

async fn bad_input_is_refused_and_stores_nothing(db: common::TestDb) {
    let limit = 64 * 1024;
    let s = TestServer::start_with(&db, |c| c.max_body_bytes = limit).await;
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "T", &["Thôn Đông"]);
    let c = client();
    let dev = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    let (id, mut doc, first) = new_household(&t.villages[0]);
    let second = edit(&mut doc, "phone", "0912000111");
    let good = one(&id, vec![first.clone(), second.clone()]);

    // Truncated bundle.
    let (status, err) =
        error_of(push_raw(&c, &s, &dev.token, good[..good.len() - 3].to_vec()).await).await;
    assert_eq!((status, err.error.as_str()), (400, codes::BAD_BUNDLE));
    // Not a bundle at all.
    let (status, _) = error_of(push_raw(&c, &s, &dev.token, b"hello".to_vec()).await).await;
    assert_eq!(status, 400);
    // A good change and garbage in the same document, or in another one.
    let mut garbage = second.clone();
    let n = garbage.len();
    garbage[n / 2] ^= 0xff;
    let (status, err) = error_of(
        push_raw(
            &c,
            &s,
            &dev.token,
            one(&id, vec![first.clone(), garbage.clone()]),
        )
        .await,
    )
    .await;
    assert_eq!((status, err.error.as_str()), (400, codes::BAD_CHANGE));
    let (id2, _, other_first) = new_household(&t.villages[0]);
    let body = bundle::encode(&[
        DocChanges {
            doc_id: id2,
            changes: vec![other_first],
        },
        DocChanges {
            doc_id: id.clone(),
            changes: vec![vec![1, 2, 3, 4]],
        },
    ]);
    assert_eq!(push_raw(&c, &s, &dev.token, body).await.status(), 400);
    // A document id that is not a UUID.
    assert_eq!(
        push_raw(&c, &s, &dev.token, one("household-1", vec![first.clone()]))
            .await
            .status(),
        400
    );
    // Wrong content type.
    let r = c
        .post(s.url("/v1/push"))
        .header(HEADER_PROTOCOL, "2")
        .header("content-type", "application/json")
        .bearer_auth(&dev.token)
        .body(good.clone())
        .send()
        .await
        .unwrap();
    let (status, err) = error_of(r).await;
    assert_eq!(
        (status, err.error.as_str()),
        (415, codes::UNSUPPORTED_MEDIA_TYPE)
    );
    // Too large.
    let mut big = good.clone();
    big.extend(std::iter::repeat_n(0u8, limit + 1));
    let (status, err) = error_of(push_raw(&c, &s, &dev.token, big).await).await;
    assert_eq!((status, err.error.as_str()), (413, codes::TOO_LARGE));
    // Invalid token.
    let (status, _) = error_of(push_raw(&c, &s, "0000", good.clone()).await).await;
    assert_eq!(status, 401);
    // Another protocol version, or none.
    for version in [Some("1"), Some("3"), None] {
        let mut req = c
            .post(s.url("/v1/push"))
            .header("content-type", gocua_protocol::BUNDLE_CONTENT_TYPE)
            .bearer_auth(&dev.token)
            .body(good.clone());
        if let Some(v) = version {
            req = req.header(HEADER_PROTOCOL, v);
        }
        let (status, err) = error_of(req.send().await.unwrap()).await;
        assert_eq!(
            (status, err.error.as_str()),
            (426, codes::PROTOCOL_MISMATCH)
        );
    }
    // Unknown path, wrong method, bad query: JSON errors too.
    let r = c
        .get(s.url("/v1/nothing"))
        .header(HEADER_PROTOCOL, "2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(r).await,
        (
            404,
            gocua_protocol::ErrorBody {
                error: codes::NOT_FOUND.into(),
                message: "no such path: /v1/nothing".into(),
                reason: None,
            }
        )
    );
    let r = c
        .delete(s.url("/v1/push"))
        .header(HEADER_PROTOCOL, "2")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.0, 405);
    let r = c
        .get(s.url("/v1/pull?cursor=minus-one"))
        .header(HEADER_PROTOCOL, "2")
        .bearer_auth(&dev.token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.1.error, codes::BAD_REQUEST);

    assert_eq!(st.change_count().unwrap(), 0);
    assert!(pull_all(&c, &s, &dev.token).await.is_empty());
    // The good bundle still goes through.
    assert_eq!(push(&c, &s, &dev.token, good).await.stored, 2);
    s.stop().await;
}

async fn pull_pages_and_no_change_is_skipped_under_concurrent_pushes(db: common::TestDb) {
    const WRITERS: usize = 8;
    const PUSHES: usize = 200;
    let s = std::sync::Arc::new(TestServer::start(&db).await);
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "T", &["Thôn Đông", "Thôn Tây"]);
    let c = client();
    let reader = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let dev = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
        let (s, c, village) = (s.clone(), c.clone(), t.villages[w % 2].clone());
        writers.push(tokio::spawn(async move {
            let mut hashes = Vec::new();
            let (id, mut doc, first) = new_household(&village);
            hashes.push(hash_of(&first));
            assert_eq!(
                push(&c, &s, &dev.token, one(&id, vec![first])).await.stored,
                1
            );
            for i in 1..PUSHES {
                let ch = edit(&mut doc, "note", &format!("visit {i}"));
                hashes.push(hash_of(&ch));
                assert_eq!(push(&c, &s, &dev.token, one(&id, vec![ch])).await.stored, 1);
            }
            hashes
        }));
    }
    // The reader pulls small pages while the writers push.
    let mut seen: HashMap<automerge::ChangeHash, usize> = HashMap::new();
    let mut cursor = 0;
    let mut pages = 0;
    let drain = |page: Page, seen: &mut HashMap<_, usize>| {
        for d in page.docs {
            for ch in d.changes {
                *seen.entry(hash_of(&ch)).or_default() += 1;
            }
        }
        page.cursor
    };
    while !writers.iter().all(|w| w.is_finished()) {
        let page = pull(&c, &s, &reader.token, cursor, 37).await;
        assert!(page.cursor >= cursor);
        cursor = drain(page, &mut seen);
        pages += 1;
    }
    let mut all = Vec::new();
    for w in writers {
        all.extend(w.await.unwrap());
    }
    loop {
        let page = pull(&c, &s, &reader.token, cursor, 37).await;
        let more = page.more;
        cursor = drain(page, &mut seen);
        if !more {
            break;
        }
    }
    assert!(pages > 1, "the reader pulled while writers pushed");
    assert_eq!(all.len(), WRITERS * PUSHES);
    assert_eq!(seen.len(), all.len(), "every change pulled");
    assert!(
        all.iter().all(|h| seen.get(h) == Some(&1)),
        "each exactly once"
    );
    // An empty page keeps the cursor.
    let page = pull(&c, &s, &reader.token, cursor, 10).await;
    assert_eq!(
        (page.cursor, page.more, page.docs.len()),
        (cursor, false, 0)
    );
    match std::sync::Arc::try_unwrap(s) {
        Ok(s) => s.stop().await,
        Err(_) => panic!("server still shared"),
    }
}

/// Loads a bootstrap item list the way field-core imports it.
fn load(items: &[Vec<u8>]) -> Automerge {
    let mut doc = Automerge::new();
    for item in items {
        if gocua_protocol::chunk::is_document(item) {
            doc.merge(&mut Automerge::load(item).unwrap()).unwrap();
        } else {
            doc.apply_changes([automerge::Change::from_bytes(item.clone()).unwrap()])
                .unwrap();
        }
    }
    doc
}

async fn bootstrap_snapshots_cover_the_cursor_and_survive_a_restart(db: common::TestDb) {
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "T", &["Thôn Đông"]);
    let other = team(st.as_ref(), "U", &["Thôn Tây"]);
    let c = client();
    let a = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    let o = device(&c, &s, st.as_ref(), &other.volunteer_id).await;

    let mut docs = Vec::new();
    for i in 0..5 {
        let (id, mut doc, first) = new_household(&t.villages[0]);
        let mut changes = vec![first];
        for k in 0..=i {
            changes.push(edit(&mut doc, "note", &format!("{k}")));
        }
        push(&c, &s, &a.token, one(&id, changes)).await;
        docs.push((id, doc));
    }
    // A change whose dependency never reached the server is refused, so
    // nothing waits on the server: the document is not stored at all.
    let (gid, mut gdoc, gfirst) = new_household(&t.villages[0]);
    let _missing = edit(&mut gdoc, "phone", "0912000111");
    let after_gap = edit(&mut gdoc, "note", "after the gap");
    let p = push(
        &c,
        &s,
        &a.token,
        one(&gid, vec![gfirst.clone(), after_gap.clone()]),
    )
    .await;
    assert_eq!(p.stored, 0);
    assert_eq!(p.refused[0].code, codes::MISSING_DEPENDENCIES);
    // Another team's household stays out of this device's bootstrap.
    let (oid, _, ofirst) = new_household(&other.villages[0]);
    push(&c, &s, &o.token, one(&oid, vec![ofirst])).await;

    let last = st.change_count().unwrap(); // seqs are 1..=count here
    let items = bootstrap_at(&c, &s, &a.token, last).await;
    assert_eq!(items.len(), 5);
    for (id, doc) in &docs {
        let got = items.iter().find(|d| &d.doc_id == id).unwrap();
        assert_eq!(got.changes.len(), 1, "one saved document");
        let loaded = load(&got.changes);
        assert_eq!(loaded.get_heads(), doc.get_heads());
        let (v, _) = loaded.get(ROOT, "village_id").unwrap().unwrap();
        assert_eq!(v.as_str(), Some(t.villages[0].as_str()));
    }
    assert!(items.iter().all(|d| d.doc_id != gid));
    // The device pulls after the bootstrap cursor: nothing more.
    assert!(pull(&c, &s, &a.token, last, 100).await.docs.is_empty());

    // Restart on the same database: everything is still there.
    let before = pull_all(&c, &s, &a.token).await;
    s.stop().await;
    let s = TestServer::start(&db).await;
    assert_eq!(pull_all(&c, &s, &a.token).await, before);
    let (cursor, again) = bootstrap(&c, &s, &a.token).await;
    assert_eq!(cursor, last);
    assert_eq!(again, items);
    // New changes after the restart are materialized too.
    let (id, doc) = &mut docs[0];
    let more = edit(doc, "phone", "0912333444");
    push(&c, &s, &a.token, one(id, vec![more])).await;
    let items = bootstrap_at(&c, &s, &a.token, last + 1).await;
    let got = items.iter().find(|d| &d.doc_id == id).unwrap();
    assert_eq!(load(&got.changes).get_heads(), doc.get_heads());
    s.stop().await;
}

async fn officers_read_their_province_and_operators_nothing(db: common::TestDb) {
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "T", &["Thôn Đông"]);
    let c = client();
    let a = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    let (id, _, first) = new_household(&t.villages[0]);
    push(&c, &s, &a.token, one(&id, vec![first.clone()])).await;

    let province = st.commune_province(COMMUNE).unwrap().unwrap();
    let (_, officer) =
        admin::add_account(st.as_ref(), Role::Officer, "Sở KHCN", Some(&province)).unwrap();
    assert_eq!(
        pull_all(&c, &s, officer.expose()).await,
        vec![(id.clone(), first.clone())]
    );
    let other = if province == "01" { "04" } else { "01" };
    let (_, far) =
        admin::add_account(st.as_ref(), Role::Officer, "Elsewhere", Some(other)).unwrap();
    assert!(pull_all(&c, &s, far.expose()).await.is_empty());
    // Officers cannot push; operators have no sync access.
    let (status, _) =
        error_of(push_raw(&c, &s, officer.expose(), one(&id, vec![first])).await).await;
    assert_eq!(status, 403);
    let (_, op) = admin::add_account(st.as_ref(), Role::Operator, "Ops", None).unwrap();
    let r = c
        .get(s.url("/v1/pull?cursor=0"))
        .header(HEADER_PROTOCOL, "2")
        .bearer_auth(op.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.0, 403);
    assert!(
        st.audit_log(100)
            .unwrap()
            .iter()
            .any(|e| e.entry.action == "pull")
    );
    s.stop().await;
}

async fn health_info_and_headers(db: common::TestDb) {
    let s = TestServer::start(&db).await;
    let c = client();
    let r = c.get(s.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[HEADER_PROTOCOL], "2");
    assert_eq!(r.text().await.unwrap(), "ok");
    let info: gocua_protocol::Info = c
        .get(s.url("/v1/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info.protocol_version, 2);
    // The administrative units were loaded into the empty database.
    assert!(
        admin_storage(&db)
            .commune_province(COMMUNE)
            .unwrap()
            .is_some()
    );
    s.stop().await;
}

async fn gzip_requests_and_responses(db: common::TestDb) {
    use std::io::Write;
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "T", &["Thôn Đông"]);
    let c = client();
    let dev = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    let (id, mut doc, first) = new_household(&t.villages[0]);
    let mut changes = vec![first];
    for i in 0..50 {
        changes.push(edit(&mut doc, "note", &format!("ghi chú số {i}")));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&one(&id, changes.clone())).unwrap();
    let r = c
        .post(s.url("/v1/push"))
        .header(HEADER_PROTOCOL, "2")
        .header("content-type", gocua_protocol::BUNDLE_CONTENT_TYPE)
        .header("content-encoding", "gzip")
        .bearer_auth(&dev.token)
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let p: gocua_protocol::PushResponse = r.json().await.unwrap();
    assert_eq!(p.stored, 51);
    // A client that asks for gzip gets it (another device: a device is not sent
    // its own changes back).
    let other = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let r = raw
        .get(s.url("/v1/pull?cursor=0"))
        .header(HEADER_PROTOCOL, "2")
        .header("accept-encoding", "gzip")
        .bearer_auth(&other.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let got: Vec<_> = pull_all(&c, &s, &other.token)
        .await
        .into_iter()
        .map(|x| x.1)
        .collect();
    assert_eq!(got, changes);
    s.stop().await;
}

async fn enroll_as(
    c: &reqwest::Client,
    s: &TestServer,
    code: &str,
    rid: &str,
) -> reqwest::Response {
    c.post(s.url("/v1/enroll"))
        .header(gocua_protocol::HEADER_PROTOCOL, "2")
        .json(&gocua_protocol::EnrollRequest {
            code: code.into(),
            device_name: "Điện thoại của Lan".into(),
            request_id: Some(rid.into()),
        })
        .send()
        .await
        .unwrap()
}

/// On a weak network the answer to an enrollment can be lost after the server
/// used the code: the device's retry (same request id) must get the same device
/// back, not "code already used"; anybody else's attempt is still refused.
async fn a_retried_enrollment_gets_the_same_device(db: common::TestDb) {
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "Tổ thôn Đông", &["Thôn Đông"]);
    let c = client();
    let (code, _) = admin::new_enroll_code(st.as_ref(), &t.volunteer_id, 72).unwrap();

    let first: gocua_protocol::EnrollResponse = enroll_as(&c, &s, code.expose(), "req-1")
        .await
        .json()
        .await
        .unwrap();
    // The answer was "lost": the device retries with the same request id.
    let r = enroll_as(&c, &s, code.expose(), "req-1").await;
    assert_eq!(r.status(), 200);
    let retry: gocua_protocol::EnrollResponse = r.json().await.unwrap();
    assert_eq!(retry.device_id, first.device_id);
    assert_ne!(retry.token, first.token, "a fresh token");
    assert_eq!(st.devices().unwrap().len(), 1, "no second device");
    // The new token works; the lost one does not.
    let (h, _doc, bytes) = new_household(&t.villages[0]);
    let ok = push_raw(&c, &s, &retry.token, one(&h, vec![bytes.clone()])).await;
    assert_eq!(ok.status(), 200);
    let old = push_raw(&c, &s, &first.token, one(&h, vec![bytes])).await;
    assert_eq!(old.status(), 401);

    // Another request id, or a retry after the device has pushed: refused.
    let (status, err) = error_of(enroll_as(&c, &s, code.expose(), "req-2").await).await;
    assert_eq!(
        (status, err.error.as_str()),
        (403, codes::ENROLLMENT_CODE_INVALID)
    );
    let (status, _) = error_of(enroll_as(&c, &s, code.expose(), "req-1").await).await;
    assert_eq!(
        status, 403,
        "a device that has pushed is not handed out again"
    );
    s.stop().await;
}

/// A device is not sent its own changes back, but its cursor moves past them.
async fn a_device_does_not_download_its_own_changes(db: common::TestDb) {
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "T", &["Thôn Đông"]);
    let c = client();
    let a = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    let b = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    let (id, _doc, first) = new_household(&t.villages[0]);
    push(&c, &s, &a.token, one(&id, vec![first.clone()])).await;
    let own = pull(&c, &s, &a.token, 0, 100).await;
    assert!(own.docs.is_empty(), "its own change is not sent back");
    assert!(own.cursor > 0, "but the cursor moves past it");
    let theirs = pull_all(&c, &s, &b.token).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].1, first);
    s.stop().await;
}

common::on_both!(
    bootstrap_is_streamed_one_document_at_a_time,
    pull_pages_and_no_change_is_skipped_under_concurrent_pushes,
    gzip_requests_and_responses,
    enrollment_codes_are_one_time_and_expire,
    tokens_are_checked_and_revoked_devices_refused,
    pushing_twice_stores_once,
    devices_push_only_their_villages,
    bad_input_is_refused_and_stores_nothing,
    bootstrap_snapshots_cover_the_cursor_and_survive_a_restart,
    officers_read_their_province_and_operators_nothing,
    health_info_and_headers,
    a_retried_enrollment_gets_the_same_device,
    a_device_does_not_download_its_own_changes,
);

/// A bootstrap larger than the server's chunks arrives whole and the same as
/// the stored snapshots, and the backends read it one document at a time: a
/// reader that stops after three documents is given no more.
async fn bootstrap_is_streamed_one_document_at_a_time(db: common::TestDb) {
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "T", &["Thôn Đông"]);
    let c = client();
    let dev = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    // About 1.2 MB of snapshots: several of the server's 256 KiB chunks.
    let mut last = 0;
    for batch in 0..6 {
        let docs: Vec<DocChanges> = (0..50)
            .map(|i| {
                let (id, mut doc, first) = new_household(&t.villages[0]);
                // Random text: Automerge compresses what repeats.
                let mut x = (batch * 1000 + i) as u64 + 1;
                let note: String = (0..6000)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        char::from(b'!' + (x % 90) as u8)
                    })
                    .collect();
                let second = edit(&mut doc, "address", &note);
                DocChanges {
                    doc_id: id,
                    changes: vec![first, second],
                }
            })
            .collect();
        last = push(&c, &s, &dev.token, bundle::encode(&docs))
            .await
            .last_seq;
    }
    let reader = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    let got = bootstrap_at(&c, &s, &reader.token, last).await;
    assert_eq!(got.len(), 300);
    let stored = st.bootstrap(&t.villages).unwrap();
    let expected: Vec<(String, Vec<Vec<u8>>)> = stored
        .docs
        .into_iter()
        .map(|d| {
            let changes = d
                .bytes
                .into_iter()
                .chain(d.pending.into_iter().map(|p| p.1))
                .collect();
            (d.doc_id, changes)
        })
        .collect();
    let received: Vec<(String, Vec<Vec<u8>>)> =
        got.into_iter().map(|d| (d.doc_id, d.changes)).collect();
    assert_eq!(received, expected);
    let total: usize = received.iter().flat_map(|d| &d.1).map(Vec::len).sum();
    assert!(total > 3 * 256 * 1024, "{total} bytes: too small to stream");
    // A reader that gives up after three documents stops the read there.
    let mut seen = 0;
    let stopped = st.bootstrap_stream(&t.villages, &mut |_| Ok(()), &mut |_| {
        seen += 1;
        if seen == 3 {
            Err(gocua_server::StorageError::Busy("enough".into()))
        } else {
            Ok(())
        }
    });
    assert!(stopped.is_err());
    assert_eq!(seen, 3);
    s.stop().await;
}
