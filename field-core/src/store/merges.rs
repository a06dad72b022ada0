//! Duplicate households merged, on the device (docs/data-model.md, "Merged
//! households").
//!
//! A merge is one edit of the absorbed household's document (its
//! `merged_into` mark); what it means is computed from the documents alone
//! (`gocua_household::merge`), the same way here and on the server. The
//! projection holds the answer: the absorbed household's row says where it
//! counts (`merged_into`) and leaves every list; its members, visits and
//! consent records are projected under the household that counts, with the
//! document that holds each (`doc_id`), where edits to them are written.
//!
//! A merge group (households linked by marks) is projected whole whenever
//! one of its documents changes, from a local write or from sync: a mark made,
//! undone or chained elsewhere changes where every household of the group
//! counts.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use rusqlite::{Connection, OptionalExtension, params};

use super::{Inner, Store, Touch, docs, projection, query, stamp, write_doc};
use crate::doc::merge::{self, Node};
use crate::doc::{self, Scope};
use crate::error::{Error, Field, Kind, Problem, Result};
use crate::model::*;

/// The commit action of a merge, and of its undo.
pub const MERGE: &str = "household.merge";
pub const UNMERGE: &str = "household.merge.undo";

/// Reads a household from its document: `None` when the store does not hold
/// it or it does not read as one.
pub type Reader<'a> = dyn FnMut(&str) -> Result<Option<Household>> + 'a;

/// Whether household `id` is part of a merge group as projected: marked,
/// counted under another, or the one another is marked or counted into.
pub fn grouped(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM households WHERE id = ?1
                    AND (merge_target IS NOT NULL OR merged_into IS NOT NULL))
                OR EXISTS (SELECT 1 FROM households WHERE merge_target = ?1 OR merged_into = ?1)",
        )?
        .query_row([id], |r| r.get(0))?)
}

/// Every household linked to `ids` by merge marks, by the projection (the
/// group as it was) and by the documents (as it is now), each read.
fn group(conn: &Connection, read: &mut Reader<'_>, ids: &[String]) -> Result<Vec<Household>> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<String> = ids.iter().cloned().collect();
    let mut out = Vec::new();
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let mut next: Vec<String> = Vec::new();
        if let Some(h) = read(&id)? {
            next.extend(h.merged.as_ref().map(|m| m.into.clone()));
            out.push(h);
        }
        let own: Option<(Option<String>, Option<String>)> = conn
            .prepare_cached("SELECT merge_target, merged_into FROM households WHERE id = ?1")?
            .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((target, into)) = own {
            next.extend(target);
            next.extend(into);
        }
        let mut stmt = conn.prepare_cached(
            "SELECT id FROM households WHERE merge_target = ?1 OR merged_into = ?1",
        )?;
        for r in stmt.query_map([&id], |r| r.get::<_, String>(0))? {
            next.push(r?);
        }
        queue.extend(next.into_iter().filter(|n| !seen.contains(n)));
    }
    Ok(out)
}

