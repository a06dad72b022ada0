//! What the console says, in Vietnamese (the default) and English. The
//! language is `?lang=vi|en` on any page (remembered in a cookie), else
//! the cookie, else Vietnamese.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

pub const LANG_COOKIE: &str = "gocua_lang";

pub use crate::messages::Lang;

impl Lang {
    /// The text `key` names, in this language (the key itself if it has
    /// none: a test checks every key the templates use).
    pub fn t(self, key: &str) -> &'static str {
        match TEXTS.iter().find(|(k, _, _)| *k == key) {
            Some((_, vi, en)) => match self {
                Lang::Vi => vi,
                Lang::En => en,
            },
            None => {
                tracing::warn!(key, "console text missing");
                "?"
            }
        }
    }
}

fn from_query(query: Option<&str>) -> Option<Lang> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Lang::parse(&v))
}

pub fn from_cookie(headers: &axum::http::HeaderMap) -> Option<Lang> {
    super::auth::cookie(headers, LANG_COOKIE).and_then(|v| Lang::parse(&v))
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Lang, Self::Rejection> {
        Ok(from_query(parts.uri.query())
            .or_else(|| from_cookie(&parts.headers))
            .unwrap_or_default())
    }
}

/// Remembers a language chosen with `?lang=` in a cookie.
pub async fn remember_lang(req: Request, next: Next) -> Response {
    let chosen = from_query(req.uri().query());
    let mut resp = next.run(req).await;
    if let Some(lang) = chosen
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={}; Path=/console; Max-Age=31536000; SameSite=Strict",
            lang.code()
        ))
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// Why a page was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    OutsideArea,
    NotFound,
    BadInput,
    Busy,
    Failed,
    Forged,
    TooManyLogins,
    NoArea,
}

impl Msg {
    pub fn key(self) -> &'static str {
        match self {
            Msg::OutsideArea => "err_outside_area",
            Msg::NotFound => "err_not_found",
            Msg::BadInput => "err_bad_input",
            Msg::Busy => "err_busy",
            Msg::Failed => "err_failed",
            Msg::Forged => "err_forged",
            Msg::TooManyLogins => "err_too_many_logins",
            Msg::NoArea => "err_no_area",
        }
    }
}

