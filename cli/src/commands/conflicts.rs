//! `gocua conflicts [resolve HOUSEHOLD PATH VALUE]`: clashes between devices and
//! problems (values breaking the schema or a rule), side by side.

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
            let conflicts = store.conflict_details()?;
            let problems = store.problems()?;
            let value = serde_json::json!({ "conflicts": conflicts, "problems": problems });
            ctx.out.emit(&value, || {
                let l = |t: T| i18n::t(lang, t);
                let mut lines = Vec::new();
                if conflicts.is_empty() {
                    lines.push(l(T::NoConflicts).to_string());
                } else {
                    let rows: Vec<Vec<String>> = conflicts
                        .iter()
                        .map(|c| {
                            let values: Vec<String> = if c.origins.is_empty() {
                                c.conflict.values.clone()
                            } else {
                                c.origins
                                    .iter()
                                    .map(|o| i18n::value_set_by(lang, o))
                                    .collect()
                            };
                            // The label to read, the path to type for `resolve`.
                            vec![
                                short(&c.conflict.household_id).to_string(),
                                format!(
                                    "{} `{}`",
                                    i18n::path_label(lang, &c.conflict.path),
                                    c.conflict.path
                                ),
                                values.join(" | "),
                            ]
                        })
                        .collect();
                    lines.push(format!("{}:", l(T::Conflicts)));
                    lines.extend(table(&[l(T::Household), l(T::Path), l(T::Values)], &rows));
                }
                lines.push(String::new());
                if problems.is_empty() {
                    lines.push(l(T::NoProblems).to_string());
                } else {
                    let rows: Vec<Vec<String>> = problems
                        .iter()
                        .map(|p| {
                            vec![
                                short(&p.household_id).to_string(),
                                i18n::path_label(lang, &p.path),
                                i18n::household_problem(lang, p),
                            ]
                        })
                        .collect();
                    lines.push(format!("{}:", l(T::Problems)));
                    lines.extend(table(&[l(T::Household), l(T::Path), l(T::Problem)], &rows));
                }
                lines
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
