//! The PostgreSQL schema: plain `.sql` files in `sync-server/migrations/postgres`,
//! applied in order, each in its own transaction, and recorded in
//! `schema_migrations`. Replicas started together take an advisory lock
//! first, so one applies them and the others find them applied.

use super::conn::{PgConn, get};
use crate::storage::{StorageError, StorageResult};

/// (version, name, SQL), in order.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "schema",
        include_str!("../../migrations/postgres/0001_schema.sql"),
    ),
    (
        2,
        "what_an_operator_reaches_for",
        include_str!("../../migrations/postgres/0002_what_an_operator_reaches_for.sql"),
    ),
    (
        3,
        "the_web_console_signs_accounts_in",
        include_str!("../../migrations/postgres/0003_the_web_console_signs_accounts_in.sql"),
    ),
    (
        4,
        "the_audit_log_by_area",
        include_str!("../../migrations/postgres/0004_the_audit_log_by_area.sql"),
    ),
    (
        5,
        "devices_report_their_pending_changes",
        include_str!("../../migrations/postgres/0005_devices_report_their_pending_changes.sql"),
    ),
];

/// The session advisory lock migrations are applied under.
const MIGRATION_LOCK: i64 = 0x676f_6375_6101;

/// What a migration run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Migrated {
    pub from: i64,
    pub to: i64,
}

fn known() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// The highest migration applied; 0 for an empty database.
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

fn newer(found: i64) -> StorageError {
    StorageError::Incompatible(format!(
        "this database was migrated by a newer gocua-server (schema {found}, this one knows {}): update the server",
        known()
    ))
}

/// Applies the migrations the database lacks.
pub(crate) fn migrate(c: &mut PgConn) -> StorageResult<Migrated> {
    c.query_one("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let result = migrate_locked(c);
    // Released even when a migration failed; a broken connection releases
    // it by closing.
    let _ = c.query_one("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    result
}

fn migrate_locked(c: &mut PgConn) -> StorageResult<Migrated> {
    c.batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )",
    )?;
    let from = applied(c)?;
    if from > known() {
        return Err(newer(from));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > from) {
        c.transaction(false, |c| {
            c.batch(sql)?;
            c.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                &[version, name, &crate::now()],
            )?;
            Ok(())
        })?;
        tracing::info!(version, name, "database schema migrated");
    }
    Ok(Migrated { from, to: known() })
}

/// Refuses a database this server cannot serve: not migrated yet, or
/// migrated by a newer server.
pub(crate) fn check(c: &mut PgConn) -> StorageResult<()> {
    let found = applied(c)?;
    if found > known() {
        return Err(newer(found));
    }
    if found < known() {
        return Err(StorageError::Incompatible(format!(
            "this database is at schema {found}, this server needs {}: run `gocua-server migrate` first",
            known()
        )));
    }
    Ok(())
}

/// The schema version this server knows.
pub fn latest() -> i64 {
    known()
}
