//! `gocua catalogue`: services, outcomes and target groups with their names.

use field_core::CatalogueEntry;
use field_core::catalogue::{OUTCOME, SERVICE, TARGET_GROUP};
use serde::Serialize;

use super::Ctx;
use crate::args::CatalogueKind;
use crate::error::CliError;
use crate::i18n::{self, Lang, T};
use crate::output::table;

#[derive(Debug, Serialize)]
struct Section {
    kind: &'static str,
    entries: Vec<CatalogueEntry>,
}

pub fn run(ctx: &Ctx, kind: Option<CatalogueKind>) -> Result<(), CliError> {
    let store = ctx.store()?;
    let kinds: Vec<(&'static str, T)> = match kind {
        Some(CatalogueKind::Services) => vec![(SERVICE, T::ServicesCatalogue)],
        Some(CatalogueKind::Outcomes) => vec![(OUTCOME, T::OutcomesCatalogue)],
        Some(CatalogueKind::Groups) => vec![(TARGET_GROUP, T::GroupsCatalogue)],
        None => vec![
            (SERVICE, T::ServicesCatalogue),
            (OUTCOME, T::OutcomesCatalogue),
            (TARGET_GROUP, T::GroupsCatalogue),
        ],
    };
    let mut sections = Vec::new();
    for (k, title) in kinds {
        sections.push((
            title,
            Section {
                kind: k,
                entries: store.catalogue(k)?,
            },
        ));
    }
    let lang = ctx.lang();
    let values: Vec<&Section> = sections.iter().map(|(_, s)| s).collect();
    ctx.out.emit(&values, || {
        let mut lines = Vec::new();
        for (title, s) in &sections {
            if !lines.is_empty() {
                lines.push(String::new());
            }
            lines.push(format!("{}:", i18n::t(lang, *title)));
            let rows: Vec<Vec<String>> = s
                .entries
                .iter()
                .map(|e| {
                    let name = match lang {
                        Lang::Vi => e.name_vi.clone(),
                        Lang::En => e.name_en.clone(),
                    };
                    vec![e.code.clone(), name]
                })
                .collect();
            let header = [i18n::t(lang, T::Code), i18n::t(lang, T::Name)];
            lines.extend(table(&header, &rows));
        }
        lines
    })
}
