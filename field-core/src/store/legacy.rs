//! Households named by protocol 1's random ids.
//!
//! Since protocol 2 every household is named by the id derived from its first
//! change (`gocua_protocol::ids`), so nobody can claim an id without holding
//! that change. A store written before is renamed when it is upgraded, the same
//! way the server renames its copy, so both name each household alike without
//! talking to each other. The old id stays in the document's `id` field and in
//! `legacy_ids`, so that a change file written by an older gocua, which names
//! the household by its old id, still reaches it.

use std::collections::HashMap;

use automerge::{Automerge, Change};
use gocua_protocol::ids;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::{Error, Result};
use crate::isolate::isolate;

/// The derived id of the change of `changes` without dependencies, if any.
fn derived_from(changes: &[Change]) -> Option<String> {
    changes
        .iter()
        .find(|c| c.deps().is_empty())
        .map(|c| ids::derived_doc_id(&c.hash().0))
}

/// The first change of a stored document: from its change rows, else from its
/// snapshot. Damaged bytes (isolated) count as absent.
fn stored_first_change(tx: &Transaction<'_>, id: &str) -> Result<Option<String>> {
    let rows: Vec<Vec<u8>> = tx
        .prepare("SELECT bytes FROM doc_changes WHERE doc_id = ?1 ORDER BY seq")?
        .query_map([id], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    let changes: Vec<Change> = rows
        .into_iter()
        .filter_map(|b| isolate(|| Change::from_bytes(b)).ok()?.ok())
        .collect();
    if let Some(d) = derived_from(&changes) {
        return Ok(Some(d));
    }
    let snapshot: Option<Vec<u8>> = tx
        .query_row("SELECT snapshot FROM documents WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    Ok(snapshot.and_then(|s| {
        isolate(|| Automerge::load(&s).map(|d| derived_from(&d.get_changes(&[]))))
            .ok()?
            .ok()?
    }))
}

fn rename(tx: &Transaction<'_>, old: &str, new: &str) -> Result<()> {
    for sql in [
        "UPDATE documents SET id = ?2 WHERE id = ?1",
        "UPDATE doc_changes SET doc_id = ?2 WHERE doc_id = ?1",
        "UPDATE outbox SET doc_id = ?2 WHERE doc_id = ?1",
        "UPDATE quarantine SET doc_id = ?2 WHERE doc_id = ?1",
        "UPDATE waiting_changes SET doc_id = ?2 WHERE doc_id = ?1",
    ] {
        tx.execute(sql, params![old, new])?;
    }
    tx.execute(
        "INSERT OR REPLACE INTO legacy_ids (legacy_id, doc_id) VALUES (?1, ?2)",
        params![old, new],
    )?;
    Ok(())
}

/// Renames every household the store holds under a legacy id (the store's
/// migration to schema 6). The projection is rebuilt after it.
pub(super) fn rename_all(tx: &Transaction<'_>) -> Result<usize> {
    let legacy: Vec<String> = tx
        .prepare("SELECT id FROM documents ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<std::result::Result<Vec<String>, _>>()?
        .into_iter()
        .filter(|id| !ids::is_derived(id))
        .collect();
    let mut renamed = 0;
    for old in legacy {
        let Some(new) = stored_first_change(tx, &old)? else {
            tracing::warn!(doc = %old, "household without a readable first change kept under its old id");
            continue;
        };
        let taken: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM documents WHERE id = ?1)",
            [&new],
            |r| r.get(0),
        )?;
        if taken {
            tracing::warn!(doc = %old, %new, "household kept under its old id: its derived id is taken");
            continue;
        }
        rename(tx, &old, &new)?;
        renamed += 1;
    }
    if renamed > 0 {
        tracing::info!(
            renamed,
            "households renamed to the ids derived from their first changes"
        );
    }
    Ok(renamed)
}

/// Names received documents by their derived ids: a legacy id is renamed by
/// the first change that comes with it, or by a rename this store already
/// made. Documents that end up under the same id are merged.
pub(super) fn name_received(
    conn: &Connection,
    received: Vec<(String, Vec<Change>)>,
) -> Result<Vec<(String, Vec<Change>)>> {
    let mut out: Vec<(String, Vec<Change>)> = Vec::with_capacity(received.len());
    let mut index: HashMap<String, usize> = HashMap::new();
    for (id, changes) in received {
        let id = if ids::is_derived(&id) {
            id
        } else if let Some(new) = derived_from(&changes) {
            // Changes of it that arrived earlier, waiting for their first.
            conn.execute(
                "UPDATE waiting_changes SET doc_id = ?2 WHERE doc_id = ?1",
                params![id, new],
            )?;
            conn.execute(
                "INSERT OR REPLACE INTO legacy_ids (legacy_id, doc_id) VALUES (?1, ?2)",
                params![id, new],
            )?;
            new
        } else if let Some(new) = conn
            .query_row(
                "SELECT doc_id FROM legacy_ids WHERE legacy_id = ?1",
                [&id],
                |r| r.get::<_, String>(0),
            )
            .optional()?
        {
            new
        } else {
            return Err(Error::BadChanges(format!(
                "household {id} is named the way gocua named households before protocol 2, and its first change is not in this file: update gocua on the device that wrote the file and export it again"
            )));
        };
        match index.get(&id) {
            Some(&i) => out[i].1.extend(changes),
            None => {
                index.insert(id.clone(), out.len());
                out.push((id, changes));
            }
        }
    }
    Ok(out)
}
