//! The SQLite backend: one file, WAL, one writer connection behind a mutex and
//! a few read-only connections. All of the backend's SQL lives in this module.

mod admin;
pub(crate) mod backup;
mod console;
mod migrations;
mod report;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gocua_protocol::{Refusal, codes};
use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params,
};

use crate::storage::{
    Account, AccountRow, AreaScope, Assignment, AuditEntry, AuditRow, ChangeLocation, CheckedDoc,
    CodeRefusal, DeviceRow, DeviceSeen, DocHead, DocHistory, DocOutcome, DocWrite, EnrollAttempt,
    EnrollOutcome, ExtractSink, FeedBounds, LogTotals, MergeNode, MergeUpdate, NewTraining,
    Principal, PullPage, QuarantineRow, ReportRecord, Role, Snapshot, Storage, StorageError,
    StorageResult, StoredChange, Team, TeamEdit, TeamRow, Training, TrainingRow, UnitsLoaded,
    UnsentReport, Village, Volunteer, VolunteerRow,
};

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
use gocua_admin_units::LIST_2025;

pub(crate) fn db_err(e: rusqlite::Error) -> StorageError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
            StorageError::Busy(e.to_string())
        }
        _ => StorageError::Backend(e.to_string()),
    }
}

fn open_connection(path: &Path, read_only: bool) -> StorageResult<Connection> {
    let conn = Connection::open(path).map_err(db_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(db_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StorageError::Backend(format!(
            "{}: cannot use write-ahead logging (journal mode {mode})",
            path.display()
        )));
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
        .map_err(db_err)?;
    if read_only {
        conn.execute_batch("PRAGMA query_only = 1")
            .map_err(db_err)?;
    }
    Ok(conn)
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding a connection leaves no transaction open (rusqlite
    // rolls back on drop), so the connection is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub struct SqliteStorage {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Pushes waiting for the writer: whoever gets it commits them all at once.
    push_queue: Mutex<Vec<Arc<PushSlot>>>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("path", &self.path)
            .field("readers", &self.readers.len())
            .finish()
    }
}

impl SqliteStorage {
    /// Opens (creating and migrating as needed) the database at `path`.
    pub fn open(path: impl AsRef<Path>, readers: usize) -> StorageResult<SqliteStorage> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StorageError::Backend(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let mut writer = open_connection(&path, false)?;
        migrations::migrate(&mut writer)?;
        let readers = (0..readers.max(1))
            .map(|_| open_connection(&path, true).map(Mutex::new))
            .collect::<StorageResult<Vec<_>>>()?;
        Ok(SqliteStorage {
            path,
            writer: Mutex::new(writer),
            push_queue: Mutex::new(Vec::new()),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            if let Ok(g) = self.readers[(start + i) % n].try_lock() {
                return g;
            }
        }
        lock(&self.readers[start])
    }

    /// Runs `f` in a write transaction that takes SQLite's write lock at once.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> StorageResult<T>) -> StorageResult<T> {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let out = f(&tx)?;
        tx.commit().map_err(db_err)?;
        Ok(out)
    }

    /// Runs `f` in a read transaction: one consistent snapshot of the database.
    fn read<T>(&self, f: impl FnOnce(&Transaction<'_>) -> StorageResult<T>) -> StorageResult<T> {
        let mut conn = self.reader();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(db_err)?;
        let out = f(&tx)?;
        tx.commit().map_err(db_err)?;
        Ok(out)
    }
}

fn insert_audit(tx: &Transaction<'_>, e: &AuditEntry) -> StorageResult<()> {
    let (commune, province) = audit_area(tx, e)?;
    tx.prepare_cached(
        "INSERT INTO audit (at, actor, action, subject, detail, commune_code, province_code)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut st| {
        st.execute(params![
            e.at, e.actor, e.action, e.subject, e.detail, commune, province
        ])
    })
    .map_err(db_err)?;
    Ok(())
}

/// The commune and province an audit row concerns (`AuditEntry::area_keys`).
fn audit_area(tx: &Connection, e: &AuditEntry) -> StorageResult<(Option<String>, Option<String>)> {
    for (key, id) in e.area_keys() {
        let found: Option<(Option<String>, Option<String>)> = tx
            .prepare_cached(key.query())
            .and_then(|mut st| {
                st.query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(db_err)?;
        match found {
            Some((Some(commune), None)) => {
                let province: Option<String> = tx
                    .prepare_cached(crate::storage::COMMUNE_PROVINCE)
                    .and_then(|mut st| st.query_row([&commune], |r| r.get(0)).optional())
                    .map_err(db_err)?;
                return Ok((Some(commune), province));
            }
            Some((None, None)) | None => continue,
            Some(area) => return Ok(area),
        }
    }
    Ok((None, None))
}

fn team_villages(tx: &Connection, team_id: &str) -> StorageResult<Vec<Village>> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT v.id, v.commune_code, v.name FROM team_villages tv
             JOIN villages v ON v.id = tv.village_id WHERE tv.team_id = ?1 ORDER BY v.name",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map([team_id], |r| {
            Ok(Village {
                id: r.get(0)?,
                commune_code: r.get(1)?,
                name: r.get(2)?,
            })
        })
        .map_err(db_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
}

fn volunteer_row(conn: &Connection, id: &str) -> StorageResult<Option<Volunteer>> {
    conn.query_row(
        "SELECT id, name, phone, team_id FROM volunteers WHERE id = ?1",
        [id],
        |r| {
            Ok(Volunteer {
                id: r.get(0)?,
                name: r.get(1)?,
                phone: r.get(2)?,
                team_id: r.get(3)?,
            })
        },
    )
    .optional()
    .map_err(db_err)
}

fn team_row(conn: &Connection, id: &str) -> StorageResult<Option<Team>> {
    let team = conn
        .query_row(
            "SELECT id, name, commune_code FROM teams WHERE id = ?1",
            [id],
            |r| {
                Ok(Team {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    commune_code: r.get(2)?,
                    villages: Vec::new(),
                })
            },
        )
        .optional()
        .map_err(db_err)?;
    match team {
        Some(mut t) => {
            t.villages = team_villages(conn, id)?;
            Ok(Some(t))
        }
        None => Ok(None),
    }
}

fn villages_json(villages: &[String]) -> StorageResult<String> {
    serde_json::to_string(villages).map_err(|e| StorageError::Backend(e.to_string()))
}

/// Reads rows (position, seq, doc_id, village_id, device_id, bytes) in
/// position order until `limit` rows or about `max_bytes`. A change fed to
/// two of the reader's villages (a household that moved between them) is
/// read once.
fn page(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
    limit: u32,
    max_bytes: usize,
) -> StorageResult<PullPage> {
    let mut rows = stmt.query(params).map_err(db_err)?;
    let mut changes: Vec<StoredChange> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut bytes = 0usize;
    let mut more = false;
    while let Some(r) = rows.next().map_err(db_err)? {
        let position = u64_of(r.get(0).map_err(db_err)?);
        let seq = u64_of(r.get(1).map_err(db_err)?);
        if !seen.insert(seq) {
            // Served at its first position; a trailing duplicate may come
            // again on the next page, which the device skips as known.
            continue;
        }
        if changes.len() >= limit as usize {
            more = true;
            break;
        }
        let blob: Vec<u8> = r.get(5).map_err(db_err)?;
        if !changes.is_empty() && bytes + blob.len() > max_bytes {
            more = true;
            break;
        }
        bytes += blob.len();
        changes.push(StoredChange {
            position,
            seq,
            doc_id: r.get(2).map_err(db_err)?,
            village_id: r.get(3).map_err(db_err)?,
            device_id: r.get(4).map_err(db_err)?,
            bytes: blob,
        });
    }
    Ok(PullPage { changes, more })
}

fn load_pending(conn: &Connection, doc_id: &str) -> StorageResult<Vec<(u64, Vec<u8>)>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT p.seq, c.bytes FROM snapshot_pending p JOIN changes c ON c.seq = p.seq
             WHERE p.doc_id = ?1 ORDER BY p.seq",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map([doc_id], |r| Ok((u64_of(r.get(0)?), r.get(1)?)))
        .map_err(db_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
}

/// One device's push waiting in the group-commit queue.
struct PushJob {
    device_id: String,
    writes: Vec<DocWrite>,
    now: i64,
}

type PushDone = Vec<DocOutcome>;

struct PushSlot {
    job: Mutex<Option<PushJob>>,
    result: Mutex<Option<StorageResult<PushDone>>>,
}

fn lock_any<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Stores one push inside the caller's transaction.
fn push_one(tx: &Transaction<'_>, job: PushJob) -> StorageResult<PushDone> {
    // Why the feed stays gap-free: `changes.seq` and `feed.position` are
    // assigned by SQLite in this transaction, which is BEGIN IMMEDIATE: it
    // holds the database's single write lock from its first statement to
    // its commit (the writer mutex serializes this process; the lock also
    // serializes other processes, such as `gocua-server admin`). So the
    // transaction that takes position 42 cannot start before the one that
    // took position 41 has committed or rolled back, and readers (WAL) see
    // only committed transactions: whoever sees 42 sees 41. A backend whose sequences are
    // not transactional (PostgreSQL's nextval) must serialize assignment
    // itself or serve only up to a committed watermark. Grouping several
    // pushes in one transaction keeps this true: the group commits at once.
    let mut out = Vec::with_capacity(job.writes.len());
    for w in &job.writes {
        tx.execute_batch("SAVEPOINT doc").map_err(db_err)?;
        match write_doc(tx, &job.device_id, w, job.now) {
            Ok(outcome @ DocOutcome::Stored { .. }) => {
                tx.execute_batch("RELEASE doc").map_err(db_err)?;
                out.push(outcome);
            }
            Ok(other) => {
                tx.execute_batch("ROLLBACK TO doc; RELEASE doc")
                    .map_err(db_err)?;
                out.push(other);
            }
            Err(e) => {
                tx.execute_batch("ROLLBACK TO doc; RELEASE doc")
                    .map_err(db_err)?;
                return Err(e);
            }
        }
    }
    Ok(out)
}

fn refused(doc_id: &str, code: &str, message: String) -> DocOutcome {
    DocOutcome::Refused(Refusal {
        doc_id: doc_id.to_string(),
        code: code.to_string(),
        message,
    })
}

/// One document of a push; the caller rolls back anything but `Stored`.
fn write_doc(
    tx: &Transaction<'_>,
    device_id: &str,
    w: &DocWrite,
    now: i64,
) -> StorageResult<DocOutcome> {
    let current: Option<(String, i64)> = tx
        .prepare_cached("SELECT village_id, version FROM documents WHERE id = ?1")
        .map_err(db_err)?
        .query_row([&w.doc_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(db_err)?;
    if current.as_ref().map(|c| u64_of(c.1)) != w.base_version {
        return Ok(DocOutcome::Stale);
    }
    {
        let mut q = tx
            .prepare_cached(
                "INSERT INTO quarantine (doc_id, hash, device_id, bytes, reason, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (hash) DO NOTHING",
            )
            .map_err(db_err)?;
        for c in &w.quarantined {
            q.execute(params![
                w.doc_id,
                &c.hash[..],
                device_id,
                c.bytes,
                c.reason,
                now
            ])
            .map_err(db_err)?;
        }
    }
    let mut stored = 0u64;
    let mut duplicates = 0u64;
    let mut version = w.base_version.unwrap_or(0);
    // The log seqs this write stored, to feed below.
    let mut new_seqs: Vec<i64> = Vec::with_capacity(w.changes.len());
    {
        let mut filed = tx
            .prepare_cached("SELECT doc_id FROM changes WHERE hash = ?1")
            .map_err(db_err)?;
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO changes (village_id, doc_id, hash, device_id, bytes, received_at, actor, actor_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(db_err)?;
        for c in &w.changes {
            let other: Option<String> = filed
                .query_row([&c.hash[..]], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            match other {
                Some(d) if d == w.doc_id => {
                    duplicates += 1;
                    continue;
                }
                Some(_) => {
                    return Ok(refused(
                        &w.doc_id,
                        codes::FOREIGN_CHANGE,
                        format!(
                            "household {}: a change of this push belongs to another document",
                            w.doc_id
                        ),
                    ));
                }
                None => {}
            }
            let inserted = insert.execute(params![
                w.village_id,
                w.doc_id,
                &c.hash[..],
                device_id,
                c.bytes,
                now,
                c.actor,
                i64_of(c.seq)
            ]);
            match inserted {
                Ok(_) => {
                    stored += 1;
                    let seq = tx.last_insert_rowid();
                    new_seqs.push(seq);
                    version = u64_of(seq);
                }
                Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                    return Ok(refused(
                        &w.doc_id,
                        codes::REUSED_SEQUENCE,
                        format!(
                            "household {}: change number {} of this author is already used by another change; the device was restored from a copy or cloned",
                            w.doc_id, c.seq
                        ),
                    ));
                }
                Err(e) => return Err(db_err(e)),
            }
        }
    }
    let last_position = feed(tx, w, &new_seqs)?;
    match &current {
        None if w.changes.is_empty() => {}
        None => {
            tx.execute(
                "INSERT INTO documents (id, village_id, created_at, updated_at, version)
                 VALUES (?1, ?2, ?3, ?3, ?4)",
                params![w.doc_id, w.village_id, now, i64_of(version)],
            )
            .map_err(db_err)?;
        }
        Some((old, _)) => {
            tx.execute(
                "UPDATE documents SET village_id = ?2, updated_at = ?3, version = ?4 WHERE id = ?1",
                params![w.doc_id, w.village_id, now, i64_of(version)],
            )
            .map_err(db_err)?;
            if *old != w.village_id {
                // Moved: the snapshot follows it (bootstrap serves snapshots
                // by village), as later changes do (`feed`).
                tx.execute(
                    "UPDATE snapshots SET village_id = ?2 WHERE doc_id = ?1",
                    params![w.doc_id, w.village_id],
                )
                .map_err(db_err)?;
            }
        }
    }
    Ok(DocOutcome::Stored {
        stored,
        duplicates,
        version,
        last_position,
    })
}

/// Feeds a write's new changes (`new_seqs`, in log order) to the villages
/// that must receive them, and returns the highest position taken (0 when
/// none). Positions are taken inside the caller's write transaction, which
/// keeps the feed gap-free (see `push_one`).
///
/// A write that moves the document feeds its new village every change of the
/// document that village was not fed yet, in log order (so each comes after
/// its dependencies), and the village it leaves the new changes, so that its
/// devices learn of the move.
fn feed(tx: &Transaction<'_>, w: &DocWrite, new_seqs: &[i64]) -> StorageResult<u64> {
    let mut put = tx
        .prepare_cached(
            "INSERT INTO feed (village_id, change_seq) VALUES (?1, ?2)
             ON CONFLICT (village_id, change_seq) DO NOTHING",
        )
        .map_err(db_err)?;
    let mut last = 0u64;
    let mut put_one = |village: &str, seq: i64| -> StorageResult<()> {
        if put.execute(params![village, seq]).map_err(db_err)? > 0 {
            last = u64_of(tx.last_insert_rowid());
        }
        Ok(())
    };
    match &w.moved_from {
        Some(old) if !new_seqs.is_empty() => {
            let history: Vec<i64> = tx
                .prepare_cached(
                    "SELECT c.seq FROM changes c WHERE c.doc_id = ?1 AND NOT EXISTS
                       (SELECT 1 FROM feed f WHERE f.village_id = ?2 AND f.change_seq = c.seq)
                     ORDER BY c.seq",
                )
                .map_err(db_err)?
                .query_map(params![w.doc_id, w.village_id], |r| r.get(0))
                .map_err(db_err)?
                .collect::<Result<_, _>>()
                .map_err(db_err)?;
            for seq in history {
                put_one(&w.village_id, seq)?;
            }
            for seq in new_seqs {
                put_one(old, *seq)?;
            }
        }
        _ => {
            for seq in new_seqs {
                put_one(&w.village_id, *seq)?;
            }
        }
    }
    Ok(last)
}

/// An enrollment code's row: volunteer, expiry, use, device, request id.
type CodeRow = (String, i64, Option<i64>, Option<String>, Option<String>);

impl Storage for SqliteStorage {
    fn health(&self) -> StorageResult<()> {
        let conn = self.reader();
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db_err)?;
        migrations::check(found)
    }

    fn pool_use(&self) -> Vec<crate::metrics::PoolUse> {
        // A connection whose lock is held is lent out (a poisoned one is not).
        let busy = |m: &Mutex<Connection>| {
            matches!(m.try_lock(), Err(std::sync::TryLockError::WouldBlock))
        };
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let readers = count(self.readers.len());
        vec![
            crate::metrics::PoolUse {
                pool: "sqlite_writer",
                open: 1,
                in_use: u32::from(busy(&self.writer)),
                max: 1,
            },
            crate::metrics::PoolUse {
                pool: "sqlite_reader",
                open: readers,
                in_use: count(self.readers.iter().filter(|r| busy(r)).count()),
                max: readers,
            },
        ]
    }

    fn units_loaded(&self) -> StorageResult<bool> {
        let conn = self.reader();
        conn.query_row("SELECT EXISTS (SELECT 1 FROM areas)", [], |r| r.get(0))
            .map_err(db_err)
    }

    fn load_units(&self) -> StorageResult<UnitsLoaded> {
        let units = gocua_admin_units::Units::embedded()
            .map_err(|e| StorageError::Invalid(e.to_string()))?;
        self.write(|tx| {
            let mut area = tx
                .prepare(
                    "INSERT OR REPLACE INTO areas (list, level, code, name, kind, parent_code, valid_from, valid_to)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(db_err)?;
            for r in units.area_rows() {
                area.execute(params![
                    r.list,
                    r.level,
                    r.code,
                    r.name,
                    r.kind,
                    r.parent_code,
                    r.valid_from,
                    r.valid_to
                ])
                .map_err(db_err)?;
            }
            let mut succ = tx
                .prepare(
                    "INSERT OR REPLACE INTO area_successions (legacy_code, code, is_default) VALUES (?1, ?2, ?3)",
                )
                .map_err(db_err)?;
            for s in &units.successions {
                succ.execute(params![s.legacy_commune_code, s.commune_code, s.is_default])
                    .map_err(db_err)?;
            }
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('reference_attribution', ?1)",
                [gocua_admin_units::ATTRIBUTION],
            )
            .map_err(db_err)?;
            Ok(UnitsLoaded {
                communes: units.current.len() as u64,
                legacy_communes: units.legacy_communes() as u64,
                successions: units.successions.len() as u64,
            })
        })
    }

    fn commune_province(&self, commune_code: &str) -> StorageResult<Option<String>> {
        let conn = self.reader();
        conn.query_row(
            "SELECT parent_code FROM areas WHERE list = ?1 AND level = 'commune' AND code = ?2",
            params![LIST_2025, commune_code],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)
    }

    fn province_exists(&self, province_code: &str) -> StorageResult<bool> {
        let conn = self.reader();
        conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM areas WHERE list = ?1 AND level = 'province' AND code = ?2)",
            params![LIST_2025, province_code],
            |r| r.get(0),
        )
        .map_err(db_err)
    }

    fn add_village(&self, village: &Village, now: i64) -> StorageResult<Village> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO villages (id, commune_code, name, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![village.id, village.commune_code, village.name, now],
            )
            .map_err(db_err)?;
            tx.query_row(
                "SELECT id, commune_code, name FROM villages WHERE id = ?1",
                [&village.id],
                |r| {
                    Ok(Village {
                        id: r.get(0)?,
                        commune_code: r.get(1)?,
                        name: r.get(2)?,
                    })
                },
            )
            .map_err(db_err)
        })
    }

    fn villages(&self, commune_code: Option<&str>) -> StorageResult<Vec<Village>> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, commune_code, name FROM villages
                 WHERE ?1 IS NULL OR commune_code = ?1 ORDER BY commune_code, name",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map([commune_code], |r| {
                Ok(Village {
                    id: r.get(0)?,
                    commune_code: r.get(1)?,
                    name: r.get(2)?,
                })
            })
            .map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    fn add_team(&self, team: &Team, now: i64) -> StorageResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO teams (id, name, commune_code, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![team.id, team.name, team.commune_code, now],
            )
            .map_err(db_err)?;
            for v in &team.villages {
                let commune: Option<String> = tx
                    .query_row(
                        "SELECT commune_code FROM villages WHERE id = ?1",
                        [&v.id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(db_err)?;
                match commune {
                    None => return Err(StorageError::NotFound(format!("no village {}", v.id))),
                    Some(c) if c != team.commune_code => {
                        return Err(StorageError::Invalid(format!(
                            "village {} is in commune {c}, not in the team's commune {}",
                            v.id, team.commune_code
                        )));
                    }
                    Some(_) => {}
                }
                tx.execute(
                    "INSERT OR IGNORE INTO team_villages (team_id, village_id) VALUES (?1, ?2)",
                    params![team.id, v.id],
                )
                .map_err(db_err)?;
            }
            Ok(())
        })
    }

    fn team(&self, team_id: &str) -> StorageResult<Option<Team>> {
        team_row(&self.reader(), team_id)
    }

    fn add_volunteer(&self, volunteer: &Volunteer, now: i64) -> StorageResult<()> {
        self.write(|tx| {
            if team_row(tx, &volunteer.team_id)?.is_none() {
                return Err(StorageError::NotFound(format!(
                    "no team {}",
                    volunteer.team_id
                )));
            }
            tx.execute(
                "INSERT INTO volunteers (id, name, phone, team_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![volunteer.id, volunteer.name, volunteer.phone, volunteer.team_id, now],
            )
            .map_err(db_err)?;
            Ok(())
        })
    }

    fn volunteer(&self, volunteer_id: &str) -> StorageResult<Option<Volunteer>> {
        volunteer_row(&self.reader(), volunteer_id)
    }

    fn add_enroll_code(
        &self,
        code_hash: &str,
        volunteer_id: &str,
        now: i64,
        expires_at: i64,
    ) -> StorageResult<()> {
        self.write(|tx| {
            if volunteer_row(tx, volunteer_id)?.is_none() {
                return Err(StorageError::NotFound(format!("no volunteer {volunteer_id}")));
            }
            tx.execute(
                "INSERT INTO enroll_codes (code_hash, volunteer_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![code_hash, volunteer_id, now, expires_at],
            )
            .map_err(db_err)?;
            insert_audit(
                tx,
                &AuditEntry {
                    at: now,
                    actor: "admin".into(),
                    action: "enroll_code_created".into(),
                    subject: format!("volunteer:{volunteer_id}"),
                    detail: format!(
                        "expires_at={}",
                        crate::messages::local_time_rfc3339(expires_at)
                    ),
                },
            )
        })
    }

    fn add_account(&self, account: &Account, token_hash: &str, now: i64) -> StorageResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO accounts (id, role, name, province_code, token_hash, created_at,
                    commune_code)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    account.id,
                    account.role.as_str(),
                    account.name,
                    account.province_code,
                    token_hash,
                    now,
                    account.commune_code
                ],
            )
            .map_err(db_err)?;
            insert_audit(
                tx,
                &AuditEntry {
                    at: now,
                    actor: "admin".into(),
                    action: "account_created".into(),
                    subject: format!("account:{}", account.id),
                    detail: format!(
                        "role={} province={} commune={}",
                        account.role.as_str(),
                        account.province_code.as_deref().unwrap_or("-"),
                        account.commune_code.as_deref().unwrap_or("-")
                    ),
                },
            )
        })
    }

    fn devices(&self) -> StorageResult<Vec<DeviceRow>> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(
                "SELECT d.id, d.name, d.volunteer_id, v.name, v.team_id, d.enrolled_at, d.revoked_at,
                        d.wipe_requested,
                        (SELECT COUNT(*) FROM unsent_reports u WHERE u.device_id = d.id),
                        d.last_seen_at, d.last_sync_at, d.app_version, d.pending_changes
                 FROM devices d JOIN volunteers v ON v.id = d.volunteer_id ORDER BY d.enrolled_at, d.id",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(DeviceRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    volunteer_id: r.get(2)?,
                    volunteer_name: r.get(3)?,
                    team_id: r.get(4)?,
                    enrolled_at: r.get(5)?,
                    revoked_at: r.get(6)?,
                    wipe_requested: r.get::<_, i64>(7)? != 0,
                    unsent_reports: r.get(8)?,
                    last_seen_at: r.get(9)?,
                    last_sync_at: r.get(10)?,
                    app_version: r.get(11)?,
                    pending_changes: r.get(12)?,
                })
            })
            .map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    fn revoke_device(&self, device_id: &str, now: i64, wipe: bool) -> StorageResult<bool> {
        self.write(|tx| {
            let found: Option<(Option<i64>, i64)> = tx
                .query_row(
                    "SELECT revoked_at, wipe_requested FROM devices WHERE id = ?1",
                    [device_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db_err)?;
            let Some((revoked_at, wiping)) = found else {
                return Err(StorageError::NotFound(format!("no device {device_id}")));
            };
            let newly = revoked_at.is_none();
            if newly {
                tx.execute(
                    "UPDATE devices SET revoked_at = ?2 WHERE id = ?1",
                    params![device_id, now],
                )
                .map_err(db_err)?;
                insert_audit(
                    tx,
                    &AuditEntry {
                        at: now,
                        actor: "admin".into(),
                        action: "device_revoked".into(),
                        subject: format!("device:{device_id}"),
                        detail: String::new(),
                    },
                )?;
            }
            if wipe && wiping == 0 {
                tx.execute(
                    "UPDATE devices SET wipe_requested = 1 WHERE id = ?1",
                    [device_id],
                )
                .map_err(db_err)?;
                insert_audit(
                    tx,
                    &AuditEntry {
                        at: now,
                        actor: "admin".into(),
                        action: "device_wipe_requested".into(),
                        subject: format!("device:{device_id}"),
                        detail: String::new(),
                    },
                )?;
            }
            Ok(newly)
        })
    }

    fn save_unsent(
        &self,
        device_id: &str,
        bundle: &[u8],
        changes: u64,
        documents: u64,
        now: i64,
    ) -> StorageResult<()> {
        use sha2::Digest;
        let digest: String = sha2::Sha256::digest(bundle)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.write(|tx| {
            let stored = tx
                .execute(
                    "INSERT INTO unsent_reports (device_id, received_at, changes, documents, digest, bundle)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (digest) DO NOTHING",
                    params![device_id, now, changes as i64, documents as i64, digest, bundle],
                )
                .map_err(db_err)?;
            if stored > 0 {
                insert_audit(
                    tx,
                    &AuditEntry {
                        at: now,
                        actor: format!("device:{device_id}"),
                        action: "unsent_reported".into(),
                        subject: format!("device:{device_id}"),
                        detail: format!("{changes} changes in {documents} households"),
                    },
                )?;
            }
            Ok(())
        })
    }

    fn unsent_reports(&self, device_id: Option<&str>) -> StorageResult<Vec<UnsentReport>> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, device_id, received_at, changes, documents, length(bundle)
                 FROM unsent_reports WHERE ?1 IS NULL OR device_id = ?1 ORDER BY id",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map([device_id], |r| {
                Ok(UnsentReport {
                    id: r.get(0)?,
                    device_id: r.get(1)?,
                    received_at: r.get(2)?,
                    changes: r.get(3)?,
                    documents: r.get(4)?,
                    bytes: r.get(5)?,
                })
            })
            .map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    fn unsent_bundle(&self, id: i64) -> StorageResult<Option<Vec<u8>>> {
        let conn = self.reader();
        conn.query_row(
            "SELECT bundle FROM unsent_reports WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)
    }

    fn audit(&self, entry: &AuditEntry) -> StorageResult<()> {
        self.write(|tx| insert_audit(tx, entry))
    }

    fn audit_log(&self, limit: u32) -> StorageResult<Vec<AuditRow>> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, at, actor, action, subject, detail FROM
                 (SELECT * FROM audit ORDER BY id DESC LIMIT ?1) ORDER BY id",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map([limit], |r| {
                Ok(AuditRow {
                    id: r.get(0)?,
                    entry: AuditEntry {
                        at: r.get(1)?,
                        actor: r.get(2)?,
                        action: r.get(3)?,
                        subject: r.get(4)?,
                        detail: r.get(5)?,
                    },
                })
            })
            .map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    // ---- administration: lists, edits, revocation, training (admin.rs) ----
    fn teams(&self, commune_code: Option<&str>) -> StorageResult<Vec<TeamRow>> {
        self.read(|tx| admin::teams(tx, commune_code))
    }

    fn edit_team(&self, edit: &TeamEdit, now: i64) -> StorageResult<Team> {
        self.write(|tx| admin::edit_team(tx, edit, now))
    }

    fn volunteers(&self, team_id: Option<&str>) -> StorageResult<Vec<VolunteerRow>> {
        self.read(|tx| admin::volunteers(tx, team_id))
    }

    fn volunteers_by_phone(&self, phone: &str) -> StorageResult<Vec<Volunteer>> {
        admin::volunteers_by_phone(&self.reader(), phone)
    }

    fn add_volunteer_once(
        &self,
        volunteer: &Volunteer,
        now: i64,
    ) -> StorageResult<Option<Volunteer>> {
        self.write(|tx| admin::add_volunteer_once(tx, volunteer, now))
    }

    fn accounts(&self) -> StorageResult<Vec<AccountRow>> {
        admin::accounts(&self.reader())
    }

    fn revoke_account(&self, account_id: &str, now: i64) -> StorageResult<bool> {
        self.write(|tx| admin::revoke_account(tx, account_id, now))
    }

    fn device_seen(&self, device_id: &str, seen: &DeviceSeen) -> StorageResult<()> {
        self.write(|tx| admin::device_seen(tx, device_id, seen))
    }

    fn add_training(&self, training: &NewTraining, now: i64) -> StorageResult<Training> {
        self.write(|tx| admin::add_training(tx, training, now))
    }

    fn training(&self, id: i64) -> StorageResult<Option<Training>> {
        admin::training(&self.reader(), id)
    }

    fn attend_training(&self, id: i64, volunteer_ids: &[String], now: i64) -> StorageResult<u64> {
        self.write(|tx| admin::attend_training(tx, id, volunteer_ids, now))
    }

    fn trainings(
        &self,
        commune_code: Option<&str>,
        since: Option<&str>,
    ) -> StorageResult<Vec<TrainingRow>> {
        self.read(|tx| admin::trainings(tx, commune_code, since))
    }

    fn enroll(
        &self,
        code_hash: &str,
        request: &EnrollAttempt,
        token_hash: &str,
        now: i64,
    ) -> StorageResult<EnrollOutcome> {
        self.write(|tx| {
            let code: Option<CodeRow> = tx
                .query_row(
                    "SELECT volunteer_id, expires_at, used_at, device_id, request_id
                     FROM enroll_codes WHERE code_hash = ?1",
                    [code_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()
                .map_err(db_err)?;
            let (volunteer_id, retry_of) = match code {
                None => return Ok(EnrollOutcome::Refused(CodeRefusal::Unknown)),
                // The same request again (its answer was lost): same device.
                Some((v, _, Some(_), Some(device), Some(rid)))
                    if request.request_id.as_deref() == Some(rid.as_str()) =>
                {
                    (v, Some(device))
                }
                Some((_, _, Some(_), _, _)) => {
                    return Ok(EnrollOutcome::Refused(CodeRefusal::Used));
                }
                Some((_, expires, None, _, _)) if expires <= now => {
                    return Ok(EnrollOutcome::Refused(CodeRefusal::Expired));
                }
                Some((v, _, None, _, _)) => (v, None),
            };
            let volunteer = volunteer_row(tx, &volunteer_id)?.ok_or_else(|| {
                StorageError::Incompatible(format!("enrollment code of unknown volunteer {volunteer_id}"))
            })?;
            let team = team_row(tx, &volunteer.team_id)?.ok_or_else(|| {
                StorageError::Incompatible(format!("volunteer of unknown team {}", volunteer.team_id))
            })?;
            let device_id = match retry_of {
                Some(device_id) => {
                    // Only a device that was never used nor revoked is handed out again.
                    let changed = tx
                        .execute(
                            "UPDATE devices SET token_hash = ?2
                             WHERE id = ?1 AND revoked_at IS NULL
                               AND NOT EXISTS (SELECT 1 FROM changes WHERE device_id = ?1)",
                            params![device_id, token_hash],
                        )
                        .map_err(db_err)?;
                    if changed == 0 {
                        return Ok(EnrollOutcome::Refused(CodeRefusal::Used));
                    }
                    device_id
                }
                None => {
                    tx.execute(
                        "UPDATE enroll_codes SET used_at = ?2, device_id = ?3, request_id = ?4
                         WHERE code_hash = ?1",
                        params![code_hash, now, request.device_id, request.request_id],
                    )
                    .map_err(db_err)?;
                    tx.execute(
                        "INSERT INTO devices (id, name, volunteer_id, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![request.device_id, request.device_name, volunteer.id, token_hash, now],
                    )
                    .map_err(db_err)?;
                    request.device_id.clone()
                }
            };
            insert_audit(
                tx,
                &AuditEntry {
                    at: now,
                    actor: format!("device:{device_id}"),
                    action: "device_enrolled".into(),
                    subject: format!("volunteer:{}", volunteer.id),
                    detail: format!(
                        "device_name={:?} team={}{}",
                        request.device_name,
                        team.id,
                        if request.device_id == device_id { "" } else { " retry=true" }
                    ),
                },
            )?;
            Ok(EnrollOutcome::Enrolled {
                device_id,
                assignment: Box::new(Assignment {
                    volunteer,
                    team_name: team.name,
                    commune_code: team.commune_code,
                    villages: team.villages,
                }),
            })
        })
    }

    fn principal(&self, token_hash: &str) -> StorageResult<Option<Principal>> {
        self.read(|tx| {
            type DeviceAuth = (String, String, String, Option<i64>, i64);
            let device: Option<DeviceAuth> = tx
                .query_row(
                    "SELECT d.id, d.volunteer_id, v.team_id, d.revoked_at, d.wipe_requested
                     FROM devices d
                     JOIN volunteers v ON v.id = d.volunteer_id WHERE d.token_hash = ?1",
                    [token_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()
                .map_err(db_err)?;
            if let Some((device_id, volunteer_id, team_id, revoked_at, wipe)) = device {
                let mut stmt = tx
                    .prepare_cached("SELECT village_id FROM team_villages WHERE team_id = ?1")
                    .map_err(db_err)?;
                let villages = stmt
                    .query_map([team_id], |r| r.get(0))
                    .map_err(db_err)?
                    .collect::<Result<Vec<String>, _>>()
                    .map_err(db_err)?;
                return Ok(Some(Principal::Device {
                    device_id,
                    volunteer_id,
                    villages,
                    revoked: revoked_at.is_some(),
                    wipe: revoked_at.is_some() && wipe != 0,
                }));
            }
            type AccountRow = (
                String,
                String,
                String,
                Option<String>,
                Option<i64>,
                Option<String>,
            );
            let account: Option<AccountRow> = tx
                .query_row(
                    "SELECT id, role, name, province_code, revoked_at, commune_code FROM accounts
                     WHERE token_hash = ?1",
                    [token_hash],
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                        ))
                    },
                )
                .optional()
                .map_err(db_err)?;
            match account {
                None => Ok(None),
                Some((account_id, role, name, province_code, revoked_at, commune_code)) => {
                    let role = Role::parse(&role).ok_or_else(|| {
                        StorageError::Incompatible(format!(
                            "account {account_id} has role {role:?}"
                        ))
                    })?;
                    Ok(Some(Principal::Account {
                        account_id,
                        role,
                        name,
                        province_code,
                        commune_code,
                        revoked: revoked_at.is_some(),
                    }))
                }
            }
        })
    }

    fn commune_villages(&self, commune_code: &str) -> StorageResult<Vec<String>> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached("SELECT id FROM villages WHERE commune_code = ?1 ORDER BY id")
            .map_err(db_err)?;
        let rows = stmt
            .query_map([commune_code], |r| r.get(0))
            .map_err(db_err)?;
        rows.collect::<Result<Vec<String>, _>>().map_err(db_err)
    }

    fn province_villages(&self, province_code: &str) -> StorageResult<Vec<String>> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(
                "SELECT v.id FROM villages v JOIN areas a
                   ON a.list = ?1 AND a.level = 'commune' AND a.code = v.commune_code
                 WHERE a.parent_code = ?2",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![LIST_2025, province_code], |r| r.get(0))
            .map_err(db_err)?;
        rows.collect::<Result<Vec<String>, _>>().map_err(db_err)
    }

    fn document(&self, doc_id: &str) -> StorageResult<Option<DocHead>> {
        let conn = self.reader();
        conn.prepare_cached("SELECT village_id, version FROM documents WHERE id = ?1")
            .map_err(db_err)?
            .query_row([doc_id], |r| {
                Ok(DocHead {
                    village_id: r.get(0)?,
                    version: u64_of(r.get(1)?),
                })
            })
            .optional()
            .map_err(db_err)
    }

    fn document_history(&self, doc_id: &str) -> StorageResult<DocHistory> {
        self.read(|tx| {
            let snap: Option<(Option<Vec<u8>>, i64)> = tx
                .prepare_cached("SELECT bytes, covered_seq FROM snapshots WHERE doc_id = ?1")
                .map_err(db_err)?
                .query_row([doc_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(db_err)?;
            let (snapshot, covered) = snap.unwrap_or((None, 0));
            let mut stmt = tx
                .prepare_cached(
                    "SELECT bytes FROM changes WHERE doc_id = ?1 AND seq > ?2 ORDER BY seq",
                )
                .map_err(db_err)?;
            let changes = stmt
                .query_map(params![doc_id, covered], |r| r.get(0))
                .map_err(db_err)?
                .collect::<Result<Vec<Vec<u8>>, _>>()
                .map_err(db_err)?;
            Ok(DocHistory { snapshot, changes })
        })
    }

    fn document_log(&self, doc_id: &str) -> StorageResult<Vec<(u64, Vec<u8>)>> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached("SELECT seq, bytes FROM changes WHERE doc_id = ?1 ORDER BY seq")
            .map_err(db_err)?;
        let rows = stmt
            .query_map([doc_id], |r| Ok((u64_of(r.get(0)?), r.get(1)?)))
            .map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    fn locate_changes(
        &self,
        hashes: &[[u8; 32]],
    ) -> StorageResult<Vec<([u8; 32], ChangeLocation)>> {
        self.read(|tx| {
            let mut stored = tx
                .prepare_cached("SELECT doc_id FROM changes WHERE hash = ?1")
                .map_err(db_err)?;
            let mut held = tx
                .prepare_cached("SELECT 1 FROM quarantine WHERE hash = ?1")
                .map_err(db_err)?;
            let mut out = Vec::new();
            for h in hashes {
                let doc: Option<String> = stored
                    .query_row([&h[..]], |r| r.get(0))
                    .optional()
                    .map_err(db_err)?;
                if let Some(doc_id) = doc {
                    out.push((*h, ChangeLocation::Stored { doc_id }));
                } else if held.exists([&h[..]]).map_err(db_err)? {
                    out.push((*h, ChangeLocation::Quarantined));
                }
            }
            Ok(out)
        })
    }

    fn quarantine(&self, limit: u32) -> StorageResult<Vec<QuarantineRow>> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, doc_id, hash, device_id, reason, received_at, length(bytes)
                 FROM quarantine ORDER BY id DESC LIMIT ?1",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map([limit], |r| {
                let hash: Vec<u8> = r.get(2)?;
                Ok(QuarantineRow {
                    id: r.get(0)?,
                    doc_id: r.get(1)?,
                    hash: hash.iter().map(|b| format!("{b:02x}")).collect(),
                    device_id: r.get(3)?,
                    reason: r.get(4)?,
                    received_at: r.get(5)?,
                    size: u64_of(r.get(6)?),
                })
            })
            .map_err(db_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
    }

    fn push(
        &self,
        device_id: &str,
        writes: Vec<DocWrite>,
        now: i64,
    ) -> StorageResult<Vec<DocOutcome>> {
        // Group commit: the push joins the queue, then waits for the writer.
        // Whoever holds the writer takes every queued push and commits them in
        // one transaction, each inside its own savepoint (a failing push
        // changes nothing and does not fail the others). Under load this
        // turns hundreds of small transactions into a few large ones.
        let slot = Arc::new(PushSlot {
            job: Mutex::new(Some(PushJob {
                device_id: device_id.to_string(),
                writes,
                now,
            })),
            result: Mutex::new(None),
        });
        lock_any(&self.push_queue).push(slot.clone());
        let mut conn = lock(&self.writer);
        if let Some(done) = lock_any(&slot.result).take() {
            return done;
        }
        let batch: Vec<Arc<PushSlot>> = std::mem::take(&mut *lock_any(&self.push_queue));
        let outcome = (|| -> StorageResult<Vec<StorageResult<PushDone>>> {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let mut results = Vec::with_capacity(batch.len());
            for s in &batch {
                let Some(job) = lock_any(&s.job).take() else {
                    results.push(Err(StorageError::Backend("push taken twice".into())));
                    continue;
                };
                tx.execute_batch("SAVEPOINT push").map_err(db_err)?;
                match push_one(&tx, job) {
                    Ok(done) => {
                        tx.execute_batch("RELEASE push").map_err(db_err)?;
                        results.push(Ok(done));
                    }
                    Err(e) => {
                        tx.execute_batch("ROLLBACK TO push; RELEASE push")
                            .map_err(db_err)?;
                        results.push(Err(e));
                    }
                }
            }
            tx.commit().map_err(db_err)?;
            Ok(results)
        })();
        let mut mine = None;
        match outcome {
            Ok(results) => {
                for (s, r) in batch.iter().zip(results) {
                    if Arc::ptr_eq(s, &slot) {
                        mine = Some(r);
                    } else {
                        *lock_any(&s.result) = Some(r);
                    }
                }
            }
            Err(e) => {
                for s in &batch {
                    if Arc::ptr_eq(s, &slot) {
                        mine = Some(Err(e.clone()));
                    } else {
                        *lock_any(&s.result) = Some(Err(e.clone()));
                    }
                }
            }
        }
        drop(conn);
        mine.unwrap_or_else(|| Err(StorageError::Backend("push lost from its batch".into())))
    }

    fn pull(
        &self,
        villages: &[String],
        cursor: u64,
        limit: u32,
        max_bytes: usize,
    ) -> StorageResult<PullPage> {
        let wanted = villages;
        let villages = villages_json(villages)?;
        self.read(|tx| {
            // The page ends at most at the (limit + 1)-th position after the
            // cursor: found village by village in the feed's index, in order,
            // so that the query below sorts at most a page of rows instead of
            // everything the device has not pulled yet (a device far behind
            // would make every pull read and sort the rest of its villages).
            let mut next = tx
                .prepare_cached(
                    "SELECT position FROM feed WHERE village_id = ?1 AND position > ?2
                     ORDER BY position LIMIT ?3",
                )
                .map_err(db_err)?;
            let page_rows = limit as usize + 1;
            let mut positions: Vec<i64> = Vec::new();
            // Whether positions may follow the bound (then there is more,
            // even if the page's rows turn out to be fewer, a change fed to
            // two of the device's villages being served once).
            let mut beyond = false;
            for v in wanted {
                let before = positions.len();
                let rows = next
                    .query_map(params![v, i64_of(cursor), page_rows as i64], |r| r.get(0))
                    .map_err(db_err)?;
                for p in rows {
                    positions.push(p.map_err(db_err)?);
                }
                beyond |= positions.len() - before == page_rows;
            }
            positions.sort_unstable();
            beyond |= positions.len() > page_rows;
            let Some(&upto) = positions.get(limit as usize).or(positions.last()) else {
                return Ok(PullPage {
                    changes: Vec::new(),
                    more: false,
                });
            };
            let mut stmt = tx
                .prepare_cached(
                    "SELECT f.position, c.seq, c.doc_id, f.village_id, c.device_id, c.bytes
                     FROM feed f JOIN changes c ON c.seq = f.change_seq
                     WHERE f.position > ?1 AND f.position <= ?4
                       AND f.village_id IN (SELECT value FROM json_each(?2))
                     ORDER BY f.position LIMIT ?3",
                )
                .map_err(db_err)?;
            let mut p = page(
                &mut stmt,
                params![i64_of(cursor), villages, i64::from(limit) + 1, upto],
                limit,
                max_bytes,
            )?;
            p.more |= beyond && !p.changes.is_empty();
            Ok(p)
        })
    }

    fn bootstrap_stream(
        &self,
        villages: &[String],
        on_cursor: &mut dyn FnMut(u64) -> StorageResult<()>,
        on_doc: &mut dyn FnMut(Snapshot) -> StorageResult<()>,
    ) -> StorageResult<()> {
        self.read(|tx| {
            let cursor: String = tx
                .query_row(
                    "SELECT value FROM meta WHERE key = 'materialized_seq'",
                    [],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            let watermark = cursor.parse::<u64>().map_err(|e| {
                StorageError::Incompatible(format!("materialized_seq {cursor:?}: {e}"))
            })?;
            // The watermark counts log seqs; devices pull by feed position.
            // The cursor is the last position before the first one that
            // feeds a change above the watermark: everything fed up to it is
            // in the snapshots (positions taken later feed later changes, or
            // the history of a household that moved, which its snapshot
            // holds as well).
            let (first_above, last): (Option<i64>, Option<i64>) = tx
                .query_row(
                    "SELECT (SELECT MIN(position) FROM feed WHERE change_seq > ?1),
                            (SELECT MAX(position) FROM feed)",
                    [i64_of(watermark)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(db_err)?;
            let cursor = match (first_above, last) {
                (Some(p), _) => u64_of(p - 1),
                (None, Some(p)) => u64_of(p),
                (None, None) => 0,
            };
            // One village at a time, each in its index's order: a query over
            // all of them ordered by doc_id sorted their bytes in memory first.
            let mut stmt = tx
                .prepare_cached(
                    "SELECT doc_id, village_id, bytes, covered_seq FROM snapshots
                     WHERE village_id = ?1 ORDER BY doc_id",
                )
                .map_err(db_err)?;
            on_cursor(cursor)?;
            let mut villages = villages.to_vec();
            villages.sort_unstable();
            villages.dedup();
            for village in &villages {
                let mut rows = stmt.query([village]).map_err(db_err)?;
                while let Some(r) = rows.next().map_err(db_err)? {
                    let mut d = Snapshot {
                        doc_id: r.get(0).map_err(db_err)?,
                        village_id: r.get(1).map_err(db_err)?,
                        bytes: r.get(2).map_err(db_err)?,
                        covered_seq: u64_of(r.get(3).map_err(db_err)?),
                        pending: Vec::new(),
                    };
                    d.pending = load_pending(tx, &d.doc_id)?;
                    on_doc(d)?;
                }
            }
            Ok(())
        })
    }

    fn change_count(&self) -> StorageResult<u64> {
        let conn = self.reader();
        conn.query_row("SELECT count(*) FROM changes", [], |r| r.get::<_, i64>(0))
            .map(u64_of)
            .map_err(db_err)
    }

    fn highest_seq(&self) -> StorageResult<u64> {
        let conn = self.reader();
        conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| {
            r.get::<_, i64>(0)
        })
        .map(u64_of)
        .map_err(db_err)
    }

    fn materialized_seq(&self) -> StorageResult<u64> {
        let conn = self.reader();
        let v: String = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'materialized_seq'",
                [],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        v.parse::<u64>()
            .map_err(|e| StorageError::Incompatible(format!("materialized_seq {v:?}: {e}")))
    }

    fn changes_after(&self, after: u64, limit: u32, max_bytes: usize) -> StorageResult<PullPage> {
        self.read(|tx| {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT seq, seq, doc_id, village_id, device_id, bytes FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )
                .map_err(db_err)?;
            page(
                &mut stmt,
                params![i64_of(after), i64::from(limit) + 1],
                limit,
                max_bytes,
            )
        })
    }

    fn snapshot(&self, doc_id: &str) -> StorageResult<Option<Snapshot>> {
        self.read(|tx| {
            let snap = tx
                .query_row(
                    "SELECT doc_id, village_id, bytes, covered_seq FROM snapshots WHERE doc_id = ?1",
                    [doc_id],
                    |r| {
                        Ok(Snapshot {
                            doc_id: r.get(0)?,
                            village_id: r.get(1)?,
                            bytes: r.get(2)?,
                            covered_seq: u64_of(r.get(3)?),
                            pending: Vec::new(),
                        })
                    },
                )
                .optional()
                .map_err(db_err)?;
            match snap {
                Some(mut s) => {
                    s.pending = load_pending(tx, doc_id)?;
                    Ok(Some(s))
                }
                None => Ok(None),
            }
        })
    }

    fn save_snapshots(&self, snapshots: &[Snapshot], watermark: Option<u64>) -> StorageResult<()> {
        let now = crate::now();
        self.write(|tx| {
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO snapshots (doc_id, village_id, bytes, covered_seq, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (doc_id) DO UPDATE SET bytes = excluded.bytes,
                        covered_seq = excluded.covered_seq, updated_at = excluded.updated_at",
                )
                .map_err(db_err)?;
            let mut clear = tx
                .prepare_cached("DELETE FROM snapshot_pending WHERE doc_id = ?1")
                .map_err(db_err)?;
            let mut pend = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO snapshot_pending (doc_id, seq) VALUES (?1, ?2)",
                )
                .map_err(db_err)?;
            // The village comes from `documents` (a move updates both); the
            // snapshot's own is used for a document the log does not know.
            let mut village = tx
                .prepare_cached("SELECT village_id FROM documents WHERE id = ?1")
                .map_err(db_err)?;
            let mut due = tx
                .prepare_cached(
                    "INSERT INTO report_due (doc_id, covered_seq) VALUES (?1, ?2)
                     ON CONFLICT (doc_id) DO UPDATE SET covered_seq = excluded.covered_seq",
                )
                .map_err(db_err)?;
            for s in snapshots {
                let v: Option<String> = village
                    .query_row([&s.doc_id], |r| r.get(0))
                    .optional()
                    .map_err(db_err)?;
                let v = v.unwrap_or_else(|| s.village_id.clone());
                put.execute(params![s.doc_id, v, s.bytes, i64_of(s.covered_seq), now])
                    .map_err(db_err)?;
                clear.execute([&s.doc_id]).map_err(db_err)?;
                for (seq, _) in &s.pending {
                    pend.execute(params![s.doc_id, i64_of(*seq)])
                        .map_err(db_err)?;
                }
                // The report rows follow, read once the materializer has
                // caught up (crate::report): a household written often is
                // read once, not at every fold.
                due.execute(params![s.doc_id, i64_of(s.covered_seq)])
                    .map_err(db_err)?;
            }
            if let Some(w) = watermark {
                tx.execute(
                    "UPDATE meta SET value = ?1 WHERE key = 'materialized_seq'",
                    [w.to_string()],
                )
                .map_err(db_err)?;
            }
            Ok(())
        })
    }

    fn rebuild_report(&self) -> StorageResult<u64> {
        self.write(report::rebuild)
    }

    fn report_due(&self, limit: u32) -> StorageResult<Vec<Snapshot>> {
        self.read(|tx| report::due(tx, limit))
    }

    fn received_at(
        &self,
        hashes: &[[u8; 32]],
    ) -> StorageResult<std::collections::HashMap<[u8; 32], i64>> {
        self.read(|tx| report::received_at(tx, hashes))
    }

    fn report_start_day(&self) -> StorageResult<u8> {
        self.read(report::start_day)
    }

    fn set_report_start_day(&self, day: u8) -> StorageResult<u64> {
        self.write(|tx| report::set_start_day(tx, day))
    }

    fn each_report_sum(
        &self,
        scope: &AreaScope,
        level: gocua_report::Level,
        f: &mut dyn FnMut(gocua_report::Contribution),
    ) -> StorageResult<()> {
        self.read(|tx| report::sums(tx, scope, level, f))
    }

    fn report_reviews(
        &self,
        scope: &AreaScope,
        limit: u32,
    ) -> StorageResult<Vec<gocua_report::Review>> {
        self.read(|tx| report::reviews(tx, scope, limit))
    }

    fn scope_province(&self, scope: &AreaScope) -> StorageResult<Option<String>> {
        self.read(|tx| report::scope_province(tx, scope))
    }

    fn report_roster(&self, scope: &AreaScope) -> StorageResult<gocua_report::Roster> {
        self.read(|tx| report::roster(tx, scope))
    }

    fn pseudonym_key(&self) -> StorageResult<Vec<u8>> {
        self.write(|tx| {
            let found: Option<String> = tx
                .query_row(
                    "SELECT value FROM meta WHERE key = 'pseudonym_key'",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            if let Some(hex) = found.as_deref().and_then(crate::secrets::from_hex) {
                return Ok(hex);
            }
            let key = crate::secrets::random_bytes::<32>().to_vec();
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('pseudonym_key', ?1)",
                [crate::secrets::hex(&key)],
            )
            .map_err(db_err)?;
            Ok(key)
        })
    }

    fn rotate_pseudonym_key(&self) -> StorageResult<()> {
        let key = crate::secrets::random_bytes::<32>();
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('pseudonym_key', ?1)",
                [crate::secrets::hex(&key)],
            )
            .map_err(db_err)?;
            insert_audit(
                tx,
                &AuditEntry {
                    at: crate::now(),
                    actor: "admin".into(),
                    action: "pseudonym_key_rotated".into(),
                    subject: String::new(),
                    detail: String::new(),
                },
            )
        })
    }

    fn put_report_records(&self, records: &[(ReportRecord, u64)]) -> StorageResult<()> {
        self.write(|tx| {
            for (r, seq) in records {
                report::write(tx, &r.household.id, Some(r), *seq)?;
            }
            Ok(())
        })
    }

    fn area_scope(&self, code: &str) -> StorageResult<Option<AreaScope>> {
        self.read(|tx| report::area_scope(tx, code))
    }

    fn extract(
        &self,
        scope: &AreaScope,
        since: u64,
        sink: &mut dyn ExtractSink,
    ) -> StorageResult<u64> {
        self.read(|tx| report::extract(tx, scope, since, sink))
    }

    fn save_report(
        &self,
        records: &[(Snapshot, Option<ReportRecord>)],
        merges: &MergeUpdate,
    ) -> StorageResult<()> {
        self.write(|tx| {
            for (s, record) in records {
                let covered = merges.covered.get(&s.doc_id).copied().unwrap_or(0);
                report::write_if_current(tx, s, record.as_ref(), covered)?;
            }
            report::save_merges(tx, merges)
        })
    }

    fn merge_nodes(&self, ids: &[String]) -> StorageResult<Vec<MergeNode>> {
        self.read(|tx| report::merge_nodes(tx, ids))
    }

    fn marked_into(&self, ids: &[String]) -> StorageResult<Vec<(String, String)>> {
        self.read(|tx| report::marked_into(tx, ids))
    }

    fn mark_restored(&self, gap: u64, audit: &AuditEntry) -> StorageResult<(u64, u64)> {
        self.write(|tx| {
            let stretch = backup::mark_restored(tx, gap)?;
            insert_audit(tx, audit)?;
            Ok(stretch)
        })
    }

    fn feed_bounds(&self) -> StorageResult<FeedBounds> {
        backup::feed_bounds(&self.reader())
    }

    fn check_read(
        &self,
        doc: &mut dyn FnMut(CheckedDoc) -> StorageResult<()>,
    ) -> StorageResult<LogTotals> {
        self.read(|tx| backup::check_read(tx, doc))
    }

    // ---- the web console ----
    fn set_console_login(
        &self,
        account_id: &str,
        login: &str,
        password_hash: &str,
        now: i64,
    ) -> StorageResult<()> {
        self.write(|tx| console::set_login(tx, account_id, login, password_hash, now))
    }

    fn console_login(&self, login: &str) -> StorageResult<Option<crate::storage::ConsoleLogin>> {
        console::login(&self.reader(), login)
    }

    fn console_login_of(&self, account_id: &str) -> StorageResult<Option<String>> {
        console::login_of(&self.reader(), account_id)
    }

    fn add_console_session(
        &self,
        token_hash: &str,
        account_id: &str,
        csrf_token: &str,
        now: i64,
        expires_at: i64,
    ) -> StorageResult<()> {
        self.write(|tx| {
            console::add_session(tx, token_hash, account_id, csrf_token, now, expires_at)
        })
    }

    fn console_session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StorageResult<Option<crate::storage::ConsoleSession>> {
        console::session(&self.reader(), token_hash, now)
    }

    fn end_console_session(&self, token_hash: &str) -> StorageResult<bool> {
        self.write(|tx| console::end_session(tx, token_hash))
    }

    fn rename_village(&self, village_id: &str, name: &str) -> StorageResult<Village> {
        self.write(|tx| console::rename_village(tx, village_id, name))
    }

    fn update_volunteer(&self, volunteer: &Volunteer) -> StorageResult<()> {
        self.write(|tx| console::update_volunteer(tx, volunteer))
    }

    fn search_audit(&self, query: &crate::storage::AuditQuery) -> StorageResult<Vec<AuditRow>> {
        console::search_audit(&self.reader(), query)
    }

    fn conflicted_households(
        &self,
        scope: &AreaScope,
        offset: u32,
        limit: u32,
    ) -> StorageResult<Vec<crate::storage::ConflictedHousehold>> {
        console::conflicted(&self.reader(), scope, offset, limit)
    }
}
