//! End-to-end: a lost phone. The operator revokes it with a wipe; at its next
//! contact it reports the changes it had not sent, then wipes its data; the
//! operator hands those changes to the team, and nothing is lost.

use gocua_protocol::bundle;
use gocua_tests::*;
use serde_json::Value;

/// `POST /v1/unsent` with `body` as device `d`; the status and the answer.
fn post_unsent(server: &Server, token: &str, body: Vec<u8>) -> (u16, Value) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}{}", server.url(), gocua_protocol::paths::UNSENT))
        .header(
            gocua_protocol::HEADER_PROTOCOL,
            gocua_protocol::PROTOCOL_VERSION.to_string(),
        )
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", gocua_protocol::BUNDLE_CONTENT_TYPE)
        .body(body)
        .send()
        .unwrap_or_else(|e| panic!("unsent: {e}"));
    let status = resp.status().as_u16();
    let text = resp.text().unwrap_or_else(|e| panic!("answer: {e}"));
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

#[test]
fn a_lost_phone_reports_what_it_had_not_sent_then_wipes_its_data() {
    let server = Server::start();
    let (_team, devices) = enrolled_devices(&server, 2);
    let [lost, other] = [&devices[0], &devices[1]];
    let synced = lost.add_household(&["--head", "Nguyễn Văn Hạnh", "--phone", "0912345678"]);
    lost.ok(&["visit", "record", &synced, "--service", "vneid_activate"]);
    lost.sync();
    // Work done in the village after the last sync, then the phone is lost.
    let offline = lost.add_household(&["--head", "Hoàng Thị Xuyến", "--phone", "0971234568"]);
    lost.ok(&[
        "member",
        "add",
        &offline,
        "--name",
        "Lò Văn Quỳnh",
        "--birth-year",
        "1988",
        "--id-number",
        "001088004567",
    ]);
    lost.ok(&["visit", "record", &offline, "--service", "ehealth_book"]);
    lost.ok(&["visit", "record", &synced, "--service", "scam_awareness"]);
    let pending = u64_field(&lost.json(&["status"]), "pending_changes");
    assert!(pending >= 4, "{pending}");

    let id = lost.device_id();
    let revoked = server.admin(&["devices", "revoke", &id, "--wipe"]);
    assert_eq!(revoked["wipe_requested"], true, "{revoked}");
    let listed = server.admin(&["devices", "list"]);
    let entry = listed
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not in {listed}"));
    assert_eq!(entry["wipe_requested"], true, "{entry}");
    assert_eq!(entry["unsent_reports"], 0, "{entry}");

    // The next contact: told, reports, wipes; the volunteer is told so.
    let out = lost.run(&["sync"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("dữ liệu trên máy đã được xoá"), "{err}");
    assert!(
        err.contains(&format!("{pending} thay đổi chưa đồng bộ")),
        "{err}"
    );

    // Nothing personal is left in the store, even to whoever has its key.
    let db = lost.db();
    for table in [
        "households",
        "persons",
        "visits",
        "documents",
        "doc_changes",
        "outbox",
    ] {
        let n: i64 = db
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        assert_eq!(n, 0, "{table} after the wipe");
    }
    let tokens: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM meta WHERE key IN ('device_token', 'server_url')",
            [],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tokens, 0);
    drop(db);
    let status = lost.json(&["status"]);
    assert_eq!(status["households"], 0, "{status}");
    let again = lost.run(&["--json", "sync"]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("not_enrolled"),
        "{}",
        text(&again.stderr)
    );

    // The operator sees the report, with every unsent change.
    let reports = server.admin(&["devices", "unsent", "--device", &id]);
    let reports = reports.as_array().cloned().unwrap_or_default();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0]["changes"], pending, "{reports:?}");
    assert_eq!(reports[0]["documents"], 2, "{reports:?}");
    let audit = server.admin(&["audit"]);
    assert!(audit.to_string().contains("unsent_reported"), "{audit}");

    // ... and hands them to the team: the other phone takes them in.
    let report_id = reports[0]["id"].to_string();
    let file = other.file("from-the-lost-phone.changes");
    server.admin(&[
        "devices",
        "unsent-export",
        &report_id,
        "--out",
        &path_text(&file),
    ]);
    other.sync();
    assert!(other.run(&["household", "show", &offline]).status.code() != Some(0));
    other.ok(&["changes", "import", &path_text(&file)]);
    let shown = other.json(&["household", "show", &offline]);
    assert_eq!(shown["head_name"], "Hoàng Thị Xuyến", "{shown}");
    let visits = other.json(&["visit", "list", &synced]);
    assert_eq!(visits.as_array().map(Vec::len), Some(2), "{visits}");
    // Sent on by the other phone at its next sync: on the server for all.
    other.sync();
    assert_eq!(u64_field(&other.json(&["status"]), "pending_changes"), 0);
}

#[test]
fn only_a_revoked_device_reports_unsent_changes_and_only_a_bundle() {
    let server = Server::start();
    let (_team, devices) = enrolled_devices(&server, 1);
    let d = &devices[0];
    let token = d.token();
    let empty = bundle::encode(&[]);

    let (status, body) = post_unsent(&server, &token, empty.clone());
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["reason"], "not_revoked", "{body}");

    server.admin(&["devices", "revoke", &d.device_id()]);
    let (status, body) = post_unsent(&server, &token, b"not a bundle".to_vec());
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "bad_bundle", "{body}");
    let (status, body) = post_unsent(&server, "not-a-token", empty.clone());
    assert_eq!(status, 401, "{body}");
    let (status, body) = post_unsent(&server, &token, empty);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changes"], 0, "{body}");

    // Revoked without a wipe: the device keeps its data and is told so.
    let out = d.run(&["sync"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("không bị xóa"),
        "{}",
        text(&out.stderr)
    );
}
