//! What the sync server says, in the user's language: its answers carry a
//! code (and a reason where a code covers several cases) besides an English
//! message for operators; they are said here by code and reason.

use gocua_protocol::{codes, reasons};

use super::{Lang, plural};
use crate::error::Doing;

/// A refusal of a whole request: what happened and what to do.
pub fn refused(lang: Lang, status: u16, code: &str, reason: Option<&str>) -> String {
    let (vi, en): (&str, &str) = match (code, reason) {
        (codes::ENROLLMENT_CODE_INVALID, Some(reasons::CODE_EXPIRED)) => (
            "mã đăng ký đã hết hạn: xin cán bộ xã cấp mã mới.",
            "this enrollment code has expired: ask the commune officer for a new one.",
        ),
        (codes::ENROLLMENT_CODE_INVALID, Some(reasons::CODE_USED)) => (
            "mã đăng ký đã được dùng cho một máy khác: mỗi mã chỉ dùng một lần, xin cán bộ xã cấp mã mới.",
            "this enrollment code was used by another device already: each code works once, ask the commune officer for a new one.",
        ),
        (codes::ENROLLMENT_CODE_INVALID, _) => (
            "máy chủ không biết mã đăng ký này: kiểm tra lại từng ký tự, hoặc xin cán bộ xã cấp mã mới.",
            "the server does not know this enrollment code: check it character by character, or ask the commune officer for a new one.",
        ),
        (codes::UNAUTHORIZED, Some(reasons::NO_TOKEN)) => (
            "yêu cầu thiếu mã truy cập: đăng ký máy (`gocua enroll`) hoặc nêu --token.",
            "the request carries no access token: enroll the device (`gocua enroll`) or give --token.",
        ),
        (codes::UNAUTHORIZED, _) => (
            "máy chủ không nhận ra máy này hoặc mã truy cập này: xin cán bộ xã mã đăng ký mới rồi chạy `gocua enroll --again`.",
            "the server does not recognise this device or token: ask the commune officer for a new code and run `gocua enroll --again`.",
        ),
        (codes::DEVICE_REVOKED, Some(reasons::WIPE)) => (
            "máy này đã bị quản trị viên thu hồi và cần xoá dữ liệu, nhưng chưa gửi được các thay đổi chưa đồng bộ cho máy chủ: dữ liệu vẫn được giữ. Hãy đồng bộ lại khi có mạng.",
            "this device was revoked by the server's operator and is to wipe its data, but could not yet send its unsent changes to the server: the data is kept. Sync again once there is a network.",
        ),
        (codes::DEVICE_REVOKED, _) => (
            "máy này đã bị quản trị viên thu hồi quyền đồng bộ. Liên hệ cán bộ xã để đăng ký lại; dữ liệu trên máy không bị xóa.",
            "this device was revoked by the server's operator. Ask your commune officer to enroll it again; nothing on the device was deleted.",
        ),
        (codes::FORBIDDEN, Some(reasons::NOT_AN_OFFICER)) => (
            "chỉ tài khoản cán bộ tỉnh hoặc xã mới tải được chỉ tiêu và dữ liệu: tài khoản này không phải tài khoản cán bộ.",
            "only a province or commune officer's account downloads indicators and extracts: this account is not one.",
        ),
        (codes::FORBIDDEN, Some(reasons::OUTSIDE_AREA)) => (
            "địa bàn này nằm ngoài phạm vi của tài khoản: hãy chọn một địa bàn thuộc tỉnh hoặc xã của bạn.",
            "this area is outside what the account may read: choose an area of your province or commune.",
        ),
        (codes::FORBIDDEN, Some(reasons::FULL_EXTRACT_ON_SERVER)) => (
            "dữ liệu đầy đủ (không bí danh) chỉ được xuất trên chính máy chủ, do người quản trị: hãy dùng --pii pseudonymized.",
            "full extracts are made on the server machine by its operator only: use --pii pseudonymized.",
        ),
        (codes::FORBIDDEN, Some(reasons::NOT_A_DEVICE)) => (
            "chỉ máy đã đăng ký mới gửi được thay đổi.",
            "only an enrolled device can send changes.",
        ),
        (codes::FORBIDDEN, Some(reasons::CANNOT_READ_HOUSEHOLDS)) => (
            "tài khoản này không được đọc dữ liệu hộ qua đồng bộ.",
            "this account cannot read households through sync.",
        ),
        (codes::FORBIDDEN, _) => (
            "máy chủ không cho phép việc này với tài khoản hoặc máy này.",
            "the server does not allow this to this account or device.",
        ),
        (codes::BAD_REQUEST, Some(reasons::UNKNOWN_AREA)) => (
            "máy chủ không biết địa bàn này: nêu mã tỉnh hoặc xã/phường theo danh mục 2025 (xem `gocua catalogue communes TÊN`), hoặc mã thôn.",
            "the server does not know this area: give a province or commune code of the 2025 list (see `gocua catalogue communes NAME`), or a village id.",
        ),
        (codes::BAD_REQUEST, _) => (
            "máy chủ không hiểu yêu cầu: có thể gocua và máy chủ khác phiên bản; hãy cập nhật gocua, hoặc báo người quản trị.",
            "the server could not read the request: gocua and the server may differ in version; update gocua, or tell the operator.",
        ),
        (codes::PROTOCOL_MISMATCH, _) => (
            "máy chủ dùng phiên bản giao thức khác: hãy cập nhật gocua (hoặc báo người quản trị cập nhật máy chủ).",
            "the server speaks another protocol version: update gocua (or ask the operator to update the server).",
        ),
        (codes::BAD_BUNDLE, _) => (
            "máy chủ không đọc được gói thay đổi gửi lên: hãy đồng bộ lại; nếu vẫn lỗi, báo người quản trị.",
            "the server could not read the changes sent: sync again; if it persists, tell the operator.",
        ),
        (codes::TOO_LARGE, _) => (
            "yêu cầu lớn hơn mức máy chủ nhận: hãy báo người quản trị.",
            "the request is larger than the server accepts: tell the operator.",
        ),
        (codes::UNSUPPORTED_MEDIA_TYPE, _) => (
            "máy chủ không nhận kiểu dữ liệu này: có thể gocua và máy chủ khác phiên bản; hãy cập nhật gocua.",
            "the server does not accept this kind of content: gocua and the server may differ in version; update gocua.",
        ),
        (codes::NOT_FOUND, _) => (
            "máy chủ không có địa chỉ này: kiểm tra địa chỉ máy chủ (có thể đây không phải máy chủ gocua).",
            "the server has no such address: check the server address (it may not be a gocua server).",
        ),
        (codes::CURSOR_EXPIRED, _) => (
            "mốc đồng bộ của máy này đã quá cũ với máy chủ: hãy đồng bộ lại.",
            "this device's sync position is too old for the server: sync again.",
        ),
        (codes::RATE_LIMITED, _) => (
            "đã thử đăng ký quá nhiều lần: chờ một phút rồi thử lại, và kiểm tra lại mã.",
            "too many enrollment attempts: wait a minute, then try again, and check the code.",
        ),
        (codes::UNAVAILABLE, _) => (
            "máy chủ đang bận: hãy thử lại sau ít phút; dữ liệu vẫn an toàn trên máy.",
            "the server is busy: try again in a few minutes; your data is safe on this device.",
        ),
        (codes::INTERNAL, _) => (
            "máy chủ gặp lỗi: hãy thử lại sau; nếu vẫn lỗi, báo người quản trị. Dữ liệu vẫn an toàn trên máy.",
            "the server failed: try again later; if it persists, tell the operator. Your data is safe on this device.",
        ),
        _ => {
            return match lang {
                Lang::Vi => format!(
                    "máy chủ từ chối (HTTP {status}{}): hãy báo người quản trị. Dữ liệu vẫn an toàn trên máy.",
                    if code.is_empty() {
                        String::new()
                    } else {
                        format!(", {code}")
                    }
                ),
                Lang::En => format!(
                    "the server refused (HTTP {status}{}): tell the operator. Your data is safe on this device.",
                    if code.is_empty() {
                        String::new()
                    } else {
                        format!(", {code}")
                    }
                ),
            };
        }
    };
    lang.pick(vi, en).to_string()
}

