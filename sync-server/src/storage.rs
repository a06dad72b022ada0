//! The one storage trait of the server, and the plain records it speaks in.
//!
//! Every method is synchronous and may block: the HTTP layer calls them inside
//! `tokio::task::spawn_blocking`. A backend keeps all of its SQL to itself
//! (`crate::sqlite` today; PostgreSQL later), so the rules (who may push what,
//! how snapshots are built) live outside the backends, in `crate::push` and
//! `crate::materializer`, and are the same for every backend.

use gocua_protocol::Refusal;

pub type StorageResult<T> = Result<T, StorageError>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    /// A named thing (village, team, volunteer, device, commune) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request makes no sense with what is stored (a team with a village of
    /// another commune, an officer without a province).
    #[error("{0}")]
    Invalid(String),
    /// The database is busy beyond its timeout: try again.
    #[error("the database is busy: {0}")]
    Busy(String),
    /// The database failed.
    #[error("database: {0}")]
    Backend(String),
    /// The database was written by a newer server, or holds damaged rows.
    #[error("{0}")]
    Incompatible(String),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Village {
    pub id: String,
    pub commune_code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub commune_code: String,
    pub villages: Vec<Village>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Volunteer {
    pub id: String,
    pub name: String,
    pub phone: Option<String>,
    pub team_id: String,
}

/// What an enrolled device is assigned to: its volunteer's team and villages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub volunteer: Volunteer,
    pub team_name: String,
    pub commune_code: String,
    pub villages: Vec<Village>,
}

/// Why an enrollment code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    Unknown,
    Expired,
    Used,
}

/// One enrollment request as the storage sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollAttempt {
    /// The id a new device gets.
    pub device_id: String,
    pub device_name: String,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrollOutcome {
    /// Enrolled as `device_id` (the attempt's, or the first attempt's on a retry).
    Enrolled {
        device_id: String,
        assignment: Box<Assignment>,
    },
    Refused(CodeRefusal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Officer,
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "officer" => Some(Role::Officer),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }
}

/// Who a bearer token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Device {
        device_id: String,
        volunteer_id: String,
        /// The villages of the volunteer's team, as they are now.
        villages: Vec<String>,
        revoked: bool,
        /// Revoked and told to wipe its data.
        wipe: bool,
    },
    Account {
        account_id: String,
        role: Role,
        name: String,
        province_code: Option<String>,
        /// A commune officer's commune; `None` for a province officer.
        commune_code: Option<String>,
        revoked: bool,
    },
}

impl Principal {
    pub fn actor(&self) -> String {
        match self {
            Principal::Device { device_id, .. } => format!("device:{device_id}"),
            Principal::Account { account_id, .. } => format!("account:{account_id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceRow {
    pub id: String,
    pub name: String,
    pub volunteer_id: String,
    pub volunteer_name: String,
    pub team_id: String,
    pub enrolled_at: i64,
    pub revoked_at: Option<i64>,
    /// Told to wipe its data at its next contact (`devices revoke --wipe`).
    pub wipe_requested: bool,
    /// Reports of unsent changes it sent when revoked.
    pub unsent_reports: i64,
    /// Its last authenticated request, to the minute (`crate::seen`).
    pub last_seen_at: Option<i64>,
    /// Its last successful push, pull or bootstrap, to the minute.
    pub last_sync_at: Option<i64>,
    /// What it last sent in `gocua-app-version`.
    pub app_version: Option<String>,
    /// Its pending changes as it last reported them (`gocua-pending`).
    pub pending_changes: Option<i64>,
}

/// A device's contact, as `crate::seen` writes it (at most once a minute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSeen {
    pub at: i64,
    /// A push, pull or bootstrap that succeeded: also its last sync.
    pub synced: bool,
    pub app_version: Option<String>,
    /// The pending changes it reported (`gocua-pending`).
    pub pending_changes: Option<i64>,
}

/// A team as `admin team list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TeamRow {
    #[serde(flatten)]
    pub team: Team,
    pub volunteers: i64,
    /// Enrolled devices of its volunteers, not revoked.
    pub devices: i64,
}

/// What `admin team edit` changes, all at once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TeamEdit {
    pub team_id: String,
    pub name: Option<String>,
    /// Village ids to serve from now on (each of the team's commune).
    pub add: Vec<String>,
    /// Village ids to serve no more.
    pub remove: Vec<String>,
}

/// A volunteer as `admin volunteer list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VolunteerRow {
    #[serde(flatten)]
    pub volunteer: Volunteer,
    pub team_name: String,
    pub commune_code: String,
    /// Enrolled devices, not revoked.
    pub devices: i64,
    /// Training sessions attended.
    pub trainings: i64,
}

