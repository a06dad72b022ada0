//! `gocua enroll` and `gocua sync`: the device and the sync server.

use std::io::IsTerminal;

use field_core::sync::{self, SyncObserver, SyncPhase, SyncReport};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::Ctx;
use crate::error::CliError;
use crate::i18n::{self, Lang};
use crate::output::short;

pub fn enroll(
    ctx: &Ctx,
    server: &str,
    code: &str,
    device_name: Option<String>,
) -> Result<(), CliError> {
    let store = ctx.store()?;
    let name = device_name.unwrap_or_else(default_device_name);
    let ident = sync::enroll(&store, server, code, &name)?;
    ctx.out.emit(&ident, || {
        let villages: Vec<&str> = ident.villages.iter().map(|v| v.name.as_str()).collect();
        let (vi, en) = (
            format!(
                "Đã đăng ký máy với {server}: {} — {}, {} ({}). Các thôn: {}.",
                ident.volunteer_name,
                ident.team_name,
                ident.commune_name,
                ident.province_name,
                villages.join(", ")
            ),
            format!(
                "Device enrolled with {server}: {} — {}, {} ({}). Villages: {}.",
                ident.volunteer_name,
                ident.team_name,
                ident.commune_name,
                ident.province_name,
                villages.join(", ")
            ),
        );
        vec![pick(ctx.lang(), vi, en)]
    })
}

fn default_device_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "gocua-cli".into())
}

fn pick(lang: Lang, vi: String, en: String) -> String {
    match lang {
        Lang::Vi => vi,
        Lang::En => en,
    }
}

/// A progress bar on a terminal's stderr; nothing otherwise.
struct Bar {
    bar: ProgressBar,
    lang: Lang,
}

impl SyncObserver for Bar {
    fn progress(&self, phase: SyncPhase, done: u64, total: u64) {
        let label = match (self.lang, phase) {
            (Lang::Vi, SyncPhase::Push) => "Gửi thay đổi",
            (Lang::En, SyncPhase::Push) => "Sending changes",
            (Lang::Vi, SyncPhase::Bootstrap) => "Tải dữ liệu ban đầu",
            (Lang::En, SyncPhase::Bootstrap) => "First download",
            (Lang::Vi, SyncPhase::Pull) => "Nhận thay đổi",
            (Lang::En, SyncPhase::Pull) => "Receiving changes",
        };
        self.bar.set_message(label);
        if total > 0 {
            self.bar.set_length(total);
            self.bar.set_position(done);
        } else {
            self.bar.tick();
        }
    }
}

#[derive(Debug, Serialize)]
struct SyncOut<'a> {
    #[serde(flatten)]
    report: &'a SyncReport,
    pending_changes: i64,
    /// All conflicts waiting for a decision (the report's `conflicts` counts those
    /// in the documents this sync touched).
    conflicts_waiting: usize,
}

pub fn run(ctx: &Ctx) -> Result<(), CliError> {
    let store = ctx.store()?;
    let bar = if !ctx.out.json && std::io::stderr().is_terminal() {
        let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}") {
            b.set_style(style.progress_chars("=> "));
        }
        Some(Bar {
            bar: b,
            lang: ctx.lang(),
        })
    } else {
        None
    };
    let result = sync::sync(&store, bar.as_ref().map(|b| b as &dyn SyncObserver));
    if let Some(b) = &bar {
        b.bar.finish_and_clear();
    }
    let report = result?;
    let conflicts = store.conflicts()?;
    let out = SyncOut {
        report: &report,
        pending_changes: store.pending_changes()?,
        conflicts_waiting: conflicts.len(),
    };
    let lang = ctx.lang();
    ctx.out.emit(&out, || {
        let mut lines = vec![i18n::sync_done(
            lang,
            report.sent,
            report.already_on_server,
            report.received,
            report.documents_updated,
            report.bootstrapped,
            out.pending_changes,
        )];
        if report.actor_renewed || report.reissued > 0 {
            lines.push(i18n::store_copy_recognized(lang, report.reissued));
        }
        if report.quarantined_by_server > 0 {
            lines.push(i18n::quarantined_by_server(
                lang,
                report.quarantined_by_server,
            ));
        }
        if report.quarantined > 0 {
            lines.push(i18n::changes_quarantined(lang, report.quarantined));
        }
        if report.waiting > 0 {
            lines.push(i18n::changes_waiting(lang, report.waiting));
        }
        for r in &report.refused {
            let reason = i18n::refusal(lang, &r.code);
            lines.push(pick(
                lang,
                format!("Máy chủ từ chối hộ {}: {reason}.", short(&r.doc_id)),
                format!("The server refused household {}: {reason}.", short(&r.doc_id)),
            ));
        }
        if !report.refused.is_empty() {
            lines.push(pick(
                lang,
                "Xem và xử lý: gocua changes refused.".to_string(),
                "See and deal with them: gocua changes refused.".to_string(),
            ));
        }
        if !conflicts.is_empty() {
            lines.push(pick(
                lang,
                format!(
                    "{} trường bị sửa khác nhau trên hai máy đang chờ quyết định: xem `gocua conflicts`.",
                    conflicts.len()
                ),
                format!(
                    "{} fields changed differently on two devices wait for a decision: see `gocua conflicts`.",
                    conflicts.len()
                ),
            ));
        }
        lines
    })
}
