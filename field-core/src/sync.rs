//! The sync client: enrollment, then pull-then-push against the sync server
//! (docs/protocol.md). Blocking, for the app's worker thread and the CLI.
//!
//! Every step is resumable: the outbox loses a change only once the server has
//! acknowledged it, and each pulled page is applied together with its cursor.
//! Network errors and 5xx answers are retried with exponential backoff.

use std::io::Write;
use std::time::Duration;

use gocua_protocol::{
    BUNDLE_CONTENT_TYPE, EnrollRequest, EnrollResponse, ErrorBody, HEADER_APP_VERSION,
    HEADER_CURSOR, HEADER_MORE, HEADER_PROTOCOL, PROTOCOL_VERSION, PushResponse, Refusal, bundle,
    codes, paths,
};
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Identity;
use crate::store::Store;

/// What every request says it is in `gocua-app-version` (the operator's
/// `admin devices list` shows it): this library's version, which the CLI
/// and the phone app are built with.
pub const APP_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Changes per push request, and about how many bytes.
const PUSH_BATCH: usize = 2_000;
const PUSH_BYTES: usize = 2 * 1024 * 1024;
const PULL_LIMIT: u32 = 2_000;

/// How a sync goes, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncPhase {
    Push,
    Bootstrap,
    Pull,
}

/// Told about progress during [`sync`]; `total` is 0 when unknown.
pub trait SyncObserver {
    fn progress(&self, phase: SyncPhase, done: u64, total: u64);

    /// The server could not be reached (or was busy) on try `attempt`: try
    /// `attempt + 1` of `attempts` follows after a pause. Called before the
    /// pause, so that a person waiting is told at once.
    fn retrying(&self, _attempt: u32, _attempts: u32) {}

    /// Asked before every request and during pauses: true stops the sync
    /// there with [`Error::Cancelled`]. What was pulled or pushed before
    /// stays done; the next sync resumes after it.
    fn cancelled(&self) -> bool {
        false
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub sent: u64,
    pub already_on_server: u64,
    pub refused: Vec<Refusal>,
    /// Changes of this device the server could not apply and keeps aside for
    /// the operator (damaged or crafted).
    #[serde(default)]
    pub quarantined_by_server: u64,
    pub received: u64,
    pub documents_updated: u64,
    pub conflicts: u64,
    /// Received changes set aside because they could not be applied.
    #[serde(default)]
    pub quarantined: u64,
    /// Received changes waiting for the changes they depend on.
    #[serde(default)]
    pub waiting: u64,
    /// This device's unsent changes made again under a new actor, because
    /// another copy of its store (a restore from a backup, a clone) had used
    /// the same change numbers. Nothing recorded is lost.
    #[serde(default)]
    pub reissued: u64,
    /// The store found it was not the only copy of itself and took a new actor.
    #[serde(default)]
    pub actor_renewed: bool,
    pub bootstrapped: bool,
    /// The server was restored from a backup older than this device's last
    /// sync (it answered `cursor_expired`): the device bootstrapped again
    /// and offered the server every change it lacked.
    #[serde(default)]
    pub server_restored: bool,
    /// Changes offered again then, sent once already to the server as it
    /// was before its restore.
    #[serde(default)]
    pub offered_again: u64,
    /// Villages the operator added to this device's team (or the team it
    /// moved to) since the last sync, by name: households can be recorded
    /// there now.
    #[serde(default)]
    pub villages_gained: Vec<String>,
    /// Villages this device no longer serves. Its households there stay on
    /// the device, shown as outside its villages.
    #[serde(default)]
    pub villages_lost: Vec<String>,
    pub requests: u64,
    pub retries: u64,
    pub cursor: u64,
}

/// How hard to try before giving up on the network.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
    pub timeout: Duration,
    /// How long to wait for a connection: short, so that a device without a
    /// network says so within seconds instead of looking stuck.
    pub connect_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

struct Http<'o> {
    client: Client,
    base: String,
    token: Option<String>,
    policy: RetryPolicy,
    requests: u64,
    retries: u64,
    observer: Option<&'o dyn SyncObserver>,
}

