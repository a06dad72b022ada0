//! `gocua export`: a province officer downloads the indicators or a
//! record-level extract of an area from the server (docs/reports.md).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Ctx;
use crate::args::ExportArgs;
use crate::error::{CliError, Doing, ReportOption};
use crate::i18n;

fn bad(option: ReportOption, value: &str) -> CliError {
    CliError::ReportInput {
        option,
        value: value.to_string(),
    }
}

/// The indicators' level, period and day, checked here so that a typo is
/// named before anything is asked of the server.
fn report_terms(a: &ExportArgs) -> Result<Vec<(&'static str, String)>, CliError> {
    let level = a.level.as_deref().unwrap_or("commune");
    if gocua_report::Level::parse(level).is_none() {
        return Err(bad(ReportOption::Level, level));
    }
    let mut q = vec![("level", level.trim().to_string())];
    if let Some(p) = &a.period {
        if gocua_report::Period::parse(p).is_err() {
            return Err(bad(ReportOption::Period, p));
        }
        q.push(("period", p.trim().to_string()));
    }
    if let Some(t) = &a.today {
        if time::Date::parse(
            t.trim(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .is_err()
        {
            return Err(bad(ReportOption::Today, t));
        }
        q.push(("today", t.trim().to_string()));
    }
    Ok(q)
}

pub fn run(ctx: &Ctx, a: ExportArgs) -> Result<(), CliError> {
    let format = a.format.trim().to_ascii_lowercase();
    let (path, query): (&str, Vec<(&str, String)>) = match format.as_str() {
        "json" => {
            let mut q = vec![("area", a.area.trim().to_string())];
            q.extend(report_terms(&a)?);
            (gocua_protocol::paths::REPORT, q)
        }
        "csv" | "xlsx" | "jsonl" => {
            let pii = a.pii.trim().to_ascii_lowercase();
            if !matches!(pii.as_str(), "pseudonymized" | "full" | "none") {
                return Err(bad(ReportOption::Pii, &a.pii));
            }
            // The indicators as a spreadsheet, or records: the report's
            // terms belong to the first only.
            let terms = if pii == "none" {
                if format == "jsonl" {
                    return Err(bad(ReportOption::IndicatorsFormat, &a.format));
                }
                report_terms(&a)?
            } else {
                let given = [
                    ("--period", a.period.is_some()),
                    ("--level", a.level.is_some()),
                    ("--today", a.today.is_some()),
                ];
                if let Some((option, _)) = given.into_iter().find(|(_, g)| *g) {
                    return Err(bad(ReportOption::IndicatorsOnly, option));
                }
                Vec::new()
            };
            let mut q = vec![
                ("area", a.area.trim().to_string()),
                ("format", format.clone()),
                ("pii", pii),
                (
                    "lang",
                    match ctx.lang() {
                        i18n::Lang::Vi => "vi",
                        i18n::Lang::En => "en",
                    }
                    .to_string(),
                ),
            ];
            q.extend(terms);
            if let Some(s) = a.since {
                q.push(("since", s.to_string()));
            }
            (gocua_protocol::paths::EXPORT, q)
        }
        _ => return Err(bad(ReportOption::ExportFormat, &a.format)),
    };
    let bar = (!ctx.out.json && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {bytes} {bytes_per_sec} [{bar:30}] {percent}%")
        {
            b.set_style(style.progress_chars("=> "));
        }
        b
    });
    let mut progress = |done: u64, total: Option<u64>| {
        if let Some(b) = &bar {
            if let Some(t) = total {
                b.set_length(t);
            }
            b.set_position(done);
        }
    };
    let server = field_core::sync::check_server_url(&a.server)?;
    let notice = super::sync::Notice::new(ctx, &server);
    let result = field_core::sync::download_observed(
        &server,
        &a.token,
        path,
        &query,
        &a.out,
        &mut progress,
        Some(&notice),
    );
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let done = result.map_err(|e| match e {
        // The area is named: the officer may have asked for several.
        field_core::Error::Server {
            reason: Some(ref r),
            ..
        } if r == gocua_protocol::reasons::UNKNOWN_AREA
            || r == gocua_protocol::reasons::OUTSIDE_AREA =>
        {
            CliError::About {
                what: format!("--area {}", a.area.trim()),
                error: Box::new(CliError::Core(e)),
            }
        }
        e => super::sync::offline(e, &server, Doing::Export, None),
    })?;
    let lang = ctx.lang();
    ctx.out.emit(&done, || {
        vec![i18n::exported(lang, &done.path, done.bytes, done.cursor)]
    })
}
