//! The HTTP surface, protocol version 1 (paths and types in `gocua_protocol`).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gocua_protocol::{
    Assignment, BUNDLE_CONTENT_TYPE, DocChanges, EnrollRequest, EnrollResponse, HEADER_ASSIGNMENT,
    HEADER_CURSOR, HEADER_MORE, HEADER_PROTOCOL, HEADER_SERVER_VERSION, Info, MAX_PULL_LIMIT,
    PROTOCOL_VERSION, PushResponse, UnsentResponse, VillageInfo, codes, paths, reasons,
};
use serde::Deserialize;
use tokio::sync::Notify;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::TraceLayer;

use crate::body_budget::{self, BodyBudget};
use crate::error::{ApiError, caused_by, error_response};
use crate::serve::{self, ConnCount};
use crate::storage::{
    AuditEntry, CodeRefusal, EnrollAttempt, EnrollOutcome, Principal, Role, Storage, StorageResult,
};
use crate::throttle::Throttle;
use crate::{Config, now, push, secrets};

pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");
/// An enrollment request is a code and a device name.
const MAX_ENROLL_BODY: usize = 16 * 1024;
/// Pull's page size when the device does not say.
pub const DEFAULT_PULL_LIMIT: u32 = 1_000;

/// The smallest answer compressed: one byte over the protocol's threshold.
const COMPRESS_FROM: u16 = {
    assert!(gocua_protocol::COMPRESS_OVER < u16::MAX as usize);
    gocua_protocol::COMPRESS_OVER as u16 + 1
};

#[derive(Debug, Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub config: Arc<Config>,
    /// Woken after a push stored changes.
    pub materializer: Arc<Notify>,
    /// Documents the push path loaded recently.
    pub documents: Arc<push::DocCache>,
    pub enroll_throttle: Arc<Throttle>,
    /// The web console's sign-in attempts, per address and per login name.
    pub login_throttle: Arc<Throttle>,
    pub body_budget: Arc<BodyBudget>,
    /// Connections open now (kept by `serve`).
    pub connections: Arc<ConnCount>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Devices' contacts written lately (`crate::seen`).
    pub seen: Arc<crate::seen::Seen>,
}

impl AppState {
    pub fn new(storage: Arc<dyn Storage>, config: Config, materializer: Arc<Notify>) -> AppState {
        AppState {
            storage,
            enroll_throttle: Arc::new(Throttle::new(
                "enroll",
                config.enroll_attempts_per_address,
                config.enroll_attempts_per_code,
            )),
            login_throttle: Arc::new(
                Throttle::new(
                    "login",
                    config.login_attempts_per_address,
                    config.login_attempts_per_login,
                )
                .keyed_as("login"),
            ),
            body_budget: Arc::new(BodyBudget::new(
                config.body_budget_bytes,
                config.max_body_bytes,
                // A body waiting for room is a slow body.
                std::time::Duration::from_secs(config.body_timeout_seconds),
            )),
            connections: Arc::new(ConnCount::default()),
            metrics: Arc::new(crate::metrics::Metrics::new()),
            seen: Arc::new(crate::seen::Seen::default()),
            config: Arc::new(config),
            materializer,
            documents: Arc::new(push::DocCache::default()),
        }
    }
}

/// Every route of the API. Added through [`Routes`] only: the API
/// description (`/v1/openapi.json`) is checked against what it records.
fn routes() -> Routes<AppState> {
    Routes::new()
        .get(paths::HEALTH, health)
        .get(paths::HEALTHZ, healthz)
        .get(paths::READYZ, health)
        .get(paths::INFO, info)
        .get(paths::OPENAPI, crate::openapi::document)
        .post(paths::ENROLL, enroll)
        .get(paths::ASSIGNMENT, assignment)
        .post(paths::PUSH, push_changes)
        .post(paths::UNSENT, unsent)
        .get(paths::PULL, pull)
        .get(paths::BOOTSTRAP, bootstrap)
        .get(paths::REPORT, crate::province::report)
        .get(paths::EXPORT, crate::province::export)
}

/// The paths and methods the router answers, in the order added.
pub fn route_table() -> Vec<(&'static str, axum::http::Method)> {
    routes().table
}