fn network(e: impl std::fmt::Display) -> Error {
    Error::Network(e.to_string())
}

/// `url` as a server's base address: http or https with a host; anything
/// else (a missing `http://` most often) is refused before any request.
pub fn check_server_url(url: &str) -> Result<String> {
    let trimmed = url.trim().trim_end_matches('/');
    match reqwest::Url::parse(trimmed) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            Ok(trimmed.to_string())
        }
        _ => Err(Error::BadServerUrl(url.trim().to_string())),
    }
}

impl<'o> Http<'o> {
    fn new(
        base: &str,
        token: Option<String>,
        policy: RetryPolicy,
        observer: Option<&'o dyn SyncObserver>,
    ) -> Result<Http<'o>> {
        let base = check_server_url(base)?;
        let client = Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.connect_timeout)
            .build()
            .map_err(network)?;
        Ok(Http {
            client,
            base,
            token,
            policy,
            requests: 0,
            retries: 0,
            observer,
        })
    }

    /// Sends the request `make` builds, retrying network errors and 5xx/429.
    fn check_cancelled(&self) -> Result<()> {
        if self.observer.is_some_and(|o| o.cancelled()) {
            return Err(Error::Cancelled);
        }
        Ok(())
    }

    fn send(&mut self, make: impl Fn(&Client, &str) -> RequestBuilder) -> Result<Response> {
        let mut delay = self.policy.first_delay;
        let mut attempt = 0;
        loop {
            self.check_cancelled()?;
            attempt += 1;
            self.requests += 1;
            let mut req = make(&self.client, &self.base)
                .header(HEADER_PROTOCOL, PROTOCOL_VERSION.to_string())
                .header(HEADER_APP_VERSION, APP_VERSION);
            if let Some(t) = &self.token {
                req = req.bearer_auth(t);
            }
            let retryable = match req.send() {
                Ok(resp) => {
                    let s = resp.status();
                    // 304 answers a request that sent `If-None-Match`.
                    if s.is_success() || s == StatusCode::NOT_MODIFIED {
                        return Ok(resp);
                    }
                    if !(s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS) {
                        return Err(server_error(resp));
                    }
                    server_error(resp)
                }
                Err(e) => {
                    // The request error's text (English, technical) is for the log;
                    // the person is told the server could not be reached.
                    tracing::debug!(error = %e, attempt, "request failed");
                    Error::Unreachable {
                        url: self.base.clone(),
                        attempts: attempt,
                    }
                }
            };
            if attempt >= self.policy.attempts {
                return Err(retryable);
            }
            tracing::debug!(attempt, error = %retryable, "retrying after {delay:?}");
            if let Some(o) = self.observer {
                o.retrying(attempt, self.policy.attempts);
            }
            self.retries += 1;
            // In short steps: a cancel is heard during the pause too.
            let until = std::time::Instant::now() + delay;
            while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
                self.check_cancelled()?;
                std::thread::sleep(left.min(Duration::from_millis(100)));
            }
            delay = (delay * 2).min(self.policy.max_delay);
        }
    }
}

fn server_error(resp: Response) -> Error {
    let status = resp.status().as_u16();
    let body: Option<ErrorBody> = resp.json().ok();
    match body {
        Some(b) if b.error == codes::DEVICE_REVOKED => Error::Revoked {
            wipe: b.reason.as_deref() == Some(gocua_protocol::reasons::WIPE),
            message: b.message,
        },
        Some(b) => Error::Server {
            status,
            code: b.error,
            message: b.message,
            reason: b.reason,
        },
        None => Error::Server {
            status,
            code: String::new(),
            message: format!("HTTP {status}"),
            reason: None,
        },
    }
}

