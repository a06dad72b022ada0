//! Every user-facing text, in Vietnamese (the default) and English.

pub mod help;
pub mod server;
#[cfg(test)]
mod tests;

use field_core::Error as CoreError;

pub use field_core::messages::{
    Lang, household_problem, invalid, key_label, key_labels, kind_label, path_label, problem, word,
};

use crate::args::LangArg;
use crate::error::{CliError, ReportOption};

/// `--lang` wins; otherwise English when the locale (LC_ALL, LC_MESSAGES, LANG,
/// the first one set) starts with "en"; otherwise Vietnamese.
pub fn detect_lang(arg: Option<LangArg>) -> Lang {
    match arg {
        Some(LangArg::Vi) => Lang::Vi,
        Some(LangArg::En) => Lang::En,
        None => {
            let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
                .iter()
                .filter_map(|k| std::env::var(k).ok())
                .find(|v| !v.is_empty())
                .unwrap_or_default();
            if locale.starts_with("en") {
                Lang::En
            } else {
                Lang::Vi
            }
        }
    }
}

/// Fixed texts: labels, headers, short messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T {
    ErrorPrefix,
    Volunteer,
    Team,
    Commune,
    Villages,
    Households,
    Persons,
    Visits,
    PendingChanges,
    Conflicts,
    Problems,
    SchemaVersion,
    StorePath,
    LastChange,
    NotInitialized,
    ShortId,
    Head,
    Village,
    Address,
    Phone,
    Members,
    LastVisit,
    Devices,
    Groups,
    Created,
    Name,
    BirthYear,
    Gender,
    IdNumber,
    Skills,
    Consents,
    When,
    Services,
    FollowUp,
    Feedback,
    Consent,
    Person,
    Purpose,
    Method,
    Withdrawn,
    Household,
    Path,
    Values,
    Code,
    NoHouseholds,
    MovedAway,
    ReadOnlyMovedAway,
    NoVisits,
    NoConflicts,
    NoProblems,
    Problem,
    ProblemCount,
    ServicesCatalogue,
    OutcomesCatalogue,
    GroupsCatalogue,
    Minutes,
    Yes,
    No,
    Quarantined,
    WaitingChanges,
    NoQuarantined,
    Change,
    Reason,
    ReceivedFrom,
    Cancelled,
    Edited,
    RemovedMember,
    InError,
    RemovedMembers,
    NoRefused,
    Changes,
    RefusedHelp,
    SeeRefused,
    ServiceName,
    OutcomeName,
    GroupName,
    CommunesCatalogue,
    Province,
    SetBy,
    Server,
    NotEnrolledYet,
    LastSync,
    RefusedChanges,
}

pub fn t(lang: Lang, text: T) -> &'static str {
    let (vi, en) = match text {
        T::ErrorPrefix => ("Lỗi", "Error"),
        T::Volunteer => ("Tình nguyện viên", "Volunteer"),
        T::Team => ("Tổ", "Team"),
        T::Commune => ("Xã/phường", "Commune"),
        T::Villages => ("Thôn/tổ dân phố", "Villages"),
        T::Households => ("Hộ", "Households"),
        T::Persons => ("Thành viên đã ghi", "Members recorded"),
        T::Visits => ("Lượt hỗ trợ", "Visits"),
        T::PendingChanges => ("Thay đổi chờ gửi", "Pending changes"),
        T::Conflicts => ("Xung đột", "Conflicts"),
        T::Problems => (
            "Dữ liệu không hợp lệ (sai lược đồ hoặc vi phạm quy tắc nhập liệu)",
            "Problems (values breaking the schema or an entry rule)",
        ),
        T::Problem => ("Vấn đề", "Problem"),
        T::ProblemCount => ("Dữ liệu không hợp lệ", "Problems"),
        T::SchemaVersion => ("Phiên bản lược đồ", "Schema version"),
        T::StorePath => ("Tệp dữ liệu", "Store file"),
        T::LastChange => ("Thay đổi gần nhất", "Last change"),
        T::NotInitialized => (
            "Máy này chưa được thiết lập: chạy `gocua init`.",
            "This device is not set up yet: run `gocua init`.",
        ),
        T::ShortId => ("Mã", "Id"),
        T::Head => ("Chủ hộ", "Head"),
        T::Village => ("Thôn", "Village"),
        T::Address => ("Địa chỉ", "Address"),
        T::Phone => ("Điện thoại", "Phone"),
        T::Members => ("Số nhân khẩu (khai báo)", "Declared household size"),
        T::LastVisit => ("Lần hỗ trợ cuối", "Last visit"),
        T::Devices => ("Thiết bị", "Devices"),
        T::Groups => ("Nhóm đối tượng", "Target groups"),
        T::Created => ("Ghi lúc", "Recorded"),
        T::Name => ("Họ tên", "Name"),
        T::BirthYear => ("Năm sinh", "Born"),
        T::Gender => ("Giới tính", "Gender"),
        T::IdNumber => ("Số định danh", "ID number"),
        T::Skills => ("Kỹ năng số", "Digital skills"),
        T::Consents => ("Đồng ý xử lý dữ liệu", "Consents"),
        T::When => ("Thời gian", "When"),
        T::Services => ("Dịch vụ", "Services"),
        T::FollowUp => ("Hẹn quay lại", "Follow-up"),
        T::Feedback => ("Ý kiến người dân", "Feedback"),
        T::Consent => ("Đồng ý", "Consent"),
        T::Person => ("Người", "Person"),
        T::Purpose => ("Mục đích", "Purpose"),
        T::Method => ("Hình thức", "Method"),
        T::Withdrawn => ("Đã rút lại", "Withdrawn"),
        T::Household => ("Hộ", "Household"),
        T::Path => ("Trường", "Path"),
        T::Values => (
            "Các giá trị (giá trị đầu đang hiển thị)",
            "Values (the first is shown today)",
        ),
        T::Code => ("Mã", "Code"),
        T::NoHouseholds => ("Không có hộ nào.", "No households."),
        T::MovedAway => ("(đã chuyển đi)", "(moved away)"),
        T::ReadOnlyMovedAway => (
            "Chỉ xem: hộ đã chuyển sang thôn không thuộc địa bàn của bạn; tình nguyện viên thôn mới tiếp tục hỗ trợ.",
            "Read-only: this household moved to a village you do not serve; the volunteers of its new village look after it now.",
        ),
        T::NoVisits => ("Chưa có lượt hỗ trợ nào.", "No visits yet."),
        T::NoConflicts => ("Không có xung đột.", "No conflicts."),
        T::NoProblems => ("Không có dữ liệu không hợp lệ.", "No problems."),
        T::ServicesCatalogue => ("Dịch vụ hỗ trợ", "Services"),
        T::OutcomesCatalogue => ("Kết quả", "Outcomes"),
        T::GroupsCatalogue => ("Nhóm đối tượng", "Target groups"),
        T::Minutes => ("phút", "min"),
        T::Yes => ("có", "yes"),
        T::No => ("chưa", "no"),
        T::Quarantined => (
            "Thay đổi bị cách ly (không áp dụng được)",
            "Quarantined changes (could not be applied)",
        ),
        T::WaitingChanges => (
            "Thay đổi chờ thay đổi trước nó",
            "Changes waiting for earlier ones",
        ),
        T::NoQuarantined => (
            "Không có thay đổi nào bị cách ly.",
            "No quarantined changes.",
        ),
        T::Change => ("Thay đổi", "Change"),
        T::Reason => ("Lý do", "Reason"),
        T::ReceivedFrom => ("Nhận từ", "From"),
        T::Cancelled => ("đã hủy", "cancelled"),
        T::Edited => ("Đã sửa", "Corrected"),
        T::RemovedMember => ("Không còn trong hộ", "Removed"),
        T::InError => (
            "Hộ này đã được đánh dấu là đăng ký nhầm",
            "This household is marked as registered in error",
        ),
        T::RemovedMembers => ("Không còn trong hộ", "No longer in the household"),
        T::NoRefused => (
            "Máy chủ không từ chối thay đổi nào.",
            "The server refused no changes.",
        ),
        T::Changes => ("Thay đổi", "Changes"),
        T::RefusedHelp => (
            "Chuyển hộ sang thôn của máy này và giữ mọi thông tin: gocua changes fix MÃ --village THÔN. Bỏ các thay đổi bị từ chối (mất những gì chúng ghi): gocua changes discard MÃ --confirm.",
            "Move the household to one of this device's villages, keeping everything: gocua changes fix ID --village VILLAGE. Drop the refused changes (what they recorded is lost): gocua changes discard ID --confirm.",
        ),
        T::SeeRefused => (
            "Xem và xử lý: `gocua changes refused`.",
            "See and deal with them: `gocua changes refused`.",
        ),
        T::ServiceName => ("Tên dịch vụ", "Service"),
        T::OutcomeName => ("Kết quả", "Outcome"),
        T::GroupName => ("Tên nhóm", "Group"),
        T::CommunesCatalogue => (
            "Xã/phường có hiệu lực từ 01/07/2025",
            "Communes in force since 1 July 2025",
        ),
        T::Province => ("Tỉnh/thành phố", "Province"),
        T::SetBy => ("ghi bởi", "set by"),
        T::Server => ("Máy chủ", "Server"),
        T::NotEnrolledYet => ("chưa đăng ký", "not enrolled"),
        T::LastSync => ("Đồng bộ gần nhất", "Last sync"),
        T::RefusedChanges => (
            "Thay đổi bị máy chủ từ chối",
            "Changes refused by the server",
        ),
    };
    lang.pick(vi, en)
}

