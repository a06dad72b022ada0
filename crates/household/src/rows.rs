//! A household flattened into rows: one for the household, one per member,
//! consent record, visit, service of a visit, conflict and problem. Plain data,
//! with no storage in it: a device's SQLite projection and the server's
//! projection fill their tables from the same rows, so both flatten a document
//! the same way.
//!
//! Lists inside a row (target groups, a visit's volunteers and people) are
//! comma-separated; a conflict's values and a problem's fields and details are
//! JSON.

use crate::model::{Conflict, Consent, Household, HouseholdProblem, Person, Visit};

/// The household's own fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdRow<'a> {
    pub id: &'a str,
    pub schema_version: i64,
    pub commune_code: &'a str,
    pub village_id: &'a str,
    pub address: &'a str,
    pub head_name: &'a str,
    pub phone: Option<&'a str>,
    pub member_count: Option<i64>,
    pub device_access: Option<&'static str>,
    /// Codes, comma-separated, sorted.
    pub target_groups: String,
    pub created_at: &'a str,
    pub created_by: &'a str,
    /// When it was marked registered in error.
    pub in_error_at: Option<&'a str>,
}

/// A member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow<'a> {
    pub id: &'a str,
    pub household_id: &'a str,
    pub name: &'a str,
    pub birth_year: Option<i64>,
    pub gender: Option<&'static str>,
    pub id_number: Option<&'a str>,
    pub vneid_level: Option<&'static str>,
    pub vneid_activated: Option<bool>,
    pub bank_account: Option<bool>,
    pub public_service_account: Option<bool>,
    pub ehealth_book: Option<bool>,
    pub digital_signature: Option<bool>,
    pub basic_skills_certified: Option<bool>,
    pub created_at: &'a str,
    pub created_by: &'a str,
    pub removed_at: Option<&'a str>,
}

/// A consent record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow<'a> {
    pub id: &'a str,
    pub household_id: &'a str,
    pub person_id: &'a str,
    pub purpose: &'a str,
    pub method: &'static str,
    pub given_at: &'a str,
    pub recorded_by: &'a str,
    pub withdrawn_at: Option<&'a str>,
    pub withdrawn_by: Option<&'a str>,
    pub withdrawal_reason: Option<&'a str>,
}

/// A visit; its services are [`VisitServiceRow`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitRow<'a> {
    pub id: &'a str,
    pub household_id: &'a str,
    pub visited_at: &'a str,
    pub team_id: &'a str,
    /// Ids, comma-separated, sorted.
    pub volunteer_ids: String,
    /// Ids, comma-separated, sorted.
    pub person_ids: String,
    pub duration_minutes: Option<i64>,
    pub follow_up_on: Option<&'a str>,
    pub feedback: Option<&'a str>,
    pub consent_id: Option<&'a str>,
    pub recorded_at: &'a str,
    pub recorded_by: &'a str,
    pub cancelled_at: Option<&'a str>,
    pub cancelled_by: Option<&'a str>,
    pub cancel_reason: Option<&'a str>,
    pub edited_at: Option<&'a str>,
    pub edited_by: Option<&'a str>,
}

/// One service of a visit and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitServiceRow<'a> {
    pub visit_id: &'a str,
    pub household_id: &'a str,
    pub service_code: &'a str,
    pub outcome: &'a str,
    pub note: Option<&'a str>,
}

/// A field that holds several values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictRow<'a> {
    pub household_id: &'a str,
    pub path: &'a str,
    /// The values as a JSON array of strings, the one shown first.
    pub value_list: String,
}

/// A value that breaks the schema or a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemRow<'a> {
    pub household_id: &'a str,
    pub path: &'a str,
    /// The problem's code (`required`, `id_number_mismatch`...).
    pub code: String,
    /// The record the path belongs to, `""` for the household's own fields.
    pub record: &'a str,
    /// The fields the rule involves, as a JSON array.
    pub fields: String,
    /// The problem with its details, as JSON (`{"code": ..., ...}`).
    pub problem: String,
    pub value: &'a str,
}

/// Every row of one household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdRows<'a> {
    pub household: HouseholdRow<'a>,
    pub persons: Vec<PersonRow<'a>>,
    pub consents: Vec<ConsentRow<'a>>,
    pub visits: Vec<VisitRow<'a>>,
    pub visit_services: Vec<VisitServiceRow<'a>>,
    pub conflicts: Vec<ConflictRow<'a>>,
    pub problems: Vec<ProblemRow<'a>>,
}