pub fn router(state: AppState) -> Router {
    // The console's pages answer HTML: outside the layers below, which speak
    // the sync protocol's JSON.
    let console = crate::console::router(state.clone());
    let budget = state.body_budget.clone();
    let metrics = state.metrics.clone();
    let body_timeout = std::time::Duration::from_secs(state.config.body_timeout_seconds);
    routes()
        .router
        .fallback(not_found)
        .with_state(state)
        // Innermost first: the budget (and `read_body`'s limit) count
        // decompressed bytes, the timeout the bytes arriving.
        .layer(middleware::from_fn_with_state(budget, body_budget::limit))
        .layer(RequestDecompressionLayer::new())
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            body_timeout,
        ))
        .layer(middleware::from_fn(json_errors))
        // Push answers are a few dozen bytes: compressing them cost a third of
        // the server's CPU under load (docs/benchmarks.md) for nothing.
        .layer(
            CompressionLayer::new()
                .quality(tower_http::CompressionLevel::Fastest)
                .compress_when(
                    SizeAbove::new(COMPRESS_FROM)
                        .and(tower_http::compression::DefaultPredicate::new()),
                ),
        )
        .layer(middleware::from_fn(protocol))
        .layer(TraceLayer::new_for_http())
        // Outermost: the time and bytes of everything the layers above do.
        .layer(middleware::from_fn_with_state(
            metrics,
            crate::metrics::observe,
        ))
        .merge(console)
}

/// A router that remembers the paths and methods it was given.
#[derive(Debug)]
pub struct Routes<S> {
    router: Router<S>,
    table: Vec<(&'static str, axum::http::Method)>,
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Routes<S> {
        Routes {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    pub fn get<H: axum::handler::Handler<T, S>, T: 'static>(
        mut self,
        path: &'static str,
        handler: H,
    ) -> Routes<S> {
        self.router = self.router.route(path, get(handler));
        self.table.push((path, axum::http::Method::GET));
        self
    }

    pub fn post<H: axum::handler::Handler<T, S>, T: 'static>(
        mut self,
        path: &'static str,
        handler: H,
    ) -> Routes<S> {
        self.router = self.router.route(path, post(handler));
        self.table.push((path, axum::http::Method::POST));
        self
    }
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Routes<S> {
        Routes::new()
    }
}

// ---- middleware ----

/// Says who answers on every response, and refuses another protocol version.
async fn protocol(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let needs_header = [
        paths::ENROLL,
        paths::ASSIGNMENT,
        paths::PUSH,
        paths::UNSENT,
        paths::PULL,
        paths::BOOTSTRAP,
        paths::REPORT,
        paths::EXPORT,
    ]
    .contains(&path);
    let mut resp = match req.headers().get(HEADER_PROTOCOL) {
        Some(v)
            if v.to_str().ok().map(str::trim) == Some(PROTOCOL_VERSION.to_string().as_str()) =>
        {
            next.run(req).await
        }
        Some(v) => error_response(
            StatusCode::UPGRADE_REQUIRED,
            codes::PROTOCOL_MISMATCH,
            format!(
                "this server speaks gocua protocol {PROTOCOL_VERSION}; the client speaks {}: update the app or the server",
                String::from_utf8_lossy(v.as_bytes())
            ),
        ),
        None if needs_header => error_response(
            StatusCode::UPGRADE_REQUIRED,
            codes::PROTOCOL_MISMATCH,
            format!(
                "requests to {path} must say their protocol version in the {HEADER_PROTOCOL} header"
            ),
        ),
        None => next.run(req).await,
    };
    let h = resp.headers_mut();
    h.insert(
        HEADER_SERVER_VERSION,
        HeaderValue::from_static(SERVER_VERSION),
    );
    h.insert(HEADER_PROTOCOL, HeaderValue::from(PROTOCOL_VERSION));
    resp
}

/// Turns any failure that is not JSON yet (axum's and tower-http's own
/// rejections: 405, 413, 415 ...) into an `ErrorBody`.
async fn json_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return resp;
    }
    // A 405 must keep saying which methods the path takes.
    let allow = resp.headers().get(header::ALLOW).cloned();
    let body = axum::body::to_bytes(resp.into_body(), 4096)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body).trim().to_string();
    let (code, default) = match status {
        StatusCode::BAD_REQUEST => (codes::BAD_REQUEST, "bad request".to_string()),
        StatusCode::UNAUTHORIZED => (codes::UNAUTHORIZED, "unauthorized".to_string()),
        StatusCode::FORBIDDEN => (codes::FORBIDDEN, "forbidden".to_string()),
        StatusCode::NOT_FOUND => (codes::NOT_FOUND, format!("no such path: {path}")),
        StatusCode::METHOD_NOT_ALLOWED => (
            codes::BAD_REQUEST,
            format!("{method} is not allowed on {path}"),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            codes::TOO_LARGE,
            "the request body is larger than this server accepts".to_string(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            codes::UNSUPPORTED_MEDIA_TYPE,
            "unsupported content type or encoding".to_string(),
        ),
        StatusCode::SERVICE_UNAVAILABLE => (codes::UNAVAILABLE, "unavailable".to_string()),
        s if s.is_server_error() => (codes::INTERNAL, "the server failed".to_string()),
        _ => (codes::BAD_REQUEST, "bad request".to_string()),
    };
    let message = if text.is_empty() || status == StatusCode::METHOD_NOT_ALLOWED {
        default
    } else {
        text
    };
    let mut resp = error_response(status, code, message);
    if let Some(allow) = allow {
        resp.headers_mut().insert(header::ALLOW, allow);
    }
    resp
}

