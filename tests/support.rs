//! Helpers for the end-to-end tests: the real `gocua` binary on a throwaway store,
//! the real `gocua-server` on a throwaway database, and a TCP proxy that can drop
//! connections.
//!
//! # Which binaries
//!
//! A test crate cannot name another package's binary (`CARGO_BIN_EXE_*` only
//! covers its own package, and artifact dependencies are unstable), so the first
//! test that needs them runs `cargo build -p gocua-cli -p gocua-server --bin gocua
//! --bin gocua-server` once, with the same target directory and profile as the
//! test executable (found from `std::env::current_exe()`:
//! `<target>/<profile>/deps/<test>-<hash>`). That build is a no-op when the
//! binaries are fresh, and it makes `cargo test -p gocua-tests` enough on its own:
//! a stale binary is never tested. Set `GOCUA_BIN` and `GOCUA_SERVER_BIN` to test
//! other binaries instead (no build is run for a binary given that way).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `gocua` binary, built first if needed.
pub fn gocua_bin() -> &'static Path {
    &binaries().gocua
}

/// The `gocua-server` binary, built first if needed.
pub fn server_bin() -> &'static Path {
    &binaries().server
}

#[derive(Debug)]
struct Binaries {
    gocua: PathBuf,
    server: PathBuf,
}

fn binaries() -> &'static Binaries {
    static BINS: OnceLock<Binaries> = OnceLock::new();
    BINS.get_or_init(|| {
        let given_gocua = std::env::var_os("GOCUA_BIN").map(PathBuf::from);
        let given_server = std::env::var_os("GOCUA_SERVER_BIN").map(PathBuf::from);
        let mut wanted = Vec::new();
        if given_gocua.is_none() {
            wanted.push(("gocua-cli", "gocua"));
        }
        if given_server.is_none() {
            wanted.push(("gocua-server", "gocua-server"));
        }
        let built = if wanted.is_empty() {
            BTreeMap::new()
        } else {
            build(&wanted)
        };
        let pick = |given: Option<PathBuf>, name: &str| {
            given
                .or_else(|| built.get(name).cloned())
                .unwrap_or_else(|| panic!("no {name} binary"))
        };
        Binaries {
            gocua: pick(given_gocua, "gocua"),
            server: pick(given_server, "gocua-server"),
        }
    })
}

/// Builds `(package, binary)` pairs in one cargo run; returns binary name -> path.
fn build(wanted: &[(&str, &str)]) -> BTreeMap<String, PathBuf> {
    let mut args = Vec::new();
    for (package, _) in wanted {
        args.extend(["-p", package]);
    }
    for (_, bin) in wanted {
        args.extend(["--bin", bin]);
    }
    let profile_dir = cargo_build(&args);
    wanted
        .iter()
        .map(|(package, name)| {
            let bin = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
            assert!(
                bin.exists(),
                "{} missing after `cargo build -p {package}`",
                bin.display()
            );
            (name.to_string(), bin)
        })
        .collect()
}

/// `cargo build ARGS` of the workspace, in the tests' own target directory
/// and profile; returns the profile's directory (where binaries land).
pub fn cargo_build(args: &[&str]) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    // <target>/<profile>/deps/<test exe>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("unexpected test executable path {}", exe.display()))
        .to_path_buf();
    let target_dir = profile_dir
        .parent()
        .unwrap_or_else(|| panic!("unexpected test executable path {}", exe.display()))
        .to_path_buf();
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_string();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(workspace_dir().join("Cargo.toml"))
        .arg("--quiet")
        .env("CARGO_TARGET_DIR", &target_dir)
        .args(args);
    match profile.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("could not run cargo build {args:?}: {e}"));
    assert!(
        status.success(),
        "`cargo build {args:?}` failed ({status}); fix the build, or set GOCUA_BIN and GOCUA_SERVER_BIN"
    );
    profile_dir
}

/// The workspace's root directory.
pub fn workspace_dir() -> PathBuf {
    // Cargo sets it when it runs the test: a binary reused from another
    // checkout sharing the target directory still finds this one.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest
        .parent()
        .unwrap_or_else(|| panic!("no workspace above {}", manifest.display()))
        .to_path_buf()
}

/// Environment variables that would make a child process talk to something other
/// than what the test set up.
/// The passphrase of every test device's store.
pub const TEST_PASSPHRASE: &str = "mật khẩu thử nghiệm";

const FOREIGN_ENV: &[&str] = &[
    "RUST_LOG",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "GOCUA_LISTEN",
    "GOCUA_DATABASE",
    "GOCUA_MAX_BODY_BYTES",
    "GOCUA_ENROLL_CODE_TTL_HOURS",
    "GOCUA_LOG",
    "GOCUA_PASSPHRASE",
    "GOCUA_STORE_UNENCRYPTED",
    "GOCUA_PULL_PAGE_BYTES",
    "GOCUA_READER_CONNECTIONS",
    "GOCUA_LOAD_UNITS",
];

