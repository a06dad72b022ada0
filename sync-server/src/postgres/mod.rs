//! The PostgreSQL backend: for a server that outgrows one machine, several
//! stateless replicas on one database (docs/operations.md). The same
//! behaviour as the SQLite backend, checked by the same tests; all of its SQL
//! lives in this module, its schema in `sync-server/migrations/postgres`.

mod admin;
pub(crate) mod backup;
mod conn;
mod console;
pub mod migrations;
mod report;

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use gocua_admin_units::LIST_2025;
use gocua_protocol::{Refusal, codes};
use tokio_postgres::Row;

use crate::group_commit::GroupCommit;
use crate::storage::{
    Account, AccountRow, AreaScope, Assignment, AuditEntry, AuditRow, ChangeLocation, CheckedDoc,
    CodeRefusal, DeviceRow, DeviceSeen, DocHead, DocHistory, DocOutcome, DocWrite, EnrollAttempt,
    EnrollOutcome, ExtractSink, FeedBounds, LogTotals, MergeNode, MergeUpdate, NewTraining,
    Principal, PullPage, QuarantineRow, ReportRecord, Role, Snapshot, Storage, StorageError,
    StorageResult, StoredChange, Team, TeamEdit, TeamRow, Training, TrainingRow, UnitsLoaded,
    UnsentReport, Village, Volunteer, VolunteerRow,
};
use conn::{ConnectOptions, Deferred, Manager, Op, Param, PgConn, get, owned};

/// The advisory lock held by the replica that runs the materializer.
const MATERIALIZER_LOCK: i64 = 0x676f_6375_6102;

fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// How the backend connects: from `gocua-server`'s configuration.
#[derive(Debug, Clone)]
pub struct PgSettings {
    /// `postgres://user:password@host:port/database?options`.
    pub url: String,
    /// Connections this process keeps open at most.
    pub pool_size: u32,
    pub statement_timeout: Duration,
    /// Apply missing migrations at open (under the migration lock); else a
    /// database not migrated yet is refused.
    pub migrate: bool,
}

/// Where `url` points, without its password (for logs and messages).
pub fn redacted(url: &str) -> String {
    match tokio_postgres::Config::from_str(url) {
        Ok(c) => {
            let hosts: Vec<String> = c
                .get_hosts()
                .iter()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(h) => h.clone(),
                    tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .collect();
            let port = c.get_ports().first().copied().unwrap_or(5432);
            format!(
                "postgres://{}@{}:{port}/{}",
                c.get_user().unwrap_or(""),
                hosts.join(","),
                c.get_dbname().unwrap_or("")
            )
        }
        Err(_) => "postgres://(unreadable URL)".into(),
    }
}

pub struct PgStorage {
    pool: r2d2::Pool<Manager>,
    pushes: GroupCommit<PushJob, StorageResult<PushDone>>,
    /// The connection holding the materializer's lock, once it took it.
    lease: Mutex<Option<(PgConn, bool)>>,
    /// The report keys' numbers met so far (`report::KeyIds`).
    report_keys: Mutex<report::KeyIds>,
    options: ConnectOptions,
    where_: String,
}

impl std::fmt::Debug for PgStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStorage")
            .field("database", &self.where_)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl PgStorage {
    /// Connects to the database at `settings.url`, migrating it if asked to,
    /// and refusing one migrated by a newer server.
    pub fn open(settings: &PgSettings) -> StorageResult<PgStorage> {
        let (options, mut first) = connect_first(settings)?;
        let where_ = redacted(&settings.url);
        if settings.migrate {
            migrations::migrate(&mut first)?;
        } else {
            migrations::check(&mut first)?;
        }
        drop(first);
        let pool = r2d2::Pool::builder()
            .max_size(settings.pool_size.max(2))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(30))
            .build(Manager {
                options: options.clone(),
            })
            .map_err(|e| StorageError::Backend(format!("cannot connect to {where_}: {e}")))?;
        Ok(PgStorage {
            pool,
            pushes: GroupCommit::default(),
            lease: Mutex::new(None),
            report_keys: Mutex::new(report::KeyIds::new()),
            options,
            where_,
        })
    }

    /// Applies the migrations the database lacks (`gocua-server migrate`).
    pub fn migrate(settings: &PgSettings) -> StorageResult<migrations::Migrated> {
        let (_, mut c) = connect_first(settings)?;
        migrations::migrate(&mut c)
    }

    fn conn(&self) -> StorageResult<r2d2::PooledConnection<Manager>> {
        self.pool.get().map_err(|e| {
            StorageError::Busy(format!(
                "no free database connection to {}: {e}",
                self.where_
            ))
        })
    }

    fn write<T>(&self, f: impl FnOnce(&mut PgConn) -> StorageResult<T>) -> StorageResult<T> {
        self.conn()?.transaction(false, f)
    }

    /// `f` in a write transaction with the report keys known so far; the
    /// keys it numbered are remembered once it has committed (a rolled back
    /// number does not exist).
    fn with_report_keys<T>(
        &self,
        f: impl FnOnce(&mut PgConn, &report::KeyIds, &mut report::KeyIds) -> StorageResult<T>,
    ) -> StorageResult<T> {
        let mut known = lock(&self.report_keys);
        let mut fresh = report::KeyIds::new();
        let out = self.write(|c| f(c, &known, &mut fresh))?;
        known.extend(fresh);
        Ok(out)
    }

    /// One consistent snapshot of the database.
    fn read<T>(&self, f: impl FnOnce(&mut PgConn) -> StorageResult<T>) -> StorageResult<T> {
        self.conn()?.transaction(true, f)
    }
}

/// How the backend connects, and a first connection (a clear first error
/// when the database cannot be reached).
fn connect_first(settings: &PgSettings) -> StorageResult<(ConnectOptions, PgConn)> {
    let where_ = redacted(&settings.url);
    let mut config = tokio_postgres::Config::from_str(&settings.url).map_err(|e| {
        StorageError::Invalid(format!("the database URL {where_} cannot be read: {e}"))
    })?;
    if config.get_application_name().is_none() {
        // Tells the replicas apart in pg_stat_activity (and the tests find
        // which one holds the materializer's lock).
        config.application_name(format!("gocua-server/{}", std::process::id()));
    }
    let options = ConnectOptions {
        config,
        statement_timeout: settings.statement_timeout,
        lock_timeout: settings.statement_timeout,
    };
    match PgConn::connect(&options) {
        Ok(c) => Ok((options, c)),
        Err(StorageError::Backend(m) | StorageError::Busy(m)) => Err(StorageError::Backend(
            format!("cannot connect to {where_}: {m}"),
        )),
        Err(other) => Err(other),
    }
}

fn insert_audit(c: &mut PgConn, e: &AuditEntry) -> StorageResult<()> {
    let (commune, province) = audit_area(c, e)?;
    c.execute(
        "INSERT INTO audit (at, actor, action, subject, detail, commune_code, province_code)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &e.at, &e.actor, &e.action, &e.subject, &e.detail, &commune, &province,
        ],
    )?;
    Ok(())
}

/// The commune and province an audit row concerns (`AuditEntry::area_keys`).
fn audit_area(c: &mut PgConn, e: &AuditEntry) -> StorageResult<(Option<String>, Option<String>)> {
    for (key, id) in e.area_keys() {
        let found = match c.query_opt(key.query(), &[&id])? {
            Some(r) => (get::<Option<String>>(&r, 0)?, get::<Option<String>>(&r, 1)?),
            None => continue,
        };
        match found {
            (Some(commune), None) => {
                let province = match c.query_opt(crate::storage::COMMUNE_PROVINCE, &[&commune])? {
                    Some(r) => get::<Option<String>>(&r, 0)?,
                    None => None,
                };
                return Ok((Some(commune), province));
            }
            (None, None) => continue,
            area => return Ok(area),
        }
    }
    Ok((None, None))
}

fn village_of(r: &Row) -> StorageResult<Village> {
    Ok(Village {
        id: get(r, 0)?,
        commune_code: get(r, 1)?,
        name: get(r, 2)?,
    })
}

