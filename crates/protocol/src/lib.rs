//! gocua's sync protocol, version 2 (docs/protocol.md): what a device and the
//! server say to each other. Shared by field-core (the client) and sync-server,
//! so the two cannot drift.

pub mod bundle;
pub mod chunk;
pub mod ids;

use serde::{Deserialize, Serialize};

pub use bundle::{BundleError, DocChanges};

/// The protocol version this build speaks. Both sides send it in
/// [`HEADER_PROTOCOL`]; a mismatch is refused with [`codes::PROTOCOL_MISMATCH`].
///
/// 2: every household is named by the id derived from its first change
/// ([`ids`]); households created with random ids by version 1 were renamed
/// when the server and the device were upgraded.
pub const PROTOCOL_VERSION: u32 = 2;

pub const HEADER_PROTOCOL: &str = "gocua-protocol";
pub const HEADER_SERVER_VERSION: &str = "gocua-server-version";
/// On pull and bootstrap responses: the cursor to ask from next.
pub const HEADER_CURSOR: &str = "gocua-cursor";
/// On pull responses: `1` when more changes wait after this page.
pub const HEADER_MORE: &str = "gocua-more";
/// On a device's pull: the tag (`ETag`) of its assignment as the server has
/// it now. A device holding another asks `GET /v1/assignment`; an idle sync
/// stays one request.
pub const HEADER_ASSIGNMENT: &str = "gocua-assignment";
/// Sent by a device on pull and push: its pending changes, those it will
/// still hold for the server once this request succeeds (the operator's
/// device list shows the last one reported).
pub const HEADER_PENDING: &str = "gocua-pending";
/// Optional, on a device's requests: the version of the app that sends them
/// (at most 64 printable ASCII characters), shown to the operator by
/// `gocua-server admin devices list`.
pub const HEADER_APP_VERSION: &str = "gocua-app-version";
/// The media type of a change bundle body.
pub const BUNDLE_CONTENT_TYPE: &str = "application/vnd.gocua.changes";

/// Bodies larger than this many bytes are sent gzip-compressed, both ways
/// (a device's push, the server's answers): compressing a push answer of a
/// few dozen bytes cost a third of the server's CPU under load, for nothing
/// (docs/benchmarks.md).
pub const COMPRESS_OVER: usize = 1_024;

pub mod paths {
    pub const HEALTH: &str = "/health";
    /// Alive, without asking the database.
    pub const HEALTHZ: &str = "/healthz";
    /// Ready: the database answers and carries this version's migrations.
    pub const READYZ: &str = "/readyz";
    pub const INFO: &str = "/v1/info";
    /// The API's description, OpenAPI 3.1 (JSON).
    pub const OPENAPI: &str = "/v1/openapi.json";
    pub const ENROLL: &str = "/v1/enroll";
    pub const PUSH: &str = "/v1/push";
    pub const PULL: &str = "/v1/pull";
    pub const BOOTSTRAP: &str = "/v1/bootstrap";
    /// An officer's indicators of an area (docs/reports.md).
    pub const REPORT: &str = "/v1/report";
    /// An officer's record-level extract of an area (docs/reports.md).
    pub const EXPORT: &str = "/v1/export";
    /// A revoked device told to wipe reports the changes it had not sent
    /// (docs/protocol.md, "Revoked devices").
    pub const UNSENT: &str = "/v1/unsent";
    /// A device's [`Assignment`](super::Assignment) as it is now: asked when
    /// a pull's [`HEADER_ASSIGNMENT`](super::HEADER_ASSIGNMENT) differs from
    /// the tag the device holds, so that a team's edited villages reach its
    /// phones.
    pub const ASSIGNMENT: &str = "/v1/assignment";
}