/// One value of a conflict with who set it and when.
pub fn value_set_by(lang: Lang, o: &field_core::ValueSetBy) -> String {
    let who = o.volunteer_name.clone().or_else(|| {
        o.volunteer_id
            .as_deref()
            .map(|i| crate::output::short(i).to_string())
    });
    let when = o.at.as_deref().map(crate::output::local_time);
    let origin = match (who, when) {
        (Some(w), Some(at)) => format!(" ({} {w}, {at})", t(lang, T::SetBy)),
        (Some(w), None) => format!(" ({} {w})", t(lang, T::SetBy)),
        (None, Some(at)) => format!(" ({at})"),
        (None, None) => String::new(),
    };
    format!("{}{origin}", o.value)
}

pub fn core_error(lang: Lang, e: &CoreError) -> String {
    match (lang, e) {
        (_, CoreError::Invalid(inv)) => invalid(lang, inv),
        (Lang::Vi, CoreError::NotFound { kind, id }) => format!(
            "không tìm thấy {} có mã \"{id}\": kiểm tra lại mã.",
            kind_label(lang, *kind)
        ),
        (Lang::En, CoreError::NotFound { kind, id }) => format!(
            "no {} with id \"{id}\": check the id.",
            kind_label(lang, *kind)
        ),
        (Lang::Vi, CoreError::Ambiguous { kind, id }) => format!(
            "mã \"{id}\" khớp với nhiều {}: hãy nhập thêm ký tự.",
            kind_label(lang, *kind)
        ),
        (Lang::En, CoreError::Ambiguous { kind, id }) => format!(
            "the id \"{id}\" matches several {}s: give more characters.",
            kind_label(lang, *kind)
        ),
        (Lang::Vi, CoreError::NotInitialized) => {
            "máy này chưa được thiết lập: chạy `gocua init` trước.".into()
        }
        (Lang::En, CoreError::NotInitialized) => {
            "this device is not set up yet: run `gocua init` first.".into()
        }
        (Lang::Vi, CoreError::AlreadyInitialized { volunteer }) => {
            format!("máy này đã được thiết lập cho tình nguyện viên {volunteer}.")
        }
        (Lang::En, CoreError::AlreadyInitialized { volunteer }) => {
            format!("this device is set up already for volunteer {volunteer}.")
        }
        (Lang::Vi, CoreError::TooNew { path, found, known }) => format!(
            "tệp dữ liệu {path} do phiên bản gocua mới hơn ghi (lược đồ {found}, bản này chỉ biết đến {known}): hãy cập nhật gocua."
        ),
        (Lang::En, CoreError::TooNew { path, found, known }) => format!(
            "the store {path} was written by a newer gocua (schema {found}, this one knows up to {known}): update gocua."
        ),
        (Lang::Vi, CoreError::WrongKey { path }) => format!(
            "mật khẩu không mở được kho dữ liệu đã mã hoá {path}: hãy kiểm tra mật khẩu (kể cả chữ hoa, dấu) rồi thử lại. Dữ liệu không bị thay đổi."
        ),
        (Lang::En, CoreError::WrongKey { path }) => format!(
            "the passphrase does not open the encrypted store {path}: check it (case and tone marks included) and try again. Nothing was changed."
        ),
        (Lang::Vi, CoreError::InUse { path }) => format!(
            "kho dữ liệu {path} đang được một chương trình khác mở: hãy đóng chương trình đó rồi thử lại."
        ),
        (Lang::En, CoreError::InUse { path }) => format!(
            "the store {path} is open in another program: close it and try again."
        ),
        (Lang::Vi, CoreError::KeyNeeded { path }) => format!(
            "kho dữ liệu {path} đã được mã hoá: hãy nhập mật khẩu (hoặc đặt biến GOCUA_PASSPHRASE)."
        ),
        (Lang::En, CoreError::KeyNeeded { path }) => format!(
            "the store {path} is encrypted: give its passphrase (or set GOCUA_PASSPHRASE)."
        ),
        (Lang::Vi, CoreError::BadChanges(m)) => {
            format!("không phải gói thay đổi hay tài liệu Automerge hợp lệ: {m}")
        }
        (Lang::En, CoreError::BadChanges(m)) => {
            format!("not a valid change bundle or Automerge document: {m}")
        }
        (Lang::Vi, CoreError::BadDocument { id, reason }) => format!("tài liệu {id}: {reason}"),
        (Lang::En, CoreError::BadDocument { id, reason }) => format!("document {id}: {reason}"),
        (Lang::Vi, CoreError::Storage(err)) => format!("lỗi lưu trữ: {err}"),
        (Lang::En, CoreError::Storage(err)) => format!("storage: {err}"),
        (Lang::Vi, CoreError::Reference(m)) => format!("dữ liệu tham chiếu: {m}"),
        (Lang::En, CoreError::Reference(m)) => format!("reference data: {m}"),
        (Lang::Vi, CoreError::Io { path, message }) => format!("tệp {path}: {message}"),
        (Lang::En, CoreError::Io { path, message }) => format!("file {path}: {message}"),
        (Lang::Vi, CoreError::NotEnrolled) => {
            "máy này chưa đăng ký với máy chủ: chạy `gocua enroll --server URL --code MÃ` trước.".into()
        }
        (Lang::En, CoreError::NotEnrolled) => {
            "this device is not enrolled with a server: run `gocua enroll --server URL --code CODE` first.".into()
        }
        // The technical detail (English, from the HTTP library) goes to the
        // log only: `RUST_LOG=debug` shows it.
        (_, CoreError::Network(_)) => server::connection_broke(lang).to_string(),
        (_, CoreError::Unreachable { url, attempts }) => {
            server::unreachable(lang, url, *attempts, crate::error::Doing::Sync, None)
        }
        (_, CoreError::BadServerUrl(url)) => server::bad_server_url(lang, url),
        (_, CoreError::Server {
            status,
            code,
            reason,
            ..
        }) => server::refused(lang, *status, code, reason.as_deref()),
        (_, CoreError::Revoked { wipe, .. }) => server::refused(
            lang,
            403,
            gocua_protocol::codes::DEVICE_REVOKED,
            wipe.then_some(gocua_protocol::reasons::WIPE),
        ),
        (Lang::Vi, CoreError::Cancelled) => "đã dừng đồng bộ: những gì đã gửi và nhận vẫn được giữ; lần đồng bộ sau sẽ tiếp tục.".into(),
        (Lang::En, CoreError::Cancelled) => "the sync was stopped: what was sent and received is kept; the next sync goes on from there.".into(),
        (Lang::Vi, CoreError::Wiped { reported }) => format!(
            "máy này đã bị quản trị viên thu hồi và dữ liệu trên máy đã được xoá. Trước khi xoá, {reported} thay đổi chưa đồng bộ đã được gửi cho quản trị viên, không mất gì. Liên hệ cán bộ xã nếu cần đăng ký lại máy."
        ),
        (Lang::En, CoreError::Wiped { reported }) => format!(
            "this device was revoked by the server's operator and its data was wiped. Before the wipe, the {reported} changes it had not synced were sent to the operator: nothing was lost. Ask your commune officer if the device is to be enrolled again."
        ),
        (Lang::Vi, CoreError::BreaksRule(b)) => format!(
            "không thể giữ \"{}\" cho trường {}: bản ghi sẽ vi phạm quy tắc về {}: {} \"{}\" {} Hãy sửa bằng lệnh chỉnh sửa thông thường (ví dụ `gocua member edit`), lệnh này kiểm tra giá trị.",
            b.value,
            b.path,
            key_labels(lang, &b.fields),
            key_label(lang, b.fields.first().map(String::as_str).unwrap_or("value")),
            b.found,
            problem(lang, &b.problem)
        ),
        (Lang::En, CoreError::BreaksRule(b)) => format!(
            "cannot keep \"{}\" at {}: the record would break the rule on {}: {} \"{}\" {} Fix it with an ordinary edit (e.g. `gocua member edit`), which checks the values.",
            b.value,
            b.path,
            key_labels(lang, &b.fields),
            key_label(lang, b.fields.first().map(String::as_str).unwrap_or("value")),
            b.found,
            problem(lang, &b.problem)
        ),
        (Lang::Vi, CoreError::OutsideVillages { id }) => format!(
            "hộ {id} đã chuyển sang thôn không thuộc địa bàn của máy này: chỉ xem được, không sửa được. Những gì bạn ghi trước khi biết hộ chuyển đi vẫn được gửi lên khi đồng bộ."
        ),
        (Lang::En, CoreError::OutsideVillages { id }) => format!(
            "household {id} moved to a village this device does not serve: it can be read, not changed. What you recorded before you learned of the move is still sent at the next sync."
        ),
        (_, CoreError::BadRule(e)) => bad_rule(lang, e),
    }
}

