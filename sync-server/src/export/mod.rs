//! Record-level extracts of the report projection for the province
//! (docs/reports.md, "Extracts"): CSV (one file per table, zipped), XLSX (one
//! sheet per table, constant memory) or JSON Lines, written as the rows are
//! read, under an explicit level of personal data.
//!
//! Personal data (Decree 13/2023): an extract is `pseudonymized` (names,
//! phone and ID numbers replaced by keyed pseudonyms, addresses and free
//! text left out) or `full` (for a role allowed to, audited). A person
//! appears as a record only while a consent of theirs is on record and not
//! withdrawn; otherwise only in counts. Sensitive target groups (ethnicity,
//! disability) are left out unless asked for by name.

mod csvzip;
mod indicators;
mod pseudonym;
mod write;

pub use indicators::{IndicatorsOutcome, write_indicators};
pub use pseudonym::PseudonymKey;
pub use write::{ExportOutcome, write_extract};

use crate::storage::ExtractTable;

/// The extract's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Jsonl,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            "jsonl" | "json-lines" => Some(Format::Jsonl),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "zip",
            Format::Xlsx => "xlsx",
            Format::Jsonl => "jsonl",
        }
    }
}

/// How much personal data a record-level extract holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pii {
    /// Aggregates only: the indicators (`write_indicators`), no records.
    None,
    Pseudonymized,
    Full,
}

impl Pii {
    pub fn parse(s: &str) -> Option<Pii> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Some(Pii::None),
            "pseudonymized" | "pseudonymised" => Some(Pii::Pseudonymized),
            "full" => Some(Pii::Full),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Pii::None => "none",
            Pii::Pseudonymized => "pseudonymized",
            Pii::Full => "full",
        }
    }
}

/// Headers in Vietnamese (the default) or English.
pub use crate::messages::Lang;

/// Target groups that reveal ethnicity or health: record-level only when asked
/// for by name.
pub const SENSITIVE_GROUPS: &[&str] = &["ethnic_minority", "disability"];

/// What a column holds, which decides what each PII level does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Kept as is.
    Plain,
    /// Kept as is, and as text in spreadsheets (codes, dates: leading zeros).
    Code,
    /// 0/1 in the projection, a boolean in the extract.
    Flag,
    /// Identifies a person: a pseudonym unless `full`.
    Identifying,
    /// An address or free text that may name people: only in `full`.
    FullOnly,
    /// Target-group codes: sensitive ones only when asked for.
    Groups,
    /// A comma-separated list of person ids: their number.
    PersonCount,
    /// Unix seconds, written as UTC time.
    Time,
    /// Used to select rows, not written (a person's consent on record).
    Hidden,
}

#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    pub vi: &'static str,
    pub en: &'static str,
    pub kind: Kind,
}

const fn col(name: &'static str, vi: &'static str, en: &'static str, kind: Kind) -> Column {
    Column { name, vi, en, kind }
}

/// The columns of each table, in the order the storage backend gives them.
pub fn columns(table: ExtractTable) -> &'static [Column] {
    match table {
        ExtractTable::Households => HOUSEHOLDS,
        ExtractTable::Persons => PERSONS,
        ExtractTable::Visits => VISITS,
        ExtractTable::VisitServices => VISIT_SERVICES,
        ExtractTable::Removed => REMOVED,
    }
}

const REMOVED: &[Column] = &[
    col("household_id", "Mã hộ", "Household id", Code),
    col("province_code", "Mã tỉnh", "Province code", Code),
    col("commune_code", "Mã xã", "Commune code", Code),
    col("village_id", "Mã thôn", "Village id", Code),
    col("removed_seq", "Phiên bản", "Version", Plain),
];

use Kind::*;

const HOUSEHOLDS: &[Column] = &[
    col("household_id", "Mã hộ", "Household id", Code),
    col("province_code", "Mã tỉnh", "Province code", Code),
    col("province_name", "Tỉnh/Thành phố", "Province", Plain),
    col("commune_code", "Mã xã", "Commune code", Code),
    col("commune_name", "Xã/Phường", "Commune", Plain),
    col(
        "commune_code_recorded",
        "Mã xã khi ghi",
        "Commune code as recorded",
        Code,
    ),
    col("village_id", "Mã thôn", "Village id", Code),
    col("village_name", "Thôn/Tổ dân phố", "Village", Plain),
    col("head_name", "Chủ hộ", "Head of household", Identifying),
    col("address", "Địa chỉ", "Address", FullOnly),
    col("phone", "Điện thoại", "Phone", Identifying),
    col("member_count", "Số nhân khẩu", "Members", Plain),
    col("device_access", "Thiết bị", "Device access", Plain),
    col("target_groups", "Nhóm đối tượng", "Target groups", Groups),
    col("created_at", "Ngày đăng ký", "Registered at", Code),
    col("conflicts", "Số xung đột", "Conflicts", Plain),
    col("problems", "Số lỗi dữ liệu", "Data problems", Plain),
    col("updated_seq", "Phiên bản", "Version", Plain),
    col("visits", "Số lượt hỗ trợ", "Visits", Plain),
];

