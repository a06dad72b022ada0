//! The store's side of sync: the outbox of changes the server has not
//! acknowledged, the pull cursor and the enrollment, all in SQLite so an
//! interrupted sync resumes without resending what was acknowledged.

use automerge::{ChangeHash, ReadDoc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Inner, Origin, Store, docs, query};
use crate::error::{Error, Result};
use crate::model::{Identity, ImportReport};
use gocua_protocol::{Assignment, DocChanges, EnrollResponse};

pub(crate) const PULL_CURSOR: &str = "pull_cursor";
pub(crate) const SERVER_URL: &str = "server_url";
pub(crate) const DEVICE_TOKEN: &str = "device_token";
/// The name the device was enrolled under (the server's device list shows it).
pub(crate) const DEVICE_NAME: &str = "device_name";
pub(crate) const LAST_SYNC_AT: &str = "last_sync_at";
/// The server's tag of the assignment this store holds (`GET /v1/assignment`).
pub(crate) const ASSIGNMENT_TAG: &str = "assignment_tag";

/// The volunteer, team and villages of `a` in place of the store's: the
/// villages table holds exactly the ones the device serves.
fn write_assignment(tx: &Connection, a: &Assignment) -> Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO teams (id, name, commune_code) VALUES (?1, ?2, ?3)",
        params![a.team_id, a.team_name, a.commune_code],
    )?;
    tx.execute(
        "INSERT OR REPLACE INTO volunteers (id, name, phone, team_id) VALUES (?1, ?2, ?3, ?4)",
        params![
            a.volunteer_id,
            a.volunteer_name,
            a.volunteer_phone,
            a.team_id
        ],
    )?;
    tx.execute("DELETE FROM villages", [])?;
    for v in &a.villages {
        tx.execute(
            "INSERT OR REPLACE INTO villages (id, commune_code, name, name_key) VALUES (?1, ?2, ?3, ?4)",
            params![v.id, v.commune_code, v.name, gocua_text::sort_key(&v.name)],
        )?;
    }
    for (k, val) in [
        ("volunteer_id", a.volunteer_id.as_str()),
        ("team_id", a.team_id.as_str()),
        ("commune_code", a.commune_code.as_str()),
    ] {
        set_meta(tx, k, val)?;
    }
    Ok(())
}

/// What a new assignment changed of the villages a device serves, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssignmentChange {
    pub gained: Vec<String>,
    pub lost: Vec<String>,
}

pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
        .execute(params![key, value])?;
    Ok(())
}

pub(crate) fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// Unsent changes, oldest first, grouped per document for one push.
#[derive(Debug, Clone, Default)]
pub struct OutboxBatch {
    pub docs: Vec<DocChanges>,
    /// The hashes in `docs`, per document, to acknowledge after the push.
    pub hashes: Vec<(String, String)>,
    pub bytes: usize,
}

/// Where and as whom this device syncs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSettings {
    pub server_url: String,
    pub token: String,
}

impl Store {
    /// Takes this device's identity from the server's enrollment answer.
    pub fn enroll_with(&self, server_url: &str, e: &EnrollResponse) -> Result<Identity> {
        let mut g = self.lock();
        let before = g.actor.clone();
        let tx = g
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // The device id changes, and with it the actor a store that never
        // renewed its actor uses: the old one stays known as this store's.
        super::actor::retire(&tx, &before)?;
        write_assignment(&tx, &e.assignment())?;
        // The enrollment's answer carries no tag: the first sync asks once.
        tx.execute("DELETE FROM meta WHERE key = ?1", [ASSIGNMENT_TAG])?;
        for (k, val) in [
            ("device_id", e.device_id.as_str()),
            (SERVER_URL, server_url),
            (DEVICE_TOKEN, e.token.as_str()),
        ] {
            set_meta(&tx, k, val)?;
        }
        tx.commit()?;
        // Documents cached under the old actor must not be written with it.
        g.cache = docs::DocCache::default();
        let identity = query::identity(&g.conn)?.ok_or(Error::NotInitialized)?;
        g.actor = super::actor::current(&g.conn, Some(&identity))?;
        g.identity = Some(identity.clone());
        Ok(identity)
    }

