//! The records a volunteer works with, as the facade hands them out and takes them in.
//!
//! Plain owned records with ids as strings, so the facade can be exposed to Kotlin
//! and Swift through UniFFI without wrappers. What a household document holds
//! (households, members, visits, consents, conflicts, problems) is read by
//! gocua-household, shared with the server, and re-exported here.

use serde::{Deserialize, Serialize};

pub use gocua_household::catalogue::CatalogueEntry;
pub use gocua_household::model::*;
pub use gocua_household::schema::DOC_SCHEMA_VERSION;

/// The device's identity: who records on it, for which team and villages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Village {
    pub id: String,
    pub commune_code: String,
    pub name: String,
}

/// What `init` needs until enrollment with a server provides it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitRequest {
    pub volunteer_name: String,
    pub volunteer_phone: Option<String>,
    pub team_name: String,
    pub commune_code: String,
    pub village_names: Vec<String>,
}

/// A page of households read from their documents (`Store::households_page`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdPage {
    pub households: Vec<Household>,
    /// Ids of documents that did not read as a household.
    pub unreadable: Vec<String>,
    /// Where the next page starts; `None` after the last.
    pub next: Option<String>,
}

/// A row of a household list or search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// In a village this device does not serve: a read-only record (see
    /// [`Household::outside_villages`]).
    #[serde(default)]
    pub outside_villages: bool,
}

/// What `Store::search` found: every match counted, the best `limit` returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    /// How many households match in all (more than `households` holds when
    /// the limit cut the list).
    pub total: u64,
    /// The best matches first (see [`crate::search`] for the order).
    pub households: Vec<SearchHit>,
}

/// One household found by a search, and where the query matched it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    #[serde(flatten)]
    pub household: HouseholdSummary,
    pub matched_in: crate::search::MatchedIn,
    pub match_kind: crate::search::MatchKind,
    /// The member whose name matched, when a member's did.
    pub matched_member: Option<MatchedMember>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedMember {
    pub id: String,
    pub name: String,
}

// ---- inputs ----

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewHousehold {
    /// A village id, or the village's name; may be empty when the device has one village.
    pub village: String,
    pub address: String,
    pub head_name: String,
    pub phone: Option<String>,
    pub member_count: Option<i64>,
    pub device_access: Option<String>,
    pub target_groups: Vec<String>,
}

/// Changes to a household; `None` leaves a field as it is, an empty string clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdEdit {
    pub village: Option<String>,
    pub address: Option<String>,
    pub head_name: Option<String>,
    pub phone: Option<String>,
    pub member_count: Option<i64>,
    pub device_access: Option<String>,
    pub add_target_groups: Vec<String>,
    pub remove_target_groups: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPerson {
    pub name: String,
    pub birth_year: Option<i64>,
    pub gender: Option<String>,
    pub id_number: Option<String>,
    pub skills: SkillsEdit,
}

/// Changes to a person; `None` leaves a field as it is, an empty string clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonEdit {
    pub name: Option<String>,
    pub birth_year: Option<i64>,
    pub gender: Option<String>,
    pub id_number: Option<String>,
    pub skills: SkillsEdit,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillsEdit {
    pub vneid_level: Option<String>,
    pub vneid_activated: Option<bool>,
    pub bank_account: Option<bool>,
    pub public_service_account: Option<bool>,
    pub ehealth_book: Option<bool>,
    pub digital_signature: Option<bool>,
    pub basic_skills_certified: Option<bool>,
}

