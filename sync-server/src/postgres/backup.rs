//! The PostgreSQL side of backups, restores and `gocua-server check`
//! (`crate::backup`, `crate::check`): what the feed's bounds are, the read
//! the check walks, and the mark a restore leaves.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;

use super::conn::{Op, PgConn, get};
use super::{PgSettings, connect_first, migrations, redacted, snapshot_of, u64_of};
use crate::backup::{
    BackupError, BackupInfo, BackupResult, FORMAT, RESTORE_GAP, Restored, check_restorable,
    create_private, io_err, not_empty, read_pg_header, refused, write_pg_header,
};
use crate::sqlite::backup::{RESTORED_FEED, parse_restored};
use crate::storage::{
    CheckedDoc, FeedBounds, LogTotals, LoggedChange, ProjectedHousehold, StorageError,
    StorageResult,
};

/// Documents read per round trip.
const BATCH: usize = 200;

pub(super) fn feed_bounds(c: &mut PgConn) -> StorageResult<FeedBounds> {
    let row = c.query_one(
        "SELECT last_position, (SELECT value FROM meta WHERE key = 'restored_feed')
         FROM log_counters",
        &[],
    )?;
    Ok(FeedBounds {
        end: u64_of(get(&row, 0)?),
        restored: parse_restored(get(&row, 1)?)?,
    })
}

/// The statements that leave the feed's positions from the end to `gap`
/// beyond it unused (as `crate::sqlite::backup::mark_restored`), written to
/// run in the restore's own transaction, after its data (`crate::backup`):
/// whatever the search path the restored data set.
pub(crate) fn mark_restored_sql(gap: u64) -> String {
    // pg_restore's statements leave the search path empty.
    format!("RESET search_path;\n{}", mark_restored_statements(gap))
}

/// [`mark_restored_sql`] on a connection of the server's own.
pub(crate) fn mark_restored_statements(gap: u64) -> String {
    format!(
        "INSERT INTO meta (key, value)
  SELECT '{RESTORED_FEED}',
         (COALESCE((SELECT value FROM meta WHERE key = '{RESTORED_FEED}'), '[]')::jsonb
           || jsonb_build_array(jsonb_build_array(last_position, last_position + {gap})))::text
  FROM log_counters
  ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
UPDATE log_counters SET last_position = last_position + {gap};
"
    )
}

