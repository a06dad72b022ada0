//! A value refused, and why: the field, the value and what is wrong with it.
//!
//! Structured (which field, what is wrong) so that the CLI and the apps can say
//! it in the user's language. The same [`Problem`] says why an input is refused
//! and why a stored value is listed as a problem after a merge.

use std::fmt;

/// A field of an input record, named as in the documents and the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    CommuneCode,
    VillageId,
    VillageName,
    Address,
    HeadName,
    Phone,
    MemberCount,
    DeviceAccess,
    TargetGroup,
    Name,
    BirthYear,
    Gender,
    IdNumber,
    VneidLevel,
    VisitedAt,
    PersonId,
    ServiceCode,
    OutcomeCode,
    DurationMinutes,
    FollowUpOn,
    ConsentId,
    Purpose,
    ConsentMethod,
    GivenAt,
    VolunteerName,
    TeamName,
    HouseholdId,
    VisitId,
    Path,
    Value,
}

impl Field {
    /// The stable name of the field (snake case), used in JSON errors and docs.
    pub fn name(self) -> &'static str {
        match self {
            Field::CommuneCode => "commune_code",
            Field::VillageId => "village_id",
            Field::VillageName => "village_name",
            Field::Address => "address",
            Field::HeadName => "head_name",
            Field::Phone => "phone",
            Field::MemberCount => "member_count",
            Field::DeviceAccess => "device_access",
            Field::TargetGroup => "target_group",
            Field::Name => "name",
            Field::BirthYear => "birth_year",
            Field::Gender => "gender",
            Field::IdNumber => "id_number",
            Field::VneidLevel => "vneid_level",
            Field::VisitedAt => "visited_at",
            Field::PersonId => "person_id",
            Field::ServiceCode => "service_code",
            Field::OutcomeCode => "outcome",
            Field::DurationMinutes => "duration_minutes",
            Field::FollowUpOn => "follow_up_on",
            Field::ConsentId => "consent_id",
            Field::Purpose => "purpose",
            Field::ConsentMethod => "consent_method",
            Field::GivenAt => "given_at",
            Field::VolunteerName => "volunteer_name",
            Field::TeamName => "team_name",
            Field::HouseholdId => "household_id",
            Field::VisitId => "visit_id",
            Field::Path => "path",
            Field::Value => "value",
        }
    }
}