/// Projects the merge groups of `ids` whole: each household where it counts,
/// those counting under another out of every list, their records under it.
pub fn reproject(conn: &Connection, read: &mut Reader<'_>, ids: &[String]) -> Result<()> {
    let list = group(conn, read, ids)?;
    let nodes: Vec<Node<'_>> = list.iter().map(Node::of).collect();
    let roots = merge::roots(&nodes);
    fn root_of<'a>(roots: &'a HashMap<String, String>, id: &'a str) -> &'a str {
        roots.get(id).map(String::as_str).unwrap_or(id)
    }
    let root_of = |id| root_of(&roots, id);
    for h in list.iter().filter(|h| root_of(&h.id) != h.id) {
        // Its own fields and conflicts stay its own (they are edited in its
        // document); its records are projected with the household that counts.
        let own = Household {
            members: Vec::new(),
            visits: Vec::new(),
            consents: Vec::new(),
            problems: gocua_household::root_problems(h),
            ..h.clone()
        };
        projection::project_full(conn, &own)?;
        set_marks(conn, h, Some(root_of(&h.id)))?;
    }
    for h in list.iter().filter(|h| root_of(&h.id) == h.id) {
        let parts: Vec<&Household> = list
            .iter()
            .filter(|p| p.id != h.id && root_of(&p.id) == h.id)
            .collect();
        let composed = merge::compose(h, &parts);
        projection::project_full(conn, &composed)?;
        for p in &parts {
            for (table, ids) in [
                (
                    "persons",
                    p.members.iter().map(|m| &m.id).collect::<Vec<_>>(),
                ),
                ("visits", p.visits.iter().map(|v| &v.id).collect()),
                ("consents", p.consents.iter().map(|c| &c.id).collect()),
            ] {
                let mut stmt =
                    conn.prepare_cached(&format!("UPDATE {table} SET doc_id = ?2 WHERE id = ?1"))?;
                for id in ids {
                    stmt.execute(params![id, p.id])?;
                }
            }
        }
        set_marks(conn, h, None)?;
    }
    Ok(())
}

fn set_marks(conn: &Connection, h: &Household, counted_into: Option<&str>) -> Result<()> {
    conn.prepare_cached("UPDATE households SET merge_target = ?2, merged_into = ?3 WHERE id = ?1")?
        .execute(params![
            h.id,
            h.merged.as_ref().map(|m| m.into.as_str()),
            counted_into
        ])?;
    Ok(())
}

/// A reader of the store's documents (through its cache).
pub fn store_reader<'a>(
    conn: &'a Connection,
    cache: &'a mut docs::DocCache,
    actor: &'a automerge::ActorId,
) -> impl FnMut(&str) -> Result<Option<Household>> + 'a {
    move |id: &str| {
        let Some(document) = docs::load(conn, cache, id, actor)? else {
            return Ok(None);
        };
        let h = doc::read_household_as(&document, id, Scope::All).ok();
        cache.put(id, document);
        Ok(h)
    }
}

/// Household `id` as it counts: with the households merged into it.
pub fn composed(conn: &Connection, read: &mut Reader<'_>, h: Household) -> Result<Household> {
    let ids: Vec<String> = conn
        .prepare_cached("SELECT id FROM households WHERE merged_into = ?1 ORDER BY id")?
        .query_map([&h.id], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    if ids.is_empty() {
        return Ok(h);
    }
    let mut parts = Vec::with_capacity(ids.len());
    for id in &ids {
        parts.extend(read(id)?);
    }
    let refs: Vec<&Household> = parts.iter().collect();
    let mut c = merge::compose(&h, &refs);
    c.outside_villages = h.outside_villages;
    Ok(c)
}

/// The members of `from` that are the same people as members of `into`: the
/// same name (tones and case aside) and the same birth year, or no year on
/// either side; each paired once, in order.
pub fn same_people(from: &Household, into: &Household) -> BTreeMap<String, String> {
    let mut pairs = BTreeMap::new();
    let mut taken: BTreeSet<&str> = BTreeSet::new();
    for a in from.members.iter().filter(|m| m.removed.is_none()) {
        let name = gocua_text::fold(&a.name);
        let found = into.members.iter().find(|b| {
            b.removed.is_none()
                && !taken.contains(b.id.as_str())
                && gocua_text::fold(&b.name) == name
                && a.birth_year == b.birth_year
        });
        if let Some(b) = found {
            taken.insert(&b.id);
            pairs.insert(a.id.clone(), b.id.clone());
        }
    }
    pairs
}

/// What a merge did: the household that counts now, and the members found
/// to be the same people (absorbed member id, kept member id).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Merged {
    pub household: Household,
    pub same_people: Vec<(String, String)>,
}

