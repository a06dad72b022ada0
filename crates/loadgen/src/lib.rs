//! gocua-loadgen: N simulated devices in M villages push and pull visits
//! against a gocua sync server on 127.0.0.1, through counting TCP proxies, and
//! report ingest rate, request latencies, bytes on the wire and the server's
//! memory. Bounded in devices, visits and time; it ends by itself.
//!
//! Phases: set up villages, teams, volunteers and enrollment codes on a fresh
//! database (in-process `gocua_server::admin`), start the server (the
//! `gocua-server` binary as a child, or in-process), enroll every device over
//! HTTP, pre-build every device's Automerge changes, then the timed phase:
//! every device at once pushes its visits a batch at a time and pulls its
//! villages' changes after each push. Then: every device pulls to the end
//! (checks it got every change of its village), the materializer catches up,
//! a fresh device bootstraps everything, and the single-request figures (one
//! visit pushed, an idle sync) are measured alone on a quiet server, with an
//! equivalent request and with the real field-core client.

pub mod freshness;
pub mod proxy;
pub mod server;
pub mod workload;

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use gocua_protocol::bundle::{self, DocChanges};
use gocua_protocol::{
    BUNDLE_CONTENT_TYPE, EnrollRequest, EnrollResponse, HEADER_CURSOR, HEADER_MORE,
    HEADER_PROTOCOL, PROTOCOL_VERSION, PushResponse, paths,
};
use serde::Serialize;

use crate::proxy::{Proxy, Traffic};
use crate::server::{ProcStats, Server};
use crate::workload::{DeviceIdentity, DeviceWork, PushBody};

/// The commune every simulated village is in (a real one from the units).
pub const COMMUNE: &str = "00097";
/// Changes per pull page, as field-core's client asks.
pub const PULL_LIMIT: u32 = 2_000;

/// What to run. `gocua-loadgen --help` documents each option.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "gocua-loadgen",
    version,
    about = "Load generator for gocua-server: simulated devices push and pull visits over loopback",
    long_about = "Load generator for gocua-server. Simulated devices, spread over villages \
(device i in village i mod M), push pre-built Automerge visits in batches and pull their \
villages' changes after each push, all at once, against a fresh server on 127.0.0.1. Every \
byte goes through counting TCP proxies. Reports visits/s ingested, p50/p99 latency of push \
and pull requests, bytes on the wire per visit, the server's peak memory, how long the \
materializer takes to catch up, a fresh device's bootstrap of everything (time and bytes), \
one visit pushed alone and an idle sync, with an equivalent request and with the real \
field-core client. Bounded by --max-seconds; ends by itself."
)]
pub struct Options {
    /// Devices syncing concurrently.
    #[arg(long, default_value_t = 50)]
    pub devices: usize,
    /// Villages the devices are spread over (one team per village).
    #[arg(long, default_value_t = 5)]
    pub villages: usize,
    /// Visits each device records (and pushes).
    #[arg(long, default_value_t = 20)]
    pub visits_per_device: usize,
    /// Visits per household: each household is one Automerge document, its
    /// creation plus this many visits.
    #[arg(long, default_value_t = 3)]
    pub visits_per_household: usize,
    /// Visits per push request (a device pushes, pulls, pushes the next batch ...).
    #[arg(long, default_value_t = 10)]
    pub visits_per_push: usize,
    /// Do not pull during the timed phase (pushes only); devices still pull at the end.
    #[arg(long)]
    pub no_pull: bool,
    /// Stop the timed phase after this many seconds, finished or not; the
    /// whole run also gives up waiting for the materializer after this long.
    #[arg(long, default_value_t = 120)]
    pub max_seconds: u64,
    /// The gocua-server binary to start as a child process (default: the
    /// one next to this executable, then `gocua-server` on PATH).
    #[arg(long, value_name = "FILE")]
    pub server_bin: Option<PathBuf>,
    /// Run the server inside this process instead of as a child (its memory
    /// then cannot be told apart from the load generator's).
    #[arg(long)]
    pub in_process: bool,
    /// Run on PostgreSQL: a throw-away cluster started for the run from the
    /// machine's PostgreSQL binaries (as the tests start one), its CPU and
    /// memory measured beside the server's.
    #[arg(long, conflicts_with_all = ["database", "in_process"])]
    pub postgres: bool,
    /// Run on this empty PostgreSQL database (`postgres://...`) instead; its
    /// processes are not measured.
    #[arg(long, value_name = "URL", conflicts_with = "in_process")]
    pub database: Option<String>,
    /// `gocua-server` processes on the one database, behind a round-robin
    /// balancer (PostgreSQL only).
    #[arg(long, default_value_t = 1)]
    pub replicas: usize,
    /// Keep the server's database in DIR (default: a temporary directory,
    /// removed at the end). DIR must not hold a database already.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Ask for gzip responses and gzip push bodies over 1 KiB (the protocol
    /// allows both). field-core's client today gzips pushes but does not ask
    /// for gzip responses; `--gzip false` leaves everything uncompressed.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub gzip: bool,
    /// Skip the measurements made with the real field-core client.
    #[arg(long)]
    pub skip_real_client: bool,
    /// Seed of the generated households and visits.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

impl Default for Options {
    fn default() -> Options {
        <Options as clap::Parser>::parse_from(["gocua-loadgen"])
    }
}

/// Latency figures of one kind of request, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub requests: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    fn of(mut ms: Vec<f64>) -> Latency {
        if ms.is_empty() {
            return Latency::default();
        }
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let i = ((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1;
            ms[i]
        };
        Latency {
            requests: ms.len(),
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        }
    }
}