/// Waits for `child` to exit, at most `timeout` (then kills it and panics),
/// collecting whatever it writes to piped stdout and stderr.
pub fn finish(mut child: Child, timeout: Duration, what: &str) -> Output {
    fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_for_exit(&mut child, timeout).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{what} did not finish within {timeout:?}")
    });
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// The exit status of `child` once it exits, or `None` after `timeout`.
pub fn wait_for_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(e) => panic!("waiting for a child process: {e}"),
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Polls `cond` every few milliseconds until it holds; panics after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How long one `gocua` command may run before the test fails.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// One device: a store in its own temporary directory.
#[derive(Debug)]
pub struct Device {
    dir: tempfile::TempDir,
}

impl Default for Device {
    fn default() -> Self {
        Self::new()
    }
}

impl Device {
    pub fn new() -> Device {
        Device {
            dir: tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")),
        }
    }

    /// The data directory (`GOCUA_HOME`).
    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// The device's store opened directly (it is encrypted with
    /// [`TEST_PASSPHRASE`]), for a test to read or tamper with.
    pub fn db(&self) -> rusqlite::Connection {
        let path = self.home().join("store.sqlite");
        let conn = rusqlite::Connection::open(&path)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        conn.pragma_update(None, "key", TEST_PASSPHRASE)
            .unwrap_or_else(|e| panic!("key {}: {e}", path.display()));
        // gocua's stores authenticate pages with HMAC-SHA256 (field-core's
        // store::cipher), not SQLCipher's default; set after the key.
        conn.pragma_update(None, "cipher_hmac_algorithm", "HMAC_SHA256")
            .unwrap_or_else(|e| panic!("cipher_hmac_algorithm: {e}"));
        conn.busy_timeout(Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("busy_timeout: {e}"));
        conn
    }

    /// The device's sync token, as `gocua enroll` stored it (in the store).
    pub fn token(&self) -> String {
        self.db()
            .query_row(
                "SELECT value FROM meta WHERE key = 'device_token'",
                [],
                |r| r.get(0),
            )
            .unwrap_or_else(|e| panic!("no device token in {}: {e}", self.home().display()))
    }

