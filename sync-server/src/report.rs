//! The report projection: every household flattened into rows (households,
//! members, visits and their services, consents), the record-level data that
//! province reports and exports are made from (docs/reports.md).
//!
//! It follows the bootstrap snapshots: saving a household's snapshot marks it
//! due, and once the materializer has caught up with the log it reads the due
//! households from their snapshots, with the reader every device uses
//! (`gocua_household::read`), and replaces their rows. Reading a household
//! costs more than folding a change into it, so a household written many
//! times while the materializer is behind is read once. It holds nothing that
//! the snapshots and the log do not: a rebuild from the snapshots gives the
//! same rows.
//!
//! A visit also carries the time the server received the change that created
//! it (phones' clocks are often wrong): the change is found through the
//! visit's object id, so the time is the same however often the household is
//! folded again.

use automerge::{Automerge, ROOT, ReadDoc};
use gocua_household::{Scope, read_household_as, schema};

use crate::isolate::isolated;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use gocua_household::merge;

use crate::storage::{MergeNode, MergeUpdate, ReportRecord, Snapshot, Storage, StorageResult};

/// The administrative units reports are made in: a household recorded under
/// a pre-2025 commune code is reported under the unit in force now, by the
/// rule of docs/reports.md ("Areas and levels"), shared with the devices.
pub fn areas() -> &'static gocua_report::AreaIndex {
    static AREAS: std::sync::OnceLock<gocua_report::AreaIndex> = std::sync::OnceLock::new();
    AREAS.get_or_init(|| {
        gocua_report::AreaIndex::embedded().unwrap_or_else(|e| {
            tracing::error!(error = %e, "the embedded administrative units do not load");
            gocua_report::AreaIndex::default()
        })
    })
}

/// The hashes whose receipt times `count` needs.
pub fn hashes_of(record: &ReportRecord) -> impl Iterator<Item = [u8; 32]> + '_ {
    record
        .household_change
        .into_iter()
        .chain(record.visit_changes.iter().map(|(_, h)| *h))
}

fn rfc3339(secs: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// The year ages are counted at: this year in Vietnam. Counts by age band
/// are therefore as of the year they were made (`rebuild-report` renews
/// them; docs/reports.md).
fn age_year() -> i32 {
    time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap_or(time::UtcOffset::UTC))
        .year()
}

/// Fills `record.counted`: its contributions to the indicators, with the
/// server's receipt times (`received`, by change hash) for the clock-skew
/// rule, and periods starting on `start_day`.
pub fn count(
    record: &mut ReportRecord,
    received: &std::collections::HashMap<[u8; 32], i64>,
    start_day: u8,
) {
    let receipts = gocua_report::Receipts {
        household: record
            .household_change
            .and_then(|h| received.get(&h))
            .and_then(|t| rfc3339(*t)),
        visits: record
            .visit_changes
            .iter()
            .filter_map(|(v, h)| Some((v.clone(), rfc3339(*received.get(h)?)?)))
            .collect(),
    };
    let ctx = gocua_report::Context {
        periods: gocua_report::PeriodConfig::starting_on(i64::from(start_day)).unwrap_or_default(),
        areas: areas(),
        receipts: &receipts,
        age_year: age_year(),
    };
    let household = &record.household;
    // A panic in the counting must not stop the report of a village.
    record.counted = match isolated(|| gocua_report::contributions(household, &ctx)) {
        Ok(c) => c,
        Err(panic) => {
            tracing::error!(doc = %household.id, %panic, "counting a household failed");
            gocua_report::HouseholdContributions {
                household_id: household.id.clone(),
                ..Default::default()
            }
        }
    };
}

/// Households read per step.
const STEP_HOUSEHOLDS: u32 = 500;

