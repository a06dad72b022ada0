//! Every message exists in both languages: not empty, and not the same
//! words twice (names and codes aside).

use std::collections::BTreeSet;

use field_core::messages::field_label;
use field_core::{Error as CoreError, Field, Invalid, Kind, Problem};

use super::*;
use crate::error::{CliError, Doing, ReportOption};

/// Every fixed text; adding a variant without listing it here does not compile.
fn all_t() -> Vec<T> {
    let all = vec![
        T::ErrorPrefix,
        T::Volunteer,
        T::Team,
        T::Commune,
        T::Villages,
        T::Households,
        T::Persons,
        T::Visits,
        T::PendingChanges,
        T::Conflicts,
        T::Problems,
        T::SchemaVersion,
        T::StorePath,
        T::LastChange,
        T::NotInitialized,
        T::ShortId,
        T::Head,
        T::Village,
        T::Address,
        T::Phone,
        T::Members,
        T::LastVisit,
        T::Devices,
        T::Groups,
        T::Created,
        T::Name,
        T::BirthYear,
        T::Gender,
        T::IdNumber,
        T::Skills,
        T::Consents,
        T::When,
        T::Services,
        T::FollowUp,
        T::Feedback,
        T::Consent,
        T::Person,
        T::Purpose,
        T::Method,
        T::Withdrawn,
        T::Household,
        T::Path,
        T::Values,
        T::Code,
        T::NoHouseholds,
        T::MovedAway,
        T::ReadOnlyMovedAway,
        T::NoVisits,
        T::NoConflicts,
        T::NoProblems,
        T::Problem,
        T::ProblemCount,
        T::ServicesCatalogue,
        T::OutcomesCatalogue,
        T::GroupsCatalogue,
        T::Minutes,
        T::Yes,
        T::No,
        T::Quarantined,
        T::WaitingChanges,
        T::NoQuarantined,
        T::Change,
        T::Reason,
        T::ReceivedFrom,
        T::ServiceName,
        T::OutcomeName,
        T::GroupName,
        T::CommunesCatalogue,
        T::Province,
        T::SetBy,
        T::Server,
        T::NotEnrolledYet,
        T::LastSync,
        T::RefusedChanges,
        T::Cancelled,
        T::Edited,
        T::RemovedMember,
        T::InError,
        T::RemovedMembers,
        T::NoRefused,
        T::Changes,
        T::RefusedHelp,
        T::SeeRefused,
    ];
    for t in &all {
        match t {
            T::ErrorPrefix
            | T::Volunteer
            | T::Team
            | T::Commune
            | T::Villages
            | T::Households
            | T::Persons
            | T::Visits
            | T::PendingChanges
            | T::Conflicts
            | T::Problems
            | T::SchemaVersion
            | T::StorePath
            | T::LastChange
            | T::NotInitialized
            | T::ShortId
            | T::Head
            | T::Village
            | T::Address
            | T::Phone
            | T::Members
            | T::LastVisit
            | T::Devices
            | T::Groups
            | T::Created
            | T::Name
            | T::BirthYear
            | T::Gender
            | T::IdNumber
            | T::Skills
            | T::Consents
            | T::When
            | T::Services
            | T::FollowUp
            | T::Feedback
            | T::Consent
            | T::Person
            | T::Purpose
            | T::Method
            | T::Withdrawn
            | T::Household
            | T::Path
            | T::Values
            | T::Code
            | T::NoHouseholds
            | T::MovedAway
            | T::ReadOnlyMovedAway
            | T::NoVisits
            | T::NoConflicts
            | T::NoProblems
            | T::Problem
            | T::ProblemCount
            | T::ServicesCatalogue
            | T::OutcomesCatalogue
            | T::GroupsCatalogue
            | T::Minutes
            | T::Yes
            | T::No
            | T::Quarantined
            | T::WaitingChanges
            | T::NoQuarantined
            | T::Change
            | T::Reason
            | T::ReceivedFrom
            | T::ServiceName
            | T::OutcomeName
            | T::GroupName
            | T::CommunesCatalogue
            | T::Province
            | T::SetBy
            | T::Server
            | T::NotEnrolledYet
            | T::LastSync
            | T::RefusedChanges
            | T::Cancelled
            | T::Edited
            | T::RemovedMember
            | T::InError
            | T::RemovedMembers
            | T::NoRefused
            | T::Changes
            | T::RefusedHelp
            | T::SeeRefused => {}
        }
    }
    all
}

