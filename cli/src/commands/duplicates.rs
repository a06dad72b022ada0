//! `gocua duplicates`: pairs of households that may be one registered twice.

use super::Ctx;
use crate::error::CliError;
use crate::i18n::{self, FindText};
use crate::output::{short, table};

pub fn run(ctx: &Ctx, village: Option<&str>) -> Result<(), CliError> {
    let store = ctx.store()?;
    let pairs = store.duplicate_candidates(village)?;
    let lang = ctx.lang();
    ctx.out.emit(&pairs, || {
        if pairs.is_empty() {
            return vec![i18n::find_text(lang, FindText::NoDuplicates).to_string()];
        }
        let rows: Vec<Vec<String>> = pairs
            .iter()
            .map(|p| {
                let mut score = p.score.to_string();
                if p.near_certain {
                    score.push_str(&format!(
                        " ({})",
                        i18n::find_text(lang, FindText::NearCertain)
                    ));
                }
                vec![
                    score,
                    format!("{} {}", short(&p.a.id), p.a.head_name),
                    format!("{} {}", short(&p.b.id), p.b.head_name),
                    i18n::reasons(lang, &p.reasons),
                ]
            })
            .collect();
        let mut lines = table(
            &[
                i18n::find_text(lang, FindText::Score),
                i18n::find_text(lang, FindText::HouseholdA),
                i18n::find_text(lang, FindText::HouseholdB),
                i18n::find_text(lang, FindText::Reasons),
            ],
            &rows,
        );
        lines.push(i18n::find_text(lang, FindText::MergeHint).to_string());
        lines
    })
}
