//! What can go wrong in a command, and how it maps to exit codes and JSON.

use std::path::PathBuf;

use field_core::Error as CoreError;

/// Exit code for usage and validation errors (as clap uses for usage errors).
pub const EXIT_USER: i32 = 2;
/// Exit code for everything else.
pub const EXIT_OTHER: i32 = 1;

#[derive(Debug)]
pub enum CliError {
    /// An error of the store.
    Core(CoreError),
    /// An input file could not be read.
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An output file could not be written.
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Writing to stdout failed.
    Output(std::io::Error),
    /// A file with the wrong content (not JSON, not a heads file ...).
    BadFile { path: PathBuf, message: String },
    /// Line `line` of an import file was refused (nothing was imported).
    Line {
        path: PathBuf,
        line: usize,
        error: Box<CliError>,
    },
    /// An import checked its file but stopped writing at line `line` (disk
    /// full ...): the `stored` households before it are in, whole.
    ImportStopped {
        path: PathBuf,
        line: usize,
        stored: usize,
        error: Box<CliError>,
    },
    /// `household add` of a household the village near-certainly has already.
    LikelyDuplicate(Box<field_core::DuplicateCandidate>),
    /// The store's passphrase is missing or refused (`passphrase`).
    Passphrase(crate::passphrase::Problem),
    /// No data directory could be found.
    NoDataDir,
    /// A command that loses data was not confirmed (`--confirm`).
    NeedsConfirm,
    /// Stores that exchanged everything still differ: a bug in gocua.
    Diverged,
    /// The demo's own server could not run.
    Demo(String),
    /// The demo found no `gocua-server` program; `looked` says where.
    ServerMissing { looked: Vec<String> },
    /// A `gocua report` option with a value it cannot take.
    ReportInput { option: ReportOption, value: String },
    /// The server could not be reached while doing `during`; `pending`
    /// changes wait on this device (a sync's).
    Unreachable {
        url: String,
        attempts: u32,
        during: Doing,
        pending: Option<i64>,
    },
    /// `error`, about the input `what` (`--area 99999`) it concerns.
    About { what: String, error: Box<CliError> },
    /// `enroll` on a device enrolled already, without `--again`.
    AlreadyEnrolled { server: String },
    /// A commune code of the list before 1 July 2025, and the communes in
    /// force that took it over (`code`, `name`, `province`).
    LegacyCommune {
        code: String,
        name: String,
        successors: Vec<(String, String, String)>,
    },
}

/// What was being done with the server, for what to advise when it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doing {
    Sync,
    Enroll,
    Export,
}

/// The options of `gocua report` whose values are checked by gocua.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportOption {
    Period,
    PeriodsStartDay,
    Level,
    Format,
    Today,
    Pii,
    ExportFormat,
    /// `--period`, `--level` or `--today` (the value) with a record-level
    /// extract, which holds every period.
    IndicatorsOnly,
    /// A format the indicators do not come in (`--pii none`).
    IndicatorsFormat,
}

impl ReportOption {
    pub fn name(self) -> &'static str {
        match self {
            ReportOption::Period => "period",
            ReportOption::PeriodsStartDay => "periods_start_day",
            ReportOption::Level => "level",
            ReportOption::Format => "format",
            ReportOption::Today => "today",
            ReportOption::Pii => "pii",
            ReportOption::ExportFormat => "format",
            ReportOption::IndicatorsOnly => "pii",
            ReportOption::IndicatorsFormat => "format",
        }
    }
}