/// An account as `admin account list` shows it (never its token).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountRow {
    #[serde(flatten)]
    pub account: Account,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A training session to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTraining {
    pub topic: String,
    /// `YYYY-MM-DD`.
    pub held_on: String,
    pub place: String,
    /// The team trained, or `None` for a session of the whole commune.
    pub team_id: Option<String>,
    pub commune_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Training {
    pub id: i64,
    pub topic: String,
    pub held_on: String,
    pub place: String,
    pub team_id: Option<String>,
    pub commune_code: String,
}

/// A training session as `admin training list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrainingRow {
    #[serde(flatten)]
    pub training: Training,
    pub team_name: Option<String>,
    pub attendees: i64,
}

/// What a revoked device reported it had not sent (`POST /v1/unsent`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnsentReport {
    pub id: i64,
    pub device_id: String,
    pub received_at: i64,
    pub changes: i64,
    pub documents: i64,
    pub bytes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    pub id: String,
    pub role: Role,
    pub name: String,
    pub province_code: Option<String>,
    /// A commune officer's commune (in `province_code`): they read it only.
    pub commune_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub at: i64,
    /// `admin`, `device:<id>`, `account:<id>`, or `anonymous`.
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

impl AuditEntry {
    /// Where the area of this row is looked for, in order: what was acted
    /// on (its subject), then who acted. Each is a query of
    /// [`AREA_QUERIES`] and the id it is asked with.
    pub(crate) fn area_keys(&self) -> Vec<(AreaKey, &str)> {
        let mut keys = Vec::new();
        let subject = self.subject.as_str();
        for (prefix, key) in [
            ("team:", AreaKey::Team),
            ("volunteer:", AreaKey::Volunteer),
            ("device:", AreaKey::Device),
            ("village:", AreaKey::Village),
            ("training:", AreaKey::Training),
            ("account:", AreaKey::Account),
        ] {
            if let Some(id) = subject.strip_prefix(prefix) {
                keys.push((key, id));
            }
        }
        if let Some(code) = subject.strip_prefix("area=") {
            keys.push((AreaKey::Area, code));
            keys.push((AreaKey::Village, code));
        }
        if let Some(id) = self.actor.strip_prefix("device:") {
            keys.push((AreaKey::Device, id));
        }
        if let Some(id) = self.actor.strip_prefix("account:") {
            keys.push((AreaKey::Account, id));
        }
        keys
    }
}

/// A kind of thing an audit row names, whose area is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AreaKey {
    Team,
    Volunteer,
    Device,
    Village,
    Training,
    Area,
    Account,
}

impl AreaKey {
    /// A query (one parameter, `$1`; the PostgreSQL backend numbers it `$1`)
    /// answering at most one row: the commune, and the province when known.
    pub(crate) fn query(self) -> &'static str {
        match self {
            AreaKey::Team => "SELECT commune_code, CAST(NULL AS TEXT) FROM teams WHERE id = $1",
            AreaKey::Volunteer => {
                "SELECT t.commune_code, CAST(NULL AS TEXT) FROM volunteers v
                 JOIN teams t ON t.id = v.team_id WHERE v.id = $1"
            }
            AreaKey::Device => {
                "SELECT t.commune_code, CAST(NULL AS TEXT) FROM devices d
                 JOIN volunteers v ON v.id = d.volunteer_id JOIN teams t ON t.id = v.team_id
                 WHERE d.id = $1"
            }
            AreaKey::Village => {
                "SELECT commune_code, CAST(NULL AS TEXT) FROM villages WHERE id = $1"
            }
            AreaKey::Training => {
                "SELECT commune_code, CAST(NULL AS TEXT) FROM trainings WHERE CAST(id AS TEXT) = $1"
            }
            AreaKey::Area => {
                "SELECT CASE WHEN level = 'commune' THEN code END,
                        CASE WHEN level = 'province' THEN code ELSE parent_code END
                 FROM areas WHERE list = '2025' AND level IN ('commune', 'province') AND code = $1"
            }
            AreaKey::Account => "SELECT commune_code, province_code FROM accounts WHERE id = $1",
        }
    }
}

/// The province of a commune of the 2025 list (one parameter, as above).
pub(crate) const COMMUNE_PROVINCE: &str =
    "SELECT parent_code FROM areas WHERE list = '2025' AND level = 'commune' AND code = $1";

/// The audit rows one viewer may read: an officer those of their area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditArea {
    Province(String),
    Commune(String),
}

