//! The SQLite side of backups, restores and `gocua-server check`
//! (`crate::backup`, `crate::check`): what the feed's bounds are, the read
//! the check walks, and the mark a restore leaves.

use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};

pub(crate) use super::migrations::{latest as schema_latest, migrate};
use crate::backup::{
    BackupError, BackupInfo, BackupResult, FORMAT, RESTORE_GAP, Restored, beside, check_restorable,
    create_private, io_err, not_a_backup, not_empty, refused, sync_dir,
};

use super::{db_err, i64_of, load_pending, u64_of};
use crate::storage::{
    CheckedDoc, FeedBounds, LogTotals, LoggedChange, ProjectedHousehold, Snapshot, StorageError,
    StorageResult,
};

/// The meta key holding the stretches of feed positions restores left
/// unused: JSON, a list of `[after, before]`.
pub(crate) const RESTORED_FEED: &str = "restored_feed";

/// Reads [`RESTORED_FEED`]'s value.
pub(crate) fn parse_restored(text: Option<String>) -> StorageResult<Vec<(u64, u64)>> {
    match text {
        None => Ok(Vec::new()),
        Some(t) => serde_json::from_str(&t).map_err(|e| {
            StorageError::Incompatible(format!("meta {RESTORED_FEED} {t:?} does not read: {e}"))
        }),
    }
}

pub(crate) fn feed_bounds(conn: &Connection) -> StorageResult<FeedBounds> {
    let (end, restored): (Option<i64>, Option<String>) = conn
        .prepare_cached(
            "SELECT (SELECT seq FROM sqlite_sequence WHERE name = 'feed'),
                    (SELECT value FROM meta WHERE key = ?1)",
        )
        .map_err(db_err)?
        .query_row([RESTORED_FEED], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(db_err)?;
    Ok(FeedBounds {
        end: u64_of(end.unwrap_or(0)),
        restored: parse_restored(restored)?,
    })
}

/// Leaves the feed's positions from the end to `gap` beyond it unused, so
/// that a cursor handed out by the database this copy was taken from, after
/// the copy, is found expired (`FeedBounds::expired`); returns the stretch.
pub(crate) fn mark_restored(tx: &Transaction<'_>, gap: u64) -> StorageResult<(u64, u64)> {
    let bounds = feed_bounds(tx)?;
    let after = bounds.end;
    let before = after.saturating_add(gap);
    let mut restored = bounds.restored;
    restored.push((after, before));
    let text = serde_json::to_string(&restored)
        .map_err(|e| StorageError::Backend(format!("restored stretches: {e}")))?;
    tx.execute("DELETE FROM sqlite_sequence WHERE name = 'feed'", [])
        .map_err(db_err)?;
    // The next position is `before + 1`: a bootstrap cursor just below it
    // (`before`) is outside the stretch.
    tx.execute(
        "INSERT INTO sqlite_sequence (name, seq) VALUES ('feed', ?1)",
        [i64_of(before)],
    )
    .map_err(db_err)?;
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
        params![RESTORED_FEED, text],
    )
    .map_err(db_err)?;
    Ok((after, before))
}

fn strings(tx: &Transaction<'_>, sql: &str, id: &str) -> StorageResult<Vec<String>> {
    let mut out: Vec<String> = tx
        .prepare_cached(sql)
        .map_err(db_err)?
        .query_map([id], |r| r.get(0))
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    out.sort();
    Ok(out)
}

fn count(tx: &Transaction<'_>, sql: &str) -> StorageResult<u64> {
    tx.query_row(sql, [], |r| r.get::<_, i64>(0))
        .map(u64_of)
        .map_err(db_err)
}

