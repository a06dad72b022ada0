//! The report projection's tables on PostgreSQL: the same rows and the same
//! rules as `sqlite::report` (whose comments say why), checked by the same
//! tests.

use std::collections::{BTreeMap, HashMap, HashSet};

use automerge::Automerge;
use gocua_household::rows::HouseholdRows;
use tokio_postgres::Row;
use tokio_postgres::types::Type;

use super::conn::{Deferred, Op, Param, PgConn, get, owned};
use super::{i64_of, u64_of};
use crate::isolate::isolated;
use crate::storage::{
    AreaScope, Cell, ExtractSink, ExtractTable, MergeNode, MergeUpdate, ReportRecord, Snapshot,
    StorageResult,
};

/// One household's rows to replace: its record (none: it has no rows now)
/// and the log seq they cover.
pub(super) struct RowsFor<'r> {
    pub doc_id: &'r str,
    pub record: Option<&'r ReportRecord>,
    pub covered_seq: u64,
}

/// The report keys' numbers, by their parts as stored. A key's number never
/// changes once given (a rebuild keeps them), so a process may remember them.
pub(super) type KeyIds = HashMap<(String, String, String), i64>;

/// Replaces household `doc_id`'s rows by `record`'s (none when `None`), as of
/// log seq `covered_seq`.
pub(super) fn write(
    c: &mut PgConn,
    doc_id: &str,
    record: Option<&ReportRecord>,
    covered_seq: u64,
    fresh: &mut KeyIds,
) -> StorageResult<()> {
    let item = RowsFor {
        doc_id,
        record,
        covered_seq,
    };
    write_many(c, &[item], &KeyIds::new(), fresh)
}

/// Replaces the rows of each household of `items` (distinct households),
/// in a few round trips whatever their number: reads first, then every
/// write sent at once. Keys are looked up in `known`, then `fresh`, then the
/// database; those found or numbered here go to `fresh`, which the caller
/// remembers only once the transaction has committed.
pub(super) fn write_many(
    c: &mut PgConn,
    items: &[RowsFor<'_>],
    known: &KeyIds,
    fresh: &mut KeyIds,
) -> StorageResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = items.iter().map(|i| i.doc_id).collect();
    let answers = c.pipeline(&[
        Op::Query(
            "SELECT id, province_code, commune_now, village_id FROM report_households
             WHERE id = ANY($1)",
            &[&ids],
        ),
        Op::Query(
            "DELETE FROM report_counts WHERE household_id = ANY($1)
             RETURNING household_id, counts",
            &[&ids],
        ),
    ])?;
    let mut before: HashMap<String, (String, String, String)> = HashMap::new();
    let mut old_counts: HashMap<String, Counts> = HashMap::new();
    if let [places, counts] = &answers[..] {
        for r in places {
            before.insert(get(r, 0)?, (get(r, 1)?, get(r, 2)?, get(r, 3)?));
        }
        for r in counts {
            let id: String = get(r, 0)?;
            let text: String = get(r, 1)?;
            let read = read_counts(&id, &text);
            old_counts.insert(id, read);
        }
    }

    struct Made<'r> {
        item: &'r RowsFor<'r>,
        record: Option<&'r ReportRecord>,
        rows: Option<HouseholdRows<'r>>,
        now: Option<(String, String, String)>,
    }
    let mut delta: BTreeMap<([String; 3], i64), i64> = BTreeMap::new();
    let (mut count_ids, mut count_texts) = (Vec::new(), Vec::new());
    let mut made = Vec::with_capacity(items.len());
    for item in items {
        let record = item.record.filter(|r| r.household.id == item.doc_id);
        let contributions = record.map_or(&[][..], |r| &r.counted.contributions[..]);
        let after = counts_of(c, contributions, known, fresh)?;
        for (area, keys) in &after {
            for (k, n) in keys {
                *delta.entry((area.clone(), *k)).or_default() += n;
            }
        }
        for (area, keys) in old_counts.remove(item.doc_id).unwrap_or_default() {
            for (k, n) in keys {
                *delta.entry((area.clone(), k)).or_default() -= n;
            }
        }
        if !after.is_empty() {
            count_ids.push(item.doc_id);
            count_texts.push(counts_text(&after));
        }
        let rows = record.map(|r| HouseholdRows::of(&r.household));
        let now = rows.as_ref().map(|rows| {
            let r = &rows.household;
            let (province, commune, _) =
                crate::report::areas().resolve(r.commune_code, r.created_at);
            (province, commune, r.village_id.to_string())
        });
        made.push(Made {
            item,
            record,
            rows,
            now,
        });
    }

    let mut d = Deferred::default();
    // One statement per table: the text must be static to be cached.
    for sql in [
        "DELETE FROM report_households WHERE id = ANY($1)",
        "DELETE FROM report_persons WHERE household_id = ANY($1)",
        "DELETE FROM report_visits WHERE household_id = ANY($1)",
        "DELETE FROM report_visit_services WHERE household_id = ANY($1)",
        "DELETE FROM report_consents WHERE household_id = ANY($1)",
        "DELETE FROM report_reviews WHERE household_id = ANY($1)",
    ] {
        d.push(sql, owned![ids.clone()]);
    }
    if !count_ids.is_empty() {
        d.push(
            "INSERT INTO report_counts (household_id, counts)
             SELECT * FROM unnest($1::TEXT[], $2::TEXT[])",
            owned![count_ids, count_texts],
        );
    }
    add_to_sums(&mut d, &delta);
    for m in &made {
        note_removal(
            &mut d,
            m.item.doc_id,
            before.remove(m.item.doc_id),
            m.now.as_ref(),
            m.item.covered_seq,
        );
        if let (Some(record), Some(rows), Some(now)) = (m.record, &m.rows, &m.now) {
            insert_rows(&mut d, m.item, record, rows, now);
        }
    }
    c.run_deferred(d)
}

