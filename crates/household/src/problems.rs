//! Problems: stored values that break the document schema or a rule that entry
//! enforces (docs/data-model.md).
//!
//! Entry validates one edit against the record as the device sees it; a merge
//! can still combine two valid edits into an invalid record (a birth year from
//! one device, an ID number from another), and another Automerge implementation
//! writes what it likes. So the rules are checked again on every read of a
//! document, record by record, and what breaks them is listed as a problem
//! instead of being shown as if it were fine or silently dropped.

use crate::catalogue;
use crate::invalid::{Field, Invalid, Problem};
use crate::model::{Consent, Gender, Household, HouseholdProblem, Person, Visit};
use crate::schema;
use crate::validate as v;

/// Collects a record's problems; the first one found at a path wins, so a value
/// already reported as unreadable is not reported again as missing.
#[derive(Debug)]
pub struct Problems<'a> {
    household_id: &'a str,
    list: Vec<HouseholdProblem>,
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
    fn check<T>(&mut self, path: String, fields: &[&str], result: Result<T, Invalid>) {
        if let Err(i) = result {
            self.add(path, fields, i.problem, i.value);
        }
    }

    /// The problems, sorted by path: the same list whatever the reading order.
    pub fn into_sorted(mut self) -> Vec<HouseholdProblem> {
        sort(&mut self.list);
        self.list
    }
}

/// Adds to `list` the problems of `extra` at paths it does not hold yet (a value
/// already reported as unreadable is not reported again as an unknown code).
pub fn merge(list: &mut Vec<HouseholdProblem>, extra: Vec<HouseholdProblem>) {
    for p in extra {
        if !list.iter().any(|q| q.path == p.path) {
            list.push(p);
        }
    }
    sort(list);
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

/// What a visit's rules need of the consent it names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentState {
    pub withdrawn_at: Option<String>,
}

impl ConsentState {
    pub fn of(c: &Consent) -> ConsentState {
        ConsentState {
            withdrawn_at: c.withdrawn_at.clone(),
        }
    }
}

/// Whether a withdrawal at `withdrawn_at` came before a visit at
/// `visited_at`; unreadable times are reported by their own rules.
fn withdrawn_before(withdrawn_at: &str, visited_at: &str) -> bool {
    match (
        v::moment(Field::Value, withdrawn_at).ok().and_then(parse),
        v::moment(Field::Value, visited_at).ok().and_then(parse),
    ) {
        (Some(w), Some(t)) => w < t,
        _ => false,
    }
}

fn parse(t: String) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok()
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
    text_rule(out, "", schema::HEAD_NAME, &h.head_name, v::MAX_NAME);
    if h.address.chars().count() > v::MAX_ADDRESS {
        text_rule(out, "", schema::ADDRESS, &h.address, v::MAX_ADDRESS);
    }
    if let Some(p) = &h.phone {
        // Stored in national form: anything else did not come through entry.
        match v::phone(p) {
            Ok(national) if &national == p => {}
            Ok(_) => out.add(
                schema::PHONE.into(),
                &[schema::PHONE],
                Problem::BadPhone,
                p.clone(),
            ),
            Err(e) => out.check(schema::PHONE.into(), &[schema::PHONE], Err::<(), _>(e)),
        }
    }
    if let Some(n) = h.member_count {
        out.check(
            schema::MEMBER_COUNT.into(),
            &[schema::MEMBER_COUNT],
            v::in_range(Field::MemberCount, n, 1, 100),
        );
    }
}

/// A member: name, birth year, and the ID number against birth year and gender.
pub fn person(out: &mut Problems<'_>, prefix: &str, p: &Person) {
    text_rule(out, prefix, schema::member::NAME, &p.name, v::MAX_NAME);
    if let Some(y) = p.birth_year {
        out.check(
            at(prefix, schema::member::BIRTH_YEAR),
            &[schema::member::BIRTH_YEAR],
            v::birth_year(y, v::this_year()),
        );
    }
    if let Some(n) = &p.id_number {
        match v::id_number(n, p.birth_year, p.gender) {
            Ok(stored) if &stored == n => {}
            Ok(_) => out.add(
                at(prefix, schema::member::ID_NUMBER),
                &[schema::member::ID_NUMBER],
                Problem::IdNumberFormat,
                n.clone(),
            ),
            Err(i) => {
                let mut fields = vec![schema::member::ID_NUMBER];
                if matches!(i.problem, Problem::IdNumberMismatch { .. }) {
                    if p.birth_year.is_some() {
                        fields.push(schema::member::BIRTH_YEAR);
                    }
                    if matches!(p.gender, Some(Gender::Male | Gender::Female)) {
                        fields.push(schema::member::GENDER);
                    }
                }
                out.add(
                    at(prefix, schema::member::ID_NUMBER),
                    &fields,
                    i.problem,
                    n.clone(),
                );
            }
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
            at(prefix, schema::consent::PERSON_ID),
            &[schema::consent::PERSON_ID],
            Problem::Required,
            String::new(),
        );
    } else if !has_member(&c.person_id) {
        out.add(
            at(prefix, schema::consent::PERSON_ID),
            &[schema::consent::PERSON_ID],
            Problem::NotInHousehold,
            c.person_id.clone(),
        );
    }
    text_rule(
        out,
        prefix,
        schema::consent::PURPOSE,
        &c.purpose,
        v::MAX_ADDRESS,
    );
    if c.given_at.is_empty() {
        out.add(
            at(prefix, schema::consent::GIVEN_AT),
            &[schema::consent::GIVEN_AT],
            Problem::Required,
            String::new(),
        );
    } else {
        out.check(
            at(prefix, schema::consent::GIVEN_AT),
            &[schema::consent::GIVEN_AT],
            v::moment(Field::GivenAt, &c.given_at),
        );
    }
}

