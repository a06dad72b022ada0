//! The report projection's tables (crate::report): a household's rows are
//! replaced whenever its snapshot is, and can be rebuilt from the snapshots.

use automerge::Automerge;
use gocua_household::rows::HouseholdRows;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{db_err, i64_of};
use crate::isolate::isolated;
use crate::storage::{
    AreaScope, Cell, ExtractSink, ExtractTable, ReportRecord, Snapshot, StorageResult,
};

const TABLES: &[&str] = &[
    "report_households",
    "report_persons",
    "report_visits",
    "report_visit_services",
    "report_consents",
    "report_contributions",
    "report_reviews",
];

/// Replaces household `doc_id`'s rows by `record`'s (none when `None`), as of
/// log seq `covered_seq`.
pub(super) fn write(
    tx: &Transaction<'_>,
    doc_id: &str,
    record: Option<&ReportRecord>,
    covered_seq: u64,
) -> StorageResult<()> {
    for t in TABLES {
        let key = if *t == "report_households" {
            "id"
        } else {
            "household_id"
        };
        tx.prepare_cached(&format!("DELETE FROM {t} WHERE {key} = ?1"))
            .map_err(db_err)?
            .execute([doc_id])
            .map_err(db_err)?;
    }
    let Some(record) = record else {
        return Ok(());
    };
    let h = &record.household;
    if h.id != doc_id {
        return Ok(());
    }
    let rows = HouseholdRows::of(h);
    let r = &rows.household;
    let (province, commune_now, _) = crate::report::areas().resolve(r.commune_code, r.created_at);
    tx.prepare_cached(
        "INSERT INTO report_households (id, village_id, commune_code, commune_now, province_code,
            address, head_name, phone, member_count, device_access, target_groups, created_at,
            created_by, schema_version, conflicts, problems, updated_seq)
         VALUES (?1, ?2, ?3, ?16, ?17, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )
    .map_err(db_err)?
    .execute(params![
        r.id,
        r.village_id,
        r.commune_code,
        r.address,
        r.head_name,
        r.phone,
        r.member_count,
        r.device_access,
        r.target_groups,
        r.created_at,
        r.created_by,
        r.schema_version,
        h.conflicts.len() as i64,
        h.problems.len() as i64,
        i64_of(covered_seq),
        commune_now,
        province
    ])
    .map_err(db_err)?;
    let mut person = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO report_persons (household_id, id, name, birth_year, gender,
                id_number, vneid_level, vneid_activated, bank_account, public_service_account,
                ehealth_book, digital_signature, basic_skills_certified, created_at, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )
        .map_err(db_err)?;
    for p in &rows.persons {
        person
            .execute(params![
                p.household_id,
                p.id,
                p.name,
                p.birth_year,
                p.gender,
                p.id_number,
                p.vneid_level,
                p.vneid_activated,
                p.bank_account,
                p.public_service_account,
                p.ehealth_book,
                p.digital_signature,
                p.basic_skills_certified,
                p.created_at,
                p.created_by
            ])
            .map_err(db_err)?;
    }
    // The receipt time of the change that created the visit.
    let mut visit = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO report_visits (household_id, id, visited_at, received_at,
                team_id, volunteer_ids, person_ids, duration_minutes, follow_up_on, feedback,
                consent_id, recorded_at, recorded_by)
             VALUES (?1, ?2, ?3, (SELECT received_at FROM changes WHERE hash = ?4),
                ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )
        .map_err(db_err)?;
    for v in &rows.visits {
        let created_by = record
            .visit_changes
            .iter()
            .find(|(id, _)| id == v.id)
            .map(|(_, hash)| hash.to_vec());
        visit
            .execute(params![
                v.household_id,
                v.id,
                v.visited_at,
                created_by,
                v.team_id,
                v.volunteer_ids,
                v.person_ids,
                v.duration_minutes,
                v.follow_up_on,
                v.feedback,
                v.consent_id,
                v.recorded_at,
                v.recorded_by
            ])
            .map_err(db_err)?;
    }
    let mut service = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO report_visit_services (household_id, visit_id, service_code,
                outcome, note) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(db_err)?;
    for s in &rows.visit_services {
        service
            .execute(params![
                s.household_id,
                s.visit_id,
                s.service_code,
                s.outcome,
                s.note
            ])
            .map_err(db_err)?;
    }
    let mut contribution = tx
        .prepare_cached(
            "INSERT INTO report_contributions (household_id, indicator, basis, breakdown,
                province, commune, village, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(db_err)?;
    for c in &record.counted.contributions {
        let k = &c.key;
        contribution
            .execute(params![
                doc_id,
                json(&k.indicator),
                json(&k.basis),
                json(&k.breakdown),
                k.area.province,
                k.area.commune,
                k.area.village,
                i64_of(c.count)
            ])
            .map_err(db_err)?;
    }
    let mut review = tx
        .prepare_cached(
            "INSERT INTO report_reviews (household_id, province, commune, village, review)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(db_err)?;
    for r in &record.counted.reviews {
        review
            .execute(params![
                doc_id,
                r.area.province,
                r.area.commune,
                r.area.village,
                json(r)
            ])
            .map_err(db_err)?;
    }
    let mut consent = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO report_consents (household_id, id, person_id, purpose, method,
                given_at, recorded_by, withdrawn_at, withdrawn_by, withdrawal_reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(db_err)?;
    for c in &rows.consents {
        consent
            .execute(params![
                c.household_id,
                c.id,
                c.person_id,
                c.purpose,
                c.method,
                c.given_at,
                c.recorded_by,
                c.withdrawn_at,
                c.withdrawn_by,
                c.withdrawal_reason
            ])
            .map_err(db_err)?;
    }
    Ok(())
}

/// Up to `limit` households due for new rows, with their snapshots.
pub(super) fn due(tx: &Transaction<'_>, limit: u32) -> StorageResult<Vec<Snapshot>> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT s.doc_id, s.village_id, s.bytes, s.covered_seq
             FROM report_due d JOIN snapshots s ON s.doc_id = d.doc_id
             ORDER BY d.covered_seq LIMIT ?1",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map([limit], |r| {
            Ok(Snapshot {
                doc_id: r.get(0)?,
                village_id: r.get(1)?,
                bytes: r.get(2)?,
                covered_seq: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                pending: Vec::new(),
            })
        })
        .map_err(db_err)?;
    rows.collect::<Result<_, _>>().map_err(db_err)
}

/// Writes `record` as the rows of snapshot `s`'s household, unless its
/// snapshot changed since `s` was read (it then stays due).
pub(super) fn write_if_current(
    tx: &Transaction<'_>,
    s: &Snapshot,
    record: Option<&ReportRecord>,
) -> StorageResult<()> {
    let gone = tx
        .prepare_cached("DELETE FROM report_due WHERE doc_id = ?1 AND covered_seq <= ?2")
        .map_err(db_err)?
        .execute(params![s.doc_id, i64_of(s.covered_seq)])
        .map_err(db_err)?;
    if gone > 0 {
        write(tx, &s.doc_id, record, s.covered_seq)?;
    }
    Ok(())
}

/// Clears the report projection and fills it again from the snapshots, one
/// household at a time; returns how many households it holds.
pub(super) fn rebuild(tx: &Transaction<'_>) -> StorageResult<u64> {
    for t in TABLES.iter().chain(&["report_due"]) {
        tx.execute(&format!("DELETE FROM {t}"), [])
            .map_err(db_err)?;
    }
    let ids: Vec<String> = tx
        .prepare("SELECT doc_id FROM snapshots WHERE bytes IS NOT NULL ORDER BY doc_id")
        .map_err(db_err)?
        .query_map([], |r| r.get(0))
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    let start_day = start_day(tx)?;
    let mut held = 0;
    for id in ids {
        let (bytes, covered): (Vec<u8>, i64) = tx
            .query_row(
                "SELECT bytes, covered_seq FROM snapshots WHERE doc_id = ?1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(db_err)?;
        let doc = match isolated(|| Automerge::load(&bytes)) {
            Ok(Ok(d)) => d,
            _ => {
                tracing::warn!(doc = %id, "snapshot does not load: left out of the report");
                continue;
            }
        };
        let mut record = crate::report::record_of(&id, &doc);
        if let Some(r) = &mut record {
            let hashes: Vec<[u8; 32]> = crate::report::hashes_of(r).collect();
            let received = received_at(tx, &hashes)?;
            crate::report::count(r, &received, start_day);
        }
        held += u64::from(record.is_some());
        write(
            tx,
            &id,
            record.as_ref(),
            u64::try_from(covered).unwrap_or(0),
        )?;
    }
    Ok(held)
}

/// The households of the report in `?2`'s scope (its kind) `?3` (its code)
/// whose rows changed after cursor `?1`, in the units in force now.
const SCOPED: &str = "
    WITH scoped AS (
        SELECT h.*, c.name AS commune_name, p.name AS province_name, v.name AS village_name
        FROM report_households h
        LEFT JOIN areas c ON c.list = '2025' AND c.level = 'commune' AND c.code = h.commune_now
        LEFT JOIN areas p ON p.list = '2025' AND p.level = 'province' AND p.code = h.province_code
        LEFT JOIN villages v ON v.id = h.village_id
        WHERE h.updated_seq > ?1
          AND (?2 = 'country'
               OR (?2 = 'province' AND h.province_code = ?3)
               OR (?2 = 'commune' AND h.commune_now = ?3)
               OR (?2 = 'village' AND h.village_id = ?3))
    )";

pub(super) fn area_scope(tx: &Transaction<'_>, code: &str) -> StorageResult<Option<AreaScope>> {
    let code = code.trim();
    let level: Option<String> = tx
        .query_row(
            "SELECT level FROM areas WHERE list = '2025' AND code = ?1
             ORDER BY level = 'province' DESC LIMIT 1",
            [code],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)?;
    Ok(match level.as_deref() {
        Some("province") => Some(AreaScope::Province(code.to_string())),
        Some("commune") => Some(AreaScope::Commune(code.to_string())),
        _ => {
            let village: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM villages WHERE id = ?1)",
                    [code],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            village.then(|| AreaScope::Village(code.to_string()))
        }
    })
}

fn cell(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Cell> {
    use rusqlite::types::ValueRef;
    Ok(match r.get_ref(i)? {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(n) => Cell::Int(n),
        ValueRef::Real(f) => Cell::Text(f.to_string()),
        // Valid UTF-8 (always, in STRICT text columns) takes the fast check.
        ValueRef::Text(t) => Cell::Text(match std::str::from_utf8(t) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(t).into_owned(),
        }),
        ValueRef::Blob(_) => Cell::Null,
    })
}

/// Streams the scoped rows of every extract table; see `Storage::extract`.
pub(super) fn extract(
    tx: &Transaction<'_>,
    scope: &AreaScope,
    since: u64,
    sink: &mut dyn ExtractSink,
) -> StorageResult<u64> {
    let (kind, code) = match scope {
        AreaScope::Country => ("country", ""),
        AreaScope::Province(c) => ("province", c.as_str()),
        AreaScope::Commune(c) => ("commune", c.as_str()),
        AreaScope::Village(c) => ("village", c.as_str()),
    };
    let cursor: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(updated_seq), ?1) FROM report_households",
            [i64_of(since)],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    // Column order: crate::export::columns. Booleans come as 0/1 integers
    // and are typed by the column.
    let queries: [(ExtractTable, String); 4] = [
        (
            ExtractTable::Households,
            format!(
                "{SCOPED} SELECT id, province_code, province_name, commune_now, commune_name,
                    commune_code, village_id, village_name, head_name, address, phone,
                    member_count, device_access, target_groups, created_at, conflicts, problems,
                    updated_seq,
                    (SELECT COUNT(*) FROM report_visits v WHERE v.household_id = scoped.id)
                 FROM scoped ORDER BY province_code, commune_now, village_id, id"
            ),
        ),
        (
            ExtractTable::Persons,
            format!(
                "{SCOPED} SELECT p.household_id, p.id, p.name, p.birth_year, p.gender, p.id_number,
                    p.vneid_level, p.vneid_activated, p.bank_account, p.public_service_account,
                    p.ehealth_book, p.digital_signature, p.basic_skills_certified,
                    EXISTS (SELECT 1 FROM report_consents c WHERE c.household_id = p.household_id
                            AND c.person_id = p.id AND c.withdrawn_at IS NULL)
                 FROM scoped s JOIN report_persons p ON p.household_id = s.id
                 ORDER BY s.province_code, s.commune_now, s.village_id, p.household_id, p.id"
            ),
        ),
        (
            ExtractTable::Visits,
            format!(
                "{SCOPED} SELECT v.household_id, v.id, v.visited_at, v.received_at, v.team_id,
                    v.volunteer_ids, v.person_ids, v.duration_minutes, v.follow_up_on, v.feedback
                 FROM scoped s JOIN report_visits v ON v.household_id = s.id
                 ORDER BY s.province_code, s.commune_now, s.village_id, v.household_id, v.visited_at, v.id"
            ),
        ),
        (
            ExtractTable::VisitServices,
            format!(
                "{SCOPED} SELECT x.household_id, x.visit_id, x.service_code, x.outcome, x.note
                 FROM scoped s JOIN report_visit_services x ON x.household_id = s.id
                 ORDER BY s.province_code, s.commune_now, s.village_id, x.household_id, x.visit_id, x.service_code"
            ),
        ),
    ];
    for (table, sql) in queries {
        sink.table(table)?;
        let mut stmt = tx.prepare(&sql).map_err(db_err)?;
        let n = stmt.column_count();
        let mut rows = stmt
            .query(params![i64_of(since), kind, code])
            .map_err(db_err)?;
        while let Some(r) = rows.next().map_err(db_err)? {
            let cells = (0..n)
                .map(|i| cell(r, i))
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_err)?;
            sink.row(cells)?;
        }
    }
    Ok(u64::try_from(cursor).unwrap_or(since))
}

