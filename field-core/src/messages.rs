//! The wording of field-core's records and refusals a person reads, in
//! Vietnamese (the default) and English: field labels, the model's words,
//! what is wrong with a value and what to do. Shared by the `gocua` command
//! and the phone app's binding, so both say the same thing.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::error::{Field, Invalid, Kind, Problem};

/// The user's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
}

impl Lang {
    /// `en...` is English; anything else Vietnamese, the volunteers' language.
    pub fn from_tag(tag: &str) -> Lang {
        if tag.trim().to_ascii_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::Vi
        }
    }

    pub fn pick<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }
}

/// The last 8 characters of an id, as lists show it.
pub fn short(id: &str) -> &str {
    let n = id.len();
    if n > 8 && id.is_char_boundary(n - 8) {
        &id[n - 8..]
    } else {
        id
    }
}

/// An RFC 3339 moment in Vietnam time, `YYYY-MM-DD HH:MM`; other text unchanged.
pub fn local_time(rfc3339: &str) -> String {
    let Ok(t) = OffsetDateTime::parse(rfc3339, &Rfc3339) else {
        return rfc3339.to_string();
    };
    let Ok(vn) = time::UtcOffset::from_hms(7, 0, 0) else {
        return rfc3339.to_string();
    };
    t.to_offset(vn)
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]"))
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// A word of the model (devices, gender, VNeID level, consent method) in the language.
pub fn word(lang: Lang, w: &str) -> String {
    let pair = match w {
        "smartphone" => ("điện thoại thông minh", "smartphone"),
        "feature_phone_only" => ("chỉ có điện thoại 2G", "feature phone only"),
        "none" => ("không có", "none"),
        "male" => ("nam", "male"),
        "female" => ("nữ", "female"),
        "other" => ("khác", "other"),
        "registered" => ("đã đăng ký", "registered"),
        "level1" => ("mức 1", "level 1"),
        "level2" => ("mức 2", "level 2"),
        "verbal" => ("bằng lời", "verbal"),
        "written" => ("bằng văn bản", "written"),
        "app" => ("qua ứng dụng", "in the app"),
        "vneid_level" => ("VNeID", "VNeID"),
        "vneid_activated" => ("VNeID đã kích hoạt", "VNeID activated"),
        "bank_account" => ("tài khoản ngân hàng/ví", "bank/e-wallet account"),
        "public_service_account" => ("tài khoản dịch vụ công", "public-service account"),
        "ehealth_book" => ("sổ sức khỏe điện tử", "e-health book"),
        "digital_signature" => ("chữ ký số", "digital signature"),
        "basic_skills_certified" => ("kỹ năng số cơ bản", "basic skills"),
        other => return other.to_string(),
    };
    lang.pick(pair.0, pair.1).to_string()
}

pub fn field_label(lang: Lang, field: Field) -> &'static str {
    let (vi, en) = match field {
        Field::CommuneCode => ("mã xã/phường", "commune code"),
        Field::VillageId => ("thôn/tổ dân phố", "village"),
        Field::VillageName => ("tên thôn/tổ dân phố", "village name"),
        Field::Address => ("địa chỉ", "address"),
        Field::HeadName => ("tên chủ hộ", "household head's name"),
        Field::Phone => ("số điện thoại", "phone number"),
        Field::MemberCount => ("số nhân khẩu", "number of members"),
        Field::DeviceAccess => ("thiết bị", "devices"),
        Field::TargetGroup => ("nhóm đối tượng", "target group"),
        Field::Name => ("họ tên", "name"),
        Field::BirthYear => ("năm sinh", "birth year"),
        Field::Gender => ("giới tính", "gender"),
        Field::IdNumber => ("số định danh cá nhân", "personal ID number"),
        Field::VneidLevel => ("mức VNeID", "VNeID level"),
        Field::VisitedAt => ("thời gian hỗ trợ", "visit time"),
        Field::PersonId => ("mã thành viên", "member id"),
        Field::ServiceCode => ("mã dịch vụ", "service code"),
        Field::OutcomeCode => ("mã kết quả", "outcome code"),
        Field::DurationMinutes => ("thời lượng (phút)", "duration (minutes)"),
        Field::FollowUpOn => ("ngày hẹn quay lại", "follow-up date"),
        Field::ConsentId => ("mã bản ghi đồng ý", "consent id"),
        Field::Purpose => ("mục đích", "purpose"),
        Field::ConsentMethod => ("hình thức đồng ý", "consent method"),
        Field::GivenAt => ("thời điểm đồng ý", "consent time"),
        Field::VolunteerName => ("tên tình nguyện viên", "volunteer name"),
        Field::TeamName => ("tên tổ", "team name"),
        Field::HouseholdId => ("mã hộ", "household id"),
        Field::VisitId => ("mã lượt hỗ trợ", "visit id"),
        Field::Path => ("trường", "path"),
        Field::Value => ("giá trị", "value"),
    };
    lang.pick(vi, en)
}