pub(super) fn check_read(
    c: &mut PgConn,
    on_doc: &mut dyn FnMut(CheckedDoc) -> StorageResult<()>,
) -> StorageResult<LogTotals> {
    let docs: Vec<(String, String, i64)> = c
        .query(
            "SELECT id, village_id, version FROM documents ORDER BY id",
            &[],
        )?
        .iter()
        .map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?)))
        .collect::<StorageResult<_>>()?;
    for chunk in docs.chunks(BATCH) {
        let ids: Vec<String> = chunk.iter().map(|d| d.0.clone()).collect();
        let answers = c.pipeline(&[
            Op::Query(
                "SELECT doc_id, seq, hash, actor, actor_seq, bytes FROM changes
                 WHERE doc_id = ANY($1) ORDER BY doc_id, seq",
                &[&ids],
            ),
            Op::Query(
                "SELECT c.doc_id, f.position, f.village_id, f.change_seq FROM feed f
                 JOIN changes c ON c.seq = f.change_seq
                 WHERE c.doc_id = ANY($1) ORDER BY c.doc_id, f.position",
                &[&ids],
            ),
            Op::Query(
                "SELECT doc_id, village_id, bytes, covered_seq FROM snapshots
                 WHERE doc_id = ANY($1)",
                &[&ids],
            ),
            Op::Query(
                "SELECT p.doc_id, p.seq, c.bytes FROM snapshot_pending p
                 JOIN changes c ON c.seq = p.seq
                 WHERE p.doc_id = ANY($1) ORDER BY p.doc_id, p.seq",
                &[&ids],
            ),
            Op::Query(
                "SELECT id, village_id, head_name FROM report_households WHERE id = ANY($1)",
                &[&ids],
            ),
            Op::Query(
                "SELECT household_id, id FROM report_persons WHERE household_id = ANY($1)",
                &[&ids],
            ),
            Op::Query(
                "SELECT household_id, id FROM report_visits WHERE household_id = ANY($1)",
                &[&ids],
            ),
            Op::Query(
                "SELECT doc_id FROM report_due WHERE doc_id = ANY($1)",
                &[&ids],
            ),
            Op::Query(
                "SELECT doc_id FROM report_merges WHERE doc_id = ANY($1) AND into_id IS NOT NULL
                 UNION SELECT into_id FROM report_merges WHERE into_id = ANY($1)",
                &[&ids],
            ),
        ])?;
        let [
            changes,
            feed,
            snapshots,
            pending,
            households,
            persons,
            visits,
            due,
            merged,
        ] = &answers[..]
        else {
            return Err(StorageError::Backend("a check read lost an answer".into()));
        };
        let mut logged: HashMap<String, Vec<LoggedChange>> = HashMap::new();
        for r in changes {
            logged.entry(get(r, 0)?).or_default().push(LoggedChange {
                seq: u64_of(get(r, 1)?),
                hash: get(r, 2)?,
                actor: get(r, 3)?,
                actor_seq: get::<Option<i64>>(r, 4)?.map(u64_of),
                bytes: get(r, 5)?,
            });
        }
        let mut fed: HashMap<String, Vec<(u64, String, u64)>> = HashMap::new();
        for r in feed {
            fed.entry(get(r, 0)?).or_default().push((
                u64_of(get(r, 1)?),
                get(r, 2)?,
                u64_of(get(r, 3)?),
            ));
        }
        let mut snaps = HashMap::new();
        for r in snapshots {
            let s = snapshot_of(r)?;
            snaps.insert(s.doc_id.clone(), s);
        }
        for r in pending {
            let id: String = get(r, 0)?;
            if let Some(s) = snaps.get_mut(&id) {
                s.pending.push((u64_of(get(r, 1)?), get(r, 2)?));
            }
        }
        let mut rows: HashMap<String, ProjectedHousehold> = HashMap::new();
        for r in households {
            rows.insert(
                get(r, 0)?,
                ProjectedHousehold {
                    village_id: get(r, 1)?,
                    head_name: get(r, 2)?,
                    ..Default::default()
                },
            );
        }
        for r in persons {
            if let Some(h) = rows.get_mut(&get::<String>(r, 0)?) {
                h.persons.push(get(r, 1)?);
            }
        }
        for r in visits {
            if let Some(h) = rows.get_mut(&get::<String>(r, 0)?) {
                h.visits.push(get(r, 1)?);
            }
        }
        let due: std::collections::HashSet<String> = due
            .iter()
            .map(|r| get(r, 0))
            .collect::<StorageResult<_>>()?;
        let merged: std::collections::HashSet<String> = merged
            .iter()
            .map(|r| get(r, 0))
            .collect::<StorageResult<_>>()?;
        for (id, village_id, version) in chunk {
            let report = rows.remove(id).map(|mut h| {
                h.persons.sort();
                h.visits.sort();
                h
            });
            on_doc(CheckedDoc {
                doc_id: id.clone(),
                village_id: village_id.clone(),
                version: u64_of(*version),
                changes: logged.remove(id).unwrap_or_default(),
                feed: fed.remove(id).unwrap_or_default(),
                snapshot: snaps.remove(id),
                report,
                report_due: due.contains(id),
                merged: merged.contains(id),
            })?;
        }
    }
    let count = |c: &mut PgConn, sql: &'static str| -> StorageResult<u64> {
        Ok(u64_of(get(&c.query_one(sql, &[])?, 0)?))
    };
    let materialized: String = get(
        &c.query_one("SELECT value FROM meta WHERE key = 'materialized_seq'", &[])?,
        0,
    )?;
    Ok(LogTotals {
        feed: feed_bounds(c)?,
        last_seq: count(c, "SELECT last_seq FROM log_counters")?,
        materialized_seq: materialized.parse().map_err(|e| {
            StorageError::Incompatible(format!("materialized_seq {materialized:?}: {e}"))
        })?,
        highest_seq: count(c, "SELECT COALESCE(MAX(seq), 0) FROM changes")?,
        highest_position: count(c, "SELECT COALESCE(MAX(position), 0) FROM feed")?,
        changes_without_document: count(
            c,
            "SELECT count(*) FROM changes WHERE doc_id NOT IN (SELECT id FROM documents)",
        )?,
        feed_without_change: count(
            c,
            "SELECT count(*) FROM feed WHERE change_seq NOT IN (SELECT seq FROM changes)",
        )?,
        snapshots_without_document: count(
            c,
            "SELECT count(*) FROM snapshots WHERE doc_id NOT IN (SELECT id FROM documents)",
        )?,
        report_rows_without_document: count(
            c,
            "SELECT count(*) FROM report_households WHERE id NOT IN (SELECT id FROM documents)",
        )?,
    })
}

/// The URL without its password, and the password: the password goes to
/// the client programs in their environment, never on a command line
/// others can read.
fn split_password(url: &str) -> (String, Option<String>) {
    let password = tokio_postgres::Config::from_str(url).ok().and_then(|c| {
        c.get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
    });
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return (url.to_string(), password);
    };
    let rest = &url[start..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return (url.to_string(), password);
    };
    let userinfo = &authority[..at];
    let user = userinfo.split(':').next().unwrap_or("");
    let bare = format!("{}{user}{}", &url[..start], &rest[at..]);
    (bare, password)
}

