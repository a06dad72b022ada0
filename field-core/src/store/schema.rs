//! Opening the SQLite file, its migrations and the reference data it is seeded with.
//!
//! The store is opened through [`open_connection`] alone, which unlocks an
//! encrypted store (SQLCipher, `cipher`) before anything else reads it.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, params};

use super::cipher::{self, FileState, StoreKey};
use crate::catalogue;
use crate::error::{Error, Result};

/// Durable tables (documents, changes, outbox, identity, reference data) and the
/// projection tables. The projection is derived from the documents and can be
/// rebuilt at any time; a migration that changes it ends with a rebuild.
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
    CREATE TABLE catalogue (
        kind TEXT NOT NULL,          -- 'service', 'outcome', 'target_group'
        code TEXT NOT NULL,
        name_vi TEXT NOT NULL,
        name_en TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (kind, code)
    ) STRICT;
    CREATE TABLE teams (id TEXT PRIMARY KEY, name TEXT NOT NULL, commune_code TEXT NOT NULL) STRICT;
    CREATE TABLE volunteers (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, phone TEXT, team_id TEXT NOT NULL
    ) STRICT;
    CREATE TABLE villages (
        id TEXT PRIMARY KEY, commune_code TEXT NOT NULL, name TEXT NOT NULL, name_key BLOB NOT NULL
    ) STRICT;

    CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        snapshot BLOB,               -- Automerge save(); NULL until the first compaction
        heads TEXT NOT NULL,         -- sorted change hashes, comma-separated
        changes_since_snapshot INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    ) STRICT;
    CREATE TABLE doc_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        bytes BLOB NOT NULL
    ) STRICT;
    CREATE INDEX doc_changes_doc ON doc_changes (doc_id, seq);
    -- Changes the server has not acknowledged yet (drained by sync).
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        hash TEXT NOT NULL UNIQUE,
        doc_id TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) STRICT;

    CREATE TABLE households (
        id TEXT PRIMARY KEY,
        schema_version INTEGER NOT NULL,
        commune_code TEXT NOT NULL,
        village_id TEXT NOT NULL,
        address TEXT NOT NULL,
        head_name TEXT NOT NULL,
        head_key BLOB NOT NULL,
        phone TEXT,
        member_count INTEGER,
        device_access TEXT,
        target_groups TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        search_text TEXT NOT NULL
    ) STRICT;
    CREATE INDEX households_village ON households (village_id, head_key);
    CREATE INDEX households_head ON households (head_key);
    CREATE TABLE persons (
        id TEXT PRIMARY KEY,
        household_id TEXT NOT NULL,
        name TEXT NOT NULL,
        name_key BLOB NOT NULL,
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
        created_by TEXT NOT NULL
    ) STRICT;
    CREATE INDEX persons_household ON persons (household_id);
    CREATE TABLE visits (
        id TEXT PRIMARY KEY,
        household_id TEXT NOT NULL,
        visited_at TEXT NOT NULL,
        team_id TEXT NOT NULL,
        volunteer_ids TEXT NOT NULL,
        person_ids TEXT NOT NULL,
        duration_minutes INTEGER,
        follow_up_on TEXT,
        feedback TEXT,
        consent_id TEXT,
        recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL
    ) STRICT;
    CREATE INDEX visits_household ON visits (household_id, visited_at);
    CREATE TABLE visit_services (
        visit_id TEXT NOT NULL,
        household_id TEXT NOT NULL,
        service_code TEXT NOT NULL,
        outcome TEXT NOT NULL,
        note TEXT,
        PRIMARY KEY (visit_id, service_code)
    ) STRICT;
    CREATE INDEX visit_services_household ON visit_services (household_id);
    CREATE TABLE consents (
        id TEXT PRIMARY KEY,
        household_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        purpose TEXT NOT NULL,
        method TEXT NOT NULL,
        given_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        withdrawn_at TEXT,
        withdrawn_by TEXT,
        withdrawal_reason TEXT
    ) STRICT;
    CREATE INDEX consents_household ON consents (household_id);
    CREATE TABLE conflicts (
        household_id TEXT NOT NULL,
        path TEXT NOT NULL,
        value_list TEXT NOT NULL,    -- JSON array, the value shown first
        PRIMARY KEY (household_id, path)
    ) STRICT;
    "#,
    // 2: follow-ups due are looked up by date.
    r#"
    CREATE INDEX visits_follow_up ON visits (follow_up_on) WHERE follow_up_on IS NOT NULL;
    "#,
    // 3: the server may refuse a document's changes; they stay, marked.
    r#"
    ALTER TABLE outbox ADD COLUMN refused TEXT;
    "#,
    // 4: received changes that could not be applied are set aside, and changes
    // whose dependencies have not arrived wait outside Automerge.
    r#"
    CREATE TABLE quarantine (
        hash TEXT PRIMARY KEY,
        doc_id TEXT NOT NULL,
        bytes BLOB NOT NULL,
        reason TEXT NOT NULL,
        origin TEXT NOT NULL,        -- 'peer' or 'server'
        received_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX quarantine_doc ON quarantine (doc_id);
    CREATE TABLE waiting_changes (
        hash TEXT PRIMARY KEY,
        doc_id TEXT NOT NULL,
        bytes BLOB NOT NULL,
        origin TEXT NOT NULL,        -- 'peer' or 'server'
        received_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX waiting_changes_doc ON waiting_changes (doc_id);
    "#,
    // 5: values that break the schema or a rule entry enforces, found when a
    // document is read (after a merge, or written by another implementation).
    r#"
    CREATE TABLE problems (
        household_id TEXT NOT NULL,
        path TEXT NOT NULL,          -- the field at fault, or a whole record
        code TEXT NOT NULL,          -- what is wrong (error::Problem's code)
        record TEXT NOT NULL,        -- '' (the household's fields), members/<id>, visits/<id>, consents/<id>
        fields TEXT NOT NULL,        -- JSON array of the document keys the rule involves
        problem TEXT NOT NULL,       -- JSON: the code and its details
        value TEXT NOT NULL,
        PRIMARY KEY (household_id, path, code)
    ) STRICT;
    CREATE INDEX problems_record ON problems (household_id, record);
    "#,
    // 6: protocol 2 names every household by the id derived from its first
    // change; households held under a random id are renamed (`legacy`), their
    // old ids kept here for change files written by an older gocua.
    r#"
    CREATE TABLE legacy_ids (legacy_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL) STRICT;
    "#,
    // 7: corrections (docs/data-model.md): a household marked registered in
    // error, a member removed, a visit cancelled stay in their document and
    // leave the lists and counts.
    r#"
    ALTER TABLE households ADD COLUMN in_error_at TEXT;
    ALTER TABLE persons ADD COLUMN removed_at TEXT;
    ALTER TABLE visits ADD COLUMN cancelled_at TEXT;
    ALTER TABLE visits ADD COLUMN cancelled_by TEXT;
    ALTER TABLE visits ADD COLUMN cancel_reason TEXT;
    ALTER TABLE visits ADD COLUMN edited_at TEXT;
    ALTER TABLE visits ADD COLUMN edited_by TEXT;
    "#,
    // 8: the search column holds each folded word after a space, so that word
    // starts can be found (refilled by the rebuild every migration ends with);
    // the records imported from files, by the key of their normalized content,
    // so that importing a file again adds nothing. Not projection: a device's
    // own memory of what it imported, kept by rebuilds.
    r#"
    CREATE TABLE imported_records (
        record_key TEXT PRIMARY KEY,
        household_id TEXT NOT NULL,
        imported_at TEXT NOT NULL
    ) STRICT;
    "#,
    // 9: which services to offer a household next: rules as data, seeded from
    // the catalogue (`suggestions`), replaceable by a province's.
    r#"
    CREATE TABLE suggestion_rules (
        code TEXT PRIMARY KEY,
        position INTEGER NOT NULL,
        rule TEXT NOT NULL           -- JSON, as in catalogue.json's "suggestions"
    ) STRICT;
    "#,
    // 10: duplicate households merged (docs/data-model.md, "Merged
    // households"): a household's own merge mark as written (`merge_target`)
    // and the household it counts under when that is another
    // (`merged_into`); a record of an absorbed household is projected under
    // the household that counts, and `doc_id` says which document holds it
    // (NULL: the household's own).
    r#"
    ALTER TABLE households ADD COLUMN merge_target TEXT;
    ALTER TABLE households ADD COLUMN merged_into TEXT;
    CREATE INDEX households_merge_target ON households (merge_target) WHERE merge_target IS NOT NULL;
    CREATE INDEX households_merged_into ON households (merged_into) WHERE merged_into IS NOT NULL;
    ALTER TABLE persons ADD COLUMN doc_id TEXT;
    ALTER TABLE visits ADD COLUMN doc_id TEXT;
    ALTER TABLE consents ADD COLUMN doc_id TEXT;
    -- A member of an absorbed household shown as the same person as one of
    -- the household that counts: its id still finds that one.
    CREATE TABLE same_people (
        id TEXT PRIMARY KEY,
        household_id TEXT NOT NULL,
        same_as TEXT NOT NULL
    ) STRICT;
    CREATE INDEX same_people_household ON same_people (household_id);
    "#,
];

/// The schema version whose migration adds the suggestion rules: a store
/// from before it gets the default rules.
const ADDS_SUGGESTIONS: i64 = 9;

/// The schema version whose migration renames legacy households.
const RENAMES_LEGACY: i64 = 6;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The projection tables, in the order `rebuild` clears and compares them.
pub const PROJECTION_TABLES: &[&str] = &[
    "households",
    "persons",
    "visits",
    "visit_services",
    "consents",
    "conflicts",
    "problems",
    "same_people",
];

/// Opens (creating if needed) the SQLite file with the store's settings,
/// encrypted with `key` (a plain store is encrypted in place first).
pub fn open_connection(path: &Path, key: &StoreKey) -> Result<Connection> {
    match (cipher::file_state(path)?, key.is_encrypted()) {
        (FileState::Plain, true) => cipher::encrypt_in_place(path, key)?,
        (FileState::Encrypted, false) => {
            return Err(Error::KeyNeeded {
                path: path.display().to_string(),
            });
        }
        _ => {}
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    cipher::unlock(&conn, path, key)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // The write path uses more statements than rusqlite's default cache of 16.
    conn.set_prepared_statement_cache_capacity(128);
    // 16 MiB of pages (SQLite's default is 2 MiB): a village's households and
    // their search column stay in memory, decrypted once instead of at every
    // search (an encrypted page read from the OS costs an AES decryption and
    // an HMAC check; docs/benchmarks.md, "The encrypted store").
    conn.pragma_update(None, "cache_size", -16_384)?;
    // WAL: a process killed mid-write leaves the last committed state; NORMAL
    // sync loses no committed transaction on a process crash (only on power loss
    // may the last few be lost), at a fraction of FULL's cost per write.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Brings the schema up to [`SCHEMA_VERSION`], seeding reference data on creation.
/// Returns whether the projection must be rebuilt.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<bool> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(Error::TooNew {
            path: path.display().to_string(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(false);
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Another process may have migrated while we waited for the lock.
    let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        tracing::info!(from = i, to = i + 1, "migrating store schema");
        tx.execute_batch(sql)?;
    }
    if found == 0 {
        seed_reference(&tx)?;
    } else if found < RENAMES_LEGACY {
        super::legacy::rename_all(&tx)?;
    }
    if found > 0 && found < ADDS_SUGGESTIONS {
        catalogue::seed_suggestions(&tx)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    // A rebuild after any migration: cheap, and a migration that changes the
    // projection's layout needs it.
    Ok(found > 0)
}

/// Loads the administrative units and the services catalogue shipped with gocua.
fn seed_reference(tx: &Transaction<'_>) -> Result<()> {
    let units =
        gocua_admin_units::Units::embedded().map_err(|e| Error::Reference(e.to_string()))?;
    {
        let mut area = tx.prepare(
            "INSERT OR IGNORE INTO areas (list, level, code, name, kind, parent_code, valid_from, valid_to)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
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
            ])?;
        }
        let mut succ = tx.prepare(
            "INSERT OR IGNORE INTO area_successions (legacy_code, code, is_default) VALUES (?1, ?2, ?3)",
        )?;
        for s in &units.successions {
            succ.execute(params![s.legacy_commune_code, s.commune_code, s.is_default])?;
        }
    }
    catalogue::seed(tx)?;
    let attribution = gocua_admin_units::ATTRIBUTION;
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('reference_attribution', ?1)",
        [attribution],
    )?;
    Ok(())
}