async fn not_found(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        codes::NOT_FOUND,
        format!("no such path: {}", req.uri().path()),
    )
}

// ---- helpers ----

pub(crate) async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn Storage) -> StorageResult<T> + Send + 'static,
) -> Result<T, ApiError> {
    let storage = state.storage.clone();
    match tokio::task::spawn_blocking(move || f(storage.as_ref())).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => {
            tracing::error!(error = %e, "storage task failed");
            Err(ApiError::internal())
        }
    }
}

pub(crate) async fn audit(state: &AppState, entry: AuditEntry) {
    if let Err(e) = blocking(state, move |s| s.audit(&entry)).await {
        tracing::error!(error = ?e, "audit entry not written");
    }
}

/// Who the bearer token belongs to; refuses unknown tokens and revoked ones.
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Principal, ApiError> {
    let principal = identify(state, headers).await?;
    let (revoked, wipe) = match &principal {
        Principal::Device {
            revoked,
            wipe,
            device_id,
            ..
        } => {
            note_contact(state, device_id, headers, false);
            (*revoked, *wipe)
        }
        Principal::Account { revoked, .. } => (*revoked, false),
    };
    if revoked {
        audit(
            state,
            AuditEntry {
                at: now(),
                actor: principal.actor(),
                action: "revoked_access_refused".into(),
                subject: String::new(),
                detail: String::new(),
            },
        )
        .await;
        if let Principal::Account { .. } = principal {
            return Err(ApiError::unauthorized(
                "this account has been revoked by the operator: its token no longer works; ask the operator for a new account",
            )
            .because(reasons::ACCOUNT_REVOKED));
        }
        let refusal = ApiError::new(
            StatusCode::FORBIDDEN,
            codes::DEVICE_REVOKED,
            "this device has been revoked by the administrator: it can no longer sync; ask your team leader to enroll it again",
        );
        return Err(if wipe {
            refusal.because(reasons::WIPE)
        } else {
            refusal
        });
    }
    Ok(principal)
}

/// Records a device's contact when it is due (`crate::seen`): a database
/// write at most once a minute per device, not one per request, made beside
/// the request (it never waits for the writer).
pub(crate) fn note_contact(state: &AppState, device_id: &str, headers: &HeaderMap, synced: bool) {
    let version = crate::seen::app_version(headers);
    // Said for "once this request succeeds": taken from a request that did.
    let pending = synced.then(|| crate::seen::pending(headers)).flatten();
    let Some(seen) = state
        .seen
        .claim(device_id, now(), synced, version.as_deref(), pending)
    else {
        return;
    };
    let (storage, memory, id) = (
        state.storage.clone(),
        state.seen.clone(),
        device_id.to_string(),
    );
    tokio::task::spawn_blocking(move || {
        if let Err(e) = storage.device_seen(&id, &seen) {
            memory.forget(&id);
            tracing::warn!(device = %id, error = %e, "device contact not recorded");
        }
    });
}

/// Who the bearer token belongs to, revoked or not; refuses unknown tokens.
async fn identify(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("this request needs an Authorization: Bearer token")
                .because(reasons::NO_TOKEN)
        })?;
    let hash = secrets::token_hash(token);
    let principal = blocking(state, move |s| s.principal(&hash))
        .await?
        .ok_or_else(|| {
            ApiError::unauthorized("unknown token: enroll this device again")
                .because(reasons::UNKNOWN_TOKEN)
        })?;
    crate::metrics::note_principal(&principal);
    Ok(principal)
}