impl AuditArea {
    /// The (commune, province) pair of query parameters.
    pub(crate) fn params(a: &Option<AuditArea>) -> (Option<&str>, Option<&str>) {
        match a {
            None => (None, None),
            Some(AuditArea::Commune(c)) => (Some(c), None),
            Some(AuditArea::Province(p)) => (None, Some(p)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRow {
    pub id: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

/// An account's sign-in to the web console (`crate::console`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleLogin {
    pub account: Account,
    /// The name the account signs in with (`admin account password --login`).
    pub login: String,
    /// Argon2, as a PHC string (`$argon2id$...`).
    pub password_hash: String,
    pub revoked: bool,
}

/// A signed-in console session, as stored (its token only as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub account: Account,
    /// The session's anti-forgery token, sent back in every form.
    pub csrf_token: String,
    pub expires_at: i64,
    /// The account was revoked since the session began.
    pub revoked: bool,
}

/// Which audit entries `admin audit` and the console's audit page show:
/// every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// The actor: `Is` one (`admin`, `device:ID`, `account:ID`) or a kind
    /// of actor (`device`, `account`) for all of its kind.
    pub actor: Option<TextMatch>,
    pub action: Option<TextMatch>,
    pub subject: Option<TextMatch>,
    /// From this time (unix seconds, included).
    pub from: Option<i64>,
    /// Before this time (excluded).
    pub until: Option<i64>,
    /// Only the rows of this area (an officer's); `None` for all of them.
    pub area: Option<AuditArea>,
    /// Rows skipped, the newest first.
    pub offset: u32,
    pub limit: u32,
}

/// How a field of the audit log is matched: the command line names an
/// action exactly (`--action report` is not `unsent_reported`), a person
/// searching the console types part of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextMatch {
    Is(String),
    /// Part of it, any case.
    Contains(String),
}

impl TextMatch {
    /// The (exact, part) pair of query parameters.
    pub(crate) fn params(m: &Option<TextMatch>) -> (Option<&str>, Option<&str>) {
        match m {
            None => (None, None),
            Some(TextMatch::Is(v)) => (Some(v), None),
            Some(TextMatch::Contains(v)) => (None, Some(v)),
        }
    }
}

/// A household of the report projection with fields in conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictedHousehold {
    pub doc_id: String,
    pub village_id: String,
    pub conflicts: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct UnitsLoaded {
    pub communes: u64,
    pub legacy_communes: u64,
    pub successions: u64,
}

/// What the server holds of a document: its village and its version, the seq
/// of its last stored change (a decision made on one version is written only
/// if the document is still at it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocHead {
    pub village_id: String,
    pub version: u64,
}

/// What a document is loaded from: its last snapshot and the changes stored
/// after it, in seq order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocHistory {
    pub snapshot: Option<Vec<u8>>,
    pub changes: Vec<Vec<u8>>,
}

/// A change the server applied to its document: stored and served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedChange {
    pub hash: [u8; 32],
    /// Its change number: (actor, seq) never names two changes.
    pub actor: Vec<u8>,
    pub seq: u64,
    pub bytes: Vec<u8>,
}

/// A change the server could not apply: kept aside, never served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedChange {
    pub hash: [u8; 32],
    pub bytes: Vec<u8>,
    pub reason: String,
}

/// What `crate::push` decided to store of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocWrite {
    pub doc_id: String,
    /// The document's village after these changes: they are fed to it.
    pub village_id: String,
    /// The village the document leaves, when these changes move it. Its
    /// devices are fed these changes (so they learn of the move), and the
    /// new village every change of the document it was not fed yet (its whole
    /// history).
    pub moved_from: Option<String>,
    /// The version the decision was made on; `None` for a new document.
    pub base_version: Option<u64>,
    /// In an order where every change comes after its dependencies.
    pub changes: Vec<VerifiedChange>,
    pub quarantined: Vec<QuarantinedChange>,
}

/// What became of a [`DocWrite`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocOutcome {
    Stored {
        stored: u64,
        duplicates: u64,
        /// The document's version now.
        version: u64,
        /// The highest feed position this write took (0 when it fed nothing).
        last_position: u64,
    },
    /// Another push changed the document since the decision: decide again.
    Stale,
    /// Refused at the last moment (a change already filed under another
    /// document, a change number already used); nothing of it was stored.
    Refused(Refusal),
}

/// Where the server has a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeLocation {
    Stored { doc_id: String },
    Quarantined,
}

/// A quarantined change, for the operator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QuarantineRow {
    pub id: i64,
    pub doc_id: String,
    /// The change's hash, hex.
    pub hash: String,
    /// The device that pushed it.
    pub device_id: String,
    pub reason: String,
    pub received_at: i64,
    pub size: u64,
}

