//! The records a volunteer works with, as the facade hands them out and takes them in.
//!
//! Plain owned records with ids as strings, so the facade can be exposed to Kotlin
//! and Swift through UniFFI without wrappers.

use serde::{Deserialize, Serialize};

use crate::error::Problem;

/// The version of the household document layout this build writes.
pub const DOC_SCHEMA_VERSION: i64 = 1;

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }

            pub fn parse(word: &str) -> Option<Self> {
                match word.trim() { $($word => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

word_enum!(
    /// What phones the household has.
    DeviceAccess {
        Smartphone => "smartphone",
        FeaturePhoneOnly => "feature_phone_only",
        None => "none",
    }
);

word_enum!(
    Gender {
        Male => "male",
        Female => "female",
        Other => "other",
    }
);

word_enum!(
    /// The person's VNeID electronic identification.
    VneidLevel {
        None => "none",
        Registered => "registered",
        Level1 => "level1",
        Level2 => "level2",
    }
);

word_enum!(
    /// How consent was given.
    ConsentMethod {
        Verbal => "verbal",
        Written => "written",
        App => "app",
    }
);

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

/// One entry of a catalogue: a service, an outcome or a target group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Household {
    pub id: String,
    pub schema_version: i64,
    pub commune_code: String,
    pub village_id: String,
    pub address: String,
    pub head_name: String,
    pub phone: Option<String>,
    pub member_count: Option<i64>,
    pub device_access: Option<DeviceAccess>,
    pub target_groups: Vec<String>,
    pub created_at: String,
    pub created_by: String,
    pub members: Vec<Person>,
    pub visits: Vec<Visit>,
    pub consents: Vec<Consent>,
    pub conflicts: Vec<Conflict>,
    pub problems: Vec<HouseholdProblem>,
    /// In a village this device does not serve (it moved to another
    /// village): kept as a read-only record. Set by the store, which knows
    /// the device's villages; a document read alone says false.
    #[serde(default)]
    pub outside_villages: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub birth_year: Option<i64>,
    pub gender: Option<Gender>,
    pub id_number: Option<String>,
    pub skills: Skills,
    pub created_at: String,
    pub created_by: String,
}

/// A person's digital skills; `None` where nobody has asked yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skills {
    pub vneid_level: Option<VneidLevel>,
    pub vneid_activated: Option<bool>,
    pub bank_account: Option<bool>,
    pub public_service_account: Option<bool>,
    pub ehealth_book: Option<bool>,
    pub digital_signature: Option<bool>,
    pub basic_skills_certified: Option<bool>,
}

/// The skill flags by their document key, in a fixed order.
pub const SKILL_FLAGS: &[&str] = &[
    "vneid_activated",
    "bank_account",
    "public_service_account",
    "ehealth_book",
    "digital_signature",
    "basic_skills_certified",
];

impl Skills {
    pub fn flag(&self, key: &str) -> Option<bool> {
        match key {
            "vneid_activated" => self.vneid_activated,
            "bank_account" => self.bank_account,
            "public_service_account" => self.public_service_account,
            "ehealth_book" => self.ehealth_book,
            "digital_signature" => self.digital_signature,
            "basic_skills_certified" => self.basic_skills_certified,
            _ => None,
        }
    }

    pub fn set_flag(&mut self, key: &str, value: Option<bool>) {
        match key {
            "vneid_activated" => self.vneid_activated = value,
            "bank_account" => self.bank_account = value,
            "public_service_account" => self.public_service_account = value,
            "ehealth_book" => self.ehealth_book = value,
            "digital_signature" => self.digital_signature = value,
            "basic_skills_certified" => self.basic_skills_certified = value,
            _ => {}
        }
    }
}

/// A support session at the household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceOutcome {
    pub service: String,
    pub outcome: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub id: String,
    pub person_id: String,
    pub purpose: String,
    pub method: ConsentMethod,
    pub given_at: String,
    pub recorded_by: String,
    pub withdrawn_at: Option<String>,
    pub withdrawn_by: Option<String>,
    pub withdrawal_reason: Option<String>,
}

/// A field that two devices changed concurrently: every value is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub household_id: String,
    /// Where in the household: `phone`, `members/<id>/name`, `visits/<id>/feedback`.
    pub path: String,
    /// The values, the one shown today first.
    pub values: Vec<String>,
}

/// A stored value that breaks the document schema or a rule that entry enforces:
/// a merge of two valid edits (birth year on one device, ID number on another),
/// or a write by another Automerge implementation. Listed, never hidden; fixed by
/// an ordinary edit, which validates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdProblem {
    pub household_id: String,
    /// The field at fault (`phone`, `members/<id>/id_number`), or a whole record
    /// (`visits/<key>`).
    pub path: String,
    /// The fields the rule involves, by their document key: the ID-number rule
    /// names `id_number`, `birth_year` and `gender`.
    pub fields: Vec<String>,
    pub problem: Problem,
    /// The value at `path` as text; empty when missing.
    pub value: String,
}

impl HouseholdProblem {
    /// The record the problem belongs to: `members/<id>`, `visits/<id>`,
    /// `consents/<id>`, or `""` for the household's own fields.
    pub fn record(&self) -> &str {
        record_of(&self.path)
    }
}

/// The record a document path belongs to (see [`HouseholdProblem::record`]).
pub fn record_of(path: &str) -> &str {
    for coll in ["members/", "visits/", "consents/"] {
        if let Some(rest) = path.strip_prefix(coll) {
            let id_len = rest.find('/').unwrap_or(rest.len());
            return &path[..coll.len() + id_len];
        }
    }
    ""
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
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewConsent {
    pub person_id: String,
    pub purpose: String,
    pub method: String,
    /// RFC 3339; `None` for now.
    pub given_at: Option<String>,
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
