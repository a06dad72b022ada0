//! A real server on 127.0.0.1:0, a reqwest client, and household-shaped
//! Automerge changes.
#![allow(dead_code, unused_macros, unused_imports)]
// Test helpers: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use automerge::transaction::Transactable;
use automerge::{Automerge, ROOT};
use gocua_pgtest::PgCluster;
use gocua_protocol::bundle::{self, DocChanges};
use gocua_protocol::{
    BUNDLE_CONTENT_TYPE, EnrollRequest, EnrollResponse, ErrorBody, HEADER_CURSOR, HEADER_MORE,
    HEADER_PROTOCOL, PushResponse,
};
use gocua_server::storage::Storage;
use gocua_server::{Config, admin};
use tokio::sync::oneshot;

pub const COMMUNE: &str = "00097";

/// The database a conformance test runs on: each test is written once and
/// run on both backends (`on_both!`).
pub struct TestDb {
    /// What `Config::database` holds: a SQLite path or a PostgreSQL URL.
    pub database: PathBuf,
    /// Beside the database: device stores, exports.
    pub dir: tempfile::TempDir,
    /// The cluster, shared by the test's databases, and this one's name.
    pub pg: Option<(Arc<PgCluster>, String)>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        TestDb {
            database: dir.path().join("s.sqlite"),
            dir,
            pg: None,
        }
    }

    /// A fresh cluster of its own; a missing PostgreSQL fails the test.
    pub fn postgres() -> TestDb {
        let pg = PgCluster::start();
        TestDb {
            database: PathBuf::from(pg.url()),
            dir: tempfile::tempdir().unwrap(),
            pg: Some((Arc::new(pg), "gocua".into())),
        }
    }

    /// Another empty database on the same backend (and cluster).
    pub fn another(&self, name: &str) -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        match &self.pg {
            Some((pg, _)) => TestDb {
                database: PathBuf::from(pg.create_database(name)),
                dir,
                pg: Some((pg.clone(), name.into())),
            },
            None => TestDb {
                database: dir.path().join(format!("{name}.sqlite")),
                dir,
                pg: None,
            },
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// Runs `sql` (written to read the same on both) and returns its rows,
    /// each as its cells joined by `|`.
    pub fn rows(&self, sql: &str) -> Vec<String> {
        match &self.pg {
            Some((pg, name)) => {
                let out = pg.psql_in(name, sql);
                out.lines()
                    .map(str::to_string)
                    .filter(|l| !l.is_empty())
                    .collect()
            }
            None => {
                let conn = rusqlite::Connection::open(&self.database).unwrap();
                let mut stmt = conn.prepare(sql).unwrap();
                let n = stmt.column_count();
                stmt.query_map([], |r| {
                    let cells: Vec<String> = (0..n)
                        .map(|i| match r.get_ref(i).unwrap() {
                            rusqlite::types::ValueRef::Null => String::new(),
                            rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                            rusqlite::types::ValueRef::Real(v) => v.to_string(),
                            rusqlite::types::ValueRef::Text(t) => {
                                String::from_utf8_lossy(t).into_owned()
                            }
                            rusqlite::types::ValueRef::Blob(b) => format!("{b:?}"),
                        })
                        .collect();
                    Ok(cells.join("|"))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
            }
        }
    }

    /// The one integer `sql` selects.
    pub fn int(&self, sql: &str) -> i64 {
        let rows = self.rows(sql);
        assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
        rows[0]
            .parse()
            .unwrap_or_else(|_| panic!("{sql}: {rows:?}"))
    }

    pub fn config(&self) -> Config {
        Config {
            database: self.database.clone(),
            ..Config::default()
        }
    }
}

impl AsRef<std::ffi::OsStr> for TestDb {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.database.as_os_str()
    }
}

impl std::ops::Deref for TestDb {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.database
    }
}

/// Runs each named `async fn(TestDb)` as two tests, `sqlite::NAME` and
/// `postgres::NAME`, each on its own runtime and under a [`Watchdog`] that
/// also covers the runtime's shutdown (where a stuck blocking task hangs).
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::common::run(concat!("sqlite::", stringify!($name)), || {
                        super::$name(super::common::TestDb::sqlite())
                    })
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    super::common::run(concat!("postgres::", stringify!($name)), || {
                        super::$name(super::common::TestDb::postgres())
                    })
                }
            )*
        }
    };
}
pub(crate) use on_both;