/// Machine-readable error codes of [`ErrorBody`] and [`Refusal`].
pub mod codes {
    pub const PROTOCOL_MISMATCH: &str = "protocol_mismatch";
    pub const UNAUTHORIZED: &str = "unauthorized";
    pub const DEVICE_REVOKED: &str = "device_revoked";
    pub const FORBIDDEN: &str = "forbidden";
    pub const ENROLLMENT_CODE_INVALID: &str = "enrollment_code_invalid";
    pub const BAD_REQUEST: &str = "bad_request";
    pub const BAD_BUNDLE: &str = "bad_bundle";
    pub const TOO_LARGE: &str = "too_large";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    pub const NOT_FOUND: &str = "not_found";
    pub const CURSOR_EXPIRED: &str = "cursor_expired";
    pub const INTERNAL: &str = "internal";
    pub const UNAVAILABLE: &str = "unavailable";
    /// Too many attempts from this address or with this code: wait for the
    /// `Retry-After` seconds.
    pub const RATE_LIMITED: &str = "rate_limited";
    // Refusals of one document in a push.
    /// The household is not in the device's villages, and the changes were
    /// made after their author learned it moved away (or it never was in
    /// them). Offered again at the next sync: the operator may give the
    /// team the village (back), and an older server refused changes made
    /// before a move, which it now accepts.
    pub const OUTSIDE_VILLAGES: &str = "outside_villages";
    pub const MOVES_VILLAGE: &str = "moves_village";
    pub const UNKNOWN_DOCUMENT: &str = "unknown_document";
    pub const BAD_CHANGE: &str = "bad_change";
    /// Changes whose dependencies the server has not received: push those
    /// first. The device offers them again at its next sync.
    pub const MISSING_DEPENDENCIES: &str = "missing_dependencies";
    /// The changes do not make a valid document under this id (a first
    /// change that does not create it with its own id, a second first change).
    pub const BAD_DOCUMENT: &str = "bad_document";
    /// A change already filed under another document.
    pub const FOREIGN_CHANGE: &str = "foreign_change";
    /// A change number (actor and sequence) already used by another change:
    /// the device was restored from a copy or cloned.
    pub const REUSED_SEQUENCE: &str = "reused_sequence";
}

/// Refusal codes after which the device offers the document's changes again
/// at its next sync, instead of keeping them aside.
/// A reused change number passes once the device has pulled the other copy's
/// changes and reissued its own under a new actor.
pub const RETRYABLE_REFUSALS: &[&str] = &[
    codes::MISSING_DEPENDENCIES,
    codes::REUSED_SEQUENCE,
    codes::OUTSIDE_VILLAGES,
];

/// Every error response: `{ "error": code, "message": text }`, with a
/// `reason` (one of [`reasons`]) where a code covers several cases. `message`
/// is English, for operators and older clients; a device says it in its user's
/// language from `error` and `reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Machine-readable reasons of an [`ErrorBody`], for the codes that cover
/// several cases.
pub mod reasons {
    // codes::ENROLLMENT_CODE_INVALID
    /// No such enrollment code (mistyped, or never issued).
    pub const CODE_UNKNOWN: &str = "unknown";
    /// The code's validity ran out before it was used.
    pub const CODE_EXPIRED: &str = "expired";
    /// The code enrolled another device already.
    pub const CODE_USED: &str = "used";
    // codes::UNAUTHORIZED
    /// The request carried no bearer token.
    pub const NO_TOKEN: &str = "no_token";
    /// The token is not one the server issued (or its device was removed).
    pub const UNKNOWN_TOKEN: &str = "unknown_token";
    /// The officer's or operator's account was revoked by the operator
    /// (`gocua-server admin account revoke`).
    pub const ACCOUNT_REVOKED: &str = "account_revoked";
    // codes::FORBIDDEN
    /// Reports and extracts are for a province or commune officer's account.
    pub const NOT_AN_OFFICER: &str = "not_an_officer";
    /// The area asked for is outside the officer's province or commune.
    pub const OUTSIDE_AREA: &str = "outside_area";
    /// Full (not pseudonymized) extracts are made on the server machine only.
    pub const FULL_EXTRACT_ON_SERVER: &str = "full_extract_on_server";
    /// Only an enrolled device pushes changes.
    pub const NOT_A_DEVICE: &str = "not_a_device";
    /// This account does not read households over the sync API.
    pub const CANNOT_READ_HOUSEHOLDS: &str = "cannot_read_households";
    // codes::DEVICE_REVOKED
    /// The operator asked the device to wipe its data: it reports what it had
    /// not sent ([`paths::UNSENT`](crate::paths::UNSENT)), then wipes.
    pub const WIPE: &str = "wipe";
    /// `POST /v1/unsent` from a device that is not revoked: it pushes instead.
    pub const NOT_REVOKED: &str = "not_revoked";
    // codes::BAD_REQUEST
    /// The area is no province or commune code of the 2025 list, nor a village id.
    pub const UNKNOWN_AREA: &str = "unknown_area";
}

