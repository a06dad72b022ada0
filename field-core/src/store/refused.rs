//! Changes the server refused (docs/sync.md): listed with the server's
//! reason, and dealt with on purpose, never silently. `fix` moves the
//! household to one of the device's villages and carries everything recorded
//! in it over; `discard` drops the refused changes. Both leave the household
//! as the server can take it.

use std::collections::HashSet;

use automerge::{Automerge, Change, ROOT};
use rusqlite::{Connection, TransactionBehavior, params};

use super::{Inner, Store, docs, projection, query, stamp};
use crate::doc::schema as key;
use crate::doc::{self, Scope};
use crate::error::{Error, Field, Kind, Problem, Result};
use crate::model::Household;

/// A household whose changes the server refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefusedHousehold {
    pub household_id: String,
    pub head_name: Option<String>,
    /// The server's refusal code (`outside_villages`, `moves_village`...).
    pub code: String,
    /// The server's own words (English), for the operator.
    pub message: String,
    pub changes: i64,
    /// The server holds nothing of it (its first change was refused).
    pub never_accepted: bool,
}

/// What `discard_refused` left: the household as the server has it, or
/// nothing when the server never had it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Discarded {
    pub household_id: String,
    pub changes: usize,
    pub household: Option<Household>,
}

/// The root keys a household carried to another base keeps from its new
/// base: what identifies the document and files it under a village.
const BASE_KEYS: &[&str] = &[
    key::KIND,
    key::SCHEMA_VERSION,
    key::NONCE,
    key::ID,
    key::COMMUNE_CODE,
    key::VILLAGE_ID,
];

impl Store {
    /// The households whose changes the server refused, with its reason.
    pub fn refused(&self) -> Result<Vec<RefusedHousehold>> {
        let mut g = self.lock();
        let rows = refused_rows(&g.conn)?;
        let mut out = Vec::with_capacity(rows.len());
        for (hid, reason, changes) in rows {
            let (code, message) = match reason.split_once(": ") {
                Some((c, m)) => (c.to_string(), m.to_string()),
                None => (reason.clone(), String::new()),
            };
            let head_name = g
                .conn
                .prepare_cached("SELECT head_name FROM households WHERE id = ?1")?
                .query_row([&hid], |r| r.get(0))
                .ok();
            let (_, kept) = split_refused(&mut g, &hid)?;
            out.push(RefusedHousehold {
                never_accepted: kept.is_empty(),
                household_id: hid,
                head_name,
                code,
                message,
                changes,
            });
        }
        Ok(out)
    }

    /// Drops the changes the server refused for a household: what the
    /// server accepted stays; a household it never accepted leaves this
    /// device. On purpose only: what was recorded in those changes is lost.
    pub fn discard_refused(&self, household: &str) -> Result<Discarded> {
        let mut g = self.lock();
        let hid = query::resolve_own(&g.conn, Kind::Household, household, None)?;
        let (refused, kept) = split_refused(&mut g, &hid)?;
        let now = stamp(g.identity.as_ref().ok_or(Error::NotInitialized)?).at;
        let actor = g.actor.clone();
        let tx = g
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let household = if kept.is_empty() {
            forget(&tx, &hid)?;
            None
        } else {
            let mut base = Automerge::new().with_actor(actor);
            base.apply_changes(kept)?;
            drop_rows(&tx, &hid, &refused)?;
            replace(&tx, &hid, &base, &[], &now)?;
            Some(reproject(&tx, &hid, &base)?)
        };
        tx.commit()?;
        g.cache.evict(&hid);
        Ok(Discarded {
            household_id: hid,
            changes: refused.len(),
            household,
        })
    }

