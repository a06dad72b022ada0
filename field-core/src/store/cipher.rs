//! The store's encryption at rest (SQLCipher).
//!
//! A phone is lost or handed on; the store holds names, ID numbers, health and
//! ethnicity (sensitive personal data under Decree 13). Every page of the file,
//! its WAL included, is encrypted with AES-256 by SQLCipher; temporary tables
//! are kept in memory so nothing plaintext reaches a temporary file.
//!
//! An unencrypted store (from an older gocua, or a test store) is encrypted in
//! place: a copy is exported encrypted beside it, synced, and renamed over the
//! original, so a process killed at any point leaves either the old store or
//! the new one, never neither.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// How the store file is protected.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreKey {
    /// A random 256-bit key kept by the platform's keystore (Android
    /// Keystore, iOS Keychain): used as is, no key derivation on open.
    Raw([u8; 32]),
    /// A passphrase typed by the user, stretched by SQLCipher's key derivation
    /// (PBKDF2-HMAC-SHA512, 256,000 iterations) on every open. Normalized to
    /// NFC first, so the same words typed on keyboards that compose Vietnamese
    /// tones differently open the same store.
    Passphrase(String),
    /// No encryption: test and benchmark stores only. An encrypted store does
    /// not open with it.
    Unencrypted,
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreKey::Raw(_) => "StoreKey::Raw(..)",
            StoreKey::Passphrase(_) => "StoreKey::Passphrase(..)",
            StoreKey::Unencrypted => "StoreKey::Unencrypted",
        })
    }
}

impl StoreKey {
    /// The value of SQLCipher's `PRAGMA key`, or `None` for no encryption.
    fn pragma_value(&self) -> Option<String> {
        match self {
            StoreKey::Raw(bytes) => {
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                // SQLCipher reads x'...' as the raw key, skipping its KDF.
                Some(format!("x'{hex}'"))
            }
            StoreKey::Passphrase(p) => Some(p.nfc().collect()),
            StoreKey::Unencrypted => None,
        }
    }

    /// A new random 256-bit key from the operating system, for an app to keep
    /// in its platform keystore.
    pub fn generate() -> Result<StoreKey> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| Error::Io {
            path: "(system random source)".into(),
            message: e.to_string(),
        })?;
        Ok(StoreKey::Raw(key))
    }

    pub fn is_encrypted(&self) -> bool {
        !matches!(self, StoreKey::Unencrypted)
    }
}

/// What lies at the store's path, read from the file's first bytes: a plain
/// SQLite file starts with a known header, an encrypted one with random salt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    Missing,
    Plain,
    Encrypted,
}

const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Whether the store at `path` is missing, plain or encrypted.
pub fn file_state(path: &Path) -> Result<FileState> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::Missing),
        Err(e) => return Err(io(path, e)),
    };
    let mut head = Vec::with_capacity(16);
    file.by_ref()
        .take(16)
        .read_to_end(&mut head)
        .map_err(|e| io(path, e))?;
    Ok(if head.is_empty() {
        // SQLite creates the file empty and writes its header with the first
        // table: an empty file holds nothing yet.
        FileState::Missing
    } else if head.as_slice() == PLAIN_HEADER {
        FileState::Plain
    } else {
        FileState::Encrypted
    })
}

/// Applies `key` to a freshly opened connection and checks that it opens the
/// file: a wrong key is told as such, not as "file is not a database".
pub(crate) fn unlock(conn: &Connection, path: &Path, key: &StoreKey) -> Result<()> {
    // SQLCipher logs a failed page check to stderr itself; the wrong key is
    // told once, as an error the caller words.
    conn.pragma_update(None, "cipher_log_level", "NONE")?;
    // Pages are authenticated with HMAC-SHA256 rather than SQLCipher 4's
    // default SHA-512: as strong for this use, and hardware-accelerated on
    // the ARMv8 phones the teams carry (and x86 SHA extensions), where
    // SHA-512 mostly is not; every page written or read from disk pays it
    // (docs/benchmarks.md, "The encrypted store"). Set as the process's
    // default so that a store attached to be written anew (`rewrite`) gets
    // it too. Part of the file format: whoever opens a store outside gocua
    // sets `PRAGMA cipher_hmac_algorithm = HMAC_SHA256` before the key.
    conn.pragma_update(None, "cipher_default_hmac_algorithm", HMAC)?;
    if let Some(value) = key.pragma_value() {
        conn.pragma_update(None, "key", &value)?;
    }
    // Temporary tables and indices (sorts, the search's work) in memory, so
    // nothing decrypted reaches a temporary file.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Err(match key {
                StoreKey::Unencrypted => Error::KeyNeeded {
                    path: path.display().to_string(),
                },
                _ => Error::WrongKey {
                    path: path.display().to_string(),
                },
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// The page authentication of every gocua store (see `unlock`).
pub const HMAC: &str = "HMAC_SHA256";

/// The file an encryption in progress writes before it replaces the store.
pub fn encrypting_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".encrypting");
    path.with_file_name(name)
}

