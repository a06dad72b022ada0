//! The push path's rules, the same for every backend (docs/protocol.md,
//! "Integrity rules"): parse the bundle, then decide per document, on the
//! document as the server holds it, what may be stored.
//!
//! Every change the server serves has been applied once by the server: each
//! new change is applied to the document in isolation (a panic or an error is
//! caught), and one that fails is quarantined (kept aside for the operator,
//! never served) instead of stopping the village. A change is accepted for a
//! document only if its dependencies are that document's changes (or arrive
//! with it); a document's first change must create it under its own id; a
//! change filed under one document cannot be filed under another; a change
//! number (actor, sequence) is never reused.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{AutomergeError, Change, ChangeHash};
use gocua_household::schema::{self, KIND_HOUSEHOLD, VILLAGE_ID};
use gocua_household::{root_scalar_str, root_scalar_str_at};
use gocua_protocol::{PushResponse, Refusal, codes, ids};

use crate::isolate::isolated;
use crate::storage::{
    ChangeLocation, DocHead, DocOutcome, DocWrite, QuarantinedChange, Storage, StorageError,
    StorageResult, VerifiedChange,
};

/// Input that is refused as a whole, storing nothing (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput {
    pub code: &'static str,
    pub message: String,
}

/// How often a push is decided again when another push changed one of its
/// documents meanwhile.
const ROUNDS: usize = 4;

/// What a change does to root `village_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VillageSet {
    /// Puts this string.
    To(String),
    /// Deletes it or puts something that is not a string.
    Other,
}

/// One parsed change of a push.
#[derive(Debug, Clone)]
pub struct IncomingChange {
    pub change: Change,
    pub hash: [u8; 32],
    /// Every setting of root `village_id` in the change, or `None` when its
    /// operations cannot be read (it will not apply either).
    pub village_sets: Option<Vec<VillageSet>>,
}

/// One document's changes in a push, parsed.
#[derive(Debug, Clone)]
pub struct IncomingDoc {
    pub doc_id: String,
    pub changes: Vec<IncomingChange>,
}

/// Decodes a push body and parses every change. A bundle that cannot be read,
/// a document id that is not a UUID, or an item that is not an Automerge
/// change with a matching checksum refuses the whole push: a client that sends
/// such bytes is broken, and storing part of its push would hide that.
pub fn inspect(body: &[u8]) -> Result<Vec<IncomingDoc>, BadInput> {
    let docs = gocua_protocol::bundle::decode(body).map_err(|e| BadInput {
        code: codes::BAD_BUNDLE,
        message: e.to_string(),
    })?;
    let mut out: Vec<IncomingDoc> = Vec::with_capacity(docs.len());
    for d in docs {
        let doc_id = match uuid::Uuid::parse_str(&d.doc_id) {
            // One spelling of an id, whatever case the client used.
            Ok(u) => u.to_string(),
            Err(_) => {
                return Err(BadInput {
                    code: codes::BAD_BUNDLE,
                    message: format!("document id {:?} is not a UUID", d.doc_id),
                });
            }
        };
        let mut changes = Vec::with_capacity(d.changes.len());
        for (i, bytes) in d.changes.into_iter().enumerate() {
            let parsed = isolated(move || Change::from_bytes(bytes));
            let change = match parsed {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => {
                    return Err(BadInput {
                        code: codes::BAD_CHANGE,
                        message: format!(
                            "document {doc_id}: item {i} is not an Automerge change: {e}"
                        ),
                    });
                }
                Err(panic) => {
                    return Err(BadInput {
                        code: codes::BAD_CHANGE,
                        message: format!(
                            "document {doc_id}: item {i} is not an Automerge change ({panic})"
                        ),
                    });
                }
            };
            // `Change::from_bytes` does not check the chunk's checksum: a
            // flipped bit would otherwise be stored as a different,
            // valid-looking change.
            let hash = change.hash().0;
            if !gocua_protocol::chunk::checksum_matches(change.raw_bytes(), &hash) {
                return Err(BadInput {
                    code: codes::BAD_CHANGE,
                    message: format!(
                        "document {doc_id}: item {i} is damaged (its checksum does not match)"
                    ),
                });
            }
            let village_sets = isolated(|| village_sets_of(&change)).ok();
            changes.push(IncomingChange {
                change,
                hash,
                village_sets,
            });
        }
        if changes.is_empty() {
            continue;
        }
        // A document named twice in one bundle is one document.
        match out.iter_mut().find(|o| o.doc_id == doc_id) {
            Some(o) => o.changes.extend(changes),
            None => out.push(IncomingDoc { doc_id, changes }),
        }
    }
    for d in &mut out {
        let mut seen = HashSet::new();
        d.changes.retain(|c| seen.insert(c.hash));
    }
    Ok(out)
}