    /// Moves a household whose changes were refused to `village` (one of the
    /// device's), keeping everything recorded in it: on the changes the
    /// server accepted, one change writes the household as this device has
    /// it. A household the server never accepted is written anew in that
    /// village (under a new id, derived from its new first change).
    pub fn fix_refused(&self, household: &str, village: &str) -> Result<Household> {
        let mut g = self.lock();
        let ident = g.identity.clone().ok_or(Error::NotInitialized)?;
        let village = query::resolve_village(&ident, village)?;
        let hid = query::resolve_own(&g.conn, Kind::Household, household, None)?;
        let (refused, kept) = split_refused(&mut g, &hid)?;
        let actor = g.actor.clone();
        let inner = &mut *g;
        let local =
            docs::load(&inner.conn, &mut inner.cache, &hid, &actor)?.ok_or(Error::NotFound {
                kind: Kind::Household,
                id: hid.clone(),
            })?;
        let stamp = stamp(&ident);
        let filed = [
            (key::VILLAGE_ID, doc::str_value(village.id.clone())),
            (
                key::COMMUNE_CODE,
                doc::str_value(village.commune_code.clone()),
            ),
        ];
        let tx_result = if kept.is_empty() {
            let (new_id, mut fresh, mut changes) = doc::new_household(
                actor.clone(),
                &stamp,
                &village.commune_code,
                &village.id,
                &[],
                &[],
            )?;
            changes.extend(doc::commit(&mut fresh, &stamp, "household.fix", |tx| {
                doc::copy_map(tx, &ROOT, &local, &ROOT, BASE_KEYS)
            })?);
            (new_id, fresh, changes)
        } else {
            let mut base = Automerge::new().with_actor(actor.clone());
            base.apply_changes(kept)?;
            let changes: Vec<Change> = doc::commit(&mut base, &stamp, "household.fix", |tx| {
                doc::copy_map(tx, &ROOT, &local, &ROOT, BASE_KEYS)?;
                doc::edit_household(tx, &filed, &[], &[])
            })?
            .into_iter()
            .collect();
            (hid.clone(), base, changes)
        };
        let (id, document, changes) = tx_result;
        let tx = g
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if id != hid {
            forget(&tx, &hid)?;
        } else {
            drop_rows(&tx, &hid, &refused)?;
        }
        replace(&tx, &id, &document, &changes, &stamp.at)?;
        for change in &changes {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO outbox (hash, doc_id, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![change.hash().to_string(), id, stamp.at])?;
        }
        let h = reproject(&tx, &id, &document)?;
        tx.commit()?;
        g.cache.evict(&hid);
        g.cache.evict(&id);
        Ok(h)
    }
}

fn refused_rows(conn: &Connection) -> Result<Vec<(String, String, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT doc_id, MIN(refused), COUNT(*) FROM outbox WHERE refused IS NOT NULL
         GROUP BY doc_id ORDER BY MIN(seq)",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The hashes of a household's refused changes, and its other changes (what
/// the server accepted or may still accept), in an order they apply in.
fn split_refused(g: &mut Inner, hid: &str) -> Result<(HashSet<String>, Vec<Change>)> {
    let refused: HashSet<String> = g
        .conn
        .prepare_cached("SELECT hash FROM outbox WHERE doc_id = ?1 AND refused IS NOT NULL")?
        .query_map([hid], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    if refused.is_empty() {
        return Err(Error::invalid(
            Field::HouseholdId,
            hid,
            Problem::NothingRefused,
        ));
    }
    let actor = g.actor.clone();
    let document = docs::load(&g.conn, &mut g.cache, hid, &actor)?.ok_or(Error::NotFound {
        kind: Kind::Household,
        id: hid.to_string(),
    })?;
    let kept = document
        .get_changes(&[])
        .into_iter()
        .filter(|c| !refused.contains(&c.hash().to_string()))
        .collect();
    Ok((refused, kept))
}

/// Deletes a household's refused change rows and their outbox rows.
fn drop_rows(conn: &Connection, hid: &str, refused: &HashSet<String>) -> Result<()> {
    let mut del = conn.prepare_cached("DELETE FROM doc_changes WHERE hash = ?1")?;
    for h in refused {
        del.execute([h])?;
    }
    conn.prepare_cached("DELETE FROM outbox WHERE doc_id = ?1 AND refused IS NOT NULL")?
        .execute([hid])?;
    Ok(())
}

/// Removes every trace of a household this device alone held.
fn forget(conn: &Connection, hid: &str) -> Result<()> {
    for sql in [
        "DELETE FROM outbox WHERE doc_id = ?1",
        "DELETE FROM doc_changes WHERE doc_id = ?1",
        "DELETE FROM documents WHERE id = ?1",
        "DELETE FROM households WHERE id = ?1",
        "DELETE FROM persons WHERE household_id = ?1",
        "DELETE FROM visits WHERE household_id = ?1",
        "DELETE FROM visit_services WHERE household_id = ?1",
        "DELETE FROM consents WHERE household_id = ?1",
        "DELETE FROM conflicts WHERE household_id = ?1",
        "DELETE FROM problems WHERE household_id = ?1",
    ] {
        conn.prepare_cached(sql)?.execute([hid])?;
    }
    Ok(())
}

/// Stores `document` as the whole of household `hid` (new `changes` as
/// rows, the rest in a fresh snapshot).
fn replace(
    conn: &Connection,
    hid: &str,
    document: &Automerge,
    changes: &[Change],
    now: &str,
) -> Result<()> {
    docs::append(conn, hid, document, changes, now)?;
    docs::compact(conn, hid, document, false)?;
    conn.prepare_cached("UPDATE documents SET heads = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![hid, docs::heads_text(&document.get_heads()), now])?;
    Ok(())
}

fn reproject(conn: &Connection, hid: &str, document: &Automerge) -> Result<Household> {
    let h = doc::read_household_as(document, hid, Scope::All).map_err(|e| Error::BadDocument {
        id: hid.to_string(),
        reason: e.to_string(),
    })?;
    projection::project_full(conn, &h)?;
    Ok(h)
}
