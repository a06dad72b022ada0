//! `gocua enroll` and `gocua sync`: the device and the sync server.

use std::io::IsTerminal;

use field_core::sync::{self, SyncObserver, SyncPhase, SyncReport};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::Ctx;
use crate::error::{CliError, Doing};
use crate::i18n::{self, Lang};
use crate::output::short;

pub fn enroll(
    ctx: &Ctx,
    server: &str,
    code: &str,
    device_name: Option<String>,
    again: bool,
) -> Result<(), CliError> {
    // A typo in the address is said before the store is touched.
    let server = sync::check_server_url(server)?;
    let store = ctx.store()?;
    if let Some(settings) = store.sync_settings()?
        && !again
    {
        return Err(CliError::AlreadyEnrolled {
            server: settings.server_url,
        });
    }
    // The device keeps its name in the server's list across enrollments.
    let name = match device_name.filter(|n| !n.trim().is_empty()) {
        Some(n) => n,
        None => store.device_name()?.unwrap_or_else(default_device_name),
    };
    let notice = Notice::new(ctx, &server);
    let ident = sync::enroll_observed(&store, &server, code, &name, Some(&notice))
        .map_err(|e| offline(e, &server, Doing::Enroll, None))?;
    ctx.out.emit(&ident, || {
        let villages: Vec<&str> = ident.villages.iter().map(|v| v.name.as_str()).collect();
        vec![i18n::server::enrolled(
            ctx.lang(),
            &server,
            &ident.volunteer_name,
            &ident.team_name,
            &ident.commune_name,
            &ident.province_name,
            &villages.join(", "),
        )]
    })
}

/// The machine's name: shells rarely export HOSTNAME, so the kernel's is
/// read next.
fn default_device_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "gocua-cli".into())
}

/// An unreachable server, said with what was being done and what waits.
pub fn offline(e: field_core::Error, url: &str, during: Doing, pending: Option<i64>) -> CliError {
    match e {
        field_core::Error::Unreachable { attempts, .. } => CliError::Unreachable {
            url: url.to_string(),
            attempts,
            during,
            pending,
        },
        other => CliError::Core(other),
    }
}

/// Tells the person on stderr, as it happens, that the server does not answer
/// and another try follows (nothing with `--json`: stderr is for the error).
pub struct Notice {
    lang: Lang,
    url: String,
    quiet: bool,
}

impl Notice {
    pub fn new(ctx: &Ctx, url: &str) -> Notice {
        Notice {
            lang: ctx.lang(),
            url: url.to_string(),
            quiet: ctx.out.json,
        }
    }
}

impl SyncObserver for Notice {
    fn progress(&self, _phase: SyncPhase, _done: u64, _total: u64) {}

    fn retrying(&self, attempt: u32, attempts: u32) {
        if !self.quiet {
            eprintln!(
                "{}",
                i18n::server::retrying(self.lang, &self.url, attempt, attempts)
            );
        }
    }
}

/// A progress bar on a terminal's stderr; nothing otherwise.
struct Bar {
    bar: Option<ProgressBar>,
    lang: Lang,
    notice: Notice,
}

impl SyncObserver for Bar {
    fn progress(&self, phase: SyncPhase, done: u64, total: u64) {
        let Some(bar) = &self.bar else { return };
        bar.set_message(i18n::server::phase(self.lang, phase));
        if total > 0 {
            bar.set_length(total);
            bar.set_position(done);
        } else {
            bar.tick();
        }
    }

    fn retrying(&self, attempt: u32, attempts: u32) {
        match &self.bar {
            Some(bar) => bar.suspend(|| self.notice.retrying(attempt, attempts)),
            None => self.notice.retrying(attempt, attempts),
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
    let url = store
        .sync_settings()?
        .map(|s| s.server_url)
        .unwrap_or_default();
    let bar = (!ctx.out.json && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}") {
            b.set_style(style.progress_chars("=> "));
        }
        b
    });
    let observer = Bar {
        bar,
        lang: ctx.lang(),
        notice: Notice::new(ctx, &url),
    };
    let result = sync::sync(&store, Some(&observer));
    if let Some(b) = &observer.bar {
        b.finish_and_clear();
    }
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let pending = store.pending_changes().ok();
            return Err(offline(e, &url, Doing::Sync, pending));
        }
    };
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
        if !report.villages_gained.is_empty() {
            lines.push(i18n::villages_gained(lang, &report.villages_gained));
        }
        if !report.villages_lost.is_empty() {
            lines.push(i18n::villages_lost(lang, &report.villages_lost));
        }
        if report.server_restored {
            lines.push(i18n::server_restored(lang, report.offered_again));
        }
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
            lines.push(i18n::server::household_refused(
                lang,
                short(&r.doc_id),
                &r.code,
            ));
        }
        if !report.refused.is_empty() {
            lines.push(i18n::t(lang, i18n::T::SeeRefused).to_string());
        }
        if !conflicts.is_empty() {
            lines.push(i18n::server::conflicts_waiting(lang, conflicts.len()));
        }
        lines
    })
}
