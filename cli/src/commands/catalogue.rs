//! `gocua catalogue`: services, outcomes and target groups with their names,
//! and the rules of the services to offer next (listed, or replaced by a
//! province's own file).

use std::path::{Path, PathBuf};

use field_core::CatalogueEntry;
use field_core::catalogue::{OUTCOME, SERVICE, TARGET_GROUP};
use field_core::work::SuggestionRule;
use serde::Serialize;

use super::{Ctx, Names, read_file};
use crate::args::CatalogueKind;
use crate::error::CliError;
use crate::i18n::{self, Lang, T, W};
use crate::output::table;

#[derive(Debug, Serialize)]
struct Section {
    kind: &'static str,
    entries: Vec<CatalogueEntry>,
}

pub fn run(
    ctx: &Ctx,
    kind: Option<CatalogueKind>,
    query: &[String],
    load_suggestions: Option<PathBuf>,
) -> Result<(), CliError> {
    if let Some(file) = load_suggestions {
        return load(ctx, &file);
    }
    if kind == Some(CatalogueKind::Suggestions) {
        return suggestions(ctx);
    }
    if kind == Some(CatalogueKind::Communes) {
        return communes(ctx, &query.join(" "));
    }
    let store = ctx.store()?;
    let kinds: Vec<(&'static str, T)> = match kind {
        Some(CatalogueKind::Communes) => Vec::new(),
        Some(CatalogueKind::Services) => vec![(SERVICE, T::ServicesCatalogue)],
        Some(CatalogueKind::Outcomes) => vec![(OUTCOME, T::OutcomesCatalogue)],
        Some(CatalogueKind::Groups) => vec![(TARGET_GROUP, T::GroupsCatalogue)],
        Some(CatalogueKind::Suggestions) | None => vec![
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

/// The rules of the services to offer next, in their order.
fn suggestions(ctx: &Ctx) -> Result<(), CliError> {
    let store = ctx.store()?;
    let rules = store.suggestion_rules()?;
    if ctx.out.json {
        return ctx.out.json_value(&rules);
    }
    let lang = ctx.lang();
    let names = Names::load(&store, &[SERVICE, TARGET_GROUP])?;
    let mut lines = vec![format!("{}:", i18n::w(lang, W::SuggestionRules))];
    for r in &rules {
        let reason = match lang {
            Lang::Vi => &r.reason_vi,
            Lang::En => &r.reason_en,
        };
        let services: Vec<String> = r
            .services
            .iter()
            .map(|s| names.name(lang, SERVICE, s))
            .collect();
        lines.push(format!("- {}: {reason}", r.code));
        lines.push(format!(
            "    {}: {}",
            i18n::w(lang, W::Applies),
            i18n::rule_when(lang, &r.when, |g| names.name(lang, TARGET_GROUP, g))
        ));
        lines.push(format!(
            "    {}: {}",
            i18n::w(lang, W::OfferNext),
            services.join("; ")
        ));
    }
    ctx.out.lines(&lines)
}

/// Reads a rules file: a list of rules, or an object with "suggestions" (a
/// catalogue file's section, copied as it is).
fn read_rules(file: &Path) -> Result<Vec<SuggestionRule>, CliError> {
    let bad = |message: String| CliError::BadFile {
        path: file.to_path_buf(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_slice(&read_file(file)?).map_err(|e| bad(e.to_string()))?;
    let list = match value {
        serde_json::Value::Object(mut map) => {
            map.remove("suggestions").unwrap_or(serde_json::Value::Null)
        }
        other => other,
    };
    serde_json::from_value(list).map_err(|e| bad(e.to_string()))
}

fn load(ctx: &Ctx, file: &Path) -> Result<(), CliError> {
    let rules = read_rules(file)?;
    let store = ctx.store()?;
    store.set_suggestion_rules(&rules)?;
    let lang = ctx.lang();
    ctx.out
        .emit(&serde_json::json!({ "rules": rules.len() }), || {
            vec![i18n::suggestions_loaded(lang, rules.len())]
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
