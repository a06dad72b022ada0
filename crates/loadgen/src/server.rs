//! The server under load: its database set up before it starts, the process
//! (a child `gocua-server`, or in-process), its memory and CPU from /proc, and
//! the real field-core client's measurements.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use gocua_protocol::bundle;
use gocua_protocol::{BUNDLE_CONTENT_TYPE, HEADER_PROTOCOL, PROTOCOL_VERSION, paths};
use gocua_server::{Config, admin};
use serde::Serialize;

use crate::proxy::Counters;
use crate::{COMMUNE, Exchange, RealClient};

/// The enrollment codes made for a run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// One per device, with the device's village index.
    pub device_codes: Vec<(String, usize)>,
    /// A device of every village: the fresh device that bootstraps everything.
    pub observer_code: String,
    /// A device of an empty village: its bootstrap cursor tells how far the
    /// materializer got, cheaply.
    pub probe_code: String,
    /// A device of village 1 for the real field-core client.
    pub real_code: String,
    /// A commune officer's token: reads the report of the probe's village.
    pub officer_token: String,
}

/// Villages, one team per village, a volunteer and a code per device, on a
/// fresh database (administrative units loaded as the server would).
pub fn setup(db: &Path, villages: usize, devices: usize) -> Result<Plan> {
    let config = Config {
        database: db.to_path_buf(),
        ..Config::default()
    };
    let storage = gocua_server::open_storage(&config)?;
    let s = storage.as_ref();
    let mut teams = Vec::with_capacity(villages);
    let mut village_ids = Vec::with_capacity(villages);
    for v in 1..=villages {
        let village = admin::add_village(s, COMMUNE, &format!("Thôn Tải {v}"))?;
        let team = admin::add_team(
            s,
            &format!("Tổ CNSCĐ thôn Tải {v}"),
            COMMUNE,
            std::slice::from_ref(&village.id),
        )?;
        village_ids.push(village.id);
        teams.push(team.id);
    }
    let code_for = |name: &str, team: &str| -> Result<String> {
        let volunteer = admin::add_volunteer(s, name, None, team)?;
        let (code, _) = admin::new_enroll_code(s, &volunteer.id, 72)?;
        Ok(code.expose().to_string())
    };
    let mut device_codes = Vec::with_capacity(devices);
    for i in 0..devices {
        let village = i % villages;
        device_codes.push((
            code_for(&format!("Tình nguyện viên {}", i + 1), &teams[village])?,
            village,
        ));
    }
    let all = admin::add_team(s, "Tổ tổng hợp", COMMUNE, &village_ids)?;
    let probe_village = admin::add_village(s, COMMUNE, "Thôn Dò")?;
    let probe_team = admin::add_team(s, "Tổ dò", COMMUNE, &[probe_village.id])?;
    let (_, officer) = admin::add_commune_officer(s, "Cán bộ xã (tải thử)", COMMUNE)?;
    Ok(Plan {
        officer_token: officer.expose().to_string(),
        device_codes,
        observer_code: code_for("Thiết bị mới", &all.id)?,
        probe_code: code_for("Thiết bị dò", &probe_team.id)?,
        real_code: code_for("Nguyễn Thị Lan", &teams[0])?,
    })
}

/// Memory and CPU of a process, from /proc (Linux).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ProcStats {
    pub rss_kib: u64,
    /// Peak resident set size (VmHWM) so far.
    pub hwm_kib: u64,
    /// User + system CPU time so far.
    pub cpu_seconds: f64,
}

pub fn proc_stats(pid: u32) -> Option<ProcStats> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| -> Option<u64> {
        status
            .lines()
            .find(|l| l.starts_with(key))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): state is field 3,
    // utime 14 and stime 15, in clock ticks (100 a second on Linux).
    let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?;
    Some(ProcStats {
        rss_kib: kib("VmRSS:")?,
        hwm_kib: kib("VmHWM:")?,
        cpu_seconds: ticks as f64 / 100.0,
    })
}