/// What a change does to root `village_id`.
pub fn village_sets_of(change: &Change) -> Vec<VillageSet> {
    change
        .decode()
        .operations
        .into_iter()
        .filter(|op| {
            op.obj == ObjectId::Root && matches!(&op.key, Key::Map(k) if k.as_str() == VILLAGE_ID)
        })
        .map(|op| match op.action {
            OpType::Put(automerge::ScalarValue::Str(s)) => VillageSet::To(s.to_string()),
            _ => VillageSet::Other,
        })
        .collect()
}

fn refusal(doc_id: &str, code: &str, message: String) -> Refusal {
    Refusal {
        doc_id: doc_id.to_string(),
        code: code.to_string(),
        message,
    }
}

/// Documents recently decided on, as the server holds them, so that a busy
/// household is not loaded again for every push. Each entry remembers the
/// version it holds; a stale one is never used.
#[derive(Debug, Default)]
pub struct DocCache {
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    entries: HashMap<String, (automerge::Automerge, u64, u64)>,
    clock: u64,
}

impl std::fmt::Debug for CacheInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheInner")
            .field("entries", &self.entries.len())
            .finish()
    }
}

/// About 16 KB each for a small household.
const CACHE_CAPACITY: usize = 2_048;

impl DocCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the document out if the cache holds it at `version`.
    fn take(&self, doc_id: &str, version: u64) -> Option<automerge::Automerge> {
        let mut g = self.lock();
        match g.entries.remove(doc_id) {
            Some((doc, v, _)) if v == version => Some(doc),
            _ => None,
        }
    }

    fn put(&self, doc_id: &str, doc: automerge::Automerge, version: u64) {
        let mut g = self.lock();
        g.clock += 1;
        let tick = g.clock;
        if g.entries.len() >= CACHE_CAPACITY
            && let Some(oldest) = g
                .entries
                .iter()
                .min_by_key(|(_, (_, _, t))| *t)
                .map(|(k, _)| k.clone())
        {
            g.entries.remove(&oldest);
        }
        g.entries.insert(doc_id.to_string(), (doc, version, tick));
    }
}

/// Loads the document as the server holds it: its snapshot and the changes
/// stored after it. Stored changes were applied once already, but a library
/// panic here must still not take the server down.
pub fn load_document(storage: &dyn Storage, doc_id: &str) -> StorageResult<automerge::Automerge> {
    let history = storage.document_history(doc_id)?;
    let loaded = isolated(move || -> Result<automerge::Automerge, String> {
        let mut doc = match &history.snapshot {
            Some(b) => automerge::Automerge::load(b).map_err(|e| e.to_string())?,
            None => automerge::Automerge::new(),
        };
        let mut changes = Vec::with_capacity(history.changes.len());
        for bytes in history.changes {
            changes.push(Change::from_bytes(bytes).map_err(|e| e.to_string())?);
        }
        doc.apply_changes(changes).map_err(|e| e.to_string())?;
        Ok(doc)
    });
    match loaded {
        Ok(Ok(doc)) => Ok(doc),
        Ok(Err(e)) | Err(e) => Err(StorageError::Incompatible(format!(
            "document {doc_id} as stored does not load: {e}"
        ))),
    }
}