/// Reads the households due for new rows (a step's worth) from their
/// snapshots and writes their rows; returns how many it read.
///
/// A household of a merge group (docs/data-model.md, "Merged households")
/// counts under the household its group's marks lead to: an absorbed one
/// has no rows, the one that counts has everyone's records. When a step
/// reads a household whose mark changed, the rest of its group is made due
/// again; when it reads an absorbed one, the one it counts under is.
pub fn step(storage: &dyn Storage) -> StorageResult<usize> {
    let due = storage.report_due(STEP_HOUSEHOLDS)?;
    if due.is_empty() {
        return Ok(0);
    }
    let reads: Vec<Option<Read>> = due
        .iter()
        .map(|s| match &s.bytes {
            Some(b) => match isolated(|| Automerge::load(b)) {
                Ok(Ok(doc)) => read_for_report(&s.doc_id, &doc),
                _ => None,
            },
            None => None,
        })
        .collect();
    let (records, merges) = merged_records(storage, &due, &reads)?;
    let mut out: Vec<(Snapshot, Option<ReportRecord>)> = due.into_iter().zip(records).collect();
    let hashes: Vec<[u8; 32]> = out
        .iter()
        .filter_map(|(_, r)| r.as_ref())
        .flat_map(hashes_of)
        .collect();
    let received = storage.received_at(&hashes)?;
    let start_day = storage.report_start_day()?;
    for (_, r) in &mut out {
        if let Some(r) = r {
            count(r, &received, start_day);
        }
    }
    let n = out.len();
    storage.save_report(&out, &merges)?;
    tracing::debug!(households = n, "report rows written");
    Ok(n)
}

/// The records of the households `due` (read as `reads`), merges resolved,
/// and what the step learnt of merges.
fn merged_records(
    storage: &dyn Storage,
    due: &[Snapshot],
    reads: &[Option<Read>],
) -> StorageResult<(Vec<Option<ReportRecord>>, MergeUpdate)> {
    let mut update = MergeUpdate::default();
    let mut fresh: HashMap<String, MergeNode> = HashMap::new();
    for (s, r) in due.iter().zip(reads) {
        match r {
            Some(r) => {
                let n = node_of(r);
                fresh.insert(s.doc_id.clone(), n.clone());
                update.nodes.push(n);
            }
            None => update.gone.push(s.doc_id.clone()),
        }
    }
    let ids: Vec<String> = due.iter().map(|s| s.doc_id.clone()).collect();
    let stored: HashMap<String, MergeNode> = storage
        .merge_nodes(&ids)?
        .into_iter()
        .map(|n| (n.doc_id.clone(), n))
        .collect();
    // The households of this step that another's mark names.
    let pointed: BTreeSet<String> = storage
        .marked_into(&ids)?
        .into_iter()
        .map(|(_, into)| into)
        .collect();
    // The households whose rows depend on others: marked now or before, or
    // named by another's mark.
    let start: Vec<String> = ids
        .iter()
        .filter(|id| {
            fresh.get(*id).is_some_and(|n| n.into.is_some())
                || stored.get(*id).is_some_and(|n| n.into.is_some())
                || pointed.contains(*id)
                || stored
                    .values()
                    .any(|n| n.into.as_deref() == Some(id.as_str()))
        })
        .cloned()
        .collect();
    let plain = |r: &Option<Read>| r.as_ref().and_then(|r| finish(r, &[]));
    if start.is_empty() {
        return Ok((reads.iter().map(plain).collect(), update));
    }
    // The groups: every household linked to those by marks, old or new.
    let mut nodes: HashMap<String, MergeNode> = HashMap::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: Vec<String> = start;
    while let Some(id) = queue.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let node = match fresh.get(&id) {
            Some(n) => Some(n.clone()),
            None => storage.merge_nodes(std::slice::from_ref(&id))?.pop(),
        };
        let mut next: Vec<String> = storage
            .marked_into(std::slice::from_ref(&id))?
            .into_iter()
            .map(|(from, _)| from)
            .collect();
        if let Some(n) = &node {
            next.extend(n.into.clone());
            nodes.insert(id.clone(), n.clone());
        }
        if let Some(old) = stored.get(&id) {
            next.extend(old.into.clone());
        }
        queue.extend(next.into_iter().filter(|n| !seen.contains(n)));
    }
    let list: Vec<merge::Node<'_>> = nodes
        .values()
        .map(|n| merge::Node {
            id: &n.doc_id,
            village_id: &n.village_id,
            into: n.into.as_deref(),
            in_error: n.in_error,
        })
        .collect();
    let roots = merge::roots(&list);
    let in_batch: HashMap<&str, &Read> = due
        .iter()
        .zip(reads)
        .filter_map(|(s, r)| Some((s.doc_id.as_str(), r.as_ref()?)))
        .collect();
    // The absorbed households not read in this step, from their snapshots.
    let mut loaded: HashMap<String, (Read, u64)> = HashMap::new();
    for (s, r) in due.iter().zip(reads) {
        let id = s.doc_id.as_str();
        if r.is_none() || roots.get(id).map(String::as_str) != Some(id) {
            continue;
        }
        for other in merge::absorbed_into(&roots, id) {
            if !in_batch.contains_key(other)
                && !loaded.contains_key(other)
                && let Some(x) = load_read(storage, other)?
            {
                loaded.insert(other.to_string(), x);
            }
        }
    }
    let mut again: BTreeMap<String, u64> = BTreeMap::new();
    let cause = |again: &mut BTreeMap<String, u64>, id: &str, seq: u64| {
        let e = again.entry(id.to_string()).or_insert(seq);
        *e = (*e).max(seq);
    };
    let seq_in_batch: HashMap<&str, u64> = due
        .iter()
        .map(|s| (s.doc_id.as_str(), s.covered_seq))
        .collect();
    let mut records = Vec::with_capacity(due.len());
    for (s, r) in due.iter().zip(reads) {
        let id = s.doc_id.as_str();
        let Some(read) = r else {
            records.push(None);
            continue;
        };
        let Some(root) = roots.get(id) else {
            records.push(plain(r));
            continue;
        };
        if stored.get(id).map(|n| (&n.into, &n.village_id, n.in_error))
            != fresh.get(id).map(|n| (&n.into, &n.village_id, n.in_error))
        {
            // Where every household of the group counts may have changed.
            for other in &seen {
                cause(&mut again, other, s.covered_seq);
            }
        }
        if root != id {
            cause(&mut again, root, s.covered_seq);
            records.push(None);
            continue;
        }
        let mut parts: Vec<&Read> = Vec::new();
        let mut covered = s.covered_seq;
        for other in merge::absorbed_into(&roots, id) {
            if let Some(x) = in_batch.get(other) {
                parts.push(x);
                covered = covered.max(seq_in_batch.get(other).copied().unwrap_or(0));
            } else if let Some((x, seq)) = loaded.get(other) {
                parts.push(x);
                covered = covered.max(*seq);
            }
        }
        if !parts.is_empty() {
            update.covered.insert(id.to_string(), covered);
        }
        records.push(finish(read, &parts));
    }
    update.due = again
        .into_iter()
        .filter(|(id, _)| !in_batch.contains_key(id.as_str()))
        .collect();
    Ok((records, update))
}