pub fn kind_label(lang: Lang, kind: Kind) -> &'static str {
    let (vi, en) = match kind {
        Kind::Household => ("hộ", "household"),
        Kind::Person => ("thành viên", "member"),
        Kind::Visit => ("lượt hỗ trợ", "visit"),
        Kind::Consent => ("bản ghi đồng ý", "consent"),
        Kind::Village => ("thôn", "village"),
    };
    lang.pick(vi, en)
}

/// What is wrong and what to do, as the end of a sentence naming the field.
pub fn problem(lang: Lang, p: &Problem) -> String {
    match (lang, p) {
        (Lang::Vi, Problem::Required) => "không được để trống: hãy nhập giá trị.".into(),
        (Lang::En, Problem::Required) => "is required: please give a value.".into(),
        (Lang::Vi, Problem::TooLong { max }) => format!("quá dài: tối đa {max} ký tự."),
        (Lang::En, Problem::TooLong { max }) => format!("is too long: at most {max} characters."),
        (Lang::Vi, Problem::UnknownCommune) => "không phải mã xã/phường đang có hiệu lực (danh mục từ 01/07/2025): kiểm tra lại mã 5 chữ số.".into(),
        (Lang::En, Problem::UnknownCommune) => "is not a commune in force (units since 1 July 2025): check the 5-digit code.".into(),
        (Lang::Vi, Problem::UnknownVillage) => "không phải thôn của máy này: xem các thôn bằng `gocua status`.".into(),
        (Lang::En, Problem::UnknownVillage) => "is not one of this device's villages: see them with `gocua status`.".into(),
        (Lang::Vi, Problem::BadPhone) => "không hợp lệ: cần 10 chữ số bắt đầu bằng 03, 05, 07, 08, 09 (hoặc 11 chữ số bắt đầu 02); có thể ghi +84.".into(),
        (Lang::En, Problem::BadPhone) => "is not valid: it needs 10 digits starting 03, 05, 07, 08, 09 (or 11 digits starting 02); +84 is accepted.".into(),
        (Lang::Vi, Problem::IdNumberFormat) => "không hợp lệ: phải có đúng 12 chữ số.".into(),
        (Lang::En, Problem::IdNumberFormat) => "is not valid: it must be exactly 12 digits.".into(),
        (Lang::Vi, Problem::IdNumberMismatch { expected }) => format!("không khớp với năm sinh và giới tính: chữ số thứ 4 đến 6 phải là {expected}; kiểm tra lại số, năm sinh hoặc giới tính."),
        (Lang::En, Problem::IdNumberMismatch { expected }) => format!("does not match the birth year and gender: digits 4 to 6 should be {expected}; check the number, the birth year or the gender."),
        (Lang::Vi, Problem::OutOfRange { min, max }) => format!("nằm ngoài khoảng cho phép: phải từ {min} đến {max}."),
        (Lang::En, Problem::OutOfRange { min, max }) => format!("is out of range: it must be between {min} and {max}."),
        (Lang::Vi, Problem::UnknownCode { known }) => format!("không có trong danh mục; các mã hợp lệ: {} (xem `gocua catalogue`).", known.join(", ")),
        (Lang::En, Problem::UnknownCode { known }) => format!("is not in the catalogue; known codes: {} (see `gocua catalogue`).", known.join(", ")),
        (Lang::Vi, Problem::NotOneOf { allowed }) => format!("không hợp lệ: phải là một trong: {}.", allowed.iter().map(|w| word(lang, w)).collect::<Vec<_>>().join(", ")),
        (Lang::En, Problem::NotOneOf { allowed }) => format!("is not valid: it must be one of: {}.", allowed.join(", ")),
        (Lang::Vi, Problem::BadDate) => "không đọc được: ghi ngày dạng YYYY-MM-DD, hoặc giờ dạng \"YYYY-MM-DD HH:MM\" (giờ Việt Nam).".into(),
        (Lang::En, Problem::BadDate) => "cannot be read: write a day as YYYY-MM-DD, or a time as \"YYYY-MM-DD HH:MM\" (Vietnam time) or RFC 3339.".into(),
        (Lang::Vi, Problem::NotInHousehold) => "không thuộc hộ này: kiểm tra lại mã (xem `gocua household show`).".into(),
        (Lang::En, Problem::NotInHousehold) => "is not in this household: check the id (see `gocua household show`).".into(),
        (Lang::Vi, Problem::NoService) => "còn thiếu: lượt hỗ trợ cần ít nhất một dịch vụ (--service).".into(),
        (Lang::En, Problem::NoService) => "is missing: a visit needs at least one service (--service).".into(),
        (Lang::Vi, Problem::AlreadyWithdrawn) => "đã được rút lại trước đó.".into(),
        (Lang::En, Problem::AlreadyWithdrawn) => "was withdrawn already.".into(),
        (Lang::Vi, Problem::InFuture { latest }) => format!("ở tương lai: muộn nhất là {} (giờ Việt Nam); kiểm tra lại ngày giờ, hoặc đồng hồ của máy.", local_time(latest)),
        (Lang::En, Problem::InFuture { latest }) => format!("is in the future: the latest accepted is {} (Vietnam time); check the date and time, or the phone's clock.", local_time(latest)),
        (Lang::Vi, Problem::TooFarBack { earliest }) => format!("trước {} (ngày đăng ký hộ, hoặc quá một năm): nếu đúng là ghi bù lượt hỗ trợ đã làm, thêm --ghi-bu.", local_time(earliest)),
        (Lang::En, Problem::TooFarBack { earliest }) => format!("is before {} (the household's registration, or more than a year ago): if the visit really is entered late, add --entered-late.", local_time(earliest)),
        (Lang::Vi, Problem::ConsentWithdrawnBefore { withdrawn_at }) => format!("nêu một sự đồng ý đã được rút lại trước lượt hỗ trợ (lúc {}): cần xem lại lượt này.", local_time(withdrawn_at)),
        (Lang::En, Problem::ConsentWithdrawnBefore { withdrawn_at }) => format!("names a consent withdrawn before the visit (at {}): review this visit.", local_time(withdrawn_at)),
        (Lang::Vi, Problem::AlreadyCorrected) => "đã được đánh dấu như vậy rồi.".into(),
        (Lang::En, Problem::AlreadyCorrected) => "is marked so already.".into(),
        (Lang::Vi, Problem::NotCorrected) => "chưa được đánh dấu: không có gì để hoàn tác.".into(),
        (Lang::En, Problem::NotCorrected) => "is not marked: there is nothing to undo.".into(),
        (Lang::Vi, Problem::SameHousehold { into }) => format!("là chính hộ cần gộp vào ({}): không có gì để gộp.", short(into)),
        (Lang::En, Problem::SameHousehold { into }) => format!("is the household to merge into ({}): there is nothing to merge.", short(into)),
        (Lang::Vi, Problem::OtherVillage { village }) => format!("ở thôn khác ({village}): chuyển một hộ sang cùng thôn trước (gocua household edit MÃ --village …), rồi mới gộp."),
        (Lang::En, Problem::OtherVillage { village }) => format!("is in another village ({village}): move one household first (gocua household edit ID --village …), then merge."),
        (Lang::Vi, Problem::AlreadyMerged { into }) => format!("đã được gộp vào hộ {} rồi: muốn gộp khác, hãy hoàn tác trước (gocua household merge MÃ --undo).", short(into)),
        (Lang::En, Problem::AlreadyMerged { into }) => format!("is merged into household {} already: undo that first (gocua household merge ID --undo).", short(into)),
        (Lang::Vi, Problem::NothingRefused) => "không có thay đổi nào bị máy chủ từ chối (xem gocua changes refused).".into(),
        (Lang::En, Problem::NothingRefused) => "has no changes refused by the server (see gocua changes refused).".into(),
        (Lang::Vi, Problem::VisitCancelled) => "đã bị hủy: muốn sửa, hãy khôi phục trước (gocua visit cancel MÃ --undo).".into(),
        (Lang::En, Problem::VisitCancelled) => "is cancelled: restore it first to correct it (gocua visit cancel ID --undo).".into(),
        (Lang::Vi, Problem::MarkedInError) => "đã được đánh dấu là đăng ký nhầm: muốn ghi thêm, hãy hoàn tác trước (gocua household in-error MÃ --undo).".into(),
        (Lang::En, Problem::MarkedInError) => "is marked as registered in error: undo that first to record more (gocua household in-error ID --undo).".into(),
        (Lang::Vi, Problem::BeforeVisit { visit_day }) => format!("trước ngày hỗ trợ ({visit_day}): ngày hẹn lại phải từ ngày đó trở đi."),
        (Lang::En, Problem::BeforeVisit { visit_day }) => format!("is before the visit's day ({visit_day}): a follow-up must be on that day or later."),
        (Lang::Vi, Problem::NoConflict) => "không có xung đột để giải quyết (xem `gocua conflicts`).".into(),
        (Lang::En, Problem::NoConflict) => "has no conflict to resolve (see `gocua conflicts`).".into(),
        (Lang::Vi, Problem::NotAConflictValue { values }) => format!("không phải một trong các giá trị đang xung đột: {}.", values.join(" | ")),
        (Lang::En, Problem::NotAConflictValue { values }) => format!("is not one of the conflicting values: {}.", values.join(" | ")),
        (Lang::Vi, Problem::WrongType { expected, found }) => format!("được một phần mềm khác ghi với kiểu {found}, trong khi lược đồ quy định {expected}: giá trị này không được hiển thị; hãy nhập lại bằng gocua."),
        (Lang::En, Problem::WrongType { expected, found }) => format!("was written by another program as a {found} where the schema says {expected}: it is not shown; enter it again with gocua."),
        (Lang::Vi, Problem::NotAUuid) => "không phải mã UUID: bản ghi này do phần mềm khác ghi và không được hiển thị.".into(),
        (Lang::En, Problem::NotAUuid) => "is not a UUID: the record was written by another program and is not shown.".into(),
    }
}