/// A change as a pull or the materializer reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChange {
    /// Where the pull feed serves it: what a device's pull cursor counts. One
    /// change may be fed to several villages (a household that moved), at one
    /// position each. [`Storage::changes_after`] reads the log itself and
    /// gives `seq` here.
    pub position: u64,
    /// Its place in the change log (a document's version, the materializer's
    /// watermark).
    pub seq: u64,
    pub doc_id: String,
    pub village_id: String,
    /// The device that pushed it.
    pub device_id: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullPage {
    pub changes: Vec<StoredChange>,
    pub more: bool,
}

/// A document as the materializer last built it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub doc_id: String,
    pub village_id: String,
    /// `Automerge::save()`, or `None` while no change of it could be applied.
    pub bytes: Option<Vec<u8>>,
    /// Every change of this document with seq ≤ this is in `bytes` or `pending`.
    pub covered_seq: u64,
    /// Changes waiting for a dependency the server has not received: (seq, bytes).
    pub pending: Vec<(u64, Vec<u8>)>,
}

/// A household for the report projection (docs/reports.md): read from its
/// snapshot by the schema every device reads it with, plus, for itself and
/// each visit, the change that created it, whose receipt time the server
/// knows, and its contributions to the indicators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRecord {
    pub household: gocua_household::Household,
    /// The household's first change.
    pub household_change: Option<[u8; 32]>,
    /// (visit id, hash of the change that created it).
    pub visit_changes: Vec<(String, [u8; 32])>,
    /// Its counts and reviews (`crate::report::count`).
    pub counted: gocua_report::HouseholdContributions,
}

/// A household's merge mark as the report projection last read it
/// (docs/data-model.md, "Merged households"): what
/// `gocua_household::merge::roots` needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeNode {
    pub doc_id: String,
    pub village_id: String,
    /// The household its own mark names.
    pub into: Option<String>,
    pub in_error: bool,
}

/// What a report step learnt of merges, saved with its rows: the marks of
/// the households it read (`gone`: those that no longer read as one), and
/// other households of their merge groups whose rows must be made again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeUpdate {
    pub nodes: Vec<MergeNode>,
    pub gone: Vec<String>,
    /// Households to make again, each with the log position of the change
    /// that made it so: their rows changed as of then (an incremental
    /// extract must see them).
    pub due: Vec<(String, u64)>,
    /// The log position the rows of a household made with others cover:
    /// the latest of the group's snapshots.
    pub covered: std::collections::BTreeMap<String, u64>,
}

/// The part of the country an extract covers (units in force now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AreaScope {
    Country,
    Province(String),
    Commune(String),
    Village(String),
}

/// The tables of a record-level extract, in the order they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtractTable {
    Households,
    Persons,
    Visits,
    VisitServices,
    /// Households that left the area (moved to a village outside it, or no
    /// longer read as a household) after the extract's `since` cursor: an
    /// incremental extract's reader deletes them.
    Removed,
}

impl ExtractTable {
    pub const ALL: [ExtractTable; 5] = [
        ExtractTable::Households,
        ExtractTable::Persons,
        ExtractTable::Visits,
        ExtractTable::VisitServices,
        ExtractTable::Removed,
    ];
}

/// A value of an extract row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    Text(String),
    Int(i64),
    Bool(bool),
}

/// Receives an extract's rows, table by table, in one consistent read.
pub trait ExtractSink {
    fn table(&mut self, table: ExtractTable) -> StorageResult<()>;
    /// The row's cells, in the order of the table's columns
    /// (`crate::export::columns`).
    fn row(&mut self, cells: Vec<Cell>) -> StorageResult<()>;
}

/// Snapshots of some villages and the cursor they cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapSet {
    /// A feed position: the device pulls after it. Every change fed to these
    /// villages at or below it is in the snapshots.
    pub cursor: u64,
    pub docs: Vec<Snapshot>,
}

/// Where the pull feed ends, and the stretches of positions restores left
/// unused (docs/operations.md, "Backups"). A device holding a position
/// beyond the end, or inside such a stretch, got it from a database the
/// restore rolled back: it knows of changes this one lost, and is answered
/// `cursor_expired`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FeedBounds {
    /// The last position ever taken (rolled-back ones included).
    pub end: u64,
    /// `(after, before)`: no position between the two was ever handed out
    /// by this database, and none will be.
    pub restored: Vec<(u64, u64)>,
}

impl FeedBounds {
    /// Whether `position` (a cursor, or the last position a device's pushes
    /// were given) was handed out by a database this one was restored over.
    pub fn expired(&self, position: u64) -> bool {
        position > self.end
            || self
                .restored
                .iter()
                .any(|&(after, before)| position > after && position < before)
    }
}

/// A stored change as `gocua-server check` reads it: the columns the log
/// keeps beside the bytes, to be checked against them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedChange {
    pub seq: u64,
    pub hash: Vec<u8>,
    pub actor: Option<Vec<u8>>,
    pub actor_seq: Option<u64>,
    pub bytes: Vec<u8>,
}