impl SkillsEdit {
    pub fn flags(&self) -> [(&'static str, Option<bool>); 6] {
        [
            ("vneid_activated", self.vneid_activated),
            ("bank_account", self.bank_account),
            ("public_service_account", self.public_service_account),
            ("ehealth_book", self.ehealth_book),
            ("digital_signature", self.digital_signature),
            ("basic_skills_certified", self.basic_skills_certified),
        ]
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewVisit {
    /// RFC 3339; `None` for now.
    pub visited_at: Option<String>,
    pub person_ids: Vec<String>,
    pub services: Vec<ServiceOutcome>,
    pub duration_minutes: Option<i64>,
    /// YYYY-MM-DD
    pub follow_up_on: Option<String>,
    pub feedback: Option<String>,
    pub consent_id: Option<String>,
    /// Other volunteers who were there, besides the device's own.
    pub other_volunteer_ids: Vec<String>,
    /// Entered late on purpose (from paper, or a visit before the household
    /// was registered here): dates more than a year back, or before the
    /// registration, are then accepted.
    #[serde(default)]
    pub entered_late: bool,
}

/// A correction of a visit's fields; `None` leaves a field as it is, and an
/// empty text clears an optional one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitEdit {
    pub visited_at: Option<String>,
    /// The new date is a visit entered late (see [`NewVisit::entered_late`]).
    #[serde(default)]
    pub entered_late: bool,
    pub duration_minutes: Option<i64>,
    pub follow_up_on: Option<String>,
    pub feedback: Option<String>,
    /// Services added, or whose outcome (and note) is corrected.
    #[serde(default)]
    pub services: Vec<ServiceOutcome>,
    /// Services taken out of the visit (recorded by mistake).
    #[serde(default)]
    pub remove_services: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewConsent {
    pub person_id: String,
    pub purpose: String,
    pub method: String,
    /// RFC 3339; `None` for now.
    pub given_at: Option<String>,
}

/// One household of an import file (a line of `gocua household generate`'s
/// JSON Lines): the household, its members (the head first) and its visits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdRecord {
    pub household: NewHousehold,
    pub members: Vec<NewPerson>,
    pub visits: Vec<VisitRecord>,
}

/// A visit whose people are given by their index in [`HouseholdRecord::members`]
/// (the member ids exist only once the members are written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitRecord {
    pub visit: NewVisit,
    pub member_indexes: Vec<usize>,
}

/// What importing one [`HouseholdRecord`] did (`Store::import_record`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum ImportOutcome {
    /// Written as a new household.
    Stored { household_id: String },
    /// The same record (same content once normalized) was imported before.
    AlreadyImported { household_id: String },
    /// Not written: a household already in the store is near-certainly this one.
    Duplicate { candidate: Box<DuplicateCandidate> },
    /// Written, as asked, although a household already in the store is
    /// near-certainly this one.
    StoredDespite {
        household_id: String,
        candidate: Box<DuplicateCandidate>,
    },
}

/// A household that may be the same as another (see [`crate::duplicates`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateCandidate {
    pub household: HouseholdSummary,
    pub reasons: Vec<crate::duplicates::Reason>,
    /// Out of 100.
    pub score: u32,
    pub near_certain: bool,
}

/// Two households of one village that may be one (`Store::duplicate_candidates`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicatePair {
    pub a: HouseholdSummary,
    pub b: HouseholdSummary,
    pub reasons: Vec<crate::duplicates::Reason>,
    /// Out of 100.
    pub score: u32,
    pub near_certain: bool,
}

/// What an import of changes did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub documents: u64,
    pub changes_applied: u64,
    pub changes_known: u64,
    pub conflicts: u64,
    /// Changes set aside and never applied because Automerge could not apply
    /// them (damaged or crafted), or because they depend on such a change;
    /// including ones quarantined by an earlier import and received again.
    #[serde(default)]
    pub quarantined: u64,
    /// Changes stored until the changes they depend on arrive.
    #[serde(default)]
    pub waiting: u64,
    /// This store's unsent changes made again under a new actor, because
    /// another copy of the store made changes with the same numbers.
    #[serde(default)]
    pub reissued: u64,
    /// A change made as this store's actor arrived that the store did not
    /// have: it is not the only copy of itself, and took a new actor.
    #[serde(default)]
    pub actor_renewed: bool,
}

/// A received change that was set aside instead of applied (`Store::quarantined`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinedChange {
    pub doc_id: String,
    /// The change's hash (hex).
    pub hash: String,
    pub reason: String,
    /// `peer` (a file from another device) or `server`.
    pub origin: String,
    /// RFC 3339.
    pub received_at: String,
}

/// The store's state for `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStatus {
    pub households: i64,
    pub persons: i64,
    pub visits: i64,
    pub pending_changes: i64,
    pub conflicts: i64,
    pub problems: i64,
    pub schema_version: i64,
    pub last_change_at: Option<String>,
    /// The sync server this device is enrolled with.
    pub server_url: Option<String>,
    pub last_sync_at: Option<String>,
    /// Changes the server refused (kept on the device, not offered again).
    pub refused_changes: i64,
    /// Received changes set aside because they could not be applied.
    #[serde(default)]
    pub quarantined_changes: i64,
    /// Received changes waiting for the changes they depend on.
    #[serde(default)]
    pub waiting_changes: i64,
}