/// The whole message of an error, without the "Lỗi: " prefix.
pub fn error_message(lang: Lang, e: &CliError) -> String {
    match (lang, e) {
        (_, CliError::Core(c)) => core_error(lang, c),
        (Lang::Vi, CliError::Read { path, source }) => {
            format!("không đọc được tệp {}: {source}", path.display())
        }
        (Lang::En, CliError::Read { path, source }) => {
            format!("cannot read {}: {source}", path.display())
        }
        (Lang::Vi, CliError::Write { path, source }) => {
            format!("không ghi được tệp {}: {source}", path.display())
        }
        (Lang::En, CliError::Write { path, source }) => {
            format!("cannot write {}: {source}", path.display())
        }
        (Lang::Vi, CliError::Output(err)) => format!("không ghi được ra đầu ra: {err}"),
        (Lang::En, CliError::Output(err)) => format!("cannot write the output: {err}"),
        (Lang::Vi, CliError::BadFile { path, message }) => {
            format!("tệp {} không đúng định dạng: {message}", path.display())
        }
        (Lang::En, CliError::BadFile { path, message }) => format!(
            "{} is not in the expected format: {message}",
            path.display()
        ),
        (Lang::Vi, CliError::Line { path, line, error }) => format!(
            "tệp {}, dòng {line}: {} Chưa nhập hộ nào: mọi dòng được kiểm tra trước khi ghi. Sửa dòng này rồi nhập lại cả tệp.",
            path.display(),
            error_message(lang, error)
        ),
        (Lang::En, CliError::Line { path, line, error }) => format!(
            "{}, line {line}: {} Nothing was imported: every line is checked before any is written. Fix this line and import the file again.",
            path.display(),
            error_message(lang, error)
        ),
        (Lang::Vi, CliError::NeedsConfirm) => {
            "lệnh này xóa những gì các thay đổi đó ghi lại và không hoàn tác được; thêm --confirm nếu chắc chắn.".into()
        }
        (Lang::En, CliError::NeedsConfirm) => {
            "this drops what those changes recorded and cannot be undone; add --confirm if you are sure.".into()
        }
        (_, CliError::ImportStopped { path, line, stored, error }) => {
            import_stopped(lang, &path.display().to_string(), *line, *stored, &error_message(lang, error))
        }
        (_, CliError::LikelyDuplicate(c)) => likely_duplicate(lang, c),
        (_, CliError::Passphrase(p)) => crate::passphrase::message(lang, *p),
        (Lang::Vi, CliError::NoDataDir) => {
            "không tìm được thư mục dữ liệu: dùng --data-dir hoặc biến môi trường GOCUA_HOME."
                .into()
        }
        (Lang::En, CliError::NoDataDir) => {
            "no data directory found: use --data-dir or the GOCUA_HOME environment variable.".into()
        }
        (Lang::Vi, CliError::Diverged) => {
            "các máy đã trao đổi hết thay đổi mà vẫn khác nhau: đây là lỗi của gocua, hãy báo cho nhóm phát triển."
                .into()
        }
        (Lang::Vi, CliError::Demo(m)) => format!("không chạy được máy chủ của bản trình diễn: {m}"),
        (Lang::En, CliError::Demo(m)) => format!("the demo's server could not run: {m}"),
        (Lang::Vi, CliError::ServerMissing { looked }) => format!(
            "không tìm thấy chương trình gocua-server (đã tìm ở: {}). Bản trình diễn chạy nó làm máy chủ đồng bộ. Trong mã nguồn gocua, hãy dựng nó cùng chế độ với gocua rồi chạy lại: `cargo build -p gocua-server && cargo run -p gocua-cli -- demo` (thêm --release vào cả hai lệnh nếu dùng bản --release); hoặc chỉ ra tệp bằng --server-bin TỆP (biến GOCUA_SERVER_BIN).",
            looked.join(", ")
        ),
        (Lang::En, CliError::ServerMissing { looked }) => format!(
            "no gocua-server program found (looked in: {}). The demo runs it as its sync server. In gocua's source tree, build it in the same profile as gocua and run again: `cargo build -p gocua-server && cargo run -p gocua-cli -- demo` (add --release to both for a release build); or point to it with --server-bin FILE (variable GOCUA_SERVER_BIN).",
            looked.join(", ")
        ),
        (Lang::En, CliError::Diverged) => {
            "the devices exchanged every change and still differ: this is a bug in gocua, please report it."
                .into()
        }
        (_, CliError::ReportInput { option, value }) => report_input(lang, *option, value),
        (
            _,
            CliError::Unreachable {
                url,
                attempts,
                during,
                pending,
            },
        ) => server::unreachable(lang, url, *attempts, *during, *pending),
        (_, CliError::AlreadyEnrolled { server }) => server::already_enrolled(lang, server),
        (_, CliError::About { what, error }) => format!("{what}: {}", error_message(lang, error)),
        (_, CliError::LegacyCommune {
            code,
            name,
            successors,
        }) => legacy_commune(lang, code, name, successors),
    }
}

/// A number and its noun: Vietnamese nouns do not change with the number
/// (`vi` may be empty), English ones do.
pub fn plural(lang: Lang, n: u64, vi: &str, one: &str, many: &str) -> String {
    match lang {
        Lang::Vi if vi.is_empty() => n.to_string(),
        Lang::Vi => format!("{n} {vi}"),
        Lang::En => format!("{n} {}", if n == 1 { one } else { many }),
    }
}

/// A commune code of the list before the 2025 reform, with the codes in force.
fn legacy_commune(
    lang: Lang,
    code: &str,
    name: &str,
    successors: &[(String, String, String)],
) -> String {
    let now: Vec<String> = successors
        .iter()
        .map(|(c, n, p)| format!("{c} ({n}, {p})"))
        .collect();
    match (lang, now.len()) {
        (Lang::Vi, 0) => format!(
            "{code} là mã của {name} theo danh mục trước ngày 01/07/2025, nay không còn hiệu lực: tìm mã mới theo tên bằng `gocua catalogue communes TÊN`."
        ),
        (Lang::En, 0) => format!(
            "{code} is the code of {name} on the list before 1 July 2025, no longer in force: find the code in force by name with `gocua catalogue communes NAME`."
        ),
        (Lang::Vi, 1) => format!(
            "{code} là mã của {name} theo danh mục trước ngày 01/07/2025; nay thuộc {}: hãy dùng --commune {}.",
            now.join(""),
            successors.first().map(|s| s.0.as_str()).unwrap_or_default()
        ),
        (Lang::En, 1) => format!(
            "{code} is the code of {name} on the list before 1 July 2025; it is now part of {}: use --commune {}.",
            now.join(""),
            successors.first().map(|s| s.0.as_str()).unwrap_or_default()
        ),
        (Lang::Vi, _) => format!(
            "{code} là mã của {name} theo danh mục trước ngày 01/07/2025; nay được chia cho: {}. Hãy dùng mã của xã/phường nơi máy làm việc.",
            now.join("; ")
        ),
        (Lang::En, _) => format!(
            "{code} is the code of {name} on the list before 1 July 2025; it was divided between: {}. Use the code of the commune this device works in.",
            now.join("; ")
        ),
    }
}