/// A visit: when, which services, and that what it refers to is this household's.
pub fn visit(
    out: &mut Problems<'_>,
    prefix: &str,
    visit: &Visit,
    has_member: &dyn Fn(&str) -> bool,
    consent: &dyn Fn(&str) -> Option<ConsentState>,
) {
    if visit.visited_at.is_empty() {
        out.add(
            at(prefix, schema::visit::VISITED_AT),
            &[schema::visit::VISITED_AT],
            Problem::Required,
            String::new(),
        );
    } else {
        out.check(
            at(prefix, schema::visit::VISITED_AT),
            &[schema::visit::VISITED_AT],
            v::moment(Field::VisitedAt, &visit.visited_at),
        );
    }
    if visit.services.is_empty() {
        out.add(
            at(prefix, schema::visit::SERVICES),
            &[schema::visit::SERVICES],
            Problem::NoService,
            String::new(),
        );
    }
    if let Some(d) = visit.duration_minutes {
        out.check(
            at(prefix, schema::visit::DURATION_MINUTES),
            &[schema::visit::DURATION_MINUTES],
            v::in_range(Field::DurationMinutes, d, 0, 24 * 60),
        );
    }
    if let Some(d) = &visit.follow_up_on {
        out.check(
            at(prefix, schema::visit::FOLLOW_UP_ON),
            &[schema::visit::FOLLOW_UP_ON],
            v::date(Field::FollowUpOn, d),
        );
    }
    if let Some(c) = &visit.consent_id {
        match consent(c) {
            None => out.add(
                at(prefix, schema::visit::CONSENT_ID),
                &[schema::visit::CONSENT_ID],
                Problem::NotInHousehold,
                c.clone(),
            ),
            // Entry refuses a withdrawn consent, but another device may have
            // withdrawn it while this one was offline.
            Some(ConsentState {
                withdrawn_at: Some(withdrawn_at),
            }) if withdrawn_before(&withdrawn_at, &visit.visited_at) => out.add(
                at(prefix, schema::visit::CONSENT_ID),
                &[
                    schema::visit::CONSENT_ID,
                    schema::visit::VISITED_AT,
                    schema::consent::WITHDRAWN_AT,
                ],
                Problem::ConsentWithdrawnBefore { withdrawn_at },
                c.clone(),
            ),
            Some(_) => {}
        }
    }
    let strangers: Vec<&str> = visit
        .person_ids
        .iter()
        .map(String::as_str)
        .filter(|p| !has_member(p))
        .collect();
    if !strangers.is_empty() {
        out.add(
            at(prefix, schema::visit::PERSON_IDS),
            &[schema::visit::PERSON_IDS],
            Problem::NotInHousehold,
            strangers.join(","),
        );
    }
}

/// Whether the catalogue `kind` knows `code`: `None` if it does, else the codes
/// it knows.
pub type Known<'a, E> = &'a dyn Fn(&str, &str) -> Result<Option<Vec<String>>, E>;

/// The codes of a household that its catalogue does not know: target groups and
/// each visit's services and outcomes. The catalogue is the reader's (a province
/// adds services), so these are checked by whoever holds it (a device's store,
/// the server), not when a document is read.
pub fn codes<E>(
    household_id: &str,
    target_groups: &[String],
    visits: &[&Visit],
    known: Known<'_, E>,
) -> Result<Vec<HouseholdProblem>, E> {
    let mut out = Problems::new(household_id);
    for g in target_groups {
        if let Some(known) = known(catalogue::TARGET_GROUP, g)? {
            out.add(
                format!("{}/{g}", schema::TARGET_GROUPS),
                &[schema::TARGET_GROUPS],
                Problem::UnknownCode { known },
                g.clone(),
            );
        }
    }
    for visit in visits {
        for s in &visit.services {
            let path = format!(
                "{}/{}/{}/{}",
                schema::VISITS,
                visit.id,
                schema::visit::SERVICES,
                s.service
            );
            if let Some(known) = known(catalogue::SERVICE, &s.service)? {
                out.add(
                    path.clone(),
                    &[schema::visit::SERVICES],
                    Problem::UnknownCode { known },
                    s.service.clone(),
                );
            }
            if let Some(known) = known(catalogue::OUTCOME, &s.outcome)? {
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
