//! `gocua conflicts [resolve HOUSEHOLD PATH VALUE]`.

use super::Ctx;
use crate::args::ConflictsCmd;
use crate::error::CliError;
use crate::i18n::{self, T};
use crate::output::{short, table};

pub fn run(ctx: &Ctx, action: Option<ConflictsCmd>) -> Result<(), CliError> {
    let store = ctx.store()?;
    let lang = ctx.lang();
    match action {
        None => {
            let conflicts = store.conflicts()?;
            ctx.out.emit(&conflicts, || {
                if conflicts.is_empty() {
                    return vec![i18n::t(lang, T::NoConflicts).to_string()];
                }
                let rows: Vec<Vec<String>> = conflicts
                    .iter()
                    .map(|c| {
                        vec![
                            short(&c.household_id).to_string(),
                            c.path.clone(),
                            c.values.join(" | "),
                        ]
                    })
                    .collect();
                let l = |t: T| i18n::t(lang, t);
                table(&[l(T::Household), l(T::Path), l(T::Values)], &rows)
            })
        }
        Some(ConflictsCmd::Resolve {
            household,
            path,
            value,
        }) => {
            let h = store.resolve_conflict(&household, &path, &value)?;
            ctx.out
                .emit(&h, || vec![i18n::conflict_resolved(lang, &path, &value)])
        }
    }
}