/// `serde_json` text of a key part, as gocua-report serializes it.
fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

pub(super) fn received_at(
    tx: &Transaction<'_>,
    hashes: &[[u8; 32]],
) -> StorageResult<std::collections::HashMap<[u8; 32], i64>> {
    let mut stmt = tx
        .prepare_cached("SELECT received_at FROM changes WHERE hash = ?1")
        .map_err(db_err)?;
    let mut out = std::collections::HashMap::with_capacity(hashes.len());
    for h in hashes {
        let t: Option<i64> = stmt
            .query_row([&h[..]], |r| r.get(0))
            .optional()
            .map_err(db_err)?;
        if let Some(t) = t {
            out.insert(*h, t);
        }
    }
    Ok(out)
}

pub(super) fn start_day(tx: &Transaction<'_>) -> StorageResult<u8> {
    let v: Option<String> = tx
        .query_row(
            "SELECT value FROM meta WHERE key = 'report_start_day'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(1))
}

pub(super) fn set_start_day(tx: &Transaction<'_>, day: u8) -> StorageResult<u64> {
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('report_start_day', ?1)",
        [day.to_string()],
    )
    .map_err(db_err)?;
    rebuild(tx)
}

/// The scope of a report as a condition on `province`, `commune`, `village`
/// columns (`?1` the scope's kind, `?2` its code).
const IN_SCOPE: &str = "(?1 = 'country'
    OR (?1 = 'province' AND province = ?2)
    OR (?1 = 'commune' AND commune = ?2)
    OR (?1 = 'village' AND village = ?2))";

