//! Where documents live in SQLite: a snapshot (`save()`) plus the changes made
//! since, appended one row per change. A new change costs one small insert instead
//! of rewriting the whole document, so a household with 500 visits records its
//! 501st as cheaply as its 4th; every [`COMPACT_AFTER`] changes the snapshot is
//! rewritten so that loading stays fast. A small document (most households)
//! keeps a current snapshot instead: measured here, `load` of a 700-byte
//! snapshot takes ~90 µs and `save` ~20 µs, while applying its 8 change rows
//! takes ~260 µs.

use std::collections::{HashMap, HashSet};

use automerge::{ActorId, Automerge, Change, ChangeHash};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Error, Result};
use crate::isolate::isolate;

pub const COMPACT_AFTER: i64 = 128;
/// Below this snapshot size (bytes) a document is re-saved on every change.
const SMALL_DOCUMENT: i64 = 4 * 1024;
const CACHE_CAPACITY: usize = 64;

pub fn heads_text(heads: &[ChangeHash]) -> String {
    let mut hs: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
    hs.sort();
    hs.join(",")
}

/// Recently used documents kept loaded; each entry remembers the heads it was
/// loaded at, so a write by another process is noticed and the entry reloaded.
#[derive(Default)]
pub struct DocCache {
    entries: HashMap<String, (Automerge, String, u64)>,
    clock: u64,
}

impl std::fmt::Debug for DocCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocCache")
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl DocCache {
    pub fn evict(&mut self, id: &str) {
        self.entries.remove(id);
    }

    fn take(&mut self, id: &str, heads: &str) -> Option<Automerge> {
        match self.entries.remove(id) {
            Some((doc, h, _)) if h == heads => Some(doc),
            _ => None,
        }
    }

    pub fn put(&mut self, id: &str, doc: Automerge) {
        self.clock += 1;
        if self.entries.len() >= CACHE_CAPACITY
            && let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (_, _, t))| *t)
                .map(|(k, _)| k.clone())
        {
            self.entries.remove(&oldest);
        }
        let heads = heads_text(&doc.get_heads());
        self.entries
            .insert(id.to_string(), (doc, heads, self.clock));
    }
}