fn team_villages(c: &mut PgConn, team_id: &str) -> StorageResult<Vec<Village>> {
    c.query(
        "SELECT v.id, v.commune_code, v.name FROM team_villages tv
         JOIN villages v ON v.id = tv.village_id WHERE tv.team_id = $1
         ORDER BY v.name COLLATE \"C\"",
        &[&team_id],
    )?
    .iter()
    .map(village_of)
    .collect()
}

fn volunteer_row(c: &mut PgConn, id: &str) -> StorageResult<Option<Volunteer>> {
    c.query_opt(
        "SELECT id, name, phone, team_id FROM volunteers WHERE id = $1",
        &[&id],
    )?
    .map(|r| {
        Ok(Volunteer {
            id: get(&r, 0)?,
            name: get(&r, 1)?,
            phone: get(&r, 2)?,
            team_id: get(&r, 3)?,
        })
    })
    .transpose()
}

fn team_row(c: &mut PgConn, id: &str) -> StorageResult<Option<Team>> {
    let Some(r) = c.query_opt(
        "SELECT id, name, commune_code FROM teams WHERE id = $1",
        &[&id],
    )?
    else {
        return Ok(None);
    };
    let mut team = Team {
        id: get(&r, 0)?,
        name: get(&r, 1)?,
        commune_code: get(&r, 2)?,
        villages: Vec::new(),
    };
    team.villages = team_villages(c, id)?;
    Ok(Some(team))
}

/// Reads rows (position, seq, doc_id, village_id, device_id, bytes) in
/// position order until `limit` rows or about `max_bytes`. A change fed to
/// two of the reader's villages (a household that moved between them) is
/// read once.
fn page(rows: Vec<Row>, limit: u32, max_bytes: usize) -> StorageResult<PullPage> {
    let mut changes: Vec<StoredChange> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut bytes = 0usize;
    let mut more = false;
    for r in rows {
        let position = u64_of(get(&r, 0)?);
        let seq = u64_of(get(&r, 1)?);
        if !seen.insert(seq) {
            // Served at its first position; a trailing duplicate may come
            // again on the next page, which the device skips as known.
            continue;
        }
        if changes.len() >= limit as usize {
            more = true;
            break;
        }
        let blob: Vec<u8> = get(&r, 5)?;
        if !changes.is_empty() && bytes + blob.len() > max_bytes {
            more = true;
            break;
        }
        bytes += blob.len();
        changes.push(StoredChange {
            position,
            seq,
            doc_id: get(&r, 2)?,
            village_id: get(&r, 3)?,
            device_id: get(&r, 4)?,
            bytes: blob,
        });
    }
    Ok(PullPage { changes, more })
}

fn load_pending(c: &mut PgConn, doc_id: &str) -> StorageResult<Vec<(u64, Vec<u8>)>> {
    c.query(
        "SELECT p.seq, c.bytes FROM snapshot_pending p JOIN changes c ON c.seq = p.seq
         WHERE p.doc_id = $1 ORDER BY p.seq",
        &[&doc_id],
    )?
    .iter()
    .map(|r| Ok((u64_of(get(r, 0)?), get(r, 1)?)))
    .collect()
}

fn snapshot_of(r: &Row) -> StorageResult<Snapshot> {
    Ok(Snapshot {
        doc_id: get(r, 0)?,
        village_id: get(r, 1)?,
        bytes: get(r, 2)?,
        covered_seq: u64_of(get(r, 3)?),
        pending: Vec::new(),
    })
}

fn materialized(c: &mut PgConn) -> StorageResult<u64> {
    let v: String = get(
        &c.query_one("SELECT value FROM meta WHERE key = 'materialized_seq'", &[])?,
        0,
    )?;
    v.parse::<u64>()
        .map_err(|e| StorageError::Incompatible(format!("materialized_seq {v:?}: {e}")))
}

/// One device's push waiting in the group-commit queue.
struct PushJob {
    device_id: String,
    writes: Vec<DocWrite>,
    now: i64,
}

type PushDone = Vec<DocOutcome>;

/// The log's counters as this transaction moves them (`log_counters`).
#[derive(Debug, Clone, Copy)]
struct Counters {
    seq: i64,
    position: i64,
}

