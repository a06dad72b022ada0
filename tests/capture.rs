//! Capturing what belongs to another household or village (issue 6), end to
//! end: the real `gocua-server`, real `gocua` devices, and a change file an
//! owner exported (`gocua changes export`) relayed to another device before the
//! owner synced. The attacker's crafted pushes are made by the test itself over
//! HTTP with the attacker device's token, from the relayed bytes.
//!
//! Each scenario checks what the bug broke: the owner's village receives every
//! change of the household; the attacker's push stores nothing; no device waits
//! on a missing dependency or holds a quarantined change; every later sync exits
//! 0; a refusal never names the village of a household outside the caller's.
//!
//! Server-level versions of the same scenarios, with more variants, are in
//! `sync-server/tests/integrity.rs`.

// Test helpers: a failure is a test failure.
#![allow(clippy::expect_used)]

use std::collections::BTreeMap;

use automerge::{Automerge, Change, ROOT, transaction::Transactable};
use gocua_protocol::bundle::{self, DocChanges};
use gocua_protocol::codes;
use gocua_tests::*;
use serde_json::Value;

/// `POST /v1/push` of `docs` as device `d` would, but crafted by the test.
/// Returns the server's answer (the push must be answered 200).
fn push_as(server: &Server, d: &Device, docs: Vec<DocChanges>) -> Value {
    let body = bundle::encode(&docs);
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}{}", server.url(), gocua_protocol::paths::PUSH))
        .header(
            gocua_protocol::HEADER_PROTOCOL,
            gocua_protocol::PROTOCOL_VERSION.to_string(),
        )
        .header("authorization", format!("Bearer {}", d.token()))
        .header("content-type", gocua_protocol::BUNDLE_CONTENT_TYPE)
        .body(body)
        .send()
        .unwrap_or_else(|e| panic!("push: {e}"));
    let status = resp.status().as_u16();
    let answer = resp.text().unwrap_or_else(|e| panic!("push answer: {e}"));
    assert_eq!(status, 200, "push answered {status}: {answer}");
    serde_json::from_str(&answer).unwrap_or_else(|e| panic!("push answer not JSON ({e}): {answer}"))
}

/// One document's changes, as a push body item.
fn one(doc_id: &str, changes: Vec<Vec<u8>>) -> Vec<DocChanges> {
    vec![DocChanges {
        doc_id: doc_id.to_string(),
        changes,
    }]
}

/// Asserts a crafted push stored nothing and refused `doc_id` with `code`;
/// returns the refusal's message.
fn assert_refused(answer: &Value, doc_id: &str, code: &str) -> String {
    assert_eq!(
        answer["stored"], 0,
        "the server stored a crafted push: {answer}"
    );
    let refused = answer["refused"]
        .as_array()
        .unwrap_or_else(|| panic!("no refusals in {answer}"));
    assert_eq!(refused.len(), 1, "{answer}");
    assert_eq!(refused[0]["doc_id"], doc_id, "{answer}");
    assert_eq!(refused[0]["code"], code, "{answer}");
    str_field(&refused[0], "message")
}

/// Asserts `text` (a refusal) names neither the village's id nor its name.
fn names_no_village(text: &str, team: &Team) {
    assert!(
        !text.contains(&team.village_id) && !text.contains(&team.village),
        "a refusal names another village ({} {}): {text}",
        team.village,
        team.village_id
    );
}

/// `gocua changes export` of everything on `from`, imported on `to` (a change
/// file passed between two devices); returns the file's documents by id.
fn relay(from: &Device, to: &Device) -> BTreeMap<String, Vec<Vec<u8>>> {
    let file = path_text(&from.file("relayed.changes"));
    from.ok(&["changes", "export", "--out", &file]);
    let imported = to.json(&["changes", "import", &file]);
    assert_eq!(imported["quarantined"], 0, "{imported}");
    assert_eq!(imported["waiting"], 0, "{imported}");
    changes_in(&file)
}

/// The documents of a change file, by id.
fn changes_in(file: &str) -> BTreeMap<String, Vec<Vec<u8>>> {
    let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("read {file}: {e}"));
    bundle::decode(&bytes)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .into_iter()
        .map(|d| (d.doc_id, d.changes))
        .collect()
}

