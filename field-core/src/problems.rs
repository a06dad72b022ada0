//! Problems: stored values that break the document schema or a rule that entry
//! enforces (docs/data-model.md).
//!
//! Entry validates one edit against the record as the device sees it; a merge
//! can still combine two valid edits into an invalid record (a birth year from
//! one device, an ID number from another), and another Automerge implementation
//! writes what it likes. So the rules are checked again on every read of a
//! document, record by record, and what breaks them is listed as a problem
//! instead of being shown as if it were fine or silently dropped.

use crate::error::{Error, Problem};
use crate::model::{Consent, Gender, Household, HouseholdProblem, Person, Visit};
use crate::validate as v;

/// Collects a record's problems; the first one found at a path wins, so a value
/// already reported as unreadable is not reported again as missing.
#[derive(Debug)]
pub struct Problems<'a> {
    household_id: &'a str,
    pub(crate) list: Vec<HouseholdProblem>,
}

impl<'a> Problems<'a> {
    pub fn new(household_id: &'a str) -> Problems<'a> {
        Problems {
            household_id,
            list: Vec::new(),
        }
    }

    pub fn add(&mut self, path: String, fields: &[&str], problem: Problem, value: String) {
        if self.list.iter().any(|p| p.path == path) {
            return;
        }
        self.list.push(HouseholdProblem {
            household_id: self.household_id.to_string(),
            path,
            fields: fields.iter().map(|f| f.to_string()).collect(),
            problem,
            value,
        });
    }

    /// Adds the problem of a refused check, if it refused.
    fn check<T>(&mut self, path: String, fields: &[&str], result: crate::error::Result<T>) {
        if let Err(Error::Invalid(i)) = result {
            self.add(path, fields, i.problem, i.value);
        }
    }

    /// The problems, sorted by path: the same list whatever the reading order.
    pub fn into_sorted(mut self) -> Vec<HouseholdProblem> {
        sort(&mut self.list);
        self.list
    }
}

pub fn sort(list: &mut [HouseholdProblem]) {
    list.sort_by(|a, b| {
        (&a.path, &a.fields, format!("{:?}", a.problem)).cmp(&(
            &b.path,
            &b.fields,
            format!("{:?}", b.problem),
        ))
    });
}

fn at(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}/{key}")
    }
}

fn text_rule(out: &mut Problems<'_>, prefix: &str, key: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        out.add(at(prefix, key), &[key], Problem::Required, String::new());
    } else if value.chars().count() > max {
        out.add(
            at(prefix, key),
            &[key],
            Problem::TooLong { max },
            value.to_string(),
        );
    }
}

/// The household's own fields.
pub fn root(out: &mut Problems<'_>, h: &Household) {
    text_rule(out, "", "head_name", &h.head_name, v::MAX_NAME);
    if h.address.chars().count() > v::MAX_ADDRESS {
        text_rule(out, "", "address", &h.address, v::MAX_ADDRESS);
    }
    if let Some(p) = &h.phone {
        // Stored in national form: anything else did not come through entry.
        match v::phone(p) {
            Ok(national) if &national == p => {}
            Ok(_) => out.add("phone".into(), &["phone"], Problem::BadPhone, p.clone()),
            Err(e) => out.check("phone".into(), &["phone"], Err::<(), _>(e)),
        }
    }
    if let Some(n) = h.member_count {
        out.check(
            "member_count".into(),
            &["member_count"],
            v::in_range(crate::error::Field::MemberCount, n, 1, 100),
        );
    }
}

/// A member: name, birth year, and the ID number against birth year and gender.
pub fn person(out: &mut Problems<'_>, prefix: &str, p: &Person) {
    text_rule(out, prefix, "name", &p.name, v::MAX_NAME);
    if let Some(y) = p.birth_year {
        out.check(
            at(prefix, "birth_year"),
            &["birth_year"],
            v::birth_year(y, v::this_year()),
        );
    }
    if let Some(n) = &p.id_number {
        match v::id_number(n, p.birth_year, p.gender) {
            Ok(stored) if &stored == n => {}
            Ok(_) => out.add(
                at(prefix, "id_number"),
                &["id_number"],
                Problem::IdNumberFormat,
                n.clone(),
            ),
            Err(Error::Invalid(i)) => {
                let mut fields = vec!["id_number"];
                if matches!(i.problem, Problem::IdNumberMismatch { .. }) {
                    if p.birth_year.is_some() {
                        fields.push("birth_year");
                    }
                    if matches!(p.gender, Some(Gender::Male | Gender::Female)) {
                        fields.push("gender");
                    }
                }
                out.add(at(prefix, "id_number"), &fields, i.problem, n.clone());
            }
            Err(_) => {}
        }
    }
}