/// The decision on one document of a push.
enum Decision {
    Refused(Refusal),
    /// Nothing new (every change is stored already).
    Known {
        duplicates: u64,
    },
    Write {
        write: DocWrite,
        duplicates: u64,
        doc: Box<automerge::Automerge>,
    },
}

/// Stores a push: decides every document, writes, and decides again the
/// documents another push changed meanwhile.
pub fn push(
    storage: &dyn Storage,
    cache: &DocCache,
    device_id: &str,
    villages: &[String],
    docs: Vec<IncomingDoc>,
    now: i64,
) -> StorageResult<PushResponse> {
    let mut answer = PushResponse::default();
    let mut todo = docs;
    for _ in 0..ROUNDS {
        if todo.is_empty() {
            break;
        }
        let mut writes = Vec::new();
        let mut pending: Vec<(IncomingDoc, u64, Box<automerge::Automerge>)> = Vec::new();
        for d in todo {
            match decide(storage, cache, villages, &d)? {
                Decision::Refused(r) => answer.refused.push(r),
                Decision::Known { duplicates } => answer.duplicates += duplicates,
                Decision::Write {
                    write,
                    duplicates,
                    doc,
                } => {
                    writes.push(write);
                    pending.push((d, duplicates, doc));
                }
            }
        }
        todo = Vec::new();
        if writes.is_empty() {
            break;
        }
        let quarantined: Vec<u64> = writes.iter().map(|w| w.quarantined.len() as u64).collect();
        let outcomes = storage.push(device_id, writes, now)?;
        for (((d, duplicates, doc), outcome), q) in
            pending.into_iter().zip(outcomes).zip(quarantined)
        {
            match outcome {
                DocOutcome::Stored {
                    stored,
                    duplicates: more,
                    version,
                    last_position,
                } => {
                    answer.stored += stored;
                    // Pulls count in feed positions.
                    answer.last_seq = answer.last_seq.max(last_position);
                    answer.duplicates += duplicates + more;
                    answer.quarantined += q;
                    cache.put(&d.doc_id, *doc, version);
                }
                DocOutcome::Stale => todo.push(d),
                DocOutcome::Refused(r) => answer.refused.push(r),
            }
        }
    }
    if !todo.is_empty() {
        return Err(StorageError::Busy(format!(
            "{} documents kept changing during this push",
            todo.len()
        )));
    }
    Ok(answer)
}