/// The stored heads of a document, or `None` if the store does not have it.
pub fn stored_heads(conn: &Connection, id: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT heads FROM documents WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// Loads a document from SQLite (or the cache), with `actor` as its actor.
/// `None` if the store does not have it. The caller puts it back in the cache.
pub fn load(
    conn: &Connection,
    cache: &mut DocCache,
    id: &str,
    actor: &ActorId,
) -> Result<Option<Automerge>> {
    Ok(load_parts(conn, cache, id, actor)?.map(|(doc, _)| doc))
}

/// Like [`load`], and also returns the stored change rows that were not applied
/// because their dependencies are missing (rows a store written before waiting
/// changes had their own table may hold): they are handed to Automerge only once
/// their dependencies are there, so that a bad one never runs inside the apply
/// of another change.
pub fn load_parts(
    conn: &Connection,
    cache: &mut DocCache,
    id: &str,
    actor: &ActorId,
) -> Result<Option<(Automerge, Vec<Change>)>> {
    let Some(heads) = stored_heads(conn, id)? else {
        return Ok(None);
    };
    if let Some(mut doc) = cache.take(id, &heads) {
        // The store's actor may have been renewed since it was cached.
        doc.set_actor(actor.clone());
        let unapplied = unapplied_rows(conn, id, &doc)?;
        return Ok(Some((doc, unapplied)));
    }
    let snapshot: Option<Vec<u8>> = conn
        .prepare_cached("SELECT snapshot FROM documents WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    let bad = |reason: String| Error::BadDocument {
        id: id.to_string(),
        reason,
    };
    let mut changes = Vec::new();
    {
        let mut stmt =
            conn.prepare_cached("SELECT bytes FROM doc_changes WHERE doc_id = ?1 ORDER BY seq")?;
        let mut rows = stmt.query([id])?;
        while let Some(row) = rows.next()? {
            let bytes: Vec<u8> = row.get(0)?;
            let change = isolate(|| Change::from_bytes(bytes))
                .map_err(|p| bad(format!("a stored change could not be read: {p}")))?
                .map_err(|e| bad(e.to_string()))?;
            changes.push(change);
        }
    }
    // Automerge may panic on bytes it should refuse: a stored document that
    // does so is reported as bad, it does not stop the process.
    let loaded = isolate(move || -> Result<(Automerge, Vec<Change>), String> {
        let mut doc = match snapshot {
            Some(bytes) => Automerge::load(&bytes).map_err(|e| e.to_string())?,
            None => Automerge::new(),
        };
        let (ready, unapplied) = split_ready(&doc, changes, |c| c);
        doc.apply_changes(ready).map_err(|e| e.to_string())?;
        Ok((doc, unapplied))
    })
    .map_err(|p| bad(format!("Automerge failed on it: {p}")))?;
    let (mut doc, unapplied) = loaded.map_err(bad)?;
    doc.set_actor(actor.clone());
    Ok(Some((doc, unapplied)))
}

/// The stored change rows of a document that `doc` does not hold (usually none:
/// rows are dropped as soon as a snapshot holds them).
fn unapplied_rows(conn: &Connection, id: &str, doc: &Automerge) -> Result<Vec<Change>> {
    let mut out = Vec::new();
    let mut stmt = conn.prepare_cached("SELECT hash, bytes FROM doc_changes WHERE doc_id = ?1")?;
    let mut rows = stmt.query([id])?;
    while let Some(row) = rows.next()? {
        let hash: String = row.get(0)?;
        let applied = hash
            .parse::<ChangeHash>()
            .ok()
            .and_then(|h| doc.get_change_meta_by_hash(&h))
            .is_some();
        if !applied {
            let bytes: Vec<u8> = row.get(1)?;
            // It was read once already when the document was loaded.
            if let Ok(Ok(c)) = isolate(|| Change::from_bytes(bytes)) {
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// Splits `items` into those whose change can be applied to `doc` now (every
/// dependency in `doc` or among them), in an order where each comes after its
/// dependencies, and the rest, in their original order.
pub fn split_ready<T>(
    doc: &Automerge,
    items: Vec<T>,
    change: impl Fn(&T) -> &Change,
) -> (Vec<T>, Vec<T>) {
    let mut pending = items;
    let mut ready: Vec<T> = Vec::with_capacity(pending.len());
    let mut ready_hashes: HashSet<ChangeHash> = HashSet::new();
    loop {
        let before = pending.len();
        let mut rest = Vec::new();
        for item in pending {
            let c = change(&item);
            let deps_there = c
                .deps()
                .iter()
                .all(|d| ready_hashes.contains(d) || doc.get_change_meta_by_hash(d).is_some());
            if deps_there {
                ready_hashes.insert(c.hash());
                ready.push(item);
            } else {
                rest.push(item);
            }
        }
        pending = rest;
        if pending.is_empty() || pending.len() == before {
            return (ready, pending);
        }
    }
}

/// Records new changes of a document (local or received) and its new heads.
/// Returns how many of `changes` were new to the store.
pub fn append(
    conn: &Connection,
    doc_id: &str,
    doc: &Automerge,
    changes: &[Change],
    now: &str,
) -> Result<usize> {
    let mut added = 0;
    {
        let mut ins = conn.prepare_cached(
            "INSERT OR IGNORE INTO doc_changes (doc_id, hash, bytes) VALUES (?1, ?2, ?3)",
        )?;
        for c in changes {
            added += ins.execute(params![doc_id, c.hash().to_string(), c.raw_bytes()])?;
        }
    }
    let heads = heads_text(&doc.get_heads());
    conn.prepare_cached(
        "INSERT INTO documents (id, kind, snapshot, heads, changes_since_snapshot, updated_at)
         VALUES (?1, 'household', NULL, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET heads = ?2,
             changes_since_snapshot = changes_since_snapshot + ?3, updated_at = ?4",
    )?
    .execute(params![doc_id, heads, added as i64, now])?;
    let (pending, snapshot_len): (i64, Option<i64>) = conn
        .prepare_cached(
            "SELECT changes_since_snapshot, length(snapshot) FROM documents WHERE id = ?1",
        )?
        .query_row([doc_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    // A small document loads several times faster from a snapshot than from its
    // change rows, and saving it costs less than one change's apply: keep its
    // snapshot current. A large one is saved every COMPACT_AFTER changes.
    let small = snapshot_len.unwrap_or(0) < SMALL_DOCUMENT;
    if pending > 0 && (small || pending >= COMPACT_AFTER) {
        compact(conn, doc_id, doc, small)?;
    }
    Ok(added)
}

/// Rewrites the snapshot and drops the change rows it now holds. Changes still
/// waiting for missing dependencies stay as rows.
pub fn compact(conn: &Connection, doc_id: &str, doc: &Automerge, small: bool) -> Result<()> {
    // A small document is saved uncompressed: deflate dominated the cost of
    // saving it on every change. A large one, saved rarely, is compressed.
    let snapshot = if small {
        doc.save_nocompress()
    } else {
        doc.save()
    };
    let mut kept = 0i64;
    {
        let mut sel = conn.prepare_cached("SELECT hash FROM doc_changes WHERE doc_id = ?1")?;
        let hashes: Vec<String> = sel
            .query_map([doc_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut del = conn.prepare_cached("DELETE FROM doc_changes WHERE hash = ?1")?;
        for h in hashes {
            let applied = h
                .parse::<ChangeHash>()
                .ok()
                .and_then(|hash| doc.get_change_meta_by_hash(&hash))
                .is_some();
            if applied {
                del.execute([&h])?;
            } else {
                kept += 1;
            }
        }
    }
    conn.prepare_cached(
        "UPDATE documents SET snapshot = ?2, changes_since_snapshot = ?3 WHERE id = ?1",
    )?
    .execute(params![doc_id, snapshot, kept])?;
    Ok(())
}

/// Every document id with its stored heads, in id order.
pub fn all_heads(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached("SELECT id, heads FROM documents ORDER BY id")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
