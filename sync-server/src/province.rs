//! What the province reads over HTTP (docs/reports.md): an officer's
//! indicators and record-level extracts of an area of their province. An
//! area outside it is refused with 403 and written to the audit log, as is
//! every extract.

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gocua_protocol::{HEADER_CURSOR, reasons};
use serde::Deserialize;

use crate::api::{AppState, audit, authenticate, blocking};
use crate::error::ApiError;
use crate::export::{
    ExportError, Format, Lang, Pii, PseudonymKey, Request, write_extract, write_indicators,
};
use crate::storage::{AreaScope, AuditEntry, Principal, Role};
use crate::{now, report};

#[derive(Debug, Deserialize)]
pub struct ReportParams {
    area: String,
    period: Option<String>,
    level: Option<String>,
    today: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ExportParams {
    area: String,
    pii: String,
    format: Option<String>,
    since: Option<u64>,
    lang: Option<String>,
    /// With `pii=none` (the indicators), as in [`ReportParams`].
    period: Option<String>,
    level: Option<String>,
    today: Option<String>,
}

/// A report's level, period and day, as asked for.
struct ReportTerms {
    level: gocua_report::Level,
    period: Option<gocua_report::Period>,
    today: time::Date,
}

fn report_terms(
    level: Option<&str>,
    period: Option<&str>,
    today: Option<&str>,
) -> Result<ReportTerms, ApiError> {
    let level_word = level.unwrap_or("commune");
    let level = gocua_report::Level::parse(level_word).ok_or_else(|| {
        ApiError::bad_request(format!(
            "unknown level {level_word:?}: use team, village, commune, province or national"
        ))
    })?;
    let period = match period {
        Some(p) => Some(gocua_report::Period::parse(p).map_err(|_| {
            ApiError::bad_request(format!(
                "period {p:?} is not a reporting period: write YEAR-MONTH, e.g. 2026-11"
            ))
        })?),
        None => None,
    };
    let today = match today {
        Some(t) => time::Date::parse(
            t.trim(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(|_| ApiError::bad_request(format!("today {t:?} is not a day: YEAR-MONTH-DAY")))?,
        None => report::today(),
    };
    Ok(ReportTerms {
        level,
        period,
        today,
    })
}

/// The area an officer asks for, checked against their province.
async fn officer_scope(
    state: &AppState,
    principal: &Principal,
    area: &str,
    action: &str,
) -> Result<AreaScope, ApiError> {
    let Principal::Account {
        role: Role::Officer,
        province_code: Some(province),
        commune_code,
        ..
    } = principal
    else {
        return Err(ApiError::forbidden(
            "only a province officer's account reads reports and extracts",
        )
        .because(reasons::NOT_AN_OFFICER));
    };
    let wanted = area.trim().to_string();
    // No area code or village id holds a control character, and PostgreSQL
    // refuses a NUL in a query's text (a 500 instead of this 400).
    let scope = if wanted.chars().any(char::is_control) {
        None
    } else {
        blocking(state, move |s| s.area_scope(&wanted)).await?
    };
    let scope = scope.ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown area {area:?}: give a province or commune code of the 2025 list, or a village id"
            ))
            .because(reasons::UNKNOWN_AREA)
        })?;
    let checked = scope.clone();
    let inside = match commune_code {
        // A commune officer: the commune itself or one of its villages.
        Some(commune) => {
            let commune = commune.clone();
            blocking(state, move |s| {
                Ok(match &checked {
                    AreaScope::Commune(c) => c == &commune,
                    AreaScope::Village(v) => s.commune_villages(&commune)?.contains(v),
                    _ => false,
                })
            })
            .await?
        }
        None => {
            blocking(state, move |s| s.scope_province(&checked))
                .await?
                .as_deref()
                == Some(province.as_str())
        }
    };
    let reads = commune_code
        .as_ref()
        .map_or(format!("province {province}"), |c| format!("commune {c}"));
    if !inside {
        audit(
            state,
            AuditEntry {
                at: now(),
                actor: principal.actor(),
                action: format!("{action}_refused"),
                subject: format!("area={area}"),
                detail: format!("outside {reads}"),
            },
        )
        .await;
        return Err(ApiError::forbidden(format!(
            "this account reads {reads} only; {area:?} is outside it"
        ))
        .because(reasons::OUTSIDE_AREA));
    }
    Ok(scope)
}

