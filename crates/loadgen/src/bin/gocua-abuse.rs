//! Tries the sync server as an attacker would, on loopback, and says how it
//! held: a flood of wrong enrollment codes, thousands of connections holding
//! half-sent headers, many large pushes at once. Starts its own `gocua-server`
//! on a fresh SQLite database for each scenario and ends by itself. The
//! server child inherits this process's environment, so
//! `GOCUA_BODY_BUDGET_BYTES=4294967295 gocua-abuse --only big-pushes` shows
//! the server without its body budget.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use gocua_loadgen::server::{self, ProcStats, Server};
use gocua_protocol::{BUNDLE_CONTENT_TYPE, EnrollRequest, EnrollResponse, HEADER_PROTOCOL, paths};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    WrongCodes,
    SlowHeaders,
    BigPushes,
}

#[derive(Debug, Parser)]
#[command(
    name = "gocua-abuse",
    version,
    about = "Attacks a fresh gocua-server on loopback and reports how it held"
)]
struct Args {
    /// The gocua-server binary (default: next to this one, then PATH).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Scenarios to run (comma-separated).
    #[arg(long, value_delimiter = ',', default_values = ["wrong-codes", "slow-headers", "big-pushes"])]
    only: Vec<Scenario>,
    /// Wrong enrollment codes sent, 16 at a time.
    #[arg(long, default_value_t = 1000)]
    wrong_codes: usize,
    /// Connections opened that send half a request's headers and stop.
    #[arg(long, default_value_t = 20_000)]
    slow_connections: usize,
    /// Loopback addresses the slow connections come from (127.0.1.1 on),
    /// spread evenly: one address meets the per-address limit, many the
    /// server's whole connection cap.
    #[arg(long, default_value_t = 1)]
    slow_addresses: u8,
    /// Pushes sent at once by one enrolled device.
    #[arg(long, default_value_t = 150)]
    big_pushes: usize,
    /// Bytes of each big push (the server's default max_body_bytes).
    #[arg(long, default_value_t = 8 * 1024 * 1024)]
    push_bytes: usize,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let bin = server::find_server_bin(args.server_bin.as_deref())?;
    for scenario in &args.only {
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("gocua-server.sqlite");
        // Units, a village, a team and a device's code, as an operator would.
        let plan = server::setup(&db, 1, 1)?;
        let server_args = vec!["--data-dir".to_string(), dir.path().display().to_string()];
        let server = Server::spawn_with_env(&bin, &server_args, 1, &[]).await?;
        let base = format!("http://{}", server.addrs[0]);
        server.wait_healthy(&base, Duration::from_secs(60)).await?;
        match scenario {
            Scenario::WrongCodes => wrong_codes(&args, &server, &base, &db).await?,
            Scenario::SlowHeaders => slow_headers(&args, &server, &base).await?,
            Scenario::BigPushes => {
                big_pushes(&args, &server, &base, &plan.device_codes[0].0).await?
            }
        }
        server.stop().await;
    }
    Ok(())
}

fn mem(s: Option<ProcStats>) -> String {
    match s {
        Some(s) => format!(
            "RSS {:.1} MiB (peak {:.1} MiB)",
            s.rss_kib as f64 / 1024.0,
            s.hwm_kib as f64 / 1024.0
        ),
        None => "not measured".into(),
    }
}

fn open_files(server: &Server) -> usize {
    server
        .pids()
        .iter()
        .map(|p| std::fs::read_dir(format!("/proc/{p}/fd")).map_or(0, |d| d.count()))
        .sum()
}

async fn wrong_codes(args: &Args, server: &Server, base: &str, db: &std::path::Path) -> Result<()> {
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (client, next, base) = (client.clone(), next.clone(), base.to_string());
        let total = args.wrong_codes as u64;
        tasks.push(tokio::spawn(async move {
            let mut statuses = BTreeMap::<u16, u64>::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return statuses;
                }
                let r = client
                    .post(format!("{base}{}", paths::ENROLL))
                    .header(HEADER_PROTOCOL, "2")
                    .json(&EnrollRequest {
                        code: format!("WRONG-{i:06}"),
                        device_name: "attacker".into(),
                        request_id: None,
                    })
                    .send()
                    .await;
                let status = r.map_or(0, |r| r.status().as_u16());
                *statuses.entry(status).or_default() += 1;
            }
        }));
    }
    let mut statuses = BTreeMap::<u16, u64>::new();
    for t in tasks {
        for (k, v) in t.await? {
            *statuses.entry(k).or_default() += v;
        }
    }
    let took = started.elapsed().as_secs_f64();
    let config = gocua_server::Config {
        database: db.to_path_buf(),
        ..gocua_server::Config::default()
    };
    let storage = gocua_server::open_database(&config)?;
    let rows = storage.audit_log(1_000_000)?;
    let refused_rows = rows
        .iter()
        .filter(|r| r.entry.action == "enroll_refused")
        .count();
    println!(
        "wrong codes: {} sent in {took:.2} s ({:.0}/s)",
        args.wrong_codes,
        args.wrong_codes as f64 / took
    );
    println!("  answers by status: {statuses:?} (0 = no answer)");
    println!(
        "  audit rows written for them so far: {refused_rows} (a flood's summary follows within a minute)"
    );
    println!("  server: {}", mem(server.stats()));
    Ok(())
}