/// Household `id` read from its current snapshot, with the log position
/// the snapshot covers.
fn load_read(storage: &dyn Storage, id: &str) -> StorageResult<Option<(Read, u64)>> {
    let Some(s) = storage.snapshot(id)? else {
        return Ok(None);
    };
    Ok(match &s.bytes {
        Some(b) => match isolated(|| Automerge::load(b)) {
            Ok(Ok(doc)) => read_for_report(id, &doc).map(|r| (r, s.covered_seq)),
            _ => None,
        },
        None => None,
    })
}

/// A household read from its snapshot for the report, before merges are
/// resolved and before it is counted.
#[derive(Debug, Clone)]
pub struct Read {
    pub household: gocua_household::Household,
    household_change: Option<[u8; 32]>,
    /// (visit id, the change that created it), for every visit.
    visit_changes: Vec<(String, [u8; 32])>,
}

/// What the merge resolution needs of a household read.
pub fn node_of(r: &Read) -> MergeNode {
    let h = &r.household;
    MergeNode {
        doc_id: h.id.clone(),
        village_id: h.village_id.clone(),
        into: h.merged.as_ref().map(|m| m.into.clone()),
        in_error: h.in_error.is_some(),
    }
}

/// The household `doc_id` as the report projection holds it, or `None` when
/// the document does not read as a household (it then has no rows). A
/// household alone: see [`step`] for merged ones.
pub fn record_of(doc_id: &str, doc: &Automerge) -> Option<ReportRecord> {
    finish(&read_for_report(doc_id, doc)?, &[])
}