/// `GET /v1/report?area=CODE[&period=YYYY-MM][&level=...][&today=YYYY-MM-DD]`:
/// the indicators as JSON (`gocua_report::Report`).
pub async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ReportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let principal = authenticate(&state, &headers).await?;
    let scope = officer_scope(&state, &principal, &q.area, "report").await?;
    let ReportTerms {
        level,
        period,
        today,
    } = report_terms(q.level.as_deref(), q.period.as_deref(), q.today.as_deref())?;
    let r = blocking(&state, move |s| {
        report::indicators(s, &scope, level, period, today, report::REVIEWS_LISTED)
    })
    .await?;
    audit(
        &state,
        AuditEntry {
            at: now(),
            actor: principal.actor(),
            action: "report".into(),
            subject: format!("area={}", q.area),
            detail: format!("period={} level={}", r.period, level.code()),
        },
    )
    .await;
    Ok(axum::Json(r).into_response())
}

/// `GET /v1/export?area=CODE&pii=pseudonymized[&format=csv|xlsx|jsonl][&since=N][&lang=vi|en]`:
/// the extract's file, with the cursor to ask from next in [`HEADER_CURSOR`].
/// With `pii=none` (and `format=csv|xlsx`, `period`, `level`, `today` as for
/// `/v1/report`): the indicators as a spreadsheet, under the report's rules.
pub async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ExportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let principal = authenticate(&state, &headers).await?;
    let pii = Pii::parse(&q.pii).ok_or_else(|| {
        ApiError::bad_request(format!(
            "unknown PII level {:?}: use none, pseudonymized or full",
            q.pii
        ))
    })?;
    let action = if pii == Pii::None { "report" } else { "export" };
    let scope = officer_scope(&state, &principal, &q.area, action).await?;
    let format_word = q.format.as_deref().unwrap_or("csv");
    let format = Format::parse(format_word).ok_or_else(|| {
        ApiError::bad_request(format!(
            "unknown format {format_word:?}: use csv, xlsx or jsonl"
        ))
    })?;
    let lang = match q.lang.as_deref().unwrap_or("vi") {
        "vi" => Lang::Vi,
        "en" => Lang::En,
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown language {other:?}: use vi or en"
            )));
        }
    };
    if pii == Pii::None {
        return indicators_file(state, principal, q, scope, format, lang).await;
    }
    if let Some(name) = [
        ("period", &q.period),
        ("level", &q.level),
        ("today", &q.today),
    ]
    .into_iter()
    .find_map(|(name, v)| v.as_ref().map(|_| name))
    {
        return Err(ApiError::bad_request(format!(
            "{name} is for the indicators (pii=none); a record-level extract holds every period"
        )));
    }
    if pii == Pii::Full {
        audit(
            &state,
            AuditEntry {
                at: now(),
                actor: principal.actor(),
                action: "export_refused".into(),
                subject: format!("area={}", q.area),
                detail: "pii=full".into(),
            },
        )
        .await;
        return Err(ApiError::forbidden(
            "full extracts are made on the server machine by its operator (gocua-server export); an officer's account may ask for pseudonymized",
        )
        .because(reasons::FULL_EXTRACT_ON_SERVER));
    }
    let request = Request {
        format,
        pii,
        lang,
        sensitive: Vec::new(),
        csv_excel_text: true,
        sheet_rows: None,
    };
    request
        .check()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let since = q.since.unwrap_or(0);
    // Written to a file next to nothing else, then sent from it: a
    // province's extract never sits whole in memory.
    let file = temporary_file(format);
    let path = file.clone();
    let outcome = blocking(&state, move |s| {
        let key = PseudonymKey::new(s.pseudonym_key()?);
        write_extract(s, &scope, since, &request, &key, &path).map_err(Into::into)
    })
    .await?;
    audit(
        &state,
        AuditEntry {
            at: now(),
            actor: principal.actor(),
            action: format!("export_{}", outcome.pii),
            subject: format!("area={}", q.area),
            detail: format!(
                "format={} since={since} rows={}",
                outcome.format,
                serde_json::to_string(&outcome.rows).unwrap_or_default()
            ),
        },
    )
    .await;
    let name = format!(
        "gocua-{}-{}.{}",
        q.area.trim(),
        outcome.cursor,
        format.extension()
    );
    send_file(&file, format, &name, Some(outcome.cursor)).await
}