/// The villages a principal may read.
async fn readable_villages(
    state: &AppState,
    principal: &Principal,
) -> Result<Vec<String>, ApiError> {
    match principal {
        Principal::Device { villages, .. } => Ok(villages.clone()),
        Principal::Account {
            role: Role::Officer,
            commune_code: Some(c),
            ..
        } => {
            let c = c.clone();
            blocking(state, move |s| s.commune_villages(&c)).await
        }
        Principal::Account {
            role: Role::Officer,
            province_code: Some(p),
            ..
        } => {
            let p = p.clone();
            blocking(state, move |s| s.province_villages(&p)).await
        }
        Principal::Account { .. } => Err(ApiError::forbidden(
            "this account cannot read households over the sync API",
        )
        .because(reasons::CANNOT_READ_HOUSEHOLDS)),
    }
}

fn bundle_response(bundle: Vec<u8>, cursor: u64, more: Option<bool>) -> Response {
    let mut resp = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(BUNDLE_CONTENT_TYPE),
        )],
        Body::from(bundle),
    )
        .into_response();
    let h = resp.headers_mut();
    h.insert(HEADER_CURSOR, HeaderValue::from(cursor));
    if let Some(more) = more {
        h.insert(
            HEADER_MORE,
            HeaderValue::from_static(if more { "1" } else { "0" }),
        );
    }
    resp
}

/// The body's media type without its parameters, in lower case (media
/// types are case-insensitive: `Application/JSON; charset=UTF-8` is JSON).
fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

async fn parse_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<T, ApiError> {
    if media_type(headers).as_deref() != Some("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            codes::UNSUPPORTED_MEDIA_TYPE,
            "this request's body must be application/json",
        ));
    }
    let body = read_body(body, limit).await?;
    serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))
}

/// Reads a body whole, once the request is known to be allowed: an
/// anonymous client's body costs no memory.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    body_budget::collect(body, limit).await.map_err(|e| {
        if caused_by(&e, |e| e.is::<http_body_util::LengthLimitError>()) {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                codes::TOO_LARGE,
                format!(
                    "the request body is larger than this server accepts ({limit} bytes): send fewer changes per push"
                ),
            )
        } else if caused_by(&e, |e| e.is::<tower_http::timeout::TimeoutError>()) {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                codes::BAD_REQUEST,
                "the request body stopped arriving: send it again",
            )
        } else if caused_by(&e, |e| e.is::<body_budget::OverBudget>()) {
            ApiError::busy("the server is receiving too much at once: try again in a few seconds")
        } else {
            ApiError::bad_request(format!("the request body could not be read: {e}"))
        }
    })
}

// ---- handlers ----

/// Ready to serve: the database answers and is at this server's schema.
async fn health(State(state): State<AppState>) -> Response {
    let storage = state.storage.clone();
    let checked = tokio::task::spawn_blocking(move || storage.health()).await;
    let message = match checked {
        Ok(Ok(())) => return (StatusCode::OK, "ok").into_response(),
        Ok(Err(crate::StorageError::Incompatible(m))) => {
            format!("not ready: {m}")
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            "not ready: the database does not answer".to_string()
        }
        Err(_) => "not ready: the check failed".to_string(),
    };
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, codes::UNAVAILABLE, message).into_response()
}

/// Alive: answers without touching the database (a load balancer's or
/// supervisor's liveness probe). `/readyz` also checks the database.
async fn healthz() -> &'static str {
    "ok"
}

async fn info() -> axum::Json<Info> {
    axum::Json(Info {
        server_version: SERVER_VERSION.to_string(),
        protocol_version: PROTOCOL_VERSION,
    })
}

