//! Households imported from files (`gocua household import`): each record is
//! checked against every rule a volunteer's own writes follow, then written as
//! one household document in one SQLite transaction, with the key of its
//! normalized content, so that an import stopped anywhere leaves whole
//! households only, and importing a record again adds nothing.
//!
//! The checks are the ones of `add_household`, `add_member` and `record_visit`
//! (visits entered late: dated before the household's registration here),
//! applied to the whole record before anything is written.

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use super::{
    Inner, Store, check_services, docs, duplicates, household_fields, new_id, person_edits,
    projection, query, stamp,
};
use crate::doc::schema as key;
use crate::doc::{self, FieldEdit, Scope};
use crate::error::{Error, Field, Problem, Result};
use crate::model::*;
use crate::validate as v;

/// A record checked and built as a document, not written yet.
struct Prepared {
    key: String,
    id: String,
    document: automerge::Automerge,
    changes: Vec<automerge::Change>,
    household: Household,
    at: String,
}

/// The key of a record: its content with every text cleaned (NFC, spaces)
/// and the village as its id, hashed. The same household typed twice the same
/// way has the same key; "thon dong" and "Thôn Đông" are one village.
fn record_key(rec: &HouseholdRecord, village_id: &str) -> Result<String> {
    fn clean(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => *s = gocua_text::clean(s),
            serde_json::Value::Array(a) => a.iter_mut().for_each(clean),
            serde_json::Value::Object(o) => o.values_mut().for_each(clean),
            _ => {}
        }
    }
    let mut value =
        serde_json::to_value(rec).map_err(|e| Error::BadChanges(format!("record: {e}")))?;
    clean(&mut value);
    value["household"]["village"] = serde_json::Value::from(village_id);
    // serde_json's maps are sorted: the text is canonical.
    let digest = Sha256::digest(value.to_string().as_bytes());
    Ok(format!(
        "v1:{}",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ))
}

