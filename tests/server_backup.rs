//! A server backed up while devices sync through it, restored into a fresh
//! database, and its devices after the restore (docs/operations.md,
//! "Backups"): nothing the backup held is lost, and what was sent after the
//! backup comes back from the devices that have it. Real `gocua-server` and
//! `gocua` processes on loopback, on SQLite and on PostgreSQL with two
//! replicas writing while `pg_dump` reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use gocua_tests::{Backend, Device, Server, Team, path_text, u64_field, wait_until};
use serde_json::Value;

/// Adds a household and syncs, over and over, until `stop`; counts the
/// rounds done in `rounds`.
fn keep_syncing(
    device: Arc<Device>,
    name: &'static str,
    stop: Arc<AtomicBool>,
    rounds: Arc<AtomicU64>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            n += 1;
            device.add_household(&["--head", &format!("{name} {n}"), "--address", "Xóm 2"]);
            device.sync();
            rounds.fetch_add(1, Ordering::SeqCst);
        }
    })
}

fn problems(check: &Value) -> &Vec<Value> {
    check["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("no problems list: {check}"))
}

fn backup_under_load_then_restore(backend: Backend) {
    let mut server = Server::start_on(backend);
    let team = Team::create(&server, "Thôn Đoài");
    let a = Arc::new(team.enroll(&server, &server.url()));
    let b = Arc::new(team.enroll(&server, &server.url()));
    a.add_household(&["--head", "Nguyễn Văn Hạnh", "--address", "Xóm 1"]);
    a.sync();
    b.sync();

    // Both devices push (and pull each other's households) while the
    // backup runs, and go on after it.
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = [Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0))];
    let loaders = [
        keep_syncing(a.clone(), "Lò Văn A", stop.clone(), rounds[0].clone()),
        keep_syncing(b.clone(), "Lò Thị B", stop.clone(), rounds[1].clone()),
    ];
    let all_rounds = |rounds: &[Arc<AtomicU64>; 2]| {
        rounds
            .iter()
            .map(|r| r.load(Ordering::SeqCst))
            .min()
            .unwrap_or(0)
    };
    wait_until(
        Duration::from_secs(120),
        "both devices synced twice",
        || all_rounds(&rounds) >= 2,
    );
    let file = server.data_dir().join("nightly.gocua-backup");
    let taken = server.command(&["backup", &path_text(&file)]);
    let during = all_rounds(&rounds);
    wait_until(
        Duration::from_secs(120),
        "both devices synced twice after the backup",
        || all_rounds(&rounds) >= during + 2,
    );
    stop.store(true, Ordering::SeqCst);
    for l in loaders {
        l.join()
            .unwrap_or_else(|_| panic!("a syncing device failed"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the backup is readable by others");
    }
    let info = &taken["backup"];
    assert_eq!(
        info["backend"],
        if server.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    );
    assert!(u64_field(info, "schema_version") > 0, "{taken}");

    // Both devices hold everything the server had before it was lost.
    a.sync();
    b.sync();
    a.sync();
    assert_eq!(a.doc_heads(), b.doc_heads(), "the devices did not converge");
    // One household only b and the lost server have: after the restore, b
    // is the only device that can send it back.
    let only_b = b.add_household(&["--head", "Vi Thị Riêng", "--address", "Xóm 4"]);
    b.sync();
    let truth = b.doc_heads();
    assert!(!a.doc_heads().contains_key(&only_b));
    let households_before = truth.len() as i64;

    let restored = server.restore_into_fresh_database(&file);
    assert_eq!(
        u64_field(&restored["info"], "changes"),
        u64_field(info, "changes")
    );
    let [held] = server.query_ints("SELECT count(*) FROM documents")[..] else {
        panic!("one count")
    };
    assert!(
        held > 0 && held < households_before,
        "the backup should hold some households, not all: {held} of {households_before}"
    );
    let check = server.command(&["check"]);
    assert_eq!(problems(&check), &Vec::<Value>::new(), "{check}");

    // A records something new and syncs first: new changes are fed after
    // the stretch the restore left unused, so b's cursor, from the lost
    // feed, is still recognized as such, though the feed has grown past it.
    a.add_household(&["--head", "Hoàng Thị Mới", "--address", "Xóm 3"]);
    let ra = a.sync();
    assert_eq!(ra["server_restored"], true, "{ra}");
    assert!(u64_field(&ra, "offered_again") > 0, "{ra}");
    let rb = b.sync();
    assert_eq!(rb["server_restored"], true, "{rb}");
    assert!(u64_field(&rb, "offered_again") > 0, "{rb}");
    let again = a.sync();
    assert_eq!(again["server_restored"], false, "{again}");

    // A device that never met the old server gets every household, as the
    // devices have them.
    let c = team.enroll(&server, &server.url());
    let rc = c.sync();
    assert_eq!(rc["bootstrapped"], true, "{rc}");
    let now = a.doc_heads();
    assert_eq!(now.len() as i64, households_before + 1);
    for (id, heads) in &truth {
        assert_eq!(now.get(id), Some(heads), "household {id} lost or changed");
    }
    assert_eq!(b.doc_heads(), now, "b did not converge after the restore");
    assert_eq!(
        c.doc_heads(),
        now,
        "a new device misses what the devices re-sent"
    );
    let [stored] = server.query_ints("SELECT count(*) FROM documents")[..] else {
        panic!("one count")
    };
    assert_eq!(stored, households_before + 1);
    let check = server.command(&["check"]);
    assert_eq!(problems(&check), &Vec::<Value>::new(), "{check}");
}

#[test]
fn sqlite_backup_under_load_then_restore() {
    backup_under_load_then_restore(Backend::Sqlite);
}

#[test]
fn postgres_backup_under_load_then_restore() {
    backup_under_load_then_restore(Backend::Postgres { replicas: 2 });
}

/// A SQLite file copied back by hand (not `gocua-server restore`), then
/// `gocua-server mark-restored`: the devices that synced after the copy was
/// taken are recognized, bootstrap again and send back what it lacks, though
/// the feed grows past their cursors before they sync.
#[test]
fn a_sqlite_file_copied_back_and_marked_loses_nothing() {
    let mut server = Server::start_on(Backend::Sqlite);
    let team = Team::create(&server, "Thôn Đoài");
    let a = team.enroll(&server, &server.url());
    let b = team.enroll(&server, &server.url());
    a.add_household(&["--head", "Nguyễn Văn Hạnh", "--address", "Xóm 1"]);
    a.sync();
    b.sync();
    // The operator's own copy, taken while the server serves.
    let copy = server.data_dir().join("copy.sqlite");
    rusqlite::Connection::open(server.database())
        .and_then(|c| c.execute("VACUUM INTO ?1", [path_text(&copy)]))
        .unwrap_or_else(|e| panic!("copying the database: {e}"));
    let after_copy = a.add_household(&["--head", "Lò Thị Sau", "--address", "Xóm 2"]);
    a.sync();
    b.sync();
    let truth = b.doc_heads();
    assert!(truth.contains_key(&after_copy));

    server.kill9_replica(0);
    for suffix in ["-wal", "-shm"] {
        let mut p = server.database().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(std::path::PathBuf::from(p));
    }
    std::fs::copy(&copy, server.database()).unwrap();
    let marked = server.command(&["mark-restored"]);
    assert!(u64_field(&marked, "next_position") > 1 << 40, "{marked}");
    server.restart_replica(0);

    // A device that never met the copy's feed gets a new household first,
    // taking the feed past b's cursor.
    let c = team.enroll(&server, &server.url());
    c.sync();
    c.add_household(&["--head", "Hoàng Văn Mới", "--address", "Xóm 3"]);
    c.sync();
    let rb = b.sync();
    assert_eq!(rb["server_restored"], true, "{rb}");
    let ra = a.sync();
    assert_eq!(ra["server_restored"], true, "{ra}");
    c.sync();
    b.sync();
    let now = c.doc_heads();
    for (id, heads) in &truth {
        assert_eq!(now.get(id), Some(heads), "household {id} lost or changed");
    }
    assert_eq!(now.len(), truth.len() + 1);
    assert_eq!(a.doc_heads(), now);
    assert_eq!(b.doc_heads(), now);
    let audit = server.admin(&["audit", "--action", "restored"]);
    assert_eq!(audit.as_array().map(Vec::len), Some(1), "{audit}");
}