/// The inserts of one household's rows.
fn insert_rows<'r>(
    d: &mut Deferred<'r>,
    item: &'r RowsFor<'r>,
    record: &'r ReportRecord,
    rows: &'r HouseholdRows<'r>,
    (province, commune_now, _): &'r (String, String, String),
) {
    let h = &record.household;
    let r = &rows.household;
    d.push(
        "INSERT INTO report_households (id, village_id, commune_code, commune_now, province_code,
            address, head_name, phone, member_count, device_access, target_groups, created_at,
            created_by, schema_version, conflicts, problems, updated_seq)
         VALUES ($1, $2, $3, $16, $17, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        owned![
            &r.id,
            &r.village_id,
            &r.commune_code,
            &r.address,
            &r.head_name,
            &r.phone,
            &r.member_count,
            &r.device_access,
            &r.target_groups,
            &r.created_at,
            &r.created_by,
            &r.schema_version,
            h.conflicts.len() as i64,
            h.problems.len() as i64,
            i64_of(item.covered_seq),
            commune_now,
            province,
        ],
    );
    for p in &rows.persons {
        d.push(
            "INSERT INTO report_persons (household_id, id, name, birth_year, gender,
                id_number, vneid_level, vneid_activated, bank_account, public_service_account,
                ehealth_book, digital_signature, basic_skills_certified, created_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             ON CONFLICT DO NOTHING",
            owned![
                &p.household_id,
                &p.id,
                &p.name,
                &p.birth_year,
                &p.gender,
                &p.id_number,
                &p.vneid_level,
                &p.vneid_activated,
                &p.bank_account,
                &p.public_service_account,
                &p.ehealth_book,
                &p.digital_signature,
                &p.basic_skills_certified,
                &p.created_at,
                &p.created_by,
            ],
        );
    }
    for v in &rows.visits {
        // The receipt time of the change that created the visit.
        let created_by = record
            .visit_changes
            .iter()
            .find(|(id, _)| id == v.id)
            .map(|(_, hash)| hash.to_vec());
        d.push(
            "INSERT INTO report_visits (household_id, id, visited_at, received_at,
                team_id, volunteer_ids, person_ids, duration_minutes, follow_up_on, feedback,
                consent_id, recorded_at, recorded_by)
             VALUES ($1, $2, $3, (SELECT received_at FROM changes WHERE hash = $4),
                $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT DO NOTHING",
            owned![
                &v.household_id,
                &v.id,
                &v.visited_at,
                created_by,
                &v.team_id,
                &v.volunteer_ids,
                &v.person_ids,
                &v.duration_minutes,
                &v.follow_up_on,
                &v.feedback,
                &v.consent_id,
                &v.recorded_at,
                &v.recorded_by,
            ],
        );
    }
    for s in &rows.visit_services {
        d.push(
            "INSERT INTO report_visit_services (household_id, visit_id, service_code,
                outcome, note) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING",
            owned![
                &s.household_id,
                &s.visit_id,
                &s.service_code,
                &s.outcome,
                &s.note,
            ],
        );
    }
    for r in &record.counted.reviews {
        d.push(
            "INSERT INTO report_reviews (household_id, province, commune, village, review)
             VALUES ($1, $2, $3, $4, $5)",
            owned![
                item.doc_id,
                &r.area.province,
                &r.area.commune,
                &r.area.village,
                json(r),
            ],
        );
    }
    for k in &rows.consents {
        d.push(
            "INSERT INTO report_consents (household_id, id, person_id, purpose, method,
                given_at, recorded_by, withdrawn_at, withdrawn_by, withdrawal_reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT DO NOTHING",
            owned![
                &k.household_id,
                &k.id,
                &k.person_id,
                &k.purpose,
                &k.method,
                &k.given_at,
                &k.recorded_by,
                &k.withdrawn_at,
                &k.withdrawn_by,
                &k.withdrawal_reason,
            ],
        );
    }
}

