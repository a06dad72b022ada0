//! What the operator watches (docs/operations.md, "Metrics" and "Logs"):
//! Prometheus metrics, served on a listener of their own (`metrics_listen`),
//! never on the API's port; and one log event per request.
//!
//! Requests are labelled by their route's template (`/v1/pull`), never by
//! the path sent: a client choosing paths would otherwise choose how many
//! series Prometheus keeps.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::body_budget::BodyBudget;
use crate::serve::ConnCount;
use crate::storage::{Principal, Storage};

/// Where Prometheus scrapes, on the metrics listener.
pub const METRICS_PATH: &str = "/metrics";

/// The route label of a request no route matched (a 404 for a path the
/// server does not have).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The status recorded for a request whose client went away before it was
/// answered (nginx's 499).
pub const CLIENT_CLOSED: u16 = 499;

/// The text format's media type.
const OPENMETRICS_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How many connections of each kind the database has, for the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUse {
    /// `sqlite_writer`, `sqlite_reader` or `postgres`.
    pub pool: &'static str,
    /// Open now.
    pub open: u32,
    /// Open and lent to a request (or the materializer) now.
    pub in_use: u32,
    /// The most this pool opens.
    pub max: u32,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolStateLabels {
    pool: &'static str,
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
}

/// A server's metrics. One per [`crate::api::AppState`]: servers started
/// side by side in one process (the tests) count apart.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Family<RouteLabels, Histogram>,
    request_bytes: Family<RouteLabels, Counter>,
    response_bytes: Family<RouteLabels, Counter>,
    in_flight: Gauge,
    refusals: Family<CodeLabels, Counter>,
    enrollments: Family<ResultLabels, Counter>,
    push_batches: Counter,
    push_changes: Family<ResultLabels, Counter>,
    push_refused_documents: Family<CodeLabels, Counter>,
    pull_batches: Counter,
    pull_changes: Counter,
    bootstrap_documents: Counter,
    connections: Gauge,
    body_budget_in_use: Gauge,
    body_budget: Gauge,
    database_up: Gauge,
    log_seq: Gauge,
    materialized_seq: Gauge,
    materializer_lag: Gauge,
    db_connections: Family<PoolStateLabels, Gauge>,
    db_connections_max: Family<PoolLabels, Gauge>,
}

