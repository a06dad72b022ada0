//! The records the app sends and receives: plain UniFFI records mirroring
//! field-core's, converted at the boundary so that field-core stays free of
//! FFI concerns. Words of the model (gender, devices, VNeID level, consent
//! method) cross as their stored codes.

use field_core as core;

#[derive(Debug, Clone, uniffi::Record)]
pub struct Village {
    pub id: String,
    pub commune_code: String,
    pub name: String,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct Identity {
    pub device_id: String,
    pub volunteer_id: String,
    pub volunteer_name: String,
    pub volunteer_phone: Option<String>,
    pub team_id: String,
    pub team_name: String,
    pub commune_code: String,
    pub commune_name: String,
    pub province_name: String,
    pub villages: Vec<Village>,
}

impl From<core::Identity> for Identity {
    fn from(i: core::Identity) -> Self {
        Identity {
            device_id: i.device_id,
            volunteer_id: i.volunteer_id,
            volunteer_name: i.volunteer_name,
            volunteer_phone: i.volunteer_phone,
            team_id: i.team_id,
            team_name: i.team_name,
            commune_code: i.commune_code,
            commune_name: i.commune_name,
            province_name: i.province_name,
            villages: i
                .villages
                .into_iter()
                .map(|v| Village {
                    id: v.id,
                    commune_code: v.commune_code,
                    name: v.name,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct InitRequest {
    pub volunteer_name: String,
    #[uniffi(default)]
    pub volunteer_phone: Option<String>,
    pub team_name: String,
    pub commune_code: String,
    #[uniffi(default)]
    pub village_names: Vec<String>,
}

impl From<InitRequest> for core::InitRequest {
    fn from(r: InitRequest) -> Self {
        core::InitRequest {
            volunteer_name: r.volunteer_name,
            volunteer_phone: r.volunteer_phone,
            team_name: r.team_name,
            commune_code: r.commune_code,
            village_names: r.village_names,
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct NewHousehold {
    /// A village id or name; may be empty when the device has one village.
    pub village: String,
    pub address: String,
    pub head_name: String,
    #[uniffi(default)]
    pub phone: Option<String>,
    #[uniffi(default)]
    pub member_count: Option<i64>,
    #[uniffi(default)]
    pub device_access: Option<String>,
    #[uniffi(default)]
    pub target_groups: Vec<String>,
}

impl From<NewHousehold> for core::NewHousehold {
    fn from(h: NewHousehold) -> Self {
        core::NewHousehold {
            village: h.village,
            address: h.address,
            head_name: h.head_name,
            phone: h.phone,
            member_count: h.member_count,
            device_access: h.device_access,
            target_groups: h.target_groups,
        }
    }
}

/// `None` leaves a field as it is; an empty string clears it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HouseholdEdit {
    #[uniffi(default)]
    pub village: Option<String>,
    #[uniffi(default)]
    pub address: Option<String>,
    #[uniffi(default)]
    pub head_name: Option<String>,
    #[uniffi(default)]
    pub phone: Option<String>,
    #[uniffi(default)]
    pub member_count: Option<i64>,
    #[uniffi(default)]
    pub device_access: Option<String>,
    #[uniffi(default)]
    pub add_target_groups: Vec<String>,
    #[uniffi(default)]
    pub remove_target_groups: Vec<String>,
}

impl From<HouseholdEdit> for core::HouseholdEdit {
    fn from(e: HouseholdEdit) -> Self {
        core::HouseholdEdit {
            village: e.village,
            address: e.address,
            head_name: e.head_name,
            phone: e.phone,
            member_count: e.member_count,
            device_access: e.device_access,
            add_target_groups: e.add_target_groups,
            remove_target_groups: e.remove_target_groups,
        }
    }
}

#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct Skills {
    #[uniffi(default)]
    pub vneid_level: Option<String>,
    #[uniffi(default)]
    pub vneid_activated: Option<bool>,
    #[uniffi(default)]
    pub bank_account: Option<bool>,
    #[uniffi(default)]
    pub public_service_account: Option<bool>,
    #[uniffi(default)]
    pub ehealth_book: Option<bool>,
    #[uniffi(default)]
    pub digital_signature: Option<bool>,
    #[uniffi(default)]
    pub basic_skills_certified: Option<bool>,
}

impl From<Skills> for core::SkillsEdit {
    fn from(s: Skills) -> Self {
        core::SkillsEdit {
            vneid_level: s.vneid_level,
            vneid_activated: s.vneid_activated,
            bank_account: s.bank_account,
            public_service_account: s.public_service_account,
            ehealth_book: s.ehealth_book,
            digital_signature: s.digital_signature,
            basic_skills_certified: s.basic_skills_certified,
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct NewPerson {
    pub name: String,
    #[uniffi(default)]
    pub birth_year: Option<i64>,
    #[uniffi(default)]
    pub gender: Option<String>,
    #[uniffi(default)]
    pub id_number: Option<String>,
    #[uniffi(default)]
    pub skills: Skills,
}

impl From<NewPerson> for core::NewPerson {
    fn from(p: NewPerson) -> Self {
        core::NewPerson {
            name: p.name,
            birth_year: p.birth_year,
            gender: p.gender,
            id_number: p.id_number,
            skills: p.skills.into(),
        }
    }
}

/// `None` leaves a field as it is; an empty string clears it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PersonEdit {
    #[uniffi(default)]
    pub name: Option<String>,
    #[uniffi(default)]
    pub birth_year: Option<i64>,
    #[uniffi(default)]
    pub gender: Option<String>,
    #[uniffi(default)]
    pub id_number: Option<String>,
    #[uniffi(default)]
    pub skills: Skills,
}

impl From<PersonEdit> for core::PersonEdit {
    fn from(p: PersonEdit) -> Self {
        core::PersonEdit {
            name: p.name,
            birth_year: p.birth_year,
            gender: p.gender,
            id_number: p.id_number,
            skills: p.skills.into(),
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct ServiceOutcome {
    pub service: String,
    pub outcome: String,
    pub note: Option<String>,
}

impl From<ServiceOutcome> for core::ServiceOutcome {
    fn from(s: ServiceOutcome) -> Self {
        core::ServiceOutcome {
            service: s.service,
            outcome: s.outcome,
            note: s.note,
        }
    }
}

impl From<core::ServiceOutcome> for ServiceOutcome {
    fn from(s: core::ServiceOutcome) -> Self {
        ServiceOutcome {
            service: s.service,
            outcome: s.outcome,
            note: s.note,
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct NewVisit {
    /// RFC 3339; `None` for now.
    #[uniffi(default)]
    pub visited_at: Option<String>,
    #[uniffi(default)]
    pub person_ids: Vec<String>,
    #[uniffi(default)]
    pub services: Vec<ServiceOutcome>,
    #[uniffi(default)]
    pub duration_minutes: Option<i64>,
    /// YYYY-MM-DD
    #[uniffi(default)]
    pub follow_up_on: Option<String>,
    #[uniffi(default)]
    pub feedback: Option<String>,
    #[uniffi(default)]
    pub consent_id: Option<String>,
    #[uniffi(default)]
    pub other_volunteer_ids: Vec<String>,
    /// Entered late on purpose (from paper).
    #[uniffi(default)]
    pub entered_late: bool,
}

impl From<NewVisit> for core::NewVisit {
    fn from(v: NewVisit) -> Self {
        core::NewVisit {
            visited_at: v.visited_at,
            person_ids: v.person_ids,
            services: v.services.into_iter().map(Into::into).collect(),
            duration_minutes: v.duration_minutes,
            follow_up_on: v.follow_up_on,
            feedback: v.feedback,
            consent_id: v.consent_id,
            other_volunteer_ids: v.other_volunteer_ids,
            entered_late: v.entered_late,
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct NewConsent {
    pub person_id: String,
    pub purpose: String,
    pub method: String,
    #[uniffi(default)]
    pub given_at: Option<String>,
}

impl From<NewConsent> for core::NewConsent {
    fn from(c: NewConsent) -> Self {
        core::NewConsent {
            person_id: c.person_id,
            purpose: c.purpose,
            method: c.method,
            given_at: c.given_at,
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub birth_year: Option<i64>,
    pub gender: Option<String>,
    pub id_number: Option<String>,
    pub skills: Skills,
    pub created_at: String,
    pub created_by: String,
    /// Removed (recorded in error) by a correction.
    pub removed: bool,
}

impl From<core::Person> for Person {
    fn from(p: core::Person) -> Self {
        let s = p.skills;
        Person {
            id: p.id,
            name: p.name,
            birth_year: p.birth_year,
            gender: p.gender.map(|g| g.as_str().to_string()),
            id_number: p.id_number,
            skills: Skills {
                vneid_level: s.vneid_level.map(|l| l.as_str().to_string()),
                vneid_activated: s.vneid_activated,
                bank_account: s.bank_account,
                public_service_account: s.public_service_account,
                ehealth_book: s.ehealth_book,
                digital_signature: s.digital_signature,
                basic_skills_certified: s.basic_skills_certified,
            },
            created_at: p.created_at,
            created_by: p.created_by,
            removed: p.removed.is_some(),
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct Visit {
    pub id: String,
    pub visited_at: String,
    pub team_id: String,
    pub volunteer_ids: Vec<String>,
    pub person_ids: Vec<String>,
    pub services: Vec<ServiceOutcome>,
    pub duration_minutes: Option<i64>,
    pub follow_up_on: Option<String>,
    pub feedback: Option<String>,
    pub consent_id: Option<String>,
    pub recorded_at: String,
    pub recorded_by: String,
    pub cancelled: bool,
}

impl From<core::Visit> for Visit {
    fn from(v: core::Visit) -> Self {
        Visit {
            id: v.id,
            visited_at: v.visited_at,
            team_id: v.team_id,
            volunteer_ids: v.volunteer_ids,
            person_ids: v.person_ids,
            services: v.services.into_iter().map(Into::into).collect(),
            duration_minutes: v.duration_minutes,
            follow_up_on: v.follow_up_on,
            feedback: v.feedback,
            consent_id: v.consent_id,
            recorded_at: v.recorded_at,
            recorded_by: v.recorded_by,
            cancelled: v.cancelled.is_some(),
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct Consent {
    pub id: String,
    pub person_id: String,
    pub purpose: String,
    pub method: String,
    pub given_at: String,
    pub recorded_by: String,
    pub withdrawn_at: Option<String>,
}

impl From<core::Consent> for Consent {
    fn from(c: core::Consent) -> Self {
        Consent {
            id: c.id,
            person_id: c.person_id,
            purpose: c.purpose,
            method: c.method.as_str().to_string(),
            given_at: c.given_at,
            recorded_by: c.recorded_by,
            withdrawn_at: c.withdrawn_at,
        }
    }
}

/// A field changed on two devices: both values kept, the one shown first.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Conflict {
    pub household_id: String,
    /// `phone`, `members/<id>/name`, `visits/<id>/feedback` ...
    pub path: String,
    /// The field as a person reads it, in the store's language.
    pub label: String,
    pub values: Vec<String>,
}

/// A stored value that breaks a rule (listed, never hidden), said in the
/// store's language.
#[derive(Debug, Clone, uniffi::Record)]
pub struct HouseholdProblem {
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct Household {
    pub id: String,
    pub commune_code: String,
    pub village_id: String,
    pub address: String,
    pub head_name: String,
    pub phone: Option<String>,
    pub member_count: Option<i64>,
    pub device_access: Option<String>,
    pub target_groups: Vec<String>,
    pub created_at: String,
    pub created_by: String,
    pub members: Vec<Person>,
    pub visits: Vec<Visit>,
    pub consents: Vec<Consent>,
    pub conflicts: Vec<Conflict>,
    pub problems: Vec<HouseholdProblem>,
    /// In a village this device no longer serves: read-only.
    pub outside_villages: bool,
    pub in_error: bool,
    /// Merged into this household (a duplicate): its id.
    pub merged_into: Option<String>,
}

pub fn household(lang: core::messages::Lang, h: core::Household) -> Household {
    Household {
        conflicts: h
            .conflicts
            .into_iter()
            .map(|c| Conflict {
                label: core::messages::path_label(lang, &c.path),
                household_id: c.household_id,
                path: c.path,
                values: c.values,
            })
            .collect(),
        problems: h
            .problems
            .iter()
            .map(|p| HouseholdProblem {
                path: p.path.clone(),
                message: core::messages::household_problem(lang, p),
            })
            .collect(),
        id: h.id,
        commune_code: h.commune_code,
        village_id: h.village_id,
        address: h.address,
        head_name: h.head_name,
        phone: h.phone,
        member_count: h.member_count,
        device_access: h.device_access.map(|d| d.as_str().to_string()),
        target_groups: h.target_groups,
        created_at: h.created_at,
        created_by: h.created_by,
        members: h.members.into_iter().map(Into::into).collect(),
        visits: h.visits.into_iter().map(Into::into).collect(),
        consents: h.consents.into_iter().map(Into::into).collect(),
        outside_villages: h.outside_villages,
        in_error: h.in_error.is_some(),
        merged_into: h.merged.map(|m| m.into),
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct HouseholdSummary {
    pub id: String,
    pub village_id: String,
    pub village_name: String,
    pub head_name: String,
    pub address: String,
    pub phone: Option<String>,
    pub members: i64,
    pub visits: i64,
    pub last_visit_at: Option<String>,
    pub conflicts: i64,
    pub problems: i64,
}

impl From<core::HouseholdSummary> for HouseholdSummary {
    fn from(h: core::HouseholdSummary) -> Self {
        HouseholdSummary {
            id: h.id,
            village_id: h.village_id,
            village_name: h.village_name,
            head_name: h.head_name,
            address: h.address,
            phone: h.phone,
            members: h.members,
            visits: h.visits,
            last_visit_at: h.last_visit_at,
            conflicts: h.conflicts,
            problems: h.problems,
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct SearchResults {
    /// How many households match in all (more than `households` holds when
    /// the limit cut the list).
    pub total: u64,
    pub households: Vec<HouseholdSummary>,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct CatalogueEntry {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct StoreStatus {
    pub households: i64,
    pub persons: i64,
    pub visits: i64,
    pub pending_changes: i64,
    pub conflicts: i64,
    pub problems: i64,
    pub server_url: Option<String>,
    pub last_sync_at: Option<String>,
    pub refused_changes: i64,
    pub quarantined_changes: i64,
}

impl From<core::StoreStatus> for StoreStatus {
    fn from(s: core::StoreStatus) -> Self {
        StoreStatus {
            households: s.households,
            persons: s.persons,
            visits: s.visits,
            pending_changes: s.pending_changes,
            conflicts: s.conflicts,
            problems: s.problems,
            server_url: s.server_url,
            last_sync_at: s.last_sync_at,
            refused_changes: s.refused_changes,
            quarantined_changes: s.quarantined_changes,
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct DocHeads {
    pub doc_id: String,
    pub heads: Vec<String>,
}

impl From<core::DocHeads> for DocHeads {
    fn from(d: core::DocHeads) -> Self {
        DocHeads {
            doc_id: d.doc_id,
            heads: d.heads,
        }
    }
}

impl From<DocHeads> for core::DocHeads {
    fn from(d: DocHeads) -> Self {
        core::DocHeads {
            doc_id: d.doc_id,
            heads: d.heads,
        }
    }
}

/// What taking in changes (from another device's file, or a sync) did.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ImportReport {
    pub documents: u64,
    pub changes_applied: u64,
    pub changes_known: u64,
    pub conflicts: u64,
    pub quarantined: u64,
}

impl From<core::ImportReport> for ImportReport {
    fn from(r: core::ImportReport) -> Self {
        ImportReport {
            documents: r.documents,
            changes_applied: r.changes_applied,
            changes_known: r.changes_known,
            conflicts: r.conflicts,
            quarantined: r.quarantined,
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct SyncReport {
    pub sent: u64,
    pub already_on_server: u64,
    /// Households the server refused (kept on the device, listed).
    pub refused: u64,
    pub received: u64,
    pub documents_updated: u64,
    pub conflicts: u64,
    pub quarantined: u64,
    pub bootstrapped: bool,
    /// Villages the team was given since the last sync (names): households
    /// can be recorded there now.
    pub villages_gained: Vec<String>,
    /// Villages the team no longer serves (names).
    pub villages_lost: Vec<String>,
}

impl From<core::SyncReport> for SyncReport {
    fn from(r: core::SyncReport) -> Self {
        SyncReport {
            sent: r.sent,
            already_on_server: r.already_on_server,
            refused: r.refused.len() as u64,
            received: r.received,
            documents_updated: r.documents_updated,
            conflicts: r.conflicts,
            quarantined: r.quarantined,
            bootstrapped: r.bootstrapped,
            villages_gained: r.villages_gained,
            villages_lost: r.villages_lost,
        }
    }
}

/// Where a sync is: `phase` is `bootstrap`, `pull` or `push`.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SyncProgress {
    pub phase: String,
    pub done: u64,
    /// 0 when not known.
    pub total: u64,
}