/// Steps of [`encrypt_in_place`] a test can stop the process at
/// (`GOCUA_TEST_ABORT_ENCRYPTING=<step>`), as a power cut or kill -9 would.
const ABORT_ENV: &str = "GOCUA_TEST_ABORT_ENCRYPTING";

fn abort_point(step: &str) {
    if std::env::var(ABORT_ENV).is_ok_and(|s| s == step) {
        tracing::warn!(step, "aborting the encryption on request ({ABORT_ENV})");
        std::process::abort();
    }
}

/// Encrypts the plain store at `path` with `key`, in place.
pub(crate) fn encrypt_in_place(path: &Path, key: &StoreKey) -> Result<()> {
    if !key.is_encrypted() {
        return Ok(());
    }
    rewrite(path, &StoreKey::Unencrypted, key)
}

/// Changes the key of the store at `path` from `old` to `new` (the user's
/// passphrase leaked, or the app moves to a keystore key), the same way a
/// plain store is encrypted: a copy under the new key replaces the store, so
/// a kill at any point leaves it under the old key or the new one. No
/// [`Store`](super::Store) may have the store open meanwhile (`Error::InUse`).
/// A wrong `old` is `Error::WrongKey`, and changes nothing.
pub fn change_key(path: &Path, old: &StoreKey, new: &StoreKey) -> Result<()> {
    if file_state(path)? == FileState::Missing {
        return Err(Error::Io {
            path: path.display().to_string(),
            message: "no store here".into(),
        });
    }
    if !new.is_encrypted() {
        // Decrypting a store is not something a volunteer needs.
        return Err(Error::KeyNeeded {
            path: path.display().to_string(),
        });
    }
    rewrite(path, old, new)
}

/// Writes the store at `path`, opened with `from`, into a copy under `to` and
/// renames the copy over it.
fn rewrite(path: &Path, from: &StoreKey, to: &StoreKey) -> Result<()> {
    let value = to.pragma_value().unwrap_or_default();
    let replaced = super::actor::file_identity(path);
    let target = encrypting_path(path);
    // What a killed earlier attempt left: the store itself is still the old one.
    remove_if_present(&target)?;
    remove_if_present(&journal_of(&target))?;
    tracing::info!(path = %path.display(), "encrypting the store");
    {
        let conn = Connection::open(path)?;
        unlock(&conn, path, from)?;
        conn.busy_timeout(std::time::Duration::from_secs(2))?;
        // Out of WAL: the main file then holds every committed page, and no
        // plain WAL is left beside the encrypted file that replaces it. SQLite
        // refuses the switch while another connection has the store open,
        // whose later writes would go to the file being replaced.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if matches!(
                        f.code,
                        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                    ) =>
                {
                    in_use(path)
                }
                e => e.into(),
            })?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(in_use(path));
        }
        abort_point("checkpointed");
        conn.execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            rusqlite::params![target.to_string_lossy(), value],
        )?;
        // Held until the file is replaced: no other process writes to the
        // plain file meanwhile.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        conn.execute_batch("BEGIN EXCLUSIVE")?;
        conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        conn.pragma_update(Some("encrypted"), "user_version", version)?;
        // The same store in a new file (its inode survives the rename): not
        // to be taken for a copy, whose actor would be renewed.
        if let (Some(old), Some(new)) = (&replaced, super::actor::file_identity(&target)) {
            let has_meta: i64 = conn.query_row(
                "SELECT COUNT(*) FROM encrypted.sqlite_master WHERE type = 'table' AND name = 'meta'",
                [],
                |r| r.get(0),
            )?;
            if has_meta > 0 {
                conn.execute(
                    "UPDATE encrypted.meta SET value = ?1 WHERE key = ?2 AND value = ?3",
                    rusqlite::params![new, super::actor::STORE_FILE, old],
                )?;
            }
        }
        conn.execute_batch("COMMIT")?;
        conn.execute("DETACH DATABASE encrypted", [])?;
        abort_point("exported");
        std::fs::File::open(&target)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(&target, e))?;
        abort_point("synced");
        std::fs::rename(&target, path).map_err(|e| io(path, e))?;
        abort_point("renamed");
    }
    sync_dir(path);
    tracing::info!(path = %path.display(), "store encrypted");
    Ok(())
}

fn journal_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push("-journal");
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(path, e)),
    }
}

/// Makes the rename durable; where a platform cannot sync a directory the
/// rename is still atomic, only perhaps not yet on disk at a power cut.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
}

fn in_use(path: &Path) -> Error {
    Error::InUse {
        path: path.display().to_string(),
    }
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Sorts and temporary tables stay in memory: SQLite would otherwise
    /// write them, decrypted, to a temporary file it unlinks at once, where
    /// no scan of the disk could see them.
    #[test]
    fn temporary_data_stays_in_memory() {
        let dir = std::env::temp_dir().join(format!("gocua-cipher-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.sqlite");
        let conn = Connection::open(&path).unwrap();
        unlock(&conn, &path, &StoreKey::Raw([1; 32])).unwrap();
        let mode: i64 = conn
            .pragma_query_value(None, "temp_store", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, 2, "temp_store is MEMORY");
        drop(conn);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