fn duration_histogram() -> Histogram {
    // 1 ms to about 33 s: a push answered from memory to a whole bootstrap
    // over a slow link.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("gocua");
        let m = Metrics {
            requests: Family::default(),
            duration: Family::new_with_constructor(duration_histogram as fn() -> Histogram),
            request_bytes: Family::default(),
            response_bytes: Family::default(),
            in_flight: Gauge::default(),
            refusals: Family::default(),
            enrollments: Family::default(),
            push_batches: Counter::default(),
            push_changes: Family::default(),
            push_refused_documents: Family::default(),
            pull_batches: Counter::default(),
            pull_changes: Counter::default(),
            bootstrap_documents: Counter::default(),
            connections: Gauge::default(),
            body_budget_in_use: Gauge::default(),
            body_budget: Gauge::default(),
            database_up: Gauge::default(),
            log_seq: Gauge::default(),
            materialized_seq: Gauge::default(),
            materializer_lag: Gauge::default(),
            db_connections: Family::default(),
            db_connections_max: Family::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        let info: Family<VersionLabels, Gauge> = Family::default();
        info.get_or_create(&VersionLabels {
            version: crate::api::SERVER_VERSION,
        })
        .set(1);
        r.register("build_info", "The server's version (always 1)", info);
        r.register(
            "http_requests",
            "Requests answered, by route template, method and status",
            m.requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to the last byte of its answer, by route",
            m.duration.clone(),
        );
        r.register(
            "http_request_bytes",
            "Request body bytes received as sent (before decompression), by route",
            m.request_bytes.clone(),
        );
        r.register(
            "http_response_bytes",
            "Response body bytes sent (after compression), by route",
            m.response_bytes.clone(),
        );
        r.register(
            "http_requests_in_flight",
            "Requests received and not answered in full yet",
            m.in_flight.clone(),
        );
        r.register(
            "http_connections",
            "Connections open on the API's listener",
            m.connections.clone(),
        );
        r.register(
            "refusals",
            "Requests answered with an error, by its code (docs/protocol.md, Errors)",
            m.refusals.clone(),
        );
        r.register(
            "enrollments",
            "Enrollment attempts that reached the database: enrolled, or refused as unknown, expired or used",
            m.enrollments.clone(),
        );
        r.register(
            "push_batches",
            "Pushes accepted (refused ones are counted in gocua_refusals)",
            m.push_batches.clone(),
        );
        r.register(
            "push_changes",
            "Changes received in accepted pushes: stored, duplicate (already there) or quarantined",
            m.push_changes.clone(),
        );
        r.register(
            "push_refused_documents",
            "Documents of accepted pushes refused, by refusal code",
            m.push_refused_documents.clone(),
        );
        r.register("pull_batches", "Pull pages served", m.pull_batches.clone());
        r.register(
            "pull_changes",
            "Changes sent in pull pages",
            m.pull_changes.clone(),
        );
        r.register(
            "bootstrap_documents",
            "Documents sent in bootstraps",
            m.bootstrap_documents.clone(),
        );
        r.register(
            "body_budget_in_use_bytes",
            "Bytes of request bodies held now, of body_budget_bytes",
            m.body_budget_in_use.clone(),
        );
        r.register(
            "body_budget_bytes",
            "body_budget_bytes: the most request body bytes held at once",
            m.body_budget.clone(),
        );
        r.register(
            "database_up",
            "1 when the database answered this scrape's questions, 0 when it did not",
            m.database_up.clone(),
        );
        r.register(
            "change_log_seq",
            "The change log's newest position (its last seq)",
            m.log_seq.clone(),
        );
        r.register(
            "materialized_seq",
            "The materializer's watermark: changes folded into bootstrap snapshots",
            m.materialized_seq.clone(),
        );
        r.register(
            "materializer_lag_changes",
            "Changes stored and not folded into snapshots yet (change_log_seq - materialized_seq)",
            m.materializer_lag.clone(),
        );
        r.register(
            "db_connections",
            "Database connections by pool and state (in_use, idle)",
            m.db_connections.clone(),
        );
        r.register(
            "db_connections_max",
            "The most connections each database pool opens",
            m.db_connections_max.clone(),
        );
        Metrics { registry, ..m }
    }

    /// An enrollment's outcome: `enrolled`, or the refusal's reason.
    pub fn enrollment(&self, result: &'static str) {
        self.enrollments
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    /// An accepted push and what became of its changes and documents.
    pub fn push(&self, answer: &gocua_protocol::PushResponse) {
        self.push_batches.inc();
        for (result, n) in [
            ("stored", answer.stored),
            ("duplicate", answer.duplicates),
            ("quarantined", answer.quarantined),
        ] {
            if n > 0 {
                self.push_changes
                    .get_or_create(&ResultLabels { result })
                    .inc_by(n);
            }
        }
        for r in &answer.refused {
            self.push_refused_documents
                .get_or_create(&CodeLabels {
                    code: r.code.clone(),
                })
                .inc();
        }
    }

    /// A pull page sent with `changes` changes.
    pub fn pull(&self, changes: usize) {
        self.pull_batches.inc();
        self.pull_changes.inc_by(changes as u64);
    }

    pub fn bootstrap_documents(&self, documents: u64) {
        self.bootstrap_documents.inc_by(documents);
    }

    /// The metrics as Prometheus reads them, after asking the database and
    /// the server for the numbers only known now.
    pub fn encode(&self, now: &Reading) -> String {
        self.connections.set(gauge(now.connections));
        self.body_budget_in_use.set(gauge(now.body_in_use));
        self.body_budget.set(gauge(now.body_budget));
        match &now.database {
            Some(db) => {
                self.database_up.set(1);
                self.log_seq.set(gauge(db.log_seq));
                self.materialized_seq.set(gauge(db.materialized_seq));
                self.materializer_lag
                    .set(gauge(db.log_seq.saturating_sub(db.materialized_seq)));
                for p in &db.pools {
                    let in_use = p.in_use.min(p.open);
                    for (state, n) in [("in_use", in_use), ("idle", p.open - in_use)] {
                        self.db_connections
                            .get_or_create(&PoolStateLabels {
                                pool: p.pool,
                                state,
                            })
                            .set(i64::from(n));
                    }
                    self.db_connections_max
                        .get_or_create(&PoolLabels { pool: p.pool })
                        .set(i64::from(p.max));
                }
            }
            None => {
                self.database_up.set(0);
            }
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    fn finish(&self, o: &Observation, status: u16) {
        let route = o.route.clone();
        let bytes_in = o.bytes_in.load(Ordering::Relaxed);
        let bytes_out = o.bytes_out.load(Ordering::Relaxed);
        let elapsed = o.started.elapsed();
        self.in_flight.dec();
        self.requests
            .get_or_create(&RequestLabels {
                route: route.clone(),
                method: o.method,
                status,
            })
            .inc();
        let labels = RouteLabels { route };
        self.duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        self.request_bytes.get_or_create(&labels).inc_by(bytes_in);
        self.response_bytes.get_or_create(&labels).inc_by(bytes_out);
        let error = o.error.as_deref();
        if let Some(code) = error {
            self.refusals
                .get_or_create(&CodeLabels { code: code.into() })
                .inc();
        }
        let (device, account) = match o.who.get() {
            Some(Who::Device(id)) => (Some(id.as_str()), None),
            Some(Who::Account(id)) => (None, Some(id.as_str())),
            None => (None, None),
        };
        tracing::info!(
            target: "gocua_server::request",
            method = o.method,
            route = %labels.route,
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            bytes_in,
            bytes_out,
            device,
            account,
            error,
            "request"
        );
    }
}

fn gauge(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// What a scrape reads besides the counters.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    pub connections: usize,
    pub body_in_use: usize,
    pub body_budget: usize,
    /// `None` when the database did not answer.
    pub database: Option<DatabaseReading>,
}

#[derive(Debug, Clone, Default)]
pub struct DatabaseReading {
    pub log_seq: u64,
    pub materialized_seq: u64,
    pub pools: Vec<PoolUse>,
}

/// The database's side of a scrape (blocking).
pub fn read_database(storage: &dyn Storage) -> Option<DatabaseReading> {
    // Pool use first: the questions below borrow a connection themselves.
    let pools = storage.pool_use();
    let read = || -> crate::storage::StorageResult<DatabaseReading> {
        Ok(DatabaseReading {
            log_seq: storage.highest_seq()?,
            materialized_seq: storage.materialized_seq()?,
            pools,
        })
    };
    match read() {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the database did not answer");
            None
        }
    }
}

// ---- one request, observed ----

/// Who made a request, once its token was checked: ids only, never names.
#[derive(Debug)]
enum Who {
    Device(String),
    Account(String),
}

/// The error code of an error answer, set by `crate::error` on every error
/// response so that the refusal is counted without reading its body.
#[derive(Debug, Clone)]
pub struct ErrorCode(pub String);

tokio::task_local! {
    /// The request the current task answers: `authenticate` says who it is
    /// from here, without the handlers passing it around.
    static WHO: Arc<OnceLock<Who>>;
}

/// Records who the request being answered is from (its log event says so).
pub fn note_principal(principal: &Principal) {
    let who = match principal {
        Principal::Device { device_id, .. } => Who::Device(device_id.clone()),
        Principal::Account { account_id, .. } => Who::Account(account_id.clone()),
    };
    let _ = WHO.try_with(|w| w.set(who));
}

/// Records the device a request enrolled (its log event says so).
pub fn note_device(device_id: &str) {
    let _ = WHO.try_with(|w| w.set(Who::Device(device_id.to_string())));
}

/// A request from its arrival; recorded when dropped: after the last byte
/// of its answer, or when the client went away first.
#[derive(Debug)]
struct Observation {
    metrics: Arc<Metrics>,
    started: Instant,
    method: &'static str,
    route: String,
    bytes_in: Arc<AtomicU64>,
    bytes_out: Arc<AtomicU64>,
    who: Arc<OnceLock<Who>>,
    status: Option<u16>,
    error: Option<String>,
}

impl Drop for Observation {
    fn drop(&mut self) {
        let status = self.status.unwrap_or(CLIENT_CLOSED);
        self.metrics.finish(self, status);
    }
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        // Anyone may send any method: one label for all the others.
        _ => "other",
    }
}

/// The outermost layer of the API's router: counts, times and logs every
/// request, its body bytes both ways, and its refusal.
pub async fn observe(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    metrics.in_flight.inc();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED_ROUTE.to_string(), |p| p.as_str().to_string());
    let bytes_in = Arc::new(AtomicU64::new(0));
    let bytes_out = Arc::new(AtomicU64::new(0));
    let who = Arc::new(OnceLock::new());
    let mut observation = Observation {
        metrics,
        started: Instant::now(),
        method: method_label(req.method()),
        route,
        bytes_in: bytes_in.clone(),
        bytes_out: bytes_out.clone(),
        who: who.clone(),
        status: None,
        error: None,
    };
    let req = req.map(|b| Body::new(Counted::new(b, bytes_in, None)));
    let resp = WHO.scope(who, next.run(req)).await;
    observation.status = Some(resp.status().as_u16());
    observation.error = resp.extensions().get::<ErrorCode>().map(|c| c.0.clone());
    resp.map(|b| Body::new(Counted::new(b, bytes_out, Some(observation))))
}