fn note_removal<'r>(
    d: &mut Deferred<'r>,
    doc_id: &'r str,
    before: Option<(String, String, String)>,
    now: Option<&'r (String, String, String)>,
    seq: u64,
) {
    if let Some((_, _, village)) = now {
        d.push(
            "DELETE FROM report_removed WHERE household_id = $1 AND village = $2",
            owned![doc_id, village],
        );
    }
    if let Some(old) = before
        && Some(&old) != now
    {
        d.push(
            "INSERT INTO report_removed (household_id, province, commune, village, seq)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (household_id, village)
             DO UPDATE SET province = excluded.province, commune = excluded.commune,
                 seq = excluded.seq",
            owned![doc_id, old.0, old.1, old.2, i64_of(seq)],
        );
    }
}

/// What one household adds to `report_sums`: by area, each key's count.
type Counts = BTreeMap<[String; 3], BTreeMap<i64, i64>>;
/// `Counts` as stored in `report_counts` (JSON).
type StoredCounts = Vec<([String; 3], Vec<(i64, i64)>)>;

fn counts_of(
    c: &mut PgConn,
    contributions: &[gocua_report::Contribution],
    known: &KeyIds,
    fresh: &mut KeyIds,
) -> StorageResult<Counts> {
    let mut out = Counts::new();
    for con in contributions {
        let k = &con.key;
        let parts = (json(&k.indicator), json(&k.basis), json(&k.breakdown));
        let id = match known.get(&parts).or_else(|| fresh.get(&parts)) {
            Some(id) => *id,
            None => {
                let id = key_id(c, &parts)?;
                fresh.insert(parts, id);
                id
            }
        };
        let area = [
            k.area.province.clone(),
            k.area.commune.clone(),
            k.area.village.clone(),
        ];
        *out.entry(area).or_default().entry(id).or_default() += i64_of(con.count);
    }
    Ok(out)
}

/// The number of a key, given now if it has none.
fn key_id(c: &mut PgConn, parts: &(String, String, String)) -> StorageResult<i64> {
    let found = c.query_opt(
        "SELECT id FROM report_keys WHERE indicator = $1 AND basis = $2 AND breakdown = $3",
        &[&parts.0, &parts.1, &parts.2],
    )?;
    match found {
        Some(r) => get(&r, 0),
        // Only the materializer's one connection numbers keys, so no
        // other transaction races this insert.
        None => get(
            &c.query_one(
                "INSERT INTO report_keys (indicator, basis, breakdown) VALUES ($1, $2, $3)
                 ON CONFLICT (indicator, basis, breakdown)
                 DO UPDATE SET indicator = excluded.indicator
                 RETURNING id",
                &[&parts.0, &parts.1, &parts.2],
            )?,
            0,
        ),
    }
}

fn counts_text(counts: &Counts) -> String {
    let groups: StoredCounts = counts
        .iter()
        .map(|(area, keys)| (area.clone(), keys.iter().map(|(k, n)| (*k, *n)).collect()))
        .collect();
    json(&groups)
}

fn read_counts(doc_id: &str, text: &str) -> Counts {
    match serde_json::from_str::<StoredCounts>(text) {
        Ok(groups) => groups
            .into_iter()
            .map(|(area, keys)| (area, keys.into_iter().collect()))
            .collect(),
        Err(e) => {
            tracing::error!(doc = %doc_id, error = %e, "stored report counts do not read; run admin rebuild-report");
            Counts::new()
        }
    }
}

/// Moves `report_sums` by `delta` (a batch's households summed: one
/// statement, whatever their number), dropping the sums that reach zero.
fn add_to_sums(d: &mut Deferred<'_>, delta: &BTreeMap<([String; 3], i64), i64>) {
    let (mut p, mut cm, mut v, mut k, mut n) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut zp, mut zc, mut zv, mut zk) = (vec![], vec![], vec![], vec![]);
    for ((area, key), count) in delta {
        if *count == 0 {
            continue;
        }
        p.push(area[0].clone());
        cm.push(area[1].clone());
        v.push(area[2].clone());
        k.push(*key);
        n.push(*count);
        if *count < 0 {
            zp.push(area[0].clone());
            zc.push(area[1].clone());
            zv.push(area[2].clone());
            zk.push(*key);
        }
    }
    if p.is_empty() {
        return;
    }
    d.push(
        "INSERT INTO report_sums (province, commune, village, key_id, count)
         SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::BIGINT[])
         ON CONFLICT (province, commune, village, key_id)
         DO UPDATE SET count = report_sums.count + excluded.count",
        owned![p, cm, v, k, n],
    );
    if !zp.is_empty() {
        d.push(
            "DELETE FROM report_sums s
             USING unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[]) AS t(p, c, v, k)
             WHERE s.province = t.p AND s.commune = t.c AND s.village = t.v AND s.key_id = t.k
               AND s.count = 0",
            owned![zp, zc, zv, zk],
        );
    }
}

/// Up to `limit` households due for new rows, with their snapshots.
pub(super) fn due(c: &mut PgConn, limit: u32) -> StorageResult<Vec<Snapshot>> {
    let rows = c.query(
        "SELECT s.doc_id, s.village_id, s.bytes, s.covered_seq
         FROM report_due d JOIN snapshots s ON s.doc_id = d.doc_id
         ORDER BY d.covered_seq, d.doc_id COLLATE \"C\" LIMIT $1",
        &[&i64::from(limit)],
    )?;
    rows.iter()
        .map(|r| {
            Ok(Snapshot {
                doc_id: get(r, 0)?,
                village_id: get(r, 1)?,
                bytes: get(r, 2)?,
                covered_seq: u64_of(get(r, 3)?),
                pending: Vec::new(),
            })
        })
        .collect()
}