fn scope_params(scope: &AreaScope) -> (&'static str, &str) {
    match scope {
        AreaScope::Country => ("country", ""),
        AreaScope::Province(c) => ("province", c.as_str()),
        AreaScope::Commune(c) => ("commune", c.as_str()),
        AreaScope::Village(c) => ("village", c.as_str()),
    }
}

pub(super) fn sums(
    tx: &Transaction<'_>,
    scope: &AreaScope,
    level: gocua_report::Level,
) -> StorageResult<Vec<gocua_report::Contribution>> {
    use gocua_report::Level;
    let village = match level {
        Level::Team | Level::Village => "village",
        _ => "''",
    };
    let sql = format!(
        "SELECT indicator, basis, breakdown, province, commune, {village}, SUM(count)
         FROM report_contributions WHERE {IN_SCOPE}
         GROUP BY indicator, basis, breakdown, province, commune, {village}"
    );
    let (kind, code) = scope_params(scope);
    let mut stmt = tx.prepare(&sql).map_err(db_err)?;
    let mut rows = stmt.query(params![kind, code]).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(db_err)? {
        let text = |i: usize| r.get::<_, String>(i).ok();
        let parsed = (|| -> Option<gocua_report::Contribution> {
            Some(gocua_report::Contribution {
                key: gocua_report::Key {
                    indicator: serde_json::from_str(&text(0)?).ok()?,
                    basis: serde_json::from_str(&text(1)?).ok()?,
                    breakdown: serde_json::from_str(&text(2)?).ok()?,
                    area: gocua_report::Area {
                        province: text(3)?,
                        commune: text(4)?,
                        village: text(5)?,
                    },
                },
                count: u64::try_from(r.get::<_, i64>(6).ok()?).ok()?,
            })
        })();
        match parsed {
            Some(c) => out.push(c),
            // Written by another version of gocua-report: counted again at
            // the next `rebuild-report`.
            None => tracing::warn!("a stored contribution does not read; rebuild the report"),
        }
    }
    Ok(out)
}

