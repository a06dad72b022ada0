//! The store's catalogues of services, outcomes and target groups: data, not
//! code (gocua-household's `catalogue`), kept in the table `catalogue`.
//!
//! The default seeds every new store; a province adds its services as rows,
//! never as a new build.

use gocua_household::catalogue::Catalogue;
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
    Ok(())
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