/// Why the server refused one household's changes in a push.
pub fn refusal(lang: Lang, code: &str) -> String {
    let (vi, en) = match code {
        codes::OUTSIDE_VILLAGES => (
            "hộ không thuộc các thôn của máy này (đã chuyển đi): thay đổi được giữ và gửi lại ở lần đồng bộ sau.",
            "the household is not in this device's villages (it moved away): the changes are kept and offered again at the next sync.",
        ),
        codes::MOVES_VILLAGE => (
            "thay đổi chuyển hộ sang một thôn máy này không phụ trách: hãy nhờ tình nguyện viên thôn mới hoặc cán bộ xã.",
            "the change moves the household to a village this device does not serve: ask the new village's volunteers or the commune officer.",
        ),
        codes::UNKNOWN_DOCUMENT => (
            "máy chủ không biết hộ này: hãy đồng bộ lại.",
            "the server does not know this household: sync again.",
        ),
        codes::BAD_CHANGE | codes::BAD_DOCUMENT => (
            "thay đổi bị hỏng, máy chủ không áp dụng được: hãy báo người quản trị.",
            "the changes are damaged and the server could not apply them: tell the operator.",
        ),
        codes::MISSING_DEPENDENCIES => (
            "thay đổi cần các thay đổi trước nó mà máy chủ chưa có: sẽ được gửi lại ở lần đồng bộ sau.",
            "the changes need earlier ones the server does not have yet: they are offered again at the next sync.",
        ),
        codes::FOREIGN_CHANGE => (
            "thay đổi đã thuộc về một hộ khác trên máy chủ: hãy báo người quản trị.",
            "the changes belong to another household on the server: tell the operator.",
        ),
        codes::REUSED_SEQUENCE => (
            "máy này là bản sao của một máy khác (khôi phục từ bản sao lưu): thay đổi sẽ được ghi lại dưới tên mới và gửi ở lần đồng bộ sau.",
            "this device is a copy of another (restored from a backup): the changes are made again under a new name and sent at the next sync.",
        ),
        other => {
            return match lang {
                Lang::Vi => format!("máy chủ từ chối ({other}): hãy báo người quản trị."),
                Lang::En => format!("the server refused it ({other}): tell the operator."),
            };
        }
    };
    lang.pick(vi, en).to_string()
}