fn all_r() -> Vec<R> {
    let all = vec![
        R::Indicator,
        R::InPeriod,
        R::ToDate,
        R::LevelTeam,
        R::LevelVillage,
        R::LevelCommune,
        R::LevelProvince,
        R::LevelNational,
        R::Nationwide,
        R::UnknownUnit,
        R::OtherUnit,
        R::HouseholdsRegistered,
        R::HouseholdsVisited,
        R::Reached,
        R::Visits,
        R::VisitsBy,
        R::PeopleSupported,
        R::FeaturePhonesReplaced,
        R::Persons,
        R::Smartphone,
        R::DigitalCitizens,
        R::Target,
        R::FollowUpsDue,
        R::FollowUpsOverdue,
        R::VillagesWithTeam,
        R::Teams,
        R::Volunteers,
        R::ToReview,
        R::Unreadable,
    ];
    for r in &all {
        match r {
            R::Indicator
            | R::InPeriod
            | R::ToDate
            | R::LevelTeam
            | R::LevelVillage
            | R::LevelCommune
            | R::LevelProvince
            | R::LevelNational
            | R::Nationwide
            | R::UnknownUnit
            | R::OtherUnit
            | R::HouseholdsRegistered
            | R::HouseholdsVisited
            | R::Reached
            | R::Visits
            | R::VisitsBy
            | R::PeopleSupported
            | R::FeaturePhonesReplaced
            | R::Persons
            | R::Smartphone
            | R::DigitalCitizens
            | R::Target
            | R::FollowUpsDue
            | R::FollowUpsOverdue
            | R::VillagesWithTeam
            | R::Teams
            | R::Volunteers
            | R::ToReview
            | R::Unreadable => {}
        }
    }
    all
}

/// Texts that are the same word in both languages on purpose.
const SAME_IN_BOTH: &[&str] = &["VNeID"];

fn check(what: &str, vi: &str, en: &str) {
    assert!(!vi.trim().is_empty(), "{what}: no Vietnamese");
    assert!(!en.trim().is_empty(), "{what}: no English");
    if !SAME_IN_BOTH.contains(&vi) {
        assert_ne!(vi, en, "{what}: the same in both languages");
    }
}

fn both<F: Fn(Lang) -> String>(what: &str, f: F) {
    check(what, &f(Lang::Vi), &f(Lang::En));
}

#[test]
fn fixed_texts_exist_in_both_languages() {
    for x in all_t() {
        both(&format!("{x:?}"), |l| t(l, x).to_string());
    }
    for x in all_r() {
        both(&format!("{x:?}"), |l| r(l, x).to_string());
    }
    for (what, vi, en) in help::all() {
        check(&what, vi, en);
    }
}

#[test]
fn words_fields_and_problems_exist_in_both_languages() {
    for w in [
        "smartphone",
        "feature_phone_only",
        "none",
        "male",
        "female",
        "other",
        "registered",
        "level1",
        "level2",
        "verbal",
        "written",
        "app",
        "vneid_activated",
        "bank_account",
        "public_service_account",
        "ehealth_book",
        "digital_signature",
        "basic_skills_certified",
    ] {
        both(w, |l| word(l, w));
    }
    for f in Field::ALL {
        both(&format!("{f:?}"), |l| field_label(l, *f).to_string());
    }
    for k in [
        Kind::Household,
        Kind::Person,
        Kind::Visit,
        Kind::Consent,
        Kind::Village,
    ] {
        both(&format!("{k:?}"), |l| kind_label(l, k).to_string());
    }
    let problems = [
        Problem::Required,
        Problem::TooLong { max: 3 },
        Problem::UnknownCommune,
        Problem::UnknownVillage,
        Problem::BadPhone,
        Problem::IdNumberFormat,
        Problem::IdNumberMismatch {
            expected: "058".into(),
        },
        Problem::OutOfRange { min: 1, max: 2 },
        Problem::UnknownCode {
            known: vec!["a".into()],
        },
        Problem::NotOneOf {
            allowed: vec!["male".into()],
        },
        Problem::BadDate,
        Problem::NotInHousehold,
        Problem::NoService,
        Problem::AlreadyWithdrawn,
        Problem::InFuture {
            latest: "2026-01-01T00:00:00Z".into(),
        },
        Problem::TooFarBack {
            earliest: "2026-01-01T00:00:00Z".into(),
        },
        Problem::BeforeVisit {
            visit_day: "2026-01-01".into(),
        },
        Problem::NoConflict,
        Problem::NotAConflictValue {
            values: vec!["a".into()],
        },
        Problem::WrongType {
            expected: "int".into(),
            found: "str".into(),
        },
        Problem::NotAUuid,
    ];
    for p in &problems {
        both(&format!("{p:?}"), |l| problem(l, p));
    }
    both("path", |l| {
        path_label(l, "members/0190a1b2-c3d4-7e5f-8a9b-0123456789ab/name")
    });
    both("plural", |l| plural(l, 2, "hộ", "household", "households"));
    assert_eq!(
        plural(Lang::En, 1, "hộ", "household", "households"),
        "1 household"
    );
    assert_eq!(
        plural(Lang::En, 2, "hộ", "household", "households"),
        "2 households"
    );
    assert_eq!(plural(Lang::Vi, 2, "hộ", "household", "households"), "2 hộ");
}

