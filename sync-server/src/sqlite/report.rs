//! The report projection's tables (crate::report): a household's rows are
//! replaced whenever its snapshot is, and can be rebuilt from the snapshots.

use std::collections::{BTreeMap, HashMap};

use automerge::Automerge;
use gocua_household::rows::HouseholdRows;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{db_err, i64_of};
use crate::isolate::isolated;
use crate::storage::{
    AreaScope, Cell, ExtractSink, ExtractTable, MergeNode, MergeUpdate, ReportRecord, Snapshot,
    StorageResult,
};

const TABLES: &[&str] = &[
    "report_households",
    "report_persons",
    "report_visits",
    "report_visit_services",
    "report_consents",
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
    let before: Option<(String, String, String)> = tx
        .prepare_cached(
            "SELECT province_code, commune_now, village_id FROM report_households WHERE id = ?1",
        )
        .map_err(db_err)?
        .query_row([doc_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .map_err(db_err)?;
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
    let record = record.filter(|r| r.household.id == doc_id);
    let contributions = record.map_or(&[][..], |r| &r.counted.contributions[..]);
    replace_counts(tx, doc_id, contributions)?;
    let rows = record.map(|r| HouseholdRows::of(&r.household));
    let now = rows.as_ref().map(|rows| {
        let r = &rows.household;
        let (province, commune, _) = crate::report::areas().resolve(r.commune_code, r.created_at);
        (province, commune, r.village_id.to_string())
    });
    note_removal(tx, doc_id, before, now.as_ref(), covered_seq)?;
    let (Some(record), Some(rows), Some((province, commune_now, _))) = (record, &rows, now) else {
        return Ok(());
    };
    let h = &record.household;
    let r = &rows.household;
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

/// Keeps where household `doc_id` was (`before`) when it is no longer there
/// (`now`), so that incremental extracts of that area list it as removed;
/// forgets a removal from the village it is back in.
fn note_removal(
    tx: &Transaction<'_>,
    doc_id: &str,
    before: Option<(String, String, String)>,
    now: Option<&(String, String, String)>,
    seq: u64,
) -> StorageResult<()> {
    if let Some((_, _, village)) = now {
        tx.prepare_cached("DELETE FROM report_removed WHERE household_id = ?1 AND village = ?2")
            .map_err(db_err)?
            .execute(params![doc_id, village])
            .map_err(db_err)?;
    }
    if let Some(old) = before
        && Some(&old) != now
    {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO report_removed (household_id, province, commune, village, seq)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(db_err)?
        .execute(params![doc_id, old.0, old.1, old.2, i64_of(seq)])
        .map_err(db_err)?;
    }
    Ok(())
}

/// Replaces what household `doc_id` adds to the sums by `contributions`.
fn replace_counts(
    tx: &Transaction<'_>,
    doc_id: &str,
    contributions: &[gocua_report::Contribution],
) -> StorageResult<()> {
    let before = take_counts(tx, doc_id)?;
    let after = counts_of(tx, contributions)?;
    add_to_sums(tx, &before, &after)?;
    if !after.is_empty() {
        tx.prepare_cached("INSERT INTO report_counts (household_id, counts) VALUES (?1, ?2)")
            .map_err(db_err)?
            .execute(params![doc_id, counts_text(&after)])
            .map_err(db_err)?;
    }
    Ok(())
}

/// What one household adds to `report_sums`: by area, each key's count.
type Counts = BTreeMap<[String; 3], BTreeMap<i64, i64>>;
/// `Counts` as stored in `report_counts` (JSON).
type StoredCounts = Vec<([String; 3], Vec<(i64, i64)>)>;

/// `contributions` by area and key number, numbering keys not seen before.
fn counts_of(
    tx: &Transaction<'_>,
    contributions: &[gocua_report::Contribution],
) -> StorageResult<Counts> {
    let mut find = tx
        .prepare_cached(
            "SELECT id FROM report_keys WHERE indicator = ?1 AND basis = ?2 AND breakdown = ?3",
        )
        .map_err(db_err)?;
    let mut add = tx
        .prepare_cached("INSERT INTO report_keys (indicator, basis, breakdown) VALUES (?1, ?2, ?3)")
        .map_err(db_err)?;
    let mut out = Counts::new();
    for c in contributions {
        let k = &c.key;
        let parts = (json(&k.indicator), json(&k.basis), json(&k.breakdown));
        let id = match find
            .query_row(params![parts.0, parts.1, parts.2], |r| r.get::<_, i64>(0))
            .optional()
            .map_err(db_err)?
        {
            Some(id) => id,
            None => {
                add.execute(params![parts.0, parts.1, parts.2])
                    .map_err(db_err)?;
                tx.last_insert_rowid()
            }
        };
        let area = [
            k.area.province.clone(),
            k.area.commune.clone(),
            k.area.village.clone(),
        ];
        *out.entry(area).or_default().entry(id).or_default() += i64_of(c.count);
    }
    Ok(out)
}

fn counts_text(counts: &Counts) -> String {
    let groups: StoredCounts = counts
        .iter()
        .map(|(area, keys)| (area.clone(), keys.iter().map(|(k, n)| (*k, *n)).collect()))
        .collect();
    json(&groups)
}

/// Household `doc_id`'s stored counts, removed from `report_counts`.
fn take_counts(tx: &Transaction<'_>, doc_id: &str) -> StorageResult<Counts> {
    let text: Option<String> = tx
        .prepare_cached("DELETE FROM report_counts WHERE household_id = ?1 RETURNING counts")
        .map_err(db_err)?
        .query_row([doc_id], |r| r.get(0))
        .optional()
        .map_err(db_err)?;
    let Some(text) = text else {
        return Ok(Counts::new());
    };
    match serde_json::from_str::<StoredCounts>(&text) {
        Ok(groups) => Ok(groups
            .into_iter()
            .map(|(area, keys)| (area, keys.into_iter().collect()))
            .collect()),
        // Written by this code only; if it ever does not read, the sums are
        // wrong until `rebuild-report`, which the log says.
        Err(e) => {
            tracing::error!(doc = %doc_id, error = %e, "stored report counts do not read; run admin rebuild-report");
            Ok(Counts::new())
        }
    }
}

/// Moves `report_sums` from a household's `before` counts to its `after`
/// ones; a sum that reaches zero is removed, so the sums after any sequence
/// of changes are the rows a rebuild writes.
fn add_to_sums(tx: &Transaction<'_>, before: &Counts, after: &Counts) -> StorageResult<()> {
    let mut delta: BTreeMap<(&[String; 3], i64), i64> = BTreeMap::new();
    for (area, keys) in after {
        for (k, n) in keys {
            *delta.entry((area, *k)).or_default() += n;
        }
    }
    for (area, keys) in before {
        for (k, n) in keys {
            *delta.entry((area, *k)).or_default() -= n;
        }
    }
    let mut upsert = tx
        .prepare_cached(
            "INSERT INTO report_sums (province, commune, village, key_id, count)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (province, commune, village, key_id)
             DO UPDATE SET count = count + excluded.count",
        )
        .map_err(db_err)?;
    let mut drop_zero = tx
        .prepare_cached(
            "DELETE FROM report_sums WHERE province = ?1 AND commune = ?2 AND village = ?3
             AND key_id = ?4 AND count = 0",
        )
        .map_err(db_err)?;
    for ((area, k), n) in delta {
        if n == 0 {
            continue;
        }
        upsert
            .execute(params![area[0], area[1], area[2], k, n])
            .map_err(db_err)?;
        if n < 0 {
            drop_zero
                .execute(params![area[0], area[1], area[2], k])
                .map_err(db_err)?;
        }
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
/// The rows cover the log up to `covered` at least (a household made with
/// others covers their snapshots too, and one made again because another of
/// its group changed covers that change).
pub(super) fn write_if_current(
    tx: &Transaction<'_>,
    s: &Snapshot,
    record: Option<&ReportRecord>,
    covered: u64,
) -> StorageResult<()> {
    let gone = tx
        .prepare_cached("DELETE FROM report_due WHERE doc_id = ?1 AND covered_seq <= ?2")
        .map_err(db_err)?
        .execute(params![s.doc_id, i64_of(s.covered_seq)])
        .map_err(db_err)?;
    if gone > 0 {
        let bumped: Option<i64> = tx
            .prepare_cached("DELETE FROM report_bumps WHERE doc_id = ?1 RETURNING seq")
            .map_err(db_err)?
            .query_row([&s.doc_id], |r| r.get(0))
            .optional()
            .map_err(db_err)?;
        let seq = s
            .covered_seq
            .max(covered)
            .max(bumped.and_then(|b| u64::try_from(b).ok()).unwrap_or(0));
        write(tx, &s.doc_id, record, seq)?;
    }
    Ok(())
}

/// Clears the report projection and fills it again from the snapshots, one
/// household at a time; returns how many households it holds.
pub(super) fn rebuild(tx: &Transaction<'_>) -> StorageResult<u64> {
    // The keys' numbers stay: they are only names.
    for t in TABLES.iter().chain(&[
        "report_due",
        "report_counts",
        "report_sums",
        "report_removed",
        "report_merges",
        "report_bumps",
    ]) {
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
        let read = crate::report::read_for_report(&id, &doc);
        if let Some(r) = &read {
            put_node(tx, &crate::report::node_of(r))?;
        }
        let mut record = read.as_ref().and_then(|r| crate::report::finish(r, &[]));
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
    // Merged households are made whole by the materializer's next steps:
    // every household of a merge group is due again.
    tx.execute(
        "INSERT OR IGNORE INTO report_due (doc_id, covered_seq)
         SELECT s.doc_id, s.covered_seq FROM snapshots s
         WHERE s.doc_id IN (SELECT doc_id FROM report_merges WHERE into_id IS NOT NULL
                            UNION SELECT into_id FROM report_merges WHERE into_id IS NOT NULL)",
        [],
    )
    .map_err(db_err)?;
    Ok(held)
}

fn put_node(tx: &Transaction<'_>, n: &MergeNode) -> StorageResult<()> {
    tx.prepare_cached(
        "INSERT INTO report_merges (doc_id, village_id, into_id, in_error) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (doc_id) DO UPDATE SET village_id = ?2, into_id = ?3, in_error = ?4",
    )
    .map_err(db_err)?
    .execute(params![n.doc_id, n.village_id, n.into, n.in_error])
    .map_err(db_err)?;
    Ok(())
}

/// Saves what a report step learnt of merges: the marks read, and the
/// households to make again (at their current snapshot).
pub(super) fn save_merges(tx: &Transaction<'_>, m: &MergeUpdate) -> StorageResult<()> {
    for n in &m.nodes {
        put_node(tx, n)?;
    }
    let mut forget = tx
        .prepare_cached("DELETE FROM report_merges WHERE doc_id = ?1")
        .map_err(db_err)?;
    for id in &m.gone {
        forget.execute([id]).map_err(db_err)?;
    }
    let mut due = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO report_due (doc_id, covered_seq)
             SELECT doc_id, covered_seq FROM snapshots WHERE doc_id = ?1 AND bytes IS NOT NULL",
        )
        .map_err(db_err)?;
    let mut bump = tx
        .prepare_cached(
            "INSERT INTO report_bumps (doc_id, seq) VALUES (?1, ?2)
             ON CONFLICT (doc_id) DO UPDATE SET seq = MAX(seq, excluded.seq)",
        )
        .map_err(db_err)?;
    for (id, seq) in &m.due {
        due.execute([id]).map_err(db_err)?;
        bump.execute(params![id, i64_of(*seq)]).map_err(db_err)?;
    }
    Ok(())
}

pub(super) fn merge_nodes(tx: &Transaction<'_>, ids: &[String]) -> StorageResult<Vec<MergeNode>> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT doc_id, village_id, into_id, in_error FROM report_merges WHERE doc_id = ?1",
        )
        .map_err(db_err)?;
    let mut out = Vec::new();
    for id in ids {
        let n = stmt
            .query_row([id], |r| {
                Ok(MergeNode {
                    doc_id: r.get(0)?,
                    village_id: r.get(1)?,
                    into: r.get(2)?,
                    in_error: r.get(3)?,
                })
            })
            .optional()
            .map_err(db_err)?;
        out.extend(n);
    }
    Ok(out)
}

pub(super) fn marked_into(
    tx: &Transaction<'_>,
    ids: &[String],
) -> StorageResult<Vec<(String, String)>> {
    let mut stmt = tx
        .prepare_cached("SELECT doc_id FROM report_merges WHERE into_id = ?1")
        .map_err(db_err)?;
    let mut out = Vec::new();
    for id in ids {
        for r in stmt.query_map([id], |r| r.get(0)).map_err(db_err)? {
            out.push((r.map_err(db_err)?, id.clone()));
        }
    }
    Ok(out)
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
            "SELECT MAX(?1, COALESCE((SELECT MAX(updated_seq) FROM report_households), 0),
                COALESCE((SELECT MAX(seq) FROM report_removed), 0))",
            [i64_of(since)],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    // Column order: crate::export::columns. Booleans come as 0/1 integers
    // and are typed by the column.
    let queries: [(ExtractTable, String); 5] = [
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
        (
            ExtractTable::Removed,
            // Left the scope after the cursor and not (back) in it now; a
            // full extract (cursor 0) lists none.
            "SELECT r.household_id, r.province, r.commune, r.village, r.seq
             FROM report_removed r
             WHERE ?1 > 0 AND r.seq > ?1
               AND (?2 = 'country'
                    OR (?2 = 'province' AND r.province = ?3)
                    OR (?2 = 'commune' AND r.commune = ?3)
                    OR (?2 = 'village' AND r.village = ?3))
               AND NOT EXISTS (SELECT 1 FROM report_households h WHERE h.id = r.household_id
                    AND (?2 = 'country'
                         OR (?2 = 'province' AND h.province_code = ?3)
                         OR (?2 = 'commune' AND h.commune_now = ?3)
                         OR (?2 = 'village' AND h.village_id = ?3)))
             GROUP BY r.household_id
             ORDER BY r.province, r.commune, r.village, r.household_id"
                .to_string(),
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
/// columns, its code as `?1`: one column per kind, so the query uses that
/// column's index (a condition on the kind too would read every row).
fn in_scope(scope: &AreaScope) -> (&'static str, &str) {
    match scope {
        AreaScope::Country => ("?1 = ''", ""),
        AreaScope::Province(c) => ("province = ?1", c.as_str()),
        AreaScope::Commune(c) => ("commune = ?1", c.as_str()),
        AreaScope::Village(c) => ("village = ?1", c.as_str()),
    }
}

use crate::report::TrainingRow;

fn scope_params(scope: &AreaScope) -> (&'static str, &str) {
    match scope {
        AreaScope::Country => ("country", ""),
        AreaScope::Province(c) => ("province", c.as_str()),
        AreaScope::Commune(c) => ("commune", c.as_str()),
        AreaScope::Village(c) => ("village", c.as_str()),
    }
}

type KeyParts = (
    gocua_report::Indicator,
    gocua_report::Basis,
    gocua_report::Breakdown,
);

/// Every numbered key that reads with this version of gocua-report.
fn keys(tx: &Transaction<'_>) -> StorageResult<HashMap<i64, KeyParts>> {
    let mut stmt = tx
        .prepare("SELECT id, indicator, basis, breakdown FROM report_keys")
        .map_err(db_err)?;
    let mut rows = stmt.query([]).map_err(db_err)?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next().map_err(db_err)? {
        let id: i64 = r.get(0).map_err(db_err)?;
        let part = |i: usize| r.get::<_, String>(i).ok();
        let parsed = (|| -> Option<KeyParts> {
            Some((
                serde_json::from_str(&part(1)?).ok()?,
                serde_json::from_str(&part(2)?).ok()?,
                serde_json::from_str(&part(3)?).ok()?,
            ))
        })();
        match parsed {
            Some(k) => {
                out.insert(id, k);
            }
            // Written by another version of gocua-report: its sums are left
            // out until `rebuild-report` counts them again.
            None => tracing::warn!(
                key = id,
                "a stored report key does not read; rebuild the report"
            ),
        }
    }
    Ok(out)
}

pub(super) fn sums(
    tx: &Transaction<'_>,
    scope: &AreaScope,
    level: gocua_report::Level,
    f: &mut dyn FnMut(gocua_report::Contribution),
) -> StorageResult<()> {
    use gocua_report::Level;
    let (filter, code) = in_scope(scope);
    let sql = match level {
        // One row per sum already (the table's key), by village: the
        // village-level report is made a village at a time.
        Level::Team | Level::Village => format!(
            "SELECT key_id, province, commune, village, count
             FROM report_sums WHERE {filter} ORDER BY village"
        ),
        _ => format!(
            "SELECT key_id, province, commune, '', SUM(count)
             FROM report_sums WHERE {filter} GROUP BY key_id, province, commune"
        ),
    };
    let keys = keys(tx)?;
    let mut stmt = tx.prepare(&sql).map_err(db_err)?;
    let mut rows = stmt.query([code]).map_err(db_err)?;
    while let Some(r) = rows.next().map_err(db_err)? {
        let Some((indicator, basis, breakdown)) = keys.get(&r.get::<_, i64>(0).map_err(db_err)?)
        else {
            continue;
        };
        let count: i64 = r.get(4).map_err(db_err)?;
        f(gocua_report::Contribution {
            key: gocua_report::Key {
                indicator: *indicator,
                basis: *basis,
                breakdown: breakdown.clone(),
                area: gocua_report::Area {
                    province: r.get(1).map_err(db_err)?,
                    commune: r.get(2).map_err(db_err)?,
                    village: r.get(3).map_err(db_err)?,
                },
            },
            count: u64::try_from(count).unwrap_or(0),
        });
    }
    Ok(())
}

pub(super) fn reviews(
    tx: &Transaction<'_>,
    scope: &AreaScope,
    limit: u32,
) -> StorageResult<Vec<gocua_report::Review>> {
    let (filter, code) = in_scope(scope);
    let mut stmt = tx
        .prepare(&format!(
            "SELECT review FROM report_reviews WHERE {filter}
             ORDER BY province, commune, village, household_id LIMIT ?2"
        ))
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![code, limit], |r| r.get::<_, String>(0))
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
    let mut stmt = tx
        .prepare(
            "SELECT t.id, t.topic, t.held_on, t.commune_code, t.team_id, a.volunteer_id
             FROM trainings t
             LEFT JOIN areas c ON c.list = '2025' AND c.level = 'commune' AND c.code = t.commune_code
             LEFT JOIN training_attendees a ON a.training_id = t.id
             WHERE ?1 = 'country'
                OR (?1 = 'province' AND c.parent_code = ?2)
                OR (?1 = 'commune' AND t.commune_code = ?2)
             ORDER BY t.id, a.volunteer_id",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![kind, code], |r| {
            Ok(TrainingRow {
                id: r.get(0)?,
                topic: r.get(1)?,
                held_on: r.get(2)?,
                commune_code: r.get(3)?,
                team_id: r.get(4)?,
                attendee: r.get(5)?,
            })
        })
        .map_err(db_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db_err)?;
    Ok(gocua_report::Roster {
        villages,
        teams,
        trainings: Some(crate::report::roster_trainings(rows)),
    })
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeMap;

    use gocua_report::{Area, Basis, Breakdown, Contribution, Indicator, Key, Level};
    use proptest::prelude::*;
    use rusqlite::Connection;

    use super::*;

    fn contribution(area: u8, group: u8, count: u64) -> Contribution {
        Contribution {
            key: Key {
                indicator: Indicator::HouseholdsRegistered,
                basis: Basis::Current,
                area: Area {
                    province: format!("0{}", area % 2),
                    commune: format!("c{area}"),
                    village: format!("v{area}"),
                },
                breakdown: if group == 0 {
                    Breakdown::All
                } else {
                    Breakdown::TargetGroup {
                        target_group: format!("g{group}"),
                    }
                },
            },
            count,
        }
    }

    fn household(id: &str, village: &str) -> crate::storage::ReportRecord {
        crate::storage::ReportRecord {
            household: gocua_household::Household {
                id: id.into(),
                schema_version: 1,
                commune_code: "00004".into(),
                village_id: village.into(),
                address: String::new(),
                head_name: "Hộ thử".into(),
                phone: None,
                member_count: None,
                device_access: None,
                target_groups: Vec::new(),
                created_at: "2026-11-01T02:00:00Z".into(),
                created_by: "vol".into(),
                members: Vec::new(),
                visits: Vec::new(),
                consents: Vec::new(),
                conflicts: Vec::new(),
                problems: Vec::new(),
                outside_villages: false,
                in_error: None,
                merged: None,
                absorbed: Vec::new(),
            },
            household_change: None,
            visit_changes: Vec::new(),
            counted: Default::default(),
        }
    }

    #[derive(Default)]
    struct Rows(Vec<(ExtractTable, Vec<Cell>)>, Option<ExtractTable>);

    impl ExtractSink for Rows {
        fn table(&mut self, t: ExtractTable) -> StorageResult<()> {
            self.1 = Some(t);
            Ok(())
        }
        fn row(&mut self, cells: Vec<Cell>) -> StorageResult<()> {
            if let Some(t) = self.1 {
                self.0.push((t, cells));
            }
            Ok(())
        }
    }

    fn removed(tx: &Transaction<'_>, scope: &AreaScope, since: u64) -> (Vec<String>, u64) {
        let mut rows = Rows::default();
        let cursor = extract(tx, scope, since, &mut rows).unwrap();
        let ids = rows
            .0
            .into_iter()
            .filter(|(t, _)| *t == ExtractTable::Removed)
            .map(|(_, cells)| match &cells[0] {
                Cell::Text(t) => t.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        (ids, cursor)
    }

    /// An incremental extract of a village lists the households that left it
    /// after its cursor (moved away, or no longer read as a household), and
    /// not one that came back; a full extract lists none.
    #[test]
    fn incremental_extracts_list_the_households_that_left() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrations::migrate(&mut conn).unwrap();
        let tx = conn.transaction().unwrap();
        let east = AreaScope::Village("east".into());
        write(&tx, "h1", Some(&household("h1", "east")), 1).unwrap();
        write(&tx, "h2", Some(&household("h2", "east")), 2).unwrap();
        write(&tx, "h3", Some(&household("h3", "east")), 3).unwrap();
        let (none, cursor) = removed(&tx, &east, 0);
        assert!(none.is_empty());
        assert_eq!(cursor, 3);
        // h1 moves west, h2 stops reading, h3 moves west and back.
        write(&tx, "h1", Some(&household("h1", "west")), 4).unwrap();
        write(&tx, "h2", None, 5).unwrap();
        write(&tx, "h3", Some(&household("h3", "west")), 6).unwrap();
        write(&tx, "h3", Some(&household("h3", "east")), 7).unwrap();
        let (gone, next) = removed(&tx, &east, cursor);
        assert_eq!(gone, ["h1", "h2"]);
        assert_eq!(next, 7);
        assert!(removed(&tx, &east, next).0.is_empty());
        assert!(removed(&tx, &east, 0).0.is_empty());
        // West lost h3 after cursor 6 only.
        let west = AreaScope::Village("west".into());
        assert_eq!(removed(&tx, &west, 3).0, ["h3"]);
        assert!(removed(&tx, &west, 7).0.is_empty());
    }

    proptest! {
        /// After any sequence of households' counts being replaced (moved to
        /// another village, changed, removed), the stored sums are the sums
        /// of the households' last contributions, computed here
        /// independently, and no sum of zero is kept (a rebuild keeps none).
        #[test]
        fn sums_follow_every_replacement(
            ops in proptest::collection::vec(
                (0u8..4, proptest::collection::vec((0u8..3, 0u8..3, 1u64..4), 0..5)),
                1..30,
            )
        ) {
            let mut conn = Connection::open_in_memory().unwrap();
            super::super::migrations::migrate(&mut conn).unwrap();
            let tx = conn.transaction().unwrap();
            let mut last: BTreeMap<u8, Vec<Contribution>> = BTreeMap::new();
            for (household, parts) in &ops {
                let cs: Vec<Contribution> =
                    parts.iter().map(|(a, g, n)| contribution(*a, *g, *n)).collect();
                replace_counts(&tx, &format!("h{household}"), &cs).unwrap();
                last.insert(*household, cs);
            }
            let mut expected: BTreeMap<Key, u64> = BTreeMap::new();
            for c in last.values().flatten() {
                *expected.entry(c.key.clone()).or_default() += c.count;
            }
            let mut got: BTreeMap<Key, u64> = BTreeMap::new();
            sums(&tx, &AreaScope::Country, Level::Village, &mut |c| {
                got.insert(c.key, c.count);
            })
            .unwrap();
            prop_assert_eq!(got, expected);
            let zeros: i64 = tx
                .query_row("SELECT COUNT(*) FROM report_sums WHERE count <= 0", [], |r| r.get(0))
                .unwrap();
            prop_assert_eq!(zeros, 0);
        }
    }
}