async fn slow_headers(args: &Args, server: &Server, base: &str) -> Result<()> {
    let limit =
        rlimit::increase_nofile_limit(u64::MAX).context("cannot raise the open-file limit")?;
    if (limit as usize) < args.slow_connections + 64 {
        bail!(
            "this process may open {limit} files, fewer than {} connections: raise `ulimit -n`",
            args.slow_connections
        );
    }
    let addr = server.addrs[0];
    println!("slow headers: server before: {}", mem(server.stats()));
    let started = Instant::now();
    let mut opening = Vec::new();
    let sources = args.slow_addresses.max(1);
    for i in 0..args.slow_connections {
        let from = IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            1,
            1 + (i % usize::from(sources)) as u8,
        ));
        opening.push(tokio::spawn(async move {
            let socket = TcpSocket::new_v4().ok()?;
            socket.bind(SocketAddr::new(from, 0)).ok()?;
            let mut t = tokio::time::timeout(Duration::from_secs(3), socket.connect(addr))
                .await
                .ok()?
                .ok()?;
            t.write_all(b"GET /v1/info HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .await
                .ok()?;
            Some(t)
        }));
    }
    let mut held = Vec::new();
    for o in opening {
        if let Some(t) = o.await? {
            held.push(t);
        }
    }
    println!(
        "slow headers: {} of {} connections from {sources} address(es) opened in {:.1} s, each holding half a request",
        held.len(),
        args.slow_connections,
        started.elapsed().as_secs_f64()
    );
    println!(
        "  server: {} open files, {}",
        open_files(server),
        mem(server.stats())
    );
    // A device arriving now, from an address of its own (127.0.0.2).
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(90))
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .build()?;
    let t = Instant::now();
    let r = client.get(format!("{base}{}", paths::INFO)).send().await;
    match r {
        Ok(r) => println!(
            "  a device's request meanwhile, from another address: HTTP {} after {:.2} s",
            r.status().as_u16(),
            t.elapsed().as_secs_f64()
        ),
        Err(e) => println!(
            "  a device's request meanwhile, from another address: failed after {:.2} s: {e}",
            t.elapsed().as_secs_f64()
        ),
    }
    // How many the server closed by now.
    let mut closed = 0;
    for t in &mut held {
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(1), t.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            Ok(Ok(_)) => {
                // A 408 answer before the close counts as closed.
                closed += 1;
            }
            Err(_) => {}
        }
    }
    println!(
        "  {closed} of {} held connections closed by the server {:.1} s after they opened",
        held.len(),
        started.elapsed().as_secs_f64()
    );
    drop(held);
    println!(
        "  server after they went: {} open files, {}",
        open_files(server),
        mem(server.stats())
    );
    // An allocator may give freed pages back on a timer (jemalloc's decay
    // is 10 s), not at the moment they are freed.
    tokio::time::sleep(Duration::from_secs(15)).await;
    println!("  server 15 s later: {}", mem(server.stats()));
    Ok(())
}

async fn big_pushes(args: &Args, server: &Server, base: &str, code: &str) -> Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()?;
    let r = client
        .post(format!("{base}{}", paths::ENROLL))
        .header(HEADER_PROTOCOL, "2")
        .json(&EnrollRequest {
            code: code.to_string(),
            device_name: "pusher".into(),
            request_id: None,
        })
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("enrollment failed: HTTP {}", r.status());
    }
    let device: EnrollResponse = r.json().await?;
    // Bytes that do not compress and do not parse: read whole, then refused.
    let body = bytes_of(args.push_bytes);
    let before = server.stats();
    let started = Instant::now();
    let peak = Arc::new(AtomicU64::new(0));
    let pids = server.pids();
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                let rss: u64 = pids
                    .iter()
                    .filter_map(|p| server::proc_stats(*p))
                    .map(|s| s.rss_kib)
                    .sum();
                peak.fetch_max(rss, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let mut tasks = Vec::new();
    for _ in 0..args.big_pushes {
        let (client, body, url, token) = (
            client.clone(),
            body,
            format!("{base}{}", paths::PUSH),
            device.token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .header(HEADER_PROTOCOL, "2")
                .header(reqwest::header::CONTENT_TYPE, BUNDLE_CONTENT_TYPE)
                .bearer_auth(token)
                .body(body)
                .send()
                .await;
            r.map_or(0, |r| r.status().as_u16())
        }));
    }
    let mut statuses = BTreeMap::<u16, u64>::new();
    for t in tasks {
        *statuses.entry(t.await?).or_default() += 1;
    }
    let took = started.elapsed().as_secs_f64();
    let during = server.stats();
    // What the server keeps once the pushes are over.
    tokio::time::sleep(Duration::from_secs(5)).await;
    sampler.abort();
    let after = server.stats();
    println!(
        "big pushes: {} pushes of {:.1} MiB at once, answered in {took:.1} s",
        args.big_pushes,
        args.push_bytes as f64 / 1048576.0
    );
    println!("  answers by status: {statuses:?} (0 = no answer)");
    println!("  server before: {}", mem(before));
    println!(
        "  server peak RSS sampled every 50 ms: {:.1} MiB; at the last answer {}",
        peak.load(Ordering::Relaxed) as f64 / 1024.0,
        mem(during)
    );
    println!("  server 5 s later: {}", mem(after));
    Ok(())
}

/// Deterministic bytes that gzip cannot shrink and that are no bundle; kept
/// for the whole run, so every push sends them without a copy.
fn bytes_of(n: usize) -> &'static [u8] {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        v.extend_from_slice(&state.to_le_bytes());
    }
    v.truncate(n);
    Vec::leak(v)
}