/// How long one test of [`on_both!`] may take, shutdown included, before
/// the whole run is stopped: a hang fails CI in minutes, not at its limit.
const TEST_LIMIT: Duration = Duration::from_secs(300);

/// Stops the process if it is not dropped within [`TEST_LIMIT`].
pub struct Watchdog {
    _alive: std::sync::mpsc::Sender<()>,
}

impl Watchdog {
    pub fn new(name: &'static str) -> Watchdog {
        let (alive, rx) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(TEST_LIMIT) {
                eprintln!("{name} still running after {TEST_LIMIT:?}: it hangs; stopping the run");
                std::process::abort();
            }
        });
        Watchdog { _alive: alive }
    }
}

/// Runs `test` on a multi-thread runtime of two workers (as the server
/// runs), under a [`Watchdog`].
pub fn run<F: std::future::Future<Output = ()>>(name: &'static str, test: impl FnOnce() -> F) {
    let _watchdog = Watchdog::new(name);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a test runtime");
    runtime.block_on(test());
}

pub struct TestServer {
    pub base: String,
    pub db: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), gocua_server::ServerError>>>,
}

impl TestServer {
    pub async fn start(db: &Path) -> TestServer {
        TestServer::start_with(db, |_| {}).await
    }

    pub async fn start_with(db: &Path, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config {
            database: db.to_path_buf(),
            ..Config::default()
        };
        tweak(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(gocua_server::launch_with_listener(
            config,
            listener,
            async move {
                let _ = rx.await;
            },
        ));
        let server = TestServer {
            base: format!("http://{addr}"),
            db: db.to_path_buf(),
            stop: Some(tx),
            task: Some(task),
        };
        // Wait until it answers (the database is opened before serving).
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = client.get(server.url("/health")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
    }

    /// A server already running elsewhere (another process) at `base`.
    pub fn at(base: String) -> TestServer {
        TestServer {
            base,
            db: PathBuf::new(),
            stop: None,
            task: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

/// The database opened beside the server, as `gocua-server admin` does:
/// `db` is a SQLite path or a PostgreSQL URL.
pub fn admin_storage(db: &Path) -> Arc<dyn Storage> {
    let config = Config {
        database: db.to_path_buf(),
        ..Config::default()
    };
    gocua_server::open_database(&config).unwrap()
}

pub struct Setup {
    pub villages: Vec<String>,
    pub team_id: String,
    pub volunteer_id: String,
}

/// A team of `COMMUNE` serving `villages` (names), with one volunteer.
pub fn team(storage: &dyn Storage, team_name: &str, villages: &[&str]) -> Setup {
    let ids: Vec<String> = villages
        .iter()
        .map(|v| admin::add_village(storage, COMMUNE, v).unwrap().id)
        .collect();
    let team = admin::add_team(storage, team_name, COMMUNE, &ids).unwrap();
    // One phone names one volunteer: the first team's is 0912345678.
    let phone = (78..)
        .map(|n| format!("09123456{n:02}"))
        .find(|p| storage.volunteers_by_phone(p).unwrap().is_empty())
        .unwrap();
    let vol = admin::add_volunteer(storage, "Nguyễn Thị Lan", Some(&phone), &team.id).unwrap();
    Setup {
        villages: ids,
        team_id: team.id,
        volunteer_id: vol.id,
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

pub async fn enroll(c: &reqwest::Client, s: &TestServer, code: &str) -> reqwest::Response {
    c.post(s.url("/v1/enroll"))
        .header(HEADER_PROTOCOL, "2")
        .json(&EnrollRequest {
            code: code.into(),
            device_name: "Điện thoại của Lan".into(),
            request_id: None,
        })
        .send()
        .await
        .unwrap()
}

/// Enrolls a new device of `volunteer` and returns its token.
pub async fn device(
    c: &reqwest::Client,
    s: &TestServer,
    storage: &dyn Storage,
    volunteer: &str,
) -> EnrollResponse {
    let (code, _) = admin::new_enroll_code(storage, volunteer, 1).unwrap();
    let r = enroll(c, s, code.expose()).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

pub async fn error_of(r: reqwest::Response) -> (u16, ErrorBody) {
    let status = r.status().as_u16();
    assert_eq!(r.headers()[HEADER_PROTOCOL], "2");
    assert!(r.headers().contains_key("gocua-server-version"));
    (status, r.json().await.unwrap())
}

/// A household document's first change, shaped like field-core's.
pub fn new_household(village: &str) -> (String, Automerge, Vec<u8>) {
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    tx.put(ROOT, "kind", "household").unwrap();
    tx.put(ROOT, "schema_version", 1).unwrap();
    // Tells this household's genesis from any other one's.
    tx.put(ROOT, "created_at", uuid::Uuid::now_v7().to_string())
        .unwrap();
    tx.put(ROOT, "commune_code", COMMUNE).unwrap();
    tx.put(ROOT, "village_id", village).unwrap();
    tx.put(ROOT, "head_name", "Nguyễn Văn Hạnh").unwrap();
    tx.put_object(ROOT, "visits", automerge::ObjType::Map)
        .unwrap();
    tx.commit();
    let change = doc.get_last_local_change().unwrap();
    let id = gocua_protocol::ids::derived_doc_id(&change.hash().0);
    let bytes = change.raw_bytes().to_vec();
    (id, doc, bytes)
}

/// One edit of a root field; returns the change's bytes.
pub fn edit(doc: &mut Automerge, key: &str, value: &str) -> Vec<u8> {
    let mut tx = doc.transaction();
    tx.put(ROOT, key, value).unwrap();
    tx.commit();
    doc.get_last_local_change().unwrap().raw_bytes().to_vec()
}

pub fn one(doc_id: &str, changes: Vec<Vec<u8>>) -> Vec<u8> {
    bundle::encode(&[DocChanges {
        doc_id: doc_id.into(),
        changes,
    }])
}

pub async fn push_raw(
    c: &reqwest::Client,
    s: &TestServer,
    token: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    c.post(s.url("/v1/push"))
        .header(HEADER_PROTOCOL, "2")
        .header("content-type", BUNDLE_CONTENT_TYPE)
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap()
}

pub async fn push(c: &reqwest::Client, s: &TestServer, token: &str, body: Vec<u8>) -> PushResponse {
    let r = push_raw(c, s, token, body).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    r.json().await.unwrap()
}

pub struct Page {
    pub docs: Vec<DocChanges>,
    pub cursor: u64,
    pub more: bool,
}

pub async fn pull(
    c: &reqwest::Client,
    s: &TestServer,
    token: &str,
    cursor: u64,
    limit: u32,
) -> Page {
    let r = c
        .get(s.url(&format!("/v1/pull?cursor={cursor}&limit={limit}")))
        .header(HEADER_PROTOCOL, "2")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], BUNDLE_CONTENT_TYPE);
    let cursor = r.headers()[HEADER_CURSOR]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let more = r.headers()[HEADER_MORE] == "1";
    let docs = bundle::decode(&r.bytes().await.unwrap()).unwrap();
    Page { docs, cursor, more }
}

/// Every change the device can pull from 0, as (doc id, change bytes).
pub async fn pull_all(c: &reqwest::Client, s: &TestServer, token: &str) -> Vec<(String, Vec<u8>)> {
    let mut cursor = 0;
    let mut out = Vec::new();
    loop {
        let page = pull(c, s, token, cursor, 1000).await;
        for d in page.docs {
            for ch in d.changes {
                out.push((d.doc_id.clone(), ch));
            }
        }
        cursor = page.cursor;
        if !page.more {
            return out;
        }
    }
}

pub fn hash_of(bytes: &[u8]) -> automerge::ChangeHash {
    automerge::Change::from_bytes(bytes.to_vec())
        .unwrap()
        .hash()
}

pub async fn bootstrap(c: &reqwest::Client, s: &TestServer, token: &str) -> (u64, Vec<DocChanges>) {
    let r = c
        .get(s.url("/v1/bootstrap"))
        .header(HEADER_PROTOCOL, "2")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cursor = r.headers()[HEADER_CURSOR]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    (cursor, bundle::decode(&r.bytes().await.unwrap()).unwrap())
}

/// Polls bootstrap until its cursor reaches `seq` (the materializer caught up).
pub async fn bootstrap_at(
    c: &reqwest::Client,
    s: &TestServer,
    token: &str,
    seq: u64,
) -> Vec<DocChanges> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (cursor, docs) = bootstrap(c, s, token).await;
        if cursor >= seq {
            assert_eq!(cursor, seq);
            return docs;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "materializer stuck at {cursor}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
