//! Several `gocua-server` processes on one PostgreSQL database
//! (docs/protocol.md, "Several replicas"): the feed stays gap-free while they
//! all write, a device may reach any of them on every request, duplicates
//! take no numbers, and one materializer runs at a time, another replica
//! taking over when it dies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use gocua_pgtest::PgCluster;

/// The materializer's advisory lock, as pg_locks shows a bigint key.
const LOCK_CLASSID: i64 = 0x676f;
const LOCK_OBJID: i64 = 0x6375_6102;

struct Replica {
    child: Child,
    server: TestServer,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `n` replicas at once on `url` (they race on the migrations and on
/// loading the units, as replicas deployed together do).
fn replicas(url: &str, n: usize, log_dir: &std::path::Path) -> Vec<Replica> {
    let children: Vec<Child> = (0..n)
        .map(|i| {
            let log = std::fs::File::create(log_dir.join(format!("replica-{i}.log"))).unwrap();
            Command::new(env!("CARGO_BIN_EXE_gocua-server"))
                .args(["--database", url, "serve", "--listen", "127.0.0.1:0"])
                .env_remove("RUST_LOG")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(log)
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|mut child| {
            let out = child.stdout.take().unwrap();
            let mut lines = BufReader::new(out).lines();
            let base = loop {
                let line = lines
                    .next()
                    .expect("the replica exited before listening")
                    .unwrap();
                if let Some(addr) = line.strip_prefix("gocua-server listening on ") {
                    break addr.trim().to_string();
                }
            };
            // Keep draining its stdout.
            std::thread::spawn(move || for _ in lines {});
            Replica {
                child,
                server: TestServer::at(base),
            }
        })
        .collect()
}

/// A client that opens a new connection for every request, so that nothing
/// ties a device to one replica.
fn unpooled() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// The pid of the replica whose connection holds the materializer's lock.
fn lease_holder(pg: &PgCluster) -> Option<u32> {
    let out = pg.psql(&format!(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted
           AND l.classid = {LOCK_CLASSID} AND l.objid = {LOCK_OBJID}"
    ));
    let names: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
    assert!(names.len() <= 1, "two holders of the lease: {names:?}");
    names
        .first()
        .and_then(|n| n.strip_prefix("gocua-server/"))
        .map(|p| p.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_share_one_gap_free_feed_and_hand_over_the_materializer() {
    const WRITERS: usize = 6;
    const PUSHES: usize = 25;
    let pg = PgCluster::start();
    let logs = tempfile::tempdir().unwrap();
    let mut reps = replicas(&pg.url(), 3, logs.path());
    let st = admin_storage(std::path::Path::new(&pg.url()));
    let t = team(st.as_ref(), "Tổ Thôn Đông", &["Thôn Đông", "Thôn Tây"]);
    let c = unpooled();
    // Enrolled through one replica, used through all.
    let reader = device(&c, &reps[1].server, st.as_ref(), &t.volunteer_id).await;
    let mut writers = Vec::new();
    for i in 0..WRITERS {
        writers.push(
            device(
                &c,
                &reps[i % reps.len()].server,
                st.as_ref(),
                &t.volunteer_id,
            )
            .await,
        );
    }
    let bases: Arc<Vec<String>> = Arc::new(reps.iter().map(|r| r.server.base.clone()).collect());

    // Every writer pushes through every replica in turn, and each push once
    // more through the next one (a retried push reaching another replica).
    let mut tasks = Vec::new();
    for (w, dev) in writers.iter().enumerate() {
        let (c, bases, token) = (c.clone(), bases.clone(), dev.token.clone());
        let villages = t.villages.clone();
        tasks.push(tokio::spawn(async move {
            let mut sent = BTreeSet::new();
            let mut duplicates = 0;
            for p in 0..PUSHES {
                let (id, mut doc, first) = new_household(&villages[(w + p) % 2]);
                let second = edit(&mut doc, "address", &format!("Xóm {w}-{p}"));
                sent.insert(hash_of(&first).to_string());
                sent.insert(hash_of(&second).to_string());
                let body = one(&id, vec![first, second]);
                let at = TestServer::at(bases[(w + p) % bases.len()].clone());
                let a = push(&c, &at, &token, body.clone()).await;
                assert_eq!((a.stored, a.refused.len()), (2, 0), "{a:?}");
                let again = TestServer::at(bases[(w + p + 1) % bases.len()].clone());
                let b = push(&c, &again, &token, body).await;
                assert_eq!((b.stored, b.duplicates), (0, 2), "{b:?}");
                duplicates += b.duplicates;
            }
            (sent, duplicates)
        }));
    }
    // Meanwhile the reader pulls small pages, each from the next replica.
    let pulled = {
        let (c, bases, token) = (c.clone(), bases.clone(), reader.token.clone());
        tokio::spawn(async move {
            let mut got: Vec<String> = Vec::new();
            let mut cursor = 0;
            let mut turn = 0;
            let want = WRITERS * PUSHES * 2;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
            while got.len() < want {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "pulled {} of {want}",
                    got.len()
                );
                let at = TestServer::at(bases[turn % bases.len()].clone());
                turn += 1;
                let page = pull(&c, &at, &token, cursor, 7).await;
                assert!(page.cursor >= cursor, "the cursor went back");
                for d in page.docs {
                    for ch in d.changes {
                        got.push(hash_of(&ch).to_string());
                    }
                }
                cursor = page.cursor;
                if !page.more {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            (got, cursor)
        })
    };
    let mut sent = BTreeSet::new();
    let mut duplicates = 0;
    for t in tasks {
        let (s, d) = t.await.unwrap();
        sent.extend(s);
        duplicates += d;
    }
    let (got, cursor) = pulled.await.unwrap();
    // Every change exactly once, whichever replica answered.
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for h in &got {
        *seen.entry(h).or_default() += 1;
    }
    assert!(seen.values().all(|n| *n == 1), "a change pulled twice");
    assert_eq!(
        seen.keys().map(|k| k.to_string()).collect::<BTreeSet<_>>(),
        sent
    );
    assert_eq!(duplicates as usize, WRITERS * PUSHES * 2);
    // Gap-free, and no number taken by a duplicate: the highest seq and
    // position are the counts of changes and feed rows.
    let stored = (WRITERS * PUSHES * 2) as i64;
    assert_eq!(
        pg.psql("SELECT count(*), max(seq) FROM changes"),
        format!("{stored}|{stored}")
    );
    assert_eq!(
        pg.psql("SELECT count(*), max(position) FROM feed"),
        format!("{stored}|{stored}")
    );
    assert_eq!(cursor, stored as u64);

    // One materializer: find it, kill it (-9), and another replica folds
    // what is pushed afterwards.
    let holder = lease_holder(&pg).expect("no replica runs the materializer");
    let leader = reps
        .iter()
        .position(|r| r.child.id() == holder)
        .expect("the lease holder is one of the replicas");
    bootstrap_at(
        &c,
        &reps[(leader + 1) % 3].server,
        &reader.token,
        stored as u64,
    )
    .await;
    let mut dead = reps.remove(leader);
    dead.child.kill().unwrap();
    dead.child.wait().unwrap();
    let (id, _, first) = new_household(&t.villages[0]);
    let a = push(
        &c,
        &reps[0].server,
        &writers[0].token,
        one(&id, vec![first]),
    )
    .await;
    assert_eq!(a.stored, 1);
    let docs = bootstrap_at(&c, &reps[1].server, &reader.token, stored as u64 + 1).await;
    assert!(
        docs.iter().any(|d| d.doc_id == id),
        "the new household is not in the bootstrap"
    );
    let next = lease_holder(&pg).expect("nobody took the materializer over");
    assert_ne!(next, holder);
    assert!(reps.iter().any(|r| r.child.id() == next));
    // A bootstrap through either survivor gives the same documents.
    let other = bootstrap_at(&c, &reps[0].server, &reader.token, stored as u64 + 1).await;
    assert_eq!(docs.len(), other.len());
    assert_eq!(docs.len(), WRITERS * PUSHES + 1);
}

/// `migrate` applies the schema once when several run at once (the lock), a
/// replica refuses a database not migrated yet when told not to migrate, and
/// every replica refuses one migrated by a newer server; the command says so.
#[test]
fn migrations_run_once_and_a_newer_database_is_refused() {
    use gocua_server::postgres::{PgSettings, migrations};
    let pg = PgCluster::start();
    let settings = |migrate: bool| PgSettings {
        url: pg.url(),
        pool_size: 2,
        statement_timeout: Duration::from_secs(30),
        migrate,
    };
    let latest = migrations::latest();
    let refused = gocua_server::PgStorage::open(&settings(false)).unwrap_err();
    assert!(
        refused.to_string().contains("run `gocua-server migrate`"),
        "{refused}"
    );
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let s = settings(true);
            std::thread::spawn(move || gocua_server::PgStorage::migrate(&s).unwrap())
        })
        .collect();
    let mut done: Vec<_> = runs
        .into_iter()
        .map(|r| r.join().unwrap())
        .map(|m| (m.from, m.to))
        .collect();
    done.sort();
    let mut expected = vec![(latest, latest); 3];
    expected.insert(0, (0, latest));
    assert_eq!(done, expected);
    assert_eq!(
        pg.psql("SELECT count(*) FROM schema_migrations"),
        latest.to_string()
    );
    gocua_server::PgStorage::open(&settings(false)).unwrap();

    // The command, as an operator runs it.
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_gocua-server"))
            .args(["--database", &pg.url()])
            .args(args)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    let again = run(&["--lang", "en", "migrate"]);
    assert!(again.status.success());
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(said.contains("up to date"), "{said}");
    let again = run(&["--lang", "vi", "migrate"]);
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(said.contains("đã ở lược đồ mới nhất"), "{said}");

    // A newer server migrated it: refused, migrating or not, with what to do.
    pg.psql(&format!(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ({}, 'future', 0)",
        latest + 1
    ));
    for migrate in [true, false] {
        let e = gocua_server::PgStorage::open(&settings(migrate)).unwrap_err();
        assert!(e.to_string().contains("newer gocua-server"), "{e}");
    }
    let serve = run(&["serve", "--listen", "127.0.0.1:0"]);
    assert!(!serve.status.success());
    let err = String::from_utf8_lossy(&serve.stderr);
    assert!(err.contains("update the server"), "{err}");
}

/// Connections the database closed (a restart, an operator's
/// `pg_terminate_backend`, a failover) are replaced, and a call never waits
/// for ever on one: the storage answers within a minute, and correctly.
#[test]
fn connections_closed_by_the_database_are_replaced() {
    use gocua_server::postgres::PgSettings;
    use gocua_server::storage::Storage;
    let pg = PgCluster::start();
    let storage = gocua_server::PgStorage::open(&PgSettings {
        url: pg.url(),
        pool_size: 2,
        statement_timeout: Duration::from_secs(30),
        migrate: true,
    })
    .unwrap();
    let storage = std::sync::Arc::new(storage);
    assert_eq!(storage.change_count().unwrap(), 0);
    for round in 0..3 {
        let killed = pg.psql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name LIKE 'gocua-server%'",
        );
        assert_ne!(killed, "0", "round {round}: no connection to close");
        let s = storage.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // A closed connection may fail one call (Busy: try again), never
            // more than the pool holds.
            let answers: Vec<_> = (0..4).map(|_| s.change_count()).collect();
            let _ = tx.send(answers);
        });
        let answers = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("round {round}: a call hangs on a closed connection"));
        let last = answers.last().unwrap();
        assert!(
            matches!(last, Ok(0)),
            "round {round}: {answers:?} (the log: {})",
            pg.log()
        );
    }
}
