//! The one error type of field-core's facade.
//!
//! Validation failures are structured (which field, what is wrong: the
//! household document's [`Invalid`], from gocua-household) so that the CLI and
//! the apps can say it in the user's language.

use std::fmt;

pub use gocua_household::{Field, Invalid, Problem};

/// What a record lookup did not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Household,
    Person,
    Visit,
    Consent,
    Village,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Household => "household",
            Kind::Person => "member",
            Kind::Visit => "visit",
            Kind::Consent => "consent",
            Kind::Village => "village",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input: {0}")]
    Invalid(Invalid),
    #[error("no {kind} with id {id:?}")]
    NotFound { kind: Kind, id: String },
    #[error("the id {id:?} matches several {kind}s; give more characters")]
    Ambiguous { kind: Kind, id: String },
    #[error("this store has no volunteer yet: run `gocua init` first")]
    NotInitialized,
    #[error("this store is set up already for volunteer {volunteer}")]
    AlreadyInitialized { volunteer: String },
    #[error(
        "the store at {path} was written by a newer gocua (schema {found}, this one knows up to {known}); update gocua"
    )]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    /// The store is encrypted and the key given does not open it.
    #[error("the key does not open the encrypted store at {path}: check the passphrase")]
    WrongKey { path: String },
    /// The store cannot be encrypted while another program has it open.
    #[error("the store at {path} is open in another program: close it and try again")]
    InUse { path: String },
    /// The store is encrypted and was opened without a key.
    #[error("the store at {path} is encrypted: give its passphrase")]
    KeyNeeded { path: String },
    #[error("not a valid change bundle or Automerge document: {0}")]
    BadChanges(String),
    #[error("document {id}: {reason}")]
    BadDocument { id: String, reason: String },
    #[error("storage: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("reference data: {0}")]
    Reference(String),
    #[error("file {path}: {message}")]
    Io { path: String, message: String },
    #[error("this device is not enrolled with a server: run `gocua enroll` first")]
    NotEnrolled,
    #[error("the server could not be reached: {0}")]
    Network(String),
    /// No connection to the server at `url` after `attempts` tries (no
    /// network, the server down, a wrong address).
    #[error("the server at {url} could not be reached ({attempts} attempts)")]
    Unreachable { url: String, attempts: u32 },
    /// A server address that is no http:// or https:// URL.
    #[error("{0:?} is not a server address: it must start with http:// or https://")]
    BadServerUrl(String),
    #[error("the server refused ({status} {code}): {message}")]
    Server {
        status: u16,
        code: String,
        message: String,
        /// `gocua_protocol::reasons`, where `code` covers several cases.
        reason: Option<String>,
    },
    /// The operator revoked this device. With `wipe`, it was told to wipe its
    /// data but could not report its unsent changes yet (no network): it
    /// keeps everything until the next sync reports them.
    #[error("this device was revoked by the server's operator: {message}")]
    Revoked { message: String, wipe: bool },
    /// The sync was cancelled (`SyncObserver::cancelled`); what it did before
    /// stays done.
    #[error("the sync was cancelled")]
    Cancelled,
    /// The operator revoked this device and had its data wiped: the
    /// `reported` changes it had not sent were reported to the server first.
    #[error(
        "this device was revoked by the server's operator and its data wiped; the {reported} changes it had not sent were reported to the server first"
    )]
    Wiped { reported: u64 },
    #[error("{0}")]
    BreaksRule(Box<BrokenRule>),
    /// The household is in a village this device does not serve (it moved
    /// away): it can be read, not changed.
    #[error(
        "household {id} is in a village this device does not serve (it moved away): it can be read, not changed"
    )]
    OutsideVillages { id: String },
    /// A rule of which services to offer next that cannot be used.
    #[error("{0}")]
    BadRule(gocua_household::suggest::RuleError),
}

/// Keeping `value` at `path` (resolving a conflict) would leave the record
/// breaking a rule: the rule names `fields`; `found` is the value at fault, which
/// may be another field's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenRule {
    pub path: String,
    pub value: String,
    pub fields: Vec<String>,
    pub problem: Problem,
    pub found: String,
}

impl fmt::Display for BrokenRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "keeping {:?} at {} breaks a rule on {}: {:?} {}",
            self.value,
            self.path,
            self.fields.join(", "),
            self.found,
            self.problem
        )
    }
}

impl Error {
    pub(crate) fn invalid(field: Field, value: impl Into<String>, problem: Problem) -> Self {
        Error::Invalid(Invalid::new(field, value, problem))
    }

    /// True when the caller's input was at fault (a usage or validation error).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Error::Invalid(_)
                | Error::NotFound { .. }
                | Error::Ambiguous { .. }
                | Error::NotInitialized
                | Error::AlreadyInitialized { .. }
                | Error::BadChanges(_)
                | Error::BadDocument { .. }
                | Error::NotEnrolled
                | Error::WrongKey { .. }
                | Error::KeyNeeded { .. }
                | Error::BadServerUrl(_)
                | Error::BreaksRule(_)
                | Error::OutsideVillages { .. }
                | Error::BadRule(_)
        ) || matches!(self, Error::Server { status, .. } if (400..500).contains(status))
    }
}

// Not `#[from]`: that would make the refusal the error's source too, and a
// chain printed with its sources would say it twice.
impl From<Invalid> for Error {
    fn from(i: Invalid) -> Self {
        Error::Invalid(i)
    }
}

impl From<automerge::AutomergeError> for Error {
    fn from(e: automerge::AutomergeError) -> Self {
        Error::BadChanges(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