/// The document these changes make.
fn document(changes: &[Vec<u8>]) -> Automerge {
    let mut doc = Automerge::new();
    let parsed: Vec<Change> = changes
        .iter()
        .map(|b| Change::from_bytes(b.clone()).expect("a relayed change parses"))
        .collect();
    doc.apply_changes(parsed).expect("relayed changes apply");
    doc
}

/// A change by a new author on top of `changes`, setting root `key`.
fn change_on_top(changes: &[Vec<u8>], key: &str, value: &str) -> Vec<u8> {
    let mut doc = document(changes).fork();
    let mut tx = doc.transaction();
    tx.put(ROOT, key, value).expect("put");
    tx.commit();
    doc.get_last_local_change()
        .expect("a change was made")
        .raw_bytes()
        .to_vec()
}

/// A document's first change made by the attacker: a household of `village`
/// that says its id is `id`.
fn forged_genesis(id: &str, village: &str) -> Vec<u8> {
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    for (k, v) in [
        ("kind", "household"),
        ("id", id),
        ("village_id", village),
        ("commune_code", COMMUNE),
        ("head_name", "Nguyễn Văn Giả"),
    ] {
        tx.put(ROOT, k, v).expect("put");
    }
    tx.commit();
    doc.get_last_local_change()
        .expect("a change was made")
        .raw_bytes()
        .to_vec()
}

/// Rows of the server's change log for `doc_id`.
fn stored_for(server: &Server, doc_id: &str) -> i64 {
    server.query_ints(&format!(
        "SELECT count(*) FROM changes WHERE doc_id = '{doc_id}'"
    ))[0]
}

/// Nothing on the device waits for a dependency or sits in quarantine.
fn assert_settled(d: &Device) -> Value {
    let status = d.json(&["status"]);
    assert_eq!(status["waiting_changes"], 0, "{status}");
    assert_eq!(status["quarantined_changes"], 0, "{status}");
    status
}

/// The owner's household with a few changes: created, edited, a member, a visit.
fn owner_household(owner: &Device) -> String {
    let hid = owner.add_household(&["--head", "Lò Thị Mai", "--phone", "0912345678"]);
    owner.ok(&["household", "edit", &hid, "--phone", "0987654321"]);
    let pid = str_field(
        &owner.json(&[
            "member",
            "add",
            &hid,
            "--name",
            "Lò Văn Páo",
            "--birth-year",
            "1950",
        ]),
        "id",
    );
    owner.ok(&[
        "visit",
        "record",
        &hid,
        "--service",
        "vneid_activate",
        "--person",
        &pid,
    ]);
    hid
}

/// The owner pushes the household: every change of it is stored as new (none
/// counted as already on the server), nothing refused; the owner's village
/// neighbour then receives all of it and shows what the owner shows.
fn owner_pushes_and_village_receives(
    server: &Server,
    owner: &Device,
    neighbour: &Device,
    hid: &str,
    n_changes: usize,
) {
    let r = owner.sync();
    assert_eq!(u64_field(&r, "sent") as usize, n_changes, "{r}");
    assert_eq!(u64_field(&r, "already_on_server"), 0, "{r}");
    assert_eq!(r["refused"], serde_json::json!([]), "{r}");
    assert_eq!(u64_field(&r, "quarantined_by_server"), 0, "{r}");
    assert_eq!(stored_for(server, hid) as usize, n_changes);
    let status = assert_settled(owner);
    assert_eq!(status["pending_changes"], 0, "{status}");
    assert_eq!(status["refused_changes"], 0, "{status}");

    let r = neighbour.sync();
    assert!(u64_field(&r, "received") as usize >= n_changes, "{r}");
    assert_eq!(u64_field(&r, "waiting"), 0, "{r}");
    assert_eq!(u64_field(&r, "quarantined"), 0, "{r}");
    assert_settled(neighbour);
    assert_eq!(
        neighbour.json(&["household", "show", hid]),
        owner.json(&["household", "show", hid])
    );
    assert_eq!(neighbour.doc_heads().get(hid), owner.doc_heads().get(hid));

    // The household lives on: a later edit reaches the village too.
    owner.ok(&["visit", "record", hid, "--service", "ehealth_book"]);
    let r = owner.sync();
    assert_eq!(r["refused"], serde_json::json!([]), "{r}");
    assert_eq!(u64_field(&r, "sent"), 1, "{r}");
    let r = neighbour.sync();
    assert_eq!(u64_field(&r, "received"), 1, "{r}");
    let shown = neighbour.json(&["household", "show", hid]);
    assert_eq!(shown, owner.json(&["household", "show", hid]));
    assert_eq!(shown["visits"].as_array().map(Vec::len), Some(2), "{shown}");
    assert_settled(neighbour);
}