/// Household `doc_id` read from its document, with the changes that created
/// it and its visits; `None` when it does not read as a household.
pub fn read_for_report(doc_id: &str, doc: &Automerge) -> Option<Read> {
    if doc.get_heads().is_empty() {
        return None;
    }
    // Documents come from devices: a reader panic must not stop the folding.
    let read = isolated(|| -> Option<Read> {
        let household = read_household_as(doc, doc_id, Scope::All).ok()?;
        let visits = match doc.get(ROOT, schema::VISITS).ok()? {
            Some((automerge::Value::Object(automerge::ObjType::Map), id)) => Some(id),
            _ => None,
        };
        let visit_changes = household
            .visits
            .iter()
            .filter_map(|v| {
                let (_, obj) = doc.get(visits.as_ref()?, v.id.as_str()).ok()??;
                let hash = doc.hash_for_opid(&obj)?;
                Some((v.id.clone(), hash.0))
            })
            .collect();
        // The first change sets `kind`: the household's own receipt.
        let household_change = match doc.get(ROOT, schema::KIND).ok()? {
            Some((_, id)) => doc.hash_for_opid(&id).map(|h| h.0),
            None => None,
        };
        Some(Read {
            household,
            household_change,
            visit_changes,
        })
    });
    match read {
        Ok(r) => r,
        Err(panic) => {
            tracing::error!(doc = doc_id, %panic, "reading a household for the report failed");
            None
        }
    }
}

/// The record of household `root` with the households merged into it.
/// Corrections: a household registered in error has no rows (an
/// incremental extract lists it as gone); removed members and cancelled
/// visits are in no figure and no extract.
pub fn finish(root: &Read, absorbed: &[&Read]) -> Option<ReportRecord> {
    if root.household.in_error.is_some() {
        return None;
    }
    let parts: Vec<&gocua_household::Household> = absorbed.iter().map(|r| &r.household).collect();
    let composed = match isolated(|| merge::compose(&root.household, &parts)) {
        Ok(h) => h,
        Err(panic) => {
            tracing::error!(doc = %root.household.id, %panic, "composing a merged household failed");
            return None;
        }
    };
    let household = composed.counted().into_owned();
    let kept: BTreeSet<&str> = household.visits.iter().map(|v| v.id.as_str()).collect();
    let visit_changes = std::iter::once(root)
        .chain(absorbed.iter().copied())
        .flat_map(|r| r.visit_changes.iter())
        .filter(|(v, _)| kept.contains(v.as_str()))
        .cloned()
        .collect();
    Some(ReportRecord {
        household,
        household_change: root.household_change,
        visit_changes,
        counted: Default::default(),
    })
}

/// Records listed for review in a report read over HTTP or written to a
/// file (each a row: bounded so that a province with a broken clock in
/// every phone still gives a file of reasonable size).
pub const REVIEWS_LISTED: u32 = 10_000;

/// The indicators of `scope` (docs/reports.md) from the contributions the
/// projection holds, at `level`, for `period` (default: the one containing
/// `today`), with at most `reviews` records listed for review.
pub fn indicators(
    storage: &dyn Storage,
    scope: &crate::storage::AreaScope,
    level: gocua_report::Level,
    period: Option<gocua_report::Period>,
    today: time::Date,
    reviews: u32,
) -> StorageResult<gocua_report::Report> {
    let periods = gocua_report::PeriodConfig::starting_on(i64::from(storage.report_start_day()?))
        .unwrap_or_default();
    let roster = storage.report_roster(scope)?;
    let request = gocua_report::Request {
        period: period.unwrap_or_else(|| periods.period_of(today)),
        periods,
        level,
        today,
    };
    let listed = storage.report_reviews(scope, reviews)?;
    if level == gocua_report::Level::Village {
        return by_village(storage, scope, &roster, &request, listed);
    }
    let teams = roster.village_teams();
    let mut totals = gocua_report::Totals::new(level);
    storage.each_report_sum(scope, level, &mut |c| totals.add(&teams, &c))?;
    Ok(gocua_report::build(
        &totals,
        &roster,
        areas(),
        &request,
        listed,
    ))
}