impl<'a> HouseholdRows<'a> {
    /// The rows of `h`, its problems as `h` lists them (add the catalogue's
    /// code problems to `h.problems` first, see [`crate::problems::codes`]).
    pub fn of(h: &'a Household) -> HouseholdRows<'a> {
        let id = h.id.as_str();
        HouseholdRows {
            household: household(h),
            persons: h.members.iter().map(|p| person(id, p)).collect(),
            consents: h.consents.iter().map(|c| consent(id, c)).collect(),
            visits: h.visits.iter().map(|v| visit(id, v)).collect(),
            visit_services: h
                .visits
                .iter()
                .flat_map(|v| visit_services(id, v))
                .collect(),
            conflicts: h.conflicts.iter().map(conflict).collect(),
            problems: h.problems.iter().map(problem).collect(),
        }
    }
}

pub fn household(h: &Household) -> HouseholdRow<'_> {
    HouseholdRow {
        id: &h.id,
        schema_version: h.schema_version,
        commune_code: &h.commune_code,
        village_id: &h.village_id,
        address: &h.address,
        head_name: &h.head_name,
        phone: h.phone.as_deref(),
        member_count: h.member_count,
        device_access: h.device_access.map(|d| d.as_str()),
        target_groups: h.target_groups.join(","),
        created_at: &h.created_at,
        created_by: &h.created_by,
        in_error_at: h.in_error.as_ref().map(|c| c.at.as_str()),
    }
}

pub fn person<'a>(household_id: &'a str, p: &'a Person) -> PersonRow<'a> {
    let s = &p.skills;
    PersonRow {
        id: &p.id,
        household_id,
        name: &p.name,
        birth_year: p.birth_year,
        gender: p.gender.map(|g| g.as_str()),
        id_number: p.id_number.as_deref(),
        vneid_level: s.vneid_level.map(|v| v.as_str()),
        vneid_activated: s.vneid_activated,
        bank_account: s.bank_account,
        public_service_account: s.public_service_account,
        ehealth_book: s.ehealth_book,
        digital_signature: s.digital_signature,
        basic_skills_certified: s.basic_skills_certified,
        created_at: &p.created_at,
        created_by: &p.created_by,
        removed_at: p.removed.as_ref().map(|c| c.at.as_str()),
    }
}

pub fn consent<'a>(household_id: &'a str, c: &'a Consent) -> ConsentRow<'a> {
    ConsentRow {
        id: &c.id,
        household_id,
        person_id: &c.person_id,
        purpose: &c.purpose,
        method: c.method.as_str(),
        given_at: &c.given_at,
        recorded_by: &c.recorded_by,
        withdrawn_at: c.withdrawn_at.as_deref(),
        withdrawn_by: c.withdrawn_by.as_deref(),
        withdrawal_reason: c.withdrawal_reason.as_deref(),
    }
}

pub fn visit<'a>(household_id: &'a str, v: &'a Visit) -> VisitRow<'a> {
    VisitRow {
        id: &v.id,
        household_id,
        visited_at: &v.visited_at,
        team_id: &v.team_id,
        volunteer_ids: v.volunteer_ids.join(","),
        person_ids: v.person_ids.join(","),
        duration_minutes: v.duration_minutes,
        follow_up_on: v.follow_up_on.as_deref(),
        feedback: v.feedback.as_deref(),
        consent_id: v.consent_id.as_deref(),
        recorded_at: &v.recorded_at,
        recorded_by: &v.recorded_by,
        cancelled_at: v.cancelled.as_ref().map(|c| c.at.as_str()),
        cancelled_by: v.cancelled.as_ref().map(|c| c.by.as_str()),
        cancel_reason: v.cancelled.as_ref().and_then(|c| c.reason.as_deref()),
        edited_at: v.edited.as_ref().map(|c| c.at.as_str()),
        edited_by: v.edited.as_ref().map(|c| c.by.as_str()),
    }
}

pub fn visit_services<'a>(
    household_id: &'a str,
    v: &'a Visit,
) -> impl Iterator<Item = VisitServiceRow<'a>> + 'a {
    v.services.iter().map(move |s| VisitServiceRow {
        visit_id: &v.id,
        household_id,
        service_code: &s.service,
        outcome: &s.outcome,
        note: s.note.as_deref(),
    })
}

pub fn conflict(c: &Conflict) -> ConflictRow<'_> {
    ConflictRow {
        household_id: &c.household_id,
        path: &c.path,
        value_list: serde_json::Value::from(c.values.clone()).to_string(),
    }
}