/// Writes the rows of the households of `records` whose snapshot is still
/// the one due (a newer one may have arrived since they were read), and
/// what the step learnt of merges.
pub(super) fn save(
    c: &mut PgConn,
    records: &[(Snapshot, Option<ReportRecord>)],
    merges: &MergeUpdate,
    known: &KeyIds,
    fresh: &mut KeyIds,
) -> StorageResult<()> {
    let ids: Vec<&str> = records.iter().map(|(s, _)| s.doc_id.as_str()).collect();
    let seqs: Vec<i64> = records.iter().map(|(s, _)| i64_of(s.covered_seq)).collect();
    let current: HashSet<String> = c
        .query(
            "DELETE FROM report_due d USING unnest($1::TEXT[], $2::BIGINT[]) AS t(id, seq)
             WHERE d.doc_id = t.id AND d.covered_seq <= t.seq RETURNING d.doc_id",
            &[&ids, &seqs],
        )?
        .iter()
        .map(|r| get(r, 0))
        .collect::<StorageResult<_>>()?;
    let current_ids: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| current.contains(*id))
        .collect();
    let mut bumped: HashMap<String, i64> = HashMap::new();
    if !current_ids.is_empty() {
        for r in c.query(
            "DELETE FROM report_bumps WHERE doc_id = ANY($1) RETURNING doc_id, seq",
            &[&current_ids],
        )? {
            bumped.insert(get(&r, 0)?, get(&r, 1)?);
        }
    }
    let items: Vec<RowsFor<'_>> = records
        .iter()
        .filter(|(s, _)| current.contains(&s.doc_id))
        .map(|(s, record)| {
            let covered = merges.covered.get(&s.doc_id).copied().unwrap_or(0);
            let bump = bumped.get(&s.doc_id).copied().map(u64_of).unwrap_or(0);
            RowsFor {
                doc_id: &s.doc_id,
                record: record.as_ref(),
                covered_seq: s.covered_seq.max(covered).max(bump),
            }
        })
        .collect();
    write_many(c, &items, known, fresh)?;
    save_merges(c, merges)
}

/// Clears the report projection and fills it again from the snapshots, one
/// household at a time; returns how many households it holds.
pub(super) fn rebuild(c: &mut PgConn) -> StorageResult<u64> {
    // The keys' numbers stay: they are only names.
    c.batch(
        "DELETE FROM report_households; DELETE FROM report_persons; DELETE FROM report_visits;
         DELETE FROM report_visit_services; DELETE FROM report_consents;
         DELETE FROM report_reviews; DELETE FROM report_due; DELETE FROM report_counts;
         DELETE FROM report_sums; DELETE FROM report_removed; DELETE FROM report_merges;
         DELETE FROM report_bumps",
    )?;
    let ids: Vec<String> = c
        .query(
            "SELECT doc_id FROM snapshots WHERE bytes IS NOT NULL ORDER BY doc_id COLLATE \"C\"",
            &[],
        )?
        .iter()
        .map(|r| get(r, 0))
        .collect::<StorageResult<_>>()?;
    let start_day = start_day(c)?;
    let mut held = 0;
    let mut fresh = KeyIds::new();
    for id in ids {
        let row = c.query_one(
            "SELECT bytes, covered_seq FROM snapshots WHERE doc_id = $1",
            &[&id],
        )?;
        let bytes: Vec<u8> = get(&row, 0)?;
        let covered: i64 = get(&row, 1)?;
        let doc = match isolated(|| Automerge::load(&bytes)) {
            Ok(Ok(d)) => d,
            _ => {
                tracing::warn!(doc = %id, "snapshot does not load: left out of the report");
                continue;
            }
        };
        let read = crate::report::read_for_report(&id, &doc);
        if let Some(r) = &read {
            put_node(c, &crate::report::node_of(r))?;
        }
        let mut record = read.as_ref().and_then(|r| crate::report::finish(r, &[]));
        if let Some(r) = &mut record {
            let hashes: Vec<[u8; 32]> = crate::report::hashes_of(r).collect();
            let received = received_at(c, &hashes)?;
            crate::report::count(r, &received, start_day);
        }
        held += u64::from(record.is_some());
        write(c, &id, record.as_ref(), u64_of(covered), &mut fresh)?;
    }
    c.execute(
        "INSERT INTO report_due (doc_id, covered_seq)
         SELECT s.doc_id, s.covered_seq FROM snapshots s
         WHERE s.doc_id IN (SELECT doc_id FROM report_merges WHERE into_id IS NOT NULL
                            UNION SELECT into_id FROM report_merges WHERE into_id IS NOT NULL)
         ON CONFLICT DO NOTHING",
        &[],
    )?;
    Ok(held)
}