/// Decides what of one document may be stored.
fn decide(
    storage: &dyn Storage,
    cache: &DocCache,
    allowed: &[String],
    incoming: &IncomingDoc,
) -> StorageResult<Decision> {
    let doc_id = incoming.doc_id.as_str();
    let allowed_has = |v: &str| allowed.iter().any(|a| a == v);
    let head: Option<DocHead> = storage.document(doc_id)?;
    // A household outside the device's villages (it moved away, or never was
    // in them) takes only changes its author made while it saw the household
    // in one of its villages: made before it learned of the move (checked
    // per change below).
    let outsider = head.as_ref().is_some_and(|h| !allowed_has(&h.village_id));
    // Which village it is in is not this device's business.
    let outside = || {
        Decision::Refused(refusal(
            doc_id,
            codes::OUTSIDE_VILLAGES,
            format!("household {doc_id} is not in this device's villages"),
        ))
    };
    let mut doc = match &head {
        Some(h) => match cache.take(doc_id, h.version) {
            Some(d) => d,
            None => load_document(storage, doc_id)?,
        },
        None => automerge::Automerge::new(),
    };
    let (known, new): (Vec<&IncomingChange>, Vec<&IncomingChange>) = incoming
        .changes
        .iter()
        .partition(|c| doc.get_change_meta_by_hash(&ChangeHash(c.hash)).is_some());
    let duplicates = known.len() as u64;
    if new.is_empty() {
        if outsider {
            // "Already stored" would tell an outsider what another village's
            // household holds.
            return Ok(outside());
        }
        if let Some(h) = &head {
            cache.put(doc_id, doc, h.version);
        }
        return Ok(Decision::Known { duplicates });
    }

    // Order the new changes so that each comes after its dependencies.
    let mut have: HashSet<[u8; 32]> = HashSet::new();
    let present = |h: &[u8; 32], have: &HashSet<[u8; 32]>, doc: &automerge::Automerge| {
        have.contains(h) || doc.get_change_meta_by_hash(&ChangeHash(*h)).is_some()
    };
    let mut ordered: Vec<&IncomingChange> = Vec::with_capacity(new.len());
    let mut rest = new;
    loop {
        let before = rest.len();
        let mut still = Vec::new();
        for c in rest {
            if c.change.deps().iter().all(|d| present(&d.0, &have, &doc)) {
                have.insert(c.hash);
                ordered.push(c);
            } else {
                still.push(c);
            }
        }
        rest = still;
        if rest.is_empty() || rest.len() == before {
            break;
        }
    }
    // Dependencies that are neither here nor stored: quarantined ones make
    // their dependents quarantined too; others may still arrive.
    let mut quarantined: Vec<QuarantinedChange> = Vec::new();
    let mut bad: HashSet<[u8; 32]> = HashSet::new();
    if !rest.is_empty() {
        let missing: Vec<[u8; 32]> = rest
            .iter()
            .flat_map(|c| c.change.deps().iter().map(|d| d.0))
            .filter(|h| !present(h, &have, &doc) && !rest.iter().any(|c| c.hash == *h))
            .collect();
        let located = storage.locate_changes(&missing)?;
        if let Some((_, other)) = located.iter().find_map(|(h, l)| match l {
            ChangeLocation::Stored { doc_id: other } if other != doc_id => Some((h, other)),
            _ => None,
        }) {
            // Say nothing of the other document: it may be another village's.
            let _ = other;
            return Ok(Decision::Refused(refusal(
                doc_id,
                codes::FOREIGN_CHANGE,
                format!("household {doc_id}: these changes belong to another document"),
            )));
        }
        let held: Vec<[u8; 32]> = located
            .iter()
            .filter(|(_, l)| *l == ChangeLocation::Quarantined)
            .map(|(h, _)| *h)
            .collect();
        let distinct: HashSet<&[u8; 32]> = missing.iter().collect();
        if held.len() < distinct.len() {
            let n = rest.len();
            return Ok(Decision::Refused(refusal(
                doc_id,
                codes::MISSING_DEPENDENCIES,
                format!(
                    "household {doc_id}: {n} changes depend on changes the server has not received; they are offered again at the next sync"
                ),
            )));
        }
        bad.extend(held);
        // Every remaining change depends, directly or not, on a quarantined one.
        let mut left = rest;
        loop {
            let before = left.len();
            let mut still = Vec::new();
            for c in left {
                let ready = c
                    .change
                    .deps()
                    .iter()
                    .all(|d| bad.contains(&d.0) || present(&d.0, &have, &doc));
                if ready {
                    bad.insert(c.hash);
                    quarantined.push(QuarantinedChange {
                        hash: c.hash,
                        bytes: c.change.raw_bytes().to_vec(),
                        reason: "depends on a quarantined change".into(),
                    });
                } else {
                    still.push(c);
                }
            }
            left = still;
            if left.is_empty() || left.len() == before {
                break;
            }
        }
        if !left.is_empty() {
            return Ok(Decision::Refused(refusal(
                doc_id,
                codes::MISSING_DEPENDENCIES,
                format!(
                    "household {doc_id}: {} changes depend on changes the server has not received; they are offered again at the next sync",
                    left.len()
                ),
            )));
        }
    }

    // A document has one first change (without dependencies), which creates
    // it under its own id, in one of the device's villages.
    let firsts = ordered
        .iter()
        .filter(|c| c.change.deps().is_empty())
        .count();
    if (head.is_some() && firsts > 0) || firsts > 1 {
        return Ok(Decision::Refused(refusal(
            doc_id,
            codes::BAD_DOCUMENT,
            format!(
                "household {doc_id} already has its first change; these changes start another document under its id"
            ),
        )));
    }
    // Village settings: every one must be one of the device's villages.
    for c in &ordered {
        // Unreadable operations: quarantined below, never applied.
        if let Some(sets) = &c.village_sets {
            for s in sets {
                let ok = matches!(s, VillageSet::To(v) if allowed_has(v));
                if ok {
                    continue;
                }
                let refused = if c.change.deps().is_empty() {
                    refusal(
                        doc_id,
                        codes::OUTSIDE_VILLAGES,
                        format!("household {doc_id} is not in this device's villages"),
                    )
                } else {
                    refusal(
                        doc_id,
                        codes::MOVES_VILLAGE,
                        format!(
                            "household {doc_id}: a change would put it in a village that is not one of this device's villages"
                        ),
                    )
                };
                return Ok(Decision::Refused(refused));
            }
        }
    }

    // A change can apply and still leave a document that does not load again
    // once saved (seen with damaged changes): the result of the push is
    // saved and loaded once; if that fails, the changes are taken again one
    // at a time to find the ones to quarantine.
    let base_quarantined = quarantined.clone();
    let base_bad = bad.clone();
    let mut accepted: Vec<VerifiedChange> = Vec::new();
    let mut accepted_changes: Vec<Change> = Vec::new();
    for check_each in [false, true] {
        if check_each {
            quarantined = base_quarantined.clone();
            bad = base_bad.clone();
            accepted.clear();
            accepted_changes.clear();
            doc = rebuild(storage, doc_id, head.is_some(), &[])?;
        }
        for c in ordered.iter().copied() {
            if c.change.deps().iter().any(|d| bad.contains(&d.0)) {
                bad.insert(c.hash);
                quarantined.push(QuarantinedChange {
                    hash: c.hash,
                    bytes: c.change.raw_bytes().to_vec(),
                    reason: "depends on a quarantined change".into(),
                });
                continue;
            }
            if outsider && !village_at(&doc, c.change.deps()).is_some_and(|v| allowed_has(&v)) {
                return Ok(outside());
            }
            if c.village_sets.is_none() {
                tracing::warn!(doc = doc_id, hash = %ChangeHash(c.hash), "change quarantined: operations unreadable");
                bad.insert(c.hash);
                quarantined.push(QuarantinedChange {
                    hash: c.hash,
                    bytes: c.change.raw_bytes().to_vec(),
                    reason: "its operations cannot be read".into(),
                });
                continue;
            }
            let change = c.change.clone();
            let mut taken = std::mem::take(&mut doc);
            let applied = isolated(move || {
                let r = taken.apply_changes([change]);
                (taken, r)
            });
            let failure = match applied {
                Ok((d, Ok(()))) => {
                    doc = d;
                    if check_each {
                        round_trip(&doc).err()
                    } else {
                        None
                    }
                }
                Ok((_, Err(AutomergeError::DuplicateSeqNumber(seq, _)))) => {
                    return Ok(Decision::Refused(refusal(
                        doc_id,
                        codes::REUSED_SEQUENCE,
                        format!(
                            "household {doc_id}: change number {seq} of this author is already used by another change; the device was restored from a copy or cloned: update the app and sync again"
                        ),
                    )));
                }
                Ok((_, Err(e))) => Some(e.to_string()),
                Err(panic) => Some(format!("applying it failed inside Automerge: {panic}")),
            };
            if let Some(reason) = failure {
                tracing::warn!(doc = doc_id, hash = %ChangeHash(c.hash), %reason, "change quarantined");
                bad.insert(c.hash);
                quarantined.push(QuarantinedChange {
                    hash: c.hash,
                    bytes: c.change.raw_bytes().to_vec(),
                    reason,
                });
                // The document may be half-modified: rebuild it.
                doc = rebuild(storage, doc_id, head.is_some(), &accepted_changes)?;
                continue;
            }
            if c.change.deps().is_empty()
                && let Some(why) = genesis_problem(&doc, doc_id, &c.hash)
            {
                return Ok(Decision::Refused(refusal(doc_id, codes::BAD_DOCUMENT, why)));
            }
            accepted_changes.push(c.change.clone());
            accepted.push(VerifiedChange {
                hash: c.hash,
                actor: c.change.actor_id().to_bytes().to_vec(),
                seq: c.change.seq(),
                bytes: c.change.raw_bytes().to_vec(),
            });
        }
        if check_each || accepted.is_empty() {
            break;
        }
        match round_trip(&doc) {
            Ok(()) => break,
            Err(reason) => {
                tracing::warn!(doc = doc_id, %reason, "a pushed document does not load again once saved");
            }
        }
    }
    let village = match (root_scalar_str(&doc, VILLAGE_ID), &head) {
        (Some(v), _) => v,
        (None, Some(h)) => h.village_id.clone(),
        (None, None) if accepted.is_empty() => {
            // Only quarantined changes for a document the server does not
            // know: keep them aside, file nothing.
            String::new()
        }
        (None, None) => {
            return Ok(Decision::Refused(refusal(
                doc_id,
                codes::UNKNOWN_DOCUMENT,
                format!("household {doc_id} has no village"),
            )));
        }
    };
    if head.is_none() && !accepted.is_empty() && !allowed_has(&village) {
        return Ok(outside());
    }
    let moved_from = head
        .as_ref()
        .filter(|h| h.village_id != village)
        .map(|h| h.village_id.clone());
    Ok(Decision::Write {
        write: DocWrite {
            doc_id: doc_id.to_string(),
            moved_from,
            village_id: village,
            base_version: head.map(|h| h.version),
            changes: accepted,
            quarantined,
        },
        duplicates,
        doc: Box::new(doc),
    })
}