/// Bytes and time of one measured exchange.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Exchange {
    pub requests: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub bytes_total: u64,
    pub seconds: f64,
}

impl Exchange {
    fn of(t: Traffic, requests: u64, seconds: f64) -> Exchange {
        Exchange {
            requests,
            bytes_up: t.up,
            bytes_down: t.down,
            bytes_total: t.total(),
            seconds,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RealClient {
    /// `sync` of a fresh device of village 1: bootstrap + pull, applied to its store.
    pub bootstrap: Exchange,
    pub bootstrap_documents: u64,
    /// `sync` with nothing new.
    pub idle_sync: Exchange,
    /// `record_visit` then `sync`: push + pull (the pull brings the visit back).
    pub one_visit_sync: Exchange,
    /// The same client's push request alone (an equivalent request built from
    /// its outbox with the same headers), on a new connection.
    pub one_visit_push: Exchange,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub devices: usize,
    pub villages: usize,
    pub households: u64,
    pub visits_planned: u64,
    pub changes_planned: u64,
    pub change_bytes_planned: u64,
    pub gzip: bool,
    pub pulls_during_ingest: bool,
    pub server: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub replicas: usize,
    pub prebuild_seconds: f64,
    /// The timed phase: every device pushing (and pulling) at once.
    pub ingest_seconds: f64,
    pub ingest_complete: bool,
    pub visits_stored: u64,
    pub changes_stored: u64,
    pub duplicates: u64,
    pub refused: u64,
    pub visits_per_second: f64,
    pub changes_per_second: f64,
    pub push_latency: Latency,
    pub pull_latency: Latency,
    pub push_traffic: Traffic,
    pub pull_traffic: Traffic,
    pub push_bytes_per_visit: f64,
    pub wire_bytes_per_visit: f64,
    pub errors: Vec<String>,
    /// After the timed phase every device pulls to the end.
    pub catch_up_pull: Exchange,
    pub every_device_has_its_villages_changes: bool,
    /// From the end of the timed phase until `materialized_seq` reached the log's end.
    pub materializer_lag_seconds: Option<f64>,
    /// From a probe visit's push (its answer) until `GET /v1/report` counts
    /// it, probes made while the load runs (and at least `MIN_PROBES`).
    pub report_freshness: Latency,
    /// A fresh device of every village: bootstrap + pull to the end.
    pub fresh_bootstrap: Exchange,
    pub fresh_bootstrap_documents: u64,
    pub fresh_bootstrap_visits: u64,
    pub fresh_bootstrap_bytes_per_household: f64,
    /// One new visit in an existing household, pushed alone (equivalent request).
    pub one_visit_push: Exchange,
    /// A pull with nothing new, by the device holding every household.
    pub idle_pull: Exchange,
    /// The whole log pulled from cursor 0 by a device serving every village,
    /// once the materializer has caught up: the pull feed's cost alone.
    pub full_pull: Exchange,
    pub full_pull_changes: u64,
    pub real_client: Option<RealClient>,
    pub server_start: Option<ProcStats>,
    /// Once every device is enrolled, when the timed phase starts.
    pub server_before_ingest: Option<ProcStats>,
    pub server_after_ingest: Option<ProcStats>,
    pub server_after_materializer: Option<ProcStats>,
    /// After the quiet full pull, before the fresh bootstrap: tells which
    /// of the two a rise of the peak comes from.
    pub server_after_full_pull: Option<ProcStats>,
    pub server_after_bootstrap: Option<ProcStats>,
    pub server_end: Option<ProcStats>,
    pub loadgen_end: Option<ProcStats>,
    /// The PostgreSQL cluster's processes (with `--postgres`).
    pub database_start: Option<ProcStats>,
    pub database_before_ingest: Option<ProcStats>,
    pub database_after_ingest: Option<ProcStats>,
    pub database_after_materializer: Option<ProcStats>,
}

impl Report {
    /// CPU milliseconds per visit stored, of the replicas and of the
    /// database, from the timed phase's start (enrollment left out) until the
    /// materializer caught up (its work, the report's and the devices'
    /// catch-up pulls included): what one visit costs each side.
    pub fn cpu_ms_per_visit(&self) -> (Option<f64>, Option<f64>) {
        let per = |a: &Option<ProcStats>, b: &Option<ProcStats>| -> Option<f64> {
            let (a, b) = (a.as_ref()?, b.as_ref()?);
            (self.visits_stored > 0)
                .then(|| (b.cpu_seconds - a.cpu_seconds) * 1000.0 / self.visits_stored as f64)
        };
        (
            per(&self.server_before_ingest, &self.server_after_materializer),
            per(
                &self.database_before_ingest,
                &self.database_after_materializer,
            ),
        )
    }
}

/// An HTTP client speaking protocol v1 like a device, gzip by hand.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    gzip: bool,
}

/// One pull page.
#[derive(Debug)]
pub struct Page {
    pub cursor: u64,
    pub more: bool,
    pub docs: Vec<DocChanges>,
}

impl Page {
    pub fn changes(&self) -> u64 {
        self.docs.iter().map(|d| d.changes.len() as u64).sum()
    }
}

fn header_u64(resp: &reqwest::Response, name: &str) -> Option<u64> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

impl Http {
    pub fn new(gzip: bool) -> Result<Http> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(usize::MAX)
            .tcp_nodelay(true)
            // Gzip by hand, whatever reqwest's features (field-core enables
            // "gzip"), so that `--gzip false` really sends no Accept-Encoding.
            .no_gzip()
            .build()?;
        Ok(Http { client, gzip })
    }

    fn request(&self, rb: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::RequestBuilder {
        let mut rb = rb.header(HEADER_PROTOCOL, PROTOCOL_VERSION.to_string());
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if self.gzip {
            rb = rb.header(reqwest::header::ACCEPT_ENCODING, "gzip");
        }
        rb
    }

    async fn body(resp: reqwest::Response) -> Result<Vec<u8>> {
        let status = resp.status();
        let gz = resp
            .headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let bytes = resp.bytes().await?;
        let bytes = if gz {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_end(&mut out)
                .context("a gzip response that does not decompress")?;
            out
        } else {
            bytes.to_vec()
        };
        if !status.is_success() {
            bail!("HTTP {status}: {}", String::from_utf8_lossy(&bytes));
        }
        Ok(bytes)
    }

    pub async fn enroll(&self, base: &str, code: &str, name: &str) -> Result<EnrollResponse> {
        let req = EnrollRequest {
            code: code.to_string(),
            device_name: name.to_string(),
            request_id: None,
        };
        let rb = self
            .client
            .post(format!("{base}{}", paths::ENROLL))
            .json(&req);
        let resp = self.request(rb, None).send().await?;
        Ok(serde_json::from_slice(&Self::body(resp).await?)?)
    }

    pub async fn push(&self, base: &str, token: &str, p: &PushBody) -> Result<PushResponse> {
        let mut rb = self
            .client
            .post(format!("{base}{}", paths::PUSH))
            .header(reqwest::header::CONTENT_TYPE, BUNDLE_CONTENT_TYPE)
            .body(p.body.clone());
        if p.gzipped {
            rb = rb.header(reqwest::header::CONTENT_ENCODING, "gzip");
        }
        let resp = self.request(rb, Some(token)).send().await?;
        Ok(serde_json::from_slice(&Self::body(resp).await?)?)
    }

    pub async fn pull(&self, base: &str, token: &str, cursor: u64) -> Result<Page> {
        let rb = self.client.get(format!(
            "{base}{}?cursor={cursor}&limit={PULL_LIMIT}",
            paths::PULL
        ));
        let resp = self.request(rb, Some(token)).send().await?;
        let next = header_u64(&resp, HEADER_CURSOR).unwrap_or(cursor);
        let more = header_u64(&resp, HEADER_MORE) == Some(1);
        let body = Self::body(resp).await?;
        Ok(Page {
            cursor: next,
            more,
            docs: bundle::decode(&body)?,
        })
    }

    /// The indicators of `area` at village level (`GET /v1/report`), as JSON.
    pub async fn report(&self, base: &str, token: &str, area: &str) -> Result<serde_json::Value> {
        // Area codes and village ids need no escaping.
        let rb = self
            .client
            .get(format!("{base}{}?area={area}&level=village", paths::REPORT));
        let resp = self.request(rb, Some(token)).send().await?;
        Ok(serde_json::from_slice(&Self::body(resp).await?)?)
    }

    pub async fn bootstrap(&self, base: &str, token: &str) -> Result<Page> {
        let rb = self.client.get(format!("{base}{}", paths::BOOTSTRAP));
        let resp = self.request(rb, Some(token)).send().await?;
        let cursor = header_u64(&resp, HEADER_CURSOR).unwrap_or(0);
        let body = Self::body(resp).await?;
        Ok(Page {
            cursor,
            more: false,
            docs: bundle::decode(&body)?,
        })
    }
}

/// What one device did in the timed phase.
#[derive(Debug, Default)]
struct DeviceRun {
    push_ms: Vec<f64>,
    pull_ms: Vec<f64>,
    visits: u64,
    stored: u64,
    duplicates: u64,
    refused: u64,
    pushes_done: usize,
    cursor: u64,
    pulled: u64,
    error: Option<String>,
}

async fn device_run(
    http: Http,
    push_base: String,
    pull_base: String,
    token: String,
    work: Arc<DeviceWork>,
    pull: bool,
    deadline: Instant,
) -> DeviceRun {
    let mut run = DeviceRun::default();
    for p in &work.pushes {
        if Instant::now() >= deadline {
            break;
        }
        let t = Instant::now();
        match http.push(&push_base, &token, p).await {
            Ok(r) => {
                run.push_ms.push(t.elapsed().as_secs_f64() * 1e3);
                run.stored += r.stored;
                run.duplicates += r.duplicates;
                run.refused += r.refused.len() as u64;
                if r.refused.is_empty() {
                    run.visits += p.visits;
                }
                run.pushes_done += 1;
            }
            Err(e) => {
                run.error = Some(format!("push: {e:#}"));
                return run;
            }
        }
        if !pull {
            continue;
        }
        loop {
            if Instant::now() >= deadline {
                break;
            }
            let t = Instant::now();
            match http.pull(&pull_base, &token, run.cursor).await {
                Ok(page) => {
                    run.pull_ms.push(t.elapsed().as_secs_f64() * 1e3);
                    run.pulled += page.changes();
                    let more = page.more && page.cursor > run.cursor;
                    run.cursor = page.cursor;
                    if !more {
                        break;
                    }
                }
                Err(e) => {
                    run.error = Some(format!("pull: {e:#}"));
                    return run;
                }
            }
        }
    }
    run
}

/// Pulls from `cursor` to the end; returns (cursor, changes, requests).
async fn pull_to_end(
    http: &Http,
    base: &str,
    token: &str,
    mut cursor: u64,
) -> Result<(u64, u64, u64)> {
    let mut changes = 0;
    let mut requests = 0;
    loop {
        let page = http.pull(base, token, cursor).await?;
        requests += 1;
        changes += page.changes();
        let more = page.more && page.cursor > cursor;
        cursor = page.cursor;
        if !more {
            return Ok((cursor, changes, requests));
        }
    }
}

fn counted_visits(docs: &[DocChanges]) -> Result<u64> {
    let mut visits = 0;
    for d in docs {
        let mut doc = automerge::Automerge::new();
        for item in &d.changes {
            doc.load_incremental(item)
                .map_err(|e| anyhow!("document {}: {e}", d.doc_id))?;
        }
        if let Some(v) = field_core::doc::get_map(&doc, &automerge::ROOT, field_core::doc::VISITS) {
            visits += automerge::ReadDoc::length(&doc, &v) as u64;
        }
    }
    Ok(visits)
}

/// Runs the whole load and returns its report.
pub async fn run(opts: &Options) -> Result<Report> {
    if opts.devices == 0 || opts.villages == 0 {
        bail!("--devices and --villages must be at least 1");
    }
    let max = Duration::from_secs(opts.max_seconds.max(1));
    if opts.replicas == 0 {
        bail!("--replicas must be at least 1");
    }
    if opts.replicas > 1 && !opts.postgres && opts.database.is_none() {
        bail!("several replicas share one PostgreSQL database: add --postgres or --database URL");
    }
    let tmp = tempfile::tempdir()?;
    let data_dir = match &opts.data_dir {
        Some(d) => d.clone(),
        None => tmp.path().join("server"),
    };
    std::fs::create_dir_all(&data_dir)?;
    // The database: a SQLite file in the data directory, a throw-away
    // cluster, or the one given.
    let cluster = if opts.postgres {
        let started = tokio::task::spawn_blocking(|| {
            std::panic::catch_unwind(gocua_pgtest::PgCluster::start)
        })
        .await?;
        Some(started.map_err(|e| {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            anyhow!("cannot start a PostgreSQL cluster: {why}")
        })?)
    } else {
        None
    };
    let url = cluster.as_ref().map(|c| c.url()).or(opts.database.clone());
    let (db, server_args) = match &url {
        Some(url) => (
            PathBuf::from(url),
            vec!["--database".to_string(), url.clone()],
        ),
        None => {
            let db = data_dir.join(gocua_server::config::DEFAULT_DATABASE);
            if db.exists() {
                bail!("{} exists already: give an empty --data-dir", db.display());
            }
            (
                db,
                vec![
                    "--data-dir".to_string(),
                    data_dir.to_string_lossy().into_owned(),
                ],
            )
        }
    };

    // Villages, teams, volunteers and codes, on the database itself.
    let plan = {
        let (db, devices, villages) = (db.clone(), opts.devices, opts.villages);
        tokio::task::spawn_blocking(move || server::setup(&db, villages, devices)).await??
    };

    let server = if opts.in_process {
        Server::in_process(&db).await?
    } else {
        let bin = server::find_server_bin(opts.server_bin.as_deref())?;
        Server::spawn(&bin, &server_args, opts.replicas).await?
    };
    eprintln!("gocua-loadgen: server {}", server.describe());
    let database_stats = {
        let data = cluster.as_ref().map(|c| c.dir().join("data"));
        move || data.as_deref().and_then(server::postgres_stats)
    };
    let result = drive(opts, &plan, &server, tmp.path(), max, &database_stats).await;
    let end = server.stats();
    server.stop().await;
    let mut report = result?;
    report.server_end = end;
    report.loadgen_end = server::proc_stats(std::process::id());
    report.backend = if url.is_some() { "postgres" } else { "sqlite" }.into();
    report.replicas = opts.replicas;
    drop(cluster);
    Ok(report)
}

async fn drive(
    opts: &Options,
    plan: &server::Plan,
    server: &Server,
    tmp: &std::path::Path,
    max: Duration,
    database_stats: &dyn Fn() -> Option<ProcStats>,
) -> Result<Report> {
    let push_proxy = Proxy::balancing(server.addrs.clone()).await?;
    let pull_proxy = Proxy::balancing(server.addrs.clone()).await?;
    let other_proxy = Proxy::balancing(server.addrs.clone()).await?;
    let http = Http::new(opts.gzip)?;
    let base = other_proxy.url();
    server.wait_healthy(&base, max).await?;
    let mut report = Report {
        devices: opts.devices,
        villages: opts.villages,
        gzip: opts.gzip,
        pulls_during_ingest: !opts.no_pull,
        server: server.describe(),
        server_start: server.stats(),
        database_start: database_stats(),
        ..Report::default()
    };

    // Enroll every device over HTTP (a few at a time).
    let sem = Arc::new(tokio::sync::Semaphore::new(16));
    let mut set = tokio::task::JoinSet::new();
    for (i, (code, village)) in plan.device_codes.iter().enumerate() {
        let (http, base, code, sem) = (http.clone(), base.clone(), code.clone(), sem.clone());
        let village = *village;
        set.spawn(async move {
            let _permit = sem.acquire().await;
            let e = http
                .enroll(&base, &code, &format!("loadgen device {i}"))
                .await;
            (i, village, e)
        });
    }
    let mut identities: Vec<Option<DeviceIdentity>> = vec![None; opts.devices];
    while let Some(j) = set.join_next().await {
        let (i, village, e) = j?;
        let e = e.with_context(|| format!("enrolling device {i}"))?;
        let v = e
            .villages
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("device {i} was enrolled with no village"))?;
        identities[i] = Some(DeviceIdentity {
            device_id: e.device_id,
            token: e.token,
            volunteer_id: e.volunteer_id,
            team_id: e.team_id,
            village,
            village_id: v.id,
            village_name: v.name,
            commune_code: e.commune_code,
        });
    }
    let identities: Vec<DeviceIdentity> = identities.into_iter().flatten().collect();
    let observer = http
        .enroll(&base, &plan.observer_code, "loadgen fresh device")
        .await?;
    let probe = http
        .enroll(&base, &plan.probe_code, "loadgen probe")
        .await?;

    // Every device's changes, built before the clock starts.
    let t = Instant::now();
    let works: Vec<(DeviceWork, workload::LastDoc)> = {
        let ids = identities.clone();
        let (seed, v, vh, vp, gz) = (
            opts.seed,
            opts.visits_per_device,
            opts.visits_per_household,
            opts.visits_per_push,
            opts.gzip,
        );
        tokio::task::spawn_blocking(move || workload::build_all(&ids, seed, v, vh, vp, gz))
            .await??
    };
    report.prebuild_seconds = t.elapsed().as_secs_f64();
    report.server_before_ingest = server.stats();
    report.database_before_ingest = database_stats();
    eprintln!(
        "gocua-loadgen: {} devices enrolled, their changes built in {:.1} s; timed phase starts",
        identities.len(),
        report.prebuild_seconds
    );
    let mut last_doc = None;
    let mut village_changes = vec![0u64; opts.villages];
    let mut works_arc = Vec::with_capacity(works.len());
    for ((w, last), id) in works.into_iter().zip(&identities) {
        report.households += w.households;
        report.visits_planned += w.visits;
        report.changes_planned += w.changes;
        report.change_bytes_planned += w.change_bytes;
        village_changes[id.village] += w.changes;
        if last_doc.is_none() && last.is_some() {
            last_doc = last.map(|l| (l, id.clone()));
        }
        works_arc.push(Arc::new(w));
    }

    // The report's freshness probe: its own village, a visit per push.
    let probe_work = {
        let v = probe
            .villages
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("the probe device was enrolled with no village"))?;
        let id = DeviceIdentity {
            device_id: probe.device_id.clone(),
            token: probe.token.clone(),
            volunteer_id: probe.volunteer_id.clone(),
            team_id: probe.team_id.clone(),
            village: usize::MAX,
            village_id: v.id.clone(),
            village_name: v.name,
            commune_code: probe.commune_code.clone(),
        };
        let seed = opts.seed ^ 0x5eed;
        let gz = opts.gzip;
        let (work, _) =
            tokio::task::spawn_blocking(move || workload::build(&id, seed, 50, 50, 1, gz))
                .await??;
        freshness::Probe {
            http: http.clone(),
            base: base.clone(),
            device_token: probe.token.clone(),
            officer_token: plan.officer_token.clone(),
            village_id: v.id,
            work,
        }
    };