const PUT_NODE: &str =
    "INSERT INTO report_merges (doc_id, village_id, into_id, in_error) VALUES ($1, $2, $3, $4)
     ON CONFLICT (doc_id) DO UPDATE SET village_id = $2, into_id = $3, in_error = $4";

fn put_node(c: &mut PgConn, n: &MergeNode) -> StorageResult<()> {
    c.execute(PUT_NODE, &[&n.doc_id, &n.village_id, &n.into, &n.in_error])?;
    Ok(())
}

pub(super) fn save_merges(c: &mut PgConn, m: &MergeUpdate) -> StorageResult<()> {
    let mut d = Deferred::default();
    for n in &m.nodes {
        d.push(
            PUT_NODE,
            owned![&n.doc_id, &n.village_id, &n.into, n.in_error],
        );
    }
    if !m.gone.is_empty() {
        d.push(
            "DELETE FROM report_merges WHERE doc_id = ANY($1)",
            owned![&m.gone],
        );
    }
    for (id, seq) in &m.due {
        d.push(
            "INSERT INTO report_due (doc_id, covered_seq)
             SELECT doc_id, covered_seq FROM snapshots WHERE doc_id = $1 AND bytes IS NOT NULL
             ON CONFLICT DO NOTHING",
            owned![id],
        );
        d.push(
            "INSERT INTO report_bumps (doc_id, seq) VALUES ($1, $2)
             ON CONFLICT (doc_id) DO UPDATE SET seq = GREATEST(report_bumps.seq, excluded.seq)",
            owned![id, i64_of(*seq)],
        );
    }
    c.run_deferred(d)
}

pub(super) fn merge_nodes(c: &mut PgConn, ids: &[String]) -> StorageResult<Vec<MergeNode>> {
    let rows = c.query(
        "SELECT doc_id, village_id, into_id, in_error FROM report_merges WHERE doc_id = ANY($1)",
        &[&ids],
    )?;
    let mut by_id: HashMap<String, MergeNode> = HashMap::with_capacity(rows.len());
    for r in &rows {
        let n = MergeNode {
            doc_id: get(r, 0)?,
            village_id: get(r, 1)?,
            into: get(r, 2)?,
            in_error: get(r, 3)?,
        };
        by_id.insert(n.doc_id.clone(), n);
    }
    // In the order asked, as the SQLite backend answers.
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

pub(super) fn marked_into(c: &mut PgConn, ids: &[String]) -> StorageResult<Vec<(String, String)>> {
    let mut by_into: HashMap<String, Vec<String>> = HashMap::new();
    for r in c.query(
        "SELECT doc_id, into_id FROM report_merges WHERE into_id = ANY($1)",
        &[&ids],
    )? {
        by_into.entry(get(&r, 1)?).or_default().push(get(&r, 0)?);
    }
    // In the order asked, each one's marked households in byte order, as
    // the SQLite backend answers.
    let mut out = Vec::new();
    for id in ids {
        if let Some(mut docs) = by_into.remove(id) {
            docs.sort();
            out.extend(docs.into_iter().map(|d| (d, id.clone())));
        }
    }
    Ok(out)
}

pub(super) fn area_scope(c: &mut PgConn, code: &str) -> StorageResult<Option<AreaScope>> {
    let code = code.trim();
    let level: Option<String> = match c.query_opt(
        "SELECT level FROM areas WHERE list = '2025' AND code = $1
         ORDER BY level = 'province' DESC LIMIT 1",
        &[&code],
    )? {
        Some(r) => Some(get(&r, 0)?),
        None => None,
    };
    Ok(match level.as_deref() {
        Some("province") => Some(AreaScope::Province(code.to_string())),
        Some("commune") => Some(AreaScope::Commune(code.to_string())),
        _ => {
            let village: bool = get(
                &c.query_one(
                    "SELECT EXISTS (SELECT 1 FROM villages WHERE id = $1)",
                    &[&code],
                )?,
                0,
            )?;
            village.then(|| AreaScope::Village(code.to_string()))
        }
    })
}

/// Column `i` as the SQLite backend gives it: flags as 0/1 integers (typed
/// by the export's column).
fn cell(r: &Row, i: usize) -> StorageResult<Cell> {
    let ty = r.columns().get(i).map(|c| c.type_().clone());
    Ok(match ty {
        Some(Type::INT8) => get::<Option<i64>>(r, i)?.map_or(Cell::Null, Cell::Int),
        Some(Type::INT4) => get::<Option<i32>>(r, i)?.map_or(Cell::Null, |n| Cell::Int(n.into())),
        Some(Type::BOOL) => {
            get::<Option<bool>>(r, i)?.map_or(Cell::Null, |b| Cell::Int(i64::from(b)))
        }
        Some(Type::TEXT | Type::VARCHAR) => {
            get::<Option<String>>(r, i)?.map_or(Cell::Null, Cell::Text)
        }
        _ => Cell::Null,
    })
}

/// The households of the report in `$2`'s scope (its kind) `$3` (its code)
/// whose rows changed after cursor `$1`, in the units in force now.
macro_rules! scoped {
    ($select:literal) => {
        concat!(
            "WITH scoped AS (
                SELECT h.*, c.name AS commune_name, p.name AS province_name, v.name AS village_name
                FROM report_households h
                LEFT JOIN areas c ON c.list = '2025' AND c.level = 'commune' AND c.code = h.commune_now
                LEFT JOIN areas p ON p.list = '2025' AND p.level = 'province' AND p.code = h.province_code
                LEFT JOIN villages v ON v.id = h.village_id
                WHERE h.updated_seq > $1
                  AND ($2 = 'country'
                       OR ($2 = 'province' AND h.province_code = $3)
                       OR ($2 = 'commune' AND h.commune_now = $3)
                       OR ($2 = 'village' AND h.village_id = $3))
            ) ",
            $select
        )
    };
}

