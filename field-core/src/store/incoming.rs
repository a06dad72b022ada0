//! Changes received from outside: a file from another device, a pulled page, a
//! bootstrap, an imported document. Every one is untrusted, and Automerge may
//! panic on a crafted change instead of refusing it, so:
//!
//! - each document's new changes are applied at once, isolated ([`isolate`]);
//!   only when that fails are they applied one at a time, and a change that
//!   panics, errs or leaves a document that no longer reads as this household is
//!   **quarantined** (stored with its reason, never applied, queued or exported
//!   again), with every change of the call that depends on it. The rest is applied
//!   as usual, and a document that went through a panic is rebuilt from SQLite,
//!   never kept;
//! - a change whose dependencies are missing is never handed to Automerge, which
//!   would queue it and apply it later inside the apply of an innocent change:
//!   it **waits** in its own table and is applied, isolated like the others, when
//!   an import or pull brings its dependencies.
//!
//! A bundle that cannot be decoded (framing, document ids, an item that does not
//! parse or whose checksum is wrong: damage in transit, to be sent again) is
//! still refused whole.

use std::collections::{HashMap, HashSet};

use automerge::{ActorId, Automerge, Change, ChangeHash};
use gocua_protocol::ids;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

use super::{DocChanges, Inner, Origin, Store, actor, docs, legacy, outbox, projection, reissue};
use crate::doc;
use crate::error::{Error, Result};
use crate::isolate::isolate;
use crate::model::{Household, ImportReport, QuarantinedChange};
use crate::validate as v;

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Peer => "peer",
            Origin::Server { .. } => "server",
        }
    }
}

/// Where a change considered for applying comes from.
#[derive(Clone, PartialEq, Eq)]
enum Source {
    /// This call.
    Received,
    /// The waiting table, received earlier from `origin`.
    Waiting { origin: String },
    /// A `doc_changes` row that never applied (a store from before the waiting
    /// table, where Automerge kept such changes queued).
    Stored,
}

struct Candidate {
    change: Change,
    source: Source,
    /// Part of this call (also true for a waiting change received again).
    in_call: bool,
}

/// The outcome for one document.
struct Resolved {
    document: Automerge,
    household: Option<Household>,
    accepted: Vec<Candidate>,
    quarantined: Vec<(Candidate, String)>,
    waiting: Vec<Candidate>,
}

/// An item of a bundle: one change, or a whole saved document (a bootstrap
/// snapshot), told apart by the chunk type in Automerge's header. An item that
/// does not parse (damaged in transit, wrong checksum) refuses the bundle; a
/// panic while parsing it is isolated and refuses it too.
fn expand_item(bytes: Vec<u8>, out: &mut Vec<Change>) -> Result<(), String> {
    let read = if gocua_protocol::chunk::is_document(&bytes) {
        isolate(|| {
            Automerge::load(&bytes)
                .map(|d| d.get_changes(&[]))
                .map_err(|e| e.to_string())
        })
    } else {
        isolate(|| {
            Change::from_bytes(bytes)
                .map(|c| vec![c])
                .map_err(|e| e.to_string())
        })
    };
    out.extend(read.map_err(|p| format!("Automerge failed reading an item: {p}"))??);
    Ok(())
}

