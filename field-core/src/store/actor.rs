//! Who this store's changes are made as: its Automerge actor.
//!
//! Automerge numbers each actor's changes to a document 1, 2, 3…; two
//! different changes with the same actor and number break every store that
//! meets both. A store restored from a backup, or copied to a second phone,
//! would go on numbering from where the copy was taken and reuse numbers the
//! original already sent. So a store renews its actor (a fresh random one)
//! whenever it cannot prove it is the latest copy of itself:
//!
//! - on open, when its database file is not the file it was last opened as
//!   (a restore or a copy writes a new file);
//! - when the server or a peer sends it a change made as one of its own actors
//!   that it does not have (another copy is in use, or this one is older than
//!   what it sent);
//! - when the server refuses a push for a reused change number.
//!
//! Its unsent changes that another copy may have numbered the same are then
//! reissued under the new actor (see `reissue`). Actors used before stay
//! recorded as this store's (`retired_actors`), so their changes are still
//! recognized as its own.

use std::path::Path;

use automerge::ActorId;
use rusqlite::Connection;
use uuid::Uuid;

use super::outbox::{get_meta, set_meta};
use crate::error::Result;
use crate::model::Identity;

const ACTOR: &str = "actor";
const RETIRED_ACTORS: &str = "retired_actors";
pub(super) const STORE_FILE: &str = "store_file";
/// The highest server log position of a change this store pushed and the
/// server stored: its own changes up to there need not come back on a pull.
const OWN_THROUGH: &str = "own_through";

/// The actor a store that never renewed its actor uses: its device id's bytes.
pub(super) fn derived(device_id: &str) -> ActorId {
    match Uuid::parse_str(device_id) {
        Ok(u) => ActorId::from(u.as_bytes().as_slice()),
        Err(_) => ActorId::from(device_id.as_bytes()),
    }
}

/// The actor new changes are made as.
pub(super) fn current(conn: &Connection, identity: Option<&Identity>) -> Result<ActorId> {
    if let Some(hex) = get_meta(conn, ACTOR)?
        && let Ok(a) = ActorId::try_from(hex.as_str())
    {
        return Ok(a);
    }
    Ok(match identity {
        Some(i) => derived(&i.device_id),
        // Nothing is written before `init`; any actor will do meanwhile.
        None => ActorId::random(),
    })
}

/// Every actor this store has made changes as: the current one first.
pub(super) fn ours(conn: &Connection, identity: Option<&Identity>) -> Result<Vec<ActorId>> {
    let mut all = vec![current(conn, identity)?];
    if let Some(i) = identity {
        all.push(derived(&i.device_id));
    }
    for hex in get_meta(conn, RETIRED_ACTORS)?
        .unwrap_or_default()
        .split(',')
        .filter(|h| !h.is_empty())
    {
        if let Ok(a) = ActorId::try_from(hex) {
            all.push(a);
        }
    }
    let mut seen = std::collections::HashSet::new();
    all.retain(|a| seen.insert(a.clone()));
    Ok(all)
}

/// Keeps `old` among this store's actors once it is no longer current.
pub(super) fn retire(conn: &Connection, old: &ActorId) -> Result<()> {
    let mut retired = get_meta(conn, RETIRED_ACTORS)?.unwrap_or_default();
    let old_hex = old.to_hex_string();
    if !retired.split(',').any(|h| h == old_hex) {
        if !retired.is_empty() {
            retired.push(',');
        }
        retired.push_str(&old_hex);
    }
    set_meta(conn, RETIRED_ACTORS, &retired)
}

/// Makes a fresh actor current and keeps `old` among this store's actors.
pub(super) fn renew(conn: &Connection, old: &ActorId, why: &str) -> Result<ActorId> {
    let new = ActorId::random();
    retire(conn, old)?;
    set_meta(conn, ACTOR, &new.to_hex_string())?;
    tracing::warn!(old = %old, new = %new, why, "store actor renewed");
    Ok(new)
}

/// What identifies the database file itself (not its contents): a copy or a
/// restore of it is another file.
pub(super) fn file_identity(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        // A file deleted and written again often gets the same inode number
        // back; its creation time (where the file system keeps one) differs.
        let born = m
            .created()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Some(format!("{}:{}:{born}", m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// On open: renews the actor when the database file is not the one this store
/// was last opened as, and records the file. True if it renewed. (A file
/// written anew by `cipher` carries its own identity over.)
pub(super) fn check_file(
    conn: &Connection,
    path: &Path,
    identity: Option<&Identity>,
) -> Result<bool> {
    let Some(now) = file_identity(path) else {
        return Ok(false);
    };
    let before = get_meta(conn, STORE_FILE)?;
    if before.as_deref() == Some(now.as_str()) {
        return Ok(false);
    }
    let renewed = match (&before, identity) {
        (Some(_), Some(_)) => {
            let old = current(conn, identity)?;
            renew(conn, &old, "the store file was copied or restored")?;
            true
        }
        _ => false,
    };
    set_meta(conn, STORE_FILE, &now)?;
    Ok(renewed)
}

pub(super) fn own_through(conn: &Connection) -> Result<Option<u64>> {
    Ok(get_meta(conn, OWN_THROUGH)?.and_then(|v| v.parse().ok()))
}

/// The positions this store's pushes were given no longer exist (the
/// server was restored from a backup).
pub(super) fn forget_own_through(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM meta WHERE key = ?1", [OWN_THROUGH])?;
    Ok(())
}

pub(super) fn note_own_through(conn: &Connection, position: u64) -> Result<()> {
    if own_through(conn)?.is_none_or(|p| p < position) {
        set_meta(conn, OWN_THROUGH, &position.to_string())?;
    }
    Ok(())
}

impl super::Store {
    /// The highest server log position of this store's pushed changes.
    pub fn own_through(&self) -> Result<Option<u64>> {
        own_through(&self.lock().conn)
    }

    /// The server stored this store's changes up to `position`.
    pub fn note_pushed(&self, position: u64) -> Result<()> {
        note_own_through(&self.lock().conn, position)
    }
}
