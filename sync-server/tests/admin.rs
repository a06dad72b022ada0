//! `gocua-server admin` as an operator runs it: the real binary on the
//! server's database (a SQLite file, a throw-away PostgreSQL cluster), next
//! to a running server where a command's effect shows over HTTP.

// Test helpers: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use common::*;
use gocua_protocol::{HEADER_APP_VERSION, HEADER_PROTOCOL, codes, reasons};
use serde_json::Value;

fn command(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gocua-server"))
        .arg("--database")
        .arg(&db.database)
        .args(args)
        .env_remove("GOCUA_DATA_DIR")
        .env_remove("GOCUA_DATABASE")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `gocua-server --json admin ARGS`, required to succeed: its JSON.
fn admin(db: &TestDb, args: &[&str]) -> Value {
    let mut all = vec!["--json", "admin"];
    all.extend_from_slice(args);
    let o = command(db, &all);
    assert!(
        o.status.success(),
        "admin {args:?}: {}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {o:?}"))
}

/// `gocua-server admin --lang LANG ARGS` in text, required to succeed.
fn admin_text(db: &TestDb, lang: &str, args: &[&str]) -> String {
    let mut all = vec!["admin", "--lang", lang];
    all.extend_from_slice(args);
    let o = command(db, &all);
    assert!(o.status.success(), "admin {args:?}: {}", text(&o.stderr));
    text(&o.stdout)
}