impl From<CoreError> for CliError {
    fn from(e: CoreError) -> Self {
        CliError::Core(e)
    }
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Core(e) if e.is_user_error() => EXIT_USER,
            CliError::Core(_) => EXIT_OTHER,
            CliError::Read { .. }
            | CliError::BadFile { .. }
            | CliError::NoDataDir
            | CliError::Passphrase(_)
            | CliError::NeedsConfirm
            | CliError::ReportInput { .. }
            | CliError::LikelyDuplicate(_)
            | CliError::AlreadyEnrolled { .. }
            | CliError::LegacyCommune { .. } => EXIT_USER,
            CliError::Unreachable { .. } => EXIT_OTHER,
            CliError::Write { .. }
            | CliError::Output(_)
            | CliError::Diverged
            | CliError::Demo(_)
            | CliError::ServerMissing { .. } => EXIT_OTHER,
            CliError::Line { error, .. }
            | CliError::ImportStopped { error, .. }
            | CliError::About { error, .. } => error.exit_code(),
        }
    }

    /// A stable code for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            CliError::Core(e) => match e {
                CoreError::Invalid(_) => "invalid",
                CoreError::NotFound { .. } => "not_found",
                CoreError::Ambiguous { .. } => "ambiguous",
                CoreError::NotInitialized => "not_initialized",
                CoreError::AlreadyInitialized { .. } => "already_initialized",
                CoreError::TooNew { .. } => "store_too_new",
                CoreError::WrongKey { .. } => "wrong_key",
                CoreError::KeyNeeded { .. } => "key_needed",
                CoreError::InUse { .. } => "store_in_use",
                CoreError::BadChanges(_) => "bad_changes",
                CoreError::BadDocument { .. } => "bad_document",
                CoreError::Storage(_) => "storage",
                CoreError::Reference(_) => "reference_data",
                CoreError::Io { .. } => "io",
                CoreError::NotEnrolled => "not_enrolled",
                CoreError::Network(_) => "network",
                CoreError::Unreachable { .. } => "unreachable",
                CoreError::BadServerUrl(_) => "bad_server_url",
                CoreError::Server { .. } => "server_refused",
                CoreError::Revoked { .. } => "device_revoked",
                CoreError::Wiped { .. } => "device_wiped",
                CoreError::Cancelled => "cancelled",
                CoreError::BreaksRule(_) => "breaks_rule",
                CoreError::OutsideVillages { .. } => "outside_villages",
                CoreError::BadRule(_) => "bad_rule",
            },
            CliError::Read { .. } => "read_failed",
            CliError::Write { .. } => "write_failed",
            CliError::Output(_) => "output_failed",
            CliError::BadFile { .. } => "bad_file",
            CliError::Line { error, .. } | CliError::About { error, .. } => error.code(),
            CliError::ImportStopped { .. } => "import_stopped",
            CliError::LikelyDuplicate(_) => "likely_duplicate",
            CliError::NoDataDir => "no_data_dir",
            CliError::Passphrase(p) => match p {
                crate::passphrase::Problem::Needed => "passphrase_needed",
                crate::passphrase::Problem::Mismatch => "passphrase_mismatch",
                crate::passphrase::Problem::TooShort => "passphrase_too_short",
            },
            CliError::NeedsConfirm => "needs_confirm",
            CliError::Diverged => "diverged",
            CliError::Demo(_) => "demo_failed",
            CliError::ServerMissing { .. } => "server_missing",
            CliError::ReportInput { .. } => "bad_report_option",
            CliError::Unreachable { .. } => "unreachable",
            CliError::AlreadyEnrolled { .. } => "already_enrolled",
            CliError::LegacyCommune { .. } => "legacy_commune",
        }
    }

    /// The field at fault, by its stable name, when there is one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            CliError::Core(CoreError::Invalid(inv)) => Some(inv.field.name()),
            CliError::Core(CoreError::NotFound { kind, .. })
            | CliError::Core(CoreError::Ambiguous { kind, .. }) => Some(kind_field(*kind)),
            CliError::Line { error, .. }
            | CliError::ImportStopped { error, .. }
            | CliError::About { error, .. } => error.field(),
            CliError::LikelyDuplicate(_) => Some("head_name"),
            CliError::ReportInput { option, .. } => Some(option.name()),
            CliError::Core(CoreError::BadServerUrl(_)) => Some("server"),
            CliError::LegacyCommune { .. } => Some("commune_code"),
            CliError::Core(CoreError::BreaksRule(b)) => Some(
                b.fields
                    .first()
                    .and_then(|f| field_core::Field::from_key(f))
                    .unwrap_or(field_core::Field::Value)
                    .name(),
            ),
            _ => None,
        }
    }

    /// Whether stdout was closed by its reader (a pipe into `head`): the
    /// command stops there, and that is not a failure.
    pub fn is_closed_output(&self) -> bool {
        match self {
            CliError::Output(e) => e.kind() == std::io::ErrorKind::BrokenPipe,
            CliError::Line { error, .. } | CliError::ImportStopped { error, .. } => {
                error.is_closed_output()
            }
            _ => false,
        }
    }

    pub fn line(&self) -> Option<usize> {
        match self {
            CliError::Line { line, .. } | CliError::ImportStopped { line, .. } => Some(*line),
            _ => None,
        }
    }
}

fn kind_field(kind: field_core::Kind) -> &'static str {
    use field_core::Kind;
    match kind {
        Kind::Household => "household_id",
        Kind::Person => "person_id",
        Kind::Visit => "visit_id",
        Kind::Consent => "consent_id",
        Kind::Village => "village_id",
    }
}