pub fn problem(p: &HouseholdProblem) -> ProblemRow<'_> {
    // A `Problem` is a tagged enum of strings and numbers: it always
    // serializes; `Null` would only hide a change of that.
    let details = serde_json::to_value(&p.problem).unwrap_or_default();
    ProblemRow {
        household_id: &p.household_id,
        path: &p.path,
        code: details["code"].as_str().unwrap_or("").to_string(),
        record: p.record(),
        fields: serde_json::Value::from(p.fields.clone()).to_string(),
        problem: details.to_string(),
        value: &p.value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invalid::Problem;
    use crate::model::{ConsentMethod, Gender, ServiceOutcome, Skills, VneidLevel};

    fn household_with_everything() -> Household {
        let hid = "018f0000-0000-7000-8000-000000000001".to_string();
        let pid = "018f0000-0000-7000-8000-000000000002".to_string();
        let vid = "018f0000-0000-7000-8000-000000000003".to_string();
        let cid = "018f0000-0000-7000-8000-000000000004".to_string();
        Household {
            id: hid.clone(),
            schema_version: 1,
            commune_code: "00097".into(),
            village_id: "v".into(),
            address: "Xóm 3".into(),
            head_name: "Nguyễn Văn Hạnh".into(),
            phone: Some("0912345678".into()),
            member_count: Some(4),
            device_access: Some(crate::model::DeviceAccess::Smartphone),
            target_groups: vec!["elderly".into(), "poor".into()],
            created_at: "2026-11-23T02:00:00Z".into(),
            created_by: "lan".into(),
            in_error: None,
            merged: None,
            absorbed: Vec::new(),
            members: vec![Person {
                id: pid.clone(),
                name: "Trần Thị Thủy".into(),
                birth_year: Some(1958),
                gender: Some(Gender::Female),
                id_number: None,
                skills: Skills {
                    vneid_level: Some(VneidLevel::Level2),
                    bank_account: Some(false),
                    ..Skills::default()
                },
                created_at: "2026-11-23T02:00:00Z".into(),
                created_by: "lan".into(),
                removed: None,
            }],
            visits: vec![Visit {
                id: vid.clone(),
                visited_at: "2026-11-23T02:30:00Z".into(),
                team_id: "t".into(),
                volunteer_ids: vec!["hung".into(), "lan".into()],
                person_ids: vec![pid.clone()],
                services: vec![
                    ServiceOutcome {
                        service: "bank_account".into(),
                        outcome: "blocked".into(),
                        note: Some("Cần công an xã".into()),
                    },
                    ServiceOutcome {
                        service: "vneid_activate".into(),
                        outcome: "done".into(),
                        note: None,
                    },
                ],
                duration_minutes: Some(30),
                follow_up_on: None,
                feedback: None,
                consent_id: Some(cid.clone()),
                recorded_at: "2026-11-23T02:31:00Z".into(),
                recorded_by: "lan".into(),
                cancelled: None,
                edited: None,
            }],
            consents: vec![Consent {
                id: cid,
                person_id: pid.clone(),
                purpose: "Hỗ trợ VNeID".into(),
                method: ConsentMethod::Verbal,
                given_at: "2026-11-23T02:00:00Z".into(),
                recorded_by: "lan".into(),
                withdrawn_at: None,
                withdrawn_by: None,
                withdrawal_reason: None,
            }],
            conflicts: vec![Conflict {
                household_id: hid.clone(),
                path: "phone".into(),
                values: vec!["0912345678".into(), "0987654321".into()],
            }],
            problems: vec![HouseholdProblem {
                household_id: hid,
                path: format!("members/{pid}/birth_year"),
                fields: vec!["birth_year".into()],
                problem: Problem::OutOfRange {
                    min: 1900,
                    max: 2026,
                },
                value: "1800".into(),
            }],
            outside_villages: false,
        }
    }

    #[test]
    fn a_household_flattens_into_one_row_per_record() {
        let h = household_with_everything();
        let rows = HouseholdRows::of(&h);
        assert_eq!(rows.household.target_groups, "elderly,poor");
        assert_eq!(rows.household.device_access, Some("smartphone"));
        assert_eq!(rows.persons.len(), 1);
        assert_eq!(rows.persons[0].gender, Some("female"));
        assert_eq!(rows.persons[0].vneid_level, Some("level2"));
        assert_eq!(rows.persons[0].bank_account, Some(false));
        assert_eq!(rows.persons[0].vneid_activated, None);
        assert_eq!(rows.consents[0].method, "verbal");
        assert_eq!(rows.visits[0].volunteer_ids, "hung,lan");
        assert_eq!(rows.visit_services.len(), 2);
        assert_eq!(rows.visit_services[0].note, Some("Cần công an xã"));
        assert_eq!(
            rows.conflicts[0].value_list,
            r#"["0912345678","0987654321"]"#
        );
        let p = &rows.problems[0];
        assert_eq!(p.code, "out_of_range");
        assert_eq!(p.record, format!("members/{}", h.members[0].id));
        assert_eq!(p.fields, r#"["birth_year"]"#);
        assert_eq!(
            p.problem,
            r#"{"code":"out_of_range","max":2026,"min":1900}"#
        );
    }
}
