//! The store's catalogues of services, outcomes and target groups: data, not
//! code (gocua-household's `catalogue`), kept in the table `catalogue`.
//!
//! The default seeds every new store; a province adds its services as rows,
//! never as a new build.

use gocua_household::catalogue::Catalogue;
use gocua_household::suggest::{self, SuggestionRule};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::{Error, Field, Problem, Result};
use crate::model::CatalogueEntry;

pub use gocua_household::catalogue::{OUTCOME, SERVICE, TARGET_GROUP};

pub(crate) fn seed(tx: &Transaction<'_>) -> Result<()> {
    let file = Catalogue::default_entries().map_err(|e| Error::Reference(e.to_string()))?;
    let mut stmt = tx.prepare(
        "INSERT OR IGNORE INTO catalogue (kind, code, name_vi, name_en, position) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (kind, entries) in file.kinds() {
        for (i, e) in entries.iter().enumerate() {
            stmt.execute(params![kind, e.code, e.name_vi, e.name_en, i as i64])?;
        }
    }
    seed_suggestions(tx)
}

/// The default rules of which services to offer next, for a store that has
/// none yet (a new one, or one made before the rules existed).
pub(crate) fn seed_suggestions(tx: &Transaction<'_>) -> Result<()> {
    let file = Catalogue::default_entries().map_err(|e| Error::Reference(e.to_string()))?;
    let empty: bool = tx.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM suggestion_rules)",
        [],
        |r| r.get(0),
    )?;
    if empty {
        write_suggestions(tx, &file.suggestions)?;
    }
    Ok(())
}

fn write_suggestions(conn: &Connection, rules: &[SuggestionRule]) -> Result<()> {
    conn.execute("DELETE FROM suggestion_rules", [])?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO suggestion_rules (code, position, rule) VALUES (?1, ?2, ?3)",
    )?;
    for (i, r) in rules.iter().enumerate() {
        let json = serde_json::to_string(r).map_err(|e| Error::Reference(e.to_string()))?;
        stmt.execute(params![r.code, i as i64, json])?;
    }
    Ok(())
}

/// The rules of which services to offer next, in their order. A row that
/// does not read as a rule (written by hand) is left out with a warning: one
/// bad rule must not take the to-do list away from a volunteer.
pub(crate) fn suggestion_rules(conn: &Connection) -> Result<Vec<SuggestionRule>> {
    let mut stmt =
        conn.prepare_cached("SELECT code, rule FROM suggestion_rules ORDER BY position, code")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(code, json)| match serde_json::from_str(&json) {
            Ok(rule) => Some(rule),
            Err(e) => {
                tracing::warn!(rule = %code, error = %e, "suggestion rule does not read; left out");
                None
            }
        })
        .collect())
}

/// Replaces the rules, after checking them against this store's catalogue.
pub(crate) fn set_suggestion_rules(tx: &Transaction<'_>, rules: &[SuggestionRule]) -> Result<()> {
    let known = |kind: &str, code: &str| {
        tx.prepare_cached("SELECT 1 FROM catalogue WHERE kind = ?1 AND code = ?2")
            .and_then(|mut s| s.exists(params![kind, code]))
            .unwrap_or(false)
    };
    suggest::check_rules(rules, known).map_err(Error::BadRule)?;
    write_suggestions(tx, rules)
}

pub(crate) fn list(conn: &Connection, kind: &str) -> Result<Vec<CatalogueEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT code, name_vi, name_en FROM catalogue WHERE kind = ?1 ORDER BY position, code",
    )?;
    let rows = stmt
        .query_map([kind], |r| {
            Ok(CatalogueEntry {
                code: r.get(0)?,
                name_vi: r.get(1)?,
                name_en: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Checks that `code` is in the catalogue `kind`; returns it trimmed.
pub(crate) fn check(conn: &Connection, kind: &str, field: Field, code: &str) -> Result<String> {
    let code = code.trim();
    let found: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM catalogue WHERE kind = ?1 AND code = ?2")?
        .query_row(params![kind, code], |r| r.get(0))
        .optional()?;
    if found.is_some() {
        return Ok(code.to_string());
    }
    let known = list(conn, kind)?.into_iter().map(|e| e.code).collect();
    Err(Error::invalid(field, code, Problem::UnknownCode { known }))
}