/// Finding 2: a household's real changes pushed under an id that is not theirs.
/// Before the fix the server stored them, and every device of the village then
/// failed every sync (`document X: its id field says Y`).
#[test]
fn changes_under_an_id_that_is_not_their_documents_are_refused() {
    let server = Server::start();
    let (_east, devices) = enrolled_devices(&server, 3);
    let [owner, neighbour, attacker] = [&devices[0], &devices[1], &devices[2]];
    let hid = owner_household(owner);
    // The owner's change file reaches a device of the same village before the
    // owner syncs.
    let relayed = relay(owner, attacker);
    let h = relayed
        .get(&hid)
        .expect("the household is in the file")
        .clone();
    assert!(h.len() >= 4, "{} changes", h.len());

    // Under an id of the old (random) form, and of the derived form.
    let legacy_form = "01a2087c-0000-7000-8000-0000000000aa";
    let derived_form = gocua_protocol::ids::derived_doc_id(&[9; 32]);
    for other in [legacy_form, derived_form.as_str()] {
        let a = push_as(&server, attacker, one(other, h.clone()));
        assert_refused(&a, other, codes::BAD_DOCUMENT);
        // Without its first change: nothing to depend on under that id.
        let a = push_as(&server, attacker, one(other, h[1..].to_vec()));
        assert_refused(&a, other, codes::MISSING_DEPENDENCIES);
    }
    assert_eq!(server.query_ints("SELECT count(*) FROM changes")[0], 0);

    // The village syncs as if nothing happened.
    owner_pushes_and_village_receives(&server, owner, neighbour, &hid, h.len());
    // The attacker's own sync offers the relayed household under its real id:
    // already there, and it receives what it lacked.
    let r = attacker.sync();
    assert_eq!(r["refused"], serde_json::json!([]), "{r}");
    assert_eq!(u64_field(&r, "already_on_server") as usize, h.len(), "{r}");
    assert_settled(attacker);
    assert_eq!(
        attacker.json(&["household", "show", &hid]),
        owner.json(&["household", "show", &hid])
    );

    // Now that the server holds them, the same changes under another id are
    // another document's: refused, and the other document is not named.
    let a = push_as(&server, attacker, one(legacy_form, h.clone()));
    let refused = &a["refused"][0];
    assert_eq!(a["stored"], 0, "{a}");
    assert!(
        refused["code"] == codes::BAD_DOCUMENT || refused["code"] == codes::FOREIGN_CHANGE,
        "{a}"
    );
    let a = push_as(&server, attacker, one(legacy_form, h[1..].to_vec()));
    let message = assert_refused(&a, legacy_form, codes::FOREIGN_CHANGE);
    assert!(!message.contains(&hid), "{message}");
    assert_eq!(stored_for(&server, legacy_form), 0);
    assert_eq!(
        server.query_ints("SELECT count(DISTINCT doc_id) FROM changes")[0],
        1
    );

    // Every device of the village keeps syncing, nothing waits.
    for d in [owner, neighbour, attacker] {
        let r = d.sync();
        assert_eq!(u64_field(&r, "received"), 0, "{r}");
        assert_eq!(u64_field(&r, "waiting"), 0, "{r}");
        assert_settled(d);
    }
    let heads = owner.doc_heads();
    assert_eq!(neighbour.doc_heads(), heads);
    assert_eq!(attacker.doc_heads(), heads);
}