async fn enroll(
    State(state): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<axum::Json<EnrollResponse>, ApiError> {
    let req: EnrollRequest = parse_json(&headers, body, MAX_ENROLL_BODY).await?;
    let device_name = gocua_text::clean(&req.device_name);
    // Control characters (a NUL, a terminal escape) are no part of a name,
    // would garble the operator's device list, and PostgreSQL refuses a NUL.
    if device_name.is_empty()
        || device_name.chars().count() > 100
        || device_name.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(
            "device_name must be 1 to 100 characters, none of them a control character",
        ));
    }
    let code_hash = secrets::code_hash(&req.code);
    let address = serve::client_address(
        Some(state.config.client_address_header.as_str()),
        &headers,
        peer.map(|axum::Extension(ConnectInfo(p))| p),
    );
    // The hash's prefix names the code without revealing it.
    let code_key = &code_hash[..12];
    if let Err(refused) = state.enroll_throttle.check(address, code_key, now()) {
        let wait = refused.retry_after.as_secs().max(1);
        tracing::debug!(?address, wait, "enrollment attempt over the limit");
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            codes::RATE_LIMITED,
            format!("too many enrollment attempts: wait {wait} s, then try again"),
        )
        .retry_after(wait));
    }
    let device_id = uuid::Uuid::now_v7().to_string();
    let token = secrets::new_token();
    let token_hash = secrets::token_hash(token.expose());
    let request_id = req
        .request_id
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty() && r.len() <= 64 && !r.chars().any(char::is_control))
        .map(str::to_string);
    let attempt = EnrollAttempt {
        device_id,
        device_name: device_name.clone(),
        request_id,
    };
    let outcome = {
        let code_hash = code_hash.clone();
        blocking(&state, move |s| {
            s.enroll(&code_hash, &attempt, &token_hash, now())
        })
        .await?
    };
    match outcome {
        EnrollOutcome::Enrolled {
            device_id,
            assignment: a,
        } => {
            tracing::info!(device = %device_id, volunteer = %a.volunteer.id, "device enrolled");
            state.metrics.enrollment("enrolled");
            crate::metrics::note_device(&device_id);
            Ok(axum::Json(EnrollResponse {
                device_id,
                token: token.into_inner(),
                volunteer_id: a.volunteer.id,
                volunteer_name: a.volunteer.name,
                volunteer_phone: a.volunteer.phone,
                team_id: a.volunteer.team_id,
                team_name: a.team_name,
                commune_code: a.commune_code,
                villages: a
                    .villages
                    .into_iter()
                    .map(|v| VillageInfo {
                        id: v.id,
                        commune_code: v.commune_code,
                        name: v.name,
                    })
                    .collect(),
            }))
        }
        EnrollOutcome::Refused(why) => {
            let (status, reason, message) = match why {
                CodeRefusal::Unknown => (
                    StatusCode::UNAUTHORIZED,
                    reasons::CODE_UNKNOWN,
                    "this enrollment code is not valid: check it, or ask for a new one",
                ),
                CodeRefusal::Expired => (
                    StatusCode::FORBIDDEN,
                    reasons::CODE_EXPIRED,
                    "this enrollment code has expired: ask for a new one",
                ),
                CodeRefusal::Used => (
                    StatusCode::FORBIDDEN,
                    reasons::CODE_USED,
                    "this enrollment code has already been used: ask for a new one",
                ),
            };
            tracing::info!(reason, "enrollment refused");
            state.metrics.enrollment(reason);
            audit(
                &state,
                AuditEntry {
                    at: now(),
                    actor: "anonymous".into(),
                    action: "enroll_refused".into(),
                    subject: format!("code:{code_key}"),
                    detail: format!(
                        "reason={reason} device_name={device_name:?} address={}",
                        address.map(|a| a.to_string()).unwrap_or_default()
                    ),
                },
            )
            .await;
            Err(ApiError::new(status, codes::ENROLLMENT_CODE_INVALID, message).because(reason))
        }
    }
}

/// What the device records for now: its volunteer's team, commune and
/// villages as the operator last set them. A device asks at every sync; the
/// `ETag` (a digest of the answer) spares it the body while nothing changed.
async fn assignment(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let principal = authenticate(&state, &headers).await?;
    let Principal::Device { volunteer_id, .. } = principal else {
        return Err(
            ApiError::forbidden("only an enrolled device has an assignment")
                .because(reasons::NOT_A_DEVICE),
        );
    };
    let found = blocking(&state, move |s| assignment_of(s, &volunteer_id)).await?;
    // Volunteers and teams are never deleted: a device without them points at
    // a damaged database, which the operator must hear of.
    let Some(answer) = found else {
        tracing::error!("an enrolled device's volunteer or team is missing");
        return Err(ApiError::internal());
    };
    let body = serde_json::to_vec(&answer).map_err(|e| {
        tracing::error!(error = %e, "assignment not serialized");
        ApiError::internal()
    })?;
    let tag = assignment_tag(&body);
    let unchanged = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == tag || t.trim() == "*");
    let tag = HeaderValue::from_str(&tag).map_err(|_| ApiError::internal())?;
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    Ok((
        [
            (header::ETAG, tag),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        body,
    )
        .into_response())
}

