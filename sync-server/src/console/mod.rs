//! The web console (docs/operations.md, "Web console"): server-rendered pages
//! under `/console/` for the operator and for province and commune officers,
//! each seeing and changing only their area. Signed in with a password
//! (`gocua-server admin account password`), held by a session cookie, every
//! form checked against the session's anti-forgery token; changes go through
//! `crate::admin`, the same functions the admin commands call.

pub mod auth;
mod chart;
mod pages;
pub mod text;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

use crate::api::AppState;
use crate::storage::{Account, AreaScope, Role, Storage, StorageError, StorageResult};
pub use text::Lang;

/// Where the console lives.
pub const BASE: &str = "/console";
/// A form is a few fields: anything larger is not one of ours.
const MAX_FORM_BYTES: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let body_timeout = Duration::from_secs(state.config.body_timeout_seconds);
    Router::new()
        .route(BASE, get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(pages::overview))
        .route("/console/login", get(auth::login_page).post(auth::login))
        .route("/console/logout", post(auth::logout))
        .route("/console/coverage", get(pages::coverage))
        .route("/console/devices", get(pages::devices))
        .route(
            "/console/devices/{id}/revoke",
            get(pages::revoke_confirm).post(pages::revoke),
        )
        .route(
            "/console/villages",
            get(pages::villages).post(pages::add_village),
        )
        .route(
            "/console/villages/{id}",
            get(pages::village_form).post(pages::edit_village),
        )
        .route("/console/teams", get(pages::teams).post(pages::add_team))
        .route(
            "/console/teams/{id}",
            get(pages::team_form).post(pages::edit_team),
        )
        .route(
            "/console/volunteers",
            get(pages::volunteers).post(pages::add_volunteer),
        )
        .route(
            "/console/volunteers/{id}",
            get(pages::volunteer_form).post(pages::edit_volunteer),
        )
        .route("/console/volunteers/{id}/code", post(pages::enroll_code))
        .route("/console/clashes", get(pages::clashes))
        .route("/console/audit", get(pages::audit))
        .route(
            "/console/{*rest}",
            get(pages::not_found).post(pages::not_found),
        )
        .with_state(state)
        .layer(middleware::from_fn(text::remember_lang))
        .layer(middleware::from_fn(page_headers))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            body_timeout,
        ))
        .layer(TraceLayer::new_for_http())
}

/// Pages are not cached (they show personal data), not framed by other
/// sites, and load nothing from anywhere else.
async fn page_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The part of the country an account sees and changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Area {
    /// An operator: everything.
    All,
    Province(String),
    Commune(String),
}

impl Area {
    /// An account's area; `None` for an officer without one (no console).
    pub fn of(account: &Account) -> Option<Area> {
        match (account.role, &account.commune_code, &account.province_code) {
            (Role::Operator, _, _) => Some(Area::All),
            (Role::Officer, Some(c), _) => Some(Area::Commune(c.clone())),
            (Role::Officer, None, Some(p)) => Some(Area::Province(p.clone())),
            (Role::Officer, None, None) => None,
        }
    }

    pub fn scope(&self) -> AreaScope {
        match self {
            Area::All => AreaScope::Country,
            Area::Province(p) => AreaScope::Province(p.clone()),
            Area::Commune(c) => AreaScope::Commune(c.clone()),
        }
    }

    /// The audit rows the area reads (`None`: all of them).
    pub fn audit_area(&self) -> Option<crate::storage::AuditArea> {
        match self {
            Area::All => None,
            Area::Province(p) => Some(crate::storage::AuditArea::Province(p.clone())),
            Area::Commune(c) => Some(crate::storage::AuditArea::Commune(c.clone())),
        }
    }

    /// Whether a commune (code in force) is in the area.
    pub fn holds(&self, storage: &dyn Storage, commune_code: &str) -> StorageResult<bool> {
        Ok(match self {
            Area::All => true,
            Area::Commune(c) => c == commune_code,
            Area::Province(p) => {
                storage.commune_province(commune_code)?.as_deref() == Some(p.as_str())
            }
        })
    }

    /// The commune a form must name when the area is one commune.
    pub fn commune(&self) -> Option<&str> {
        match self {
            Area::Commune(c) => Some(c),
            _ => None,
        }
    }
}

/// A page that could not be shown: its status and what to tell the person.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: text::Msg,
    /// Detail from below (a storage message, in English), shown after it.
    pub detail: String,
    pub retry_after: Option<u64>,
}

impl Refusal {
    pub fn new(status: StatusCode, message: text::Msg) -> Refusal {
        Refusal {
            status,
            message,
            detail: String::new(),
            retry_after: None,
        }
    }

    pub fn forbidden() -> Refusal {
        Refusal::new(StatusCode::FORBIDDEN, text::Msg::OutsideArea)
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Refusal {
        self.detail = detail.into();
        self
    }

    /// Renders the refusal as a page in `lang`.
    pub fn page(self, lang: Lang) -> Response {
        let body = pages::error_page(lang, &self);
        let mut resp = (self.status, Html(body)).into_response();
        if let Some(wait) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&wait.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

impl From<StorageError> for Refusal {
    fn from(e: StorageError) -> Refusal {
        match e {
            StorageError::NotFound(m) => {
                Refusal::new(StatusCode::NOT_FOUND, text::Msg::NotFound).with_detail(m)
            }
            StorageError::Invalid(m) => {
                Refusal::new(StatusCode::BAD_REQUEST, text::Msg::BadInput).with_detail(m)
            }
            StorageError::Busy(m) => {
                tracing::warn!(error = %m, "console: the database is busy");
                Refusal::new(StatusCode::SERVICE_UNAVAILABLE, text::Msg::Busy)
            }
            StorageError::Backend(m) | StorageError::Incompatible(m) => {
                tracing::error!(error = %m, "console: the database failed");
                Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, text::Msg::Failed)
            }
        }
    }
}

/// Runs `f` on the storage off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn Storage) -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    let storage = state.storage.clone();
    match tokio::task::spawn_blocking(move || f(storage.as_ref())).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "console: storage task failed");
            Err(Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                text::Msg::Failed,
            ))
        }
    }
}

/// A stored time as a person in Vietnam reads it: `2026-05-01 14:03`.
pub fn local_time(secs: i64) -> String {
    let offset = time::UtcOffset::from_hms(7, 0, 0).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .map(|t| t.to_offset(offset))
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]"
            ))
            .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

/// The start of a day (`YYYY-MM-DD`, Vietnam time) in unix seconds.
pub fn day_start(day: &str) -> Option<i64> {
    let date = time::Date::parse(
        day.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    let offset = time::UtcOffset::from_hms(7, 0, 0).ok()?;
    Some(date.midnight().assume_offset(offset).unix_timestamp())
}