    // The timed phase.
    let push0 = push_proxy.traffic();
    let pull0 = pull_proxy.traffic();
    let start = Instant::now();
    let deadline = start + max;
    let mut set = tokio::task::JoinSet::new();
    for (i, (id, w)) in identities.iter().zip(&works_arc).enumerate() {
        let fut = device_run(
            http.clone(),
            push_proxy.url(),
            pull_proxy.url(),
            id.token.clone(),
            w.clone(),
            !opts.no_pull,
            deadline,
        );
        set.spawn(async move { (i, fut.await) });
    }
    let load_done = Arc::new(AtomicBool::new(false));
    let probing = tokio::spawn(freshness::run(probe_work, load_done.clone(), max));
    let mut runs: Vec<Option<DeviceRun>> = (0..identities.len()).map(|_| None).collect();
    while let Some(j) = set.join_next().await {
        let (i, r) = j?;
        runs[i] = Some(r);
    }
    let elapsed = start.elapsed().as_secs_f64();
    load_done.store(true, Ordering::Relaxed);
    let mut probe_end = 0;
    match probing.await? {
        Ok((ms, end)) => {
            report.report_freshness = Latency::of(ms);
            probe_end = end;
        }
        Err(e) => report.errors.push(format!("report freshness: {e:#}")),
    }
    report.server_after_ingest = server.stats();
    report.database_after_ingest = database_stats();
    eprintln!("gocua-loadgen: timed phase done in {elapsed:.1} s; checking, bootstrapping");
    let runs: Vec<DeviceRun> = runs.into_iter().flatten().collect();
    report.push_traffic = push_proxy.traffic().since(push0);
    report.pull_traffic = pull_proxy.traffic().since(pull0);
    report.ingest_seconds = elapsed;
    let mut push_ms = Vec::new();
    let mut pull_ms = Vec::new();
    let mut complete = true;
    for (r, w) in runs.iter().zip(&works_arc) {
        push_ms.extend_from_slice(&r.push_ms);
        pull_ms.extend_from_slice(&r.pull_ms);
        report.visits_stored += r.visits;
        report.changes_stored += r.stored;
        report.duplicates += r.duplicates;
        report.refused += r.refused;
        if r.pushes_done < w.pushes.len() {
            complete = false;
        }
        if let Some(e) = &r.error
            && report.errors.len() < 20
        {
            report.errors.push(e.clone());
        }
    }
    report.ingest_complete = complete && report.errors.is_empty();
    report.push_latency = Latency::of(push_ms);
    report.pull_latency = Latency::of(pull_ms);
    report.visits_per_second = report.visits_stored as f64 / elapsed.max(1e-9);
    report.changes_per_second = report.changes_stored as f64 / elapsed.max(1e-9);
    let visits = report.visits_stored.max(1) as f64;
    report.push_bytes_per_visit = report.push_traffic.total() as f64 / visits;
    report.wire_bytes_per_visit =
        (report.push_traffic.total() + report.pull_traffic.total()) as f64 / visits;