/// A device's assignment, from its volunteer; `None` if the volunteer or
/// their team is missing.
fn assignment_of(s: &dyn Storage, volunteer_id: &str) -> StorageResult<Option<Assignment>> {
    let Some(volunteer) = s.volunteer(volunteer_id)? else {
        return Ok(None);
    };
    let Some(team) = s.team(&volunteer.team_id)? else {
        return Ok(None);
    };
    Ok(Some(Assignment {
        volunteer_id: volunteer.id,
        volunteer_name: volunteer.name,
        volunteer_phone: volunteer.phone,
        team_id: team.id,
        team_name: team.name,
        commune_code: team.commune_code,
        villages: team
            .villages
            .into_iter()
            .map(|v| VillageInfo {
                id: v.id,
                commune_code: v.commune_code,
                name: v.name,
            })
            .collect(),
    }))
}

/// The tag `GET /v1/assignment` answers `a` with; `None` if it cannot be
/// written (it always can).
fn tag_of(a: &Assignment) -> Option<String> {
    serde_json::to_vec(a).ok().map(|b| assignment_tag(&b))
}

/// A strong entity tag of an answer's bytes.
fn assignment_tag(body: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body);
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// A revoked device's last word: the changes it had not sent, kept for the
/// operator (`gocua-server admin devices unsent`), applied to nothing, before
/// it wipes its data. The token of a revoked device is taken here only.
async fn unsent(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<axum::Json<UnsentResponse>, ApiError> {
    let principal = identify(&state, &headers).await?;
    let Principal::Device {
        device_id, revoked, ..
    } = principal
    else {
        return Err(
            ApiError::forbidden("only an enrolled device reports its unsent changes")
                .because(reasons::NOT_A_DEVICE),
        );
    };
    note_contact(&state, &device_id, &headers, false);
    if !revoked {
        return Err(ApiError::bad_request(
            "this device is not revoked: it pushes its changes (POST /v1/push)",
        )
        .because(reasons::NOT_REVOKED));
    }
    require_bundle(&headers)?;
    let body = read_body(body, state.config.max_body_bytes).await?;
    let device = device_id.clone();
    let result = blocking(&state, move |s| {
        let docs = match push::inspect(&body) {
            Ok(d) => d,
            Err(bad) => return Ok(Err(bad)),
        };
        let changes: u64 = docs.iter().map(|d| d.changes.len() as u64).sum();
        let documents = docs.len() as u64;
        s.save_unsent(&device, &body, changes, documents, now())?;
        Ok(Ok(UnsentResponse { changes, documents }))
    })
    .await?;
    match result {
        Ok(answer) => {
            tracing::warn!(
                device = %device_id,
                changes = answer.changes,
                "a revoked device reported its unsent changes"
            );
            Ok(axum::Json(answer))
        }
        Err(bad) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            bad.code,
            bad.message,
        )),
    }
}

/// Refuses a body that is not a change bundle.
fn require_bundle(headers: &HeaderMap) -> Result<(), ApiError> {
    if media_type(headers).as_deref() != Some(BUNDLE_CONTENT_TYPE) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            codes::UNSUPPORTED_MEDIA_TYPE,
            format!("the body must be {BUNDLE_CONTENT_TYPE}"),
        ));
    }
    Ok(())
}

async fn push_changes(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<axum::Json<PushResponse>, ApiError> {
    let principal = authenticate(&state, &headers).await?;
    let Principal::Device {
        device_id,
        villages,
        ..
    } = principal
    else {
        return Err(
            ApiError::forbidden("only an enrolled device can push changes")
                .because(reasons::NOT_A_DEVICE),
        );
    };
    require_bundle(&headers)?;
    let body = read_body(body, state.config.max_body_bytes).await?;
    let device = device_id.clone();
    let cache = state.documents.clone();
    let result = blocking(&state, move |s| {
        let docs = match push::inspect(&body) {
            Ok(d) => d,
            Err(bad) => return Ok(Err(bad)),
        };
        push::push(s, &cache, &device, &villages, docs, now()).map(Ok)
    })
    .await?;
    let answer = match result {
        Ok(r) => r,
        Err(bad) => {
            tracing::info!(device = %device_id, code = bad.code, "push refused as a whole");
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                bad.code,
                bad.message,
            ));
        }
    };
    state.metrics.push(&answer);
    if answer.stored > 0 {
        state.materializer.notify_one();
    }
    if answer.quarantined > 0 {
        tracing::warn!(device = %device_id, quarantined = answer.quarantined, "changes quarantined");
        audit(
            &state,
            AuditEntry {
                at: now(),
                actor: format!("device:{device_id}"),
                action: "changes_quarantined".into(),
                subject: format!("{} changes", answer.quarantined),
                detail: "see `gocua-server admin quarantine`".into(),
            },
        )
        .await;
    }
    if !answer.refused.is_empty() {
        let detail = answer
            .refused
            .iter()
            .map(|r| format!("{}:{}", r.doc_id, r.code))
            .collect::<Vec<_>>()
            .join(" ");
        tracing::info!(device = %device_id, refused = answer.refused.len(), "documents refused");
        audit(
            &state,
            AuditEntry {
                at: now(),
                actor: format!("device:{device_id}"),
                action: "push_refused".into(),
                subject: format!("{} documents", answer.refused.len()),
                detail,
            },
        )
        .await;
    }
    tracing::debug!(device = %device_id, stored = answer.stored, duplicates = answer.duplicates, "push");
    note_contact(&state, &device_id, &headers, true);
    Ok(axum::Json(answer))
}