/// A body that counts its bytes as they pass, and records its request's
/// observation once it is dropped.
#[derive(Debug)]
struct Counted {
    inner: Body,
    bytes: Arc<AtomicU64>,
    _observation: Option<Observation>,
}

impl Counted {
    fn new(inner: Body, bytes: Arc<AtomicU64>, observation: Option<Observation>) -> Counted {
        Counted {
            inner,
            bytes,
            _observation: observation,
        }
    }
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

// ---- the metrics listener ----

#[derive(Debug, Clone)]
struct Scrape {
    metrics: Arc<Metrics>,
    storage: Arc<dyn Storage>,
    connections: Arc<ConnCount>,
    budget: Arc<BodyBudget>,
}

/// The router of the metrics listener: `GET /metrics` and nothing else.
pub fn router(state: &crate::api::AppState) -> Router {
    Router::new()
        .route(METRICS_PATH, get(scrape))
        .with_state(Scrape {
            metrics: state.metrics.clone(),
            storage: state.storage.clone(),
            connections: state.connections.clone(),
            budget: state.body_budget.clone(),
        })
}

async fn scrape(State(s): State<Scrape>) -> Response {
    let storage = s.storage.clone();
    let database = tokio::task::spawn_blocking(move || read_database(storage.as_ref()))
        .await
        .ok()
        .flatten();
    let reading = Reading {
        connections: s.connections.get(),
        body_in_use: s.budget.in_use(),
        body_budget: s.budget.total(),
        database,
    };
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(OPENMETRICS_TYPE),
        )],
        s.metrics.encode(&reading),
    )
        .into_response()
}