fn checked_doc(
    tx: &Transaction<'_>,
    doc_id: String,
    village_id: String,
    version: i64,
) -> StorageResult<CheckedDoc> {
    let changes = tx
        .prepare_cached(
            "SELECT seq, hash, actor, actor_seq, bytes FROM changes WHERE doc_id = ?1 ORDER BY seq",
        )
        .map_err(db_err)?
        .query_map([&doc_id], |r| {
            Ok(LoggedChange {
                seq: u64_of(r.get(0)?),
                hash: r.get(1)?,
                actor: r.get(2)?,
                actor_seq: r.get::<_, Option<i64>>(3)?.map(u64_of),
                bytes: r.get(4)?,
            })
        })
        .map_err(db_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db_err)?;
    let feed = tx
        .prepare_cached(
            "SELECT f.position, f.village_id, f.change_seq FROM feed f
             JOIN changes c ON c.seq = f.change_seq WHERE c.doc_id = ?1 ORDER BY f.position",
        )
        .map_err(db_err)?
        .query_map([&doc_id], |r| {
            Ok((u64_of(r.get(0)?), r.get(1)?, u64_of(r.get(2)?)))
        })
        .map_err(db_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db_err)?;
    let snapshot = tx
        .prepare_cached(
            "SELECT doc_id, village_id, bytes, covered_seq FROM snapshots WHERE doc_id = ?1",
        )
        .map_err(db_err)?
        .query_row([&doc_id], |r| {
            Ok(Snapshot {
                doc_id: r.get(0)?,
                village_id: r.get(1)?,
                bytes: r.get(2)?,
                covered_seq: u64_of(r.get(3)?),
                pending: Vec::new(),
            })
        })
        .optional()
        .map_err(db_err)?;
    let snapshot = match snapshot {
        Some(mut s) => {
            s.pending = load_pending(tx, &doc_id)?;
            Some(s)
        }
        None => None,
    };
    let row: Option<(String, String)> = tx
        .prepare_cached("SELECT village_id, head_name FROM report_households WHERE id = ?1")
        .map_err(db_err)?
        .query_row([&doc_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(db_err)?;
    let report = match row {
        Some((village_id, head_name)) => Some(ProjectedHousehold {
            village_id,
            head_name,
            persons: strings(
                tx,
                "SELECT id FROM report_persons WHERE household_id = ?1",
                &doc_id,
            )?,
            visits: strings(
                tx,
                "SELECT id FROM report_visits WHERE household_id = ?1",
                &doc_id,
            )?,
        }),
        None => None,
    };
    let (report_due, merged): (bool, bool) = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM report_due WHERE doc_id = ?1),
                    EXISTS (SELECT 1 FROM report_merges WHERE (doc_id = ?1 AND into_id IS NOT NULL) OR into_id = ?1)",
        )
        .map_err(db_err)?
        .query_row([&doc_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(db_err)?;
    Ok(CheckedDoc {
        doc_id,
        village_id,
        version: u64_of(version),
        changes,
        feed,
        snapshot,
        report,
        report_due,
        merged,
    })
}

pub(super) fn check_read(
    tx: &Transaction<'_>,
    on_doc: &mut dyn FnMut(CheckedDoc) -> StorageResult<()>,
) -> StorageResult<LogTotals> {
    let docs: Vec<(String, String, i64)> = tx
        .prepare("SELECT id, village_id, version FROM documents ORDER BY id")
        .map_err(db_err)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    for (id, village, version) in docs {
        on_doc(checked_doc(tx, id, village, version)?)?;
    }
    let materialized: String = tx
        .query_row(
            "SELECT value FROM meta WHERE key = 'materialized_seq'",
            [],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    Ok(LogTotals {
        feed: feed_bounds(tx)?,
        last_seq: count(
            tx,
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)",
        )?,
        materialized_seq: materialized.parse().map_err(|e| {
            StorageError::Incompatible(format!("materialized_seq {materialized:?}: {e}"))
        })?,
        highest_seq: count(tx, "SELECT COALESCE(MAX(seq), 0) FROM changes")?,
        highest_position: count(tx, "SELECT COALESCE(MAX(position), 0) FROM feed")?,
        changes_without_document: count(
            tx,
            "SELECT count(*) FROM changes WHERE doc_id NOT IN (SELECT id FROM documents)",
        )?,
        feed_without_change: count(
            tx,
            "SELECT count(*) FROM feed WHERE change_seq NOT IN (SELECT seq FROM changes)",
        )?,
        snapshots_without_document: count(
            tx,
            "SELECT count(*) FROM snapshots WHERE doc_id NOT IN (SELECT id FROM documents)",
        )?,
        report_rows_without_document: count(
            tx,
            "SELECT count(*) FROM report_households WHERE id NOT IN (SELECT id FROM documents)",
        )?,
    })
}

/// The table a backup file says what it is in.
const INFO_TABLE: &str = "gocua_backup";

fn sqlite_err(path: &Path, e: rusqlite::Error) -> BackupError {
    BackupError::Storage(StorageError::Backend(format!("{}: {e}", path.display())))
}

/// Copies every page of `src` into `dst` in one step: one read transaction
/// on the source (SQLite's writers go on meanwhile, in WAL mode), one write
/// transaction on the destination (its readers see all of it or none).
fn copy_pages(src: &Connection, dst: &mut Connection, path: &Path) -> BackupResult<()> {
    use rusqlite::backup::{Backup, StepResult};
    let copy = Backup::new(src, dst).map_err(|e| sqlite_err(path, e))?;
    // Busy only while another connection holds an exclusive lock for a
    // moment (a checkpoint's truncation): tried again, for at most the busy
    // timeout the server itself waits.
    let deadline = std::time::Instant::now() + super::BUSY_TIMEOUT;
    loop {
        match copy.step(-1).map_err(|e| sqlite_err(path, e))? {
            StepResult::Done => return Ok(()),
            StepResult::More => continue,
            StepResult::Busy | StepResult::Locked if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            _ => {
                return Err(BackupError::Storage(StorageError::Busy(format!(
                    "{}: the database stayed locked",
                    path.display()
                ))));
            }
        }
    }
}

/// Backs the database at `db` up into the new file `out`.
pub(crate) fn backup(db: &Path, out: &Path) -> BackupResult<BackupInfo> {
    if !db.is_file() {
        return Err(refused(
            format!("không có cơ sở dữ liệu tại {}", db.display()),
            format!(
                "there is no database at {}: give the server's --database or --data-dir",
                db.display()
            ),
        ));
    }
    let src = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| sqlite_err(db, e))?;
    src.busy_timeout(super::BUSY_TIMEOUT)
        .map_err(|e| sqlite_err(db, e))?;
    drop(create_private(out)?);
    let mut dst = Connection::open(out).map_err(|e| sqlite_err(out, e))?;
    copy_pages(&src, &mut dst, out)?;
    drop(src);
    // One self-contained file: no write-ahead log beside it.
    let mode: String = dst
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .map_err(|e| sqlite_err(out, e))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(BackupError::Tool(format!(
            "{}: journal mode {mode}",
            out.display()
        )));
    }
    let schema_version: i64 = dst
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| sqlite_err(out, e))?;
    let has_log: bool = dst
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'changes')",
            [],
            |r| r.get(0),
        )
        .map_err(|e| sqlite_err(out, e))?;
    if !has_log {
        return Err(refused(
            format!("{} không phải cơ sở dữ liệu của gocua-server", db.display()),
            format!("{} is not a gocua-server database", db.display()),
        ));
    }
    let changes: i64 = dst
        .query_row("SELECT count(*) FROM changes", [], |r| r.get(0))
        .map_err(|e| sqlite_err(out, e))?;
    let info = BackupInfo {
        format: FORMAT,
        backend: "sqlite".into(),
        schema_version,
        server_version: crate::api::SERVER_VERSION.into(),
        taken_at: crate::now(),
        changes: u64_of(changes),
        feed_end: feed_bounds(&dst)?.end,
    };
    let text = serde_json::to_string(&info)
        .map_err(|e| BackupError::Tool(format!("backup information: {e}")))?;
    dst.execute_batch(&format!(
        "CREATE TABLE {INFO_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
    ))
    .map_err(|e| sqlite_err(out, e))?;
    dst.execute(
        &format!("INSERT INTO {INFO_TABLE} (key, value) VALUES ('info', ?1)"),
        [text],
    )
    .map_err(|e| sqlite_err(out, e))?;
    dst.close().map_err(|(_, e)| sqlite_err(out, e))?;
    File::open(out)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err(out, e))?;
    Ok(info)
}

