//! Reissuing unsent changes under a new actor (see `actor`).
//!
//! A store that finds another copy of itself has numbered changes the same way
//! cannot send its own: the server refuses a reused change number, and every
//! store holding both would break. Its unsent changes are made again, each with
//! the same effect, the same dependencies (mapped to the reissued ones) and the
//! same message and time, as the new actor; the old ones leave the document and
//! the outbox. Nothing the volunteer recorded is lost, and edits made
//! concurrently elsewhere still merge (or clash) as they would have.
//!
//! Each change's effect is read from Automerge as the patches between the
//! document before it (its dependencies) and after it, and played back on the
//! document forked at the same point.

use std::collections::{HashMap, HashSet};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, Change, ChangeHash, ObjId, PatchAction, ReadDoc, Value};
use rusqlite::{Connection, params};

use crate::error::{Error, Result};
use crate::isolate::isolate;

/// What a reissue made of a document.
pub(super) struct Reissued {
    pub document: Automerge,
    /// How many changes were made again.
    pub changes: usize,
}

fn bad(id: &str, reason: impl std::fmt::Display) -> Error {
    Error::BadDocument {
        id: id.to_string(),
        reason: format!("reissuing its unsent changes failed: {reason}"),
    }
}

/// Reissues this store's changes to `document` that another copy numbered
/// differently (for each actor in `from`, the first number the other copy
/// used differently: what this store made from there on is its own) and any
/// change that depends on them, as `new_actor`; records the result: the
/// document's stored form and its outbox rows. The caller projects it.
/// Changes both copies share (numbered before) stay as they are.
pub(super) fn reissue(
    conn: &Connection,
    id: &str,
    document: Automerge,
    from: &HashMap<ActorId, u64>,
    new_actor: &ActorId,
    now: &str,
) -> Result<Reissued> {
    // In causal order. For each actor in `from`, its changes numbered from
    // there on are this copy's own line; what depends on a reissued change is
    // reissued too.
    let all: Vec<Change> = document.get_changes(&[]);
    let stored: Vec<ChangeHash> = all.iter().map(|c| c.hash()).collect();
    let mut redo: HashSet<ChangeHash> = HashSet::new();
    let mut keep: Vec<Change> = Vec::new();
    let mut again: Vec<Change> = Vec::new();
    for c in all {
        let own_line = from
            .get(c.actor_id())
            .is_some_and(|first| c.seq() >= *first);
        if own_line || c.deps().iter().any(|d| redo.contains(d)) {
            redo.insert(c.hash());
            again.push(c);
        } else {
            keep.push(c);
        }
    }
    if again.is_empty() {
        return Ok(Reissued {
            document,
            changes: 0,
        });
    }
    let old_hashes: Vec<ChangeHash> = again.iter().map(|c| c.hash()).collect();
    let made = isolate(|| remake(&document, keep, &again, new_actor))
        .map_err(|p| bad(id, p))?
        .map_err(|e| bad(id, e))?;
    let (working, new_changes) = made;

    // The document is stored anew: a snapshot without the old changes. Rows
    // of changes it never applied (waiting for dependencies) stay.
    {
        let mut del = conn.prepare_cached("DELETE FROM doc_changes WHERE hash = ?1")?;
        for h in &stored {
            del.execute([h.to_string()])?;
        }
    }
    conn.prepare_cached(
        "UPDATE documents SET snapshot = ?2, heads = ?3, updated_at = ?4,
             changes_since_snapshot = (SELECT COUNT(*) FROM doc_changes WHERE doc_id = ?1)
             WHERE id = ?1",
    )?
    .execute(params![
        id,
        working.save(),
        super::docs::heads_text(&working.get_heads()),
        now
    ])?;
    {
        let mut del = conn.prepare_cached("DELETE FROM outbox WHERE hash = ?1")?;
        for h in &old_hashes {
            del.execute([h.to_string()])?;
        }
        let mut ins = conn.prepare_cached(
            "INSERT OR IGNORE INTO outbox (hash, doc_id, created_at) VALUES (?1, ?2, ?3)",
        )?;
        for h in &new_changes {
            ins.execute(params![h.to_string(), id, now])?;
        }
    }
    tracing::warn!(
        doc_id = id,
        reissued = old_hashes.len(),
        "unsent changes reissued under a new actor"
    );
    Ok(Reissued {
        document: working,
        changes: old_hashes.len(),
    })
}