/// Stores one push inside the caller's transaction, which holds the
/// counters' row lock.
fn push_one(c: &mut PgConn, n: &mut Counters, job: PushJob) -> StorageResult<PushDone> {
    let mut out = Vec::with_capacity(job.writes.len());
    for w in &job.writes {
        let before = *n;
        // `write_doc` takes savepoint `doc` and releases it when it stored.
        match write_doc(c, n, &job.device_id, w, job.now) {
            Ok(outcome @ DocOutcome::Stored { .. }) => {
                out.push(outcome);
            }
            Ok(other) => {
                c.batch("ROLLBACK TO doc; RELEASE doc")?;
                *n = before;
                out.push(other);
            }
            Err(e) => {
                c.batch("ROLLBACK TO doc; RELEASE doc")?;
                *n = before;
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
    c: &mut PgConn,
    n: &mut Counters,
    device_id: &str,
    w: &DocWrite,
    now: i64,
) -> StorageResult<DocOutcome> {
    // One round trip: the savepoint, the document, which changes are known.
    let hashes: Vec<&[u8]> = w.changes.iter().map(|ch| &ch.hash[..]).collect();
    let mut first = c
        .pipeline(&[
            Op::Batch("SAVEPOINT doc"),
            Op::Query(
                "SELECT village_id, version FROM documents WHERE id = $1",
                &[&w.doc_id],
            ),
            Op::Query(
                "SELECT hash, doc_id FROM changes WHERE hash = ANY($1)",
                &[&hashes],
            ),
        ])?
        .into_iter()
        .skip(1);
    let (doc_rows, known_rows) = (
        first.next().unwrap_or_default(),
        first.next().unwrap_or_default(),
    );
    let current: Option<(String, i64)> = doc_rows
        .first()
        .map(|r| Ok::<_, StorageError>((get(r, 0)?, get(r, 1)?)))
        .transpose()?;
    if current.as_ref().map(|c| u64_of(c.1)) != w.base_version {
        return Ok(DocOutcome::Stale);
    }
    for q in &w.quarantined {
        c.execute(
            "INSERT INTO quarantine (doc_id, hash, device_id, bytes, reason, received_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (hash) DO NOTHING",
            &[
                &w.doc_id,
                &&q.hash[..],
                &device_id,
                &q.bytes,
                &q.reason,
                &now,
            ],
        )?;
    }
    // Every change of the write in one query and one insert: round trips
    // are what a push waits for, under the counters' lock.
    let mut known: std::collections::HashMap<Vec<u8>, String> = Default::default();
    for r in &known_rows {
        known.insert(get(r, 0)?, get(r, 1)?);
    }
    let mut duplicates = 0u64;
    let mut seen = std::collections::HashSet::with_capacity(w.changes.len());
    let mut fresh = Vec::with_capacity(w.changes.len());
    for ch in &w.changes {
        match known.get(&ch.hash[..]) {
            Some(d) if *d == w.doc_id => {
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
        if seen.insert(ch.hash) {
            fresh.push(ch);
        } else {
            duplicates += 1;
        }
    }
    let new_seqs: Vec<i64> = (1..=fresh.len() as i64).map(|i| n.seq + i).collect();
    if !fresh.is_empty() {
        let hashes: Vec<&[u8]> = fresh.iter().map(|ch| &ch.hash[..]).collect();
        let bytes: Vec<&[u8]> = fresh.iter().map(|ch| &ch.bytes[..]).collect();
        let actors: Vec<&[u8]> = fresh.iter().map(|ch| &ch.actor[..]).collect();
        let numbers: Vec<i64> = fresh.iter().map(|ch| i64_of(ch.seq)).collect();
        // The hashes are new (checked above) and the seqs this
        // transaction's: only a change number can clash, and a clash takes
        // no number (the write is refused and rolled back).
        let inserted = c.query(
            "INSERT INTO changes (seq, village_id, doc_id, hash, device_id, bytes, received_at, actor, actor_seq)
             SELECT t.s, $2, $3, t.h, $5, t.b, $7, t.a, t.q
             FROM unnest($1::BIGINT[], $4::BYTEA[], $6::BYTEA[], $8::BYTEA[], $9::BIGINT[])
                AS t(s, h, b, a, q)
             ON CONFLICT (doc_id, actor, actor_seq) DO NOTHING
             RETURNING actor_seq",
            &[
                &new_seqs,
                &w.village_id,
                &w.doc_id,
                &hashes,
                &device_id,
                &bytes,
                &now,
                &actors,
                &numbers,
            ],
        )?;
        if inserted.len() < fresh.len() {
            let taken: std::collections::HashSet<i64> = inserted
                .iter()
                .map(|r| get(r, 0))
                .collect::<StorageResult<_>>()?;
            let clash = numbers
                .iter()
                .find(|q| !taken.contains(q))
                .copied()
                .unwrap_or(0);
            return Ok(refused(
                &w.doc_id,
                codes::REUSED_SEQUENCE,
                format!(
                    "household {}: change number {clash} of this author is already used by another change; the device was restored from a copy or cloned",
                    w.doc_id
                ),
            ));
        }
        n.seq += fresh.len() as i64;
    }
    let stored = fresh.len() as u64;
    let version = match new_seqs.last() {
        Some(s) => u64_of(*s),
        None => w.base_version.unwrap_or(0),
    };
    // The feed, the document and the release in one round trip (a move's
    // feed, rare, goes row by row first).
    let moved = w.moved_from.is_some() && !new_seqs.is_empty();
    let mut last_position = if moved { feed(c, n, w, &new_seqs)? } else { 0 };
    let positions: Vec<i64> = if moved {
        Vec::new()
    } else {
        (1..=new_seqs.len() as i64)
            .map(|i| n.position + i)
            .collect()
    };
    let version_now = i64_of(version);
    let feed_params: [Param<'_>; 3] = [&positions, &w.village_id, &new_seqs];
    let mut ops: Vec<Op<'_>> = Vec::with_capacity(4);
    if !positions.is_empty() {
        // New changes are fed nowhere yet: one position each (no conflict
        // is possible, and one would be an error, not a gap).
        ops.push(Op::Query(
            "INSERT INTO feed (position, village_id, change_seq)
             SELECT t.p, $2, t.s FROM unnest($1::BIGINT[], $3::BIGINT[]) AS t(p, s)",
            &feed_params,
        ));
    }
    let doc_params: [Param<'_>; 4] = [&w.doc_id, &w.village_id, &now, &version_now];
    let move_params: [Param<'_>; 2] = [&w.doc_id, &w.village_id];
    match &current {
        None if w.changes.is_empty() => {}
        None => ops.push(Op::Query(
            "INSERT INTO documents (id, village_id, created_at, updated_at, version)
             VALUES ($1, $2, $3, $3, $4)",
            &doc_params,
        )),
        Some((old, _)) => {
            ops.push(Op::Query(
                "UPDATE documents SET village_id = $2, updated_at = $3, version = $4 WHERE id = $1",
                &doc_params,
            ));
            if *old != w.village_id {
                // Moved: the snapshot follows it (bootstrap serves snapshots
                // by village), as later changes do (`feed`).
                ops.push(Op::Query(
                    "UPDATE snapshots SET village_id = $2 WHERE doc_id = $1",
                    &move_params,
                ));
            }
        }
    }
    ops.push(Op::Batch("RELEASE doc"));
    c.pipeline(&ops)?;
    if !positions.is_empty() {
        n.position += positions.len() as i64;
        last_position = u64_of(n.position);
    }
    Ok(DocOutcome::Stored {
        stored,
        duplicates,
        version,
        last_position,
    })
}

/// Feeds a write's new changes to the villages that must receive them (as
/// the SQLite backend's `feed` does) and returns the highest position taken
/// (0 when none). Positions come from the counters this transaction holds
/// locked, so the feed stays gap-free across replicas.
fn feed(c: &mut PgConn, n: &mut Counters, w: &DocWrite, new_seqs: &[i64]) -> StorageResult<u64> {
    let mut last = 0u64;
    let mut put = |c: &mut PgConn, village: &str, seq: i64| -> StorageResult<()> {
        let position = n.position + 1;
        let done = c.execute(
            "INSERT INTO feed (position, village_id, change_seq) VALUES ($1, $2, $3)
             ON CONFLICT (village_id, change_seq) DO NOTHING",
            &[&position, &village, &seq],
        )?;
        if done > 0 {
            n.position = position;
            last = u64_of(position);
        }
        Ok(())
    };
    match &w.moved_from {
        Some(old) if !new_seqs.is_empty() => {
            let history: Vec<i64> = c
                .query(
                    "SELECT c.seq FROM changes c WHERE c.doc_id = $1 AND NOT EXISTS
                       (SELECT 1 FROM feed f WHERE f.village_id = $2 AND f.change_seq = c.seq)
                     ORDER BY c.seq",
                    &[&w.doc_id, &w.village_id],
                )?
                .iter()
                .map(|r| get(r, 0))
                .collect::<StorageResult<_>>()?;
            for seq in history {
                put(c, &w.village_id, seq)?;
            }
            for seq in new_seqs {
                put(c, old, *seq)?;
            }
        }
        _ => {
            for seq in new_seqs {
                put(c, &w.village_id, *seq)?;
            }
        }
    }
    Ok(last)
}

/// Writes a batch of pushes in one transaction, each in its own savepoint
/// (a failing push changes nothing and does not fail the others).
fn push_batch(c: &mut PgConn, jobs: Vec<PushJob>) -> StorageResult<Vec<StorageResult<PushDone>>> {
    c.transaction(false, |c| {
        // Why the feed stays gap-free with several replicas: every push
        // locks the counters' one row first and holds it to its commit, so
        // no transaction takes a seq or a position while another that took
        // lower ones is still open. Readers see committed transactions
        // only, so whoever sees a position sees every lower one. A
        // sequence (nextval) would hand out numbers outside the
        // transaction's order, and burn them on duplicates and rollbacks.
        let r = c.query_one(
            "SELECT last_seq, last_position FROM log_counters FOR UPDATE",
            &[],
        )?;
        let mut n = Counters {
            seq: get(&r, 0)?,
            position: get(&r, 1)?,
        };
        let mut results = Vec::with_capacity(jobs.len());
        for job in jobs {
            let before = n;
            c.batch("SAVEPOINT push")?;
            match push_one(c, &mut n, job) {
                Ok(done) => {
                    c.batch("RELEASE push")?;
                    results.push(Ok(done));
                }
                Err(e) => {
                    c.batch("ROLLBACK TO push; RELEASE push")?;
                    n = before;
                    results.push(Err(e));
                }
            }
        }
        c.execute(
            "UPDATE log_counters SET last_seq = $1, last_position = $2",
            &[&n.seq, &n.position],
        )?;
        Ok(results)
    })
}

/// An enrollment code's row: volunteer, expiry, use, device, request id.
type CodeRow = (String, i64, Option<i64>, Option<String>, Option<String>);

/// Arrays of the units' columns, to insert them in one statement each.
#[derive(Default)]
struct AreaColumns {
    list: Vec<String>,
    level: Vec<String>,
    code: Vec<String>,
    name: Vec<String>,
    kind: Vec<Option<String>>,
    parent: Vec<Option<String>>,
    from: Vec<Option<String>>,
    to: Vec<Option<String>>,
}

impl Storage for PgStorage {
    fn health(&self) -> StorageResult<()> {
        // A replica deployed ahead of `migrate`, or left behind by a newer
        // one's migration, is not ready.
        let mut c = self.conn()?;
        migrations::check(&mut c)
    }

    fn shared(&self) -> bool {
        true
    }

    fn pool_use(&self) -> Vec<crate::metrics::PoolUse> {
        let state = self.pool.state();
        vec![crate::metrics::PoolUse {
            pool: "postgres",
            open: state.connections,
            in_use: state.connections.saturating_sub(state.idle_connections),
            max: self.pool.max_size(),
        }]
    }

    fn materializer_lease(&self) -> StorageResult<bool> {
        let mut lease = lock(&self.lease);
        if let Some((c, held)) = lease.as_mut() {
            if c.is_closed() || c.batch("").is_err() {
                // The lock went with the connection: take it again below.
                *lease = None;
            } else if *held {
                return Ok(true);
            }
        }
        if lease.is_none() {
            *lease = Some((PgConn::connect(&self.options)?, false));
        }
        let Some((c, held)) = lease.as_mut() else {
            return Ok(false);
        };
        *held = get(
            &c.query_one("SELECT pg_try_advisory_lock($1)", &[&MATERIALIZER_LOCK])?,
            0,
        )?;
        if *held {
            tracing::info!("this replica runs the materializer");
        }
        Ok(*held)
    }

    fn units_loaded(&self) -> StorageResult<bool> {
        get(
            &self
                .conn()?
                .query_one("SELECT EXISTS (SELECT 1 FROM areas)", &[])?,
            0,
        )
    }

    fn load_units(&self) -> StorageResult<UnitsLoaded> {
        let units = gocua_admin_units::Units::embedded()
            .map_err(|e| StorageError::Invalid(e.to_string()))?;
        let mut a = AreaColumns::default();
        // Each commune repeats its province: one row per key, the last one
        // (as SQLite's INSERT OR REPLACE keeps), since one statement may not
        // update a row twice.
        let mut rows: std::collections::BTreeMap<(&str, &str, &str), _> =
            std::collections::BTreeMap::new();
        for r in units.area_rows() {
            rows.insert((r.list, r.level, r.code), r);
        }
        for r in rows.into_values() {
            a.list.push(r.list.to_string());
            a.level.push(r.level.to_string());
            a.code.push(r.code.to_string());
            a.name.push(r.name.to_string());
            a.kind.push(r.kind.map(str::to_string));
            a.parent.push(r.parent_code.map(str::to_string));
            a.from.push(r.valid_from.map(str::to_string));
            a.to.push(r.valid_to.map(str::to_string));
        }
        let successions: std::collections::BTreeMap<(&str, &str), bool> = units
            .successions
            .iter()
            .map(|s| {
                (
                    (&s.legacy_commune_code[..], &s.commune_code[..]),
                    s.is_default,
                )
            })
            .collect();
        let legacy: Vec<&str> = successions.keys().map(|k| k.0).collect();
        let current: Vec<&str> = successions.keys().map(|k| k.1).collect();
        let default: Vec<bool> = successions.values().copied().collect();
        self.write(|c| {
            c.execute(
                "INSERT INTO areas (list, level, code, name, kind, parent_code, valid_from, valid_to)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                      $6::text[], $7::text[], $8::text[])
                 ON CONFLICT (list, level, code) DO UPDATE SET name = excluded.name,
                    kind = excluded.kind, parent_code = excluded.parent_code,
                    valid_from = excluded.valid_from, valid_to = excluded.valid_to",
                &[
                    &a.list, &a.level, &a.code, &a.name, &a.kind, &a.parent, &a.from, &a.to,
                ],
            )?;
            c.execute(
                "INSERT INTO area_successions (legacy_code, code, is_default)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::bool[])
                 ON CONFLICT (legacy_code, code) DO UPDATE SET is_default = excluded.is_default",
                &[&legacy, &current, &default],
            )?;
            c.execute(
                "INSERT INTO meta (key, value) VALUES ('reference_attribution', $1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&gocua_admin_units::ATTRIBUTION],
            )?;
            Ok(UnitsLoaded {
                communes: units.current.len() as u64,
                legacy_communes: units.legacy_communes() as u64,
                successions: units.successions.len() as u64,
            })
        })
    }

    fn commune_province(&self, commune_code: &str) -> StorageResult<Option<String>> {
        self.conn()?
            .query_opt(
                "SELECT parent_code FROM areas WHERE list = $1 AND level = 'commune' AND code = $2",
                &[&LIST_2025, &commune_code],
            )?
            .map(|r| get::<Option<String>>(&r, 0))
            .transpose()
            .map(Option::flatten)
    }

    fn province_exists(&self, province_code: &str) -> StorageResult<bool> {
        get(
            &self.conn()?.query_one(
                "SELECT EXISTS (SELECT 1 FROM areas WHERE list = $1 AND level = 'province' AND code = $2)",
                &[&LIST_2025, &province_code],
            )?,
            0,
        )
    }

    fn add_village(&self, village: &Village, now: i64) -> StorageResult<Village> {
        self.write(|c| {
            c.execute(
                "INSERT INTO villages (id, commune_code, name, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO NOTHING",
                &[&village.id, &village.commune_code, &village.name, &now],
            )?;
            village_of(&c.query_one(
                "SELECT id, commune_code, name FROM villages WHERE id = $1",
                &[&village.id],
            )?)
        })
    }

    fn villages(&self, commune_code: Option<&str>) -> StorageResult<Vec<Village>> {
        self.conn()?
            .query(
                "SELECT id, commune_code, name FROM villages
                 WHERE $1::text IS NULL OR commune_code = $1
                 ORDER BY commune_code COLLATE \"C\", name COLLATE \"C\"",
                &[&commune_code],
            )?
            .iter()
            .map(village_of)
            .collect()
    }

    fn add_team(&self, team: &Team, now: i64) -> StorageResult<()> {
        self.write(|c| {
            c.execute(
                "INSERT INTO teams (id, name, commune_code, created_at) VALUES ($1, $2, $3, $4)",
                &[&team.id, &team.name, &team.commune_code, &now],
            )?;
            for v in &team.villages {
                let commune: Option<String> = c
                    .query_opt("SELECT commune_code FROM villages WHERE id = $1", &[&v.id])?
                    .map(|r| get(&r, 0))
                    .transpose()?;
                match commune {
                    None => return Err(StorageError::NotFound(format!("no village {}", v.id))),
                    Some(code) if code != team.commune_code => {
                        return Err(StorageError::Invalid(format!(
                            "village {} is in commune {code}, not in the team's commune {}",
                            v.id, team.commune_code
                        )));
                    }
                    Some(_) => {}
                }
                c.execute(
                    "INSERT INTO team_villages (team_id, village_id) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                    &[&team.id, &v.id],
                )?;
            }
            Ok(())
        })
    }

    fn team(&self, team_id: &str) -> StorageResult<Option<Team>> {
        self.read(|c| team_row(c, team_id))
    }

    fn add_volunteer(&self, volunteer: &Volunteer, now: i64) -> StorageResult<()> {
        self.write(|c| {
            if team_row(c, &volunteer.team_id)?.is_none() {
                return Err(StorageError::NotFound(format!(
                    "no team {}",
                    volunteer.team_id
                )));
            }
            c.execute(
                "INSERT INTO volunteers (id, name, phone, team_id, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[&volunteer.id, &volunteer.name, &volunteer.phone, &volunteer.team_id, &now],
            )?;
            Ok(())
        })
    }

    fn volunteer(&self, volunteer_id: &str) -> StorageResult<Option<Volunteer>> {
        volunteer_row(&mut *self.conn()?, volunteer_id)
    }

    fn add_enroll_code(
        &self,
        code_hash: &str,
        volunteer_id: &str,
        now: i64,
        expires_at: i64,
    ) -> StorageResult<()> {
        self.write(|c| {
            if volunteer_row(c, volunteer_id)?.is_none() {
                return Err(StorageError::NotFound(format!("no volunteer {volunteer_id}")));
            }
            c.execute(
                "INSERT INTO enroll_codes (code_hash, volunteer_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                &[&code_hash, &volunteer_id, &now, &expires_at],
            )?;
            insert_audit(
                c,
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
        self.write(|c| {
            c.execute(
                "INSERT INTO accounts (id, role, name, province_code, token_hash, created_at, commune_code)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &account.id,
                    &account.role.as_str(),
                    &account.name,
                    &account.province_code,
                    &token_hash,
                    &now,
                    &account.commune_code,
                ],
            )?;
            insert_audit(
                c,
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
        self.conn()?
            .query(
                "SELECT d.id, d.name, d.volunteer_id, v.name, v.team_id, d.enrolled_at, d.revoked_at,
                        d.wipe_requested,
                        (SELECT COUNT(*) FROM unsent_reports u WHERE u.device_id = d.id),
                        d.last_seen_at, d.last_sync_at, d.app_version, d.pending_changes
                 FROM devices d JOIN volunteers v ON v.id = d.volunteer_id
                 ORDER BY d.enrolled_at, d.id COLLATE \"C\"",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(DeviceRow {
                    id: get(r, 0)?,
                    name: get(r, 1)?,
                    volunteer_id: get(r, 2)?,
                    volunteer_name: get(r, 3)?,
                    team_id: get(r, 4)?,
                    enrolled_at: get(r, 5)?,
                    revoked_at: get(r, 6)?,
                    wipe_requested: get(r, 7)?,
                    unsent_reports: get(r, 8)?,
                    last_seen_at: get(r, 9)?,
                    last_sync_at: get(r, 10)?,
                    app_version: get(r, 11)?,
                    pending_changes: get(r, 12)?,
                })
            })
            .collect()
    }

    fn revoke_device(&self, device_id: &str, now: i64, wipe: bool) -> StorageResult<bool> {
        self.write(|c| {
            let found: Option<(Option<i64>, bool)> = c
                .query_opt(
                    "SELECT revoked_at, wipe_requested FROM devices WHERE id = $1 FOR UPDATE",
                    &[&device_id],
                )?
                .map(|r| Ok::<_, StorageError>((get(&r, 0)?, get(&r, 1)?)))
                .transpose()?;
            let Some((revoked_at, wiping)) = found else {
                return Err(StorageError::NotFound(format!("no device {device_id}")));
            };
            let newly = revoked_at.is_none();
            if newly {
                c.execute(
                    "UPDATE devices SET revoked_at = $2 WHERE id = $1",
                    &[&device_id, &now],
                )?;
                insert_audit(
                    c,
                    &AuditEntry {
                        at: now,
                        actor: "admin".into(),
                        action: "device_revoked".into(),
                        subject: format!("device:{device_id}"),
                        detail: String::new(),
                    },
                )?;
            }
            if wipe && !wiping {
                c.execute(
                    "UPDATE devices SET wipe_requested = true WHERE id = $1",
                    &[&device_id],
                )?;
                insert_audit(
                    c,
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
        self.write(|c| {
            let stored = c.execute(
                "INSERT INTO unsent_reports (device_id, received_at, changes, documents, digest, bundle)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (digest) DO NOTHING",
                &[
                    &device_id,
                    &now,
                    &i64_of(changes),
                    &i64_of(documents),
                    &digest,
                    &bundle,
                ],
            )?;
            if stored > 0 {
                insert_audit(
                    c,
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
        self.conn()?
            .query(
                "SELECT id, device_id, received_at, changes, documents, octet_length(bundle)::BIGINT
                 FROM unsent_reports WHERE $1::text IS NULL OR device_id = $1 ORDER BY id",
                &[&device_id],
            )?
            .iter()
            .map(|r| {
                Ok(UnsentReport {
                    id: get(r, 0)?,
                    device_id: get(r, 1)?,
                    received_at: get(r, 2)?,
                    changes: get(r, 3)?,
                    documents: get(r, 4)?,
                    bytes: get(r, 5)?,
                })
            })
            .collect()
    }

    fn unsent_bundle(&self, id: i64) -> StorageResult<Option<Vec<u8>>> {
        self.conn()?
            .query_opt("SELECT bundle FROM unsent_reports WHERE id = $1", &[&id])?
            .map(|r| get(&r, 0))
            .transpose()
    }

    fn audit(&self, entry: &AuditEntry) -> StorageResult<()> {
        self.write(|c| insert_audit(c, entry))
    }

    fn audit_log(&self, limit: u32) -> StorageResult<Vec<AuditRow>> {
        self.conn()?
            .query(
                "SELECT id, at, actor, action, subject, detail FROM
                 (SELECT * FROM audit ORDER BY id DESC LIMIT $1) a ORDER BY id",
                &[&i64::from(limit)],
            )?
            .iter()
            .map(|r| {
                Ok(AuditRow {
                    id: get(r, 0)?,
                    entry: AuditEntry {
                        at: get(r, 1)?,
                        actor: get(r, 2)?,
                        action: get(r, 3)?,
                        subject: get(r, 4)?,
                        detail: get(r, 5)?,
                    },
                })
            })
            .collect()
    }

    // ---- administration: lists, edits, revocation, training (admin.rs) ----
    fn teams(&self, commune_code: Option<&str>) -> StorageResult<Vec<TeamRow>> {
        self.read(|c| admin::teams(c, commune_code))
    }

    fn edit_team(&self, edit: &TeamEdit, now: i64) -> StorageResult<Team> {
        self.write(|c| admin::edit_team(c, edit, now))
    }

    fn volunteers(&self, team_id: Option<&str>) -> StorageResult<Vec<VolunteerRow>> {
        self.read(|c| admin::volunteers(c, team_id))
    }

    fn volunteers_by_phone(&self, phone: &str) -> StorageResult<Vec<Volunteer>> {
        admin::volunteers_by_phone(&mut *self.conn()?, phone)
    }

    fn add_volunteer_once(
        &self,
        volunteer: &Volunteer,
        now: i64,
    ) -> StorageResult<Option<Volunteer>> {
        self.write(|c| admin::add_volunteer_once(c, volunteer, now))
    }

    fn accounts(&self) -> StorageResult<Vec<AccountRow>> {
        admin::accounts(&mut *self.conn()?)
    }

    fn revoke_account(&self, account_id: &str, now: i64) -> StorageResult<bool> {
        self.write(|c| admin::revoke_account(c, account_id, now))
    }

    fn device_seen(&self, device_id: &str, seen: &DeviceSeen) -> StorageResult<()> {
        self.write(|c| admin::device_seen(c, device_id, seen))
    }

    fn add_training(&self, training: &NewTraining, now: i64) -> StorageResult<Training> {
        self.write(|c| admin::add_training(c, training, now))
    }

    fn training(&self, id: i64) -> StorageResult<Option<Training>> {
        admin::training(&mut *self.conn()?, id)
    }

    fn attend_training(&self, id: i64, volunteer_ids: &[String], now: i64) -> StorageResult<u64> {
        self.write(|c| admin::attend_training(c, id, volunteer_ids, now))
    }

    fn trainings(
        &self,
        commune_code: Option<&str>,
        since: Option<&str>,
    ) -> StorageResult<Vec<TrainingRow>> {
        self.read(|c| admin::trainings(c, commune_code, since))
    }

    fn enroll(
        &self,
        code_hash: &str,
        request: &EnrollAttempt,
        token_hash: &str,
        now: i64,
    ) -> StorageResult<EnrollOutcome> {
        self.write(|c| {
            // Locked: two replicas given the same code at once enroll one device.
            let code: Option<CodeRow> = c
                .query_opt(
                    "SELECT volunteer_id, expires_at, used_at, device_id, request_id
                     FROM enroll_codes WHERE code_hash = $1 FOR UPDATE",
                    &[&code_hash],
                )?
                .map(|r| {
                    Ok::<_, StorageError>((
                        get(&r, 0)?,
                        get(&r, 1)?,
                        get(&r, 2)?,
                        get(&r, 3)?,
                        get(&r, 4)?,
                    ))
                })
                .transpose()?;
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
            let volunteer = volunteer_row(c, &volunteer_id)?.ok_or_else(|| {
                StorageError::Incompatible(format!(
                    "enrollment code of unknown volunteer {volunteer_id}"
                ))
            })?;
            let team = team_row(c, &volunteer.team_id)?.ok_or_else(|| {
                StorageError::Incompatible(format!(
                    "volunteer of unknown team {}",
                    volunteer.team_id
                ))
            })?;
            let device_id = match retry_of {
                Some(device_id) => {
                    // Only a device that was never used nor revoked is handed out again.
                    let changed = c.execute(
                        "UPDATE devices SET token_hash = $2
                         WHERE id = $1 AND revoked_at IS NULL
                           AND NOT EXISTS (SELECT 1 FROM changes WHERE device_id = $1)",
                        &[&device_id, &token_hash],
                    )?;
                    if changed == 0 {
                        return Ok(EnrollOutcome::Refused(CodeRefusal::Used));
                    }
                    device_id
                }
                None => {
                    c.execute(
                        "UPDATE enroll_codes SET used_at = $2, device_id = $3, request_id = $4
                         WHERE code_hash = $1",
                        &[&code_hash, &now, &request.device_id, &request.request_id],
                    )?;
                    c.execute(
                        "INSERT INTO devices (id, name, volunteer_id, token_hash, enrolled_at) VALUES ($1, $2, $3, $4, $5)",
                        &[
                            &request.device_id,
                            &request.device_name,
                            &volunteer.id,
                            &token_hash,
                            &now,
                        ],
                    )?;
                    request.device_id.clone()
                }
            };
            insert_audit(
                c,
                &AuditEntry {
                    at: now,
                    actor: format!("device:{device_id}"),
                    action: "device_enrolled".into(),
                    subject: format!("volunteer:{}", volunteer.id),
                    detail: format!(
                        "device_name={:?} team={}{}",
                        request.device_name,
                        team.id,
                        if request.device_id == device_id {
                            ""
                        } else {
                            " retry=true"
                        }
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
        self.read(|c| {
            if let Some(r) = c.query_opt(
                "SELECT d.id, d.volunteer_id, v.team_id, d.revoked_at, d.wipe_requested
                 FROM devices d
                 JOIN volunteers v ON v.id = d.volunteer_id WHERE d.token_hash = $1",
                &[&token_hash],
            )? {
                let device_id: String = get(&r, 0)?;
                let volunteer_id: String = get(&r, 1)?;
                let team_id: String = get(&r, 2)?;
                let revoked_at: Option<i64> = get(&r, 3)?;
                let wipe: bool = get(&r, 4)?;
                let villages = c
                    .query(
                        "SELECT village_id FROM team_villages WHERE team_id = $1",
                        &[&team_id],
                    )?
                    .iter()
                    .map(|r| get(r, 0))
                    .collect::<StorageResult<Vec<String>>>()?;
                return Ok(Some(Principal::Device {
                    device_id,
                    volunteer_id,
                    villages,
                    revoked: revoked_at.is_some(),
                    wipe: revoked_at.is_some() && wipe,
                }));
            }
            let Some(r) = c.query_opt(
                "SELECT id, role, name, province_code, revoked_at, commune_code FROM accounts
                 WHERE token_hash = $1",
                &[&token_hash],
            )?
            else {
                return Ok(None);
            };
            let account_id: String = get(&r, 0)?;
            let role: String = get(&r, 1)?;
            let role = Role::parse(&role).ok_or_else(|| {
                StorageError::Incompatible(format!("account {account_id} has role {role:?}"))
            })?;
            let revoked_at: Option<i64> = get(&r, 4)?;
            Ok(Some(Principal::Account {
                account_id,
                role,
                name: get(&r, 2)?,
                province_code: get(&r, 3)?,
                commune_code: get(&r, 5)?,
                revoked: revoked_at.is_some(),
            }))
        })
    }

    fn commune_villages(&self, commune_code: &str) -> StorageResult<Vec<String>> {
        self.conn()?
            .query(
                "SELECT id FROM villages WHERE commune_code = $1 ORDER BY id COLLATE \"C\"",
                &[&commune_code],
            )?
            .iter()
            .map(|r| get(r, 0))
            .collect()
    }

    fn province_villages(&self, province_code: &str) -> StorageResult<Vec<String>> {
        self.conn()?
            .query(
                "SELECT v.id FROM villages v JOIN areas a
                   ON a.list = $1 AND a.level = 'commune' AND a.code = v.commune_code
                 WHERE a.parent_code = $2",
                &[&LIST_2025, &province_code],
            )?
            .iter()
            .map(|r| get(r, 0))
            .collect()
    }

    fn document(&self, doc_id: &str) -> StorageResult<Option<DocHead>> {
        self.conn()?
            .query_opt(
                "SELECT village_id, version FROM documents WHERE id = $1",
                &[&doc_id],
            )?
            .map(|r| {
                Ok(DocHead {
                    village_id: get(&r, 0)?,
                    version: u64_of(get(&r, 1)?),
                })
            })
            .transpose()
    }

    fn document_history(&self, doc_id: &str) -> StorageResult<DocHistory> {
        self.read(|c| {
            let snap: Option<(Option<Vec<u8>>, i64)> = c
                .query_opt(
                    "SELECT bytes, covered_seq FROM snapshots WHERE doc_id = $1",
                    &[&doc_id],
                )?
                .map(|r| Ok::<_, StorageError>((get(&r, 0)?, get(&r, 1)?)))
                .transpose()?;
            let (snapshot, covered) = snap.unwrap_or((None, 0));
            let changes = c
                .query(
                    "SELECT bytes FROM changes WHERE doc_id = $1 AND seq > $2 ORDER BY seq",
                    &[&doc_id, &covered],
                )?
                .iter()
                .map(|r| get(r, 0))
                .collect::<StorageResult<Vec<Vec<u8>>>>()?;
            Ok(DocHistory { snapshot, changes })
        })
    }

    fn document_log(&self, doc_id: &str) -> StorageResult<Vec<(u64, Vec<u8>)>> {
        self.conn()?
            .query(
                "SELECT seq, bytes FROM changes WHERE doc_id = $1 ORDER BY seq",
                &[&doc_id],
            )?
            .iter()
            .map(|r| Ok((u64_of(get(r, 0)?), get(r, 1)?)))
            .collect()
    }

    fn locate_changes(
        &self,
        hashes: &[[u8; 32]],
    ) -> StorageResult<Vec<([u8; 32], ChangeLocation)>> {
        let wanted: Vec<&[u8]> = hashes.iter().map(|h| &h[..]).collect();
        self.read(|c| {
            let mut found: std::collections::HashMap<Vec<u8>, ChangeLocation> = c
                .query(
                    "SELECT hash, doc_id FROM changes WHERE hash = ANY($1)",
                    &[&wanted],
                )?
                .iter()
                .map(|r| Ok((get(r, 0)?, ChangeLocation::Stored { doc_id: get(r, 1)? })))
                .collect::<StorageResult<_>>()?;
            for r in c.query(
                "SELECT hash FROM quarantine WHERE hash = ANY($1)",
                &[&wanted],
            )? {
                found
                    .entry(get(&r, 0)?)
                    .or_insert(ChangeLocation::Quarantined);
            }
            Ok(hashes
                .iter()
                .filter_map(|h| found.get(&h[..]).map(|l| (*h, l.clone())))
                .collect())
        })
    }

    fn quarantine(&self, limit: u32) -> StorageResult<Vec<QuarantineRow>> {
        self.conn()?
            .query(
                "SELECT id, doc_id, hash, device_id, reason, received_at, octet_length(bytes)::BIGINT
                 FROM quarantine ORDER BY id DESC LIMIT $1",
                &[&i64::from(limit)],
            )?
            .iter()
            .map(|r| {
                let hash: Vec<u8> = get(r, 2)?;
                Ok(QuarantineRow {
                    id: get(r, 0)?,
                    doc_id: get(r, 1)?,
                    hash: hash.iter().map(|b| format!("{b:02x}")).collect(),
                    device_id: get(r, 3)?,
                    reason: get(r, 4)?,
                    received_at: get(r, 5)?,
                    size: u64_of(get(r, 6)?),
                })
            })
            .collect()
    }

    fn push(
        &self,
        device_id: &str,
        writes: Vec<DocWrite>,
        now: i64,
    ) -> StorageResult<Vec<DocOutcome>> {
        let job = PushJob {
            device_id: device_id.to_string(),
            writes,
            now,
        };
        let done = self.pushes.submit(job, |jobs| {
            let count = jobs.len();
            let written = self.conn().and_then(|mut c| push_batch(&mut c, jobs));
            match written {
                Ok(results) => results,
                Err(e) => (0..count).map(|_| Err(e.clone())).collect(),
            }
        });
        done.unwrap_or_else(|| Err(StorageError::Backend("push lost from its batch".into())))
    }

    fn pull(
        &self,
        villages: &[String],
        cursor: u64,
        limit: u32,
        max_bytes: usize,
    ) -> StorageResult<PullPage> {
        self.read(|c| {
            // As in the SQLite backend: the page's last position is found
            // village by village in the feed's index, so the query below
            // reads at most a page of rows.
            let page_rows = i64::from(limit) + 1;
            let mut positions: Vec<i64> = Vec::new();
            let mut beyond = false;
            for v in villages {
                let rows = c.query(
                    "SELECT position FROM feed WHERE village_id = $1 AND position > $2
                     ORDER BY position LIMIT $3",
                    &[v, &i64_of(cursor), &page_rows],
                )?;
                beyond |= rows.len() as i64 == page_rows;
                for r in rows {
                    positions.push(get(&r, 0)?);
                }
            }
            positions.sort_unstable();
            beyond |= positions.len() as i64 > page_rows;
            let Some(&upto) = positions.get(limit as usize).or(positions.last()) else {
                return Ok(PullPage {
                    changes: Vec::new(),
                    more: false,
                });
            };
            let rows = c.query(
                "SELECT f.position, c.seq, c.doc_id, f.village_id, c.device_id, c.bytes
                 FROM feed f JOIN changes c ON c.seq = f.change_seq
                 WHERE f.position > $1 AND f.position <= $4 AND f.village_id = ANY($2)
                 ORDER BY f.position LIMIT $3",
                &[&i64_of(cursor), &villages, &page_rows, &upto],
            )?;
            let mut p = page(rows, limit, max_bytes)?;
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
        self.read(|c| {
            let watermark = materialized(c)?;
            // As in the SQLite backend: the cursor is the last position
            // before the first one that feeds a change above the watermark.
            let r = c.query_one(
                "SELECT (SELECT MIN(position) FROM feed WHERE change_seq > $1),
                        (SELECT MAX(position) FROM feed)",
                &[&i64_of(watermark)],
            )?;
            let (first_above, last): (Option<i64>, Option<i64>) = (get(&r, 0)?, get(&r, 1)?);
            let cursor = match (first_above, last) {
                (Some(p), _) => u64_of(p - 1),
                (None, Some(p)) => u64_of(p),
                (None, None) => 0,
            };
            on_cursor(cursor)?;
            // Rows arrive as the database sends them (the connection cannot
            // run another query meanwhile: the pending changes come in the
            // same row).
            c.for_each(
                "SELECT s.doc_id, s.village_id, s.bytes, s.covered_seq,
                    ARRAY(SELECT p.seq FROM snapshot_pending p
                          WHERE p.doc_id = s.doc_id ORDER BY p.seq),
                    ARRAY(SELECT ch.bytes FROM snapshot_pending p JOIN changes ch ON ch.seq = p.seq
                          WHERE p.doc_id = s.doc_id ORDER BY p.seq)
                 FROM snapshots s
                 WHERE s.village_id = ANY($1) ORDER BY s.doc_id COLLATE \"C\"",
                &[&villages],
                |r| {
                    let mut d = snapshot_of(r)?;
                    let seqs: Vec<i64> = get(r, 4)?;
                    let bytes: Vec<Vec<u8>> = get(r, 5)?;
                    d.pending = seqs.into_iter().map(u64_of).zip(bytes).collect();
                    on_doc(d)
                },
            )
        })
    }

    fn change_count(&self) -> StorageResult<u64> {
        let r = self
            .conn()?
            .query_one("SELECT count(*) FROM changes", &[])?;
        Ok(u64_of(get(&r, 0)?))
    }

    fn highest_seq(&self) -> StorageResult<u64> {
        let r = self
            .conn()?
            .query_one("SELECT COALESCE(MAX(seq), 0) FROM changes", &[])?;
        Ok(u64_of(get(&r, 0)?))
    }

    fn materialized_seq(&self) -> StorageResult<u64> {
        materialized(&mut *self.conn()?)
    }

    fn changes_after(&self, after: u64, limit: u32, max_bytes: usize) -> StorageResult<PullPage> {
        self.read(|c| {
            let rows = c.query(
                "SELECT seq, seq, doc_id, village_id, device_id, bytes FROM changes
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&i64_of(after), &(i64::from(limit) + 1)],
            )?;
            page(rows, limit, max_bytes)
        })
    }

    fn snapshot(&self, doc_id: &str) -> StorageResult<Option<Snapshot>> {
        self.read(|c| {
            let Some(r) = c.query_opt(
                "SELECT doc_id, village_id, bytes, covered_seq FROM snapshots WHERE doc_id = $1",
                &[&doc_id],
            )?
            else {
                return Ok(None);
            };
            let mut s = snapshot_of(&r)?;
            s.pending = load_pending(c, doc_id)?;
            Ok(Some(s))
        })
    }

    fn snapshots(&self, doc_ids: &[String]) -> StorageResult<Vec<Snapshot>> {
        if doc_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|c| {
            let answers = c.pipeline(&[
                Op::Query(
                    "SELECT doc_id, village_id, bytes, covered_seq FROM snapshots
                     WHERE doc_id = ANY($1)",
                    &[&doc_ids],
                ),
                Op::Query(
                    "SELECT p.doc_id, p.seq, c.bytes FROM snapshot_pending p
                     JOIN changes c ON c.seq = p.seq
                     WHERE p.doc_id = ANY($1) ORDER BY p.doc_id, p.seq",
                    &[&doc_ids],
                ),
            ])?;
            let [found, pending] = &answers[..] else {
                return Ok(Vec::new());
            };
            let mut waiting: HashMap<String, Vec<(u64, Vec<u8>)>> = HashMap::new();
            for r in pending {
                waiting
                    .entry(get(r, 0)?)
                    .or_default()
                    .push((u64_of(get(r, 1)?), get(r, 2)?));
            }
            found
                .iter()
                .map(|r| {
                    let mut s = snapshot_of(r)?;
                    s.pending = waiting.remove(&s.doc_id).unwrap_or_default();
                    Ok(s)
                })
                .collect()
        })
    }

    fn save_snapshots(&self, snapshots: &[Snapshot], watermark: Option<u64>) -> StorageResult<()> {
        let now = crate::now();
        // One statement per table for the whole group: a round trip per
        // snapshot was most of the materializer's time on PostgreSQL. A
        // document saved twice in a group keeps its last snapshot (one
        // upsert cannot touch a row twice).
        let mut last: HashMap<&str, &Snapshot> = HashMap::with_capacity(snapshots.len());
        for s in snapshots {
            last.insert(s.doc_id.as_str(), s);
        }
        let group: Vec<&Snapshot> = snapshots
            .iter()
            .filter(|s| {
                last.get(s.doc_id.as_str())
                    .is_some_and(|l| std::ptr::eq(*l, *s))
            })
            .collect();
        let ids: Vec<&str> = group.iter().map(|s| s.doc_id.as_str()).collect();
        let villages: Vec<&str> = group.iter().map(|s| s.village_id.as_str()).collect();
        let bytes: Vec<Option<&[u8]>> = group.iter().map(|s| s.bytes.as_deref()).collect();
        let covered: Vec<i64> = group.iter().map(|s| i64_of(s.covered_seq)).collect();
        self.write(|c| {
            let saved: HashSet<String> = if group.is_empty() {
                HashSet::new()
            } else {
                // The village comes from `documents` (a move updates both);
                // the snapshot's own is used for a document the log does not
                // know. Never backwards: a replica that lost the
                // materializer's lease mid-step (its lock connection cut) may
                // still save what it made; the newer snapshot stays.
                c.query(
                    "INSERT INTO snapshots (doc_id, village_id, bytes, covered_seq, updated_at)
                     SELECT t.id, COALESCE(d.village_id, t.village), t.bytes, t.covered, $5
                     FROM unnest($1::TEXT[], $2::TEXT[], $3::BYTEA[], $4::BIGINT[])
                          AS t(id, village, bytes, covered)
                     LEFT JOIN documents d ON d.id = t.id
                     ON CONFLICT (doc_id) DO UPDATE SET bytes = excluded.bytes,
                        covered_seq = excluded.covered_seq, updated_at = excluded.updated_at
                     WHERE snapshots.covered_seq <= excluded.covered_seq
                     RETURNING doc_id",
                    &[&ids, &villages, &bytes, &covered, &now],
                )?
                .iter()
                .map(|r| get(r, 0))
                .collect::<StorageResult<_>>()?
            };
            let saved_ids: Vec<&str> = ids
                .iter()
                .copied()
                .filter(|id| saved.contains(*id))
                .collect();
            let (mut pending_ids, mut pending_seqs) = (Vec::new(), Vec::new());
            let (mut due_ids, mut due_seqs) = (Vec::new(), Vec::new());
            for s in group.iter().filter(|s| saved.contains(&s.doc_id)) {
                for (seq, _) in &s.pending {
                    pending_ids.push(s.doc_id.as_str());
                    pending_seqs.push(i64_of(*seq));
                }
                due_ids.push(s.doc_id.as_str());
                due_seqs.push(i64_of(s.covered_seq));
            }
            let mut d = Deferred::default();
            if !saved_ids.is_empty() {
                d.push(
                    "DELETE FROM snapshot_pending WHERE doc_id = ANY($1)",
                    owned![saved_ids],
                );
                if !pending_ids.is_empty() {
                    d.push(
                        "INSERT INTO snapshot_pending (doc_id, seq)
                         SELECT * FROM unnest($1::TEXT[], $2::BIGINT[])
                         ON CONFLICT DO NOTHING",
                        owned![pending_ids, pending_seqs],
                    );
                }
                // The report rows follow, read once the materializer has
                // caught up (crate::report).
                d.push(
                    "INSERT INTO report_due (doc_id, covered_seq)
                     SELECT * FROM unnest($1::TEXT[], $2::BIGINT[])
                     ON CONFLICT (doc_id) DO UPDATE SET covered_seq = excluded.covered_seq",
                    owned![due_ids, due_seqs],
                );
            }
            if let Some(w) = watermark {
                d.push(
                    "UPDATE meta SET value = GREATEST(value::BIGINT, $1::BIGINT)::TEXT
                     WHERE key = 'materialized_seq'",
                    owned![i64_of(w)],
                );
            }
            c.run_deferred(d)
        })
    }

    fn rebuild_report(&self) -> StorageResult<u64> {
        self.write(report::rebuild)
    }

    fn report_due(&self, limit: u32) -> StorageResult<Vec<Snapshot>> {
        self.read(|c| report::due(c, limit))
    }

    fn received_at(
        &self,
        hashes: &[[u8; 32]],
    ) -> StorageResult<std::collections::HashMap<[u8; 32], i64>> {
        self.read(|c| report::received_at(c, hashes))
    }

    fn report_start_day(&self) -> StorageResult<u8> {
        self.read(report::start_day)
    }

    fn set_report_start_day(&self, day: u8) -> StorageResult<u64> {
        self.write(|c| report::set_start_day(c, day))
    }

    fn each_report_sum(
        &self,
        scope: &AreaScope,
        level: gocua_report::Level,
        f: &mut dyn FnMut(gocua_report::Contribution),
    ) -> StorageResult<()> {
        self.read(|c| report::sums(c, scope, level, f))
    }

    fn report_reviews(
        &self,
        scope: &AreaScope,
        limit: u32,
    ) -> StorageResult<Vec<gocua_report::Review>> {
        self.read(|c| report::reviews(c, scope, limit))
    }

    fn scope_province(&self, scope: &AreaScope) -> StorageResult<Option<String>> {
        self.read(|c| report::scope_province(c, scope))
    }

    fn report_roster(&self, scope: &AreaScope) -> StorageResult<gocua_report::Roster> {
        self.read(|c| report::roster(c, scope))
    }

    fn pseudonym_key(&self) -> StorageResult<Vec<u8>> {
        let fresh = crate::secrets::hex(&crate::secrets::random_bytes::<32>());
        self.write(|c| {
            // Two replicas asking at once agree on the first one written.
            c.execute(
                "INSERT INTO meta (key, value) VALUES ('pseudonym_key', $1)
                 ON CONFLICT (key) DO NOTHING",
                &[&fresh],
            )?;
            let hex: String = get(
                &c.query_one("SELECT value FROM meta WHERE key = 'pseudonym_key'", &[])?,
                0,
            )?;
            crate::secrets::from_hex(&hex).ok_or_else(|| {
                StorageError::Incompatible("the stored pseudonym key is not hexadecimal".into())
            })
        })
    }

    fn rotate_pseudonym_key(&self) -> StorageResult<()> {
        let key = crate::secrets::hex(&crate::secrets::random_bytes::<32>());
        self.write(|c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES ('pseudonym_key', $1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key],
            )?;
            insert_audit(
                c,
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
        let items: Vec<report::RowsFor<'_>> = records
            .iter()
            .map(|(r, seq)| report::RowsFor {
                doc_id: &r.household.id,
                record: Some(r),
                covered_seq: *seq,
            })
            .collect();
        self.with_report_keys(|c, known, fresh| report::write_many(c, &items, known, fresh))
    }

    fn area_scope(&self, code: &str) -> StorageResult<Option<AreaScope>> {
        self.read(|c| report::area_scope(c, code))
    }

    fn extract(
        &self,
        scope: &AreaScope,
        since: u64,
        sink: &mut dyn ExtractSink,
    ) -> StorageResult<u64> {
        self.read(|c| report::extract(c, scope, since, sink))
    }

    fn save_report(
        &self,
        records: &[(Snapshot, Option<ReportRecord>)],
        merges: &MergeUpdate,
    ) -> StorageResult<()> {
        self.with_report_keys(|c, known, fresh| report::save(c, records, merges, known, fresh))
    }

    fn merge_nodes(&self, ids: &[String]) -> StorageResult<Vec<MergeNode>> {
        self.read(|c| report::merge_nodes(c, ids))
    }

    fn marked_into(&self, ids: &[String]) -> StorageResult<Vec<(String, String)>> {
        self.read(|c| report::marked_into(c, ids))
    }

    fn mark_restored(&self, gap: u64, audit: &AuditEntry) -> StorageResult<(u64, u64)> {
        self.write(|c| {
            c.batch(&backup::mark_restored_statements(gap))?;
            insert_audit(c, audit)?;
            let bounds = backup::feed_bounds(c)?;
            bounds.restored.last().copied().ok_or_else(|| {
                StorageError::Backend("the restored stretch was not recorded".into())
            })
        })
    }

    fn feed_bounds(&self) -> StorageResult<FeedBounds> {
        backup::feed_bounds(&mut *self.conn()?)
    }

    fn check_read(
        &self,
        doc: &mut dyn FnMut(CheckedDoc) -> StorageResult<()>,
    ) -> StorageResult<LogTotals> {
        self.read(|c| backup::check_read(c, doc))
    }

    // ---- the web console ----
    fn set_console_login(
        &self,
        account_id: &str,
        login: &str,
        password_hash: &str,
        now: i64,
    ) -> StorageResult<()> {
        self.write(|c| console::set_login(c, account_id, login, password_hash, now))
    }

    fn console_login(&self, login: &str) -> StorageResult<Option<crate::storage::ConsoleLogin>> {
        console::login(&mut *self.conn()?, login)
    }

    fn console_login_of(&self, account_id: &str) -> StorageResult<Option<String>> {
        console::login_of(&mut *self.conn()?, account_id)
    }

    fn add_console_session(
        &self,
        token_hash: &str,
        account_id: &str,
        csrf_token: &str,
        now: i64,
        expires_at: i64,
    ) -> StorageResult<()> {
        self.write(|c| console::add_session(c, token_hash, account_id, csrf_token, now, expires_at))
    }

    fn console_session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StorageResult<Option<crate::storage::ConsoleSession>> {
        console::session(&mut *self.conn()?, token_hash, now)
    }

    fn end_console_session(&self, token_hash: &str) -> StorageResult<bool> {
        self.write(|c| console::end_session(c, token_hash))
    }

    fn rename_village(&self, village_id: &str, name: &str) -> StorageResult<Village> {
        self.write(|c| console::rename_village(c, village_id, name))
    }

    fn update_volunteer(&self, volunteer: &Volunteer) -> StorageResult<()> {
        self.write(|c| console::update_volunteer(c, volunteer))
    }

    fn search_audit(&self, query: &crate::storage::AuditQuery) -> StorageResult<Vec<AuditRow>> {
        console::search_audit(&mut *self.conn()?, query)
    }

    fn conflicted_households(
        &self,
        scope: &AreaScope,
        offset: u32,
        limit: u32,
    ) -> StorageResult<Vec<crate::storage::ConflictedHousehold>> {
        console::conflicted(&mut *self.conn()?, scope, offset, limit)
    }
}