/// `gocua-server admin --lang LANG ARGS`, required to fail as bad input
/// (exit 2): what it said.
fn refused(db: &TestDb, lang: &str, args: &[&str]) -> String {
    let mut all = vec!["admin", "--lang", lang];
    all.extend_from_slice(args);
    let o = command(db, &all);
    assert_eq!(
        o.status.code(),
        Some(2),
        "admin {args:?} should be refused: {}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stderr)
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

/// A village of `COMMUNE` and a team serving it, through the command.
fn team_of(db: &TestDb, team: &str, village: &str) -> (String, String) {
    let v = id(&admin(
        db,
        &["village", "add", "--commune", COMMUNE, "--name", village],
    ));
    let t = id(&admin(
        db,
        &[
            "team",
            "add",
            "--name",
            team,
            "--commune",
            COMMUNE,
            "--village",
            &v,
        ],
    ));
    (t, v)
}

/// In text, `add` prints the id alone on standard output (for `V=$(...)`)
/// and says what it did, and what to do next, beside it.
async fn adds_say_what_they_did_beside_the_id(db: TestDb) {
    let o = command(
        &db,
        &[
            "admin",
            "--lang",
            "vi",
            "village",
            "add",
            "--commune",
            COMMUNE,
            "--name",
            "Thôn Bắc",
        ],
    );
    assert!(o.status.success(), "{o:?}");
    let north = text(&o.stdout).trim().to_string();
    assert!(uuid::Uuid::parse_str(&north).is_ok(), "{o:?}");
    assert!(
        text(&o.stderr).contains("đã thêm thôn \"Thôn Bắc\""),
        "{o:?}"
    );
    let o = command(
        &db,
        &[
            "admin",
            "--lang",
            "en",
            "team",
            "add",
            "--name",
            "Tổ thôn Bắc",
            "--commune",
            COMMUNE,
            "--village",
            &north,
        ],
    );
    let north_team = text(&o.stdout).trim().to_string();
    assert!(uuid::Uuid::parse_str(&north_team).is_ok(), "{o:?}");
    assert!(text(&o.stderr).contains("serving: Thôn Bắc"), "{o:?}");
    let o = command(
        &db,
        &[
            "admin",
            "--lang",
            "en",
            "volunteer",
            "add",
            "--name",
            "Hà Văn Tú",
            "--phone",
            "0987 000 111",
            "--team",
            &north_team,
        ],
    );
    assert!(
        uuid::Uuid::parse_str(text(&o.stdout).trim()).is_ok(),
        "{o:?}"
    );
    assert!(
        text(&o.stderr).contains("enroll-code --volunteer 0987000111"),
        "{o:?}"
    );
}

/// One phone, one person: the same phone in any form is refused anywhere,
/// naming who has it; without a phone, the same name in the same team.
/// Codes are issued by phone as well as by id; lists have a header line.
async fn one_person_once_and_codes_by_phone(db: TestDb) {
    let (east, _) = team_of(&db, "Tổ thôn Đông", "Thôn Đông");
    let (west, _) = team_of(&db, "Tổ thôn Tây", "Thôn Tây");
    let lan = admin(
        &db,
        &[
            "volunteer",
            "add",
            "--name",
            "Nguyễn Thị Lan",
            "--phone",
            "0912 345 678",
            "--team",
            &east,
        ],
    );
    assert_eq!(
        lan["phone"], "0912345678",
        "stored in its national form: {lan}"
    );
    let lan_id = id(&lan);

    // The same phone, typed otherwise, in another team: refused, naming Lan.
    let vi = refused(
        &db,
        "vi",
        &[
            "volunteer",
            "add",
            "--name",
            "Lan",
            "--phone",
            "+84 912.345.678",
            "--team",
            &west,
        ],
    );
    assert!(
        vi.contains("đã được đăng ký") && vi.contains(&lan_id),
        "{vi}"
    );
    assert!(vi.contains("Nguyễn Thị Lan"), "{vi}");
    let en = refused(
        &db,
        "en",
        &[
            "volunteer",
            "add",
            "--name",
            "Lan",
            "--phone",
            "84912345678",
            "--team",
            &west,
        ],
    );
    assert!(
        en.contains("registered already") && en.contains(&lan_id),
        "{en}"
    );
    // Without a phone: the same name, folded, in the same team.
    admin(
        &db,
        &["volunteer", "add", "--name", "Lò Văn Hùng", "--team", &east],
    );
    let again = refused(
        &db,
        "en",
        &["volunteer", "add", "--name", "lo van hung", "--team", &east],
    );
    assert!(
        again.contains("--phone"),
        "says how to tell them apart: {again}"
    );
    // ... which a phone does, and another team is another person.
    admin(
        &db,
        &[
            "volunteer",
            "add",
            "--name",
            "Lò Văn Hùng",
            "--phone",
            "0987654321",
            "--team",
            &east,
        ],
    );
    admin(
        &db,
        &["volunteer", "add", "--name", "Lò Văn Hùng", "--team", &west],
    );
    assert_eq!(db.int("SELECT COUNT(*) FROM volunteers"), 4);
    // Bad input changes nothing.
    let bad = refused(
        &db,
        "vi",
        &[
            "volunteer",
            "add",
            "--name",
            "Mai",
            "--phone",
            "12345",
            "--team",
            &east,
        ],
    );
    assert!(bad.contains("không phải số điện thoại"), "{bad}");
    let no_team = refused(
        &db,
        "en",
        &["volunteer", "add", "--name", "Mai", "--team", "nope"],
    );
    assert!(
        no_team.contains("no team nope") && no_team.contains("team list"),
        "{no_team}"
    );
    assert_eq!(db.int("SELECT COUNT(*) FROM volunteers"), 4);

    // A code by phone, in any form, is Lan's.
    let code = admin(&db, &["enroll-code", "--volunteer", "+84 912 345 678"]);
    assert_eq!(code["volunteer_id"], lan_id.as_str(), "{code}");
    assert_eq!(code["volunteer_name"], "Nguyễn Thị Lan", "{code}");
    let by_id = admin(&db, &["enroll-code", "--volunteer", &lan_id]);
    assert_eq!(by_id["volunteer_id"], lan_id.as_str());
    let unknown = refused(&db, "en", &["enroll-code", "--volunteer", "0900000000"]);
    assert!(
        unknown.contains("no volunteer") && unknown.contains("volunteer list"),
        "{unknown}"
    );
    assert_eq!(db.int("SELECT COUNT(*) FROM enroll_codes"), 2);

    // Lists: JSON with stable names, text with a header line.
    let listed = admin(&db, &["volunteer", "list", "--team", &east]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(
        listed.iter().all(|v| v["team_name"] == "Tổ thôn Đông"),
        "{listed:?}"
    );
    let teams = admin(&db, &["team", "list"]);
    let east_row = teams
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == east.as_str())
        .unwrap();
    assert_eq!(east_row["volunteers"], 3, "{east_row}");
    assert_eq!(east_row["villages"][0]["name"], "Thôn Đông", "{east_row}");
    let vi = admin_text(&db, "vi", &["volunteer", "list"]);
    assert!(vi.lines().next().unwrap().starts_with("Mã"), "{vi}");
    assert!(vi.contains("0912345678"), "{vi}");
    let en = admin_text(&db, "en", &["team", "list"]);
    let header = en.lines().next().unwrap();
    assert!(
        header.starts_with("Id") && header.contains("Villages"),
        "{en}"
    );
    assert_eq!(en.lines().count(), 3, "a header and two teams: {en}");

    // `admin --help` says plainly where the database comes from.
    let help = command(&db, &["admin", "--help"]);
    let help = text(&help.stdout);
    assert!(
        help.contains("--data-dir") && help.contains("GOCUA_DATA_DIR"),
        "{help}"
    );
}

/// A revoked account's token is refused at once: 401, reason
/// `account_revoked`, as docs/reports.md says; listed as revoked, audited.
async fn a_revoked_account_gets_401_at_once(db: TestDb) {
    let server = TestServer::start(&db).await;
    let st = admin_storage(&db);
    team(st.as_ref(), "T", &["Thôn Đông"]);
    let c = client();
    let made = admin(
        &db,
        &[
            "account",
            "add",
            "--role",
            "officer",
            "--name",
            "Cán bộ xã",
            "--commune",
            COMMUNE,
        ],
    );
    let token = made["token"].as_str().unwrap().to_string();
    let account = made["account"]["id"].as_str().unwrap().to_string();
    let pull = |token: String| {
        c.get(server.url("/v1/pull?cursor=0"))
            .header(HEADER_PROTOCOL, "2")
            .bearer_auth(token)
            .send()
    };
    assert_eq!(pull(token.clone()).await.unwrap().status(), 200);

    let revoked = admin(&db, &["account", "revoke", &account]);
    assert_eq!(revoked["was_already_revoked"], false, "{revoked}");
    let (status, body) = error_of(pull(token.clone()).await.unwrap()).await;
    assert_eq!(status, 401, "{body:?}");
    assert_eq!(body.error, codes::UNAUTHORIZED);
    assert_eq!(body.reason.as_deref(), Some(reasons::ACCOUNT_REVOKED));
    let report = c
        .get(server.url(&format!("/v1/report?area={COMMUNE}")))
        .header(HEADER_PROTOCOL, "2")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), 401);

    let again = admin(&db, &["account", "revoke", &account]);
    assert_eq!(again["was_already_revoked"], true, "{again}");
    let accounts = admin(&db, &["account", "list"]);
    let row = &accounts.as_array().unwrap()[0];
    assert_eq!(row["id"], account.as_str(), "{accounts}");
    assert!(row["revoked_at"].is_i64(), "{row}");
    assert!(
        row.get("token").is_none() && row.get("token_hash").is_none(),
        "{row}"
    );
    let unknown = refused(&db, "vi", &["account", "revoke", "khong-co"]);
    assert!(unknown.contains("không có tài khoản"), "{unknown}");
    let audit = admin(&db, &["audit", "--action", "account_revoked"]);
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
    server.stop().await;
}