    /// A path for a scratch file next to the store.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `gocua ARGS` on this device, in the Vietnamese-default locale.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(gocua_bin());
        cmd.args(args)
            .env("GOCUA_HOME", self.home())
            .env("LANG", "C.UTF-8")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .stdin(Stdio::null());
        for var in FOREIGN_ENV {
            cmd.env_remove(var);
        }
        // Every test device runs encrypted, as a volunteer's does.
        cmd.env("GOCUA_PASSPHRASE", TEST_PASSPHRASE);
        cmd
    }

    /// Runs `gocua ARGS`, failing the test if it takes longer than `timeout`.
    pub fn run_timeout(&self, args: &[&str], timeout: Duration) -> Output {
        finish(self.spawn(args), timeout, &format!("gocua {args:?}"))
    }

    /// `gocua --json enroll --server URL --code CODE --device-name NAME`.
    pub fn enroll(&self, url: &str, code: &str, name: &str) -> Value {
        self.json(&[
            "enroll",
            "--server",
            url,
            "--code",
            code,
            "--device-name",
            name,
        ])
    }

    /// The device id the server gave at enrollment.
    pub fn device_id(&self) -> String {
        str_field(&self.json(&["status"])["identity"], "device_id")
    }

    /// `gocua --json sync` once (bounded in time), whatever its outcome.
    pub fn try_sync(&self) -> Output {
        self.run_timeout(&["--json", "sync"], COMMAND_TIMEOUT)
    }

    /// `gocua --json sync`, required to succeed; returns its report.
    pub fn sync(&self) -> Value {
        let out = self.try_sync();
        assert!(
            out.status.success(),
            "gocua sync failed ({}) on {}:\nstdout: {}\nstderr: {}",
            out.status,
            self.home().display(),
            text(&out.stdout),
            text(&out.stderr)
        );
        sync_report(&out)
    }

    /// Runs `gocua sync` until it exits 0, at most `attempts` times; returns the
    /// last report and the number of runs it took.
    pub fn sync_until_ok(&self, attempts: u32) -> (Value, u32) {
        let mut failures = Vec::new();
        for attempt in 1..=attempts {
            let out = self.try_sync();
            if out.status.success() {
                return (sync_report(&out), attempt);
            }
            failures.push(format!("{}: {}", out.status, text(&out.stderr).trim()));
        }
        panic!(
            "gocua sync on {} did not succeed in {attempts} runs:\n{}",
            self.home().display(),
            failures.join("\n")
        )
    }

    /// `household list --json` with every household.
    pub fn list_all(&self) -> Value {
        self.json(&["household", "list", "--limit", "1000000"])
    }

    /// The household ids of `list_all`, in list order.
    pub fn household_ids(&self) -> Vec<String> {
        self.list_all()
            .as_array()
            .unwrap_or_else(|| panic!("household list is not a list"))
            .iter()
            .map(|h| str_field(h, "id"))
            .collect()
    }

    /// What a volunteer sees: the list, every household in full, the conflicts
    /// and the counts (pending changes excepted: they are the device's own).
    pub fn visible_state(&self) -> Value {
        let list = self.list_all();
        let mut shown = serde_json::Map::new();
        for h in list.as_array().into_iter().flatten() {
            let id = str_field(h, "id");
            let full = self.json(&["household", "show", &id]);
            shown.insert(id, full);
        }
        let conflicts = self.json(&["conflicts"]);
        let mut counts = self.counts();
        if let Some(c) = counts.as_object_mut() {
            c.remove("pending_changes");
        }
        serde_json::json!({
            "list": list,
            "households": shown,
            "conflicts": conflicts["conflicts"],
            "problems": conflicts["problems"],
            "counts": counts,
        })
    }

    /// The Automerge heads of every document (`changes heads`), by document id:
    /// equal heads mean equal documents.
    pub fn doc_heads(&self) -> BTreeMap<String, Value> {
        let path = path_text(&self.file("heads.json"));
        self.ok(&["changes", "heads", "--out", &path]);
        let raw = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        let v: Value =
            serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"));
        v.as_array()
            .unwrap_or_else(|| panic!("{path}: not a list"))
            .iter()
            .map(|d| {
                let mut heads = d["heads"].as_array().cloned().unwrap_or_default();
                heads.sort_by_key(|h| h.to_string());
                (str_field(d, "doc_id"), Value::Array(heads))
            })
            .collect()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .unwrap_or_else(|e| panic!("could not run gocua {args:?}: {e}"))
    }

    /// Runs and requires success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "gocua {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// `gocua --json ARGS`, required to succeed and to print one JSON value.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let stdout = self.ok(&all);
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("gocua {all:?} printed no JSON ({e}): {stdout}"))
    }

    /// Spawns `gocua ARGS` with stdout and stderr piped.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not spawn gocua {args:?}: {e}"))
    }

    /// Sets the device up for volunteer `volunteer` in Phường Ba Đình (00004).
    pub fn init(&self, volunteer: &str, villages: &[&str]) {
        let mut args = vec![
            "init",
            "--volunteer",
            volunteer,
            "--team",
            "Tổ Công nghệ số cộng đồng",
            "--commune",
            "00004",
        ];
        for v in villages {
            args.push("--village");
            args.push(v);
        }
        self.ok(&args);
    }

    /// Adds a household; returns its full id.
    pub fn add_household(&self, args: &[&str]) -> String {
        let mut all = vec!["household", "add"];
        all.extend_from_slice(args);
        let h = self.json(&all);
        str_field(&h, "id")
    }

    /// The counts of `status --json`.
    pub fn counts(&self) -> Value {
        let s = self.json(&["status"]);
        serde_json::json!({
            "households": s["households"],
            "persons": s["persons"],
            "visits": s["visits"],
            "pending_changes": s["pending_changes"],
            "conflicts": s["conflicts"],
        })
    }

    /// Writes `content` to a scratch file; returns its path as text.
    pub fn write(&self, name: &str, content: &[u8]) -> String {
        let path = self.file(name);
        let mut f = std::fs::File::create(&path)
            .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        f.write_all(content)
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path_text(&path)
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn path_text(p: &Path) -> String {
    p.to_str()
        .unwrap_or_else(|| panic!("non-UTF-8 path {}", p.display()))
        .to_string()
}

/// A string field of a JSON object, required.
pub fn str_field(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string {key:?} in {v}"))
        .to_string()
}

/// The head names of a `household list|search --json` answer, in order (a
/// search answers `{"total": N, "households": [...]}`).
pub fn heads(list: &Value) -> Vec<String> {
    list.get("households")
        .unwrap_or(list)
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|h| str_field(h, "head_name"))
        .collect()
}

/// This year in Vietnam time (UTC+7), as field-core counts birth years.
pub fn this_year_vietnam() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
        + 7 * 3600;
    // Days to civil date (H. Hinnant's algorithm).
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

