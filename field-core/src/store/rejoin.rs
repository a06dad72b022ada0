//! Meeting a server restored from a backup older than this store's last
//! sync (docs/protocol.md, "Pull"): the server answers the store's cursor
//! with `cursor_expired`, having lost what it was sent and fed after the
//! backup. The store takes a fresh bootstrap and offers the server again
//! every change it holds that the bootstrap's snapshots lack: its own
//! changes acknowledged before the restore, and others' it pulled then,
//! whose authors may not sync again soon. The server keeps what it already
//! has as duplicates, so offering too much costs bytes, never data.

use std::collections::{HashMap, HashSet};

use automerge::{Automerge, Change, ChangeHash};
use rusqlite::params;

use super::{Inner, Origin, Store, actor, docs, outbox};
use crate::error::{Error, Result};
use crate::isolate::isolate;
use crate::model::ImportReport;
use crate::validate as v;

/// What [`Store::rejoin`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rejoined {
    pub report: ImportReport,
    /// Changes put back in the outbox.
    pub offered_again: u64,
}

/// The hashes of a bundle item: a change, or every change of a snapshot.
fn hashes_of(bytes: &[u8]) -> Result<Vec<ChangeHash>> {
    let read = if gocua_protocol::chunk::is_document(bytes) {
        isolate(|| {
            Automerge::load(bytes)
                .map(|d| d.get_changes(&[]).iter().map(|c| c.hash()).collect())
                .map_err(|e| e.to_string())
        })
    } else {
        let owned = bytes.to_vec();
        isolate(move || {
            Change::from_bytes(owned)
                .map(|c| vec![c.hash()])
                .map_err(|e| e.to_string())
        })
    };
    match read {
        Ok(Ok(h)) => Ok(h),
        Ok(Err(e)) | Err(e) => Err(Error::BadChanges(format!(
            "Automerge failed reading an item: {e}"
        ))),
    }
}

impl Store {
    /// Applies a bootstrap taken after `cursor_expired` (as a first
    /// bootstrap is applied, `cursor` stored with it) and puts back in the
    /// outbox every change of this store that the bootstrap does not hold.
    /// The positions this store's pushes were given belong to the lost feed:
    /// forgotten.
    pub fn rejoin(&self, bundle_bytes: &[u8], cursor: u64) -> Result<Rejoined> {
        let incoming =
            gocua_protocol::bundle::decode(bundle_bytes).map_err(|e| Error::BadChanges(e.0))?;
        let mut held: HashMap<String, HashSet<ChangeHash>> = HashMap::new();
        for d in &incoming {
            let set = held.entry(d.doc_id.clone()).or_default();
            for item in &d.changes {
                set.extend(hashes_of(item)?);
            }
        }
        let report = self.apply_doc_changes(
            incoming,
            Origin::Server {
                cursor: Some(cursor),
            },
        )?;
        let mut g = self.lock();
        let current = g.actor.clone();
        let Inner { conn, cache, .. } = &mut *g;
        let ids: Vec<String> = docs::all_heads(conn)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let now = v::now_utc();
        let tx = conn.transaction()?;
        let mut offered_again = 0u64;
        for id in ids {
            let Some(document) = docs::load(&tx, cache, &id, &current)? else {
                continue;
            };
            let theirs = held.get(&id);
            {
                let mut ins = tx.prepare_cached(
                    "INSERT OR IGNORE INTO outbox (hash, doc_id, created_at) VALUES (?1, ?2, ?3)",
                )?;
                for c in document.get_changes(&[]) {
                    let hash = c.hash();
                    if theirs.is_some_and(|h| h.contains(&hash)) {
                        continue;
                    }
                    offered_again += ins.execute(params![hash.to_string(), id, now])? as u64;
                }
            }
            cache.put(&id, document);
        }
        actor::forget_own_through(&tx)?;
        outbox::set_meta(&tx, outbox::PULL_CURSOR, &cursor.to_string())?;
        tx.commit()?;
        tracing::warn!(
            offered_again,
            "the server was restored from a backup: bootstrapped again, changes it lacks offered again"
        );
        Ok(Rejoined {
            report,
            offered_again,
        })
    }
}