fn report_input(lang: Lang, option: ReportOption, value: &str) -> String {
    use ReportOption as O;
    match (lang, option) {
        (Lang::Vi, O::Period) => format!(
            "--period {value:?} không phải kỳ báo cáo: viết NĂM-THÁNG, ví dụ 2026-11 (kỳ mang tên tháng nó kết thúc)."
        ),
        (Lang::En, O::Period) => format!(
            "--period {value:?} is not a reporting period: write YEAR-MONTH, e.g. 2026-11 (a period is named after the month it ends in)."
        ),
        (Lang::Vi, O::PeriodsStartDay) => format!(
            "--periods-start-day {value:?} không hợp lệ: ngày bắt đầu kỳ là một số từ 1 (tháng dương lịch) đến 28, ví dụ 15."
        ),
        (Lang::En, O::PeriodsStartDay) => format!(
            "--periods-start-day {value:?} is not valid: periods start on a day from 1 (calendar months) to 28, e.g. 15."
        ),
        (Lang::Vi, O::Level) => format!(
            "--level {value:?} không phải cấp báo cáo: chọn `team` (tổ), `village` (thôn), `commune` (xã), `province` (tỉnh) hoặc `national` (toàn quốc)."
        ),
        (Lang::En, O::Level) => format!(
            "--level {value:?} is not a report level: choose team, village, commune, province or national."
        ),
        (Lang::Vi, O::Format) => {
            format!("--format {value:?} không phải định dạng: chọn `table` (bảng) hoặc `json`.")
        }
        (Lang::En, O::Format) => {
            format!("--format {value:?} is not a format: choose table or json.")
        }
        (Lang::Vi, O::Today) => {
            format!("--today {value:?} không phải ngày: viết NĂM-THÁNG-NGÀY, ví dụ 2026-11-20.")
        }
        (Lang::En, O::Today) => {
            format!("--today {value:?} is not a day: write YEAR-MONTH-DAY, e.g. 2026-11-20.")
        }
        (Lang::Vi, O::Pii) => format!(
            "--pii {value:?} không phải mức dữ liệu cá nhân: chọn `pseudonymized` (bí danh thay cho tên, điện thoại, số định danh), `none` (chỉ tiêu tổng hợp, dạng bảng tính) hoặc `full` (chỉ trên máy chủ)."
        ),
        (Lang::En, O::Pii) => format!(
            "--pii {value:?} is not a personal-data level: choose pseudonymized (pseudonyms instead of names, phones and ID numbers), none (the indicators, as a spreadsheet) or full (on the server machine only)."
        ),
        (Lang::Vi, O::IndicatorsOnly) => format!(
            "{value} chỉ dùng cho chỉ tiêu (--pii none hoặc --format json); dữ liệu từng hộ gồm mọi kỳ."
        ),
        (Lang::En, O::IndicatorsOnly) => format!(
            "{value} is for the indicators (--pii none or --format json); a record-level extract holds every period."
        ),
        (Lang::Vi, O::IndicatorsFormat) => format!(
            "--format {value:?}: với --pii none, chỉ tiêu có dạng `csv`, `xlsx` (bảng tính) hoặc `json`; `jsonl` chỉ dành cho dữ liệu từng hộ."
        ),
        (Lang::En, O::IndicatorsFormat) => format!(
            "--format {value:?}: with --pii none the indicators come as csv, xlsx (a spreadsheet) or json; jsonl is for record-level extracts."
        ),
        (Lang::Vi, O::ExportFormat) => format!(
            "--format {value:?} không phải định dạng: chọn `json` (chỉ tiêu), `csv`, `xlsx` hoặc `jsonl` (dữ liệu từng hộ)."
        ),
        (Lang::En, O::ExportFormat) => format!(
            "--format {value:?} is not a format: choose json (the indicators), csv, xlsx or jsonl (record-level)."
        ),
    }
}

/// `catalogue communes` found nothing.
pub fn no_commune(lang: Lang, query: &str) -> String {
    match lang {
        Lang::Vi => format!(
            "Không có xã/phường nào có tên \"{query}\" trong danh mục từ 01/07/2025: thử ít chữ hơn (ví dụ chỉ tên riêng), có dấu hay không dấu đều được."
        ),
        Lang::En => format!(
            "No commune named \"{query}\" on the list in force since 1 July 2025: try fewer words (e.g. the proper name only), with or without diacritics."
        ),
    }
}

/// Said after `gocua export` wrote its file.
pub fn exported(lang: Lang, path: &str, bytes: u64, cursor: Option<u64>) -> String {
    let next = |vi: bool| match cursor {
        Some(c) if vi => format!(" Lần sau, để chỉ lấy phần thay đổi: --since {c}"),
        Some(c) => format!(" Next time, for what changed only: --since {c}"),
        None => String::new(),
    };
    match lang {
        Lang::Vi => format!("Đã tải {bytes} byte vào {path}.{}", next(true)),
        Lang::En => format!("Downloaded {bytes} bytes to {path}.{}", next(false)),
    }
}

// ---- messages of successful commands ----

pub fn initialized(
    lang: Lang,
    volunteer: &str,
    team: &str,
    commune: &str,
    province: &str,
) -> String {
    match lang {
        Lang::Vi => format!(
            "Đã thiết lập máy cho tình nguyện viên {volunteer}, {team}, {commune} ({province})."
        ),
        Lang::En => {
            format!("Device set up for volunteer {volunteer}, {team}, {commune} ({province}).")
        }
    }
}

pub fn household_added(lang: Lang, short: &str, head: &str) -> String {
    match lang {
        Lang::Vi => format!("Đã thêm hộ {short}: {head}"),
        Lang::En => format!("Household {short} added: {head}"),
    }
}

pub fn household_saved(lang: Lang, short: &str, head: &str) -> String {
    match lang {
        Lang::Vi => format!("Đã lưu hộ {short}: {head}"),
        Lang::En => format!("Household {short} saved: {head}"),
    }
}

pub fn member_saved(lang: Lang, short: &str, name: &str) -> String {
    match lang {
        Lang::Vi => format!("Đã lưu thành viên {short}: {name}"),
        Lang::En => format!("Member {short} saved: {name}"),
    }
}

pub fn visit_recorded(lang: Lang, short: &str, when: &str) -> String {
    match lang {
        Lang::Vi => format!("Đã ghi lượt hỗ trợ {short} lúc {when}"),
        Lang::En => format!("Visit {short} recorded at {when}"),
    }
}

pub fn member_removed(lang: Lang, short: &str, name: &str, removed: bool) -> String {
    match (lang, removed) {
        (Lang::Vi, true) => format!("Đã ghi thành viên {short} ({name}) không còn trong hộ"),
        (Lang::En, true) => format!("Member {short} ({name}) removed from the household"),
        (Lang::Vi, false) => format!("Đã đưa thành viên {short} ({name}) trở lại hộ"),
        (Lang::En, false) => format!("Member {short} ({name}) is in the household again"),
    }
}

pub fn visit_edited(lang: Lang, short: &str) -> String {
    match lang {
        Lang::Vi => format!("Đã sửa lượt hỗ trợ {short}"),
        Lang::En => format!("Visit {short} corrected"),
    }
}

pub fn visit_cancelled(lang: Lang, short: &str, cancelled: bool) -> String {
    match (lang, cancelled) {
        (Lang::Vi, true) => {
            format!("Đã hủy lượt hỗ trợ {short}: vẫn giữ trong lịch sử, không tính vào số liệu")
        }
        (Lang::En, true) => {
            format!("Visit {short} cancelled: kept in the history, out of every count")
        }
        (Lang::Vi, false) => format!("Đã khôi phục lượt hỗ trợ {short}"),
        (Lang::En, false) => format!("Visit {short} restored"),
    }
}

pub fn household_in_error(lang: Lang, short: &str, head: &str, marked: bool) -> String {
    match (lang, marked) {
        (Lang::Vi, true) => format!(
            "Đã đánh dấu hộ {short} ({head}) là đăng ký nhầm: không còn trong danh sách và số liệu"
        ),
        (Lang::En, true) => format!(
            "Household {short} ({head}) marked as registered in error: out of every list and count"
        ),
        (Lang::Vi, false) => format!("Đã bỏ đánh dấu đăng ký nhầm của hộ {short} ({head})"),
        (Lang::En, false) => {
            format!("Household {short} ({head}) is no longer marked as registered in error")
        }
    }
}

/// A merge made: which household went into which, and the people found to
/// be the same.
pub fn household_merged(
    lang: Lang,
    from: &str,
    into: &str,
    head: &str,
    members: usize,
    visits: usize,
    same: usize,
) -> String {
    match lang {
        Lang::Vi => format!(
            "Đã gộp hộ {from} vào hộ {into} ({head}): nay có {members} thành viên, {visits} lượt hỗ trợ; {same} người trùng tên và năm sinh được tính là một. Hoàn tác: gocua household merge {from} --undo"
        ),
        Lang::En => format!(
            "Household {from} merged into {into} ({head}): now {}, {}; {} with the same name and birth year counted once. To undo: gocua household merge {from} --undo",
            plural(lang, members as u64, "", "member", "members"),
            plural(lang, visits as u64, "", "visit", "visits"),
            plural(lang, same as u64, "", "person", "people"),
        ),
    }
}

/// A merge undone.
pub fn household_unmerged(
    lang: Lang,
    id: &str,
    head: &str,
    members: usize,
    visits: usize,
) -> String {
    match lang {
        Lang::Vi => format!(
            "Đã tách hộ {id} ({head}) ra như cũ: {members} thành viên, {visits} lượt hỗ trợ"
        ),
        Lang::En => format!(
            "Household {id} ({head}) separated again: {}, {}",
            plural(lang, members as u64, "", "member", "members"),
            plural(lang, visits as u64, "", "visit", "visits"),
        ),
    }
}