/// Said on stderr while the server does not answer: try `attempt` failed.
pub fn retrying(lang: Lang, url: &str, attempt: u32, attempts: u32) -> String {
    let next = attempt + 1;
    match lang {
        Lang::Vi => {
            format!("Không kết nối được máy chủ {url}; đang thử lại (lần {next}/{attempts})...")
        }
        Lang::En => {
            format!("Cannot reach the server at {url}; retrying (attempt {next} of {attempts})...")
        }
    }
}

/// No connection to the server after every try, and what to do.
pub fn unreachable(
    lang: Lang,
    url: &str,
    attempts: u32,
    during: Doing,
    pending: Option<i64>,
) -> String {
    let tried = match lang {
        Lang::Vi => format!(
            "không kết nối được máy chủ {url} (đã thử {attempts} lần): máy không có mạng, máy chủ đang tắt, hoặc địa chỉ sai."
        ),
        Lang::En => format!(
            "cannot reach the server at {url} ({}): no network, the server is down, or the address is wrong.",
            plural(lang, attempts as u64, "", "attempt", "attempts")
        ),
    };
    let waiting = match (lang, pending) {
        (Lang::Vi, Some(0)) => " Máy này không có thay đổi nào chờ gửi.".to_string(),
        (Lang::En, Some(0)) => " This device has no changes waiting to be sent.".to_string(),
        (Lang::Vi, Some(n)) => {
            format!(" {n} thay đổi đang chờ gửi trên máy này và vẫn được giữ an toàn.")
        }
        (Lang::En, Some(n)) => format!(
            " {} wait on this device; they are kept safe.",
            plural(lang, n.max(0) as u64, "", "change", "changes")
        ),
        (_, None) => String::new(),
    };
    let todo = match (lang, during) {
        (Lang::Vi, Doing::Sync) => " Hãy chạy lại `gocua sync` khi có mạng.",
        (Lang::En, Doing::Sync) => " Run `gocua sync` again when there is a network.",
        (Lang::Vi, Doing::Enroll) => {
            " Kiểm tra địa chỉ máy chủ và mạng rồi chạy lại `gocua enroll`; mã đăng ký chưa bị dùng."
        }
        (Lang::En, Doing::Enroll) => {
            " Check the server address and the network, then run `gocua enroll` again; the code was not used up."
        }
        (Lang::Vi, Doing::Export) => {
            " Kiểm tra địa chỉ máy chủ và mạng rồi chạy lại `gocua export`; chưa có tệp nào được ghi."
        }
        (Lang::En, Doing::Export) => {
            " Check the server address and the network, then run `gocua export` again; no file was written."
        }
    };
    format!("{tried}{waiting}{todo}")
}