fn imported(conn: &rusqlite::Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT household_id FROM imported_records WHERE record_key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// Checks `rec` and builds its document, writing nothing.
fn prepare(g: &Inner, rec: &HouseholdRecord) -> Result<Prepared> {
    let ident = g.identity.clone().ok_or(Error::NotInitialized)?;
    let input = &rec.household;
    let village = query::resolve_village(&ident, &input.village)?;
    let record_key = record_key(rec, &village.id)?;
    let (edits, groups) = household_fields(&g.conn, input)?;
    let stamp = stamp(&ident);

    let mut members: Vec<(String, Vec<FieldEdit>)> = Vec::with_capacity(rec.members.len());
    for m in &rec.members {
        let name = v::required_text(Field::Name, &m.name, v::MAX_NAME)?;
        let mut all = person_edits(
            Some(name),
            m.birth_year,
            m.gender.as_deref(),
            m.id_number.as_deref(),
            &m.skills,
            None,
        )?;
        all.push((key::member::CREATED_AT, doc::str_value(stamp.at.clone())));
        all.push((
            key::member::CREATED_BY,
            doc::str_value(stamp.volunteer_id.clone()),
        ));
        members.push((new_id(), all));
    }

    let now = time::OffsetDateTime::now_utc();
    let mut visits = Vec::with_capacity(rec.visits.len());
    for r in &rec.visits {
        let input = &r.visit;
        if input.services.is_empty() {
            return Err(Error::invalid(Field::ServiceCode, "", Problem::NoService));
        }
        let services = check_services(&g.conn, &input.services)?;
        // The people of a new household are its members, by index: ids of
        // records elsewhere cannot belong to it.
        if let Some(p) = input.person_ids.iter().find(|p| !p.trim().is_empty()) {
            return Err(Error::invalid(Field::PersonId, p, Problem::NotInHousehold));
        }
        let mut person_ids: Vec<String> = Vec::new();
        for &i in &r.member_indexes {
            let (pid, _) = members.get(i).ok_or_else(|| {
                Error::invalid(Field::PersonId, i.to_string(), Problem::NotInHousehold)
            })?;
            if !person_ids.contains(pid) {
                person_ids.push(pid.clone());
            }
        }
        if let Some(c) = input.consent_id.as_deref().filter(|c| !c.trim().is_empty()) {
            return Err(Error::invalid(Field::ConsentId, c, Problem::NotInHousehold));
        }
        let visited_at = match input.visited_at.as_deref() {
            Some(t) if !t.trim().is_empty() => v::moment(Field::VisitedAt, t)?,
            _ => stamp.at.clone(),
        };
        // Visits made before the household is written here: entered late, as
        // `gocua_village_gen::write_record` records them.
        v::visit_moment(&visited_at, now, None, true).map_err(|mut e| {
            if let Some(t) = input.visited_at.as_deref() {
                e.value = t.trim().to_string();
            }
            e
        })?;
        let duration = input
            .duration_minutes
            .map(|d| v::in_range(Field::DurationMinutes, d, 0, 24 * 60))
            .transpose()?;
        let follow_up = match input.follow_up_on.as_deref() {
            Some(d) if !d.trim().is_empty() => {
                Some(v::follow_up(v::date(Field::FollowUpOn, d)?, &visited_at)?.to_string())
            }
            _ => None,
        };
        let feedback = v::optional_note(Field::Value, input.feedback.as_deref())?;
        let mut volunteers = vec![ident.volunteer_id.clone()];
        for o in &input.other_volunteer_ids {
            let o = o.trim().to_string();
            if !o.is_empty() && !volunteers.contains(&o) {
                volunteers.push(o);
            }
        }
        let edits: Vec<FieldEdit> = vec![
            (key::visit::VISITED_AT, doc::str_value(visited_at)),
            (key::visit::TEAM_ID, doc::str_value(ident.team_id.clone())),
            (key::visit::DURATION_MINUTES, doc::opt_int(duration)),
            (key::visit::FOLLOW_UP_ON, doc::opt_str(follow_up)),
            (key::visit::FEEDBACK, doc::opt_str(feedback)),
            (key::visit::CONSENT_ID, doc::opt_str(None)),
            (key::visit::RECORDED_AT, doc::str_value(stamp.at.clone())),
            (
                key::visit::RECORDED_BY,
                doc::str_value(stamp.volunteer_id.clone()),
            ),
        ];
        visits.push((new_id(), edits, volunteers, person_ids, services));
    }

    let (id, mut document, mut changes) = doc::new_household(
        g.actor.clone(),
        &stamp,
        &village.commune_code,
        &village.id,
        &edits,
        &groups,
    )?;
    if !members.is_empty() {
        changes.extend(doc::commit(&mut document, &stamp, "member.add", |tx| {
            for (pid, all) in &members {
                doc::put_record(tx, doc::MEMBERS, pid, all)?;
            }
            Ok(())
        })?);
    }
    if !visits.is_empty() {
        changes.extend(doc::commit(&mut document, &stamp, "visit.record", |tx| {
            for (vid, edits, volunteers, person_ids, services) in &visits {
                doc::put_visit(tx, vid, edits, volunteers, person_ids, services)?;
            }
            Ok(())
        })?);
    }
    let household = doc::read_household_as(&document, &id, Scope::All).map_err(|reason| {
        Error::BadDocument {
            id: id.clone(),
            reason: reason.to_string(),
        }
    })?;
    Ok(Prepared {
        key: record_key,
        id,
        document,
        changes,
        household,
        at: stamp.at,
    })
}

impl Store {
    /// Checks an import record against every rule its write would, writing
    /// nothing (the dry run before an import).
    pub fn check_import(&self, rec: &HouseholdRecord) -> Result<()> {
        prepare(&self.lock(), rec).map(|_| ())
    }

    /// Writes an import record as one household, whole or not at all; or
    /// says it was imported already, or that a household of the village is
    /// near-certainly this one (then nothing is written).
    pub fn import_record(&self, rec: &HouseholdRecord) -> Result<ImportOutcome> {
        self.import_record_as(rec, false)
    }

    /// [`Store::import_record`], and with `insist` a record a household of
    /// the village near-certainly is, is written too (and that one named).
    pub fn import_record_as(&self, rec: &HouseholdRecord, insist: bool) -> Result<ImportOutcome> {
        let mut g = self.lock();
        // Known already: no need to build it again (a file imported twice).
        let ident = g.identity.as_ref().ok_or(Error::NotInitialized)?;
        let village = query::resolve_village(ident, &rec.household.village)?;
        if let Some(household_id) = imported(&g.conn, &record_key(rec, &village.id)?)? {
            return Ok(ImportOutcome::AlreadyImported { household_id });
        }
        let p = prepare(&g, rec)?;
        let twin = duplicates::candidates_for(&g, &rec.household, &rec.members)?
            .into_iter()
            .find(|c| c.near_certain);
        if let Some(candidate) = &twin
            && !insist
        {
            return Ok(ImportOutcome::Duplicate {
                candidate: Box::new(candidate.clone()),
            });
        }
        let tx = g
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have imported it while this one prepared.
        if let Some(household_id) = imported(&tx, &p.key)? {
            return Ok(ImportOutcome::AlreadyImported { household_id });
        }
        docs::append(&tx, &p.id, &p.document, &p.changes, &p.at)?;
        for change in &p.changes {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO outbox (hash, doc_id, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![change.hash().to_string(), p.id, p.at])?;
        }
        projection::project_full(&tx, &p.household)?;
        tx.execute(
            "INSERT INTO imported_records (record_key, household_id, imported_at) VALUES (?1, ?2, ?3)",
            params![p.key, p.id, p.at],
        )?;
        tx.commit()?;
        g.cache.put(&p.id, p.document);
        Ok(match twin {
            Some(candidate) => ImportOutcome::StoredDespite {
                household_id: p.id,
                candidate: Box::new(candidate),
            },
            None => ImportOutcome::Stored { household_id: p.id },
        })
    }
}