async fn pull_with_version(c: &reqwest::Client, s: &TestServer, token: &str, version: &str) {
    let r = c
        .get(s.url("/v1/pull?cursor=0"))
        .header(HEADER_PROTOCOL, "2")
        .header(HEADER_APP_VERSION, version)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

fn device_row(db: &TestDb, device: &str) -> Value {
    let all = admin(db, &["devices", "list"]);
    all.as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == device)
        .cloned()
        .unwrap_or_else(|| panic!("{device} not in {all}"))
}

/// `devices list` shows when a device was last seen and synced and its app
/// version, written once a minute, not on every request.
async fn devices_list_shows_last_seen_sync_and_app_version(db: TestDb) {
    let server = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "T", &["Thôn Đông"]);
    let c = client();
    let d = device(&c, &server, st.as_ref(), &t.volunteer_id).await;
    let fresh = device_row(&db, &d.device_id);
    assert!(
        fresh["last_seen_at"].is_null() && fresh["last_sync_at"].is_null(),
        "{fresh}"
    );

    let before = gocua_server::now();
    pull_with_version(&c, &server, &d.token, "gocua-test 9.9").await;
    // The contact is written beside the request: wait for it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let row = loop {
        let row = device_row(&db, &d.device_id);
        if !row["last_sync_at"].is_null() {
            break row;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never recorded: {row}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(row["last_seen_at"].as_i64().unwrap() >= before, "{row}");
    assert!(row["last_sync_at"].as_i64().unwrap() >= before, "{row}");
    assert_eq!(row["app_version"], "gocua-test 9.9", "{row}");

    // Within the minute, more requests write nothing: a value put in the
    // database stays as it is.
    db.rows(&format!(
        "UPDATE devices SET last_seen_at = 1000, last_sync_at = 1000 WHERE id = '{}'",
        d.device_id
    ));
    for _ in 0..20 {
        pull_with_version(&c, &server, &d.token, "gocua-test 9.9").await;
    }
    // A changed version is written at once (the write is waited for by
    // polling, and carries the contact's time).
    pull_with_version(&c, &server, &d.token, "gocua-test 10.0").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let row = loop {
        let row = device_row(&db, &d.device_id);
        if row["app_version"] == "gocua-test 10.0" {
            break row;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "version not recorded: {row}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(row["last_seen_at"].as_i64().unwrap() >= before, "{row}");
    assert_eq!(
        db.int("SELECT COUNT(*) FROM devices WHERE last_sync_at = 1000"),
        1,
        "a pull within the minute of the last sync wrote no sync"
    );

    // The unsent changes a device reports are written when they change,
    // within the minute too; a header that is no number says nothing.
    assert!(device_row(&db, &d.device_id)["pending_changes"].is_null());
    for (said, want) in [("7", 7), ("abc", 7), ("0", 0)] {
        let r = c
            .get(server.url("/v1/pull?cursor=0"))
            .header(HEADER_PROTOCOL, "2")
            .header(gocua_protocol::HEADER_PENDING, said)
            .bearer_auth(&d.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{said}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let row = device_row(&db, &d.device_id);
            if row["pending_changes"] == want {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{said}: not recorded: {row}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    let en = admin_text(&db, "en", &["devices", "list"]);
    let header = en.lines().next().unwrap();
    for col in [
        "Device",
        "Last seen",
        "Last sync",
        "App version",
        "Pending",
        "State",
    ] {
        assert!(header.contains(col), "{col}: {en}");
    }
    assert!(
        en.contains("gocua-test 10.0") && en.contains("active"),
        "{en}"
    );
    let vi = admin_text(&db, "vi", &["devices", "list"]);
    assert!(
        vi.contains("Liên lạc gần nhất") && vi.contains("đang dùng"),
        "{vi}"
    );
    server.stop().await;
}

/// A team's villages edited: its devices pull the village it gains, its
/// whole history, after the cursor they hold, and push to it; the village
/// it loses they neither pull nor push to any more.
async fn a_team_gains_and_loses_a_village_over_http(db: TestDb) {
    let server = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let east = team(st.as_ref(), "Tổ Đông", &["Thôn Đông"]);
    let west = team(st.as_ref(), "Tổ Tây", &["Thôn Tây"]);
    let c = client();
    let a = device(&c, &server, st.as_ref(), &east.volunteer_id).await;
    let b = device(&c, &server, st.as_ref(), &west.volunteer_id).await;

    // West records a household; east pushes one of its own after, so that
    // east's cursor passes west's changes.
    let (h2, mut doc2, first2) = new_household(&west.villages[0]);
    let second2 = edit(&mut doc2, "head_name", "Lò Thị Mai");
    push(
        &c,
        &server,
        &b.token,
        one(&h2, vec![first2.clone(), second2.clone()]),
    )
    .await;
    let (h1, _, first1) = new_household(&east.villages[0]);
    push(&c, &server, &a.token, one(&h1, vec![first1])).await;
    let page = pull(&c, &server, &a.token, 0, 1000).await;
    assert!(page.docs.is_empty(), "east sees nothing of west yet");
    let cursor = page.cursor;
    assert!(cursor > 0);

    let (before, tag) = assignment(&c, &server, &a.token, None).await.unwrap();
    assert_eq!(before.villages.len(), 1, "{before:?}");
    assert!(
        assignment(&c, &server, &a.token, Some(&tag))
            .await
            .is_none(),
        "unchanged, yet answered again"
    );

    // Bad edits change nothing.
    let not_served = refused(
        &db,
        "en",
        &[
            "team",
            "edit",
            &east.team_id,
            "--remove-village",
            "Thôn Tây",
        ],
    );
    assert!(not_served.contains("does not serve"), "{not_served}");
    let last = refused(
        &db,
        "vi",
        &[
            "team",
            "edit",
            &east.team_id,
            "--remove-village",
            "Thôn Đông",
        ],
    );
    assert!(last.contains("ít nhất một thôn"), "{last}");
    let nothing = refused(&db, "en", &["team", "edit", &east.team_id]);
    assert!(nothing.contains("nothing to change"), "{nothing}");
    let no_village = refused(
        &db,
        "en",
        &["team", "edit", &east.team_id, "--add-village", "Thôn Bắc"],
    );
    assert!(no_village.contains("no village"), "{no_village}");

    let edited = admin(
        &db,
        &[
            "team",
            "edit",
            &east.team_id,
            "--add-village",
            "Thôn Tây",
            "--name",
            "Tổ Đông Tây",
        ],
    );
    assert_eq!(edited["name"], "Tổ Đông Tây", "{edited}");
    assert_eq!(edited["villages"].as_array().unwrap().len(), 2, "{edited}");

    // East's phone asks with the tag it holds: the edit is its answer.
    let (after, new_tag) = assignment(&c, &server, &a.token, Some(&tag))
        .await
        .expect("the edit changes the assignment");
    assert_ne!(new_tag, tag);
    assert_eq!(pulled_tag(&c, &server, &a.token).await, new_tag);
    assert_eq!(after.team_name, "Tổ Đông Tây");
    let mut names: Vec<&str> = after.villages.iter().map(|v| v.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Thôn Tây", "Thôn Đông"]);
    assert_eq!(after.volunteer_id, before.volunteer_id);

    // East's next pull, after the cursor it held: west's household, whole.
    let page = pull(&c, &server, &a.token, cursor, 1000).await;
    let got: Vec<&gocua_protocol::bundle::DocChanges> =
        page.docs.iter().filter(|d| d.doc_id == h2).collect();
    assert_eq!(
        got.len(),
        1,
        "{:?}",
        page.docs.iter().map(|d| &d.doc_id).collect::<Vec<_>>()
    );
    assert_eq!(got[0].changes, vec![first2.clone(), second2.clone()]);
    // ... and may record there.
    let third2 = edit(&mut doc2, "address", "Ngõ 3");
    let r = push(&c, &server, &a.token, one(&h2, vec![third2])).await;
    assert_eq!((r.stored, r.refused.len()), (1, 0), "{r:?}");
    // West, which served the village all along, still pulls it (again).
    let west_all = pull_all(&c, &server, &b.token).await;
    assert!(west_all.iter().any(|(d, _)| *d == h2));

    // Taken away: no more pulls of it, pushes refused.
    admin(
        &db,
        &[
            "team",
            "edit",
            &east.team_id,
            "--remove-village",
            &west.villages[0],
        ],
    );
    let cursor = pull(&c, &server, &a.token, 0, 5000).await.cursor;
    let fourth2 = edit(&mut doc2, "address", "Ngõ 4");
    let r = push(&c, &server, &b.token, one(&h2, vec![fourth2.clone()])).await;
    assert_eq!(r.stored, 1);
    let page = pull(&c, &server, &a.token, cursor, 1000).await;
    assert!(
        page.docs.iter().all(|d| d.doc_id != h2),
        "east no longer pulls west"
    );
    let fifth2 = edit(&mut doc2, "address", "Ngõ 5");
    let r = push(&c, &server, &a.token, one(&h2, vec![fifth2])).await;
    assert_eq!(r.refused.len(), 1, "{r:?}");
    assert_eq!(r.refused[0].code, codes::OUTSIDE_VILLAGES);

    let audit = admin(&db, &["audit", "--action", "team_edited"]);
    let audit = audit.as_array().unwrap();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert!(
        audit[0]["detail"]
            .as_str()
            .unwrap()
            .contains("refed_changes=2"),
        "{audit:?}"
    );
    server.stop().await;
}

/// `GET /v1/assignment` with `If-None-Match: tag`: the assignment and its
/// tag, or `None` on 304.
async fn assignment(
    c: &reqwest::Client,
    s: &TestServer,
    token: &str,
    tag: Option<&str>,
) -> Option<(gocua_protocol::Assignment, String)> {
    let mut r = c
        .get(s.url(gocua_protocol::paths::ASSIGNMENT))
        .header(gocua_protocol::HEADER_PROTOCOL, "2")
        .bearer_auth(token);
    if let Some(t) = tag {
        r = r.header("if-none-match", t);
    }
    let r = r.send().await.unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    if r.status() == 304 {
        assert_eq!(Some(etag.as_str()), tag);
        assert!(r.bytes().await.unwrap().is_empty());
        return None;
    }
    assert_eq!(r.status(), 200);
    Some((r.json().await.unwrap(), etag))
}

/// The assignment's tag a pull carries.
async fn pulled_tag(c: &reqwest::Client, s: &TestServer, token: &str) -> String {
    let r = c
        .get(s.url("/v1/pull?cursor=0&limit=1"))
        .header(gocua_protocol::HEADER_PROTOCOL, "2")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.headers()[gocua_protocol::HEADER_ASSIGNMENT]
        .to_str()
        .unwrap()
        .to_string()
}

/// The audit log in Vietnam time, filtered by actor, action and time.
async fn the_audit_log_in_vietnam_time_and_filtered(db: TestDb) {
    let server = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "T", &["Thôn Đông"]);
    let c = client();
    let d = device(&c, &server, st.as_ref(), &t.volunteer_id).await;
    admin(
        &db,
        &["account", "add", "--role", "operator", "--name", "Vận hành"],
    );

    let all = admin(&db, &["audit"]);
    let all = all.as_array().unwrap();
    assert!(all.len() >= 3, "{all:?}");
    for row in all {
        let at = row["at"].as_i64().unwrap();
        assert_eq!(
            row["at_text"],
            gocua_server::messages::local_time_rfc3339(at).as_str()
        );
        assert!(
            row["at_text"].as_str().unwrap().ends_with("+07:00"),
            "{row}"
        );
    }
    let codes_made = admin(&db, &["audit", "--action", "enroll_code_created"]);
    let codes_made = codes_made.as_array().unwrap();
    assert_eq!(codes_made.len(), 1, "{codes_made:?}");
    // Who and what by name, where they are still known.
    let volunteer = st.volunteer(&t.volunteer_id).unwrap().unwrap();
    assert_eq!(
        codes_made[0]["subject_name"],
        volunteer.name.as_str(),
        "{codes_made:?}"
    );
    let made = admin(&db, &["audit", "--action", "account_created"]);
    assert_eq!(made[0]["subject_name"], "Vận hành", "{made}");
    let enrolled = admin(&db, &["audit", "--action", "device_enrolled"]);
    let device_name = enrolled[0]["actor_name"].as_str().unwrap();
    assert!(device_name.ends_with(&volunteer.name), "{enrolled}");
    assert!(
        admin_text(&db, "vi", &["audit", "--action", "account_created"]).contains("(Vận hành)")
    );
    // The command line names an action whole: part of one matches nothing
    // (the console's search is the one that takes parts).
    assert_eq!(
        admin(&db, &["audit", "--action", "enroll_code"]),
        Value::Array(vec![])
    );
    // A log reads oldest first.
    let ids: Vec<i64> = all.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let devices = admin(&db, &["audit", "--actor", "device"]);
    let devices = devices.as_array().unwrap();
    assert!(!devices.is_empty());
    assert!(
        devices
            .iter()
            .all(|r| r["actor"] == format!("device:{}", d.device_id).as_str()),
        "{devices:?}"
    );
    let one_device = admin(
        &db,
        &["audit", "--actor", &format!("device:{}", d.device_id)],
    );
    assert_eq!(one_device, Value::Array(devices.clone()));
    let admins = admin(&db, &["audit", "--actor", "admin"]);
    assert!(
        admins
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["actor"] == "admin")
    );
    assert_eq!(
        admin(&db, &["audit", "--since", "2999-01-01"]),
        Value::Array(vec![])
    );
    assert_eq!(
        admin(&db, &["audit", "--since", "2000-01-01 07:00"])
            .as_array()
            .unwrap()
            .len(),
        all.len()
    );
    let bad = refused(&db, "en", &["audit", "--since", "yesterday"]);
    assert!(bad.contains("YEAR-MONTH-DAY"), "{bad}");

    let vi = admin_text(&db, "vi", &["audit", "--action", "enroll_code_created"]);
    let lines: Vec<&str> = vi.lines().collect();
    assert!(lines[0].starts_with("Thời gian (giờ VN)"), "{vi}");
    let at = codes_made[0]["at"].as_i64().unwrap();
    assert!(
        lines[1].starts_with(&gocua_server::messages::local_time(at)),
        "{vi}"
    );
    server.stop().await;
}

/// Training sessions by team or commune, attendees by id or phone, all or
/// none, each once; listed with their counts.
async fn training_sessions_and_who_attended(db: TestDb) {
    let (east, _) = team_of(&db, "Tổ thôn Đông", "Thôn Đông");
    let lan = id(&admin(
        &db,
        &[
            "volunteer",
            "add",
            "--name",
            "Nguyễn Thị Lan",
            "--phone",
            "0912345678",
            "--team",
            &east,
        ],
    ));
    let hung = id(&admin(
        &db,
        &["volunteer", "add", "--name", "Lò Văn Hùng", "--team", &east],
    ));

    let first = admin(
        &db,
        &[
            "training",
            "add",
            "--topic",
            "Cài đặt VNeID mức 2",
            "--date",
            "2026-03-15",
            "--place",
            "Nhà văn hoá thôn Đông",
            "--team",
            &east,
        ],
    );
    assert_eq!(
        first["commune_code"], COMMUNE,
        "the team's commune: {first}"
    );
    let second = admin(
        &db,
        &[
            "training",
            "add",
            "--topic",
            "Thanh toán không dùng tiền mặt",
            "--date",
            "2026-04-02",
            "--place",
            "UBND xã",
            "--commune",
            COMMUNE,
        ],
    );
    assert!(second["team_id"].is_null(), "{second}");
    let bad_day = refused(
        &db,
        "vi",
        &[
            "training",
            "add",
            "--topic",
            "X",
            "--date",
            "15/03/2026",
            "--place",
            "Y",
            "--team",
            &east,
        ],
    );
    assert!(bad_day.contains("NĂM-THÁNG-NGÀY"), "{bad_day}");
    let o = command(
        &db,
        &[
            "admin",
            "training",
            "add",
            "--topic",
            "X",
            "--date",
            "2026-03-15",
            "--place",
            "Y",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "neither --team nor --commune");
    assert_eq!(db.int("SELECT COUNT(*) FROM trainings"), 2);

    let s1 = first["id"].to_string();
    let attended = admin(
        &db,
        &[
            "training",
            "attend",
            "--session",
            &s1,
            "--volunteer",
            "+84 912 345 678",
            "--volunteer",
            &hung,
        ],
    );
    assert_eq!(attended["recorded"], 2, "{attended}");
    let again = admin(
        &db,
        &["training", "attend", "--session", &s1, "--volunteer", &lan],
    );
    assert_eq!(again["recorded"], 0, "each once: {again}");
    // One unknown volunteer: nobody is recorded.
    let s2 = second["id"].to_string();
    let unknown = refused(
        &db,
        "en",
        &[
            "training",
            "attend",
            "--session",
            &s2,
            "--volunteer",
            &lan,
            "--volunteer",
            "0900000000",
        ],
    );
    assert!(unknown.contains("no volunteer"), "{unknown}");
    let no_session = refused(
        &db,
        "en",
        &["training", "attend", "--session", "99", "--volunteer", &lan],
    );
    assert!(
        no_session.contains("no training session 99"),
        "{no_session}"
    );
    assert_eq!(db.int("SELECT COUNT(*) FROM training_attendees"), 2);

    let listed = admin(&db, &["training", "list", "--commune", COMMUNE]);
    let counts: Vec<i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["attendees"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, vec![2, 0], "{listed}");
    let since = admin(&db, &["training", "list", "--since", "2026-04-01"]);
    assert_eq!(since.as_array().unwrap().len(), 1, "{since}");
    assert_eq!(since[0]["topic"], "Thanh toán không dùng tiền mặt");
    let en = admin_text(&db, "en", &["training", "list"]);
    assert!(en.lines().next().unwrap().contains("Attendees"), "{en}");
    assert!(en.contains("2 sessions, 2 attendances"), "{en}");
    let volunteers = admin(&db, &["volunteer", "list"]);
    let lan_row = volunteers
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == lan.as_str())
        .unwrap();
    assert_eq!(lan_row["trainings"], 1, "{lan_row}");
}

/// `account password`: each refusal said in the operator's language, exit
/// 2, nothing stored; then the password is the account's.
async fn console_passwords_refused_in_either_language(db: TestDb) {
    let account_of = |name: &str| {
        let made = admin(
            &db,
            &[
                "account",
                "add",
                "--role",
                "officer",
                "--name",
                name,
                "--commune",
                COMMUNE,
            ],
        );
        made["account"]["id"].as_str().unwrap().to_string()
    };
    let (lan, binh) = (account_of("Cán bộ Lan"), account_of("Cán bộ Bình"));
    let password = |lang: &str, account: &str, login: Option<&str>, password: &str| {
        let mut args = vec![
            "admin",
            "--lang",
            lang,
            "account",
            "password",
            "--account",
            account,
        ];
        if let Some(l) = login {
            args.extend(["--login", l]);
        }
        Command::new(env!("CARGO_BIN_EXE_gocua-server"))
            .arg("--database")
            .arg(&db.database)
            .args(&args)
            .env("GOCUA_PASSWORD", password)
            .env_remove("GOCUA_DATA_DIR")
            .env_remove("GOCUA_DATABASE")
            .output()
            .unwrap()
    };
    let refused = |o: Output| {
        assert_eq!(o.status.code(), Some(2), "{o:?}");
        text(&o.stderr)
    };
    let long = "một mật khẩu đủ dài";
    let said = refused(password("vi", &lan, Some("lan"), "ngắn"));
    assert!(said.contains("ít nhất 10 ký tự"), "{said}");
    let said = refused(password("en", &lan, Some("lan"), "short"));
    assert!(said.contains("at least 10 characters"), "{said}");
    let said = refused(password("vi", &lan, Some("hai từ"), long));
    assert!(said.contains("không có dấu cách"), "{said}");
    let said = refused(password("vi", &lan, None, long));
    assert!(said.contains("chưa có tên đăng nhập"), "{said}");
    let said = refused(password("vi", "không-có", Some("lan"), long));
    assert!(said.contains("không có tài khoản"), "{said}");
    let o = password("vi", &lan, Some("Lan"), long);
    assert!(o.status.success(), "{o:?}");
    assert!(text(&o.stdout).contains("bằng tên lan"), "{o:?}");
    let said = refused(password("en", &binh, Some("LAN"), long));
    assert!(said.contains("belongs to account"), "{said}");
    // The refusals stored nothing: Bình has no login, Lan's is hers.
    let said = refused(password("en", &binh, None, long));
    assert!(said.contains("no login name yet"), "{said}");
    let st = admin_storage(&db);
    let found = st.console_login("lan").unwrap().unwrap();
    assert_eq!(found.account.id, lan);
    assert!(gocua_server::console::auth::verify_password(
        long,
        &found.password_hash
    ));
}

common::on_both!(
    adds_say_what_they_did_beside_the_id,
    console_passwords_refused_in_either_language,
    one_person_once_and_codes_by_phone,
    a_revoked_account_gets_401_at_once,
    devices_list_shows_last_seen_sync_and_app_version,
    a_team_gains_and_loses_a_village_over_http,
    the_audit_log_in_vietnam_time_and_filtered,
    training_sessions_and_who_attended,
);

/// GOCUA_DATA_DIR stands for --data-dir; the command line wins.
#[test]
fn the_data_dir_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_gocua-server"))
            .env("GOCUA_DATA_DIR", dir.path())
            .env_remove("GOCUA_DATABASE")
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&[
        "--json",
        "admin",
        "village",
        "add",
        "--commune",
        COMMUNE,
        "--name",
        "Thôn Đông",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(dir.path().join("gocua-server.sqlite").exists());
    let db = other.path().join("x.sqlite");
    let o = run(&[
        "--json",
        "--database",
        db.to_str().unwrap(),
        "admin",
        "village",
        "list",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout).trim(),
        "[]",
        "--database wins over GOCUA_DATA_DIR"
    );
}