    // Every device pulls to the end and must hold every change of its village.
    let other0 = other_proxy.traffic();
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (id, r) in identities.iter().zip(&runs) {
        // The server does not send a device its own changes back.
        let (http, base, token, cursor, village, pulled) = (
            http.clone(),
            base.clone(),
            id.token.clone(),
            r.cursor,
            id.village,
            r.pulled + r.stored,
        );
        set.spawn(async move {
            let got = pull_to_end(&http, &base, &token, cursor).await;
            (village, pulled, got)
        });
    }
    let mut all_there = true;
    let mut catch_requests = 0;
    while let Some(j) = set.join_next().await {
        let (village, pulled, got) = j?;
        let (_, changes, requests) = got?;
        catch_requests += requests;
        if pulled + changes != village_changes[village] {
            all_there = false;
        }
    }
    report.catch_up_pull = Exchange::of(
        other_proxy.traffic().since(other0),
        catch_requests,
        t.elapsed().as_secs_f64(),
    );
    report.every_device_has_its_villages_changes = all_there && report.ingest_complete;

    // The materializer catches up: the probe device's (empty) bootstrap says
    // how far it got.
    // The log's end, as a feed position: the observer's last (it serves
    // every village but the probe's), or the probe's last push.
    let (observer_end, _, _) = pull_to_end(&http, &base, &observer.token, 0).await?;
    let log_end = observer_end.max(probe_end);
    let t = Instant::now();
    let wait_until = Instant::now() + max;
    loop {
        let page = http.bootstrap(&base, &probe.token).await?;
        if page.cursor >= log_end {
            report.materializer_lag_seconds = Some(t.elapsed().as_secs_f64());
            break;
        }
        if Instant::now() >= wait_until {
            report.errors.push(format!(
                "the materializer was at {} of {log_end} after {max:?}",
                page.cursor
            ));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    report.server_after_materializer = server.stats();
    report.database_after_materializer = database_stats();

    // The pull feed's cost alone: the whole log from the start, on a quiet server.
    let quiet = Proxy::balancing(server.addrs.clone()).await?;
    let t = Instant::now();
    let (_, changes, requests) = pull_to_end(&http, &quiet.url(), &observer.token, 0).await?;
    report.full_pull = Exchange::of(quiet.traffic(), requests, t.elapsed().as_secs_f64());
    report.full_pull_changes = changes;
    report.server_after_full_pull = server.stats();

    // A fresh device of every village bootstraps, then pulls to the end.
    let quiet = Proxy::balancing(server.addrs.clone()).await?;
    let qbase = quiet.url();
    let t0 = quiet.traffic();
    let t = Instant::now();
    let page = http.bootstrap(&qbase, &observer.token).await?;
    let (_, after, requests) = pull_to_end(&http, &qbase, &observer.token, page.cursor).await?;
    report.fresh_bootstrap = Exchange::of(
        quiet.traffic().since(t0),
        1 + requests,
        t.elapsed().as_secs_f64(),
    );
    report.fresh_bootstrap_documents = page.docs.len() as u64;
    report.server_after_bootstrap = server.stats();
    if after > 0 {
        report
            .errors
            .push(format!("{after} changes after the bootstrap's cursor"));
    }
    let docs = page.docs;
    report.fresh_bootstrap_visits =
        tokio::task::spawn_blocking(move || counted_visits(&docs)).await??;
    report.fresh_bootstrap_bytes_per_household =
        report.fresh_bootstrap.bytes_total as f64 / report.households.max(1) as f64;

    // An idle sync: one pull with nothing new, by the device holding everything.
    let quiet = Proxy::balancing(server.addrs.clone()).await?;
    let t = Instant::now();
    let (_, changes, requests) =
        pull_to_end(&http, &quiet.url(), &observer.token, observer_end).await?;
    report.idle_pull = Exchange::of(quiet.traffic(), requests, t.elapsed().as_secs_f64());
    if changes > 0 {
        report
            .errors
            .push(format!("idle pull returned {changes} changes"));
    }

    // One new visit in an existing household, pushed alone on a new connection.
    if let Some((last, id)) = last_doc {
        let body = workload::one_more_visit(last, &id, opts.gzip)?;
        let quiet = Proxy::balancing(server.addrs.clone()).await?;
        let t = Instant::now();
        let r = http.push(&quiet.url(), &id.token, &body).await?;
        report.one_visit_push = Exchange::of(quiet.traffic(), 1, t.elapsed().as_secs_f64());
        if r.stored != 1 {
            report
                .errors
                .push(format!("one visit pushed, {} stored", r.stored));
        }
    }

    if !opts.skip_real_client {
        let code = plan.real_code.clone();
        let store_path = tmp.join("real-device.sqlite");
        let proxy = Proxy::balancing(server.addrs.clone()).await?;
        let counters = proxy.counters.clone();
        let url = proxy.url();
        let real = tokio::task::spawn_blocking(move || {
            server::real_client(&store_path, &url, &code, &counters)
        })
        .await??;
        report.real_client = Some(real);
    }
    Ok(report)
}

fn kib(b: f64) -> String {
    if b >= 1024.0 * 1024.0 {
        format!("{:.2} MiB", b / 1024.0 / 1024.0)
    } else if b >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{b:.0} B")
    }
}

fn mem(p: &Option<ProcStats>) -> String {
    match p {
        Some(p) => format!(
            "RSS {:.1} MiB, peak {:.1} MiB, CPU {:.1} s",
            p.rss_kib as f64 / 1024.0,
            p.hwm_kib as f64 / 1024.0,
            p.cpu_seconds
        ),
        None => "n/a".into(),
    }
}

fn exchange(e: &Exchange) -> String {
    format!(
        "{} request(s), {} up + {} down = {} in {:.3} s",
        e.requests,
        kib(e.bytes_up as f64),
        kib(e.bytes_down as f64),
        kib(e.bytes_total as f64),
        e.seconds
    )
}

impl Report {
    /// The report for people.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let mut line = |l: String| {
            s.push_str(&l);
            s.push('\n');
        };
        line(format!(
            "{} devices in {} villages, {} households, {} visits ({} changes, {} of change bytes); gzip {}; pulls during ingest {}",
            self.devices,
            self.villages,
            self.households,
            self.visits_planned,
            self.changes_planned,
            kib(self.change_bytes_planned as f64),
            self.gzip,
            self.pulls_during_ingest
        ));
        line(format!("server: {} on {}", self.server, self.backend));
        line(format!(
            "changes pre-built in {:.2} s",
            self.prebuild_seconds
        ));
        line(format!(
            "ingest: {} visits ({} changes) in {:.2} s = {:.0} visits/s ({:.0} changes/s){}",
            self.visits_stored,
            self.changes_stored,
            self.ingest_seconds,
            self.visits_per_second,
            self.changes_per_second,
            if self.ingest_complete {
                ""
            } else {
                "  INCOMPLETE"
            }
        ));
        line(format!(
            "  duplicates {}, refused documents {}",
            self.duplicates, self.refused
        ));
        for (what, l) in [("push", &self.push_latency), ("pull", &self.pull_latency)] {
            line(format!(
                "  {what}: {} requests, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                l.requests, l.p50_ms, l.p99_ms, l.max_ms
            ));
        }
        line(format!(
            "  wire: pushes {} up + {} down, pulls {} up + {} down",
            kib(self.push_traffic.up as f64),
            kib(self.push_traffic.down as f64),
            kib(self.pull_traffic.up as f64),
            kib(self.pull_traffic.down as f64)
        ));
        line(format!(
            "  bytes per visit: {:.0} pushing, {:.0} pushing + pulling",
            self.push_bytes_per_visit, self.wire_bytes_per_visit
        ));
        line(format!("catch-up pull: {}", exchange(&self.catch_up_pull)));
        line(format!(
            "every device holds every change of its village: {}",
            self.every_device_has_its_villages_changes
        ));
        line(format!(
            "materializer caught up {}",
            match self.materializer_lag_seconds {
                Some(s) => format!("{s:.2} s after the ingest"),
                None => "NOT within the time limit".into(),
            }
        ));
        let f = &self.report_freshness;
        line(format!(
            "indicators count a pushed visit after: {} probes, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            f.requests, f.p50_ms, f.p99_ms, f.max_ms
        ));
        line(format!(
            "fresh device, every village: bootstrap {} documents, {} visits: {} ({:.0} B per household)",
            self.fresh_bootstrap_documents,
            self.fresh_bootstrap_visits,
            exchange(&self.fresh_bootstrap),
            self.fresh_bootstrap_bytes_per_household
        ));
        line(format!(
            "full pull from cursor 0, quiet server: {} changes, {}",
            self.full_pull_changes,
            exchange(&self.full_pull)
        ));
        line(format!("idle pull: {}", exchange(&self.idle_pull)));
        line(format!(
            "one visit pushed: {}",
            exchange(&self.one_visit_push)
        ));
        if let Some(r) = &self.real_client {
            line("field-core client (village 1):".into());
            line(format!(
                "  bootstrap sync ({} documents): {}",
                r.bootstrap_documents,
                exchange(&r.bootstrap)
            ));
            line(format!("  idle sync: {}", exchange(&r.idle_sync)));
            line(format!(
                "  one visit, its push request alone: {}",
                exchange(&r.one_visit_push)
            ));
            line(format!(
                "  one visit, whole sync (push + pull): {}",
                exchange(&r.one_visit_sync)
            ));
        }
        line(format!(
            "server at start:             {}",
            mem(&self.server_start)
        ));
        line(format!(
            "server after ingest:         {}",
            mem(&self.server_after_ingest)
        ));
        line(format!(
            "server after materializer:   {}",
            mem(&self.server_after_materializer)
        ));
        line(format!(
            "server after full pull:      {}",
            mem(&self.server_after_full_pull)
        ));
        line(format!(
            "server after bootstrap:      {}",
            mem(&self.server_after_bootstrap)
        ));
        line(format!(
            "server at end:               {}",
            mem(&self.server_end)
        ));
        line(format!(
            "load generator at end:       {}",
            mem(&self.loadgen_end)
        ));
        if self.database_start.is_some() {
            line(format!(
                "database at start:           {}",
                mem(&self.database_start)
            ));
            line(format!(
                "database after ingest:       {}",
                mem(&self.database_after_ingest)
            ));
            line(format!(
                "database after materializer: {}",
                mem(&self.database_after_materializer)
            ));
        }
        let (replica_ms, db_ms) = self.cpu_ms_per_visit();
        let ms = |v: Option<f64>| v.map_or("not measured".to_string(), |v| format!("{v:.2} ms"));
        line(format!(
            "CPU per visit, timed phase until the materializer caught up: server {}, database {}",
            ms(replica_ms),
            ms(db_ms)
        ));
        for e in &self.errors {
            line(format!("error: {e}"));
        }
        s
    }
}