/// Streams the scoped rows of every extract table; see `Storage::extract`.
pub(super) fn extract(
    c: &mut PgConn,
    scope: &AreaScope,
    since: u64,
    sink: &mut dyn ExtractSink,
) -> StorageResult<u64> {
    let (kind, code) = scope_params(scope);
    let since = i64_of(since);
    let cursor: i64 = get(
        &c.query_one(
            "SELECT GREATEST($1::BIGINT,
                COALESCE((SELECT MAX(updated_seq) FROM report_households), 0),
                COALESCE((SELECT MAX(seq) FROM report_removed), 0))",
            &[&since],
        )?,
        0,
    )?;
    // Column order: crate::export::columns.
    let queries: [(ExtractTable, &str); 5] = [
        (
            ExtractTable::Households,
            scoped!(
                "SELECT id, province_code, province_name, commune_now, commune_name,
                    commune_code, village_id, village_name, head_name, address, phone,
                    member_count, device_access, target_groups, created_at, conflicts, problems,
                    updated_seq,
                    (SELECT COUNT(*) FROM report_visits v WHERE v.household_id = scoped.id)
                 FROM scoped ORDER BY province_code COLLATE \"C\", commune_now COLLATE \"C\",
                    village_id COLLATE \"C\", id COLLATE \"C\""
            ),
        ),
        (
            ExtractTable::Persons,
            scoped!(
                "SELECT p.household_id, p.id, p.name, p.birth_year, p.gender, p.id_number,
                    p.vneid_level, p.vneid_activated, p.bank_account, p.public_service_account,
                    p.ehealth_book, p.digital_signature, p.basic_skills_certified,
                    EXISTS (SELECT 1 FROM report_consents c WHERE c.household_id = p.household_id
                            AND c.person_id = p.id AND c.withdrawn_at IS NULL)
                 FROM scoped s JOIN report_persons p ON p.household_id = s.id
                 ORDER BY s.province_code COLLATE \"C\", s.commune_now COLLATE \"C\",
                    s.village_id COLLATE \"C\", p.household_id COLLATE \"C\", p.id COLLATE \"C\""
            ),
        ),
        (
            ExtractTable::Visits,
            scoped!(
                "SELECT v.household_id, v.id, v.visited_at, v.received_at, v.team_id,
                    v.volunteer_ids, v.person_ids, v.duration_minutes, v.follow_up_on, v.feedback
                 FROM scoped s JOIN report_visits v ON v.household_id = s.id
                 ORDER BY s.province_code COLLATE \"C\", s.commune_now COLLATE \"C\",
                    s.village_id COLLATE \"C\", v.household_id COLLATE \"C\",
                    v.visited_at COLLATE \"C\", v.id COLLATE \"C\""
            ),
        ),
        (
            ExtractTable::VisitServices,
            scoped!(
                "SELECT x.household_id, x.visit_id, x.service_code, x.outcome, x.note
                 FROM scoped s JOIN report_visit_services x ON x.household_id = s.id
                 ORDER BY s.province_code COLLATE \"C\", s.commune_now COLLATE \"C\",
                    s.village_id COLLATE \"C\", x.household_id COLLATE \"C\",
                    x.visit_id COLLATE \"C\", x.service_code COLLATE \"C\""
            ),
        ),
        (
            ExtractTable::Removed,
            // One row per household (its latest removal in the scope), as
            // SQLite's GROUP BY gives.
            "SELECT household_id, province, commune, village, seq FROM (
                SELECT DISTINCT ON (r.household_id) r.household_id, r.province, r.commune,
                    r.village, r.seq
                FROM report_removed r
                WHERE $1::BIGINT > 0 AND r.seq > $1
                  AND ($2 = 'country'
                       OR ($2 = 'province' AND r.province = $3)
                       OR ($2 = 'commune' AND r.commune = $3)
                       OR ($2 = 'village' AND r.village = $3))
                  AND NOT EXISTS (SELECT 1 FROM report_households h WHERE h.id = r.household_id
                       AND ($2 = 'country'
                            OR ($2 = 'province' AND h.province_code = $3)
                            OR ($2 = 'commune' AND h.commune_now = $3)
                            OR ($2 = 'village' AND h.village_id = $3)))
                ORDER BY r.household_id, r.seq DESC
             ) gone
             ORDER BY province COLLATE \"C\", commune COLLATE \"C\", village COLLATE \"C\",
                household_id COLLATE \"C\"",
        ),
    ];
    let params: [Param<'_>; 3] = [&since, &kind, &code];
    for (table, sql) in queries {
        sink.table(table)?;
        c.for_each(sql, &params, |r| {
            let cells = (0..r.len())
                .map(|i| cell(r, i))
                .collect::<StorageResult<Vec<_>>>()?;
            sink.row(cells)
        })?;
    }
    Ok(u64_of(cursor).max(u64_of(since)))
}