/// Finding 3, first half: a device of another village holds an unsynced
/// household's changes (a relayed change file) and files them inside a new
/// document of its own village. Before the fix they were stored there, the
/// owner's push counted them as already on the server, the owner's village
/// never received them and waited forever on a missing dependency.
#[test]
fn relayed_changes_filed_in_another_villages_document_are_refused() {
    let server = Server::start();
    let east = Team::create(&server, "Thôn Đông");
    let west = Team::create(&server, "Thôn Tây");
    let owner = east.enroll(&server, &server.url());
    let neighbour = east.enroll(&server, &server.url());
    let attacker = west.enroll(&server, &server.url());

    let hid = owner_household(&owner);
    let relayed = relay(&owner, &attacker);
    let h = relayed
        .get(&hid)
        .expect("the household is in the file")
        .clone();
    // The attacker's own household, and its changes.
    let wid = attacker.add_household(&["--head", "Giàng A Sử", "--village", "Thôn Tây"]);
    let all = path_text(&attacker.file("own.changes"));
    attacker.ok(&["changes", "export", "--out", &all]);
    let w = changes_in(&all)
        .remove(&wid)
        .expect("the attacker's household is exported");

    // Inside its new document, with that document's own changes or alone.
    let mut inside = w.clone();
    inside.extend(h.iter().cloned());
    let a = push_as(&server, &attacker, one(&wid, inside));
    names_no_village(&assert_refused(&a, &wid, codes::BAD_DOCUMENT), &east);
    // Alone, under the new id: their first change puts it in the other
    // village.
    let a = push_as(&server, &attacker, one(&wid, h.clone()));
    names_no_village(&assert_refused(&a, &wid, codes::OUTSIDE_VILLAGES), &east);
    // Only the later changes: their dependencies are nowhere.
    let mut later = w.clone();
    later.extend(h[1..].iter().cloned());
    let a = push_as(&server, &attacker, one(&wid, later));
    assert_refused(&a, &wid, codes::MISSING_DEPENDENCIES);
    assert_eq!(server.query_ints("SELECT count(*) FROM changes")[0], 0);

    // The attacker's device syncs: its own household is stored; the relayed
    // one is refused (not its village) without saying whose it is.
    let out = attacker.run_timeout(&["sync"], COMMAND_TIMEOUT);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("Máy chủ từ chối hộ {}", &hid[hid.len() - 8..])),
        "{stdout}"
    );
    // Said by its code (outside_villages), in the volunteer's language.
    assert!(
        stdout.contains("không thuộc các thôn của máy này"),
        "{stdout}"
    );
    names_no_village(&stdout, &east);
    assert_eq!(stored_for(&server, &wid) as usize, w.len());
    assert_eq!(stored_for(&server, &hid), 0);

    // With its document on the server, the same changes filed in it.
    let a = push_as(&server, &attacker, one(&wid, h.clone()));
    names_no_village(&assert_refused(&a, &wid, codes::BAD_DOCUMENT), &east);
    let a = push_as(&server, &attacker, one(&wid, h[1..].to_vec()));
    assert_refused(&a, &wid, codes::MISSING_DEPENDENCIES);
    assert_eq!(stored_for(&server, &wid) as usize, w.len());

    owner_pushes_and_village_receives(&server, &owner, &neighbour, &hid, h.len());

    // After the owner's push: another document's changes, the other document
    // and its village not named.
    let a = push_as(&server, &attacker, one(&wid, h[1..].to_vec()));
    let message = assert_refused(&a, &wid, codes::FOREIGN_CHANGE);
    assert!(!message.contains(&hid), "{message}");
    names_no_village(&message, &east);
    // Under its own id: not the attacker's village, which is not named.
    let a = push_as(&server, &attacker, one(&hid, h.clone()));
    names_no_village(&assert_refused(&a, &hid, codes::OUTSIDE_VILLAGES), &east);

    // The attacker's village never received the other village's household;
    // every device syncs and nothing waits.
    let r = attacker.sync();
    assert_eq!(u64_field(&r, "received"), 0, "{r}");
    assert_settled(&attacker);
    for d in [&owner, &neighbour] {
        let r = d.sync();
        assert_eq!(u64_field(&r, "received"), 0, "{r}");
        let status = assert_settled(d);
        assert_eq!(status["households"], 1, "{status}");
    }
    assert_eq!(stored_for(&server, &wid) as usize, w.len());
}