/// The `gocua-server` binary: `explicit`, else next to this executable, else on PATH.
pub fn find_server_bin(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let name = format!("gocua-server{}", std::env::consts::EXE_SUFFIX);
    if let Ok(me) = std::env::current_exe() {
        // target/release/gocua-loadgen, or target/debug/deps/<test> for tests.
        for dir in me.ancestors().skip(1).take(2) {
            let p = dir.join(&name);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(&name);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    bail!(
        "no gocua-server binary next to this one or on PATH: build it (cargo build --release -p gocua-server), pass --server-bin FILE, or use --in-process"
    )
}

enum Kind {
    /// One child per replica.
    Children { children: Vec<Child>, bin: PathBuf },
    InProcess {
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        task: tokio::task::JoinHandle<Result<(), gocua_server::ServerError>>,
    },
}

/// The running server.
pub struct Server {
    /// Each replica's address (one in-process).
    pub addrs: Vec<SocketAddr>,
    kind: Kind,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addrs", &self.addrs)
            .field("server", &self.describe())
            .finish()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Kind::Children { children, .. } = &mut self.kind {
            for child in children {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Server {
    /// Starts `replicas` processes of `gocua-server DATABASE serve --listen
    /// 127.0.0.1:0` (`database`: `--data-dir DIR` or `--database URL`) and
    /// reads the address each prints.
    pub async fn spawn(bin: &Path, database: &[String], replicas: usize) -> Result<Server> {
        // Every simulated device enrolls and connects from this one address.
        let env = [
            ("GOCUA_ENROLL_ATTEMPTS_PER_ADDRESS", "0"),
            ("GOCUA_MAX_CONNECTIONS_PER_ADDRESS", "0"),
        ];
        Server::spawn_with_env(bin, database, replicas, &env).await
    }

    /// Like [`Server::spawn`], with `env` set for the children (the server's
    /// `GOCUA_*` settings) and nothing else changed.
    pub async fn spawn_with_env(
        bin: &Path,
        database: &[String],
        replicas: usize,
        env: &[(&str, &str)],
    ) -> Result<Server> {
        let mut server = Server {
            addrs: Vec::new(),
            kind: Kind::Children {
                children: Vec::new(),
                bin: bin.to_path_buf(),
            },
        };
        for _ in 0..replicas.max(1) {
            let (child, addr) = spawn_one(bin, database, env).await?;
            server.addrs.push(addr);
            if let Kind::Children { children, .. } = &mut server.kind {
                children.push(child);
            }
        }
        Ok(server)
    }

    /// The server in this process, on the database at `db`.
    pub async fn in_process(db: &Path) -> Result<Server> {
        let config = Config {
            database: db.to_path_buf(),
            // Every simulated device enrolls and connects from this one
            // address.
            enroll_attempts_per_address: 0,
            max_connections_per_address: 0,
            ..Config::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(gocua_server::launch_with_listener(
            config,
            listener,
            async move {
                let _ = rx.await;
            },
        ));
        Ok(Server {
            addrs: vec![addr],
            kind: Kind::InProcess {
                stop: Some(stop),
                task,
            },
        })
    }

    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Children { children, bin } => {
                let pids: Vec<String> = children.iter().map(|c| c.id().to_string()).collect();
                match children.len() {
                    1 => format!("child process {} (pid {})", bin.display(), pids[0]),
                    n => format!(
                        "{n} replicas of {} (pids {}) behind a round-robin balancer",
                        bin.display(),
                        pids.join(", ")
                    ),
                }
            }
            Kind::InProcess { .. } => "in-process (memory not measured apart)".into(),
        }
    }

    /// The server processes' ids (none in-process).
    pub fn pids(&self) -> Vec<u32> {
        match &self.kind {
            Kind::Children { children, .. } => children.iter().map(|c| c.id()).collect(),
            Kind::InProcess { .. } => Vec::new(),
        }
    }

    /// The server processes' memory and CPU, summed over the replicas;
    /// `None` in-process.
    pub fn stats(&self) -> Option<ProcStats> {
        match &self.kind {
            Kind::Children { children, .. } => {
                sum_stats(children.iter().map(|c| proc_stats(c.id())))
            }
            Kind::InProcess { .. } => None,
        }
    }

    /// Waits until `/health` answers through `base`.
    pub async fn wait_healthy(&self, base: &str, max: Duration) -> Result<()> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + max.min(Duration::from_secs(60));
        loop {
            if let Ok(r) = client.get(format!("{base}{}", paths::HEALTH)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the server did not answer /health");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Kind::InProcess { stop, task } = &mut self.kind {
            if let Some(s) = stop.take() {
                let _ = s.send(());
            }
            let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
        }
        // A child is killed on drop.
    }
}

/// The sum of some processes' figures (peaks summed: an upper bound of
/// their peak together); `None` if any cannot be read.
pub fn sum_stats(stats: impl Iterator<Item = Option<ProcStats>>) -> Option<ProcStats> {
    let mut total = ProcStats::default();
    for s in stats {
        let s = s?;
        total.rss_kib += s.rss_kib;
        total.hwm_kib += s.hwm_kib;
        total.cpu_seconds += s.cpu_seconds;
    }
    Some(total)
}

/// The processes of a PostgreSQL cluster whose data directory is `data`:
/// the postmaster (`postmaster.pid`'s first line) and its children (the
/// backends serving each connection, the writers).
pub fn postgres_stats(data: &Path) -> Option<ProcStats> {
    let pid: u32 = std::fs::read_to_string(data.join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()?;
    let mut pids = vec![pid];
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(child) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // Field 4, after the command name: the parent.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if parent == Some(pid) {
            pids.push(child);
        }
    }
    // A backend that exits between the listing and the read is left out.
    sum_stats(
        pids.into_iter()
            .map(|p| Some(proc_stats(p).unwrap_or_default())),
    )
}

async fn spawn_one(
    bin: &Path,
    database: &[String],
    env: &[(&str, &str)],
) -> Result<(Child, SocketAddr)> {
    let mut child = Command::new(bin)
        .args(database)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("GOCUA_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let out = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no stdout from the server"))?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    // Reads the address line, then drains the rest so the server never blocks.
    std::thread::spawn(move || {
        let mut sent = false;
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if !sent && line.contains("listening on http://") {
                let _ = tx.send(line);
                sent = true;
            }
        }
    });
    let line =
        tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60))).await?;
    let Ok(line) = line else {
        let _ = child.kill();
        let _ = child.wait();
        bail!("{} did not say where it listens", bin.display());
    };
    let addr: SocketAddr = match line.rsplit("http://").next().unwrap_or("").trim().parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("cannot read the server's address in {line:?}: {e}");
        }
    };
    Ok((child, addr))
}