/// What a SQLite backup file says of itself.
pub(crate) fn read_info(file: &Path) -> BackupResult<BackupInfo> {
    let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|_| not_a_backup(file))?;
    let text: Option<String> = conn
        .query_row(
            &format!("SELECT value FROM {INFO_TABLE} WHERE key = 'info'"),
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|_| not_a_backup(file))?;
    let info: BackupInfo = text
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| not_a_backup(file))?;
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| sqlite_err(file, e))?;
    if found != info.schema_version {
        return Err(not_a_backup(file));
    }
    Ok(info)
}

/// Whether the database at `path` holds anything a restore would lose
/// (reference data aside: the administrative units every server loads).
fn holds_data(path: &Path) -> BackupResult<bool> {
    if !path.exists() || std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) == 0 {
        return Ok(false);
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| sqlite_err(path, e))?;
    conn.busy_timeout(super::BUSY_TIMEOUT)
        .map_err(|e| sqlite_err(path, e))?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut s| {
            s.query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .map_err(|_| {
            refused(
                format!("{} không phải cơ sở dữ liệu SQLite", path.display()),
                format!(
                    "{} is not a SQLite database: give another --database",
                    path.display()
                ),
            )
        })?;
    for table in [
        "villages",
        "teams",
        "volunteers",
        "devices",
        "accounts",
        "documents",
        "changes",
    ] {
        if tables.iter().any(|t| t == table) {
            let any: bool = conn
                .query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), [], |r| {
                    r.get(0)
                })
                .map_err(|e| sqlite_err(path, e))?;
            if any {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Restores the SQLite backup `file` into the database at `target`.
pub(crate) fn restore(
    info: &BackupInfo,
    file: &Path,
    target: &Path,
    overwrite: bool,
) -> BackupResult<Restored> {
    check_restorable(info, "sqlite", schema_latest())?;
    let replaced = holds_data(target)?;
    if replaced && !overwrite {
        return Err(not_empty(&target.display().to_string()));
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    }
    let prepared = beside(target, "restoring");
    let _ = std::fs::remove_file(&prepared);
    let outcome =
        prepare(info, file, &prepared).and_then(|r| install(&prepared, target).map(|()| r));
    let _ = std::fs::remove_file(&prepared);
    let _ = std::fs::remove_file(beside(target, "restoring-journal"));
    let (schema_version, (after, before)) = outcome?;
    Ok(Restored {
        info: info.clone(),
        schema_version,
        feed_after: after,
        feed_before: before,
        replaced,
    })
}

/// Copies the backup to `prepared`, checks it, brings it to this server's
/// schema and marks it restored.
fn prepare(info: &BackupInfo, file: &Path, prepared: &Path) -> BackupResult<(i64, (u64, u64))> {
    {
        let mut out = create_private(prepared)?;
        let mut src = File::open(file).map_err(|e| io_err(file, e))?;
        std::io::copy(&mut src, &mut out).map_err(|e| io_err(prepared, e))?;
    }
    let mut conn = Connection::open(prepared).map_err(|e| sqlite_err(prepared, e))?;
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| sqlite_err(prepared, e))?;
    if verdict != "ok" {
        return Err(refused(
            format!("tệp sao lưu {} bị hỏng: {verdict}", file.display()),
            format!("the backup {} is damaged: {verdict}", file.display()),
        ));
    }
    conn.execute_batch(&format!("DROP TABLE {INFO_TABLE}"))
        .map_err(|e| sqlite_err(prepared, e))?;
    migrate(&mut conn)?;
    let tx = conn.transaction().map_err(|e| sqlite_err(prepared, e))?;
    let stretch = mark_restored(&tx, RESTORE_GAP)?;
    let audit = crate::backup::restore_audit(info, file);
    tx.execute(
        "INSERT INTO audit (at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            audit.at,
            audit.actor,
            audit.action,
            audit.subject,
            audit.detail
        ],
    )
    .map_err(|e| sqlite_err(prepared, e))?;
    tx.commit().map_err(|e| sqlite_err(prepared, e))?;
    let schema: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| sqlite_err(prepared, e))?;
    conn.close().map_err(|(_, e)| sqlite_err(prepared, e))?;
    File::open(prepared)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err(prepared, e))?;
    Ok((schema, stretch))
}

/// Puts the prepared copy in place of `target`, all of it or nothing.
fn install(prepared: &Path, target: &Path) -> BackupResult<()> {
    if !target.exists() {
        // A log or index without its database belongs to no database; left
        // there, SQLite would replay it onto the restored file.
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut p = target.as_os_str().to_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
        std::fs::rename(prepared, target).map_err(|e| io_err(target, e))?;
        return sync_dir(target);
    }
    // A file in place (empty, or told to overwrite): copied into it in one
    // write transaction, which its own log makes all or nothing.
    let src = Connection::open_with_flags(prepared, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| sqlite_err(prepared, e))?;
    let mut dst = Connection::open(target).map_err(|e| sqlite_err(target, e))?;
    dst.busy_timeout(super::BUSY_TIMEOUT)
        .map_err(|e| sqlite_err(target, e))?;
    copy_pages(&src, &mut dst, target)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io_err(target, e))?;
    }
    Ok(())
}