/// Finding 3, second half: a change pushed under the id of another village's
/// household that its owner has not synced yet. Before the fix it claimed the
/// id, and the household was refused forever for its real owner.
#[test]
fn another_villages_unsynced_household_id_cannot_be_claimed() {
    let server = Server::start();
    let east = Team::create(&server, "Thôn Đông");
    let west = Team::create(&server, "Thôn Tây");
    let owner = east.enroll(&server, &server.url());
    let neighbour = east.enroll(&server, &server.url());
    let attacker = west.enroll(&server, &server.url());

    let hid = owner_household(&owner);
    let relayed = relay(&owner, &attacker);
    let h = relayed
        .get(&hid)
        .expect("the household is in the file")
        .clone();

    // A first change of its own that says it is that household, in its village.
    let a = push_as(
        &server,
        &attacker,
        one(&hid, vec![forged_genesis(&hid, &west.village_id)]),
    );
    names_no_village(&assert_refused(&a, &hid, codes::BAD_DOCUMENT), &east);
    // The real changes with one on top that moves the household to its village.
    let mut moved = h.clone();
    moved.push(change_on_top(&h, "village_id", &west.village_id));
    let a = push_as(&server, &attacker, one(&hid, moved));
    assert_eq!(a["stored"], 0, "{a}");
    assert_eq!(a["refused"].as_array().map(Vec::len), Some(1), "{a}");
    names_no_village(&a.to_string(), &east);
    // The real changes alone: not its village, which is not named.
    let a = push_as(&server, &attacker, one(&hid, h.clone()));
    names_no_village(&assert_refused(&a, &hid, codes::OUTSIDE_VILLAGES), &east);
    // An edit of its own on top, alone: the household is not on the server.
    let edit = change_on_top(&h, "phone", "0900000000");
    let a = push_as(&server, &attacker, one(&hid, vec![edit.clone()]));
    assert_refused(&a, &hid, codes::MISSING_DEPENDENCIES);
    assert_eq!(server.query_ints("SELECT count(*) FROM changes")[0], 0);

    owner_pushes_and_village_receives(&server, &owner, &neighbour, &hid, h.len());

    // Once the household is on the server, the attacker's edit is refused and
    // the household's village is not named.
    let a = push_as(&server, &attacker, one(&hid, vec![edit]));
    names_no_village(&assert_refused(&a, &hid, codes::OUTSIDE_VILLAGES), &east);
    let a = push_as(
        &server,
        &attacker,
        one(&hid, vec![forged_genesis(&hid, &west.village_id)]),
    );
    assert_eq!(a["stored"], 0, "{a}");
    names_no_village(&a.to_string(), &east);

    // Everyone syncs; the owner's village has everything, nothing waits, and
    // the attacker's device received nothing of it.
    let r = attacker.sync();
    let refused = r["refused"].as_array().cloned().unwrap_or_default();
    assert!(refused.iter().all(|x| x["doc_id"] == hid.as_str()), "{r}");
    names_no_village(&r.to_string(), &east);
    assert_settled(&attacker);
    for d in [&owner, &neighbour] {
        let r = d.sync();
        assert_eq!(u64_field(&r, "received"), 0, "{r}");
        assert_settled(d);
    }
    assert_eq!(neighbour.doc_heads(), owner.doc_heads());
    // Every stored change of the household is the owner's.
    let owner_id = owner.device_id();
    assert_eq!(
        server.query_ints(&format!(
            "SELECT count(*) FROM changes WHERE doc_id = '{hid}' AND device_id <> '{owner_id}'"
        ))[0],
        0
    );
}

/// The village and household of `fixtures/integrity/poison-household.changes`.
const POISON_COMMUNE: &str = "00097";
const POISON_VILLAGE: &str = "c3da56a8-952a-5d6e-b3eb-97b31b1c3703";
/// The fixture was written by protocol 1 under the household's random id;
/// protocol 2 names it by the id derived from its first change.
const POISON_HOUSEHOLD: &str = "6a07ab65-f59b-85d9-9bb3-83b9627d5953";
const POISON_LEGACY_ID: &str = "01a2087c-9607-7350-a11f-65652077ec67";