/// The JSON report `gocua --json sync` printed.
pub fn sync_report(out: &Output) -> Value {
    let stdout = text(&out.stdout);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("gocua sync printed no JSON ({e}): {stdout}"))
}

/// A number field of a JSON object, required.
pub fn u64_field(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no number {key:?} in {v}"))
}

/// `GET path` on `addr` over plain HTTP/1.1; the status code and the body.
pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let raw = text(&raw);
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {raw:?}")))?;
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// How long a server may take to start and answer `/health`.
const SERVER_START: Duration = Duration::from_secs(60);

/// The database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One process on a SQLite file in its data directory.
    Sqlite,
    /// `replicas` processes on one throw-away PostgreSQL cluster, behind a
    /// round-robin TCP balancer (each new connection to the next replica).
    Postgres { replicas: usize },
}

/// The backend the end-to-end suite runs on by default: `GOCUA_TEST_BACKEND`
/// = `sqlite` (the default) or `postgres` (two replicas).
pub fn backend_from_env() -> Backend {
    match std::env::var("GOCUA_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres { replicas: 2 },
        _ => Backend::Sqlite,
    }
}

/// A `gocua-server` on a temporary database, listening on loopback ports;
/// killed when dropped. On PostgreSQL, several replicas behind a balancer:
/// `addr` is the balancer's.
#[derive(Debug)]
pub struct Server {
    dir: tempfile::TempDir,
    /// One per replica, `None` while killed.
    children: Vec<Option<Child>>,
    /// Each replica's own address.
    replicas: Vec<SocketAddr>,
    addr: SocketAddr,
    pg: Option<gocua_pgtest::PgCluster>,
    balancer: Option<Proxy>,
    /// Extra environment of every replica (`GOCUA_*` settings).
    env: Vec<(String, String)>,
}

impl Server {
    /// Starts a server on a new, empty SQLite database (`serve --listen
    /// 127.0.0.1:0`) and waits until it answers `/health` (the administrative
    /// units loaded).
    pub fn start() -> Server {
        Server::start_on(Backend::Sqlite)
    }

    /// Starts a server on `backend`; on PostgreSQL its replicas start at
    /// once, racing on the migrations and the units' loading as replicas
    /// deployed together do.
    pub fn start_on(backend: Backend) -> Server {
        Server::start_with_env(backend, &[])
    }