/// A server address without http:// or https://.
pub fn bad_server_url(lang: Lang, url: &str) -> String {
    match lang {
        Lang::Vi => format!(
            "địa chỉ máy chủ \"{url}\" không hợp lệ: phải bắt đầu bằng http:// hoặc https://, ví dụ --server http://192.0.2.10:8080"
        ),
        Lang::En => format!(
            "the server address \"{url}\" is not valid: it must start with http:// or https://, e.g. --server http://192.0.2.10:8080"
        ),
    }
}

/// The connection broke in the middle of an exchange.
pub fn connection_broke(lang: Lang) -> &'static str {
    lang.pick(
        "kết nối với máy chủ bị ngắt giữa chừng. Dữ liệu vẫn an toàn trên máy; hãy thử lại khi mạng ổn định.",
        "the connection to the server broke off. Your data is safe on this device; try again when the network is steady.",
    )
}

/// `enroll` on an enrolled device, without `--again`.
pub fn already_enrolled(lang: Lang, server: &str) -> String {
    match lang {
        Lang::Vi => format!(
            "máy này đã đăng ký với máy chủ {server}: không cần đăng ký lại, chỉ cần `gocua sync`. Nếu thật sự cần đăng ký lại (ví dụ máy bị thu hồi), thêm --again."
        ),
        Lang::En => format!(
            "this device is enrolled already with {server}: there is no need to enroll again, just `gocua sync`. To enroll it again anyway (e.g. after it was revoked), add --again."
        ),
    }
}

/// Said after a successful enrollment.
pub fn enrolled(
    lang: Lang,
    server: &str,
    volunteer: &str,
    team: &str,
    commune: &str,
    province: &str,
    villages: &str,
) -> String {
    match lang {
        Lang::Vi => format!(
            "Đã đăng ký máy với {server}: {volunteer} — {team}, {commune} ({province}). Các thôn: {villages}."
        ),
        Lang::En => format!(
            "Device enrolled with {server}: {volunteer} — {team}, {commune} ({province}). Villages: {villages}."
        ),
    }
}

/// One household refused in a push.
pub fn household_refused(lang: Lang, short: &str, code: &str) -> String {
    match lang {
        Lang::Vi => format!("Máy chủ từ chối hộ {short}: {}", refusal(lang, code)),
        Lang::En => format!(
            "The server refused household {short}: {}",
            refusal(lang, code)
        ),
    }
}

/// Fields changed on two devices that wait for a decision, after a sync.
pub fn conflicts_waiting(lang: Lang, n: usize) -> String {
    match lang {
        Lang::Vi => format!(
            "{n} trường bị sửa khác nhau trên hai máy đang chờ quyết định: xem `gocua conflicts`."
        ),
        Lang::En => format!(
            "{} changed differently on two devices {} for a decision: see `gocua conflicts`.",
            plural(lang, n as u64, "", "field", "fields"),
            if n == 1 { "waits" } else { "wait" }
        ),
    }
}

/// The sync's progress phases.
pub fn phase(lang: Lang, phase: field_core::sync::SyncPhase) -> &'static str {
    use field_core::sync::SyncPhase;
    match phase {
        SyncPhase::Push => lang.pick("Gửi thay đổi", "Sending changes"),
        SyncPhase::Bootstrap => lang.pick("Tải dữ liệu ban đầu", "First download"),
        SyncPhase::Pull => lang.pick("Nhận thay đổi", "Receiving changes"),
    }
}