/// (key, Vietnamese, English).
const TEXTS: &[(&str, &str, &str)] = &[
    ("title", "Bảng điều khiển gocua", "gocua console"),
    ("lang_name", "Tiếng Việt", "English"),
    ("switch_lang", "English", "Tiếng Việt"),
    ("nav_overview", "Tổng quan", "Overview"),
    ("nav_coverage", "Độ bao phủ", "Coverage"),
    ("nav_devices", "Thiết bị", "Devices"),
    ("nav_villages", "Thôn, bản", "Villages"),
    ("nav_teams", "Tổ CNSCĐ", "Teams"),
    ("nav_volunteers", "Thành viên", "Volunteers"),
    ("nav_clashes", "Xung đột", "Clashes"),
    ("nav_audit", "Nhật ký", "Audit log"),
    ("logout", "Đăng xuất", "Sign out"),
    ("login", "Đăng nhập", "Sign in"),
    ("login_name", "Tên đăng nhập", "Login name"),
    ("password", "Mật khẩu", "Password"),
    (
        "login_failed",
        "Sai tên đăng nhập hoặc mật khẩu.",
        "Wrong login name or password.",
    ),
    (
        "login_help",
        "Người vận hành đặt mật khẩu bằng lệnh gocua-server admin account password.",
        "The operator sets passwords with gocua-server admin account password.",
    ),
    ("role_operator", "Người vận hành", "Operator"),
    ("role_province", "Cán bộ tỉnh", "Province officer"),
    ("role_commune", "Cán bộ xã", "Commune officer"),
    ("area_all", "Toàn quốc", "Whole country"),
    ("province", "Tỉnh", "Province"),
    ("commune", "Xã", "Commune"),
    ("village", "Thôn", "Village"),
    ("team", "Tổ", "Team"),
    ("volunteer", "Thành viên", "Volunteer"),
    ("name", "Tên", "Name"),
    ("phone", "Điện thoại", "Phone"),
    ("id", "Mã", "Id"),
    ("save", "Lưu", "Save"),
    ("add", "Thêm", "Add"),
    ("edit", "Sửa", "Edit"),
    ("cancel", "Huỷ", "Cancel"),
    ("none", "—", "—"),
    ("yes", "Có", "Yes"),
    ("no", "Không", "No"),
    // Overview.
    ("period", "Kỳ báo cáo", "Reporting period"),
    ("households", "Hộ đã đăng ký", "Households registered"),
    ("visits_period", "Lượt thăm trong kỳ", "Visits this period"),
    (
        "reached_period",
        "Hộ được thăm trong kỳ",
        "Households reached this period",
    ),
    (
        "devices_week",
        "Thiết bị hoạt động tuần này",
        "Devices active this week",
    ),
    ("devices_enrolled", "Thiết bị đang dùng", "Devices in use"),
    ("health", "Tình trạng máy chủ", "Server health"),
    (
        "database_ok",
        "Cơ sở dữ liệu trả lời",
        "The database answers",
    ),
    (
        "database_down",
        "Cơ sở dữ liệu không trả lời",
        "The database does not answer",
    ),
    ("changes_stored", "Thay đổi đã lưu", "Changes stored"),
    (
        "materialized",
        "Bản chụp cập nhật đến",
        "Snapshots up to change",
    ),
    ("server_version", "Phiên bản máy chủ", "Server version"),
    // Coverage.
    ("level", "Cấp", "Level"),
    ("by_commune", "Theo xã", "By commune"),
    ("by_village", "Theo thôn", "By village"),
    ("visited_to_date", "Hộ đã được thăm", "Households visited"),
    (
        "reached_to_date",
        "% hộ được thăm (luỹ kế)",
        "% households reached (to date)",
    ),
    (
        "digital_citizens",
        "% công dân số (tuổi lao động)",
        "% digital citizens (working age)",
    ),
    (
        "volunteers_trained",
        "% thành viên đã tập huấn (luỹ kế)",
        "% volunteers trained (to date)",
    ),
    ("target", "Mục tiêu", "Target"),
    (
        "chart_caption",
        "Thanh xanh: % hộ được thăm so với số hộ đã đăng ký (mục tiêu 100%). Thanh cam: % công dân số, vạch đứt: mục tiêu",
        "Blue bar: % of registered households visited (target 100%). Orange bar: % digital citizens, dashed line: the target",
    ),
    ("no_data", "Chưa có số liệu.", "No figures yet."),
    // Devices.
    ("device", "Thiết bị", "Device"),
    ("enrolled_at", "Đăng ký lúc", "Enrolled"),
    ("status", "Trạng thái", "Status"),
    ("active", "Đang dùng", "In use"),
    ("revoked", "Đã thu hồi", "Revoked"),
    ("wipe_requested", "Yêu cầu xoá dữ liệu", "Wipe requested"),
    ("unsent", "Báo cáo chưa gửi", "Unsent reports"),
    ("last_seen", "Lần cuối liên lạc", "Last seen"),
    ("last_sync", "Lần đồng bộ cuối", "Last sync"),
    ("app_version", "Phiên bản ứng dụng", "App version"),
    (
        "pending_changes",
        "Thay đổi chờ gửi (máy báo)",
        "Pending changes (as reported)",
    ),
    ("revoke", "Thu hồi", "Revoke"),
    (
        "revoke_confirm",
        "Thu hồi thiết bị này? Mã truy cập của nó ngừng hoạt động ngay.",
        "Revoke this device? Its token stops working at once.",
    ),
    (
        "revoke_wipe",
        "Yêu cầu thiết bị xoá dữ liệu ở lần liên lạc tới (điện thoại bị mất)",
        "Tell the device to wipe its data at its next contact (a lost phone)",
    ),
    (
        "revoked_done",
        "Đã thu hồi thiết bị.",
        "The device is revoked.",
    ),
    // Villages, teams, volunteers.
    ("add_village", "Thêm thôn", "Add a village"),
    ("edit_village", "Sửa thôn", "Edit a village"),
    (
        "village_id_stays",
        "Mã thôn không đổi khi đổi tên: thiết bị vẫn nhận ra thôn.",
        "The village keeps its id when renamed: devices still know it.",
    ),
    ("commune_code", "Mã xã (2025)", "Commune code (2025)"),
    ("served_by", "Tổ phụ trách", "Served by"),
    ("add_team", "Thêm tổ", "Add a team"),
    ("edit_team", "Sửa tổ", "Edit a team"),
    ("villages", "Các thôn", "Villages"),
    ("volunteers", "Thành viên", "Volunteers"),
    ("add_volunteer", "Thêm thành viên", "Add a volunteer"),
    ("edit_volunteer", "Sửa thành viên", "Edit a volunteer"),
    ("devices", "Thiết bị", "Devices"),
    (
        "enroll_code",
        "Cấp mã đăng ký thiết bị",
        "Issue an enrollment code",
    ),
    ("code_for", "Mã đăng ký thiết bị cho", "Enrollment code for"),
    (
        "code_help",
        "Dùng một lần. Nhập mã này (hoặc quét mã QR) trong ứng dụng gocua khi đăng ký thiết bị.",
        "One use. Type this code (or scan the QR code) in the gocua app when enrolling the device.",
    ),
    ("valid_until", "Hiệu lực đến", "Valid until"),
    ("saved", "Đã lưu.", "Saved."),
    // Clashes.
    (
        "clashes_title",
        "Xung đột chờ quyết định",
        "Clashes waiting for a decision",
    ),
    (
        "clashes_help",
        "Hai thiết bị sửa cùng một trường khi không có mạng: cả hai giá trị được giữ. Thành viên chọn giá trị đúng bằng lệnh gocua conflicts resolve trên thiết bị.",
        "Two devices changed the same field offline: both values are kept. A volunteer picks the right one with gocua conflicts resolve on a device.",
    ),
    ("household", "Hộ", "Household"),
    ("field", "Trường", "Field"),
    (
        "values",
        "Các giá trị (giá trị đang hiện trước)",
        "Values (the one shown first)",
    ),
    ("by", "Ai ghi", "By"),
    ("when", "Khi nào", "When"),
    ("no_clashes", "Không có xung đột.", "No clashes."),
    ("reviews_title", "Bản ghi cần xem lại", "Records to review"),
    (
        "reviews_help",
        "Bản ghi được tính theo quy tắc chứ không theo giá trị ghi (ngày lệch so với lúc máy chủ nhận, mã xã cũ): docs/reports.md.",
        "Records counted by a rule rather than as recorded (a date off from the server's receipt, a pre-2025 commune): docs/reports.md.",
    ),
    ("reason", "Lý do", "Reason"),
    ("value", "Giá trị", "Value"),
    ("reference", "Mốc so sánh", "Reference"),
    ("counted_in", "Tính vào kỳ", "Counted in"),
    ("visit", "Lượt thăm", "Visit"),
    (
        "no_reviews",
        "Không có bản ghi cần xem lại.",
        "Nothing to review.",
    ),
    // Audit.
    ("actor", "Người thực hiện", "Actor"),
    ("action", "Hành động", "Action"),
    ("subject", "Đối tượng", "Subject"),
    ("detail", "Chi tiết", "Detail"),
    ("from_day", "Từ ngày", "From"),
    ("to_day", "Đến ngày", "To"),
    ("search", "Tìm", "Search"),
    ("newer", "Mới hơn", "Newer"),
    ("older", "Cũ hơn", "Older"),
    ("page", "Trang", "Page"),
    ("previous_page", "Trang trước", "Previous page"),
    ("next_page", "Trang sau", "Next page"),
    ("no_entries", "Không có mục nào.", "No entries."),
    (
        "reason_dated_after_reference",
        "Ngày ghi sau lúc máy chủ nhận: tính vào ngày nhận",
        "Dated after the server received it: counted on the day received",
    ),
    (
        "reason_dated_long_before_reference",
        "Ngày ghi trước lúc nhận hơn 60 ngày: tính vào ngày nhận",
        "Dated over 60 days before it was received: counted on the day received",
    ),
    (
        "reason_unreadable_date",
        "Ngày ghi không đọc được: tính vào ngày nhận",
        "The date does not read: counted on the day received",
    ),
    (
        "reason_undated",
        "Không có ngày: không tính vào kỳ nào",
        "No date: in no period",
    ),
    (
        "reason_legacy_commune",
        "Mã xã trước 2025: tính vào xã kế thừa",
        "A pre-2025 commune: counted under its successor",
    ),
    (
        "reason_unknown_commune",
        "Mã xã không có trong danh mục",
        "A commune code in neither list",
    ),
    // Errors.
    ("error", "Không thực hiện được", "Could not do that"),
    ("back", "Quay lại", "Back"),
    (
        "err_outside_area",
        "Mục này nằm ngoài địa bàn của tài khoản bạn.",
        "This is outside your account's area.",
    ),
    ("err_not_found", "Không tìm thấy.", "Not found."),
    (
        "err_bad_input",
        "Dữ liệu nhập chưa đúng: sửa lại rồi gửi lại.",
        "The input is not right: correct it and send it again.",
    ),
    (
        "err_busy",
        "Máy chủ đang bận: thử lại sau vài giây.",
        "The server is busy: try again in a few seconds.",
    ),
    (
        "err_failed",
        "Máy chủ gặp lỗi: báo cho người vận hành.",
        "The server failed: tell the operator.",
    ),
    (
        "err_forged",
        "Biểu mẫu đã hết hạn hoặc không đến từ trang này: mở lại trang rồi gửi lại.",
        "The form expired or did not come from this page: open the page again and resend it.",
    ),
    (
        "err_too_many_logins",
        "Quá nhiều lần đăng nhập: chờ một phút rồi thử lại.",
        "Too many sign-in attempts: wait a minute, then try again.",
    ),
    (
        "err_no_area",
        "Tài khoản này không có địa bàn: người vận hành cần gán tỉnh hoặc xã.",
        "This account has no area: the operator must give it a province or commune.",
    ),
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn every_key_the_templates_use_has_both_languages() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/console");
        let mut used = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for part in text.split("t(\"").skip(1) {
                used.push(part.split('"').next().unwrap().to_string());
            }
        }
        assert!(used.len() > 50, "{used:?}");
        let src = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/console/pages.rs"),
        )
        .unwrap();
        for part in src.split(".t(\"").skip(1) {
            used.push(part.split('"').next().unwrap().to_string());
        }
        for key in used {
            let found = TEXTS.iter().find(|(k, _, _)| *k == key);
            let (_, vi, en) = found.unwrap_or_else(|| panic!("no text {key:?}"));
            assert!(!vi.is_empty() && !en.is_empty(), "{key}");
        }
        let mut keys: Vec<&str> = TEXTS.iter().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "a key given twice");
    }

    #[test]
    fn refusals_have_texts() {
        for m in [
            Msg::OutsideArea,
            Msg::NotFound,
            Msg::BadInput,
            Msg::Busy,
            Msg::Failed,
            Msg::Forged,
            Msg::TooManyLogins,
            Msg::NoArea,
        ] {
            assert_ne!(Lang::Vi.t(m.key()), "?");
            assert_ne!(Lang::En.t(m.key()), Lang::Vi.t(m.key()));
        }
    }
}