impl Store {
    /// Merges household `from` into `into` (a duplicate registered twice):
    /// `into` keeps its own fields and gains `from`'s members, visits and
    /// consent records; `from` then resolves to `into` everywhere and counts
    /// once. Members with the same name and birth year are taken for the same
    /// people and shown once. Undone by [`Store::unmerge_household`].
    pub fn merge_households(&self, from: &str, into: &str) -> Result<Merged> {
        let mut g = self.lock();
        let ident = g.identity.clone().ok_or(Error::NotInitialized)?;
        let from_id = query::resolve_own(&g.conn, Kind::Household, from, None)?;
        let into_id = query::resolve(&g.conn, Kind::Household, into, None)?;
        if let Some(already) = query::merged_into(&g.conn, &from_id)? {
            return Err(Error::invalid(
                Field::HouseholdId,
                from_id,
                Problem::AlreadyMerged { into: already },
            ));
        }
        if from_id == into_id {
            return Err(Error::invalid(
                Field::HouseholdId,
                from_id,
                Problem::SameHousehold { into: into_id },
            ));
        }
        let pairs = write_merge(&mut g, &ident, &from_id, &into_id, MERGE)?;
        let household = composed_household(&mut g, &into_id)?;
        Ok(Merged {
            household,
            same_people: pairs.into_iter().collect(),
        })
    }

    /// Undoes the merge of household `from`: it stands alone again, with its
    /// own members, visits and consent records (and the households merged
    /// into it).
    pub fn unmerge_household(&self, from: &str) -> Result<Household> {
        let mut g = self.lock();
        let ident = g.identity.clone().ok_or(Error::NotInitialized)?;
        let from_id = query::resolve_own(&g.conn, Kind::Household, from, None)?;
        let marked: Option<Option<String>> = g
            .conn
            .prepare_cached("SELECT merge_target FROM households WHERE id = ?1")?
            .query_row([&from_id], |r| r.get(0))
            .optional()?;
        if marked.flatten().is_none() {
            return Err(Error::invalid(
                Field::HouseholdId,
                from_id,
                Problem::NotCorrected,
            ));
        }
        let stamp = stamp(&ident);
        write_doc(&mut g, &from_id, &stamp, UNMERGE, Touch::Root, |tx| {
            doc::clear_merge(tx)
        })?;
        composed_household(&mut g, &from_id)
    }
}

/// Writes household `from_id`'s merge mark naming `into_id`, after the
/// checks every merge makes (neither marked in error, one village); returns
/// the members found to be the same people.
pub(super) fn write_merge(
    g: &mut Inner,
    ident: &Identity,
    from_id: &str,
    into_id: &str,
    action: &str,
) -> Result<BTreeMap<String, String>> {
    let from_h = composed_household(g, from_id)?;
    let into_h = composed_household(g, into_id)?;
    for h in [&from_h, &into_h] {
        if h.in_error.is_some() {
            return Err(Error::invalid(
                Field::HouseholdId,
                h.id.clone(),
                Problem::MarkedInError,
            ));
        }
    }
    if from_h.village_id != into_h.village_id {
        return Err(Error::invalid(
            Field::HouseholdId,
            from_id,
            Problem::OtherVillage {
                village: into_h.village_id.clone(),
            },
        ));
    }
    let pairs = same_people(&from_h, &into_h);
    let stamp = stamp(ident);
    write_doc(g, from_id, &stamp, action, Touch::Root, |tx| {
        doc::put_merge(tx, into_id, &stamp, &pairs)
    })?;
    Ok(pairs)
}

/// Household `id` read from its document and composed with those merged
/// into it (no catalogue checks: for decisions, not display).
fn composed_household(g: &mut Inner, id: &str) -> Result<Household> {
    let actor = g.actor.clone();
    let Inner { conn, cache, .. } = g;
    let mut read = store_reader(conn, cache, &actor);
    let h = read(id)?.ok_or_else(|| Error::NotFound {
        kind: Kind::Household,
        id: id.to_string(),
    })?;
    composed(conn, &mut read, h)
}
