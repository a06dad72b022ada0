//! The household document's layout (docs/data-model.md, "The household
//! document"): its kind, its version and the keys of its fields. Writers and
//! readers on every side name them from here, so that a key cannot be spelled
//! two ways.

/// The version of the household document layout this build writes.
pub const DOC_SCHEMA_VERSION: i64 = 1;

/// The value of [`KIND`] in a household document.
pub const KIND_HOUSEHOLD: &str = "household";

// The root's keys.
pub const KIND: &str = "kind";
pub const SCHEMA_VERSION: &str = "schema_version";
pub const NONCE: &str = "nonce";
pub const ID: &str = "id";
pub const COMMUNE_CODE: &str = "commune_code";
/// The key that files a household under a village (the server feeds its
/// changes to that village).
pub const VILLAGE_ID: &str = "village_id";
pub const HEAD_NAME: &str = "head_name";
pub const ADDRESS: &str = "address";
pub const PHONE: &str = "phone";
pub const MEMBER_COUNT: &str = "member_count";
pub const DEVICE_ACCESS: &str = "device_access";
pub const CREATED_AT: &str = "created_at";
pub const CREATED_BY: &str = "created_by";
/// A household registered by mistake: when, by whom and why it was marked
/// (docs/data-model.md, "Corrections"). Kept, out of every list and count.
pub const IN_ERROR_AT: &str = "in_error_at";
pub const IN_ERROR_BY: &str = "in_error_by";
pub const IN_ERROR_REASON: &str = "in_error_reason";
/// A household merged into another (a duplicate): a map of [`merge`]'s keys,
/// written whole, so that two merges made at once keep one of them whole.
pub const MERGED_INTO: &str = "merged_into";

/// The keys of the [`MERGED_INTO`] map.
pub mod merge {
    /// The id of the household that keeps this one's records.
    pub const INTO: &str = "into";
    pub const AT: &str = "at";
    pub const BY: &str = "by";
    /// A map of member id here to the member id there that is the same person.
    pub const MEMBERS: &str = "members";
}

// The root's maps: a set of codes and the three collections of records, each
// keyed by record id.
pub const TARGET_GROUPS: &str = "target_groups";
pub const MEMBERS: &str = "members";
pub const VISITS: &str = "visits";
pub const CONSENTS: &str = "consents";

/// The keys of a record of [`MEMBERS`]; its skill flags are
/// [`crate::model::SKILL_FLAGS`].
pub mod member {
    pub const NAME: &str = "name";
    pub const BIRTH_YEAR: &str = "birth_year";
    pub const GENDER: &str = "gender";
    pub const ID_NUMBER: &str = "id_number";
    pub const VNEID_LEVEL: &str = "vneid_level";
    pub const CREATED_AT: &str = super::CREATED_AT;
    pub const CREATED_BY: &str = super::CREATED_BY;
    /// A member no longer of the household (moved, died, entered by
    /// mistake): kept in the document, out of the lists and counts.
    pub const REMOVED_AT: &str = "removed_at";
    pub const REMOVED_BY: &str = "removed_by";
    pub const REMOVAL_REASON: &str = "removal_reason";
}

/// The keys of a record of [`VISITS`].
pub mod visit {
    pub const VISITED_AT: &str = "visited_at";
    pub const TEAM_ID: &str = "team_id";
    pub const VOLUNTEER_IDS: &str = "volunteer_ids";
    pub const PERSON_IDS: &str = "person_ids";
    /// A map of service code to outcome code.
    pub const SERVICES: &str = "services";
    /// A map of service code to note.
    pub const SERVICE_NOTES: &str = "service_notes";
    pub const DURATION_MINUTES: &str = "duration_minutes";
    pub const FOLLOW_UP_ON: &str = "follow_up_on";
    pub const FEEDBACK: &str = "feedback";
    pub const CONSENT_ID: &str = "consent_id";
    pub const RECORDED_AT: &str = "recorded_at";
    pub const RECORDED_BY: &str = "recorded_by";
    /// A visit cancelled (recorded by mistake): kept in the history, out of
    /// every count.
    pub const CANCELLED_AT: &str = "cancelled_at";
    pub const CANCELLED_BY: &str = "cancelled_by";
    pub const CANCEL_REASON: &str = "cancel_reason";
    /// The last correction of a visit's fields.
    pub const EDITED_AT: &str = "edited_at";
    pub const EDITED_BY: &str = "edited_by";
}

/// The keys of a record of [`CONSENTS`].
pub mod consent {
    pub const PERSON_ID: &str = "person_id";
    pub const PURPOSE: &str = "purpose";
    pub const METHOD: &str = "method";
    pub const GIVEN_AT: &str = "given_at";
    pub const RECORDED_BY: &str = "recorded_by";
    pub const WITHDRAWN_AT: &str = "withdrawn_at";
    pub const WITHDRAWN_BY: &str = "withdrawn_by";
    pub const WITHDRAWAL_REASON: &str = "withdrawal_reason";
}

/// The keys whose values are integers: a value chosen to resolve a conflict
/// there is written back as one.
pub const INT_KEYS: &[&str] = &[
    MEMBER_COUNT,
    member::BIRTH_YEAR,
    visit::DURATION_MINUTES,
    SCHEMA_VERSION,
];

/// Record ids are UUIDs in their hyphenated form.
pub fn is_record_id(key: &str) -> bool {
    key.len() == 36 && uuid::Uuid::parse_str(key).is_ok()
}

/// The record a document path belongs to: `members/<id>`, `visits/<id>`,
/// `consents/<id>`, or `""` for the household's own fields.
pub fn record_of(path: &str) -> &str {
    for coll in [MEMBERS, VISITS, CONSENTS] {
        if let Some(rest) = path
            .strip_prefix(coll)
            .and_then(|rest| rest.strip_prefix('/'))
        {
            let id_len = rest.find('/').unwrap_or(rest.len());
            return &path[..coll.len() + 1 + id_len];
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_belong_to_their_record() {
        assert_eq!(record_of("members/p1/birth_year"), "members/p1");
        assert_eq!(record_of("visits/v1"), "visits/v1");
        assert_eq!(record_of("consents/c1/person_id"), "consents/c1");
        assert_eq!(record_of("phone"), "");
        assert_eq!(record_of("membersx/p1"), "");
        assert_eq!(record_of("target_groups/poor"), "");
    }
}
