//! Every HTTP failure as `{ "error": code, "message": text }` with its status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gocua_protocol::{ErrorBody, codes};

use crate::storage::StorageError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// One of `gocua_protocol::reasons`, where `code` covers several cases.
    pub reason: Option<&'static str>,
    /// Seconds after which the client may try again (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            reason: None,
            retry_after: None,
        }
    }

    /// Try again after `seconds`.
    pub fn retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }

    /// The server cannot take this now; the client retries (503).
    pub fn busy(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, codes::UNAVAILABLE, message).retry_after(5)
    }

    /// The same error, with the reason a device translates it by.
    pub fn because(mut self, reason: &'static str) -> ApiError {
        self.reason = Some(reason);
        self
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, codes::BAD_REQUEST, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, codes::UNAUTHORIZED, message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, codes::FORBIDDEN, message)
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL,
            "the server failed; try again later",
        )
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> ApiError {
        match e {
            StorageError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, m),
            StorageError::Invalid(m) => ApiError::bad_request(m),
            StorageError::Busy(m) => {
                tracing::warn!(error = %m, "database busy");
                ApiError::busy("the server is busy; try again shortly")
            }
            StorageError::Backend(m) | StorageError::Incompatible(m) => {
                tracing::error!(error = %m, "storage failed");
                ApiError::internal()
            }
        }
    }
}

pub fn error_response(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    reasoned_response(status, code, None, message)
}

fn reasoned_response(
    status: StatusCode,
    code: &str,
    reason: Option<&str>,
    message: impl Into<String>,
) -> Response {
    let mut resp = (
        status,
        Json(ErrorBody {
            error: code.to_string(),
            message: message.into(),
            reason: reason.map(str::to_string),
        }),
    )
        .into_response();
    // For the metrics' refusals by code, without reading the body again.
    resp.extensions_mut()
        .insert(crate::metrics::ErrorCode(code.to_string()));
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = reasoned_response(self.status, self.code, self.reason, self.message);
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        resp
    }
}

/// Whether `e`, or an error it was caused by, passes `test` (a body's
/// error arrives wrapped by each layer it went through).
pub fn caused_by(
    e: &(dyn std::error::Error + 'static),
    test: impl Fn(&(dyn std::error::Error + 'static)) -> bool,
) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if test(err) {
            return true;
        }
        cur = err.source();
    }
    false
}