/// `serde_json` text of a key part, as gocua-report serializes it.
fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

pub(super) fn received_at(
    c: &mut PgConn,
    hashes: &[[u8; 32]],
) -> StorageResult<HashMap<[u8; 32], i64>> {
    let keys: Vec<&[u8]> = hashes.iter().map(|h| &h[..]).collect();
    let rows = c.query(
        "SELECT hash, received_at FROM changes WHERE hash = ANY($1)",
        &[&keys],
    )?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in &rows {
        let hash: Vec<u8> = get(r, 0)?;
        if let Ok(h) = <[u8; 32]>::try_from(hash.as_slice()) {
            out.insert(h, get(r, 1)?);
        }
    }
    Ok(out)
}

pub(super) fn start_day(c: &mut PgConn) -> StorageResult<u8> {
    let v: Option<String> =
        match c.query_opt("SELECT value FROM meta WHERE key = 'report_start_day'", &[])? {
            Some(r) => Some(get(&r, 0)?),
            None => None,
        };
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(1))
}

pub(super) fn set_start_day(c: &mut PgConn, day: u8) -> StorageResult<u64> {
    c.execute(
        "INSERT INTO meta (key, value) VALUES ('report_start_day', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&day.to_string()],
    )?;
    rebuild(c)
}

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

fn keys(c: &mut PgConn) -> StorageResult<HashMap<i64, KeyParts>> {
    let rows = c.query(
        "SELECT id, indicator, basis, breakdown FROM report_keys",
        &[],
    )?;
    let mut out = HashMap::new();
    for r in &rows {
        let id: i64 = get(r, 0)?;
        let part = |i: usize| get::<String>(r, i).ok();
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
            None => tracing::warn!(
                key = id,
                "a stored report key does not read; rebuild the report"
            ),
        }
    }
    Ok(out)
}

pub(super) fn sums(
    c: &mut PgConn,
    scope: &AreaScope,
    level: gocua_report::Level,
    f: &mut dyn FnMut(gocua_report::Contribution),
) -> StorageResult<()> {
    use gocua_report::Level;
    let by_village = matches!(level, Level::Team | Level::Village);
    // One statement per scope kind, so each uses that column's index.
    let (kind, code) = scope_params(scope);
    let sql = match (by_village, kind) {
        (true, "province") => {
            "SELECT key_id, province, commune, village, count FROM report_sums
             WHERE province = $1 ORDER BY village COLLATE \"C\""
        }
        (true, "commune") => {
            "SELECT key_id, province, commune, village, count FROM report_sums
             WHERE commune = $1 ORDER BY village COLLATE \"C\""
        }
        (true, "village") => {
            "SELECT key_id, province, commune, village, count FROM report_sums
             WHERE village = $1 ORDER BY village COLLATE \"C\""
        }
        (true, _) => {
            "SELECT key_id, province, commune, village, count FROM report_sums
             WHERE $1 = '' ORDER BY village COLLATE \"C\""
        }
        (false, "province") => {
            "SELECT key_id, province, commune, '', SUM(count)::BIGINT FROM report_sums
             WHERE province = $1 GROUP BY key_id, province, commune"
        }
        (false, "commune") => {
            "SELECT key_id, province, commune, '', SUM(count)::BIGINT FROM report_sums
             WHERE commune = $1 GROUP BY key_id, province, commune"
        }
        (false, "village") => {
            "SELECT key_id, province, commune, '', SUM(count)::BIGINT FROM report_sums
             WHERE village = $1 GROUP BY key_id, province, commune"
        }
        (false, _) => {
            "SELECT key_id, province, commune, '', SUM(count)::BIGINT FROM report_sums
             WHERE $1 = '' GROUP BY key_id, province, commune"
        }
    };
    let keys = keys(c)?;
    c.for_each(sql, &[&code], |r| {
        let Some((indicator, basis, breakdown)) = keys.get(&get::<i64>(r, 0)?) else {
            return Ok(());
        };
        let count: i64 = get(r, 4)?;
        f(gocua_report::Contribution {
            key: gocua_report::Key {
                indicator: *indicator,
                basis: *basis,
                breakdown: breakdown.clone(),
                area: gocua_report::Area {
                    province: get(r, 1)?,
                    commune: get(r, 2)?,
                    village: get(r, 3)?,
                },
            },
            count: u64_of(count),
        });
        Ok(())
    })
}