fn poison_file() -> String {
    path_text(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/integrity/poison-household.changes"),
    )
}

/// Puts the change this device quarantined back into its outbox, as a device
/// whose store holds a damaged change unchecked would have it (an older
/// version, a damaged store): the next sync sends it to the server.
fn unquarantine_into_outbox(d: &Device) {
    let path = d.home().join("store.sqlite");
    let conn = d.db();
    conn.execute_batch(
        "BEGIN;
         INSERT INTO doc_changes (doc_id, hash, bytes)
             SELECT 'damaged-' || hash, hash, bytes FROM quarantine;
         INSERT INTO outbox (hash, doc_id, created_at)
             SELECT hash, doc_id, received_at FROM quarantine;
         DELETE FROM quarantine;
         COMMIT;",
    )
    .unwrap_or_else(|e| panic!("tamper with {}: {e}", path.display()));
}

/// A device's own change the server cannot apply is set aside there, and the
/// volunteer is told in the sync summary (Vietnamese by default, English with
/// `--lang en`); the rest of the push, and the village, go on.
#[test]
fn the_sync_summary_says_when_the_server_set_own_changes_aside() {
    let server = Server::start();
    let team = Team::create_in(&server, POISON_COMMUNE, "Thôn Đông");
    assert_eq!(team.village_id, POISON_VILLAGE, "the fixture's village");
    let damaged_vi = team.enroll(&server, &server.url());
    let damaged_en = team.enroll(&server, &server.url());
    let reader = team.enroll(&server, &server.url());
    let file = poison_file();
    for d in [&damaged_vi, &damaged_en] {
        let r = d.json(&["changes", "import", &file]);
        assert_eq!(
            (r["changes_applied"].as_u64(), r["quarantined"].as_u64()),
            (Some(2), Some(1)),
            "{r}"
        );
        unquarantine_into_outbox(d);
        let status = d.json(&["status"]);
        assert_eq!(status["pending_changes"], 3, "{status}");
        assert_eq!(status["quarantined_changes"], 0, "{status}");
    }

    let out = damaged_vi.run_timeout(&["sync"], COMMAND_TIMEOUT);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("Máy chủ đã để riêng 1 thay đổi của máy này vì bị hỏng")
            && stdout.contains("Cán bộ quản trị máy chủ đã được báo"),
        "{stdout}"
    );
    assert!(stdout.contains("gửi 2 thay đổi"), "{stdout}");
    let out = damaged_en.run_timeout(&["--lang", "en", "sync"], COMMAND_TIMEOUT);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("The server set aside 1 of this device's changes as damaged")
            && stdout.contains("The server's operator has been told"),
        "{stdout}"
    );
    assert!(!stdout.contains("để riêng"), "{stdout}");

    // The operator sees it, with the device it came from.
    let listed = server.admin(&["quarantine"]);
    let rows = listed.as_array().cloned().unwrap_or_default();
    assert!(!rows.is_empty(), "{listed}");
    assert!(
        rows.iter().all(|q| q["doc_id"] == POISON_HOUSEHOLD),
        "{listed}"
    );
    let first = damaged_vi.device_id();
    assert!(
        rows.iter().any(|q| q["device_id"] == first.as_str()),
        "{listed}"
    );

    // Sent once: neither device offers it again, or says it again.
    for d in [&damaged_vi, &damaged_en] {
        let status = d.json(&["status"]);
        assert_eq!(status["pending_changes"], 0, "{status}");
        let out = d.run_timeout(&["sync"], COMMAND_TIMEOUT);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
        assert!(!stdout.contains("để riêng"), "{stdout}");
    }
    // The village receives the household's good changes and nothing else.
    let r = reader.sync();
    assert_eq!(u64_field(&r, "received"), 2, "{r}");
    assert_eq!(u64_field(&r, "quarantined"), 0, "{r}");
    assert_eq!(u64_field(&r, "quarantined_by_server"), 0, "{r}");
    assert_settled(&reader);
    assert_eq!(
        reader.json(&["household", "show", POISON_HOUSEHOLD]),
        // The old id, from the file it imported, still finds it there.
        damaged_vi.json(&["household", "show", POISON_LEGACY_ID])
    );
}