/// A household merged into the one shown: when and by whom.
pub fn absorbed(lang: Lang, id: &str, head: &str, at: &str, by: &str) -> String {
    let when = crate::output::local_time(at);
    match lang {
        Lang::Vi => format!("Đã gộp vào đây: hộ {id} ({head}), bởi {by} lúc {when}"),
        Lang::En => format!("Merged into this one: household {id} ({head}), by {by} at {when}"),
    }
}

/// Who made a correction, when and why: "bởi X lúc Y: lý do".
/// `by` is the corrector as shown: this device's volunteer by name, others by
/// short id (a device knows no other volunteer's name).
pub fn corrected(lang: Lang, what: T, c: &field_core::Correction, by: &str) -> String {
    let when = crate::output::local_time(&c.at);
    let mut s = match lang {
        Lang::Vi => format!("{} lúc {when}, bởi {by}", t(lang, what)),
        Lang::En => format!("{} at {when}, by {by}", t(lang, what)),
    };
    if let Some(r) = &c.reason {
        s.push_str(&format!(": {r}"));
    }
    s
}

pub fn refused_fixed(lang: Lang, short: &str, head: &str) -> String {
    match lang {
        Lang::Vi => format!("Đã chuyển hộ {short} ({head}) sang thôn đã chọn; đồng bộ để gửi đi"),
        Lang::En => {
            format!("Household {short} ({head}) moved to the chosen village; sync to send it")
        }
    }
}

pub fn refused_discarded(lang: Lang, short: &str, changes: usize, kept: bool) -> String {
    match (lang, kept) {
        (Lang::Vi, true) => format!("Đã bỏ {changes} thay đổi bị từ chối của hộ {short}"),
        (Lang::En, true) => format!("Dropped {changes} refused changes of household {short}"),
        (Lang::Vi, false) => format!(
            "Đã bỏ {changes} thay đổi bị từ chối; máy chủ chưa từng có hộ {short} nên hộ không còn trên máy này"
        ),
        (Lang::En, false) => format!(
            "Dropped {changes} refused changes; the server never had household {short}, so it has left this device"
        ),
    }
}

pub fn consent_recorded(lang: Lang, short: &str) -> String {
    match lang {
        Lang::Vi => format!("Đã ghi sự đồng ý {short}"),
        Lang::En => format!("Consent {short} recorded"),
    }
}

pub fn consent_withdrawn(lang: Lang, short: &str) -> String {
    match lang {
        Lang::Vi => format!("Đã ghi việc rút lại sự đồng ý {short}"),
        Lang::En => format!("Consent {short} withdrawn"),
    }
}

pub fn doc_exported(lang: Lang, short: &str, path: &str) -> String {
    match lang {
        Lang::Vi => format!("Đã ghi tài liệu của hộ {short} vào {path}"),
        Lang::En => format!("Document of household {short} written to {path}"),
    }
}

pub fn changes_imported(lang: Lang, docs: u64, applied: u64, known: u64, conflicts: u64) -> String {
    match lang {
        Lang::Vi => format!(
            "Đã nhận {applied} thay đổi mới cho {docs} hộ ({known} thay đổi đã có); xung đột: {conflicts}."
        ),
        Lang::En => format!(
            "{} applied to {} ({known} already known); conflicts: {conflicts}.",
            plural(lang, applied, "", "new change", "new changes"),
            plural(lang, docs, "", "household", "households")
        ),
    }
}

/// Said after an import or a sync that set changes aside, with what to do.
pub fn changes_quarantined(lang: Lang, n: u64) -> String {
    match lang {
        Lang::Vi => format!(
            "{n} thay đổi nhận được đã bị cách ly vì không áp dụng được (bị hỏng hoặc bị làm giả); dữ liệu còn lại vẫn được ghi. Hãy báo cho tổ trưởng hoặc cán bộ quản trị (xem `gocua changes quarantined`)."
        ),
        Lang::En => format!(
            "{} quarantined because {} not be applied (damaged or crafted); everything else was recorded. Please report it to your team leader or operator (see `gocua changes quarantined`).",
            if n == 1 {
                "1 received change was".to_string()
            } else {
                format!("{n} received changes were")
            },
            if n == 1 { "it could" } else { "they could" }
        ),
    }
}

/// Said after a sync in which the server set aside some of this device's own
/// changes (it could not apply them: damaged or crafted); the server lists them
/// for its operator.
pub fn quarantined_by_server(lang: Lang, n: u64) -> String {
    match lang {
        Lang::Vi => format!(
            "Máy chủ đã để riêng {n} thay đổi của máy này vì bị hỏng (không áp dụng được); các thay đổi khác vẫn được lưu. Cán bộ quản trị máy chủ đã được báo."
        ),
        Lang::En => format!(
            "The server set aside {} as damaged (could not be applied); the others were stored. The server's operator has been told.",
            if n == 1 {
                "1 of this device's changes".to_string()
            } else {
                format!("{n} of this device's changes")
            }
        ),
    }
}

/// Said when the store found it is a copy of itself (restored from a backup,
/// or cloned) and took a new Automerge actor; `reissued` of its changes were
/// made again under it so that no two changes share a number.
pub fn store_copy_recognized(lang: Lang, reissued: u64) -> String {
    match (lang, reissued) {
        (Lang::Vi, 0) => "Dữ liệu trên máy này là một bản sao (khôi phục từ bản sao lưu hoặc chép từ máy khác): từ giờ các thay đổi mới được ghi dưới một tên mới để không trùng với bản gốc. Không mất dữ liệu nào.".to_string(),
        (Lang::Vi, n) => format!(
            "Dữ liệu trên máy này là một bản sao (khôi phục từ bản sao lưu hoặc chép từ máy khác): {n} thay đổi của máy đã được ghi lại dưới một tên mới để không trùng với bản gốc. Không mất dữ liệu nào."
        ),
        (Lang::En, 0) => "This device's data is a copy (restored from a backup, or copied from another device): its new changes are now recorded under a new name so that they do not clash with the original's. Nothing was lost.".to_string(),
        (Lang::En, 1) => "This device's data is a copy (restored from a backup, or copied from another device): 1 of its changes was recorded again under a new name so that it does not clash with the original's. Nothing was lost.".to_string(),
        (Lang::En, n) => format!(
            "This device's data is a copy (restored from a backup, or copied from another device): {n} of its changes were recorded again under a new name so that they do not clash with the original's. Nothing was lost."
        ),
    }
}

/// Said when the server was restored from a backup older than this
/// device's last sync: the device downloaded again and sent back what the
/// server had lost.
pub fn server_restored(lang: Lang, offered_again: u64) -> String {
    match lang {
        Lang::Vi => format!(
            "Máy chủ đã được khôi phục từ một bản sao lưu cũ hơn lần đồng bộ trước của máy này: máy đã tải lại dữ liệu và gửi lại {offered_again} thay đổi mà máy chủ bị mất. Không mất dữ liệu nào trên máy."
        ),
        Lang::En => format!(
            "The server was restored from a backup older than this device's last sync: the device downloaded again and sent back {} the server had lost. Nothing on this device was lost.",
            plural(lang, offered_again, "", "change", "changes")
        ),
    }
}

/// Said when the operator gave this device's team more villages.
pub fn villages_gained(lang: Lang, names: &[String]) -> String {
    let names = names.join(", ");
    match lang {
        Lang::Vi => format!("Đội của bạn được giao thêm thôn: {names}. Từ giờ có thể ghi hộ ở đó."),
        Lang::En => {
            format!("Your team now also serves: {names}. Households can be recorded there now.")
        }
    }
}

/// Said when this device's team no longer serves some villages.
pub fn villages_lost(lang: Lang, names: &[String]) -> String {
    let names = names.join(", ");
    match lang {
        Lang::Vi => format!(
            "Đội của bạn không còn phụ trách thôn: {names}. Các hộ đã ghi ở đó vẫn còn trên máy, nhưng không ghi thêm được."
        ),
        Lang::En => format!(
            "Your team no longer serves: {names}. The households recorded there stay on this device, but no more can be recorded."
        ),
    }
}

/// Said when received changes wait for earlier ones that have not arrived.
pub fn changes_waiting(lang: Lang, n: u64) -> String {
    match lang {
        Lang::Vi => format!(
            "{n} thay đổi đang chờ các thay đổi trước nó; chúng sẽ được áp dụng khi nhận đủ."
        ),
        Lang::En => format!(
            "{} for earlier changes; {} applied once those arrive.",
            if n == 1 {
                "1 change waits".to_string()
            } else {
                format!("{n} changes wait")
            },
            if n == 1 { "it is" } else { "they are" }
        ),
    }
}

