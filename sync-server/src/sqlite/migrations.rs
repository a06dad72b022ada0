//! The SQLite schema, as an ordered list of migrations; `PRAGMA user_version`
//! counts the ones applied. A PostgreSQL backend keeps its own tree: keep the
//! column types in step (ids TEXT, times INTEGER unix seconds, seq 64-bit).

use rusqlite::{Connection, Transaction, params};

use crate::push::{Replayed, derived_id_of, replay_history};
use crate::storage::{StorageError, StorageResult};

use super::db_err;

const MIGRATIONS: &[&str] = &[
    // 1: the first layout.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;

    CREATE TABLE areas (
        list TEXT NOT NULL,          -- 'legacy-2024' or '2025'
        level TEXT NOT NULL,         -- 'province', 'district', 'commune'
        code TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT,
        parent_code TEXT,
        valid_from TEXT,
        valid_to TEXT,
        PRIMARY KEY (list, level, code)
    ) STRICT;
    CREATE TABLE area_successions (
        legacy_code TEXT NOT NULL,
        code TEXT NOT NULL,
        is_default INTEGER NOT NULL,
        PRIMARY KEY (legacy_code, code)
    ) STRICT;

    CREATE TABLE villages (
        id TEXT PRIMARY KEY,
        commune_code TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX villages_commune ON villages (commune_code);
    CREATE TABLE teams (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        commune_code TEXT NOT NULL,
        created_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE team_villages (
        team_id TEXT NOT NULL REFERENCES teams (id),
        village_id TEXT NOT NULL REFERENCES villages (id),
        PRIMARY KEY (team_id, village_id)
    ) STRICT;
    CREATE TABLE volunteers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        phone TEXT,
        team_id TEXT NOT NULL REFERENCES teams (id),
        created_at INTEGER NOT NULL
    ) STRICT;
    -- One-time enrollment codes: only their SHA-256 is kept.
    CREATE TABLE enroll_codes (
        code_hash TEXT PRIMARY KEY,
        volunteer_id TEXT NOT NULL REFERENCES volunteers (id),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER,
        device_id TEXT
    ) STRICT;
    -- Devices and accounts: only the SHA-256 of their bearer token is kept.
    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        volunteer_id TEXT NOT NULL REFERENCES volunteers (id),
        token_hash TEXT NOT NULL UNIQUE,
        enrolled_at INTEGER NOT NULL,
        revoked_at INTEGER
    ) STRICT;
    CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('officer', 'operator')),
        name TEXT NOT NULL,
        province_code TEXT,
        token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    ) STRICT;
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        detail TEXT NOT NULL
    ) STRICT;

    -- The change log: what devices pushed, in the order it was accepted.
    CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        village_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        village_id TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        hash BLOB NOT NULL UNIQUE,
        device_id TEXT NOT NULL,
        bytes BLOB NOT NULL,
        received_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX changes_village_seq ON changes (village_id, seq);

    -- Documents as the materializer built them (bootstrap).
    CREATE TABLE snapshots (
        doc_id TEXT PRIMARY KEY,
        village_id TEXT NOT NULL,
        bytes BLOB,
        covered_seq INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX snapshots_village ON snapshots (village_id);
    -- Changes the materializer could not apply yet (a dependency is missing).
    CREATE TABLE snapshot_pending (
        doc_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (doc_id, seq)
    ) STRICT;

    INSERT INTO meta (key, value) VALUES ('materialized_seq', '0');
    "#,
    // 2: an enrollment retried after its answer was lost is recognised.
    r#"
    ALTER TABLE enroll_codes ADD COLUMN request_id TEXT;
    "#,
    // 3: integrity of the log. Every stored change was applied once by the
    // server; the ones that could not be are kept aside in `quarantine`,
    // never served. A change number (actor, seq) names one change of a
    // document. A document's version is the seq of its last change.
    r#"
    CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL,
        hash BLOB NOT NULL UNIQUE,
        device_id TEXT NOT NULL,
        bytes BLOB NOT NULL,
        reason TEXT NOT NULL,
        received_at INTEGER NOT NULL
    ) STRICT;
    ALTER TABLE changes ADD COLUMN actor BLOB;
    ALTER TABLE changes ADD COLUMN actor_seq INTEGER;
    ALTER TABLE documents ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX changes_doc ON changes (doc_id, seq);
    "#,
    // 4: the pull feed. A change may be served to several villages (a
    // household that moves: its new village receives its whole history, the
    // village it leaves the change that moved it), so pulls read the feed,
    // one row per (village, change), and a pull cursor counts feed
    // positions. The log's existing changes keep their seq as position, so
    // the cursors devices hold stay valid; later positions continue after
    // the highest seq ever taken (see `after`).
    r#"
    CREATE TABLE feed (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        village_id TEXT NOT NULL,
        change_seq INTEGER NOT NULL REFERENCES changes (seq),
        UNIQUE (village_id, change_seq)
    ) STRICT;
    CREATE INDEX feed_village_position ON feed (village_id, position);
    CREATE INDEX feed_change ON feed (change_seq);
    INSERT INTO feed (position, village_id, change_seq)
        SELECT seq, village_id, seq FROM changes ORDER BY seq;
    -- Pulls no longer read the log by village: one index less per push.
    DROP INDEX changes_village_seq;
    "#,
    // 5: protocol 2 names every household by the id derived from its first
    // change; households stored under a random id are renamed (see `after`).
    "",
    // 6: the report projection (crate::report): every household's rows, as
    // the materializer last folded it, filled from the snapshots (`after`).
    // `updated_seq` is the log seq the household's rows cover: an export
    // cursor. Keys include the household: ids inside a document come from
    // devices and are not trusted to be unique across households.
    r#"
    CREATE TABLE report_households (
        id TEXT PRIMARY KEY,
        village_id TEXT NOT NULL,
        commune_code TEXT NOT NULL,   -- as recorded
        commune_now TEXT NOT NULL,    -- in force now (docs/reports.md, "Areas and levels")
        province_code TEXT NOT NULL,  -- of commune_now; '' when unknown
        address TEXT NOT NULL,
        head_name TEXT NOT NULL,
        phone TEXT,
        member_count INTEGER,
        device_access TEXT,
        target_groups TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        schema_version INTEGER NOT NULL,
        conflicts INTEGER NOT NULL,
        problems INTEGER NOT NULL,
        updated_seq INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX report_households_village ON report_households (village_id);
    CREATE INDEX report_households_area ON report_households (province_code, commune_now);
    CREATE INDEX report_households_updated ON report_households (updated_seq);
    CREATE TABLE report_persons (
        household_id TEXT NOT NULL,
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        birth_year INTEGER,
        gender TEXT,
        id_number TEXT,
        vneid_level TEXT,
        vneid_activated INTEGER,
        bank_account INTEGER,
        public_service_account INTEGER,
        ehealth_book INTEGER,
        digital_signature INTEGER,
        basic_skills_certified INTEGER,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        PRIMARY KEY (household_id, id)
    ) STRICT;
    CREATE TABLE report_visits (
        household_id TEXT NOT NULL,
        id TEXT NOT NULL,
        visited_at TEXT NOT NULL,
        received_at INTEGER,          -- unix seconds; NULL if the change is unknown
        team_id TEXT NOT NULL,
        volunteer_ids TEXT NOT NULL,
        person_ids TEXT NOT NULL,
        duration_minutes INTEGER,
        follow_up_on TEXT,
        feedback TEXT,
        consent_id TEXT,
        recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        PRIMARY KEY (household_id, id)
    ) STRICT;
    CREATE TABLE report_visit_services (
        household_id TEXT NOT NULL,
        visit_id TEXT NOT NULL,
        service_code TEXT NOT NULL,
        outcome TEXT NOT NULL,
        note TEXT,
        PRIMARY KEY (household_id, visit_id, service_code)
    ) STRICT;
    CREATE TABLE report_consents (
        household_id TEXT NOT NULL,
        id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        purpose TEXT NOT NULL,
        method TEXT NOT NULL,
        given_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        withdrawn_at TEXT,
        withdrawn_by TEXT,
        withdrawal_reason TEXT,
        PRIMARY KEY (household_id, id)
    ) STRICT;
    -- Households whose snapshot changed since their rows were written.
    CREATE TABLE report_due (doc_id TEXT PRIMARY KEY, covered_seq INTEGER NOT NULL) STRICT;
    -- Each household's contributions to the indicators (gocua-report): the
    -- key's parts as gocua-report serializes them, summed by any area level.
    CREATE TABLE report_contributions (
        household_id TEXT NOT NULL,
        indicator TEXT NOT NULL,
        basis TEXT NOT NULL,
        breakdown TEXT NOT NULL,
        province TEXT NOT NULL,
        commune TEXT NOT NULL,
        village TEXT NOT NULL,
        count INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX report_contributions_household ON report_contributions (household_id);
    CREATE INDEX report_contributions_area ON report_contributions (province, commune, village);
    CREATE TABLE report_reviews (
        household_id TEXT NOT NULL,
        province TEXT NOT NULL,
        commune TEXT NOT NULL,
        village TEXT NOT NULL,
        review TEXT NOT NULL           -- JSON, gocua_report::Review
    ) STRICT;
    CREATE INDEX report_reviews_household ON report_reviews (household_id);
    CREATE INDEX report_reviews_area ON report_reviews (province, commune, village);
    INSERT OR IGNORE INTO meta (key, value) VALUES ('report_start_day', '1');
    "#,
    // 7: commune officers read their commune only.
    r#"
    ALTER TABLE accounts ADD COLUMN commune_code TEXT;
    "#,
    // 8: contributions summed as they are written. A row per contribution
    // (about forty per household, their keys as JSON text) made a report of a
    // province sum tens of millions of rows; now each area keeps the sum of
    // each key, and each household the counts it added, to take them back out
    // when it changes. Filled again from the snapshots (`after`).
    r#"
    DROP TABLE report_contributions;
    -- The keys' parts as gocua-report serializes them, numbered once.
    CREATE TABLE report_keys (
        id INTEGER PRIMARY KEY,
        indicator TEXT NOT NULL,
        basis TEXT NOT NULL,
        breakdown TEXT NOT NULL,
        UNIQUE (indicator, basis, breakdown)
    ) STRICT;
    -- What each household added to report_sums: JSON, a list of
    -- [[province, commune, village], [[key id, count], ...]].
    CREATE TABLE report_counts (
        household_id TEXT PRIMARY KEY,
        counts TEXT NOT NULL
    ) STRICT;
    CREATE TABLE report_sums (
        province TEXT NOT NULL,
        commune TEXT NOT NULL,
        village TEXT NOT NULL,
        key_id INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (province, commune, village, key_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX report_sums_commune ON report_sums (commune);
    CREATE INDEX report_sums_village ON report_sums (village);
    "#,
    // 9: where households were before they left a village (moved, or no
    // longer read as a household), for incremental extracts.
    r#"
    CREATE TABLE report_removed (
        household_id TEXT NOT NULL,
        province TEXT NOT NULL,
        commune TEXT NOT NULL,
        village TEXT NOT NULL,
        seq INTEGER NOT NULL,          -- the log position of the household's rows then
        PRIMARY KEY (household_id, village)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX report_removed_seq ON report_removed (seq);
    "#,
    // 10: extracts read households in this order, and each household's
    // rows by their primary key: no sort of a province's visits and
    // services (a CSV extract of a million households: 64 s to 41 s).
    r#"
    DROP INDEX report_households_area;
    CREATE INDEX report_households_order
        ON report_households (province_code, commune_now, village_id, id);
    "#,
    // 11: merged households (docs/data-model.md, "Merged households"): each
    // household's merge mark as the report projection last read it, so that
    // a change to one household of a merge group makes the group's rows again.
    r#"
    CREATE TABLE report_merges (
        doc_id TEXT PRIMARY KEY,
        village_id TEXT NOT NULL,
        into_id TEXT,
        in_error INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX report_merges_into ON report_merges (into_id) WHERE into_id IS NOT NULL;
    -- A household made again because another of its group changed: the log
    -- position its rows then cover, at least.
    CREATE TABLE report_bumps (doc_id TEXT PRIMARY KEY, seq INTEGER NOT NULL) STRICT;
    "#,
    // 12: lost phones (docs/operations.md): a revoked device may be told to
    // wipe its data, after it reported the changes it had not sent; those
    // are kept here for the operator, applied to nothing.
    r#"
    ALTER TABLE devices ADD COLUMN wipe_requested INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE unsent_reports (
        id INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL REFERENCES devices(id),
        received_at INTEGER NOT NULL,
        changes INTEGER NOT NULL,
        documents INTEGER NOT NULL,
        -- SHA-256 of the bundle: a report sent again is stored once.
        digest TEXT NOT NULL UNIQUE,
        bundle BLOB NOT NULL
    ) STRICT;
    CREATE INDEX unsent_reports_device ON unsent_reports (device_id);
    "#,
];

/// Work a migration does beyond its SQL, by the version it brings the
/// database to.
fn after(version: usize, tx: &Transaction<'_>) -> StorageResult<()> {
    match version {
        3 => {
            check_log(tx)?;
            tx.execute_batch(
                "CREATE UNIQUE INDEX changes_number ON changes (doc_id, actor, actor_seq);",
            )
            .map_err(db_err)
        }
        4 => {
            // A device may hold a cursor at a seq whose change was deleted
            // since (quarantined by migration 3): new positions must start
            // above every seq ever taken, not only above the rows kept.
            let highest: i64 = tx
                .query_row(
                    "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name IN ('changes', 'feed')",
                    [],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            tx.execute("DELETE FROM sqlite_sequence WHERE name = 'feed'", [])
                .map_err(db_err)?;
            tx.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('feed', ?1)",
                [highest],
            )
            .map_err(db_err)?;
            Ok(())
        }
        5 => rename_legacy_documents(tx),
        _ => Ok(()),
    }
}

/// Renames every household stored under a legacy id to the id derived from
/// its first change, as every upgraded device does with its own copy, so
/// that both sides name it the same way without talking to each other.
fn rename_legacy_documents(tx: &Transaction<'_>) -> StorageResult<()> {
    let docs: Vec<String> = tx
        .prepare("SELECT id FROM documents ORDER BY id")
        .map_err(db_err)?
        .query_map([], |r| r.get(0))
        .map_err(db_err)?
        .collect::<Result<Vec<String>, _>>()
        .map_err(db_err)?
        .into_iter()
        .filter(|id| !gocua_protocol::ids::is_derived(id))
        .collect();
    let mut renamed = 0u64;
    for old in docs {
        let changes: Vec<Vec<u8>> = tx
            .prepare("SELECT bytes FROM changes WHERE doc_id = ?1 ORDER BY seq")
            .map_err(db_err)?
            .query_map([&old], |r| r.get(0))
            .map_err(db_err)?
            .collect::<Result<_, _>>()
            .map_err(db_err)?;
        let Some(new) = derived_id_of(&changes) else {
            tracing::warn!(doc = %old, "household without a first change kept under its old id");
            continue;
        };
        let taken: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM documents WHERE id = ?1)",
                [&new],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if taken {
            // Only a crafted database can have it: the same first change is
            // never stored under two documents.
            tracing::warn!(doc = %old, %new, "household kept under its old id: its derived id is taken");
            continue;
        }
        for sql in [
            "UPDATE documents SET id = ?2 WHERE id = ?1",
            "UPDATE changes SET doc_id = ?2 WHERE doc_id = ?1",
            "UPDATE snapshots SET doc_id = ?2 WHERE doc_id = ?1",
            "UPDATE snapshot_pending SET doc_id = ?2 WHERE doc_id = ?1",
            "UPDATE quarantine SET doc_id = ?2 WHERE doc_id = ?1",
        ] {
            tx.execute(sql, params![old, new]).map_err(db_err)?;
        }
        tracing::info!(old = %old, new = %new, "household renamed to its derived id");
        renamed += 1;
    }
    if renamed > 0 {
        tracing::warn!(
            renamed,
            "households renamed to the ids derived from their first changes (protocol 2)"
        );
    }
    Ok(())
}

/// Replays every document's stored changes as the push path now would:
/// those that do not apply go to `quarantine`; the rest get their change
/// number and the documents their version.
fn check_log(tx: &Transaction<'_>) -> StorageResult<()> {
    let docs: Vec<String> = tx
        .prepare("SELECT id FROM documents ORDER BY id")
        .map_err(db_err)?
        .query_map([], |r| r.get(0))
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    let mut quarantined = 0u64;
    for doc_id in docs {
        type Row = (i64, Vec<u8>, String, Vec<u8>, i64);
        let rows: Vec<Row> = tx
            .prepare(
                "SELECT seq, hash, device_id, bytes, received_at FROM changes WHERE doc_id = ?1 ORDER BY seq",
            )
            .map_err(db_err)?
            .query_map([&doc_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .map_err(db_err)?
            .collect::<Result<_, _>>()
            .map_err(db_err)?;
        let bytes: Vec<Vec<u8>> = rows.iter().map(|r| r.3.clone()).collect();
        let mut version = 0i64;
        for (row, verdict) in rows.iter().zip(replay_history(&bytes)) {
            match verdict {
                Replayed::Applied { actor, seq } => {
                    tx.execute(
                        "UPDATE changes SET actor = ?2, actor_seq = ?3 WHERE seq = ?1",
                        params![row.0, actor, i64::try_from(seq).unwrap_or(i64::MAX)],
                    )
                    .map_err(db_err)?;
                    version = row.0;
                }
                Replayed::Quarantined { reason } => {
                    tracing::warn!(doc = %doc_id, seq = row.0, %reason, "stored change quarantined");
                    tx.execute(
                        "INSERT OR IGNORE INTO quarantine (doc_id, hash, device_id, bytes, reason, received_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![doc_id, row.1, row.2, row.3, reason, row.4],
                    )
                    .map_err(db_err)?;
                    tx.execute("DELETE FROM changes WHERE seq = ?1", [row.0])
                        .map_err(db_err)?;
                    quarantined += 1;
                }
            }
        }
        tx.execute(
            "UPDATE documents SET version = ?2 WHERE id = ?1",
            params![doc_id, version],
        )
        .map_err(db_err)?;
    }
    if quarantined > 0 {
        // The snapshots may hold what is now quarantined: build them again.
        tx.execute_batch(
            "DELETE FROM snapshots; DELETE FROM snapshot_pending;
             UPDATE meta SET value = '0' WHERE key = 'materialized_seq';",
        )
        .map_err(db_err)?;
        tracing::warn!(
            quarantined,
            "changes of the log quarantined while upgrading the database"
        );
    }
    Ok(())
}

/// The last migration that changed what the report projection's tables
/// hold (9 only added an empty one; 11 the merge marks every household's
/// rows now depend on): a database from before it gets its projection
/// rebuilt, which reads every household (minutes for a province).
const REPORT_SCHEMA: i64 = 11;

pub fn migrate(conn: &mut Connection) -> StorageResult<()> {
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db_err)?;
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(StorageError::Incompatible(format!(
            "this database was written by a newer gocua-server (schema {found}, this one knows {known}): update the server"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute_batch(sql).map_err(db_err)?;
        after(i + 1, &tx)?;
        // The report projection is filled with this version's code, so
        // with the last schema, in the last migration's transaction.
        if i + 1 == MIGRATIONS.len() && found < REPORT_SCHEMA {
            super::report::rebuild(&tx)?;
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        tracing::info!(version = i + 1, "database schema migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// A household stored under a random id by protocol 1 (the fixture's
    /// first two changes, written by gocua of that time) is renamed to the id
    /// derived from its first change in every table that names it; a
    /// household already named that way is left alone.
    #[test]
    fn legacy_households_are_renamed_to_their_derived_ids() {
        const OTHER: &str = "07070707-0707-8707-8707-070707070707";
        let fixture = gocua_protocol::bundle::decode(include_bytes!(
            "../../../fixtures/integrity/poison-household.changes"
        ))
        .unwrap();
        let legacy = fixture[0].doc_id.clone();
        assert!(!gocua_protocol::ids::is_derived(&legacy));
        let changes = &fixture[0].changes;
        let first = automerge::Change::from_bytes(changes[0].clone()).unwrap();
        let derived = gocua_protocol::ids::derived_doc_id(&first.hash().0);
        let mut conn = Connection::open_in_memory().unwrap();
        {
            let tx = conn.transaction().unwrap();
            for sql in &MIGRATIONS[..4] {
                tx.execute_batch(sql).unwrap();
            }
            tx.pragma_update(None, "user_version", 4).unwrap();
            for (doc, village) in [(legacy.as_str(), "v1"), (OTHER, "v2")] {
                tx.execute(
                    "INSERT INTO documents (id, village_id, created_at, updated_at, version) VALUES (?1, ?2, 0, 0, 2)",
                    params![doc, village],
                )
                .unwrap();
            }
            for (seq, bytes) in changes[..2].iter().enumerate() {
                let c = automerge::Change::from_bytes(bytes.clone()).unwrap();
                tx.execute(
                    "INSERT INTO changes (seq, village_id, doc_id, hash, device_id, bytes, received_at)
                     VALUES (?1, 'v1', ?2, ?3, 'dev', ?4, 0)",
                    params![seq as i64 + 1, legacy, c.hash().0.to_vec(), bytes],
                )
                .unwrap();
            }
            tx.execute(
                "INSERT INTO snapshots (doc_id, village_id, bytes, covered_seq, updated_at) VALUES (?1, 'v1', NULL, 2, 0)",
                [&legacy],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO quarantine (doc_id, hash, device_id, bytes, reason, received_at) VALUES (?1, x'01', 'dev', ?2, 'crafted', 0)",
                params![legacy, changes[2]],
            )
            .unwrap();
            tx.commit().unwrap();
        }
        migrate(&mut conn).unwrap();
        let ids_in = |sql: &str| -> Vec<String> {
            conn.prepare(sql)
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let mut docs = ids_in("SELECT id FROM documents");
        docs.sort();
        let mut expected = vec![derived.clone(), OTHER.to_string()];
        expected.sort();
        assert_eq!(docs, expected);
        assert_eq!(
            ids_in("SELECT DISTINCT doc_id FROM changes"),
            vec![derived.clone()]
        );
        assert_eq!(
            ids_in("SELECT doc_id FROM snapshots"),
            vec![derived.clone()]
        );
        assert_eq!(
            ids_in("SELECT doc_id FROM quarantine"),
            vec![derived.clone()]
        );
    }

    /// A database at schema 3 whose highest change was deleted (quarantined
    /// when migrating to 3): after 4, the kept changes are at their seq in
    /// the feed and a new position comes after every seq ever taken, so no
    /// cursor a device holds skips it.
    #[test]
    fn the_feed_keeps_the_cursors_devices_hold() {
        let mut conn = Connection::open_in_memory().unwrap();
        {
            let tx = conn.transaction().unwrap();
            for sql in &MIGRATIONS[..3] {
                tx.execute_batch(sql).unwrap();
            }
            tx.pragma_update(None, "user_version", 3).unwrap();
            for (seq, village) in [(1, "v1"), (2, "v2"), (3, "v1"), (4, "v1")] {
                tx.execute(
                    "INSERT INTO changes (seq, village_id, doc_id, hash, device_id, bytes, received_at)
                     VALUES (?1, ?2, 'd', ?3, 'dev', x'00', 0)",
                    params![seq, village, vec![seq as u8; 32]],
                )
                .unwrap();
            }
            tx.execute("DELETE FROM changes WHERE seq = 4", []).unwrap();
            tx.commit().unwrap();
        }
        migrate(&mut conn).unwrap();
        let rows: Vec<(i64, String, i64)> = conn
            .prepare("SELECT position, village_id, change_seq FROM feed ORDER BY position")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (1, "v1".into(), 1),
                (2, "v2".into(), 2),
                (3, "v1".into(), 3)
            ]
        );
        conn.execute(
            "INSERT INTO feed (village_id, change_seq) VALUES ('v2', 3)",
            [],
        )
        .unwrap();
        assert_eq!(conn.last_insert_rowid(), 5);
    }
}