impl Field {
    pub const ALL: &'static [Field] = &[
        Field::CommuneCode,
        Field::VillageId,
        Field::VillageName,
        Field::Address,
        Field::HeadName,
        Field::Phone,
        Field::MemberCount,
        Field::DeviceAccess,
        Field::TargetGroup,
        Field::Name,
        Field::BirthYear,
        Field::Gender,
        Field::IdNumber,
        Field::VneidLevel,
        Field::VisitedAt,
        Field::PersonId,
        Field::ServiceCode,
        Field::OutcomeCode,
        Field::DurationMinutes,
        Field::FollowUpOn,
        Field::ConsentId,
        Field::Purpose,
        Field::ConsentMethod,
        Field::GivenAt,
        Field::VolunteerName,
        Field::TeamName,
        Field::HouseholdId,
        Field::VisitId,
        Field::Path,
        Field::Value,
    ];

    /// The field a document key names, where it is one of the input fields.
    pub fn from_key(key: &str) -> Option<Field> {
        match key {
            "method" => Some(Field::ConsentMethod),
            "services" => Some(Field::ServiceCode),
            "target_groups" => Some(Field::TargetGroup),
            "person_ids" => Some(Field::PersonId),
            _ => Field::ALL.iter().copied().find(|f| f.name() == key),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is wrong with a field's value: why an input is refused, and why a
/// stored record is listed as a problem (`HouseholdProblem`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Problem {
    /// A required value is missing or blank.
    Required,
    /// Longer than `max` characters.
    TooLong { max: usize },
    /// Not a commune in force (or not in the device's commune).
    UnknownCommune,
    /// Not one of the device's villages.
    UnknownVillage,
    /// Not a Vietnamese phone number.
    BadPhone,
    /// The ID number is not 12 digits.
    IdNumberFormat,
    /// The ID number's century/gender digit or year digits contradict the person.
    IdNumberMismatch { expected: String },
    /// Outside `min..=max`.
    OutOfRange { min: i64, max: i64 },
    /// Not in the catalogue (services, outcomes, target groups).
    UnknownCode { known: Vec<String> },
    /// Not one of a fixed set of words.
    NotOneOf { allowed: Vec<String> },
    /// A date or time that cannot be read.
    BadDate,
    /// Refers to a member, consent or record that the household does not have.
    NotInHousehold,
    /// A visit must name at least one service.
    NoService,
    /// The consent was withdrawn already.
    AlreadyWithdrawn,
    /// There is no conflict at this path.
    NoConflict,
    /// The value is not one of the conflicting values.
    NotAConflictValue { values: Vec<String> },
    /// The document holds another type than its schema says (written by another
    /// implementation): `expected` and `found` are type names (`string`, `integer`,
    /// `boolean`, `map`, `counter`, `list`...).
    WrongType { expected: String, found: String },
    /// A record's key in its collection is not a UUID.
    NotAUuid,
    /// Dated later than now (beyond a few minutes of clock error): `latest`
    /// is the latest accepted, RFC 3339.
    InFuture { latest: String },
    /// Dated before the household was registered, or more than a year ago,
    /// without saying the record is entered late (`earliest`, RFC 3339).
    TooFarBack { earliest: String },
    /// A follow-up day before the visit's own day (`YYYY-MM-DD`).
    BeforeVisit { visit_day: String },
    /// A visit recorded under a consent that had been withdrawn before it
    /// (offline, on another device): `withdrawn_at`, RFC 3339.
    ConsentWithdrawnBefore { withdrawn_at: String },
    /// The record is corrected so already (a member removed, a visit
    /// cancelled, a household marked registered in error).
    AlreadyCorrected,
    /// The record is not corrected: there is nothing to undo.
    NotCorrected,
    /// The household is marked registered in error: nothing is recorded in it
    /// until that is undone.
    MarkedInError,
    /// The visit is cancelled: restore it before correcting it.
    VisitCancelled,
    /// The server refused none of the household's changes.
    NothingRefused,
    /// A household cannot be merged into itself (or into one already merged
    /// into it: `into` is where it counts now).
    SameHousehold { into: String },
    /// Two households of different villages are not merged: move one first.
    OtherVillage { village: String },
    /// The household is merged into another already (`into`): undo that first.
    AlreadyMerged { into: String },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Required => write!(f, "is required"),
            Problem::TooLong { max } => write!(f, "is longer than {max} characters"),
            Problem::UnknownCommune => write!(f, "is not a commune in force"),
            Problem::UnknownVillage => write!(f, "is not one of this device's villages"),
            Problem::BadPhone => write!(
                f,
                "is not a Vietnamese phone number (10 digits starting 03, 05, 07, 08, 09 or 11 digits starting 02; +84 accepted)"
            ),
            Problem::IdNumberFormat => write!(f, "must be exactly 12 digits"),
            Problem::IdNumberMismatch { expected } => write!(
                f,
                "does not match the person's birth year and gender (digits 4-6 should be {expected})"
            ),
            Problem::OutOfRange { min, max } => write!(f, "must be between {min} and {max}"),
            Problem::UnknownCode { known } => {
                write!(f, "is not in the catalogue (known: {})", known.join(", "))
            }
            Problem::NotOneOf { allowed } => write!(f, "must be one of {}", allowed.join(", ")),
            Problem::BadDate => write!(f, "is not a date (YYYY-MM-DD) or time (RFC 3339)"),
            Problem::NotInHousehold => write!(f, "is not in this household"),
            Problem::NoService => write!(f, "needs at least one service"),
            Problem::AlreadyWithdrawn => write!(f, "was withdrawn already"),
            Problem::InFuture { latest } => write!(f, "is in the future (latest: {latest})"),
            Problem::TooFarBack { earliest } => write!(
                f,
                "is before {earliest} (the household's registration, or a year ago): say the visit is entered late"
            ),
            Problem::ConsentWithdrawnBefore { withdrawn_at } => write!(
                f,
                "refers to a consent withdrawn before the visit (at {withdrawn_at}); review the visit"
            ),
            Problem::BeforeVisit { visit_day } => {
                write!(f, "is before the visit's day ({visit_day})")
            }
            Problem::NoConflict => write!(f, "has no conflict to resolve"),
            Problem::NotAConflictValue { values } => {
                write!(
                    f,
                    "must be one of the conflicting values: {}",
                    values.join(" | ")
                )
            }
            Problem::WrongType { expected, found } => {
                write!(f, "holds a {found} where the schema says {expected}")
            }
            Problem::NotAUuid => write!(f, "is not a UUID"),
            Problem::AlreadyCorrected => write!(f, "is marked so already"),
            Problem::NotCorrected => write!(f, "is not marked; there is nothing to undo"),
            Problem::NothingRefused => write!(f, "has no changes refused by the server"),
            Problem::SameHousehold { into } => {
                write!(f, "is the same household as the one to merge into ({into})")
            }
            Problem::OtherVillage { village } => write!(
                f,
                "is in another village ({village}): move one household first, then merge"
            ),
            Problem::AlreadyMerged { into } => {
                write!(f, "is merged into {into} already: undo that merge first")
            }
            Problem::VisitCancelled => write!(
                f,
                "is cancelled; restore it first to correct it (gocua visit cancel ID --undo)"
            ),
            Problem::MarkedInError => write!(
                f,
                "is marked as registered in error; undo that first (gocua household in-error ID --undo)"
            ),
        }
    }
}

/// A value refused by validation: nothing was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: Field,
    pub value: String,
    pub problem: Problem,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{} {}", self.field, self.problem)
        } else {
            write!(f, "{} {:?} {}", self.field, self.value, self.problem)
        }
    }
}

impl Invalid {
    pub fn new(field: Field, value: impl Into<String>, problem: Problem) -> Invalid {
        Invalid {
            field,
            value: value.into(),
            problem,
        }
    }
}

impl std::error::Error for Invalid {}