#[test]
fn errors_exist_in_both_languages() {
    let core = [
        CoreError::Invalid(Invalid::new(Field::Phone, "1", Problem::BadPhone)),
        CoreError::NotFound {
            kind: Kind::Household,
            id: "x".into(),
        },
        CoreError::Ambiguous {
            kind: Kind::Person,
            id: "x".into(),
        },
        CoreError::NotInitialized,
        CoreError::AlreadyInitialized {
            volunteer: "Lan".into(),
        },
        CoreError::TooNew {
            path: "p".into(),
            found: 9,
            known: 6,
        },
        CoreError::BadChanges("x".into()),
        CoreError::BadDocument {
            id: "x".into(),
            reason: "y".into(),
        },
        CoreError::Reference("x".into()),
        CoreError::Io {
            path: "p".into(),
            message: "m".into(),
        },
        CoreError::NotEnrolled,
        CoreError::Network("reset".into()),
        CoreError::Unreachable {
            url: "http://h".into(),
            attempts: 6,
        },
        CoreError::BadServerUrl("h".into()),
        CoreError::Revoked {
            message: "gone".into(),
            wipe: false,
        },
        CoreError::Revoked {
            message: "gone".into(),
            wipe: true,
        },
        CoreError::Wiped { reported: 3 },
        CoreError::WrongKey { path: "p".into() },
        CoreError::KeyNeeded { path: "p".into() },
        CoreError::InUse { path: "p".into() },
        CoreError::OutsideVillages { id: "x".into() },
    ];
    for e in core {
        both(&format!("{e:?}"), |l| core_error(l, &e));
    }
    let cli = [
        CliError::Passphrase(crate::passphrase::Problem::Needed),
        CliError::Passphrase(crate::passphrase::Problem::Mismatch),
        CliError::Passphrase(crate::passphrase::Problem::TooShort),
        CliError::NoDataDir,
        CliError::Diverged,
        CliError::Demo("x".into()),
        CliError::ServerMissing {
            looked: vec!["a".into()],
        },
        CliError::AlreadyEnrolled {
            server: "http://h".into(),
        },
        CliError::LegacyCommune {
            code: "00001".into(),
            name: "Phúc Xá".into(),
            successors: vec![],
        },
        CliError::Unreachable {
            url: "http://h".into(),
            attempts: 3,
            during: Doing::Export,
            pending: None,
        },
        CliError::Unreachable {
            url: "http://h".into(),
            attempts: 3,
            during: Doing::Enroll,
            pending: None,
        },
        CliError::Unreachable {
            url: "http://h".into(),
            attempts: 3,
            during: Doing::Sync,
            pending: Some(2),
        },
    ];
    for e in cli {
        both(&format!("{e:?}"), |l| error_message(l, &e));
    }
    for o in [
        ReportOption::Period,
        ReportOption::PeriodsStartDay,
        ReportOption::Level,
        ReportOption::Format,
        ReportOption::Today,
        ReportOption::Pii,
        ReportOption::ExportFormat,
        ReportOption::IndicatorsOnly,
        ReportOption::IndicatorsFormat,
    ] {
        both(&format!("{o:?}"), |l| report_input(l, o, "x"));
    }
}

#[test]
fn every_server_code_and_reason_is_said_in_both_languages() {
    use gocua_protocol::{codes, reasons};
    let all_codes = [
        codes::PROTOCOL_MISMATCH,
        codes::UNAUTHORIZED,
        codes::DEVICE_REVOKED,
        codes::FORBIDDEN,
        codes::ENROLLMENT_CODE_INVALID,
        codes::BAD_REQUEST,
        codes::BAD_BUNDLE,
        codes::TOO_LARGE,
        codes::UNSUPPORTED_MEDIA_TYPE,
        codes::NOT_FOUND,
        codes::CURSOR_EXPIRED,
        codes::INTERNAL,
        codes::UNAVAILABLE,
        codes::RATE_LIMITED,
        "",
    ];
    let all_reasons = [
        None,
        Some(reasons::CODE_UNKNOWN),
        Some(reasons::CODE_EXPIRED),
        Some(reasons::CODE_USED),
        Some(reasons::NO_TOKEN),
        Some(reasons::UNKNOWN_TOKEN),
        Some(reasons::NOT_AN_OFFICER),
        Some(reasons::OUTSIDE_AREA),
        Some(reasons::FULL_EXTRACT_ON_SERVER),
        Some(reasons::NOT_A_DEVICE),
        Some(reasons::CANNOT_READ_HOUSEHOLDS),
        Some(reasons::UNKNOWN_AREA),
    ];
    for c in all_codes {
        for r in all_reasons {
            both(&format!("{c} {r:?}"), |l| server::refused(l, 403, c, r));
        }
    }
    // A code covering several cases says each differently.
    let enroll: BTreeSet<String> = [
        reasons::CODE_UNKNOWN,
        reasons::CODE_EXPIRED,
        reasons::CODE_USED,
    ]
    .iter()
    .map(|r| server::refused(Lang::Vi, 403, codes::ENROLLMENT_CODE_INVALID, Some(r)))
    .collect();
    assert_eq!(enroll.len(), 3);
    for c in [
        codes::OUTSIDE_VILLAGES,
        codes::MOVES_VILLAGE,
        codes::UNKNOWN_DOCUMENT,
        codes::BAD_CHANGE,
        codes::MISSING_DEPENDENCIES,
        codes::BAD_DOCUMENT,
        codes::FOREIGN_CHANGE,
        codes::REUSED_SEQUENCE,
        "something_new",
    ] {
        both(c, |l| server::refusal(l, c));
    }
    both("retrying", |l| server::retrying(l, "http://h", 1, 6));
    both("broke", |l| server::connection_broke(l).to_string());
    both("conflicts", |l| server::conflicts_waiting(l, 1));
    assert!(server::conflicts_waiting(Lang::En, 1).starts_with("1 field changed"));
    assert!(server::conflicts_waiting(Lang::En, 2).starts_with("2 fields changed"));
}