#[derive(Debug, Deserialize)]
struct PullParams {
    #[serde(default)]
    cursor: u64,
    limit: Option<u32>,
    mine_after: Option<u64>,
}

async fn pull(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<PullParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let principal = authenticate(&state, &headers).await?;
    let villages = readable_villages(&state, &principal).await?;
    let limit = q
        .limit
        .unwrap_or(DEFAULT_PULL_LIMIT)
        .clamp(1, MAX_PULL_LIMIT);
    let max_bytes = state.config.pull_page_bytes;
    let cursor = q.cursor;
    let mine = q.mine_after;
    let volunteer = match &principal {
        Principal::Device { volunteer_id, .. } => Some(volunteer_id.clone()),
        Principal::Account { .. } => None,
    };
    let page = blocking(&state, move |s| {
        // A position this database never handed out came from the one it
        // was restored over: the device knows of changes lost here, and
        // would skip what is fed at those positions from now on.
        let bounds = s.feed_bounds()?;
        if bounds.expired(cursor) || mine.is_some_and(|m| bounds.expired(m)) {
            return Ok(None);
        }
        let page = s.pull(&villages, cursor, limit, max_bytes)?;
        let tag = match &volunteer {
            Some(v) => assignment_of(s, v)?.as_ref().and_then(tag_of),
            None => None,
        };
        Ok(Some((page, tag)))
    })
    .await?;
    let Some((page, assignment)) = page else {
        return Err(ApiError::new(
            StatusCode::GONE,
            codes::CURSOR_EXPIRED,
            format!(
                "cursor {cursor} (or mine_after) is beyond this server's feed: it was restored \
                 from a backup; bootstrap again and push what the server lacks"
            ),
        ));
    };
    let next = page.changes.last().map_or(cursor, |c| c.position);
    if let Principal::Account { .. } = principal {
        audit(
            &state,
            AuditEntry {
                at: now(),
                actor: principal.actor(),
                action: "pull".into(),
                subject: format!("cursor={cursor}"),
                detail: format!("changes={} next={next}", page.changes.len()),
            },
        )
        .await;
    }
    // A device's own changes are not sent back to it (it has them), except
    // those stored after `mine_after`: another copy of the device pushed them
    // (a restore from a backup, a clone). The cursor still moves past them.
    // Grouped per document, each in seq order.
    let own = match &principal {
        Principal::Device { device_id, .. } => Some(device_id.as_str()),
        Principal::Account { .. } => None,
    };
    let mine_after = q.mine_after.unwrap_or(u64::MAX);
    let mut docs: Vec<DocChanges> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for c in page
        .changes
        .into_iter()
        .filter(|c| Some(c.device_id.as_str()) != own || c.position > mine_after)
    {
        match index.get(&c.doc_id) {
            Some(&i) => {
                if let Some(d) = docs.get_mut(i) {
                    d.changes.push(c.bytes);
                }
            }
            None => {
                index.insert(c.doc_id.clone(), docs.len());
                docs.push(DocChanges {
                    doc_id: c.doc_id,
                    changes: vec![c.bytes],
                });
            }
        }
    }
    state
        .metrics
        .pull(docs.iter().map(|d| d.changes.len()).sum());
    if let Some(device_id) = own {
        note_contact(&state, device_id, &headers, true);
    }
    let mut resp = bundle_response(gocua_protocol::bundle::encode(&docs), next, Some(page.more));
    if let Some(tag) = assignment.and_then(|t| HeaderValue::from_str(&t).ok()) {
        resp.headers_mut().insert(HEADER_ASSIGNMENT, tag);
    }
    Ok(resp)
}