/// Saves and loads the document again, as a device that bootstraps from it or
/// keeps it as a snapshot will.
fn round_trip(doc: &automerge::Automerge) -> Result<(), String> {
    match isolated(|| automerge::Automerge::load(&doc.save_nocompress())) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("the document does not load again once saved: {e}")),
        Err(p) => Err(format!("the document does not load again once saved: {p}")),
    }
}

/// The document as stored plus the changes accepted so far in this push.
fn rebuild(
    storage: &dyn Storage,
    doc_id: &str,
    stored: bool,
    accepted: &[Change],
) -> StorageResult<automerge::Automerge> {
    let mut doc = if stored {
        load_document(storage, doc_id)?
    } else {
        automerge::Automerge::new()
    };
    let changes = accepted.to_vec();
    match isolated(move || doc.apply_changes(changes).map(|()| doc)) {
        Ok(Ok(d)) => Ok(d),
        Ok(Err(e)) => Err(StorageError::Incompatible(format!(
            "document {doc_id}: changes accepted a moment ago no longer apply: {e}"
        ))),
        Err(p) => Err(StorageError::Incompatible(format!(
            "document {doc_id}: changes accepted a moment ago no longer apply: {p}"
        ))),
    }
}

/// The household's village as a change with these dependencies saw it: the
/// village its author had the household in when making it.
fn village_at(doc: &automerge::Automerge, deps: &[ChangeHash]) -> Option<String> {
    root_scalar_str_at(doc, VILLAGE_ID, deps)
}