    /// The server's tag of the assignment held, to send in `If-None-Match`.
    pub fn assignment_tag(&self) -> Result<Option<String>> {
        get_meta(&self.lock().conn, ASSIGNMENT_TAG)
    }

    /// Takes the assignment the server has now (a team's villages edited, a
    /// volunteer moved to another team). Households already on the device
    /// stay; those of a village no longer served show as outside the
    /// device's villages, and new ones can be recorded in a gained village.
    pub fn take_assignment(&self, a: &Assignment, tag: Option<&str>) -> Result<AssignmentChange> {
        let mut g = self.lock();
        let before = g.identity.clone().ok_or(Error::NotEnrolled)?;
        let tx = g
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        write_assignment(&tx, a)?;
        match tag {
            Some(t) => set_meta(&tx, ASSIGNMENT_TAG, t)?,
            None => {
                tx.execute("DELETE FROM meta WHERE key = ?1", [ASSIGNMENT_TAG])?;
            }
        }
        tx.commit()?;
        let identity = query::identity(&g.conn)?.ok_or(Error::NotInitialized)?;
        let change = AssignmentChange {
            gained: identity
                .villages
                .iter()
                .filter(|v| !before.villages.iter().any(|b| b.id == v.id))
                .map(|v| v.name.clone())
                .collect(),
            lost: before
                .villages
                .iter()
                .filter(|b| !identity.villages.iter().any(|v| v.id == b.id))
                .map(|b| b.name.clone())
                .collect(),
        };
        g.identity = Some(identity);
        Ok(change)
    }

    /// Keeps the name this device was enrolled under, for the next enrollment.
    pub fn set_device_name(&self, name: &str) -> Result<()> {
        let g = self.lock();
        set_meta(&g.conn, DEVICE_NAME, name)
    }

    /// The name this device was last enrolled under, if any.
    pub fn device_name(&self) -> Result<Option<String>> {
        let g = self.lock();
        get_meta(&g.conn, DEVICE_NAME)
    }

    pub fn sync_settings(&self) -> Result<Option<SyncSettings>> {
        let g = self.lock();
        Ok(
            match (
                get_meta(&g.conn, SERVER_URL)?,
                get_meta(&g.conn, DEVICE_TOKEN)?,
            ) {
                (Some(server_url), Some(token)) => Some(SyncSettings { server_url, token }),
                _ => None,
            },
        )
    }

    /// The last server cursor this store has applied, if it ever pulled.
    pub fn pull_cursor(&self) -> Result<Option<u64>> {
        Ok(get_meta(&self.lock().conn, PULL_CURSOR)?.and_then(|c| c.parse().ok()))
    }

    pub fn last_sync_at(&self) -> Result<Option<String>> {
        get_meta(&self.lock().conn, LAST_SYNC_AT)
    }

    pub fn set_last_sync_at(&self, at: &str) -> Result<()> {
        set_meta(&self.lock().conn, LAST_SYNC_AT, at)
    }