/// Bytes of a bootstrap written before they are handed to the connection.
const BOOTSTRAP_CHUNK: usize = 256 * 1024;
/// Chunks made ahead of a slow connection: with the chunk size, the memory
/// one bootstrap takes (besides the document being read).
const BOOTSTRAP_AHEAD: usize = 4;
/// A connection that takes none of the bootstrap for this long is given up,
/// so that it does not hold a database read open.
const BOOTSTRAP_STALL: std::time::Duration = std::time::Duration::from_secs(60);

/// The snapshots of the caller's villages, streamed: read from the database
/// one document at a time and sent as they are read, so that the server
/// never holds a whole bootstrap (docs/protocol.md, "Bootstrap").
async fn bootstrap(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let principal = authenticate(&state, &headers).await?;
    let villages = readable_villages(&state, &principal).await?;
    let (cursor_tx, cursor_rx) = tokio::sync::oneshot::channel::<u64>();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(BOOTSTRAP_AHEAD);
    let storage = state.storage.clone();
    let runtime = tokio::runtime::Handle::current();
    let account = matches!(principal, Principal::Account { .. }).then(|| principal.actor());
    let metrics = state.metrics.clone();
    let task = tokio::task::spawn_blocking(move || {
        let send = |chunk: Vec<u8>| -> StorageResult<()> {
            let sent = runtime.block_on(async {
                tokio::time::timeout(BOOTSTRAP_STALL, tx.send(Ok(Bytes::from(chunk)))).await
            });
            match sent {
                Ok(Ok(())) => Ok(()),
                // The device went away or stopped reading: stop reading too.
                _ => Err(crate::storage::StorageError::Busy(
                    "the bootstrap's connection closed or stalled".into(),
                )),
            }
        };
        let mut cursor_tx = Some(cursor_tx);
        let mut at = 0;
        let mut buf = Vec::with_capacity(BOOTSTRAP_CHUNK + 64 * 1024);
        buf.extend_from_slice(gocua_protocol::bundle::MAGIC);
        let mut count = 0u64;
        let result = storage.bootstrap_stream(
            &villages,
            &mut |c| {
                at = c;
                if let Some(tx) = cursor_tx.take() {
                    let _ = tx.send(c);
                }
                Ok(())
            },
            &mut |d| {
                let changes: Vec<Vec<u8>> = d
                    .bytes
                    .into_iter()
                    .chain(d.pending.into_iter().map(|p| p.1))
                    .collect();
                if changes.is_empty() {
                    return Ok(());
                }
                gocua_protocol::bundle::encode_doc(&mut buf, &d.doc_id, &changes);
                count += 1;
                if buf.len() >= BOOTSTRAP_CHUNK {
                    send(std::mem::replace(
                        &mut buf,
                        Vec::with_capacity(BOOTSTRAP_CHUNK + 64 * 1024),
                    ))?;
                }
                Ok(())
            },
        );
        let result = result.and_then(|()| if buf.is_empty() { Ok(()) } else { send(buf) });
        metrics.bootstrap_documents(count);
        match &result {
            Ok(()) => {
                if let Some(actor) = account
                    && let Err(e) = storage.audit(&AuditEntry {
                        at: now(),
                        actor,
                        action: "bootstrap".into(),
                        subject: format!("documents={count}"),
                        detail: format!("cursor={at}"),
                    })
                {
                    tracing::error!(error = ?e, "audit entry not written");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, documents = count, "bootstrap cut short");
                // The device sees the body end early, and tries again.
                let _ = runtime.block_on(tx.send(Err(std::io::Error::other(e.to_string()))));
            }
        }
        result
    });
    let cursor = match cursor_rx.await {
        Ok(c) => {
            if let Principal::Device { device_id, .. } = &principal {
                note_contact(&state, device_id, &headers, true);
            }
            c
        }
        // Failed before anything was sent: an ordinary error answer.
        Err(_) => {
            return match task.await {
                Ok(Err(e)) => Err(ApiError::from(e)),
                _ => Err(ApiError::internal()),
            };
        }
    };
    let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    let mut resp = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(BUNDLE_CONTENT_TYPE),
        )],
        body,
    )
        .into_response();
    resp.headers_mut()
        .insert(HEADER_CURSOR, HeaderValue::from(cursor));
    Ok(resp)
}
