//! What a household document holds, as read from it: the household, its
//! members, visits and consent records, the conflicts and the problems found.
//!
//! Plain owned records with ids as strings: field-core hands them to Kotlin and
//! Swift through UniFFI, and the server reads the same documents into them.

use serde::{Deserialize, Serialize};

use crate::invalid::Problem;

pub use crate::schema::record_of;

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $word:literal $([$($alias:literal),* $(,)?])?),+ $(,)? }) => {
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

            /// The code exactly as stored: how documents are read.
            pub fn parse(word: &str) -> Option<Self> {
                match word.trim() { $($word => Some($name::$variant),)+ _ => None }
            }

            /// What a person types: the code, or a word of theirs for it
            /// (Vietnamese with or without diacritics, English), in any case.
            pub fn parse_input(word: &str) -> Option<Self> {
                if let Some(v) = Self::parse(word) {
                    return Some(v);
                }
                let typed = gocua_text::fold(&word.replace(['_', '-'], " "));
                $(
                    if gocua_text::fold(&$word.replace('_', " ")) == typed
                        $($(|| gocua_text::fold($alias) == typed)*)?
                    {
                        return Some($name::$variant);
                    }
                )+
                None
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
        Smartphone => "smartphone" ["điện thoại thông minh", "thông minh", "có điện thoại thông minh"],
        FeaturePhoneOnly => "feature_phone_only" [
            "chỉ có điện thoại 2G", "chỉ điện thoại 2G", "điện thoại 2G", "2G", "chỉ 2G",
            "feature phone",
        ],
        None => "none" ["không có", "không", "không có điện thoại"],
    }
);

word_enum!(
    Gender {
        Male => "male" ["nam"],
        Female => "female" ["nữ"],
        Other => "other" ["khác"],
    }
);

word_enum!(
    /// The person's VNeID electronic identification.
    VneidLevel {
        None => "none" ["chưa có", "chưa", "không", "không có"],
        Registered => "registered" ["đã đăng ký", "đăng ký"],
        Level1 => "level1" ["mức 1", "mức1", "level 1"],
        Level2 => "level2" ["mức 2", "mức2", "level 2"],
    }
);

word_enum!(
    /// How consent was given.
    ConsentMethod {
        Verbal => "verbal" ["bằng lời", "lời nói", "nói"],
        Written => "written" ["bằng văn bản", "văn bản", "giấy"],
        App => "app" ["qua ứng dụng", "ứng dụng", "trên ứng dụng"],
    }
);

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
    /// Marked as registered by mistake: out of every list and count.
    #[serde(default)]
    pub in_error: Option<Correction>,
    /// Merged into another household (a duplicate): this document's own
    /// mark, as written; whether it counts is `crate::merge::roots`' to say.
    #[serde(default)]
    pub merged: Option<crate::merge::Merge>,
    /// The households merged into this one (set by `crate::merge::compose`;
    /// a document read alone has none).
    #[serde(default)]
    pub absorbed: Vec<crate::merge::Absorbed>,
}

/// A correction made as an edit, never by deleting: who made it, when and
/// why. The record stays in the document (and in `household show`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    pub at: String,
    pub by: String,
    pub reason: Option<String>,
}

impl Household {
    /// The household as it counts: without its removed members and cancelled
    /// visits. What every figure is made from.
    pub fn counted(&self) -> std::borrow::Cow<'_, Household> {
        let corrected = self.members.iter().any(|m| m.removed.is_some())
            || self.visits.iter().any(|v| v.cancelled.is_some());
        if !corrected {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut h = self.clone();
        h.members.retain(|m| m.removed.is_none());
        h.visits.retain(|v| v.cancelled.is_none());
        std::borrow::Cow::Owned(h)
    }
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
    /// No longer a member: kept, out of the lists and counts.
    #[serde(default)]
    pub removed: Option<Correction>,
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
    /// Cancelled: kept in the history, out of every count.
    #[serde(default)]
    pub cancelled: Option<Correction>,
    /// Its last correction (who and when; the reason is not asked).
    #[serde(default)]
    pub edited: Option<Correction>,
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

#[cfg(test)]
mod word_tests {
    use super::*;

    #[test]
    fn typed_words_in_vietnamese_or_english_give_the_code() {
        assert_eq!(Gender::parse_input("nữ"), Some(Gender::Female));
        assert_eq!(Gender::parse_input("Nu"), Some(Gender::Female));
        assert_eq!(Gender::parse_input("NAM"), Some(Gender::Male));
        assert_eq!(Gender::parse_input("khac"), Some(Gender::Other));
        assert_eq!(Gender::parse_input("female"), Some(Gender::Female));
        assert_eq!(Gender::parse_input("nữa"), None);
        assert_eq!(VneidLevel::parse_input("mức 2"), Some(VneidLevel::Level2));
        assert_eq!(VneidLevel::parse_input("muc 1"), Some(VneidLevel::Level1));
        assert_eq!(
            VneidLevel::parse_input("đã đăng ký"),
            Some(VneidLevel::Registered)
        );
        assert_eq!(
            ConsentMethod::parse_input("bằng lời"),
            Some(ConsentMethod::Verbal)
        );
        assert_eq!(
            ConsentMethod::parse_input("van ban"),
            Some(ConsentMethod::Written)
        );
        assert_eq!(
            ConsentMethod::parse_input("ứng dụng"),
            Some(ConsentMethod::App)
        );
        assert_eq!(
            DeviceAccess::parse_input("feature phone only"),
            Some(DeviceAccess::FeaturePhoneOnly)
        );
        assert_eq!(
            DeviceAccess::parse_input("điện thoại thông minh"),
            Some(DeviceAccess::Smartphone)
        );
        // Documents keep the exact code: a Vietnamese word stored by another
        // program is still a problem to show, not a value.
        assert_eq!(Gender::parse("nữ"), None);
    }
}