/// `GET /v1/info`: who the server is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    pub server_version: String,
    pub protocol_version: u32,
}

/// `POST /v1/enroll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    pub code: String,
    pub device_name: String,
    /// Chosen by the device once per enrollment and sent again on every retry:
    /// a retry whose answer was lost on the way gets the same device (with a
    /// fresh token) instead of "code already used".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VillageInfo {
    pub id: String,
    pub commune_code: String,
    pub name: String,
}

/// What an enrolled device learns: its token (shown once) and its assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub device_id: String,
    pub token: String,
    pub volunteer_id: String,
    pub volunteer_name: String,
    pub volunteer_phone: Option<String>,
    pub team_id: String,
    pub team_name: String,
    pub commune_code: String,
    pub villages: Vec<VillageInfo>,
}

impl EnrollResponse {
    /// The assignment the device was enrolled with.
    pub fn assignment(&self) -> Assignment {
        Assignment {
            volunteer_id: self.volunteer_id.clone(),
            volunteer_name: self.volunteer_name.clone(),
            volunteer_phone: self.volunteer_phone.clone(),
            team_id: self.team_id.clone(),
            team_name: self.team_name.clone(),
            commune_code: self.commune_code.clone(),
            villages: self.villages.clone(),
        }
    }
}

/// `GET /v1/assignment`: whom a device records for and where, as the
/// operator has it now. Answered with an `ETag`; a device that sends it back
/// in `If-None-Match` gets `304 Not Modified` and no body while nothing
/// changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub volunteer_id: String,
    pub volunteer_name: String,
    pub volunteer_phone: Option<String>,
    pub team_id: String,
    pub team_name: String,
    pub commune_code: String,
    pub villages: Vec<VillageInfo>,
}

/// One document of a push that the server refused; nothing of it was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub doc_id: String,
    pub code: String,
    pub message: String,
}

/// `POST /v1/push` (body: a change bundle). Every change of a document not in
/// `refused` is stored (or was already): the device may forget it was unsent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    pub stored: u64,
    pub duplicates: u64,
    pub refused: Vec<Refusal>,
    /// Changes the server could not apply (damaged or crafted): kept aside for
    /// the operator, never served to any device. The device need not send
    /// them again.
    #[serde(default)]
    pub quarantined: u64,
    /// The highest pull feed position of the changes this push stored (0 if
    /// it stored none): the device passes the highest it was told as
    /// [`PullQuery::mine_after`].
    #[serde(default)]
    pub last_seq: u64,
}

/// `POST /v1/unsent` (body: a change bundle) from a revoked device: the
/// server keeps the changes aside for the operator, applied to nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsentResponse {
    /// The changes the server now holds from this request (all of the
    /// bundle's; a bundle received before counts again, stored once).
    pub changes: u64,
    pub documents: u64,
}

/// `GET /v1/pull?cursor=N&limit=M`: the changes of the device's villages after
/// `cursor`, as a bundle, with [`HEADER_CURSOR`] and [`HEADER_MORE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullQuery {
    pub cursor: u64,
    pub limit: Option<u32>,
    /// A device's own changes are not sent back to it, except those stored
    /// after this position: a device restored from a copy, or a copy of it
    /// in use elsewhere, gets back what the other copy pushed. Without it,
    /// none of its own changes come back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mine_after: Option<u64>,
}

/// The most changes one pull page carries.
pub const MAX_PULL_LIMIT: u32 = 5_000;