fn gzip(body: Vec<u8>) -> (Vec<u8>, bool) {
    if body.len() <= gocua_protocol::COMPRESS_OVER {
        return (body, false);
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    match enc.write_all(&body).and_then(|_| enc.finish()) {
        Ok(z) if z.len() < body.len() => (z, true),
        _ => (body, false),
    }
}

fn header_u64(resp: &Response, name: &str) -> Option<u64> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Enrolls this device with a one-time code and takes its identity.
pub fn enroll(store: &Store, server_url: &str, code: &str, device_name: &str) -> Result<Identity> {
    enroll_observed(store, server_url, code, device_name, None)
}

/// [`enroll`], telling `observer` of retries.
pub fn enroll_observed(
    store: &Store,
    server_url: &str,
    code: &str,
    device_name: &str,
    observer: Option<&dyn SyncObserver>,
) -> Result<Identity> {
    let mut http = Http::new(server_url, None, RetryPolicy::default(), observer)?;
    let req = EnrollRequest {
        code: code.trim().to_string(),
        device_name: device_name.to_string(),
        // The same id on every retry below: a lost answer does not burn the code.
        request_id: Some(uuid::Uuid::now_v7().to_string()),
    };
    let resp = http.send(|c, base| c.post(format!("{base}{}", paths::ENROLL)).json(&req))?;
    let e: EnrollResponse = resp.json().map_err(network)?;
    let identity = store.enroll_with(&http.base, &e)?;
    store.set_device_name(device_name)?;
    Ok(identity)
}

/// Sends the outbox (what is not marked refused) in batches.
fn push_outbox(
    store: &Store,
    http: &mut Http<'_>,
    report: &mut SyncReport,
    progress: &dyn Fn(SyncPhase, u64, u64),
) -> Result<()> {
    let total = store.pending_changes()?.max(0) as u64;
    let mut done = 0;
    loop {
        let batch = store.outbox_batch(PUSH_BATCH, PUSH_BYTES)?;
        if batch.hashes.is_empty() {
            return Ok(());
        }
        let (body, compressed) = gzip(bundle::encode(&batch.docs));
        // The pending changes left once the batch is stored.
        let left = (store.pending_changes()?.max(0) as u64)
            .saturating_sub(batch.hashes.len() as u64)
            .to_string();
        let resp = http.send(|c, base| {
            let r = c
                .post(format!("{base}{}", paths::PUSH))
                .header(reqwest::header::CONTENT_TYPE, BUNDLE_CONTENT_TYPE)
                .header(gocua_protocol::HEADER_PENDING, &left)
                .body(body.clone());
            if compressed {
                r.header(reqwest::header::CONTENT_ENCODING, "gzip")
            } else {
                r
            }
        })?;
        let answer: PushResponse = resp.json().map_err(network)?;
        for r in &answer.refused {
            store.mark_refused(&r.doc_id, &format!("{}: {}", r.code, r.message))?;
        }
        let acked: Vec<String> = batch
            .hashes
            .iter()
            .filter(|(doc, _)| !answer.refused.iter().any(|r| &r.doc_id == doc))
            .map(|(_, h)| h.clone())
            .collect();
        store.acknowledge(&acked)?;
        if answer.last_seq > 0 {
            store.note_pushed(answer.last_seq)?;
        }
        report.sent += answer.stored;
        report.already_on_server += answer.duplicates;
        report.quarantined_by_server += answer.quarantined;
        report.refused.extend(answer.refused);
        done += batch.hashes.len() as u64;
        progress(SyncPhase::Push, done, total.max(done));
    }
}

/// Pull then push. Safe to interrupt at any point and run again.
pub fn sync(store: &Store, observer: Option<&dyn SyncObserver>) -> Result<SyncReport> {
    sync_with(store, observer, RetryPolicy::default())
}

pub fn sync_with(
    store: &Store,
    observer: Option<&dyn SyncObserver>,
    policy: RetryPolicy,
) -> Result<SyncReport> {
    let settings = store.sync_settings()?.ok_or(Error::NotEnrolled)?;
    let mut http = Http::new(&settings.server_url, Some(settings.token), policy, observer)?;
    match exchange(store, &mut http, observer) {
        Err(Error::Revoked { wipe: true, .. }) => report_and_wipe(store, &mut http),
        other => other,
    }
}

/// A lost or stolen phone: the operator revoked it and asked for its data to
/// be wiped. What it had not sent goes to the server first (kept aside for
/// the operator); only once the server has all of it is the store wiped.
/// Without a network the data stays, and the next sync tries again.
fn report_and_wipe(store: &Store, http: &mut Http<'_>) -> Result<SyncReport> {
    let mut after = 0;
    let mut reported = 0;
    loop {
        let (batch, last) = store.unsent_batch(after, PUSH_BATCH, PUSH_BYTES)?;
        if batch.hashes.is_empty() {
            break;
        }
        let (body, compressed) = gzip(bundle::encode(&batch.docs));
        let sent = http.send(|c, base| {
            let r = c
                .post(format!("{base}{}", paths::UNSENT))
                .header(reqwest::header::CONTENT_TYPE, BUNDLE_CONTENT_TYPE)
                .body(body.clone());
            if compressed {
                r.header(reqwest::header::CONTENT_ENCODING, "gzip")
            } else {
                r
            }
        });
        let answer: gocua_protocol::UnsentResponse = match sent {
            Ok(resp) => resp.json().map_err(network)?,
            Err(e) => {
                tracing::warn!(error = %e, "could not report the unsent changes: the data stays");
                return Err(Error::Revoked {
                    message: e.to_string(),
                    wipe: true,
                });
            }
        };
        if answer.changes != batch.hashes.len() as u64 {
            return Err(Error::Network(format!(
                "the server took {} of {} unsent changes: the data stays",
                answer.changes,
                batch.hashes.len()
            )));
        }
        reported += answer.changes;
        after = last;
    }
    store.wipe_local_data()?;
    tracing::warn!(reported, "revoked with a wipe: the store's data was wiped");
    Err(Error::Wiped { reported })
}

/// Pull then push, over `http`.
fn exchange(
    store: &Store,
    http: &mut Http<'_>,
    observer: Option<&dyn SyncObserver>,
) -> Result<SyncReport> {
    let mut report = SyncReport::default();
    let progress = |phase: SyncPhase, done: u64, total: u64| {
        if let Some(o) = observer {
            o.progress(phase, done, total);
        }
    };

    // Pull first: what another copy of this store (a restore from a backup,
    // a clone) pushed comes back before this one pushes, so its own changes
    // numbered the same way are reissued under a new actor, not refused.
    // Bootstrap a device that never pulled, from snapshots.
    let mut cursor = match store.pull_cursor()? {
        Some(c) => c,
        None => {
            let resp = http.send(|c, base| c.get(format!("{base}{}", paths::BOOTSTRAP)))?;
            let next = header_u64(&resp, HEADER_CURSOR).unwrap_or(0);
            let bytes = resp.bytes().map_err(network)?;
            let r = store.apply_pulled(&bytes, next)?;
            report.reissued += r.reissued;
            report.actor_renewed |= r.actor_renewed;
            report.bootstrapped = true;
            report.documents_updated += r.documents;
            report.received += r.changes_applied;
            report.conflicts += r.conflicts;
            report.quarantined += r.quarantined;
            report.waiting += r.waiting;
            progress(SyncPhase::Bootstrap, r.documents, r.documents);
            next
        }
    };

    // The assignment's tag the server sends with each pull page.
    let mut assignment = None;
    // Pull.
    loop {
        let url_cursor = cursor;
        // Own changes stored after what this store pushed come back: another
        // copy of it pushed them.
        let mine = store
            .own_through()?
            .map(|p| format!("&mine_after={p}"))
            .unwrap_or_default();
        let pending = store.pending_changes()?.max(0).to_string();
        let sent = http.send(|c, base| {
            c.get(format!(
                "{base}{}?cursor={url_cursor}&limit={PULL_LIMIT}{mine}",
                paths::PULL
            ))
            .header(gocua_protocol::HEADER_PENDING, &pending)
        });
        let resp = match sent {
            Ok(r) => r,
            // Once: a server that refuses the cursor its own bootstrap gave
            // is broken, and saying so beats asking for ever.
            Err(Error::Server { code, .. })
                if code == codes::CURSOR_EXPIRED && !report.server_restored =>
            {
                cursor = rejoin(store, http, &mut report, &progress)?;
                continue;
            }
            Err(e) => return Err(e),
        };
        let next = header_u64(&resp, HEADER_CURSOR).unwrap_or(cursor);
        let more = header_u64(&resp, HEADER_MORE) == Some(1);
        if let Some(tag) = resp
            .headers()
            .get(gocua_protocol::HEADER_ASSIGNMENT)
            .and_then(|v| v.to_str().ok())
        {
            assignment = Some(tag.to_string());
        }
        let bytes = resp.bytes().map_err(network)?;
        let r = store.apply_pulled(&bytes, next)?;
        report.reissued += r.reissued;
        report.actor_renewed |= r.actor_renewed;
        report.received += r.changes_applied;
        report.documents_updated += r.documents;
        report.conflicts += r.conflicts;
        report.quarantined += r.quarantined;
        report.waiting += r.waiting;
        progress(SyncPhase::Pull, next, 0);
        if !more || next <= cursor {
            cursor = next;
            break;
        }
        cursor = next;
    }
    // The team's villages changed since this device last heard (or it never
    // asked): taken before pushing, so what was recorded is judged by them.
    if let Some(tag) = assignment
        && store.assignment_tag()?.as_deref() != Some(tag.as_str())
    {
        take_assignment(store, http, &mut report)?;
    }
    // Push. Documents refused for a reason that may pass (dependencies the
    // server had not received yet, change numbers another copy of this store
    // used) are offered again once per sync.
    store.reoffer_refused(gocua_protocol::RETRYABLE_REFUSALS)?;
    push_outbox(store, http, &mut report, &progress)?;

    report.cursor = cursor;
    report.requests = http.requests;
    report.retries = http.retries;
    store.set_last_sync_at(&crate::validate::now_utc())?;
    Ok(report)
}

/// The team, commune and villages the server has for this device now: an
/// operator's edit of the team reaches the phone at its next sync, without
/// enrolling again. Asked only when a pull's tag says they changed.
fn take_assignment(store: &Store, http: &mut Http<'_>, report: &mut SyncReport) -> Result<()> {
    let held = store.assignment_tag()?;
    let sent = http.send(|c, base| {
        let r = c.get(format!("{base}{}", paths::ASSIGNMENT));
        match &held {
            Some(tag) => r.header(reqwest::header::IF_NONE_MATCH, tag),
            None => r,
        }
    });
    let resp = match sent {
        Ok(r) => r,
        // A server from before the assignment was asked for: the one taken
        // at enrollment stands.
        Err(Error::Server { status: 404, .. }) => {
            tracing::debug!("the server does not answer the assignment: kept as enrolled");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if resp.status() == StatusCode::NOT_MODIFIED {
        return Ok(());
    }
    let tag = resp
        .headers()
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let assignment: gocua_protocol::Assignment = resp.json().map_err(network)?;
    let change = store.take_assignment(&assignment, tag.as_deref())?;
    if !(change.gained.is_empty() && change.lost.is_empty()) {
        tracing::info!(gained = ?change.gained, lost = ?change.lost, "the device's villages changed");
    }
    report.villages_gained = change.gained;
    report.villages_lost = change.lost;
    Ok(())
}

/// The server answered `cursor_expired`: it was restored from a backup
/// taken before this device's last sync, and lost what came after. A fresh
/// bootstrap, and every change of this store it lacks back in the outbox
/// (`Store::rejoin`); returns the bootstrap's cursor.
fn rejoin(
    store: &Store,
    http: &mut Http<'_>,
    report: &mut SyncReport,
    progress: &dyn Fn(SyncPhase, u64, u64),
) -> Result<u64> {
    tracing::warn!("the server does not know this device's cursor: it was restored from a backup");
    let resp = http.send(|c, base| c.get(format!("{base}{}", paths::BOOTSTRAP)))?;
    let next = header_u64(&resp, HEADER_CURSOR).unwrap_or(0);
    let bytes = resp.bytes().map_err(network)?;
    let done = store.rejoin(&bytes, next)?;
    let r = done.report;
    report.server_restored = true;
    report.offered_again += done.offered_again;
    report.reissued += r.reissued;
    report.actor_renewed |= r.actor_renewed;
    report.bootstrapped = true;
    report.documents_updated += r.documents;
    report.received += r.changes_applied;
    report.conflicts += r.conflicts;
    report.quarantined += r.quarantined;
    report.waiting += r.waiting;
    progress(SyncPhase::Bootstrap, r.documents, r.documents);
    Ok(next)
}

/// What [`download`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Downloaded {
    pub path: String,
    pub bytes: u64,
    /// The cursor to ask an extract from next time (`since`), when given.
    pub cursor: Option<u64>,
}

/// Downloads what an officer's account reads at `path` with `query` (the
/// indicators, an extract: docs/reports.md) into `out`, through
/// `out.partial` renamed once complete, so that an interrupted or refused
/// download leaves nothing under `out`. `progress` gets the bytes so far and
/// the total when the server says it.
pub fn download(
    server_url: &str,
    token: &str,
    path: &str,
    query: &[(&str, String)],
    out: &std::path::Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Downloaded> {
    download_observed(server_url, token, path, query, out, progress, None)
}

/// [`download`], telling `observer` of retries.
pub fn download_observed(
    server_url: &str,
    token: &str,
    path: &str,
    query: &[(&str, String)],
    out: &std::path::Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
    observer: Option<&dyn SyncObserver>,
) -> Result<Downloaded> {
    use std::io::Read;
    // An extract of a province is made before its first byte is sent.
    let policy = RetryPolicy {
        attempts: 3,
        timeout: Duration::from_secs(30 * 60),
        ..RetryPolicy::default()
    };
    let mut http = Http::new(server_url, Some(token.trim().to_string()), policy, observer)?;
    let url = reqwest::Url::parse_with_params(&format!("{}{path}", http.base), query)
        .map_err(|_| Error::BadServerUrl(server_url.trim().to_string()))?;
    let mut resp = http.send(|c, _| c.get(url.clone()))?;
    let cursor = header_u64(&resp, HEADER_CURSOR);
    let total = resp.content_length();
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    let partial = out.with_file_name(name);
    let io = |p: &std::path::Path, e: std::io::Error| Error::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    let written = (|| -> Result<u64> {
        let mut file = std::fs::File::create(&partial).map_err(|e| io(&partial, e))?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut bytes = 0u64;
        loop {
            let n = resp.read(&mut buf).map_err(network)?;
            if n == 0 {
                break;
            }
            file.write_all(&buf[..n]).map_err(|e| io(&partial, e))?;
            bytes += n as u64;
            progress(bytes, total);
        }
        file.sync_all().map_err(|e| io(&partial, e))?;
        if total.is_some_and(|t| t != bytes) {
            return Err(Error::Network(format!(
                "the download stopped after {bytes} of {} bytes",
                total.unwrap_or_default()
            )));
        }
        std::fs::rename(&partial, out).map_err(|e| io(out, e))?;
        Ok(bytes)
    })();
    match written {
        Ok(bytes) => Ok(Downloaded {
            path: out.display().to_string(),
            bytes,
            cursor,
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}
