//! The SQLite schema, as an ordered list of migrations
//! (`sync-server/migrations/sqlite`); `PRAGMA user_version` counts the ones
//! applied. The PostgreSQL backend keeps its own tree
//! (`migrations/postgres`): keep the column types in step (ids TEXT, times
//! unix seconds, seq 64-bit).

use rusqlite::{Connection, Transaction, params};

use crate::push::{Replayed, derived_id_of, replay_history};
use crate::storage::{StorageError, StorageResult};

use super::db_err;

/// The schema, one plain SQL file per version under `migrations/sqlite`
/// (their comments say what each is for); `after` does what SQL cannot.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_the_first_layout.sql"),
    include_str!("../../migrations/sqlite/0002_an_enrollment_retried_after_its.sql"),
    include_str!("../../migrations/sqlite/0003_integrity_of_the_log_every.sql"),
    include_str!("../../migrations/sqlite/0004_the_pull_feed_a_change.sql"),
    include_str!("../../migrations/sqlite/0005_protocol_2_names_every_household.sql"),
    include_str!("../../migrations/sqlite/0006_the_report_projection_crate_report.sql"),
    include_str!("../../migrations/sqlite/0007_commune_officers_read_their_commune.sql"),
    include_str!("../../migrations/sqlite/0008_contributions_summed_as_they_are.sql"),
    include_str!("../../migrations/sqlite/0009_where_households_were_before_they.sql"),
    include_str!("../../migrations/sqlite/0010_extracts_read_households_in_this.sql"),
    include_str!("../../migrations/sqlite/0011_merged_households_docs_data_model.sql"),
    include_str!("../../migrations/sqlite/0012_lost_phones_docs_operations_md.sql"),
    include_str!("../../migrations/sqlite/0013_bootstrap_reads_a_village_in_index_order.sql"),
    include_str!("../../migrations/sqlite/0014_what_an_operator_reaches_for.sql"),
    include_str!("../../migrations/sqlite/0015_the_web_console_signs_accounts_in.sql"),
    include_str!("../../migrations/sqlite/0016_the_audit_log_by_area.sql"),
    include_str!("../../migrations/sqlite/0017_devices_report_their_pending_changes.sql"),
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

/// Refuses a schema other than this server's (another version's server
/// migrated the file since this one opened it).
pub fn check(found: i64) -> StorageResult<()> {
    let known = MIGRATIONS.len() as i64;
    if found != known {
        return Err(StorageError::Incompatible(format!(
            "this database is at schema {found}, this server serves schema {known}"
        )));
    }
    Ok(())
}

/// The schema version this server writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

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

    /// Audit rows written before the log was kept by area get theirs from
    /// what they name: a team, a device (as subject or actor), an area.
    #[test]
    fn earlier_audit_rows_are_given_their_area() {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &MIGRATIONS[..15] {
            tx.execute_batch(sql).unwrap();
        }
        tx.execute_batch(
            "INSERT INTO areas (list, level, code, name, parent_code) VALUES
                 ('2025', 'province', '01', 'Hà Nội', NULL),
                 ('2025', 'commune', '00004', 'Ba Đình', '01');
             INSERT INTO teams (id, name, commune_code, created_at) VALUES ('t1', 'Tổ', '00004', 0);
             INSERT INTO volunteers (id, name, team_id, created_at) VALUES ('v1', 'Lan', 't1', 0);
             INSERT INTO devices (id, name, volunteer_id, token_hash, enrolled_at)
                 VALUES ('d1', 'máy', 'v1', 'h', 0);
             INSERT INTO audit (at, actor, action, subject, detail) VALUES
                 (0, 'admin', 'team_edited', 'team:t1', ''),
                 (0, 'device:d1', 'pull', 'cursor=0', ''),
                 (0, 'account:x', 'report', 'area=01', ''),
                 (0, 'admin', 'pseudonym_key_rotated', '', '');",
        )
        .unwrap();
        tx.execute_batch(MIGRATIONS[15]).unwrap();
        let mut st = tx
            .prepare("SELECT commune_code, province_code FROM audit ORDER BY id")
            .unwrap();
        let got: Vec<(Option<String>, Option<String>)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let area = |c: Option<&str>, p: Option<&str>| (c.map(String::from), p.map(String::from));
        assert_eq!(
            got,
            [
                area(Some("00004"), Some("01")),
                area(Some("00004"), Some("01")),
                area(None, Some("01")),
                area(None, None),
            ]
        );
    }

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