const PERSONS: &[Column] = &[
    col("household_id", "Mã hộ", "Household id", Code),
    col("person_id", "Mã người", "Person id", Code),
    col("name", "Họ và tên", "Name", Identifying),
    col("birth_year", "Năm sinh", "Birth year", Plain),
    col("gender", "Giới tính", "Gender", Plain),
    col("id_number", "Số định danh", "ID number", Identifying),
    col("vneid_level", "Mức VNeID", "VNeID level", Plain),
    col(
        "vneid_activated",
        "Đã kích hoạt VNeID",
        "VNeID activated",
        Flag,
    ),
    col(
        "bank_account",
        "Tài khoản ngân hàng/ví",
        "Bank or e-wallet",
        Flag,
    ),
    col(
        "public_service_account",
        "Tài khoản dịch vụ công",
        "Public-service account",
        Flag,
    ),
    col("ehealth_book", "Sổ sức khỏe điện tử", "E-health book", Flag),
    col("digital_signature", "Chữ ký số", "Digital signature", Flag),
    col(
        "basic_skills_certified",
        "Kỹ năng số cơ bản",
        "Basic digital skills",
        Flag,
    ),
    col("consent_on_record", "", "", Hidden),
];

const VISITS: &[Column] = &[
    col("household_id", "Mã hộ", "Household id", Code),
    col("visit_id", "Mã lượt hỗ trợ", "Visit id", Code),
    col(
        "visited_at",
        "Thời gian hỗ trợ (máy)",
        "Visited at (device)",
        Code,
    ),
    col(
        "received_at",
        "Máy chủ nhận lúc",
        "Received by the server at",
        Time,
    ),
    col("team_id", "Mã tổ", "Team id", Code),
    col(
        "volunteer_ids",
        "Mã tình nguyện viên",
        "Volunteer ids",
        Code,
    ),
    col(
        "people",
        "Số người được hỗ trợ",
        "People supported",
        PersonCount,
    ),
    col("duration_minutes", "Số phút", "Minutes", Plain),
    col("follow_up_on", "Hẹn quay lại", "Follow-up on", Code),
    col("feedback", "Phản hồi", "Feedback", FullOnly),
];

const VISIT_SERVICES: &[Column] = &[
    col("household_id", "Mã hộ", "Household id", Code),
    col("visit_id", "Mã lượt hỗ trợ", "Visit id", Code),
    col("service_code", "Mã dịch vụ", "Service code", Code),
    col("outcome", "Kết quả", "Outcome", Plain),
    col("note", "Ghi chú", "Note", FullOnly),
];

pub fn table_name(table: ExtractTable, lang: Lang) -> &'static str {
    match (table, lang) {
        (ExtractTable::Households, Lang::Vi) => "ho",
        (ExtractTable::Persons, Lang::Vi) => "nhan_khau",
        (ExtractTable::Visits, Lang::Vi) => "luot_ho_tro",
        (ExtractTable::VisitServices, Lang::Vi) => "dich_vu",
        (ExtractTable::Households, Lang::En) => "households",
        (ExtractTable::Persons, Lang::En) => "persons",
        (ExtractTable::Visits, Lang::En) => "visits",
        (ExtractTable::VisitServices, Lang::En) => "visit_services",
        (ExtractTable::Removed, Lang::Vi) => "ho_da_roi",
        (ExtractTable::Removed, Lang::En) => "households_removed",
    }
}

/// What is asked for.
#[derive(Debug, Clone)]
pub struct Request {
    pub format: Format,
    pub pii: Pii,
    pub lang: Lang,
    /// Sensitive target groups asked for by name (only with `Pii::Full`).
    pub sensitive: Vec<String>,
    /// Excel keeps leading zeros of a CSV cell written as a formula `="…"`;
    /// off for a reader that wants the plain value.
    pub csv_excel_text: bool,
    /// Data rows per XLSX sheet before a table goes on in the next sheet
    /// (`None`: as many as a sheet holds, 1,048,575).
    pub sheet_rows: Option<u32>,
}

/// Why an extract was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "PII level none gives the indicators only, as csv or xlsx (JSON: the report); a record-level extract needs --pii pseudonymized or full"
    )]
    AggregatesOnly,
    #[error("sensitive target groups {0:?} can be asked for only with --pii full")]
    SensitiveNeedsFull(Vec<String>),
    #[error("unknown target group {0:?}: the sensitive ones are {SENSITIVE_GROUPS:?}")]
    UnknownSensitive(String),
    #[error("writing the extract failed: {0}")]
    Write(String),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

impl From<ExportError> for crate::storage::StorageError {
    /// For a request already checked (over HTTP): what is left is the
    /// storage's failure, or writing the file.
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Storage(e) => e,
            other => crate::storage::StorageError::Backend(other.to_string()),
        }
    }
}

impl Request {
    /// Checks the request against the rules above.
    pub fn check(&self) -> Result<(), ExportError> {
        if self.pii == Pii::None {
            return Err(ExportError::AggregatesOnly);
        }
        for g in &self.sensitive {
            if !SENSITIVE_GROUPS.contains(&g.as_str()) {
                return Err(ExportError::UnknownSensitive(g.clone()));
            }
        }
        if !self.sensitive.is_empty() && self.pii != Pii::Full {
            return Err(ExportError::SensitiveNeedsFull(self.sensitive.clone()));
        }
        Ok(())
    }
}