fn client(program: &Path, url: &str) -> Command {
    let (bare, password) = split_password(url);
    let mut cmd = Command::new(program);
    cmd.env("PGCONNECT_TIMEOUT", "30");
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.arg(format!("--dbname={bare}"));
    cmd
}

fn tool_failed(program: &Path, status: std::process::ExitStatus, stderr: &[u8]) -> BackupError {
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    BackupError::Tool(format!(
        "{name} failed ({status}): {}",
        String::from_utf8_lossy(stderr).trim()
    ))
}

fn spawn(cmd: &mut Command, program: &Path) -> BackupResult<Child> {
    cmd.spawn()
        .map_err(|e| BackupError::Tool(format!("cannot run {}: {e}", program.display())))
}

/// Reads a child's stderr aside, so that it never blocks on a full pipe.
fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut out);
        }
        out
    })
}

fn applied(c: &mut PgConn) -> StorageResult<i64> {
    let exists: bool = get(
        &c.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])?,
        0,
    )?;
    if !exists {
        return Ok(0);
    }
    get(
        &c.query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )?,
        0,
    )
}

/// Backs the database up into the new file `out`: `pg_dump` of a snapshot
/// this connection exports and holds, with the header read in it.
pub(crate) fn backup(
    settings: &PgSettings,
    out: &Path,
    pg_dump: &Path,
) -> BackupResult<BackupInfo> {
    let (_, mut c) = connect_first(settings)?;
    c.batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
    let snapshot: String = get(&c.query_one("SELECT pg_export_snapshot()", &[])?, 0)?;
    let schema_version = applied(&mut c)?;
    if schema_version == 0 {
        return Err(refused(
            format!(
                "{} chưa có dữ liệu của gocua-server",
                redacted(&settings.url)
            ),
            format!(
                "{} holds no gocua-server database (not migrated)",
                redacted(&settings.url)
            ),
        ));
    }
    let changes: i64 = get(&c.query_one("SELECT count(*) FROM changes", &[])?, 0)?;
    let info = BackupInfo {
        format: FORMAT,
        backend: "postgres".into(),
        schema_version,
        server_version: crate::api::SERVER_VERSION.into(),
        taken_at: crate::now(),
        changes: u64_of(changes),
        feed_end: feed_bounds(&mut c)?.end,
    };
    let mut file = create_private(out)?;
    write_pg_header(&mut file, &info).map_err(|e| io_err(out, e))?;
    let mut cmd = client(pg_dump, &settings.url);
    cmd.args(["--format=custom", "--no-password"])
        .arg(format!("--snapshot={snapshot}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = spawn(&mut cmd, pg_dump)?;
    let errors = drain(child.stderr.take());
    let copied = match child.stdout.take() {
        Some(mut stdout) => std::io::copy(&mut stdout, &mut file).map_err(|e| io_err(out, e)),
        None => Err(BackupError::Tool("pg_dump: no output".into())),
    };
    let status = child
        .wait()
        .map_err(|e| BackupError::Tool(format!("pg_dump: {e}")))?;
    let stderr = errors.join().unwrap_or_default();
    // The snapshot was needed until pg_dump had taken it; it has finished.
    let _ = c.batch("COMMIT");
    copied?;
    if !status.success() {
        return Err(tool_failed(pg_dump, status, &stderr));
    }
    file.sync_all().map_err(|e| io_err(out, e))?;
    Ok(info)
}

/// What the target database holds: its schema version (0: none) and
/// whether anything a restore would lose.
fn target_state(c: &mut PgConn) -> StorageResult<(i64, bool)> {
    let version = applied(c)?;
    let has_tables: bool = get(
        &c.query_one("SELECT to_regclass('documents') IS NOT NULL", &[])?,
        0,
    )?;
    if !has_tables {
        return Ok((version, false));
    }
    let data: bool = get(
        &c.query_one(
            "SELECT EXISTS (SELECT 1 FROM villages) OR EXISTS (SELECT 1 FROM teams)
                 OR EXISTS (SELECT 1 FROM volunteers) OR EXISTS (SELECT 1 FROM devices)
                 OR EXISTS (SELECT 1 FROM accounts) OR EXISTS (SELECT 1 FROM documents)
                 OR EXISTS (SELECT 1 FROM changes)",
            &[],
        )?,
        0,
    )?;
    Ok((version, data))
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Restores the PostgreSQL backup `file` into the database of `settings`:
/// `pg_restore`'s statements through `psql`, in one transaction that also
/// marks the database restored; killed before its end, it leaves nothing.
pub(crate) fn restore(
    info: &BackupInfo,
    file: &Path,
    settings: &PgSettings,
    overwrite: bool,
    pg_restore: &Path,
    psql: &Path,
) -> BackupResult<Restored> {
    check_restorable(info, "postgres", migrations::latest())?;
    let place = redacted(&settings.url);
    let (version, replaced) = {
        let (_, mut c) = connect_first(settings)?;
        target_state(&mut c)?
    };
    if replaced && !overwrite {
        return Err(not_empty(&place));
    }
    if version != 0 && version != info.schema_version {
        return Err(refused(
            format!(
                "{place} ở lược đồ {version}, bản sao lưu ở lược đồ {}: hãy xoá và tạo lại cơ sở dữ liệu (dropdb, createdb) rồi khôi phục vào đó",
                info.schema_version
            ),
            format!(
                "{place} is at schema {version} and the backup at {}: drop and create the database again (dropdb, createdb), then restore into it",
                info.schema_version
            ),
        ));
    }
    let mut reader = std::io::BufReader::new(File::open(file).map_err(|e| io_err(file, e))?);
    read_pg_header(&mut reader, file)?;

    let mut restore_cmd = Command::new(pg_restore);
    restore_cmd
        .args(["--file=-", "--no-owner", "--no-privileges"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if version != 0 {
        // The tables are there (a fresh database the server migrated):
        // replaced in the same transaction.
        restore_cmd.args(["--clean", "--if-exists"]);
    }
    let mut psql_cmd = client(psql, &settings.url);
    psql_cmd
        .args([
            "--no-psqlrc",
            "--quiet",
            "--no-password",
            "--set=ON_ERROR_STOP=1",
            "--single-transaction",
            "--file=-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut restorer = spawn(&mut restore_cmd, pg_restore)?;
    let mut runner = match spawn(&mut psql_cmd, psql) {
        Ok(r) => r,
        Err(e) => {
            let _ = restorer.kill();
            let _ = restorer.wait();
            return Err(e);
        }
    };
    let restore_errors = drain(restorer.stderr.take());
    let psql_errors = drain(runner.stderr.take());
    let feeder = restorer.stdin.take().map(|mut stdin| {
        std::thread::spawn(move || std::io::copy(&mut reader, &mut stdin).map(|_| ()))
    });
    let mut statements = runner.stdin.take();
    let piped = match (restorer.stdout.take(), statements.as_mut()) {
        (Some(mut from), Some(to)) => std::io::copy(&mut from, to).map(|_| ()),
        _ => Err(std::io::Error::other("no pipe to pg_restore or psql")),
    };
    if piped.is_err() {
        // psql stopped reading (it failed): pg_restore would wait for ever
        // to write the rest.
        let _ = restorer.kill();
    }
    let restored = restorer.wait();
    let fed = feeder.map(|f| f.join());
    let restore_stderr = restore_errors.join().unwrap_or_default();
    let audit = crate::backup::restore_audit(info, file);
    let finished = match (&piped, &restored) {
        (Ok(()), Ok(status)) if status.success() => statements.as_mut().map(|to| {
            let sql = format!(
                "{}INSERT INTO audit (at, actor, action, subject, detail) VALUES ({}, {}, {}, {}, {});\n",
                mark_restored_sql(RESTORE_GAP),
                audit.at,
                literal(&audit.actor),
                literal(&audit.action),
                literal(&audit.subject),
                literal(&audit.detail)
            );
            to.write_all(sql.as_bytes())
        }),
        _ => None,
    };
    let complete = matches!(finished, Some(Ok(())));
    if !complete {
        // psql commits at the end of its input: killed first, it never
        // does, and the server rolls the transaction back.
        let _ = runner.kill();
    }
    drop(statements);
    let ran = runner
        .wait()
        .map_err(|e| BackupError::Tool(format!("psql: {e}")))?;
    let psql_stderr = psql_errors.join().unwrap_or_default();
    match restored {
        Ok(status) if !status.success() => {
            return Err(tool_failed(pg_restore, status, &restore_stderr));
        }
        Err(e) => return Err(BackupError::Tool(format!("pg_restore: {e}"))),
        Ok(_) => {}
    }
    if !ran.success() || !complete {
        return Err(tool_failed(psql, ran, &psql_stderr));
    }
    if let Some(Ok(Err(e))) = fed {
        return Err(io_err(file, e));
    }
    // A backup of an older schema is brought up to this server's, each
    // migration in its own transaction as on any upgrade.
    let migrated = super::PgStorage::migrate(settings)?;
    let (_, mut c) = connect_first(settings)?;
    let bounds = feed_bounds(&mut c)?;
    let (after, before) = bounds.restored.last().copied().unwrap_or_default();
    Ok(Restored {
        info: info.clone(),
        schema_version: migrated.to,
        feed_after: after,
        feed_before: before,
        replaced,
    })
}