/// Who a quarantined change came from.
pub fn origin(lang: Lang, origin: &str) -> String {
    let pair = match origin {
        "peer" => ("máy khác (tệp)", "another device (file)"),
        "server" => ("máy chủ", "the server"),
        other => return other.to_string(),
    };
    lang.pick(pair.0, pair.1).to_string()
}

pub fn sync_done(
    lang: Lang,
    sent: u64,
    already: u64,
    received: u64,
    households: u64,
    bootstrapped: bool,
    pending: i64,
) -> String {
    match lang {
        Lang::Vi => format!(
            "Đồng bộ xong: gửi {sent} thay đổi ({already} máy chủ đã có), nhận {received} thay đổi của {households} hộ{}; còn chờ gửi: {pending}.",
            if bootstrapped {
                " (tải ban đầu)"
            } else {
                ""
            },
        ),
        Lang::En => format!(
            "Sync done: sent {} ({already} already on the server), received {} of {}{}; still to send: {pending}.",
            plural(lang, sent, "", "change", "changes"),
            plural(lang, received, "", "change", "changes"),
            plural(lang, households, "", "household", "households"),
            if bootstrapped {
                " (first download)"
            } else {
                ""
            },
        ),
    }
}

pub fn changes_exported(lang: Lang, bytes: usize, path: &str) -> String {
    match lang {
        Lang::Vi => format!("Đã ghi các thay đổi ({bytes} byte) vào {path}"),
        Lang::En => format!("Changes ({bytes} bytes) written to {path}"),
    }
}

pub fn heads_written(lang: Lang, docs: usize, path: &str) -> String {
    match lang {
        Lang::Vi => format!("Đã ghi trạng thái của {docs} hộ vào {path}"),
        Lang::En => format!(
            "State of {} written to {path}",
            plural(lang, docs as u64, "", "household", "households")
        ),
    }
}

pub fn conflict_resolved(lang: Lang, path: &str, value: &str) -> String {
    match lang {
        Lang::Vi => format!("Đã giữ giá trị \"{value}\" cho trường {path}."),
        Lang::En => format!("Kept \"{value}\" at {path}."),
    }
}

pub fn rebuilt(lang: Lang, n: u64) -> String {
    match lang {
        Lang::Vi => format!("Đã dựng lại bảng tra cứu từ {n} tài liệu."),
        Lang::En => format!(
            "Rebuilt the lookup tables from {}.",
            plural(lang, n, "", "document", "documents")
        ),
    }
}

// ---- gocua report ----

/// The labels of `gocua report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum R {
    Indicator,
    InPeriod,
    ToDate,
    LevelTeam,
    LevelVillage,
    LevelCommune,
    LevelProvince,
    LevelNational,
    Nationwide,
    UnknownUnit,
    OtherUnit,
    HouseholdsRegistered,
    HouseholdsVisited,
    Reached,
    Visits,
    VisitsBy,
    PeopleSupported,
    FeaturePhonesReplaced,
    Persons,
    Smartphone,
    DigitalCitizens,
    Target,
    FollowUpsDue,
    FollowUpsOverdue,
    VillagesWithTeam,
    Teams,
    Volunteers,
    ToReview,
    Unreadable,
}

pub fn r(lang: Lang, label: R) -> &'static str {
    use gocua_report::{Derived as D, Indicator as I};
    // Figures are named by gocua-report, as the server's spreadsheets name them.
    let figure = |l: gocua_report::Label| lang.pick(l.vi, l.en);
    let (vi, en) = match label {
        R::Indicator => ("Chỉ tiêu", "Indicator"),
        R::InPeriod => ("Trong kỳ", "In period"),
        R::ToDate => ("Lũy kế / hiện tại", "To date / now"),
        R::LevelTeam => ("tổ", "team"),
        R::LevelVillage => ("thôn", "village"),
        R::LevelCommune => ("xã/phường", "commune"),
        R::LevelProvince => ("tỉnh/thành phố", "province"),
        R::LevelNational => ("toàn quốc", "national"),
        R::Nationwide => ("Toàn quốc", "Nationwide"),
        R::UnknownUnit => ("Không rõ đơn vị", "Unknown unit"),
        R::OtherUnit => ("Đơn vị khác", "Other unit"),
        R::HouseholdsRegistered => return figure(I::HouseholdsRegistered.label()),
        R::HouseholdsVisited => return figure(I::HouseholdsVisited.label()),
        R::Reached => ("Tỷ lệ hộ được hỗ trợ", "Households reached"),
        R::Visits => return figure(I::Visits.label()),
        R::VisitsBy => ("Lượt hỗ trợ của", "Visits by"),
        R::PeopleSupported => return figure(I::PeopleSupported.label()),
        R::FeaturePhonesReplaced => return figure(D::FeaturePhonesReplaced.label()),
        R::Persons => return figure(I::Persons.label()),
        R::Smartphone => (
            "Hộ có điện thoại thông minh",
            "Households with a smartphone",
        ),
        R::DigitalCitizens => return figure(D::DigitalCitizensShare.label()),
        R::Target => ("mục tiêu", "target"),
        R::FollowUpsDue => return figure(D::FollowUpsDue.label()),
        R::FollowUpsOverdue => return figure(D::FollowUpsOverdue.label()),
        R::VillagesWithTeam => ("Thôn có tổ / tổng số thôn", "Villages with a team / all"),
        R::Teams => return figure(D::Teams.label()),
        R::Volunteers => return figure(D::Volunteers.label()),
        R::ToReview => ("Cần xem lại", "To review"),
        R::Unreadable => ("Hồ sơ không đọc được", "Unreadable records"),
    };
    lang.pick(vi, en)
}

pub fn report_heading(
    lang: Lang,
    period: &str,
    first: &str,
    last: &str,
    level: &str,
    today: &str,
) -> String {
    match lang {
        Lang::Vi => {
            format!("Báo cáo kỳ {period} (từ {first} đến {last}), cấp {level}, lập ngày {today}")
        }
        Lang::En => {
            format!("Report for period {period} ({first} to {last}), by {level}, made on {today}")
        }
    }
}

/// An account's name, with the yes/asked pair the table shows for it.
pub fn account(lang: Lang, account: gocua_report::Account) -> String {
    let name = account.label();
    match lang {
        Lang::Vi => format!("{} (có/đã hỏi)", name.vi),
        Lang::En => format!("{} (yes/asked)", name.en),
    }
}

pub fn review_reason(lang: Lang, reason: gocua_report::ReviewReason) -> &'static str {
    let l = reason.label();
    lang.pick(l.vi, l.en)
}

// ---- search, import, duplicates ----

/// Labels of search results and duplicate lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindText {
    MatchedIn,
    MatchedHead,
    MatchedMember,
    MatchedAddress,
    MatchedPhone,
    MatchedSeveral,
    Score,
    Reasons,
    HouseholdA,
    HouseholdB,
    NearCertain,
    NoDuplicates,
    MergeHint,
    Checking,
    Writing,
}

pub fn find_text(lang: Lang, label: FindText) -> &'static str {
    let (vi, en) = match label {
        FindText::MatchedIn => ("Khớp ở", "Matched in"),
        FindText::MatchedHead => ("chủ hộ", "head"),
        FindText::MatchedMember => ("thành viên", "member"),
        FindText::MatchedAddress => ("địa chỉ", "address"),
        FindText::MatchedPhone => ("số điện thoại", "phone"),
        FindText::MatchedSeveral => ("nhiều chỗ", "several places"),
        FindText::Score => ("Điểm", "Score"),
        FindText::Reasons => ("Lý do", "Reasons"),
        FindText::HouseholdA => ("Hộ", "Household"),
        FindText::HouseholdB => ("Có thể trùng với", "May be the same as"),
        FindText::NearCertain => ("gần như chắc chắn", "near-certain"),
        FindText::MergeHint => (
            "Nếu đúng là một hộ: gocua household merge MÃ_HỘ_TRÙNG MÃ_HỘ_GIỮ (hoàn tác được bằng --undo).",
            "If they are one household: gocua household merge DUPLICATE KEPT (undone with --undo).",
        ),
        FindText::NoDuplicates => (
            "Không có cặp hộ nào nghi trùng.",
            "No households look like duplicates.",
        ),
        FindText::Checking => ("Kiểm tra", "Checking"),
        FindText::Writing => ("Ghi", "Writing"),
    };
    lang.pick(vi, en)
}

/// Said under search results cut by the limit.
pub fn search_more(lang: Lang, shown: usize, total: u64) -> String {
    match lang {
        Lang::Vi => format!(
            "Hiện {shown} trong {total} hộ tìm thấy; xem thêm bằng --limit {total}, hoặc thêm từ để tìm hẹp hơn."
        ),
        Lang::En => format!(
            "Showing {shown} of {total} households found; use --limit {total} for all, or add words to narrow the search."
        ),
    }
}

