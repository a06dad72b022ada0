//! `gocua visit record|list|edit|cancel`.

use field_core::catalogue::{OUTCOME, SERVICE};
use field_core::{NewVisit, ServiceOutcome, VisitEdit};

use super::{Ctx, Names};
use crate::args::{CorrectionArgs, VisitCmd, VisitEditArgs, VisitRecordArgs};
use crate::error::CliError;
use crate::i18n::{self, T};
use crate::output::{local_time, short, table};

/// `CODE[:OUTCOME[:NOTE]]`, outcome `done` when absent.
fn service(spec: &str) -> ServiceOutcome {
    let mut parts = spec.splitn(3, ':');
    let service = parts.next().unwrap_or_default().trim().to_string();
    let outcome = match parts.next().map(str::trim) {
        Some(o) if !o.is_empty() => o.to_string(),
        _ => "done".to_string(),
    };
    let note = parts
        .next()
        .map(str::to_string)
        .filter(|n| !n.trim().is_empty());
    ServiceOutcome {
        service,
        outcome,
        note,
    }
}

pub fn run(ctx: &Ctx, cmd: VisitCmd) -> Result<(), CliError> {
    match cmd {
        VisitCmd::Record(a) => record(ctx, a),
        VisitCmd::List { household, limit } => list(ctx, household.as_deref(), limit),
        VisitCmd::Edit(a) => edit(ctx, a),
        VisitCmd::Cancel(a) => cancel(ctx, a),
    }
}

fn edit(ctx: &Ctx, a: VisitEditArgs) -> Result<(), CliError> {
    let store = ctx.store()?;
    let visit = store.edit_visit(
        &a.visit,
        VisitEdit {
            visited_at: a.at,
            entered_late: a.entered_late,
            duration_minutes: a.duration,
            follow_up_on: a.follow_up,
            feedback: a.feedback,
            services: a.services.iter().map(|s| service(s)).collect(),
            remove_services: a.remove_services,
        },
    )?;
    ctx.out.emit(&visit, || {
        vec![i18n::visit_edited(ctx.lang(), short(&visit.id))]
    })
}

fn cancel(ctx: &Ctx, a: CorrectionArgs) -> Result<(), CliError> {
    let store = ctx.store()?;
    let visit = if a.undo {
        store.restore_visit(&a.id)?
    } else {
        store.cancel_visit(&a.id, a.reason)?
    };
    ctx.out.emit(&visit, || {
        vec![i18n::visit_cancelled(
            ctx.lang(),
            short(&visit.id),
            visit.cancelled.is_some(),
        )]
    })
}

fn record(ctx: &Ctx, a: VisitRecordArgs) -> Result<(), CliError> {
    let store = ctx.store()?;
    let visit = store.record_visit(
        &a.household,
        NewVisit {
            visited_at: a.at,
            person_ids: a.persons,
            services: a.services.iter().map(|s| service(s)).collect(),
            duration_minutes: a.duration,
            follow_up_on: a.follow_up,
            feedback: a.feedback,
            consent_id: a.consent,
            other_volunteer_ids: a.with,
            entered_late: a.entered_late,
        },
    )?;
    ctx.out.emit(&visit, || {
        vec![i18n::visit_recorded(
            ctx.lang(),
            short(&visit.id),
            &local_time(&visit.visited_at),
        )]
    })
}

fn list(ctx: &Ctx, household: Option<&str>, limit: u32) -> Result<(), CliError> {
    let store = ctx.store()?;
    let visits = store.list_visit_rows(household, limit)?;
    let names = Names::load(&store, &[SERVICE, OUTCOME])?;
    let lang = ctx.lang();
    // One household's visits say whose they are in the heading already.
    let across = household.is_none();
    ctx.out.emit(&visits, || {
        if visits.is_empty() {
            return vec![i18n::t(lang, T::NoVisits).to_string()];
        }
        let rows: Vec<Vec<String>> = visits
            .iter()
            .map(|row| {
                let v = &row.visit;
                let services: Vec<String> = v
                    .services
                    .iter()
                    .map(|s| {
                        format!(
                            "{} ({})",
                            names.name(lang, SERVICE, &s.service),
                            names.name(lang, OUTCOME, &s.outcome)
                        )
                    })
                    .collect();
                let mut when = local_time(&v.visited_at);
                if v.cancelled.is_some() {
                    when.push_str(&format!(" ({})", i18n::t(lang, T::Cancelled)));
                }
                let mut cells = vec![short(&v.id).to_string(), when];
                if across {
                    cells.push(format!("{} ({})", row.head_name, short(&row.household_id)));
                    cells.push(row.volunteer_names.join(", "));
                }
                cells.push(services.join("; "));
                cells
            })
            .collect();
        let l = |t: T| i18n::t(lang, t);
        let mut header = vec![l(T::ShortId), l(T::When)];
        if across {
            header.push(l(T::Household));
            header.push(l(T::Volunteer));
        }
        header.push(l(T::Services));
        table(&header, &rows)
    })
}

#[cfg(test)]
mod tests {
    use super::service;

    #[test]
    fn service_specs() {
        let s = service("vneid_register");
        assert_eq!(
            (s.service.as_str(), s.outcome.as_str()),
            ("vneid_register", "done")
        );
        let s = service("cccd:blocked:cần công an xã: hẹn lại");
        assert_eq!(s.outcome, "blocked");
        assert_eq!(s.note.as_deref(), Some("cần công an xã: hẹn lại"));
        assert_eq!(service("cccd::").outcome, "done");
    }
}