    /// How many changes wait to be sent (refused ones excluded).
    pub fn pending_changes(&self) -> Result<i64> {
        Ok(self.lock().conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE refused IS NULL",
            [],
            |r| r.get(0),
        )?)
    }

    /// The oldest unsent changes, at most `max_changes` and about `max_bytes`.
    pub fn outbox_batch(&self, max_changes: usize, max_bytes: usize) -> Result<OutboxBatch> {
        self.outbox_rows(false, 0, max_changes, max_bytes)
            .map(|(batch, _)| batch)
    }

    /// Every change this device has not had stored by the server, refused
    /// ones included, after outbox position `after`; with the last position
    /// taken. What a revoked device reports before it wipes its data.
    pub fn unsent_batch(
        &self,
        after: i64,
        max_changes: usize,
        max_bytes: usize,
    ) -> Result<(OutboxBatch, i64)> {
        self.outbox_rows(true, after, max_changes, max_bytes)
    }

    fn outbox_rows(
        &self,
        with_refused: bool,
        after: i64,
        max_changes: usize,
        max_bytes: usize,
    ) -> Result<(OutboxBatch, i64)> {
        let mut g = self.lock();
        let actor = g.actor.clone();
        let Inner { conn, cache, .. } = &mut *g;
        let rows: Vec<(i64, String, String, Option<Vec<u8>>)> = conn
            .prepare_cached(
                "SELECT o.seq, o.doc_id, o.hash, c.bytes FROM outbox o
                 LEFT JOIN doc_changes c ON c.hash = o.hash
                 WHERE (o.refused IS NULL OR ?2) AND o.seq > ?3 ORDER BY o.seq LIMIT ?1",
            )?
            .query_map(params![max_changes as i64, with_refused, after], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut batch = OutboxBatch::default();
        let mut last = after;
        for (seq, doc_id, hash, bytes) in rows {
            if batch.bytes >= max_bytes && !batch.hashes.is_empty() {
                break;
            }
            last = seq;
            let bytes = match bytes {
                Some(b) => b,
                // Compacted into the snapshot: the loaded document still has it.
                None => {
                    let Some(document) = docs::load(conn, cache, &doc_id, &actor)? else {
                        continue;
                    };
                    let found = hash
                        .parse::<ChangeHash>()
                        .ok()
                        .and_then(|h| document.get_change_by_hash(&h))
                        .map(|c| c.raw_bytes().to_vec());
                    cache.put(&doc_id, document);
                    match found {
                        Some(b) => b,
                        None => continue,
                    }
                }
            };
            batch.bytes += bytes.len();
            match batch.docs.iter_mut().find(|d| d.doc_id == doc_id) {
                Some(d) => d.changes.push(bytes),
                None => batch.docs.push(DocChanges {
                    doc_id: doc_id.clone(),
                    changes: vec![bytes],
                }),
            }
            batch.hashes.push((doc_id, hash));
            last = seq;
        }
        Ok((batch, last))
    }

    /// The server stored these changes: they leave the outbox.
    pub fn acknowledge(&self, hashes: &[String]) -> Result<()> {
        let mut g = self.lock();
        let tx = g.conn.transaction()?;
        {
            let mut del = tx.prepare_cached("DELETE FROM outbox WHERE hash = ?1")?;
            for h in hashes {
                del.execute([h])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The server refused a document: its changes stay, marked, and are not
    /// offered again until the refusal is dealt with.
    pub fn mark_refused(&self, doc_id: &str, reason: &str) -> Result<()> {
        self.lock().conn.execute(
            "UPDATE outbox SET refused = ?2 WHERE doc_id = ?1",
            params![doc_id, reason],
        )?;
        Ok(())
    }

    /// Offers again the documents refused with one of `codes` (the refusal is
    /// stored as "code: message").
    pub fn reoffer_refused(&self, codes: &[&str]) -> Result<()> {
        let g = self.lock();
        for code in codes {
            g.conn.execute(
                "UPDATE outbox SET refused = NULL WHERE refused LIKE ?1 || ': %'",
                [code],
            )?;
        }
        Ok(())
    }

    /// Applies a page pulled from the server and stores `cursor` in the same
    /// transaction, so a pull interrupted after this returns resumes after it.
    pub fn apply_pulled(&self, bundle_bytes: &[u8], cursor: u64) -> Result<ImportReport> {
        let docs =
            gocua_protocol::bundle::decode(bundle_bytes).map_err(|e| Error::BadChanges(e.0))?;
        self.apply_doc_changes(
            docs,
            Origin::Server {
                cursor: Some(cursor),
            },
        )
    }
}