/// The village-level report, one village at a time: a province's sums by
/// village (over a million at 1,000 villages) are never all in memory, only
/// one village's and the finished units. The units are those `build` makes
/// for the whole scope, in the same order (by village id).
fn by_village(
    storage: &dyn Storage,
    scope: &crate::storage::AreaScope,
    roster: &gocua_report::Roster,
    request: &gocua_report::Request,
    listed: Vec<gocua_report::Review>,
) -> StorageResult<gocua_report::Report> {
    use gocua_report::{Level, Roster, Totals};
    let teams = roster.village_teams();
    let mut out = Villages::new(roster, request);
    let mut current: Option<(String, Totals)> = None;
    storage.each_report_sum(scope, Level::Village, &mut |c| {
        if let Some((v, totals)) = current.take_if(|(v, _)| *v != c.key.area.village) {
            out.village(&v, &totals);
        }
        let (_, totals) = current
            .get_or_insert_with(|| (c.key.area.village.clone(), Totals::new(Level::Village)));
        totals.add(&teams, &c);
    })?;
    if let Some((v, totals)) = current {
        out.village(&v, &totals);
    }
    let units = out.finish();
    let mut report = gocua_report::build(
        &Totals::new(Level::Village),
        &Roster::default(),
        areas(),
        request,
        listed,
    );
    report.units = units;
    Ok(report)
}

/// The units of a village-level report, made in village order.
struct Villages<'a> {
    roster: &'a gocua_report::Roster,
    request: &'a gocua_report::Request,
    /// The roster's villages not reported yet, in order.
    rest: std::iter::Peekable<std::vec::IntoIter<&'a gocua_report::RosterVillage>>,
    units: Vec<gocua_report::UnitReport>,
}

impl<'a> Villages<'a> {
    fn new(roster: &'a gocua_report::Roster, request: &'a gocua_report::Request) -> Self {
        let mut villages: Vec<&gocua_report::RosterVillage> = roster.villages.iter().collect();
        villages.sort_by(|a, b| a.id.cmp(&b.id));
        Villages {
            roster,
            request,
            rest: villages.into_iter().peekable(),
            units: Vec::new(),
        }
    }

    /// Village `id` with its sums, after the roster's villages before it.
    fn village(&mut self, id: &str, totals: &gocua_report::Totals) {
        while let Some(r) = self.rest.next_if(|r| r.id.as_str() < id) {
            self.unit(
                Some(r),
                &gocua_report::Totals::new(gocua_report::Level::Village),
            );
        }
        let listed = self.rest.next_if(|r| r.id == id);
        self.unit(listed, totals);
    }

    fn unit(
        &mut self,
        village: Option<&gocua_report::RosterVillage>,
        totals: &gocua_report::Totals,
    ) {
        let own = gocua_report::Roster {
            villages: village.into_iter().cloned().collect(),
            teams: self
                .roster
                .teams
                .iter()
                .filter(|t| village.and_then(|v| v.team_id.as_ref()) == Some(&t.id))
                .cloned()
                .collect(),
            // Village level: a training counts for no village.
            trainings: None,
        };
        let r = gocua_report::build(totals, &own, areas(), self.request, Vec::new());
        self.units.extend(r.units);
    }

    /// Every unit, the roster's villages with no sums included.
    fn finish(mut self) -> Vec<gocua_report::UnitReport> {
        while let Some(r) = self.rest.next() {
            self.unit(
                Some(r),
                &gocua_report::Totals::new(gocua_report::Level::Village),
            );
        }
        self.units
    }
}

/// Today in Vietnam.
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap_or(time::UtcOffset::UTC))
        .date()
}

/// One row of a roster's training query: a session, with one of its
/// attendees (or none), sessions in id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrainingRow {
    pub id: i64,
    pub topic: String,
    pub held_on: String,
    pub commune_code: String,
    pub team_id: Option<String>,
    pub attendee: Option<String>,
}

/// The sessions of `rows`, each with its attendees.
pub(crate) fn roster_trainings(rows: Vec<TrainingRow>) -> Vec<gocua_report::RosterTraining> {
    let mut out: Vec<(i64, gocua_report::RosterTraining)> = Vec::new();
    for r in rows {
        if out.last().is_none_or(|(id, _)| *id != r.id) {
            out.push((
                r.id,
                gocua_report::RosterTraining {
                    topic: r.topic,
                    held_on: r.held_on,
                    commune_code: r.commune_code,
                    team_id: r.team_id,
                    attendees: Vec::new(),
                },
            ));
        }
        if let (Some(a), Some((_, t))) = (r.attendee, out.last_mut()) {
            t.attendees.push(a);
        }
    }
    out.into_iter().map(|(_, t)| t).collect()
}