    /// [`Server::start_on`] with settings in the replicas' environment.
    pub fn start_with_env(backend: Backend, env: &[(&str, &str)]) -> Server {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let (pg, n) = match backend {
            Backend::Sqlite => (None, 1),
            Backend::Postgres { replicas } => {
                (Some(gocua_pgtest::PgCluster::start()), replicas.max(1))
            }
        };
        let db = database_args(dir.path(), pg.as_ref());
        let spawned: Vec<_> = (0..n)
            .map(|i| {
                spawn_server(dir.path(), &db, "127.0.0.1:0", i, &env)
                    .unwrap_or_else(|e| panic!("gocua-server did not start: {e}"))
            })
            .collect();
        let replicas: Vec<SocketAddr> = spawned.iter().map(|(_, a)| *a).collect();
        let children = spawned.into_iter().map(|(c, _)| Some(c)).collect();
        let balancer = pg.as_ref().map(|_| Proxy::round_robin(&replicas));
        let addr = balancer.as_ref().map_or(replicas[0], Proxy::addr);
        let server = Server {
            dir,
            children,
            replicas,
            addr,
            pg,
            balancer,
            env,
        };
        server.wait_healthy();
        server
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// Each replica's own address (one on SQLite).
    pub fn replica_addrs(&self) -> &[SocketAddr] {
        &self.replicas
    }

    /// Connections the balancer passed to each replica (PostgreSQL only).
    pub fn balanced(&self) -> Vec<u64> {
        self.balancer
            .as_ref()
            .map(|b| b.per_upstream())
            .unwrap_or_default()
    }

    /// The SQLite database (`--data-dir` puts it there).
    pub fn database(&self) -> PathBuf {
        self.dir.path().join("gocua-server.sqlite")
    }

    /// The servers' logs (stderr, every run appended), replica by replica.
    pub fn log(&self) -> String {
        (0..self.children.len())
            .map(|i| std::fs::read_to_string(log_path(self.dir.path(), i)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n--- next replica ---\n")
    }

    /// Whether every replica runs.
    pub fn is_running(&mut self) -> bool {
        self.children.iter_mut().all(|c| match c {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        })
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + SERVER_START;
        for addr in self.replicas.iter().chain([&self.addr]) {
            loop {
                match http_get(*addr, "/health") {
                    Ok((200, _)) => break,
                    other => assert!(
                        Instant::now() < deadline,
                        "gocua-server at {addr} not healthy after {SERVER_START:?}: {other:?}\nlog:\n{}",
                        self.log()
                    ),
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// SIGKILL to every replica: no graceful shutdown, requests in flight
    /// are cut.
    pub fn kill9(&mut self) {
        for i in 0..self.children.len() {
            self.kill9_replica(i);
        }
    }

    /// SIGKILL to replica `i` alone; the others keep serving.
    pub fn kill9_replica(&mut self, i: usize) {
        let mut child = self.children[i]
            .take()
            .unwrap_or_else(|| panic!("kill9: replica {i} is not running"));
        child
            .kill()
            .unwrap_or_else(|e| panic!("kill gocua-server: {e}")); // SIGKILL on Unix
        let status = child
            .wait()
            .unwrap_or_else(|e| panic!("wait gocua-server: {e}"));
        assert!(!status.success(), "gocua-server exited normally: {status}");
    }

    /// Starts every replica again on the same database and the same ports
    /// (so enrolled devices find it), after killing those that still run.
    pub fn restart(&mut self) {
        for i in 0..self.children.len() {
            if self.children[i].is_some() {
                self.kill9_replica(i);
            }
            self.restart_replica(i);
        }
        self.wait_healthy();
    }

    /// Starts replica `i` again on its port (it must not be running).
    pub fn restart_replica(&mut self, i: usize) {
        assert!(self.children[i].is_none(), "replica {i} still runs");
        let listen = self.replicas[i].to_string();
        let db = database_args(self.dir.path(), self.pg.as_ref());
        let deadline = Instant::now() + SERVER_START;
        let child = loop {
            match spawn_server(self.dir.path(), &db, &listen, i, &self.env) {
                Ok((child, addr)) => {
                    assert_eq!(addr, self.replicas[i], "restarted on another address");
                    break child;
                }
                // The port is not free yet: try again until the deadline.
                Err(e) => assert!(
                    Instant::now() < deadline,
                    "gocua-server did not restart on {listen}: {e}"
                ),
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.children[i] = Some(child);
    }

    /// `gocua-server --database DB --json admin ARGS`, whatever its outcome.
    pub fn admin_run(&self, args: &[&str]) -> Output {
        self.admin_run_with_env(args, &[])
    }

    /// [`Server::admin_run`] with `env` set (secrets read from the
    /// environment, such as `GOCUA_PASSWORD`).
    pub fn admin_run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(server_bin());
        cmd.args(database_args(self.dir.path(), self.pg.as_ref()))
            .args(["--json", "admin"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in FOREIGN_ENV {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied());
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("could not run gocua-server admin {args:?}: {e}"));
        finish(
            child,
            COMMAND_TIMEOUT,
            &format!("gocua-server admin {args:?}"),
        )
    }

    /// `gocua-server --database DB --json ARGS` (a top-level command:
    /// `backup`, `restore`, `check`), whatever its outcome.
    pub fn command_run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(server_bin());
        cmd.args(database_args(self.dir.path(), self.pg.as_ref()))
            .arg("--json")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in FOREIGN_ENV {
            cmd.env_remove(var);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("could not run gocua-server {args:?}: {e}"));
        finish(child, COMMAND_TIMEOUT, &format!("gocua-server {args:?}"))
    }

    /// [`Server::command_run`], required to succeed; its JSON answer.
    pub fn command(&self, args: &[&str]) -> Value {
        let out = self.command_run(args);
        assert!(
            out.status.success(),
            "gocua-server {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        );
        let stdout = text(&out.stdout);
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("gocua-server {args:?} printed no JSON ({e}): {stdout}"))
    }

    /// The server lost its database: every replica stopped, the database
    /// replaced by a new, empty one, `backup` restored into it with
    /// `gocua-server restore`, and the replicas started again on their
    /// ports (devices find the server where it was). Returns the restore's
    /// JSON answer.
    pub fn restore_into_fresh_database(&mut self, backup: &Path) -> Value {
        for i in 0..self.children.len() {
            if self.children[i].is_some() {
                self.kill9_replica(i);
            }
        }
        match &self.pg {
            Some(pg) => {
                pg.psql_in("postgres", "DROP DATABASE gocua WITH (FORCE)");
                pg.psql_in("postgres", "CREATE DATABASE gocua");
            }
            None => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = self.database().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(p));
                }
            }
        }
        let answer = self.command(&["restore", &path_text(backup)]);
        for i in 0..self.children.len() {
            self.restart_replica(i);
        }
        self.wait_healthy();
        answer
    }

    /// `gocua-server --json admin ARGS`, required to succeed; its JSON answer.
    pub fn admin(&self, args: &[&str]) -> Value {
        let out = self.admin_run(args);
        assert!(
            out.status.success(),
            "gocua-server admin {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        );
        let stdout = text(&out.stdout);
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("admin {args:?} printed no JSON ({e}): {stdout}"))
    }

    /// Runs `sql` (one row of integers, written to read the same on both
    /// backends) on the server's database, read-only.
    pub fn query_ints(&self, sql: &str) -> Vec<i64> {
        if let Some(pg) = &self.pg {
            let out = pg.psql(sql);
            return out
                .trim()
                .split('|')
                .map(|v| {
                    v.trim()
                        .parse()
                        .unwrap_or_else(|e| panic!("{sql}: {out:?}: {e}"))
                })
                .collect();
        }
        let conn = rusqlite::Connection::open_with_flags(
            self.database(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap_or_else(|e| panic!("open {}: {e}", self.database().display()));
        conn.busy_timeout(Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("busy_timeout: {e}"));
        conn.query_row(sql, [], |row| {
            (0..row.as_ref().column_count())
                .map(|i| row.get::<_, i64>(i))
                .collect::<Result<Vec<i64>, _>>()
        })
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for child in self.children.iter_mut().filter_map(Option::take) {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How `gocua-server` finds the database: the data directory's SQLite
/// file, or the cluster's URL.
fn database_args(dir: &Path, pg: Option<&gocua_pgtest::PgCluster>) -> Vec<String> {
    match pg {
        Some(pg) => vec!["--database".into(), pg.url()],
        None => vec!["--data-dir".into(), path_text(dir)],
    }
}

fn log_path(dir: &Path, replica: usize) -> PathBuf {
    if replica == 0 {
        dir.join("server.log")
    } else {
        dir.join(format!("server-{replica}.log"))
    }
}

/// Spawns `gocua-server serve` and reads the address it prints.
fn spawn_server(
    dir: &Path,
    db: &[String],
    listen: &str,
    replica: usize,
    env: &[(String, String)],
) -> Result<(Child, SocketAddr), String> {
    let log_file = log_path(dir, replica);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_file)
        .map_err(|e| format!("{}: {e}", log_file.display()))?;
    let mut cmd = Command::new(server_bin());
    cmd.args(db)
        .args(["serve", "--listen", listen])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log);
    for var in FOREIGN_ENV {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not spawn gocua-server: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    // Reads the address, then keeps draining stdout until the server exits.
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        while matches!(lines.read_line(&mut line), Ok(n) if n > 0) {
            if let Some(url) = line
                .trim()
                .strip_prefix("gocua-server listening on http://")
            {
                let _ = tx.send(url.to_string());
            }
            line.clear();
        }
    });
    let fail = |mut child: Child, why: String| {
        let _ = child.kill();
        let status = child.wait();
        let log = std::fs::read_to_string(&log_file).unwrap_or_default();
        let tail: String = log.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        Err(format!("{why} ({status:?}); log: {tail}"))
    };
    match rx.recv_timeout(SERVER_START) {
        Ok(addr) => match addr.parse() {
            Ok(addr) => Ok((child, addr)),
            Err(e) => fail(child, format!("bad address {addr:?}: {e}")),
        },
        Err(e) => fail(child, format!("no address printed: {e}")),
    }
}

/// The commune of the tests' teams: Phường Ba Đình (00004).
pub const COMMUNE: &str = "00004";

const VOLUNTEERS: [&str; 6] = [
    "Nguyễn Thị Lan",
    "Lò Văn Hùng",
    "Giàng Thị Mai",
    "Hà Văn Tú",
    "Đinh Thị Hoa",
    "Sùng Mí Páo",
];

/// A village and a team registered on a server.
#[derive(Debug, Clone)]
pub struct Team {
    pub village: String,
    pub village_id: String,
    pub team_id: String,
    enrolled: Arc<AtomicU64>,
}

impl Team {
    /// Registers `village` in commune 00004 and a team serving it.
    pub fn create(server: &Server, village: &str) -> Team {
        Team::create_in(server, COMMUNE, village)
    }

    /// Registers `village` in `commune` and a team serving it.
    pub fn create_in(server: &Server, commune: &str, village: &str) -> Team {
        let v = server.admin(&["village", "add", "--commune", commune, "--name", village]);
        let village_id = str_field(&v, "id");
        let t = server.admin(&[
            "team",
            "add",
            "--name",
            &format!("Tổ Công nghệ số cộng đồng {village}"),
            "--commune",
            commune,
            "--village",
            &village_id,
        ]);
        Team {
            village: village.to_string(),
            village_id,
            team_id: str_field(&t, "id"),
            enrolled: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A new volunteer of the team, an enrollment code for them, and a new
    /// device enrolled with it at `url` (the server's, or a proxy's in front).
    pub fn enroll(&self, server: &Server, url: &str) -> Device {
        let n = self.enrolled.fetch_add(1, Ordering::SeqCst) as usize;
        let name = format!("{} {}", VOLUNTEERS[n % VOLUNTEERS.len()], n + 1);
        let volunteer =
            server.admin(&["volunteer", "add", "--name", &name, "--team", &self.team_id]);
        let volunteer_id = str_field(&volunteer, "id");
        let code = str_field(
            &server.admin(&["enroll-code", "--volunteer", &volunteer_id]),
            "code",
        );
        let device = Device::new();
        let ident = device.enroll(url, &code, &format!("may-{}", n + 1));
        assert_eq!(ident["volunteer_id"], volunteer_id.as_str(), "{ident}");
        assert_eq!(
            ident["villages"][0]["id"],
            self.village_id.as_str(),
            "{ident}"
        );
        device
    }
}

/// One village ("Thôn Đông"), one team, and `n` volunteers with a device each,
/// enrolled at `url`.
pub fn enrolled_devices_at(server: &Server, url: &str, n: usize) -> (Team, Vec<Device>) {
    let team = Team::create(server, "Thôn Đông");
    let devices = (0..n).map(|_| team.enroll(server, url)).collect();
    (team, devices)
}

/// [`enrolled_devices_at`] the server itself.
pub fn enrolled_devices(server: &Server, n: usize) -> (Team, Vec<Device>) {
    enrolled_devices_at(server, &server.url(), n)
}

/// A small deterministic random generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64) / ((1u64 << 53) as f64) < p
    }
}

/// Where a flaky connection is cut: after `at` bytes in one direction.
#[derive(Debug, Clone, Copy)]
struct Cut {
    upstream: bool,
    at: u64,
}

/// A connection is cut within its first this many bytes of one direction (a
/// request's or an answer's headers, or the start of its body).
const MAX_CUT_BYTES: u64 = 1024;

#[derive(Debug)]
struct ProxyShared {
    /// Each new connection goes to the next one (round robin).
    upstreams: Vec<SocketAddr>,
    /// Connections passed to each upstream.
    per_upstream: Vec<AtomicU64>,
    seed: u64,
    stop: AtomicBool,
    /// The drop probability in millionths.
    drop_ppm: AtomicU64,
    connections: AtomicU64,
    dropped: AtomicU64,
    /// Armed by `notify_first_push`.
    first_request: Mutex<Option<mpsc::Sender<()>>>,
    /// Armed by `cut_next_push_answer`: the next answer to a push is not passed on.
    cut_answer: Mutex<Option<mpsc::Sender<()>>>,
    live: Mutex<Vec<TcpStream>>,
}

/// A TCP proxy on loopback, in front of `upstream`: forwards bytes both ways,
/// and cuts each connection with some probability at a random point of it
/// (deterministic for a seed: the decision for the n-th connection depends only
/// on the seed and n).
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<ProxyShared>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    /// A proxy that cuts each connection with probability `drop_probability`.
    pub fn start(upstream: SocketAddr, drop_probability: f64, seed: u64) -> Proxy {
        Proxy::balancing(&[upstream], drop_probability, seed)
    }

    /// A load balancer that never cuts: connection n goes to
    /// `upstreams[n % len]`, as a TCP load balancer in front of replicas does.
    pub fn round_robin(upstreams: &[SocketAddr]) -> Proxy {
        Proxy::balancing(upstreams, 0.0, 0)
    }

    fn balancing(upstreams: &[SocketAddr], drop_probability: f64, seed: u64) -> Proxy {
        assert!(!upstreams.is_empty(), "a proxy needs an upstream");
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("proxy: bind 127.0.0.1:0: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("proxy: local_addr: {e}"));
        let shared = Arc::new(ProxyShared {
            upstreams: upstreams.to_vec(),
            per_upstream: upstreams.iter().map(|_| AtomicU64::new(0)).collect(),
            seed,
            stop: AtomicBool::new(false),
            drop_ppm: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            first_request: Mutex::new(None),
            cut_answer: Mutex::new(None),
            live: Mutex::new(Vec::new()),
        });
        let proxy_shared = shared.clone();
        let accept = std::thread::spawn(move || accept_loop(listener, proxy_shared));
        let proxy = Proxy {
            addr,
            shared,
            accept: Some(accept),
        };
        proxy.set_drop_probability(drop_probability);
        proxy
    }

    /// A proxy that never cuts (until told otherwise).
    pub fn transparent(upstream: SocketAddr) -> Proxy {
        Proxy::start(upstream, 0.0, 0)
    }

    pub fn set_drop_probability(&self, p: f64) {
        assert!((0.0..=1.0).contains(&p), "probability {p}");
        self.shared
            .drop_ppm
            .store((p * 1_000_000.0).round() as u64, Ordering::SeqCst);
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Connections passed to each upstream so far.
    pub fn per_upstream(&self) -> Vec<u64> {
        self.shared
            .per_upstream
            .iter()
            .map(|n| n.load(Ordering::SeqCst))
            .collect()
    }

    /// Connections cut so far.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::SeqCst)
    }

    /// A receiver that gets one message once the first bytes of the next push
    /// (a POST) have been passed to the server.
    pub fn notify_first_push(&self) -> mpsc::Receiver<()> {
        let (tx, rx) = mpsc::channel();
        *lock(&self.shared.first_request) = Some(tx);
        rx
    }

    /// Cuts the connection that carries the server's answer to the next push
    /// before any of it reaches the client (the server did the work, the client
    /// never hears of it); the receiver gets one message when that has happened.
    pub fn cut_next_push_answer(&self) -> mpsc::Receiver<()> {
        let (tx, rx) = mpsc::channel();
        *lock(&self.shared.cut_answer) = Some(tx);
        rx
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        for s in lock(&self.shared.live).drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn accept_loop(listener: TcpListener, shared: Arc<ProxyShared>) {
    for client in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        let n = shared.connections.fetch_add(1, Ordering::SeqCst);
        let mut rng = SplitMix::new(shared.seed ^ (n + 1).wrapping_mul(0xA24B_AED4_963E_E407));
        let p = shared.drop_ppm.load(Ordering::SeqCst) as f64 / 1_000_000.0;
        let cut = rng.chance(p).then(|| Cut {
            upstream: rng.below(2) == 0,
            at: rng.below(MAX_CUT_BYTES),
        });
        let shared = shared.clone();
        let k = (n as usize) % shared.upstreams.len();
        std::thread::spawn(move || relay(client, k, cut, &shared));
    }
}

fn relay(client: TcpStream, upstream: usize, cut: Option<Cut>, shared: &Arc<ProxyShared>) {
    shared.per_upstream[upstream].fetch_add(1, Ordering::SeqCst);
    let to = shared.upstreams[upstream];
    let server = match TcpStream::connect_timeout(&to, Duration::from_secs(5)) {
        Ok(s) => s,
        Err(_) => {
            // Nobody upstream (the server is down): the client sees the
            // connection closed.
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let clones = (|| Some((client.try_clone().ok()?, server.try_clone().ok()?)))();
    let Some((client2, server2)) = clones else {
        let _ = client.shutdown(Shutdown::Both);
        let _ = server.shutdown(Shutdown::Both);
        return;
    };
    {
        let mut live = lock(&shared.live);
        for s in [&client, &server] {
            if let Ok(c) = s.try_clone() {
                live.push(c);
            }
        }
    }
    let up_cut = cut.filter(|c| c.upstream).map(|c| c.at);
    let down_cut = cut.filter(|c| !c.upstream).map(|c| c.at);
    let up_shared = shared.clone();
    // Set when a POST (a push) went up this connection and its answer has not
    // come back yet.
    let posted = Arc::new(AtomicBool::new(false));
    let up_posted = posted.clone();
    let up =
        std::thread::spawn(move || pump(client2, server2, up_cut, true, &up_shared, &up_posted));
    pump(server, client, down_cut, false, shared, &posted);
    let _ = up.join();
}

/// Copies `from` to `to` until either side closes, or cuts both after `cut`
/// bytes. Either way both sockets are shut down, so the other direction ends too.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    cut: Option<u64>,
    upstream: bool,
    shared: &ProxyShared,
    posted: &AtomicBool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut passed = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // A request's head goes out in one write: a chunk that starts a POST
        // starts a push.
        let push_starts = upstream && buf[..n].starts_with(b"POST ");
        if push_starts {
            posted.store(true, Ordering::SeqCst);
        }
        if !upstream
            && posted.swap(false, Ordering::SeqCst)
            && let Some(tx) = lock(&shared.cut_answer).take()
        {
            shared.dropped.fetch_add(1, Ordering::SeqCst);
            let _ = tx.send(());
            break;
        }
        if let Some(at) = cut
            && passed + n as u64 > at
        {
            let keep = (at - passed) as usize;
            let _ = to.write_all(&buf[..keep]);
            shared.dropped.fetch_add(1, Ordering::SeqCst);
            break;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        passed += n as u64;
        if push_starts && let Some(tx) = lock(&shared.first_request).take() {
            let _ = tx.send(());
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
