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

pub fn run(ctx: &Ctx, kind: Option<CatalogueKind>, query: &[String]) -> Result<(), CliError> {
    if kind == Some(CatalogueKind::Communes) {
        return communes(ctx, &query.join(" "));
    }
    let store = ctx.store()?;
    let kinds: Vec<(&'static str, T)> = match kind {
        Some(CatalogueKind::Communes) => Vec::new(),
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
            let header = [i18n::t(lang, T::Code), i18n::t(lang, entry_label(s.kind))];
            lines.extend(table(&header, &rows));
        }
        lines
    })
}

/// The name column's header: a service, an outcome, a group (not a person).
fn entry_label(kind: &str) -> T {
    match kind {
        SERVICE => T::ServiceName,
        OUTCOME => T::OutcomeName,
        _ => T::GroupName,
    }
}

#[derive(Debug, Serialize)]
struct CommuneOut {
    code: String,
    name: String,
    province_code: String,
    province_name: String,
}

/// The communes in force whose name (or province's) holds every word of
/// `query`, accents and case aside; all of them without a query.
fn communes(ctx: &Ctx, query: &str) -> Result<(), CliError> {
    let all = gocua_admin_units::current()
        .map_err(|e| CliError::Core(field_core::Error::Reference(e.to_string())))?;
    let terms = gocua_text::fold_terms(query);
    let holds_all = |text: &str| {
        let words: Vec<String> = gocua_text::fold_terms(text);
        terms.iter().all(|t| words.contains(t))
    };
    // By the commune's name; by its name and province's together only when
    // the name alone matches nothing ("hồng hà hà nội").
    let by_name: Vec<bool> = all.iter().map(|c| holds_all(&c.name)).collect();
    let any_by_name = by_name.iter().any(|b| *b);
    let mut found: Vec<CommuneOut> = all
        .into_iter()
        .zip(by_name)
        .filter(|(c, by_name)| {
            c.code == query.trim()
                || *by_name
                || (!any_by_name && holds_all(&format!("{} {}", c.name, c.province_name)))
        })
        .map(|(c, _)| CommuneOut {
            code: c.code,
            name: c.name,
            province_code: c.province_code,
            province_name: c.province_name,
        })
        .collect();
    found.sort_by(|a, b| {
        gocua_text::compare(&a.province_name, &b.province_name)
            .then_with(|| gocua_text::compare(&a.name, &b.name))
    });
    let lang = ctx.lang();
    ctx.out.emit(&found, || {
        if found.is_empty() {
            return vec![i18n::no_commune(lang, query)];
        }
        let rows: Vec<Vec<String>> = found
            .iter()
            .map(|c| vec![c.code.clone(), c.name.clone(), c.province_name.clone()])
            .collect();
        let mut lines = vec![format!("{}:", i18n::t(lang, T::CommunesCatalogue))];
        lines.extend(table(
            &[
                i18n::t(lang, T::Code),
                i18n::t(lang, T::Commune),
                i18n::t(lang, T::Province),
            ],
            &rows,
        ));
        lines
    })
}
