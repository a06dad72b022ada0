//! `gocua status`: who, where, how many, what is pending.

use field_core::{Identity, StoreStatus};
use serde::Serialize;

use super::Ctx;
use crate::error::CliError;
use crate::i18n::{self, T};
use crate::output::local_time;

#[derive(Debug, Serialize)]
struct StatusOut {
    identity: Option<Identity>,
    #[serde(flatten)]
    status: StoreStatus,
    store_path: String,
}

pub fn run(ctx: &Ctx) -> Result<(), CliError> {
    let store = ctx.store()?;
    let identity = match store.identity() {
        Ok(i) => Some(i),
        Err(field_core::Error::NotInitialized) => None,
        Err(e) => return Err(e.into()),
    };
    let out = StatusOut {
        identity,
        status: store.status()?,
        store_path: store.path().display().to_string(),
    };
    let lang = ctx.lang();
    ctx.out.emit(&out, || {
        let mut lines = Vec::new();
        let row = |label: T, value: String| format!("{}: {value}", i18n::t(lang, label));
        match &out.identity {
            Some(i) => {
                let phone = i
                    .volunteer_phone
                    .as_deref()
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default();
                lines.push(row(T::Volunteer, format!("{}{phone}", i.volunteer_name)));
                lines.push(row(T::Team, i.team_name.clone()));
                lines.push(row(
                    T::Commune,
                    format!(
                        "{} ({}), {}",
                        i.commune_name, i.commune_code, i.province_name
                    ),
                ));
                let villages: Vec<&str> = i.villages.iter().map(|v| v.name.as_str()).collect();
                lines.push(row(T::Villages, villages.join(", ")));
            }
            None => lines.push(i18n::t(lang, T::NotInitialized).to_string()),
        }
        let s = &out.status;
        lines.push(row(T::Households, s.households.to_string()));
        lines.push(row(T::Persons, s.persons.to_string()));
        lines.push(row(T::Visits, s.visits.to_string()));
        lines.push(row(T::PendingChanges, s.pending_changes.to_string()));
        lines.push(row(T::Conflicts, s.conflicts.to_string()));
        lines.push(row(T::ProblemCount, s.problems.to_string()));
        if let Some(at) = &s.last_change_at {
            lines.push(row(T::LastChange, local_time(at)));
        }
        lines.push(row(
            T::Server,
            s.server_url
                .clone()
                .unwrap_or_else(|| i18n::t(lang, T::NotEnrolledYet).to_string()),
        ));
        if let Some(at) = &s.last_sync_at {
            lines.push(row(T::LastSync, local_time(at)));
        }
        if s.refused_changes > 0 {
            lines.push(row(T::RefusedChanges, s.refused_changes.to_string()));
        }
        if s.quarantined_changes > 0 {
            lines.push(row(T::Quarantined, s.quarantined_changes.to_string()));
        }
        if s.waiting_changes > 0 {
            lines.push(row(T::WaitingChanges, s.waiting_changes.to_string()));
        }
        lines.push(row(T::SchemaVersion, s.schema_version.to_string()));
        lines.push(row(T::StorePath, out.store_path.clone()));
        lines
    })
}
