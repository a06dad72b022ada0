//! Corrections as edits (docs/data-model.md, "Corrections"): a member
//! removed, a visit corrected or cancelled, a household marked registered in
//! error. Nothing is deleted: each is a change that merges like any edit,
//! stays in the document and in `household show`, and takes the record out
//! of the lists and counts. Each can be undone, by another edit.

use super::{Inner, Store, Touch, query, stamp, write_doc};
use crate::doc::schema as key;
use crate::doc::{self, FieldEdit, Stamp};
use crate::error::{Error, Field, Kind, Problem, Result};
use crate::model::*;
use crate::validate as v;

/// The keys of one kind of correction: `[at, by, reason]`.
type Keys = [&'static str; 3];

const MEMBER_REMOVED: Keys = [
    key::member::REMOVED_AT,
    key::member::REMOVED_BY,
    key::member::REMOVAL_REASON,
];
const VISIT_CANCELLED: Keys = [
    key::visit::CANCELLED_AT,
    key::visit::CANCELLED_BY,
    key::visit::CANCEL_REASON,
];
const HOUSEHOLD_IN_ERROR: Keys = [key::IN_ERROR_AT, key::IN_ERROR_BY, key::IN_ERROR_REASON];

/// The edits that mark a record (`Some(reason)`) or undo the mark (`None`).
fn marking(keys: Keys, stamp: &Stamp, mark: Option<Option<String>>) -> Vec<FieldEdit> {
    match mark {
        Some(reason) => vec![
            (keys[0], doc::str_value(stamp.at.clone())),
            (keys[1], doc::str_value(stamp.volunteer_id.clone())),
            (keys[2], doc::opt_str(reason)),
        ],
        None => keys.iter().map(|k| (*k, None)).collect(),
    }
}

/// Checks that a record is (or is not) marked before marking it (or undoing).
fn check_mark(field: Field, id: &str, marked: bool, mark: bool) -> Result<()> {
    match (marked, mark) {
        (true, true) => Err(Error::invalid(field, id, Problem::AlreadyCorrected)),
        (false, false) => Err(Error::invalid(field, id, Problem::NotCorrected)),
        _ => Ok(()),
    }
}

fn reason(text: Option<String>) -> Result<Option<String>> {
    Ok(v::optional_note(Field::Value, text.as_deref())?)
}

impl Store {
    /// Takes a member out of the household (moved away, died, entered by
    /// mistake): kept in the document with who removed them, when and why.
    pub fn remove_member(&self, member: &str, why: Option<String>) -> Result<Person> {
        self.mark_member(member, Some(why))
    }

    /// Undoes [`Store::remove_member`].
    pub fn restore_member(&self, member: &str) -> Result<Person> {
        self.mark_member(member, None)
    }

    fn mark_member(&self, member: &str, mark: Option<Option<String>>) -> Result<Person> {
        let mut g = self.lock();
        let ident = g.identity.clone().ok_or(Error::NotInitialized)?;
        let pid = query::resolve(&g.conn, Kind::Person, member, None)?;
        let hid = query::household_of(&g.conn, Kind::Person, &pid)?;
        let removed: Option<String> = g
            .conn
            .prepare_cached("SELECT removed_at FROM persons WHERE id = ?1")?
            .query_row([&pid], |r| r.get(0))?;
        check_mark(Field::PersonId, &pid, removed.is_some(), mark.is_some())?;
        let mark = mark.map(reason).transpose()?;
        let stamp = stamp(&ident);
        let edits = marking(MEMBER_REMOVED, &stamp, mark.clone());
        let action = if mark.is_some() {
            "member.remove"
        } else {
            "member.restore"
        };
        let w = write_doc(&mut g, &hid, &stamp, action, Touch::Person(&pid), |tx| {
            doc::put_record(tx, doc::MEMBERS, &pid, &edits)
        })?;
        w.person.ok_or(Error::NotFound {
            kind: Kind::Person,
            id: pid,
        })
    }

    /// Cancels a visit recorded by mistake: it stays in the household's
    /// history, out of every count.
    pub fn cancel_visit(&self, visit: &str, why: Option<String>) -> Result<Visit> {
        self.mark_visit(visit, Some(why))
    }

    /// Undoes [`Store::cancel_visit`].
    pub fn restore_visit(&self, visit: &str) -> Result<Visit> {
        self.mark_visit(visit, None)
    }

    fn mark_visit(&self, visit: &str, mark: Option<Option<String>>) -> Result<Visit> {
        let mut g = self.lock();
        let ident = g.identity.clone().ok_or(Error::NotInitialized)?;
        let (vid, hid, current) = visit_of(&mut g, visit)?;
        check_mark(
            Field::VisitId,
            &vid,
            current.cancelled.is_some(),
            mark.is_some(),
        )?;
        let mark = mark.map(reason).transpose()?;
        let stamp = stamp(&ident);
        let edits = marking(VISIT_CANCELLED, &stamp, mark.clone());
        let action = if mark.is_some() {
            "visit.cancel"
        } else {
            "visit.restore"
        };
        write_visit(&mut g, &hid, &vid, &stamp, action, |tx| {
            doc::put_record(tx, doc::VISITS, &vid, &edits)
        })
    }

    /// Corrects a visit's date, duration, follow-up, feedback or services.
    /// The same rules as recording apply to the visit as it will be.
    pub fn edit_visit(&self, visit: &str, edit: VisitEdit) -> Result<Visit> {
        let mut g = self.lock();
        let ident = g.identity.clone().ok_or(Error::NotInitialized)?;
        let (vid, hid, current) = visit_of(&mut g, visit)?;
        if current.cancelled.is_some() {
            return Err(Error::invalid(Field::VisitId, vid, Problem::VisitCancelled));
        }
        let stamp = stamp(&ident);
        let mut edits: Vec<FieldEdit> = Vec::new();
        let visited_at = match edit.visited_at.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() => {
                let at = v::moment(Field::VisitedAt, t)?;
                let registered = query::registered_at(&g.conn, &hid)?;
                v::visit_moment(
                    &at,
                    time::OffsetDateTime::now_utc(),
                    registered.as_deref(),
                    edit.entered_late,
                )
                .map_err(|mut e| {
                    e.value = t.to_string();
                    e
                })?;
                edits.push((key::visit::VISITED_AT, doc::str_value(at.clone())));
                at
            }
            _ => current.visited_at.clone(),
        };
        if let Some(d) = edit.duration_minutes {
            let d = v::in_range(Field::DurationMinutes, d, 0, 24 * 60)?;
            edits.push((key::visit::DURATION_MINUTES, doc::opt_int(Some(d))));
        }
        let follow_up = match edit.follow_up_on.as_deref().map(str::trim) {
            Some("") => {
                edits.push((key::visit::FOLLOW_UP_ON, None));
                None
            }
            Some(d) => {
                let day = v::date(Field::FollowUpOn, d)?.to_string();
                edits.push((key::visit::FOLLOW_UP_ON, doc::str_value(day.clone())));
                Some(day)
            }
            None => current.follow_up_on.clone(),
        };
        // A new date must not leave the follow-up before the visit either.
        if let Some(day) = &follow_up {
            v::follow_up(v::date(Field::FollowUpOn, day)?, &visited_at)?;
        }
        if let Some(f) = &edit.feedback {
            edits.push((
                key::visit::FEEDBACK,
                doc::opt_str(v::optional_note(Field::Value, Some(f))?),
            ));
        }
        let services = super::check_services(&g.conn, &edit.services)?;
        let mut remove: Vec<String> = Vec::new();
        for code in &edit.remove_services {
            let code = code.trim();
            if !current.services.iter().any(|s| s.service == code) {
                return Err(Error::invalid(
                    Field::ServiceCode,
                    code,
                    Problem::NotInHousehold,
                ));
            }
            if !services.iter().any(|s| s.service == code) {
                remove.push(code.to_string());
            }
        }
        let left = current
            .services
            .iter()
            .filter(|s| !remove.contains(&s.service))
            .count()
            + services
                .iter()
                .filter(|s| !current.services.iter().any(|c| c.service == s.service))
                .count();
        if left == 0 {
            return Err(Error::invalid(Field::ServiceCode, "", Problem::NoService));
        }
        edits.push((key::visit::EDITED_AT, doc::str_value(stamp.at.clone())));
        edits.push((
            key::visit::EDITED_BY,
            doc::str_value(stamp.volunteer_id.clone()),
        ));
        write_visit(&mut g, &hid, &vid, &stamp, "visit.edit", |tx| {
            doc::edit_visit(tx, &vid, &edits, &services, &remove)
        })
    }

    /// Marks a household as registered by mistake: it leaves every list and
    /// count, and nothing more is recorded in it until this is undone.
    pub fn mark_in_error(&self, household: &str, why: Option<String>) -> Result<Household> {
        self.mark_household(household, Some(why))
    }

    /// Undoes [`Store::mark_in_error`].
    pub fn unmark_in_error(&self, household: &str) -> Result<Household> {
        self.mark_household(household, None)
    }

    fn mark_household(&self, household: &str, mark: Option<Option<String>>) -> Result<Household> {
        let mut g = self.lock();
        let ident = g.identity.clone().ok_or(Error::NotInitialized)?;
        let hid = query::resolve(&g.conn, Kind::Household, household, None)?;
        let marked = query::in_error(&g.conn, &hid)?;
        check_mark(Field::HouseholdId, &hid, marked, mark.is_some())?;
        let mark = mark.map(reason).transpose()?;
        let stamp = stamp(&ident);
        let edits = marking(HOUSEHOLD_IN_ERROR, &stamp, mark.clone());
        let action = if mark.is_some() {
            "household.in_error"
        } else {
            UNMARK_IN_ERROR
        };
        write_doc(&mut g, &hid, &stamp, action, Touch::Root, |tx| {
            doc::edit_household(tx, &edits, &[], &[])
        })?
        .household
        .ok_or(Error::NotFound {
            kind: Kind::Household,
            id: hid,
        })
    }
}