pub(super) fn reviews(
    c: &mut PgConn,
    scope: &AreaScope,
    limit: u32,
) -> StorageResult<Vec<gocua_report::Review>> {
    let (kind, code) = scope_params(scope);
    let sql = match kind {
        "province" => {
            "SELECT review FROM report_reviews WHERE province = $1
             ORDER BY province COLLATE \"C\", commune COLLATE \"C\", village COLLATE \"C\",
                household_id COLLATE \"C\" LIMIT $2"
        }
        "commune" => {
            "SELECT review FROM report_reviews WHERE commune = $1
             ORDER BY province COLLATE \"C\", commune COLLATE \"C\", village COLLATE \"C\",
                household_id COLLATE \"C\" LIMIT $2"
        }
        "village" => {
            "SELECT review FROM report_reviews WHERE village = $1
             ORDER BY province COLLATE \"C\", commune COLLATE \"C\", village COLLATE \"C\",
                household_id COLLATE \"C\" LIMIT $2"
        }
        _ => {
            "SELECT review FROM report_reviews WHERE $1 = ''
             ORDER BY province COLLATE \"C\", commune COLLATE \"C\", village COLLATE \"C\",
                household_id COLLATE \"C\" LIMIT $2"
        }
    };
    let rows = c.query(sql, &[&code, &i64::from(limit)])?;
    let mut out = Vec::new();
    for r in &rows {
        if let Ok(review) = serde_json::from_str(&get::<String>(r, 0)?) {
            out.push(review);
        }
    }
    Ok(out)
}

pub(super) fn roster(c: &mut PgConn, scope: &AreaScope) -> StorageResult<gocua_report::Roster> {
    let (kind, code) = scope_params(scope);
    let rows = c.query(
        "SELECT v.id, v.commune_code, (SELECT tv.team_id FROM team_villages tv
             WHERE tv.village_id = v.id ORDER BY tv.team_id COLLATE \"C\" LIMIT 1)
         FROM villages v
         LEFT JOIN areas c ON c.list = '2025' AND c.level = 'commune' AND c.code = v.commune_code
         WHERE $1 = 'country'
            OR ($1 = 'province' AND c.parent_code = $2)
            OR ($1 = 'commune' AND v.commune_code = $2)
            OR ($1 = 'village' AND v.id = $2)
         ORDER BY v.id COLLATE \"C\"",
        &[&kind, &code],
    )?;
    let villages: Vec<gocua_report::RosterVillage> = rows
        .iter()
        .map(|r| {
            Ok(gocua_report::RosterVillage {
                id: get(r, 0)?,
                commune_code: get(r, 1)?,
                team_id: get(r, 2)?,
            })
        })
        .collect::<StorageResult<_>>()?;
    let mut teams: Vec<gocua_report::RosterTeam> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for v in &villages {
        if let Some(t) = &v.team_id
            && seen.insert(t.clone())
        {
            let n: i64 = get(
                &c.query_one("SELECT COUNT(*) FROM volunteers WHERE team_id = $1", &[t])?,
                0,
            )?;
            teams.push(gocua_report::RosterTeam {
                id: t.clone(),
                volunteers: u64::try_from(n).ok(),
            });
        }
    }
    let rows = c
        .query(
            "SELECT t.id, t.topic, t.held_on, t.commune_code, t.team_id, a.volunteer_id
             FROM trainings t
             LEFT JOIN areas c ON c.list = '2025' AND c.level = 'commune' AND c.code = t.commune_code
             LEFT JOIN training_attendees a ON a.training_id = t.id
             WHERE $1 = 'country'
                OR ($1 = 'province' AND c.parent_code = $2)
                OR ($1 = 'commune' AND t.commune_code = $2)
             ORDER BY t.id, a.volunteer_id COLLATE \"C\"",
            &[&kind, &code],
        )?
        .iter()
        .map(|r| {
            Ok(crate::report::TrainingRow {
                id: get(r, 0)?,
                topic: get(r, 1)?,
                held_on: get(r, 2)?,
                commune_code: get(r, 3)?,
                team_id: get(r, 4)?,
                attendee: get(r, 5)?,
            })
        })
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(gocua_report::Roster {
        villages,
        teams,
        trainings: Some(crate::report::roster_trainings(rows)),
    })
}

pub(super) fn scope_province(c: &mut PgConn, scope: &AreaScope) -> StorageResult<Option<String>> {
    fn parent_of(c: &mut PgConn, commune: &str) -> StorageResult<Option<String>> {
        match c.query_opt(
            "SELECT parent_code FROM areas WHERE list = '2025' AND level = 'commune' AND code = $1",
            &[&commune],
        )? {
            Some(r) => get(&r, 0),
            None => Ok(None),
        }
    }
    match scope {
        AreaScope::Country => Ok(None),
        AreaScope::Province(p) => Ok(Some(p.clone())),
        AreaScope::Commune(k) => parent_of(c, k),
        AreaScope::Village(v) => {
            let commune: Option<String> =
                match c.query_opt("SELECT commune_code FROM villages WHERE id = $1", &[v])? {
                    Some(r) => Some(get(&r, 0)?),
                    None => None,
                };
            match commune {
                Some(k) => parent_of(c, &k),
                None => Ok(None),
            }
        }
    }
}