/// A household's row in the report projection, as `gocua-server check`
/// compares it with the household read from its snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectedHousehold {
    pub village_id: String,
    pub head_name: String,
    /// Its members' and visits' ids, sorted.
    pub persons: Vec<String>,
    pub visits: Vec<String>,
}

/// One document and everything the server derived from it, read together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedDoc {
    pub doc_id: String,
    pub village_id: String,
    pub version: u64,
    /// In seq order.
    pub changes: Vec<LoggedChange>,
    /// The feed rows of its changes: (position, village, change seq).
    pub feed: Vec<(u64, String, u64)>,
    pub snapshot: Option<Snapshot>,
    pub report: Option<ProjectedHousehold>,
    /// Its report rows wait to be made again (they may lag its snapshot).
    pub report_due: bool,
    /// In a merge group (its own mark names another, or another's names
    /// it): its rows are made with others'.
    pub merged: bool,
}

/// What `gocua-server check` reads of the whole log, in the same read as
/// the documents.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LogTotals {
    pub feed: FeedBounds,
    /// The last seq ever taken.
    pub last_seq: u64,
    pub materialized_seq: u64,
    pub highest_seq: u64,
    pub highest_position: u64,
    /// Rows naming a document or change the database does not hold.
    pub changes_without_document: u64,
    pub feed_without_change: u64,
    pub snapshots_without_document: u64,
    pub report_rows_without_document: u64,
}