/// Why a document's first change does not create it under `doc_id`, if it
/// does not.
fn genesis_problem(doc: &automerge::Automerge, doc_id: &str, hash: &[u8; 32]) -> Option<String> {
    if root_scalar_str(doc, schema::KIND).as_deref() != Some(KIND_HOUSEHOLD) {
        return Some(format!(
            "household {doc_id}: its first change does not create a household"
        ));
    }
    // Every household is named by the id derived from its first change
    // (protocol 2): nobody can claim an id without holding that change.
    if !ids::matches_genesis(doc_id, hash) {
        return Some(if ids::is_derived(doc_id) {
            format!("household {doc_id}: its first change belongs to another document")
        } else {
            format!(
                "household {doc_id}: a household's id must be the one derived from its first change; this id was made by an older gocua"
            )
        });
    }
    if root_scalar_str(doc, VILLAGE_ID).is_none() {
        return Some(format!(
            "household {doc_id}: its first change does not say its village"
        ));
    }
    None
}

/// The id a household stored under a legacy (random, version 1) id is renamed
/// to: the one derived from its first change, the change of `changes` (its
/// stored changes) without dependencies. `None` when there is no such change.
pub fn derived_id_of(changes: &[Vec<u8>]) -> Option<String> {
    changes.iter().find_map(|bytes| {
        let bytes = bytes.clone();
        match isolated(move || Change::from_bytes(bytes)) {
            Ok(Ok(c)) if c.deps().is_empty() => Some(ids::derived_doc_id(&c.hash().0)),
            _ => None,
        }
    })
}