/// The real device side: a field-core store enrolled in village 1 through the
/// counting proxy at `url`: its first sync (bootstrap), an idle sync, then one
/// visit: its push request alone, and its whole sync.
pub fn real_client(
    store_path: &Path,
    url: &str,
    code: &str,
    counters: &Counters,
) -> Result<RealClient> {
    let store = field_core::Store::open(store_path, &field_core::StoreKey::Unencrypted)?;
    field_core::sync::enroll(&store, url, code, "loadgen field-core device")?;
    let measure = |f: &dyn Fn() -> Result<u64>| -> Result<Exchange> {
        let t0 = counters.read();
        let t = Instant::now();
        let requests = f()?;
        Ok(Exchange::of(
            counters.read().since(t0),
            requests,
            t.elapsed().as_secs_f64(),
        ))
    };
    let docs = std::cell::Cell::new(0);
    let bootstrap = measure(&|| {
        let r = field_core::sync::sync(&store, None)?;
        docs.set(r.documents_updated);
        Ok(r.requests)
    })?;
    let idle_sync = measure(&|| Ok(field_core::sync::sync(&store, None)?.requests))?;
    let household = store
        .list_households(None, 1)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("the real client got no household"))?;
    store.record_visit(
        &household.id,
        field_core::NewVisit {
            services: vec![field_core::ServiceOutcome {
                service: "vneid_activate".into(),
                outcome: "done".into(),
                note: None,
            }],
            duration_minutes: Some(20),
            ..field_core::NewVisit::default()
        },
    )?;
    // The push request as field-core's client builds it (sync.rs), on a new
    // blocking client (a new connection) built the same way.
    let one_visit_push = measure(&|| {
        let settings = store
            .sync_settings()?
            .ok_or_else(|| anyhow!("not enrolled"))?;
        let batch = store.outbox_batch(2_000, 2 * 1024 * 1024)?;
        let (body, gz) = crate::workload::gzip_like_client(bundle::encode(&batch.docs), true);
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        let mut rb = client
            .post(format!("{}{}", settings.server_url, paths::PUSH))
            .header(reqwest::header::CONTENT_TYPE, BUNDLE_CONTENT_TYPE)
            .body(body)
            .header(HEADER_PROTOCOL, PROTOCOL_VERSION.to_string())
            .bearer_auth(&settings.token);
        if gz {
            rb = rb.header(reqwest::header::CONTENT_ENCODING, "gzip");
        }
        let resp = rb.send()?;
        if !resp.status().is_success() {
            bail!("push: HTTP {}", resp.status());
        }
        let _ = resp.bytes()?;
        Ok(1)
    })?;
    // The whole sync: pushes the visit again (a duplicate now) and pulls it back.
    let one_visit_sync = measure(&|| Ok(field_core::sync::sync(&store, None)?.requests))?;
    Ok(RealClient {
        bootstrap,
        bootstrap_documents: docs.get(),
        idle_sync,
        one_visit_sync,
        one_visit_push,
    })
}
