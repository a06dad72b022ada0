//! `gocua-server backup`, `restore` and `check` (docs/operations.md,
//! "Backups"), run as the operator runs them, on both backends: a restore
//! refuses what it must and leaves the target as it was, a restored server
//! answers a cursor from the lost feed with `cursor_expired`, and `check`
//! finds each kind of damage.
// Test code: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{TestDb, TestServer, admin_storage, client, device, error_of, one, push, team};
use gocua_protocol::{HEADER_PROTOCOL, codes};
use serde_json::Value;

/// `gocua-server --database DB --json ARGS`.
fn server_cmd(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gocua-server"))
        .arg("--database")
        .arg(db)
        .arg("--json")
        .args(args)
        .env_remove("GOCUA_DATABASE")
        .output()
        .expect("gocua-server runs")
}

fn json_of(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn ok(db: &Path, args: &[&str]) -> Value {
    let out = server_cmd(db, args);
    assert!(
        out.status.success(),
        "gocua-server {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    json_of(&out)
}

/// Refused as input the operator can correct: exit 2, the error saying
/// `words` (in English; the Vietnamese comes first).
fn refused(db: &Path, args: &[&str], words: &str) {
    let out = server_cmd(db, args);
    let answer = json_of(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {answer}");
    let error = answer["error"].as_str().unwrap_or_default();
    assert!(error.contains(words), "{args:?}: {error:?} lacks {words:?}");
}

/// Whether `db` holds no gocua tables at all (never restored into).
fn untouched(db: &TestDb) -> bool {
    if db.is_postgres() {
        db.rows("SELECT to_regclass('documents') IS NULL") == vec!["t".to_string()]
    } else {
        !db.database.exists()
    }
}

/// Households (made as devices make them) pushed by a new device of a
/// team serving "Thôn Đông"; returns their ids, the device's token and
/// the village.
async fn households(s: &TestServer, db: &TestDb, n: usize) -> (Vec<String>, String) {
    let st = admin_storage(db);
    let t = team(st.as_ref(), "Tổ Thôn Đông", &["Thôn Đông"]);
    let c = client();
    let dev = device(&c, s, st.as_ref(), &t.volunteer_id).await;
    let stamp = gocua_household::Stamp {
        volunteer_id: t.volunteer_id.clone(),
        at: "2026-11-15T03:00:00Z".into(),
        at_secs: 1_794_711_600,
    };
    let mut ids = Vec::new();
    for i in 0..n {
        let (id, _, changes) = gocua_household::new_household(
            automerge::ActorId::from(vec![i as u8 + 1; 16]),
            &stamp,
            common::COMMUNE,
            &t.villages[0],
            &[(
                "head_name",
                gocua_household::str_value(format!("Nguyễn Văn {i}")),
            )],
            &[],
        )
        .unwrap();
        let bytes: Vec<Vec<u8>> = changes.iter().map(|c| c.raw_bytes().to_vec()).collect();
        let answer = push(&c, s, &dev.token, one(&id, bytes)).await;
        assert!(answer.refused.is_empty(), "{answer:?}");
        ids.push(id);
    }
    (ids, dev.token)
}

/// Waits until the materializer made every snapshot and report row.
async fn settled(db: &TestDb, households: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while db.int("SELECT COUNT(*) FROM snapshots") < households
        || db.int("SELECT COUNT(*) FROM report_households") < households
        || db.int("SELECT COUNT(*) FROM report_due") > 0
    {
        assert!(
            Instant::now() < deadline,
            "the materializer never caught up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn pull_status(s: &TestServer, token: &str, query: &str) -> (u16, Option<String>) {
    let r = client()
        .get(s.url(&format!("/v1/pull?{query}")))
        .header(HEADER_PROTOCOL, "2")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    if r.status().is_success() {
        return (200, None);
    }
    let (status, body) = error_of(r).await;
    (status, Some(body.error))
}

/// A backup taken while the server serves, restored into another database:
/// the same households, and a cursor from after the backup answered
/// `cursor_expired` (410), even once the restored feed has grown past it,
/// while cursors the backup covers still pull.
async fn restored_server_refuses_cursors_of_the_lost_feed(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (ids, token) = households(&s, &db, 3).await;
    let c = client();
    let before = common::pull(&c, &s, &token, 0, 1000).await.cursor;
    let file = db.dir.path().join("backup.gocua");
    let taken = ok(&db, &["backup", file.to_str().unwrap()]);
    // Two changes a household (created, then its head named).
    assert_eq!(taken["backup"]["changes"], 6, "{taken}");
    assert_eq!(taken["backup"]["feed_end"].as_u64(), Some(before));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Sent after the backup: lost by the restore.
    let st = admin_storage(&db);
    let v = st.villages(None).unwrap();
    let (lost, _, genesis) = common::new_household(&v[0].id);
    push(&c, &s, &token, one(&lost, vec![genesis])).await;
    let after = common::pull(&c, &s, &token, 0, 1000).await.cursor;
    assert!(after > before);
    s.stop().await;

    let target = db.another("restored");
    let done = ok(&target, &["restore", file.to_str().unwrap()]);
    assert_eq!(done["replaced"], false);
    assert_eq!(done["feed_after"].as_u64(), Some(before));
    let r = TestServer::start(&target).await;
    let restored = admin_storage(&target);
    for id in &ids {
        assert!(
            restored.document(id).unwrap().is_some(),
            "{id} not restored"
        );
    }
    assert!(restored.document(&lost).unwrap().is_none());
    assert_eq!(
        pull_status(&r, &token, &format!("cursor={before}")).await,
        (200, None)
    );
    let expired = (410, Some(codes::CURSOR_EXPIRED.to_string()));
    assert_eq!(
        pull_status(&r, &token, &format!("cursor={after}")).await,
        expired
    );
    assert_eq!(
        pull_status(&r, &token, &format!("cursor=0&mine_after={after}")).await,
        expired
    );
    // New positions come after the unused stretch: the old cursor stays
    // refused, and what a device bootstraps from pulls.
    let (again, _, genesis) = common::new_household(&v[0].id);
    push(&c, &r, &token, one(&again, vec![genesis])).await;
    assert_eq!(
        pull_status(&r, &token, &format!("cursor={after}")).await,
        expired
    );
    let (cursor, _) = common::bootstrap(&c, &r, &token).await;
    assert_eq!(
        pull_status(&r, &token, &format!("cursor={cursor}")).await,
        (200, None)
    );
    let page = common::pull(&c, &r, &token, before, 1000).await;
    // The pusher's own change is not sent back, but the cursor moves past
    // it: beyond the stretch the restore left unused.
    assert!(page.docs.is_empty());
    assert_eq!(
        page.cursor,
        before + gocua_server::backup::RESTORE_GAP + 1,
        "the new household's one change, right after the stretch"
    );
    r.stop().await;
    let check = ok(&target, &["check"]);
    assert_eq!(check["problems"], serde_json::json!([]), "{check}");
    // The restore is in the restored database's audit log.
    let audit = restored.audit_log(10).unwrap();
    assert!(
        audit.iter().any(|a| a.entry.action == "restored"),
        "{audit:?}"
    );
}

/// A file with `bytes` in the test's directory.
fn file_with(db: &TestDb, name: &str, bytes: &[u8]) -> PathBuf {
    let p = db.dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A copy of the backup `file` whose header says schema 999.
fn from_newer_schema(db: &TestDb, file: &Path) -> PathBuf {
    let p = db.dir.path().join("newer.gocua");
    std::fs::copy(file, &p).unwrap();
    if db.is_postgres() {
        let bytes = std::fs::read(&p).unwrap();
        let magic = gocua_server::backup::PG_MAGIC.len();
        let end = magic + bytes[magic..].iter().position(|b| *b == b'\n').unwrap();
        let mut info: Value = serde_json::from_slice(&bytes[magic..end]).unwrap();
        info["schema_version"] = 999.into();
        let mut out = bytes[..magic].to_vec();
        out.extend(serde_json::to_vec(&info).unwrap());
        out.extend(&bytes[end..]);
        std::fs::write(&p, out).unwrap();
    } else {
        let conn = rusqlite::Connection::open(&p).unwrap();
        let text: String = conn
            .query_row("SELECT value FROM gocua_backup", [], |r| r.get(0))
            .unwrap();
        let mut info: Value = serde_json::from_str(&text).unwrap();
        info["schema_version"] = 999.into();
        conn.execute("UPDATE gocua_backup SET value = ?1", [info.to_string()])
            .unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
    }
    p
}

/// A backup of the other backend.
fn of_the_other_backend(db: &TestDb) -> PathBuf {
    if db.is_postgres() {
        let sqlite = db.dir.path().join("other.sqlite");
        let p = db.dir.path().join("other.gocua");
        ok(&sqlite, &["admin", "load-units"]);
        ok(&sqlite, &["backup", p.to_str().unwrap()]);
        p
    } else {
        let mut bytes = gocua_server::backup::PG_MAGIC.to_vec();
        bytes.extend(
            br#"{"format":1,"backend":"postgres","schema_version":1,"server_version":"0.1.0","taken_at":0,"changes":0,"feed_end":0}"#,
        );
        bytes.extend(b"\nPGDMP");
        file_with(db, "other.gocua", &bytes)
    }
}

/// Every refusal leaves the target as it was: never half-restored.
async fn restore_refuses_what_it_cannot_restore(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (ids, _) = households(&s, &db, 2).await;
    let file = db.dir.path().join("backup.gocua");
    ok(&db, &["backup", file.to_str().unwrap()]);
    s.stop().await;
    let target = db.another("target");
    let f = |p: &Path| p.to_str().unwrap().to_string();

    refused(
        &target,
        &["restore", &f(&db.dir.path().join("none"))],
        "there is no file",
    );
    let junk = file_with(&db, "junk.gocua", b"hello, not a backup");
    refused(
        &target,
        &["restore", &f(&junk)],
        "is not a gocua-server backup",
    );
    refused(
        &target,
        &["restore", &f(&from_newer_schema(&db, &file))],
        "newer than this gocua-server",
    );
    refused(
        &target,
        &["restore", &f(&of_the_other_backend(&db))],
        "cannot be restored into",
    );
    assert!(untouched(&target));

    // Cut short (a copy that did not finish): refused or failed, and
    // nothing of it restored.
    let whole = std::fs::read(&file).unwrap();
    let cut = file_with(&db, "cut.gocua", &whole[..whole.len() * 2 / 3]);
    let out = server_cmd(&target, &["restore", &f(&cut)]);
    assert!(
        !out.status.success(),
        "a cut backup restored: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(untouched(&target), "a failed restore left tables behind");

    ok(&target, &["restore", &f(&file)]);
    let st = admin_storage(&target);
    for id in &ids {
        assert!(st.document(id).unwrap().is_some());
    }
    drop(st);
    // Now it holds data: refused unless told, and unchanged.
    let marks = target.rows("SELECT value FROM meta WHERE key = 'restored_feed'");
    refused(&target, &["restore", &f(&file)], "already holds data");
    assert_eq!(
        target.rows("SELECT value FROM meta WHERE key = 'restored_feed'"),
        marks
    );
    let done = ok(&target, &["restore", "--overwrite", &f(&file)]);
    assert_eq!(done["replaced"], true);
    assert_eq!(target.int("SELECT COUNT(*) FROM documents"), 2);
    let check = ok(&target, &["check"]);
    assert_eq!(check["problems"], serde_json::json!([]), "{check}");
}

/// Each kind of damage is named, in Vietnamese and English, and the check
/// exits 1; a whole database checks clean.
async fn check_names_what_is_damaged(db: TestDb) {
    let s = TestServer::start(&db).await;
    let (ids, _) = households(&s, &db, 5).await;
    settled(&db, 5).await;
    let check = ok(&db, &["check"]);
    assert_eq!(check["problems"], serde_json::json!([]), "{check}");
    assert_eq!(check["households"], 5);
    assert_eq!(check["report_rows"], 5);
    s.stop().await;

    let seq_of = |id: &str| {
        db.int(&format!(
            "SELECT MIN(seq) FROM changes WHERE doc_id = '{id}'"
        ))
    };
    // Another household's bytes under this one's change.
    let other = seq_of(&ids[4]);
    db.rows(&format!(
        "UPDATE changes SET bytes = (SELECT bytes FROM changes WHERE seq = {other}) WHERE seq = {}",
        seq_of(&ids[0])
    ));
    let garbage = if db.is_postgres() {
        "decode('00ff00ff', 'hex')"
    } else {
        "X'00FF00FF'"
    };
    db.rows(&format!(
        "UPDATE snapshots SET bytes = {garbage} WHERE doc_id = '{}'",
        ids[1]
    ));
    db.rows(&format!(
        "UPDATE report_households SET head_name = 'Ai Đó' WHERE id = '{}'",
        ids[2]
    ));
    db.rows(&format!(
        "DELETE FROM feed WHERE change_seq = {}",
        seq_of(&ids[3])
    ));

    let out = server_cmd(&db, &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_of(&out);
    let found: Vec<(String, String)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert!(!p["vi"].as_str().unwrap_or_default().is_empty(), "{p}");
            assert!(!p["en"].as_str().unwrap_or_default().is_empty(), "{p}");
            (
                p["household"].as_str().unwrap_or_default().to_string(),
                p["code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for (id, code) in [
        (&ids[0], "change_hash"),
        (&ids[1], "snapshot_unreadable"),
        (&ids[2], "report_mismatch"),
        (&ids[3], "feed_missing"),
    ] {
        assert!(
            found.contains(&(id.clone(), code.to_string())),
            "{code} of {id} not found: {found:?}"
        );
    }
    assert!(
        !found.iter().any(|(h, _)| h == &ids[4]),
        "the whole household was flagged: {found:?}"
    );
    // Said to a person in their language.
    let check = |lang: &str| {
        let text = Command::new(env!("CARGO_BIN_EXE_gocua-server"))
            .arg("--database")
            .arg(&db.database)
            .args(["--lang", lang, "check"])
            .output()
            .unwrap();
        assert_eq!(text.status.code(), Some(1));
        String::from_utf8_lossy(&text.stdout).into_owned()
    };
    let said = check("vi");
    assert!(said.contains("bản chụp không đọc được"), "{said}");
    assert!(!said.contains("the snapshot does not load"), "{said}");
    let said = check("en");
    assert!(said.contains("the snapshot does not load"), "{said}");
    assert!(said.contains("problems"), "{said}");
}

common::on_both!(
    restored_server_refuses_cursors_of_the_lost_feed,
    restore_refuses_what_it_cannot_restore,
    check_names_what_is_damaged,
);