fn is_quarantined(conn: &Connection, hash: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM quarantine WHERE hash = ?1")?
        .query_row([hash], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Records a quarantined item; true if it was not quarantined already.
fn quarantine(
    conn: &Connection,
    doc_id: &str,
    hash: &str,
    bytes: &[u8],
    reason: &str,
    origin: &str,
    now: &str,
) -> Result<bool> {
    let added = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO quarantine (hash, doc_id, bytes, reason, origin, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![hash, doc_id, bytes, reason, origin, now])?;
    // Never offered to the server or applied from anywhere else.
    conn.prepare_cached("DELETE FROM outbox WHERE hash = ?1")?
        .execute([hash])?;
    conn.prepare_cached("DELETE FROM waiting_changes WHERE hash = ?1")?
        .execute([hash])?;
    if added > 0 {
        tracing::warn!(doc_id, hash, reason, "received change quarantined");
    }
    Ok(added > 0)
}

/// The document as SQLite has it plus `accepted`, freshly loaded: what a
/// document that went through a failed apply is replaced with.
fn rebuild(
    conn: &Connection,
    cache: &mut docs::DocCache,
    id: &str,
    actor: &ActorId,
    accepted: &[Candidate],
) -> Result<Automerge> {
    cache.evict(id);
    let mut document = match docs::load_parts(conn, cache, id, actor)? {
        Some((d, _)) => d,
        None => Automerge::new().with_actor(actor.clone()),
    };
    if !accepted.is_empty() {
        let batch: Vec<Change> = accepted.iter().map(|c| c.change.clone()).collect();
        let bad = |reason: String| Error::BadDocument {
            id: id.to_string(),
            reason: format!("re-applying accepted changes failed: {reason}"),
        };
        isolate(|| document.apply_changes(batch))
            .map_err(bad)?
            .map_err(|e| bad(e.to_string()))?;
    }
    Ok(document)
}

/// Reads `document` as household `id`, or says why it is not one.
fn read_as(document: &Automerge, id: &str) -> Result<Household, String> {
    let h = isolate(|| doc::read_household_as(document, id, doc::Scope::All))
        .map_err(|p| format!("reading the document failed: {p}"))?
        .map_err(|e| e.to_string())?;
    Ok(h)
}

/// [`read_as`], and the document must load again once saved: a crafted change
/// can apply and still leave a document whose saved form no longer loads,
/// which would stop this store at its next load.
fn sound(document: &Automerge, id: &str) -> Result<Household, String> {
    let h = read_as(document, id)?;
    isolate(|| Automerge::load(&document.save_nocompress()).map(|_| ()))
        .map_err(|p| format!("its saved form failed to load: {p}"))?
        .map_err(|e| format!("its saved form does not load: {e}"))?;
    Ok(h)
}

/// Applies what can be applied of `candidates` to `document` (see the module
/// comment) and sorts the rest into quarantined and waiting.
fn resolve(
    conn: &Connection,
    cache: &mut docs::DocCache,
    id: &str,
    actor: &ActorId,
    mut document: Automerge,
    candidates: Vec<Candidate>,
) -> Result<Resolved> {
    let (ready, mut waiting) = docs::split_ready(&document, candidates, |c| &c.change);
    let mut accepted: Vec<Candidate> = Vec::new();
    let mut quarantined: Vec<(Candidate, String)> = Vec::new();
    let mut household = None;
    if !ready.is_empty() {
        // The common case: everything applies at once.
        let batch: Vec<Change> = ready.iter().map(|c| c.change.clone()).collect();
        let fast = match isolate(|| document.apply_changes(batch)) {
            Ok(Ok(())) => sound(&document, id).ok(),
            _ => None,
        };
        match fast {
            Some(h) => {
                household = Some(h);
                accepted = ready;
            }
            None => {
                // One at a time. A document that failed an apply may be half
                // modified: it is rebuilt before each further step.
                document = rebuild(conn, cache, id, actor, &[])?;
                let mut bad: HashSet<ChangeHash> = HashSet::new();
                for c in ready {
                    let reason = match c.change.deps().iter().find(|d| bad.contains(d)) {
                        Some(dep) => Err(format!("depends on quarantined change {dep}")),
                        None => {
                            let one = vec![c.change.clone()];
                            match isolate(|| document.apply_changes(one)) {
                                Ok(Ok(())) => sound(&document, id).map(|_| ()),
                                Ok(Err(e)) => Err(format!("Automerge refused it: {e}")),
                                Err(p) => Err(format!("Automerge failed applying it: {p}")),
                            }
                        }
                    };
                    match reason {
                        Ok(()) => accepted.push(c),
                        Err(reason) => {
                            bad.insert(c.change.hash());
                            quarantined.push((c, reason));
                            document = rebuild(conn, cache, id, actor, &accepted)?;
                        }
                    }
                }
                if !accepted.is_empty() {
                    household =
                        Some(read_as(&document, id).map_err(|reason| Error::BadDocument {
                            id: id.to_string(),
                            reason,
                        })?);
                }
            }
        }
    }
    // Waiting changes that depend, directly or not, on a quarantined change
    // would wait forever: they are quarantined too.
    let mut bad: HashSet<ChangeHash> = quarantined.iter().map(|(c, _)| c.change.hash()).collect();
    loop {
        let mut moved = false;
        let mut still = Vec::with_capacity(waiting.len());
        for c in waiting {
            let mut dep_bad = None;
            for d in c.change.deps() {
                if bad.contains(d) || is_quarantined(conn, &d.to_string())? {
                    dep_bad = Some(*d);
                    break;
                }
            }
            match dep_bad {
                Some(dep) => {
                    bad.insert(c.change.hash());
                    quarantined.push((c, format!("depends on quarantined change {dep}")));
                    moved = true;
                }
                None => still.push(c),
            }
        }
        waiting = still;
        if !moved {
            break;
        }
    }
    Ok(Resolved {
        document,
        household,
        accepted,
        quarantined,
        waiting,
    })
}

impl Store {
    /// Applies received changes (see the module comment) in one SQLite
    /// transaction, with the pull cursor when `origin` has one.
    pub(crate) fn apply_doc_changes(
        &self,
        incoming: Vec<DocChanges>,
        origin: Origin,
    ) -> Result<ImportReport> {
        // Decode everything first: a bundle that does not decode is refused
        // whole. The same document twice is one.
        let mut parsed: Vec<(String, Vec<Change>)> = Vec::with_capacity(incoming.len());
        let mut index: HashMap<String, usize> = HashMap::new();
        for d in incoming {
            if Uuid::parse_str(&d.doc_id).is_err() {
                return Err(Error::BadChanges(format!(
                    "document id {:?} is not a UUID",
                    d.doc_id
                )));
            }
            let i = *index.entry(d.doc_id.clone()).or_insert_with(|| {
                parsed.push((d.doc_id.clone(), Vec::new()));
                parsed.len() - 1
            });
            for bytes in d.changes {
                expand_item(bytes, &mut parsed[i].1)
                    .map_err(|e| Error::BadChanges(format!("document {}: {e}", d.doc_id)))?;
            }
        }
        let mut g = self.lock();
        let now = v::now_utc();
        let Inner {
            conn,
            cache,
            identity,
            actor: current,
        } = &mut *g;
        let mut actor = current.clone();
        let mut touched: Vec<String> = Vec::new();
        let result = (|| -> Result<(ImportReport, Vec<(String, Automerge)>)> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let parsed = legacy::name_received(&tx, parsed)?;
            let ours: HashSet<ActorId> = actor::ours(&tx, identity.as_ref())?.into_iter().collect();
            let mut report = ImportReport::default();
            let mut loaded = Vec::new();
            let mut regroup: Vec<String> = Vec::new();
            for (id, changes) in parsed {
                touched.push(id.clone());
                let (mut document, stored) = match docs::load_parts(&tx, cache, &id, &actor)? {
                    Some(x) => x,
                    None => (Automerge::new().with_actor(actor.clone()), Vec::new()),
                };
                // A change made as this store's actor that the store does not
                // have: another copy of the store made it (a restore, a clone).
                // Unsent changes numbered the same way are reissued first.
                let mut echoed: HashMap<ActorId, u64> = HashMap::new();
                for c in &changes {
                    if ours.contains(c.actor_id())
                        && document.get_change_meta_by_hash(&c.hash()).is_none()
                    {
                        let first = echoed.entry(c.actor_id().clone()).or_insert(c.seq());
                        *first = (*first).min(c.seq());
                    }
                }
                if !echoed.is_empty() {
                    if echoed.contains_key(&actor) {
                        actor =
                            actor::renew(&tx, &actor, "another copy of this store made changes")?;
                        report.actor_renewed = true;
                    }
                    cache.evict(&id);
                    let r = reissue::reissue(&tx, &id, document, &echoed, &actor, &now)?;
                    document = r.document;
                    document.set_actor(actor.clone());
                    report.reissued += r.changes as u64;
                }
                let mut candidates = waiting_rows(&tx, &id)?;
                candidates.extend(stored.into_iter().map(|change| Candidate {
                    change,
                    source: Source::Stored,
                    in_call: false,
                }));
                let mut seen: HashMap<ChangeHash, usize> = candidates
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.change.hash(), i))
                    .collect();
                for change in changes {
                    let hash = change.hash();
                    if document.get_change_meta_by_hash(&hash).is_some() {
                        report.changes_known += 1;
                        continue;
                    }
                    if let Some(&i) = seen.get(&hash) {
                        candidates[i].in_call = true;
                        continue;
                    }
                    if is_quarantined(&tx, &hash.to_string())? {
                        // Received again: skipped, not retried.
                        report.quarantined += 1;
                        continue;
                    }
                    // A document has one first change, the one its id is
                    // derived from: another would file someone's changes
                    // under an id they did not make.
                    if change.deps().is_empty() && !ids::matches_genesis(&id, &hash.0) {
                        let why = "a first change of another document: this household's id is derived from its own first change";
                        if quarantine(
                            &tx,
                            &id,
                            &hash.to_string(),
                            change.raw_bytes(),
                            why,
                            origin.as_str(),
                            &now,
                        )? {
                            report.quarantined += 1;
                        }
                        continue;
                    }
                    seen.insert(hash, candidates.len());
                    candidates.push(Candidate {
                        change,
                        source: Source::Received,
                        in_call: true,
                    });
                }
                if candidates.is_empty() {
                    loaded.push((id, document));
                    continue;
                }
                let r = resolve(&tx, cache, &id, &actor, document, candidates)?;
                for (c, reason) in &r.quarantined {
                    let origin_text = match &c.source {
                        Source::Waiting { origin } => origin.as_str(),
                        _ => origin.as_str(),
                    };
                    let hash = c.change.hash().to_string();
                    quarantine(
                        &tx,
                        &id,
                        &hash,
                        c.change.raw_bytes(),
                        reason,
                        origin_text,
                        &now,
                    )?;
                    if c.source == Source::Stored {
                        // It would be handed to Automerge again on every load.
                        let gone = tx
                            .prepare_cached("DELETE FROM doc_changes WHERE hash = ?1")?
                            .execute([&hash])?;
                        tx.prepare_cached(
                            "UPDATE documents SET changes_since_snapshot =
                                 max(changes_since_snapshot - ?2, 0) WHERE id = ?1",
                        )?
                        .execute(params![id, gone as i64])?;
                    }
                    report.quarantined += 1;
                }
                for c in &r.waiting {
                    if c.source == Source::Received {
                        tx.prepare_cached(
                            "INSERT OR IGNORE INTO waiting_changes (hash, doc_id, bytes, origin, received_at)
                             VALUES (?1, ?2, ?3, ?4, ?5)",
                        )?
                        .execute(params![
                            c.change.hash().to_string(),
                            id,
                            c.change.raw_bytes(),
                            origin.as_str(),
                            now
                        ])?;
                    }
                    if c.in_call {
                        report.waiting += 1;
                    }
                }
                if let Some(h) = &r.household {
                    let changes: Vec<Change> =
                        r.accepted.iter().map(|c| c.change.clone()).collect();
                    let added = docs::append(&tx, &id, &r.document, &changes, &now)?;
                    for c in &r.accepted {
                        let hash = c.change.hash().to_string();
                        let to_server = match &c.source {
                            Source::Received => origin == Origin::Peer,
                            Source::Waiting { origin } => origin == Origin::Peer.as_str(),
                            Source::Stored => false,
                        };
                        if matches!(c.source, Source::Waiting { .. }) {
                            tx.prepare_cached("DELETE FROM waiting_changes WHERE hash = ?1")?
                                .execute([&hash])?;
                        }
                        if to_server {
                            // Received from another device: the server may not have it yet.
                            tx.prepare_cached(
                                "INSERT OR IGNORE INTO outbox (hash, doc_id, created_at) VALUES (?1, ?2, ?3)",
                            )?
                            .execute(params![hash, id, now])?;
                        }
                    }
                    projection::project_full(&tx, h)?;
                    if h.merged.is_some() || super::merges::grouped(&tx, &id)? {
                        regroup.push(id.clone());
                    }
                    report.documents += 1;
                    report.changes_applied += added as u64;
                    report.conflicts += h.conflicts.len() as u64;
                }
                loaded.push((id, r.document));
            }
            // A merge made, undone or chained elsewhere changes where each
            // household of its group counts.
            if !regroup.is_empty() {
                let mut read = |id: &str| -> Result<Option<Household>> {
                    if let Some((_, d)) = loaded.iter().find(|(i, _)| i == id) {
                        return Ok(doc::read_household_as(d, id, doc::Scope::All).ok());
                    }
                    super::merges::store_reader(&tx, cache, &actor)(id)
                };
                super::merges::reproject(&tx, &mut read, &regroup)?;
            }
            if let Origin::Server {
                cursor: Some(cursor),
            } = origin
            {
                outbox::set_meta(&tx, outbox::PULL_CURSOR, &cursor.to_string())?;
            }
            tx.commit()?;
            Ok((report, loaded))
        })();
        match result {
            Ok((report, loaded)) => {
                if report.actor_renewed {
                    *cache = docs::DocCache::default();
                    *current = actor;
                }
                // Every document here is clean: one that went through a failed
                // apply was rebuilt from SQLite and the changes accepted since.
                for (id, d) in loaded {
                    cache.put(&id, d);
                }
                Ok(report)
            }
            Err(e) => {
                for id in touched {
                    cache.evict(&id);
                }
                Err(e)
            }
        }
    }

    /// Received changes set aside because they could not be applied, newest first.
    pub fn quarantined(&self) -> Result<Vec<QuarantinedChange>> {
        let g = self.lock();
        let mut stmt = g.conn.prepare(
            "SELECT doc_id, hash, reason, origin, received_at FROM quarantine
             ORDER BY received_at DESC, doc_id, hash",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(QuarantinedChange {
                    doc_id: r.get(0)?,
                    hash: r.get(1)?,
                    reason: r.get(2)?,
                    origin: r.get(3)?,
                    received_at: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

/// The waiting changes of a document, as candidates.
fn waiting_rows(conn: &Connection, doc_id: &str) -> Result<Vec<Candidate>> {
    let mut stmt = conn.prepare_cached(
        "SELECT hash, bytes, origin FROM waiting_changes WHERE doc_id = ?1 ORDER BY received_at, hash",
    )?;
    let mut rows = stmt.query([doc_id])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let hash: String = row.get(0)?;
        let bytes: Vec<u8> = row.get(1)?;
        let origin: String = row.get(2)?;
        // It parsed when it was received; a row that no longer does is dropped
        // rather than stopping every later import of the document.
        match isolate(|| Change::from_bytes(bytes)) {
            Ok(Ok(change)) => out.push(Candidate {
                change,
                source: Source::Waiting { origin },
                in_call: false,
            }),
            _ => {
                tracing::warn!(doc_id, hash, "unreadable waiting change dropped");
                conn.prepare_cached("DELETE FROM waiting_changes WHERE hash = ?1")?
                    .execute([&hash])?;
            }
        }
    }
    Ok(out)
}