/// The document made of `keep`, then each of `again` played back as
/// `new_actor`; with the hashes of the new changes.
fn remake(
    document: &Automerge,
    keep: Vec<Change>,
    again: &[Change],
    new_actor: &ActorId,
) -> std::result::Result<(Automerge, Vec<ChangeHash>), String> {
    let mut working = Automerge::new();
    working.apply_changes(keep).map_err(|e| e.to_string())?;
    // An old change stands for the heads its replay left.
    let mut mapped: HashMap<ChangeHash, Vec<ChangeHash>> = HashMap::new();
    // Objects the old changes created, by their old and new ids.
    let mut objects: HashMap<ObjId, ObjId> = HashMap::new();
    let mut made: Vec<ChangeHash> = Vec::new();
    for c in again {
        let mut at: Vec<ChangeHash> = Vec::new();
        for d in c.deps() {
            match mapped.get(d) {
                Some(hs) => at.extend(hs.iter().copied()),
                None => at.push(*d),
            }
        }
        // The new actor's changes to a document are numbered in one line: the
        // fork holds the previous one.
        if let Some(last) = made.last() {
            at.push(*last);
        }
        let mut fork = working.fork_at(&at).map_err(|e| e.to_string())?;
        fork.set_actor(new_actor.clone());
        let patches = document.diff(c.deps(), &[c.hash()]);
        let mut options = CommitOptions::default().with_time(c.timestamp());
        if let Some(m) = c.message() {
            options = options.with_message(m.to_string());
        }
        let mut tx = fork.transaction();
        for p in patches {
            let obj = objects.get(&p.obj).cloned().unwrap_or(p.obj);
            play(&mut tx, &obj, p.action, &mut objects).map_err(|e| e.to_string())?;
        }
        let (hash, _) = tx.commit_with(options);
        match hash {
            Some(h) => {
                let change = fork
                    .get_change_by_hash(&h)
                    .ok_or("the reissued change is missing")?
                    .clone();
                working.apply_changes([change]).map_err(|e| e.to_string())?;
                made.push(h);
                mapped.insert(c.hash(), vec![h]);
            }
            // No visible effect: what depends on it depends on its deps.
            None => {
                let mut heads = at.clone();
                heads.sort();
                heads.dedup();
                mapped.insert(c.hash(), heads);
            }
        }
    }
    Ok((working, made))
}

fn play(
    tx: &mut automerge::transaction::Transaction<'_>,
    obj: &ObjId,
    action: PatchAction,
    objects: &mut HashMap<ObjId, ObjId>,
) -> std::result::Result<(), automerge::AutomergeError> {
    match action {
        PatchAction::PutMap {
            key,
            value: (v, old),
            ..
        } => match v {
            Value::Object(t) => {
                let new = tx.put_object(obj, key, t)?;
                objects.insert(old, new);
            }
            Value::Scalar(s) => tx.put(obj, key, s.into_owned())?,
        },
        PatchAction::PutSeq {
            index,
            value: (v, old),
            ..
        } => match v {
            Value::Object(t) => {
                let new = tx.put_object(obj, index, t)?;
                objects.insert(old, new);
            }
            Value::Scalar(s) => tx.put(obj, index, s.into_owned())?,
        },
        PatchAction::Insert { index, values } => {
            for (k, (v, old, _)) in values.iter().enumerate() {
                match v {
                    Value::Object(t) => {
                        let new = tx.insert_object(obj, index + k, *t)?;
                        objects.insert(old.clone(), new);
                    }
                    Value::Scalar(s) => tx.insert(obj, index + k, s.clone().into_owned())?,
                }
            }
        }
        PatchAction::SpliceText { index, value, .. } => {
            tx.splice_text(obj, index, 0, &value.make_string())?
        }
        PatchAction::Increment { prop, value } => tx.increment(obj, prop, value)?,
        PatchAction::DeleteMap { key } => tx.delete(obj, key)?,
        PatchAction::DeleteSeq { index, length } => {
            for _ in 0..length {
                tx.delete(obj, index)?;
            }
        }
        // A conflict is the merge's to make; marks are not used in households.
        PatchAction::Conflict { .. } | PatchAction::Mark { .. } => {}
    }
    Ok(())
}