pub(super) fn reviews(
    tx: &Transaction<'_>,
    scope: &AreaScope,
    limit: u32,
) -> StorageResult<Vec<gocua_report::Review>> {
    let (kind, code) = scope_params(scope);
    let mut stmt = tx
        .prepare(&format!(
            "SELECT review FROM report_reviews WHERE {IN_SCOPE}
             ORDER BY province, commune, village, household_id LIMIT ?3"
        ))
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![kind, code, limit], |r| r.get::<_, String>(0))
        .map_err(db_err)?;
    let mut out = Vec::new();
    for r in rows {
        if let Ok(review) = serde_json::from_str(&r.map_err(db_err)?) {
            out.push(review);
        }
    }
    Ok(out)
}

pub(super) fn roster(
    tx: &Transaction<'_>,
    scope: &AreaScope,
) -> StorageResult<gocua_report::Roster> {
    let (kind, code) = scope_params(scope);
    let mut stmt = tx
        .prepare(
            "SELECT v.id, v.commune_code, (SELECT tv.team_id FROM team_villages tv
                 WHERE tv.village_id = v.id ORDER BY tv.team_id LIMIT 1)
             FROM villages v
             LEFT JOIN areas c ON c.list = '2025' AND c.level = 'commune' AND c.code = v.commune_code
             WHERE ?1 = 'country'
                OR (?1 = 'province' AND c.parent_code = ?2)
                OR (?1 = 'commune' AND v.commune_code = ?2)
                OR (?1 = 'village' AND v.id = ?2)
             ORDER BY v.id",
        )
        .map_err(db_err)?;
    let villages: Vec<gocua_report::RosterVillage> = stmt
        .query_map(params![kind, code], |r| {
            Ok(gocua_report::RosterVillage {
                id: r.get(0)?,
                commune_code: r.get(1)?,
                team_id: r.get(2)?,
            })
        })
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    let mut count = tx
        .prepare("SELECT COUNT(*) FROM volunteers WHERE team_id = ?1")
        .map_err(db_err)?;
    let mut teams: Vec<gocua_report::RosterTeam> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for v in &villages {
        if let Some(t) = &v.team_id
            && seen.insert(t.clone())
        {
            let n: i64 = count.query_row([t], |r| r.get(0)).map_err(db_err)?;
            teams.push(gocua_report::RosterTeam {
                id: t.clone(),
                volunteers: u64::try_from(n).ok(),
            });
        }
    }
    Ok(gocua_report::Roster { villages, teams })
}

pub(super) fn scope_province(
    tx: &Transaction<'_>,
    scope: &AreaScope,
) -> StorageResult<Option<String>> {
    let parent_of = |commune: &str| -> StorageResult<Option<String>> {
        tx.query_row(
            "SELECT parent_code FROM areas WHERE list = '2025' AND level = 'commune' AND code = ?1",
            [commune],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)
        .map(Option::flatten)
    };
    match scope {
        AreaScope::Country => Ok(None),
        AreaScope::Province(p) => Ok(Some(p.clone())),
        AreaScope::Commune(c) => parent_of(c),
        AreaScope::Village(v) => {
            let commune: Option<String> = tx
                .query_row(
                    "SELECT commune_code FROM villages WHERE id = ?1",
                    [v],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            match commune {
                Some(c) => parent_of(&c),
                None => Ok(None),
            }
        }
    }
}