/// A document key (`id_number`, `person_ids`) as a field's name in the language.
pub fn key_label(lang: Lang, key: &str) -> String {
    match (lang, key) {
        (Lang::Vi, "id") => "mã bản ghi".into(),
        (Lang::En, "id") => "record id".into(),
        (Lang::Vi, "person_ids") => "người được hỗ trợ".into(),
        (Lang::En, "person_ids") => "people helped".into(),
        (Lang::Vi, "services") => "dịch vụ".into(),
        (Lang::En, "services") => "services".into(),
        (Lang::Vi, "merged_into") => "gộp vào hộ".into(),
        (Lang::En, "merged_into") => "merged into household".into(),
        _ => match Field::from_key(key) {
            Some(f) => field_label(lang, f).to_string(),
            None => word(lang, key),
        },
    }
}

/// A field's place in a household (`phone`, `members/<id>/name`) as a person
/// reads it: the field's label, and whose it is below the household.
pub fn path_label(lang: Lang, path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    let field = key_label(lang, parts.last().copied().unwrap_or(path));
    match parts.as_slice() {
        ["members", id, _] => format!("{field} ({} {})", kind_label(lang, Kind::Person), short(id)),
        ["visits", id, ..] if parts.len() >= 3 => {
            format!("{field} ({} {})", kind_label(lang, Kind::Visit), short(id))
        }
        ["consents", id, _] => format!(
            "{field} ({} {})",
            kind_label(lang, Kind::Consent),
            short(id)
        ),
        _ => field,
    }
}

/// A problem of a stored record: `số định danh cá nhân "0011..." không khớp ...`.
pub fn household_problem(lang: Lang, p: &crate::HouseholdProblem) -> String {
    let key = p
        .fields
        .first()
        .cloned()
        .unwrap_or_else(|| p.path.rsplit('/').next().unwrap_or_default().to_string());
    let label = key_label(lang, &key);
    let what = problem(lang, &p.problem);
    if p.value.trim().is_empty() {
        format!("{label} {what}")
    } else {
        format!("{label} \"{}\" {what}", p.value)
    }
}

/// The fields a rule involves, named in the language and joined.
pub fn key_labels(lang: Lang, keys: &[String]) -> String {
    keys.iter()
        .map(|k| key_label(lang, k))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `số điện thoại "0912" không hợp lệ: ...`
pub fn invalid(lang: Lang, inv: &Invalid) -> String {
    let label = field_label(lang, inv.field);
    let what = problem(lang, &inv.problem);
    if inv.value.trim().is_empty() {
        format!("{label} {what}")
    } else {
        format!("{label} \"{}\" {what}", inv.value)
    }
}