/// The verdict on a stored change when the log written by an older server is
/// checked (see the SQLite migration that introduced the quarantine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replayed {
    Applied { actor: Vec<u8>, seq: u64 },
    Quarantined { reason: String },
}

/// Applies a document's stored changes, in seq order, one at a time and in
/// isolation, as the push path would have: the ones that do not apply, and
/// the ones that depend on them or on changes never received, are
/// quarantined.
pub fn replay_history(changes: &[Vec<u8>]) -> Vec<Replayed> {
    let mut out = Vec::with_capacity(changes.len());
    let mut doc = automerge::Automerge::new();
    let mut applied: Vec<Change> = Vec::new();
    for bytes in changes {
        let bytes = bytes.clone();
        let change = match isolated(move || Change::from_bytes(bytes)) {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                out.push(Replayed::Quarantined {
                    reason: format!("not an Automerge change: {e}"),
                });
                continue;
            }
            Err(p) => {
                out.push(Replayed::Quarantined { reason: p });
                continue;
            }
        };
        if !change
            .deps()
            .iter()
            .all(|d| doc.get_change_meta_by_hash(d).is_some())
        {
            out.push(Replayed::Quarantined {
                reason: "depends on changes the server never received or quarantined".into(),
            });
            continue;
        }
        let c = change.clone();
        let mut taken = std::mem::take(&mut doc);
        let result = isolated(move || {
            let r = taken.apply_changes([c]);
            (taken, r)
        });
        match result {
            Ok((d, Ok(()))) => {
                doc = d;
                out.push(Replayed::Applied {
                    actor: change.actor_id().to_bytes().to_vec(),
                    seq: change.seq(),
                });
                applied.push(change);
            }
            other => {
                let reason = match other {
                    Ok((_, Err(AutomergeError::DuplicateSeqNumber(seq, _)))) => {
                        format!("reuses change number {seq} of its author")
                    }
                    Ok((_, Err(e))) => e.to_string(),
                    Err(p) => format!("applying it failed inside Automerge: {p}"),
                    Ok((_, Ok(()))) => String::new(),
                };
                out.push(Replayed::Quarantined { reason });
                let again = applied.clone();
                doc = match isolated(move || {
                    let mut d = automerge::Automerge::new();
                    d.apply_changes(again).map(|()| d)
                }) {
                    Ok(Ok(d)) => d,
                    // Cannot happen (these applied a moment ago); start over
                    // empty so that the rest is quarantined, never served.
                    _ => automerge::Automerge::new(),
                };
            }
        }
    }
    out
}