/// A file on the server's disk for this request only (random name).
fn temporary_file(format: Format) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "gocua-extract-{}.{}",
        crate::secrets::hex(&crate::secrets::random_bytes::<12>()),
        format.extension()
    ))
}

/// The indicators of `scope` as a spreadsheet (`pii=none`), audited as a
/// report.
async fn indicators_file(
    state: AppState,
    principal: Principal,
    q: ExportParams,
    scope: AreaScope,
    format: Format,
    lang: Lang,
) -> Result<Response, ApiError> {
    if format == Format::Jsonl {
        return Err(ApiError::bad_request(
            ExportError::AggregatesOnly.to_string(),
        ));
    }
    if q.since.is_some() {
        return Err(ApiError::bad_request(
            "since is for record-level extracts; the indicators are made whole each time",
        ));
    }
    let ReportTerms {
        level,
        period,
        today,
    } = report_terms(q.level.as_deref(), q.period.as_deref(), q.today.as_deref())?;
    let request = Request {
        format,
        pii: Pii::None,
        lang,
        sensitive: Vec::new(),
        csv_excel_text: true,
        sheet_rows: None,
    };
    let file = temporary_file(format);
    let path = file.clone();
    let outcome = blocking(&state, move |s| {
        let r = report::indicators(s, &scope, level, period, today, report::REVIEWS_LISTED)?;
        write_indicators(s, &scope, &r, &request, &path).map_err(Into::into)
    })
    .await?;
    audit(
        &state,
        AuditEntry {
            at: now(),
            actor: principal.actor(),
            action: "report".into(),
            subject: format!("area={}", q.area),
            detail: format!(
                "period={} level={} format={}",
                outcome.period, outcome.level, outcome.format
            ),
        },
    )
    .await;
    let name = format!(
        "gocua-{}-{}.{}",
        q.area.trim(),
        outcome.period,
        format.extension()
    );
    send_file(&file, format, &name, None).await
}

/// Streams `file` (written for this request) to the client and unlinks it.
async fn send_file(
    file: &std::path::Path,
    format: Format,
    name: &str,
    cursor: Option<u64>,
) -> Result<Response, ApiError> {
    let opened = tokio::fs::File::open(file).await;
    // Unlinked once open: the open handle keeps the data until it is sent.
    let _ = tokio::fs::remove_file(file).await;
    let f = opened.map_err(|e| {
        tracing::error!(error = %e, "extract file vanished");
        ApiError::internal()
    })?;
    let length = f.metadata().await.map(|m| m.len()).ok();
    let mut resp = Response::new(Body::from_stream(tokio_util::io::ReaderStream::new(f)));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    let content_type = match format {
        Format::Csv => "application/zip",
        Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Format::Jsonl => "application/x-ndjson",
    };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(n) = length {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    if let Some(c) = cursor {
        h.insert(HEADER_CURSOR, HeaderValue::from(c));
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