#[test]
fn usage_errors_exist_in_both_languages() {
    use help::Usage;
    let all = [
        Usage::UnknownArgument {
            arg: "--x".into(),
            command: "gocua".into(),
            suggestion: Some("--y".into()),
        },
        Usage::UnknownCommand {
            name: "x".into(),
            command: "gocua".into(),
            suggestion: None,
            commands: vec!["a".into()],
        },
        Usage::Missing {
            command: "gocua".into(),
            args: vec![("--x".into(), None)],
        },
        Usage::MissingCommand {
            command: "gocua".into(),
            commands: vec!["a".into()],
        },
        Usage::NotAllowed {
            arg: "--x".into(),
            value: "v".into(),
            allowed: vec!["a".into()],
        },
        Usage::BadValue {
            arg: "--x".into(),
            value: "v".into(),
            meaning: None,
        },
        Usage::NoValue {
            arg: "--x".into(),
            meaning: None,
        },
        Usage::Conflict {
            arg: "--x".into(),
            other: "--y".into(),
        },
        Usage::WrongValues { arg: "--x".into() },
        Usage::Other {
            command: "gocua".into(),
        },
    ];
    for u in &all {
        both(u.kind(), |l| help::usage(l, u));
    }
}

#[test]
fn successes_exist_in_both_languages() {
    both("initialized", |l| initialized(l, "Lan", "Tổ", "Xã", "Tỉnh"));
    both("household_added", |l| household_added(l, "ab", "Hạnh"));
    both("household_saved", |l| household_saved(l, "ab", "Hạnh"));
    both("member_saved", |l| member_saved(l, "ab", "Thủy"));
    both("visit_recorded", |l| {
        visit_recorded(l, "ab", "2026-01-01 10:00")
    });
    both("consent_recorded", |l| consent_recorded(l, "ab"));
    both("consent_withdrawn", |l| consent_withdrawn(l, "ab"));
    both("doc_exported", |l| doc_exported(l, "ab", "p"));
    both("changes_imported", |l| changes_imported(l, 1, 1, 0, 0));
    both("changes_quarantined", |l| changes_quarantined(l, 1));
    both("quarantined_by_server", |l| quarantined_by_server(l, 1));
    both("store_copy_recognized", |l| store_copy_recognized(l, 1));
    both("changes_waiting", |l| changes_waiting(l, 1));
    both("origin", |l| origin(l, "server"));
    both("sync_done", |l| sync_done(l, 1, 0, 2, 1, true, 0));
    assert!(sync_done(Lang::En, 1, 0, 2, 1, false, 0).contains("sent 1 change ("));
    both("changes_exported", |l| changes_exported(l, 1, "p"));
    both("heads_written", |l| heads_written(l, 1, "p"));
    both("conflict_resolved", |l| conflict_resolved(l, "phone", "1"));
    both("rebuilt", |l| rebuilt(l, 1));
    both("exported", |l| exported(l, "p", 1, Some(2)));
    both("no_commune", |l| no_commune(l, "x"));
    both("report_heading", |l| {
        report_heading(l, "2026-01", "a", "b", "c", "d")
    });
    both("already_enrolled", |l| {
        server::already_enrolled(l, "http://h")
    });
    both("enrolled", |l| {
        server::enrolled(l, "h", "a", "b", "c", "d", "e")
    });
    both("bad_server_url", |l| server::bad_server_url(l, "h"));
    both("household_refused", |l| {
        server::household_refused(l, "ab", "bad_change")
    });
}