/// The one write a household marked registered in error accepts.
pub(super) const UNMARK_IN_ERROR: &str = "household.in_error.undo";

/// A visit's id, its household's and the visit as its document holds it.
fn visit_of(g: &mut Inner, visit: &str) -> Result<(String, String, Visit)> {
    let vid = query::resolve(&g.conn, Kind::Visit, visit, None)?;
    let hid = query::household_of(&g.conn, Kind::Visit, &vid)?;
    let actor = g.actor.clone();
    let document =
        super::docs::load(&g.conn, &mut g.cache, &hid, &actor)?.ok_or_else(|| Error::NotFound {
            kind: Kind::Household,
            id: hid.clone(),
        })?;
    let found = doc::record(&document, doc::VISITS, &vid)
        .map(|obj| doc::read_visit(&document, &hid, vid.clone(), &obj).0);
    g.cache.put(&hid, document);
    let current = found.ok_or_else(|| Error::NotFound {
        kind: Kind::Visit,
        id: vid.clone(),
    })?;
    Ok((vid, hid, current))
}

/// Writes a change to visit `vid` and returns the visit read back.
fn write_visit<F>(
    g: &mut Inner,
    hid: &str,
    vid: &str,
    stamp: &Stamp,
    action: &str,
    f: F,
) -> Result<Visit>
where
    F: FnOnce(
        &mut automerge::transaction::Transaction<'_>,
    ) -> std::result::Result<(), automerge::AutomergeError>,
{
    let path = format!("{}/{vid}", doc::VISITS);
    write_doc(g, hid, stamp, action, Touch::Path(&path), f)?;
    let (_, _, v) = visit_of(g, vid)?;
    Ok(v)
}