pub trait Storage: Send + Sync + std::fmt::Debug + 'static {
    /// Answers when the database does.
    fn health(&self) -> StorageResult<()>;

    /// Whether this process may run the materializer now. Several replicas
    /// on one database run one materializer: the one holding the lease,
    /// which passes to another when its process dies. One process on its
    /// own database always may.
    fn materializer_lease(&self) -> StorageResult<bool> {
        Ok(true)
    }

    /// Whether other server processes may write to this database (replicas):
    /// what they store does not wake this process's materializer.
    fn shared(&self) -> bool {
        false
    }

    /// The database connections open and in use now, for the metrics.
    fn pool_use(&self) -> Vec<crate::metrics::PoolUse> {
        Vec::new()
    }

    // ---- reference data and administration ----
    fn units_loaded(&self) -> StorageResult<bool>;
    /// (Re)loads the embedded administrative units.
    fn load_units(&self) -> StorageResult<UnitsLoaded>;
    /// The province of a commune in force, if the commune exists.
    fn commune_province(&self, commune_code: &str) -> StorageResult<Option<String>>;
    fn province_exists(&self, province_code: &str) -> StorageResult<bool>;
    /// The villages of a commune (2025 list), by id.
    fn commune_villages(&self, commune_code: &str) -> StorageResult<Vec<String>>;
    /// Adds a village, or returns the one already registered under that id.
    fn add_village(&self, village: &Village, now: i64) -> StorageResult<Village>;
    fn villages(&self, commune_code: Option<&str>) -> StorageResult<Vec<Village>>;
    fn add_team(&self, team: &Team, now: i64) -> StorageResult<()>;
    fn team(&self, team_id: &str) -> StorageResult<Option<Team>>;
    fn add_volunteer(&self, volunteer: &Volunteer, now: i64) -> StorageResult<()>;
    fn volunteer(&self, volunteer_id: &str) -> StorageResult<Option<Volunteer>>;
    fn add_enroll_code(
        &self,
        code_hash: &str,
        volunteer_id: &str,
        now: i64,
        expires_at: i64,
    ) -> StorageResult<()>;
    fn add_account(&self, account: &Account, token_hash: &str, now: i64) -> StorageResult<()>;
    fn devices(&self) -> StorageResult<Vec<DeviceRow>>;
    /// Revokes a device; false when it was already revoked.
    /// Revokes a device (true if it was not revoked yet); with `wipe`, it is
    /// told to wipe its data at its next contact (also when revoked before).
    fn revoke_device(&self, device_id: &str, now: i64, wipe: bool) -> StorageResult<bool>;
    /// Keeps a revoked device's unsent changes (`bundle`, checked) for the
    /// operator, once per distinct bundle, with an audit entry.
    fn save_unsent(
        &self,
        device_id: &str,
        bundle: &[u8],
        changes: u64,
        documents: u64,
        now: i64,
    ) -> StorageResult<()>;
    /// The unsent-change reports, of one device or all.
    fn unsent_reports(&self, device_id: Option<&str>) -> StorageResult<Vec<UnsentReport>>;
    /// One report's bundle, as `gocua changes import` takes it.
    fn unsent_bundle(&self, id: i64) -> StorageResult<Option<Vec<u8>>>;
    fn audit(&self, entry: &AuditEntry) -> StorageResult<()>;
    fn audit_log(&self, limit: u32) -> StorageResult<Vec<AuditRow>>;

    // ---- administration: lists, edits, revocation, training ----
    // (`gocua-server admin`; the logic around them is `crate::admin`'s.)
    /// Teams with their villages, of one commune or all.
    fn teams(&self, commune_code: Option<&str>) -> StorageResult<Vec<TeamRow>>;
    /// Renames a team and changes its villages in one transaction, audited.
    /// A village it gains is fed again, whole, at new feed positions: its
    /// devices pull it after cursors taken before they served it.
    fn edit_team(&self, edit: &TeamEdit, now: i64) -> StorageResult<Team>;
    /// Volunteers of one team or all.
    fn volunteers(&self, team_id: Option<&str>) -> StorageResult<Vec<VolunteerRow>>;
    /// The volunteers whose phone is `phone` (national form).
    fn volunteers_by_phone(&self, phone: &str) -> StorageResult<Vec<Volunteer>>;
    /// Adds a volunteer unless the same person is registered already
    /// (`crate::admin::same_person`), in one transaction: `Some` is that
    /// person, and nothing was added.
    fn add_volunteer_once(
        &self,
        volunteer: &Volunteer,
        now: i64,
    ) -> StorageResult<Option<Volunteer>>;
    fn accounts(&self) -> StorageResult<Vec<AccountRow>>;
    /// Revokes an account (true if it was not revoked yet), audited: its
    /// token is refused from the next request on.
    fn revoke_account(&self, account_id: &str, now: i64) -> StorageResult<bool>;
    /// Records a device's contact (`crate::seen` calls it at most once a
    /// minute per device).
    fn device_seen(&self, device_id: &str, seen: &DeviceSeen) -> StorageResult<()>;
    fn add_training(&self, training: &NewTraining, now: i64) -> StorageResult<Training>;
    fn training(&self, id: i64) -> StorageResult<Option<Training>>;
    /// Records volunteers as attendees of a session, audited; returns how
    /// many were not recorded yet.
    fn attend_training(&self, id: i64, volunteer_ids: &[String], now: i64) -> StorageResult<u64>;
    /// Sessions of one commune or all, held on or after `since`
    /// (`YYYY-MM-DD`), by day, with their attendee counts.
    fn trainings(
        &self,
        commune_code: Option<&str>,
        since: Option<&str>,
    ) -> StorageResult<Vec<TrainingRow>>;

    // ---- devices ----
    /// Consumes a valid code and records the new device, in one transaction,
    /// with its audit entry.
    /// A retry of the enrollment that used the code (same `request_id`) gets
    /// that device back, its token replaced by `token_hash`.
    fn enroll(
        &self,
        code_hash: &str,
        request: &EnrollAttempt,
        token_hash: &str,
        now: i64,
    ) -> StorageResult<EnrollOutcome>;
    fn principal(&self, token_hash: &str) -> StorageResult<Option<Principal>>;
    /// The villages of the communes of a province.
    fn province_villages(&self, province_code: &str) -> StorageResult<Vec<String>>;

    // ---- the change log ----
    /// The document's village and version, if the server knows it.
    fn document(&self, doc_id: &str) -> StorageResult<Option<DocHead>>;
    /// What the document loads from (empty for an unknown document).
    fn document_history(&self, doc_id: &str) -> StorageResult<DocHistory>;
    /// Every stored change of a document, in seq order: (seq, bytes).
    fn document_log(&self, doc_id: &str) -> StorageResult<Vec<(u64, Vec<u8>)>>;
    /// Where the server has each of these changes (those it has).
    fn locate_changes(&self, hashes: &[[u8; 32]])
    -> StorageResult<Vec<([u8; 32], ChangeLocation)>>;
    /// Writes what `crate::push` decided for a device's push, one outcome per
    /// write in order; each document atomically, idempotently by change hash.
    /// An implementation may commit several devices' pushes in one
    /// transaction.
    fn push(
        &self,
        device_id: &str,
        writes: Vec<DocWrite>,
        now: i64,
    ) -> StorageResult<Vec<DocOutcome>>;
    /// The newest quarantined changes first.
    fn quarantine(&self, limit: u32) -> StorageResult<Vec<QuarantineRow>>;
    /// Changes fed to `villages` at a position > `cursor`, in position order
    /// (each change once per page): at most `limit` and about `max_bytes`
    /// (always at least one when there is one). The feed is gap-free: a
    /// position never becomes visible after a higher one was visible.
    fn pull(
        &self,
        villages: &[String],
        cursor: u64,
        limit: u32,
        max_bytes: usize,
    ) -> StorageResult<PullPage>;
    /// The stored snapshots of `villages` and the watermark they cover, read
    /// consistently, one at a time: `cursor` first, then `doc` with each
    /// snapshot (with its pending changes) as it is read, none kept, so that
    /// a bootstrap of any size takes the memory of one document. An error
    /// from either callback stops the read and is returned.
    fn bootstrap_stream(
        &self,
        villages: &[String],
        cursor: &mut dyn FnMut(u64) -> StorageResult<()>,
        doc: &mut dyn FnMut(Snapshot) -> StorageResult<()>,
    ) -> StorageResult<()>;

    /// [`Storage::bootstrap_stream`], collected (tests and small reads).
    fn bootstrap(&self, villages: &[String]) -> StorageResult<BootstrapSet> {
        let mut at = 0;
        let mut docs = Vec::new();
        self.bootstrap_stream(
            villages,
            &mut |c| {
                at = c;
                Ok(())
            },
            &mut |d| {
                docs.push(d);
                Ok(())
            },
        )?;
        Ok(BootstrapSet { cursor: at, docs })
    }
    fn change_count(&self) -> StorageResult<u64>;
    /// The log's newest position (0 while it is empty): one look along its
    /// key, where `change_count` reads every row; asked on every scrape.
    fn highest_seq(&self) -> StorageResult<u64>;

    // ---- the materializer ----
    fn materialized_seq(&self) -> StorageResult<u64>;
    /// Changes of every village with seq > `after`, like [`Storage::pull`].
    fn changes_after(&self, after: u64, limit: u32, max_bytes: usize) -> StorageResult<PullPage>;
    fn snapshot(&self, doc_id: &str) -> StorageResult<Option<Snapshot>>;
    /// The snapshots of those of `doc_ids` that have one, in any order: one
    /// read for many documents where a round trip costs (PostgreSQL).
    fn snapshots(&self, doc_ids: &[String]) -> StorageResult<Vec<Snapshot>> {
        let mut out = Vec::with_capacity(doc_ids.len());
        for id in doc_ids {
            out.extend(self.snapshot(id)?);
        }
        Ok(out)
    }
    /// Stores snapshots and, when given, moves the watermark, in one transaction.
    fn save_snapshots(&self, snapshots: &[Snapshot], watermark: Option<u64>) -> StorageResult<()>;
    /// Fills the report projection again from the snapshots alone (see
    /// `crate::report`); returns the households it holds.
    fn rebuild_report(&self) -> StorageResult<u64>;
    /// Up to `limit` households whose snapshot changed since their report
    /// rows were written: their snapshots (`pending` left empty).
    fn report_due(&self, limit: u32) -> StorageResult<Vec<Snapshot>>;
    /// Writes the report rows of households read from the snapshots
    /// `report_due` gave (`None`: the snapshot does not read as a household,
    /// its rows are removed). A household whose snapshot changed meanwhile
    /// stays due.
    fn save_report(
        &self,
        records: &[(Snapshot, Option<ReportRecord>)],
        merges: &MergeUpdate,
    ) -> StorageResult<()>;
    /// The merge marks of households `ids` as last read (those it has).
    fn merge_nodes(&self, ids: &[String]) -> StorageResult<Vec<MergeNode>>;
    /// The households whose own mark names one of `ids`: (household, the
    /// one of `ids` it names).
    fn marked_into(&self, ids: &[String]) -> StorageResult<Vec<(String, String)>>;
    /// When the server received these changes (unix seconds), by hash.
    fn received_at(
        &self,
        hashes: &[[u8; 32]],
    ) -> StorageResult<std::collections::HashMap<[u8; 32], i64>>;
    /// The day reporting periods start on (1: calendar months).
    fn report_start_day(&self) -> StorageResult<u8>;
    /// Sets the day reporting periods start on, and counts every household
    /// again under it.
    fn set_report_start_day(&self, day: u8) -> StorageResult<u64>;
    /// The indicators' contributions of the households in `scope`, summed per
    /// key at the granularity `level` needs (villages for the village and
    /// team levels, communes otherwise).
    fn report_sums(
        &self,
        scope: &AreaScope,
        level: gocua_report::Level,
    ) -> StorageResult<Vec<gocua_report::Contribution>> {
        let mut out = Vec::new();
        self.each_report_sum(scope, level, &mut |c| out.push(c))?;
        Ok(out)
    }
    /// `report_sums` one at a time, none kept: a province's sums by village
    /// are over a million. At the village and team levels, in village order.
    fn each_report_sum(
        &self,
        scope: &AreaScope,
        level: gocua_report::Level,
        f: &mut dyn FnMut(gocua_report::Contribution),
    ) -> StorageResult<()>;
    /// The province (2025 list) a scope lies in; `None` for the country or an
    /// area no province holds.
    fn scope_province(&self, scope: &AreaScope) -> StorageResult<Option<String>>;
    /// What the households in `scope` list for review, up to `limit`.
    fn report_reviews(
        &self,
        scope: &AreaScope,
        limit: u32,
    ) -> StorageResult<Vec<gocua_report::Review>>;
    /// The villages in `scope` with the team serving each, and the teams
    /// with their volunteers.
    fn report_roster(&self, scope: &AreaScope) -> StorageResult<gocua_report::Roster>;
    /// The key extracts' pseudonyms are made with, created on first use.
    fn pseudonym_key(&self) -> StorageResult<Vec<u8>>;
    /// Replaces the pseudonym key: every pseudonym changes from then on.
    fn rotate_pseudonym_key(&self) -> StorageResult<()>;
    /// Writes households' report rows and contributions directly, as of log
    /// position `covered_seq` (a generated province for the benchmarks; the
    /// server's own projection is written by the materializer).
    fn put_report_records(&self, records: &[(ReportRecord, u64)]) -> StorageResult<()>;
    /// The area a code names: a province or commune code of the 2025 list,
    /// or a village id; `None` when it names none.
    fn area_scope(&self, code: &str) -> StorageResult<Option<AreaScope>>;
    /// Streams the report projection's rows of the households in `scope`
    /// whose rows changed after report cursor `since` into `sink`, in one
    /// read; returns the cursor to ask from next time.
    fn extract(
        &self,
        scope: &AreaScope,
        since: u64,
        sink: &mut dyn ExtractSink,
    ) -> StorageResult<u64>;

    // ---- backups and checks (crate::backup, crate::check) ----
    /// Where the pull feed ends, and what restores left unused: read on
    /// every pull, so one small read.
    fn feed_bounds(&self) -> StorageResult<FeedBounds>;
    /// Leaves the feed positions after this database's end unused for
    /// `gap`, as a restore does, and writes `audit`, in one transaction:
    /// for a database put back by other means than `gocua-server restore`.
    /// The stretch left, `(after, before)`.
    fn mark_restored(&self, gap: u64, audit: &AuditEntry) -> StorageResult<(u64, u64)>;
    /// Every document with its log, feed rows, snapshot and report row, in
    /// one consistent read, handed to `doc` one at a time (none kept); then
    /// the log's totals from the same read. An error from `doc` stops the
    /// read and is returned.
    fn check_read(
        &self,
        doc: &mut dyn FnMut(CheckedDoc) -> StorageResult<()>,
    ) -> StorageResult<LogTotals>;
    // ---- the web console (`crate::console`) ----
    /// Sets an account's console login name and password hash, and ends
    /// its open sessions. A login name belongs to one account.
    fn set_console_login(
        &self,
        account_id: &str,
        login: &str,
        password_hash: &str,
        now: i64,
    ) -> StorageResult<()>;
    /// The account that signs in as `login` (already normalized).
    fn console_login(&self, login: &str) -> StorageResult<Option<ConsoleLogin>>;
    /// The login name an account signs in with, if it has one.
    fn console_login_of(&self, account_id: &str) -> StorageResult<Option<String>>;
    /// Starts a session (`token_hash`: `secrets::token_hash` of the cookie's
    /// token); forgets sessions expired by `now`.
    fn add_console_session(
        &self,
        token_hash: &str,
        account_id: &str,
        csrf_token: &str,
        now: i64,
        expires_at: i64,
    ) -> StorageResult<()>;
    /// The session of `token_hash`, unless it expired by `now`.
    fn console_session(&self, token_hash: &str, now: i64) -> StorageResult<Option<ConsoleSession>>;
    /// Ends a session; false when there was none.
    fn end_console_session(&self, token_hash: &str) -> StorageResult<bool>;
    /// Renames a village; its id (what devices know it by) stays.
    fn rename_village(&self, village_id: &str, name: &str) -> StorageResult<Village>;
    /// Replaces a volunteer's name, phone and team.
    fn update_volunteer(&self, volunteer: &Volunteer) -> StorageResult<()>;
    /// Audit rows matching `query`, the newest first.
    fn search_audit(&self, query: &AuditQuery) -> StorageResult<Vec<AuditRow>>;
    /// Households in `scope` with fields in conflict, by village and id:
    /// `limit` of them after the first `offset`.
    fn conflicted_households(
        &self,
        scope: &AreaScope,
        offset: u32,
        limit: u32,
    ) -> StorageResult<Vec<ConflictedHousehold>>;
}