/// A consent record: whose it is and what for.
pub fn consent(
    out: &mut Problems<'_>,
    prefix: &str,
    c: &Consent,
    has_member: &dyn Fn(&str) -> bool,
) {
    if c.person_id.is_empty() {
        out.add(
            at(prefix, "person_id"),
            &["person_id"],
            Problem::Required,
            String::new(),
        );
    } else if !has_member(&c.person_id) {
        out.add(
            at(prefix, "person_id"),
            &["person_id"],
            Problem::NotInHousehold,
            c.person_id.clone(),
        );
    }
    text_rule(out, prefix, "purpose", &c.purpose, v::MAX_ADDRESS);
    if c.given_at.is_empty() {
        out.add(
            at(prefix, "given_at"),
            &["given_at"],
            Problem::Required,
            String::new(),
        );
    } else {
        out.check(
            at(prefix, "given_at"),
            &["given_at"],
            v::moment(crate::error::Field::GivenAt, &c.given_at),
        );
    }
}

/// A visit: when, which services, and that what it refers to is this household's.
pub fn visit(
    out: &mut Problems<'_>,
    prefix: &str,
    visit: &Visit,
    has_member: &dyn Fn(&str) -> bool,
    has_consent: &dyn Fn(&str) -> bool,
) {
    if visit.visited_at.is_empty() {
        out.add(
            at(prefix, "visited_at"),
            &["visited_at"],
            Problem::Required,
            String::new(),
        );
    } else {
        out.check(
            at(prefix, "visited_at"),
            &["visited_at"],
            v::moment(crate::error::Field::VisitedAt, &visit.visited_at),
        );
    }
    if visit.services.is_empty() {
        out.add(
            at(prefix, "services"),
            &["services"],
            Problem::NoService,
            String::new(),
        );
    }
    if let Some(d) = visit.duration_minutes {
        out.check(
            at(prefix, "duration_minutes"),
            &["duration_minutes"],
            v::in_range(crate::error::Field::DurationMinutes, d, 0, 24 * 60),
        );
    }
    if let Some(d) = &visit.follow_up_on {
        out.check(
            at(prefix, "follow_up_on"),
            &["follow_up_on"],
            v::date(crate::error::Field::FollowUpOn, d),
        );
    }
    if let Some(c) = &visit.consent_id
        && !has_consent(c)
    {
        out.add(
            at(prefix, "consent_id"),
            &["consent_id"],
            Problem::NotInHousehold,
            c.clone(),
        );
    }
    let strangers: Vec<&str> = visit
        .person_ids
        .iter()
        .map(String::as_str)
        .filter(|p| !has_member(p))
        .collect();
    if !strangers.is_empty() {
        out.add(
            at(prefix, "person_ids"),
            &["person_ids"],
            Problem::NotInHousehold,
            strangers.join(","),
        );
    }
}

/// Whether the catalogue `kind` knows `code`: `None` if it does, else the codes
/// it knows.
pub type Known<'a> = &'a dyn Fn(&str, &str) -> crate::error::Result<Option<Vec<String>>>;

/// The codes of a household that its catalogue does not know: target groups and
/// each visit's services and outcomes. The catalogue is the store's (a province
/// adds services), so these are checked by the store, not when a document is read.
pub fn codes(
    household_id: &str,
    target_groups: &[String],
    visits: &[&Visit],
    known: Known<'_>,
) -> crate::error::Result<Vec<HouseholdProblem>> {
    let mut out = Problems::new(household_id);
    for g in target_groups {
        if let Some(known) = known(crate::catalogue::TARGET_GROUP, g)? {
            out.add(
                format!("target_groups/{g}"),
                &["target_groups"],
                Problem::UnknownCode { known },
                g.clone(),
            );
        }
    }
    for visit in visits {
        for s in &visit.services {
            let path = format!("visits/{}/services/{}", visit.id, s.service);
            if let Some(known) = known(crate::catalogue::SERVICE, &s.service)? {
                out.add(
                    path.clone(),
                    &["services"],
                    Problem::UnknownCode { known },
                    s.service.clone(),
                );
            }
            if let Some(known) = known(crate::catalogue::OUTCOME, &s.outcome)? {
                let problem = if s.outcome.is_empty() {
                    Problem::Required
                } else {
                    Problem::UnknownCode { known }
                };
                out.add(path, &["outcome"], problem, s.outcome.clone());
            }
        }
    }
    Ok(out.into_sorted())
}