/// Said when only matches inside words were found.
pub fn search_inside_words(lang: Lang) -> &'static str {
    lang.pick(
        "Không hộ nào có từ bắt đầu như đã gõ; đây là các hộ có chuỗi đó ở giữa từ.",
        "No household has a word starting as typed; these hold it inside a word.",
    )
}

/// Why two households may be one, in words.
pub fn reasons(lang: Lang, reasons: &[field_core::duplicates::Reason]) -> String {
    use field_core::duplicates::Reason;
    reasons
        .iter()
        .map(|r| match (lang, r) {
            (Lang::Vi, Reason::SamePhone) => "cùng số điện thoại".to_string(),
            (Lang::En, Reason::SamePhone) => "same phone".to_string(),
            (Lang::Vi, Reason::SameHeadName) => "cùng tên chủ hộ".to_string(),
            (Lang::En, Reason::SameHeadName) => "same head name".to_string(),
            (Lang::Vi, Reason::SameMembers { count }) => {
                format!("{count} thành viên cùng tên và năm sinh")
            }
            (Lang::En, Reason::SameMembers { count: 1 }) => {
                "1 member with the same name and birth year".to_string()
            }
            (Lang::En, Reason::SameMembers { count }) => {
                format!("{count} members with the same names and birth years")
            }
            (Lang::Vi, Reason::SameAddress) => "cùng địa chỉ".to_string(),
            (Lang::En, Reason::SameAddress) => "same address".to_string(),
            (Lang::Vi, Reason::SimilarAddress) => "địa chỉ gần giống".to_string(),
            (Lang::En, Reason::SimilarAddress) => "similar address".to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn candidate_text(lang: Lang, c: &field_core::DuplicateCandidate) -> String {
    let h = &c.household;
    let score = match lang {
        Lang::Vi => format!("điểm {}/100", c.score),
        Lang::En => format!("score {}/100", c.score),
    };
    format!(
        "{} {} ({}; {score})",
        crate::output::short(&h.id),
        h.head_name,
        reasons(lang, &c.reasons)
    )
}

/// `household add` refused: the village near-certainly has the household.
pub fn likely_duplicate(lang: Lang, c: &field_core::DuplicateCandidate) -> String {
    let short = crate::output::short(&c.household.id);
    match lang {
        Lang::Vi => format!(
            "hộ này gần như chắc chắn đã có: {}. Chưa thêm gì. Xem lại bằng `gocua household show {short}`; nếu đúng là một hộ khác, chạy lại lệnh với --van-them (--insist).",
            candidate_text(lang, c)
        ),
        Lang::En => format!(
            "this household is near-certainly here already: {}. Nothing was added. Check with `gocua household show {short}`; if it really is another household, run the command again with --insist (--van-them).",
            candidate_text(lang, c)
        ),
    }
}

/// Said after `household add` when households of the village may be the same.
pub fn maybe_duplicates(lang: Lang, candidates: &[field_core::DuplicateCandidate]) -> Vec<String> {
    let mut lines = vec![
        lang.pick(
            "Lưu ý: hộ vừa thêm có thể trùng với:",
            "Note: the household just added may be the same as:",
        )
        .to_string(),
    ];
    for c in candidates {
        lines.push(format!("  {}", candidate_text(lang, c)));
    }
    lines.push(
        lang.pick(
            "Xem các cặp nghi trùng bằng `gocua duplicates`.",
            "See the candidate pairs with `gocua duplicates`.",
        )
        .to_string(),
    );
    lines
}

/// An import line whose household is already in the store.
pub fn import_duplicate(lang: Lang, line: usize, c: &field_core::DuplicateCandidate) -> String {
    match lang {
        Lang::Vi => format!(
            "Dòng {line}: không thêm, hộ đã có: {} (nếu đúng là hộ khác, nhập lại với --van-them)",
            candidate_text(lang, c)
        ),
        Lang::En => format!(
            "Line {line}: not added, the household is already here: {} (if it really is another, import again with --insist)",
            candidate_text(lang, c)
        ),
    }
}

/// A line imported although a household of the village is near-certainly it.
pub fn import_insisted(lang: Lang, line: usize, c: &field_core::DuplicateCandidate) -> String {
    match lang {
        Lang::Vi => format!(
            "Dòng {line}: đã thêm theo yêu cầu, dù có thể trùng với: {} (gộp bằng gocua household merge nếu là một hộ)",
            candidate_text(lang, c)
        ),
        Lang::En => format!(
            "Line {line}: added as asked, though it may be: {} (merge with gocua household merge if they are one)",
            candidate_text(lang, c)
        ),
    }
}

/// The end of an import.
pub fn import_summary(lang: Lang, stored: usize, already: usize, duplicates: usize) -> String {
    match lang {
        Lang::Vi => format!(
            "Đã nhập {stored} hộ mới; {already} hộ đã nhập từ trước; {duplicates} hộ bỏ qua vì đã có trong máy."
        ),
        Lang::En => format!(
            "{stored} new households imported; {already} imported before; {duplicates} skipped as already here."
        ),
    }
}

fn import_stopped(lang: Lang, path: &str, line: usize, stored: usize, error: &str) -> String {
    match lang {
        Lang::Vi => format!(
            "tệp {path}, dòng {line}: không ghi được: {error}. Đã ghi trọn vẹn {stored} hộ mới của các dòng trước; các dòng từ dòng {line} chưa được ghi. Khắc phục rồi chạy lại cùng lệnh (các dòng đã nhập được bỏ qua), hoặc thêm --from-line {line}."
        ),
        Lang::En => format!(
            "{path}, line {line}: could not be written: {error}. {stored} new households of the lines before it are stored, whole; the lines from {line} on are not. Fix the cause and run the same command again (lines imported already are skipped), or add --from-line {line}."
        ),
    }
}

// ---- gocua todo, gocua summary, the services to offer next ----

/// The labels of the to-do list, the work summary and the suggestions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum W {
    NothingToDo,
    NeverVisited,
    OfferNext,
    Visits,
    HouseholdsVisited,
    PeopleHelped,
    Minutes,
    FollowUpsSet,
    FollowUpsSettled,
    FollowUpsOpen,
    ByServiceAndOutcome,
    NoServicesGiven,
    Service,
    Outcome,
    Count,
    Number,
    Figure,
    SuggestionRules,
    Applies,
    Everyone,
}

pub fn w(lang: Lang, label: W) -> &'static str {
    let (vi, en) = match label {
        W::NothingToDo => (
            "Không còn hộ nào cần đến: không có hẹn đến hạn hay quá hạn, mọi hộ đã được hỗ trợ trong kỳ này.",
            "Nothing to do: no follow-up due or overdue, every household visited this period.",
        ),
        W::NeverVisited => ("Chưa được hỗ trợ lần nào", "Never visited"),
        W::OfferNext => ("Nên hỗ trợ tiếp", "Services to offer next"),
        W::Visits => ("Lượt hỗ trợ", "Visits"),
        W::HouseholdsVisited => ("Hộ được hỗ trợ", "Households visited"),
        W::PeopleHelped => ("Người được hỗ trợ", "People helped"),
        W::Minutes => ("Thời gian hỗ trợ (phút)", "Time spent (minutes)"),
        W::FollowUpsSet => ("Hẹn quay lại đã đặt", "Follow-ups set"),
        W::FollowUpsSettled => ("Hẹn quay lại đã thực hiện", "Follow-ups settled"),
        W::FollowUpsOpen => (
            "Hẹn quay lại còn chờ (của các lượt này)",
            "Follow-ups still open (of these visits)",
        ),
        W::ByServiceAndOutcome => ("Theo dịch vụ và kết quả", "By service and outcome"),
        W::NoServicesGiven => (
            "Chưa có dịch vụ nào trong kỳ.",
            "No services in this period.",
        ),
        W::Service => ("Dịch vụ", "Service"),
        W::Outcome => ("Kết quả", "Outcome"),
        W::Count => ("Số lượt", "Visits"),
        W::Number => ("Số lượng", "Number"),
        W::Figure => ("Chỉ số", "Figure"),
        W::SuggestionRules => (
            "Quy tắc gợi ý dịch vụ nên hỗ trợ tiếp",
            "Rules of the services to offer next",
        ),
        W::Applies => ("Áp dụng khi", "Applies when"),
        W::Everyone => ("mọi hộ", "every household"),
    };
    lang.pick(vi, en)
}

/// The to-do list's first line: the day, the period, how many of each.
pub fn todo_heading(
    lang: Lang,
    today: &str,
    period_first_day: &str,
    counts: &field_core::work::TodoCounts,
) -> String {
    let c = counts;
    match lang {
        Lang::Vi => format!(
            "Việc cần làm ngày {today} (kỳ từ {period_first_day}): {} quá hạn, {} đến hạn hôm nay, {} chưa hỗ trợ lần nào, {} chưa hỗ trợ trong kỳ này.",
            c.overdue, c.due, c.never_visited, c.not_visited_this_period
        ),
        Lang::En => format!(
            "To do on {today} (period from {period_first_day}): {} overdue, {} due today, {} never visited, {} not visited this period.",
            c.overdue, c.due, c.never_visited, c.not_visited_this_period
        ),
    }
}

/// Why a household is on the to-do list.
pub fn todo_reason(lang: Lang, reason: &field_core::work::TodoReason) -> String {
    use field_core::work::TodoReason as R;
    match (lang, reason) {
        (Lang::Vi, R::Overdue { follow_up_on, days }) => {
            format!("Quá hạn {days} ngày (hẹn quay lại ngày {follow_up_on})")
        }
        (Lang::En, R::Overdue { follow_up_on, days }) => {
            format!("Overdue by {days} days (follow-up on {follow_up_on})")
        }
        (Lang::Vi, R::Due { follow_up_on }) => {
            format!("Đến hạn hôm nay (hẹn quay lại ngày {follow_up_on})")
        }
        (Lang::En, R::Due { follow_up_on }) => format!("Due today (follow-up on {follow_up_on})"),
        (_, R::NeverVisited) => w(lang, W::NeverVisited).to_string(),
        (Lang::Vi, R::NotVisitedThisPeriod { last_visit_on }) => {
            format!("Chưa hỗ trợ trong kỳ này (lần cuối ngày {last_visit_on})")
        }
        (Lang::En, R::NotVisitedThisPeriod { last_visit_on }) => {
            format!("Not visited this period (last visited {last_visit_on})")
        }
    }
}

/// An open follow-up not due yet, beside another reason.
pub fn next_follow_up(lang: Lang, day: &str) -> String {
    match lang {
        Lang::Vi => format!("đã hẹn quay lại ngày {day}"),
        Lang::En => format!("follow-up set for {day}"),
    }
}

/// Said under a to-do list cut by `--limit`.
pub fn todo_more(lang: Lang, shown: usize, total: u64) -> String {
    match lang {
        Lang::Vi => format!("Đang hiện {shown}/{total} hộ; xem thêm bằng --limit."),
        Lang::En => format!("Showing {shown} of {total} households; see more with --limit."),
    }
}

/// The work summary's first line.
pub fn summary_heading(
    lang: Lang,
    mine: bool,
    who: &str,
    period: &str,
    first: &str,
    last: &str,
) -> String {
    match (lang, mine) {
        (Lang::Vi, true) => {
            format!("Công việc của {who}, kỳ {period} (từ {first} đến {last})")
        }
        (Lang::Vi, false) => {
            format!("Công việc của {who} (cả tổ), kỳ {period} (từ {first} đến {last})")
        }
        (Lang::En, true) => format!("Work of {who}, period {period} ({first} to {last})"),
        (Lang::En, false) => {
            format!("Work of {who} (the whole team), period {period} ({first} to {last})")
        }
    }
}

/// When a suggestion rule applies, in words; `group` names a target group.
pub fn rule_when(
    lang: Lang,
    when: &field_core::work::When,
    group: impl Fn(&str) -> String,
) -> String {
    let mut parts = Vec::new();
    if let Some(g) = &when.target_group {
        parts.push(match lang {
            Lang::Vi => format!("hộ thuộc nhóm {}", group(g)),
            Lang::En => format!("the household is {}", group(g)),
        });
    }
    if let Some(d) = &when.device_access {
        parts.push(match lang {
            Lang::Vi => format!("thiết bị: {}", word(lang, d)),
            Lang::En => format!("devices: {}", word(lang, d)),
        });
    }
    if let Some(m) = &when.member {
        let mut who = Vec::new();
        match (m.age_min, m.age_max, lang) {
            (Some(a), Some(b), Lang::Vi) => who.push(format!("từ {a} đến {b} tuổi")),
            (Some(a), Some(b), Lang::En) => who.push(format!("aged {a} to {b}")),
            (Some(a), None, Lang::Vi) => who.push(format!("từ {a} tuổi")),
            (Some(a), None, Lang::En) => who.push(format!("aged {a} or more")),
            (None, Some(b), Lang::Vi) => who.push(format!("đến {b} tuổi")),
            (None, Some(b), Lang::En) => who.push(format!("aged up to {b}")),
            (None, None, _) => {}
        }
        if let Some(flag) = &m.lacks {
            who.push(match lang {
                Lang::Vi => format!("chưa có (hoặc chưa hỏi) {}", word(lang, flag)),
                Lang::En => format!("without (or not asked) {}", word(lang, flag)),
            });
        }
        parts.push(match lang {
            Lang::Vi => format!("có người {}", who.join(", ")),
            Lang::En => format!("someone {}", who.join(", ")),
        });
    }
    if parts.is_empty() {
        return w(lang, W::Everyone).to_string();
    }
    let and = match lang {
        Lang::Vi => " và ",
        Lang::En => " and ",
    };
    parts.join(and)
}

/// Said after a province's rules replaced the store's.
pub fn suggestions_loaded(lang: Lang, n: usize) -> String {
    match lang {
        Lang::Vi => format!("Đã nạp {n} quy tắc gợi ý dịch vụ; các quy tắc cũ được thay thế."),
        Lang::En => format!("Loaded {n} suggestion rules; they replace the previous ones."),
    }
}

fn bad_rule(lang: Lang, e: &field_core::work::RuleError) -> String {
    use field_core::work::RuleProblem as P;
    let rule = &e.rule;
    let what = match (lang, &e.problem) {
        (Lang::Vi, P::NoCode) => "không có mã (code)".to_string(),
        (Lang::En, P::NoCode) => "has no code".to_string(),
        (Lang::Vi, P::DuplicateCode) => "trùng mã với một quy tắc trước".to_string(),
        (Lang::En, P::DuplicateCode) => "has the code of an earlier rule".to_string(),
        (Lang::Vi, P::NoServices) => "không gợi ý dịch vụ nào (services)".to_string(),
        (Lang::En, P::NoServices) => "suggests no service (services)".to_string(),
        (Lang::Vi, P::NoReason) => {
            "thiếu lý do bằng tiếng Việt (reason_vi) hoặc tiếng Anh (reason_en)".to_string()
        }
        (Lang::En, P::NoReason) => {
            "lacks a reason in Vietnamese (reason_vi) or English (reason_en)".to_string()
        }
        (Lang::Vi, P::UnknownService(c)) => {
            format!(
                "gợi ý dịch vụ \"{c}\" không có trong danh mục (xem `gocua catalogue services`)"
            )
        }
        (Lang::En, P::UnknownService(c)) => {
            format!(
                "suggests the service \"{c}\", which is not in the catalogue (see `gocua catalogue services`)"
            )
        }
        (Lang::Vi, P::UnknownTargetGroup(c)) => {
            format!(
                "dùng nhóm đối tượng \"{c}\" không có trong danh mục (xem `gocua catalogue groups`)"
            )
        }
        (Lang::En, P::UnknownTargetGroup(c)) => {
            format!(
                "names the target group \"{c}\", which is not in the catalogue (see `gocua catalogue groups`)"
            )
        }
        (Lang::Vi, P::UnknownSkill(c)) => format!(
            "dùng kỹ năng \"{c}\" không có; chọn một trong: {}",
            field_core::SKILL_FLAGS.join(", ")
        ),
        (Lang::En, P::UnknownSkill(c)) => format!(
            "names the skill \"{c}\", which does not exist; choose one of: {}",
            field_core::SKILL_FLAGS.join(", ")
        ),
        (Lang::Vi, P::UnknownDeviceAccess(c)) => {
            format!("dùng thiết bị \"{c}\" không có; chọn smartphone, feature_phone_only hoặc none")
        }
        (Lang::En, P::UnknownDeviceAccess(c)) => {
            format!("names the devices \"{c}\"; choose smartphone, feature_phone_only or none")
        }
        (Lang::Vi, P::BadAges { min, max }) => format!(
            "có tuổi từ {min} đến {max}: tuổi phải từ 0 đến 150, tuổi đầu không lớn hơn tuổi sau"
        ),
        (Lang::En, P::BadAges { min, max }) => format!(
            "has ages from {min} to {max}: ages run from 0 to 150, the first not above the second"
        ),
    };
    match lang {
        Lang::Vi => format!(
            "quy tắc gợi ý \"{rule}\" {what}. Không quy tắc nào được thay đổi; sửa tệp rồi nạp lại."
        ),
        Lang::En => format!(
            "suggestion rule \"{rule}\" {what}. No rule was changed; fix the file and load it again."
        ),
    }
}
