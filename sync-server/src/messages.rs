//! What the server's administration says to people, in Vietnamese (the
//! default) and English: the texts of `gocua-server admin`, kept apart from
//! the command line so that a web console renders the same ones.

use crate::admin::{AdminError, Field};
use crate::storage::{
    AccountRow, AuditRow, DeviceRow, QuarantineRow, StorageError, TeamRow, TrainingRow,
    UnsentReport, Village, VolunteerRow,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    /// `--lang` wins (`vi` or `en`); otherwise English when the locale
    /// (LC_ALL, LC_MESSAGES, LANG, the first one set) starts with "en";
    /// otherwise Vietnamese, as the volunteers' `gocua` does.
    pub fn detect(arg: Option<&str>) -> Lang {
        let tag = match arg {
            Some(a) => a.to_string(),
            None => ["LC_ALL", "LC_MESSAGES", "LANG"]
                .iter()
                .filter_map(|k| std::env::var(k).ok())
                .find(|v| !v.is_empty())
                .unwrap_or_default(),
        };
        if tag.trim().to_ascii_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::Vi
        }
    }

    /// `vi` or `en`, as `--lang`, `?lang=` and the language cookie spell it.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// `vi` or `en`; anything else is no language.
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim() {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The other language: what the console's switch offers.
    pub fn other(self) -> Lang {
        match self {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        }
    }

    pub fn pick<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }
}

/// A stored time (unix seconds) in Vietnam time, `YYYY-MM-DD HH:MM:SS`.
pub fn local_time(secs: i64) -> String {
    let offset = time::UtcOffset::from_hms(gocua_household::validate::VIETNAM_OFFSET_HOURS, 0, 0)
        .unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.to_offset(offset)
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]"
                ))
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

/// A stored time as RFC 3339 in Vietnam time (`...+07:00`), for JSON.
pub fn local_time_rfc3339(secs: i64) -> String {
    let offset = time::UtcOffset::from_hms(gocua_household::validate::VIETNAM_OFFSET_HOURS, 0, 0)
        .unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.to_offset(offset)
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

fn opt_time(lang: Lang, secs: Option<i64>) -> String {
    secs.map(local_time)
        .unwrap_or_else(|| lang.pick("chưa có", "never").to_string())
}

fn field(lang: Lang, f: Field) -> &'static str {
    match f {
        Field::VillageName => lang.pick("tên thôn", "the village name"),
        Field::TeamName => lang.pick("tên tổ", "the team name"),
        Field::VolunteerName => lang.pick("họ tên tình nguyện viên", "the volunteer's name"),
        Field::AccountName => lang.pick("tên tài khoản", "the account name"),
        Field::Topic => lang.pick("chủ đề tập huấn", "the training topic"),
        Field::Place => lang.pick("địa điểm", "the place"),
    }
}

/// A database failure, in `lang`; its technical detail stays as the
/// database said it.
pub fn storage_error(lang: Lang, e: &StorageError) -> String {
    match (lang, e) {
        (_, StorageError::NotFound(m) | StorageError::Invalid(m)) => m.clone(),
        (Lang::Vi, StorageError::Busy(m)) => {
            format!("cơ sở dữ liệu đang bận, hãy thử lại sau ít phút ({m})")
        }
        (Lang::En, StorageError::Busy(m)) => {
            format!("the database is busy: try again in a few minutes ({m})")
        }
        (Lang::Vi, StorageError::Backend(m)) => format!("lỗi cơ sở dữ liệu: {m}"),
        (Lang::En, StorageError::Backend(m)) => format!("database: {m}"),
        (_, StorageError::Incompatible(m)) => m.clone(),
    }
}

/// Why an admin command did nothing, and what to do, in `lang`.
pub fn admin_error(lang: Lang, e: &AdminError) -> String {
    use AdminError as E;
    match (lang, e) {
        (_, E::Storage(s)) => storage_error(lang, s),
        (Lang::Vi, E::Empty(f)) => format!("{} không được để trống", field(lang, *f)),
        (Lang::En, E::Empty(f)) => format!("{} must not be empty", field(lang, *f)),
        (Lang::Vi, E::NoCommune(c)) => format!(
            "không có xã/phường mã {c} trong danh mục hiện hành (từ 01/07/2025): kiểm tra mã, hoặc nạp danh mục bằng `gocua-server admin load-units`"
        ),
        (Lang::En, E::NoCommune(c)) => format!(
            "no commune {c} in the units in force (since 1 July 2025): check the code, or load them with `gocua-server admin load-units`"
        ),
        (Lang::Vi, E::NoProvince(p)) => {
            format!("không có tỉnh/thành phố mã {p} trong danh mục hiện hành")
        }
        (Lang::En, E::NoProvince(p)) => format!("no province {p} in the units in force"),
        (Lang::Vi, E::NoTeam(t)) => format!(
            "không có tổ mã {t}: xem mã các tổ bằng `gocua-server admin team list`"
        ),
        (Lang::En, E::NoTeam(t)) => {
            format!("no team {t}: see the teams' ids with `gocua-server admin team list`")
        }
        (Lang::Vi, E::NoVillage { village, commune }) => format!(
            "không có thôn \"{village}\" ở xã/phường {commune}: đăng ký thôn bằng `gocua-server admin village add --commune {commune} --name TÊN`"
        ),
        (Lang::En, E::NoVillage { village, commune }) => format!(
            "no village \"{village}\" in commune {commune}: register it with `gocua-server admin village add --commune {commune} --name NAME`"
        ),
        (Lang::Vi, E::NotServed { team, village }) => {
            format!("tổ \"{team}\" không phụ trách thôn \"{village}\": không có gì để bỏ")
        }
        (Lang::En, E::NotServed { team, village }) => {
            format!("team \"{team}\" does not serve village \"{village}\": nothing to remove")
        }
        (Lang::Vi, E::NoVillageLeft { team }) => format!(
            "tổ \"{team}\" phải phụ trách ít nhất một thôn: thêm thôn mới (--add-village) trước khi bỏ thôn cuối"
        ),
        (Lang::En, E::NoVillageLeft { team }) => format!(
            "team \"{team}\" must serve at least one village: add one (--add-village) before removing the last"
        ),
        (Lang::Vi, E::NothingToEdit) => {
            "không có gì thay đổi: cho --name, --add-village hoặc --remove-village".into()
        }
        (Lang::En, E::NothingToEdit) => {
            "nothing to change: give --name, --add-village or --remove-village".into()
        }
        (Lang::Vi, E::BadPhone(p)) => format!(
            "\"{p}\" không phải số điện thoại Việt Nam: di động 10 số bắt đầu bằng 03, 05, 07, 08 hoặc 09 (có thể viết +84), cố định 11 số bắt đầu bằng 02"
        ),
        (Lang::En, E::BadPhone(p)) => format!(
            "\"{p}\" is not a Vietnamese phone number: mobiles have 10 digits starting 03, 05, 07, 08 or 09 (+84 allowed), landlines 11 digits starting 02"
        ),
        (Lang::Vi, E::PhoneTaken { phone, existing }) => format!(
            "số điện thoại {phone} đã được đăng ký cho tình nguyện viên {} (mã {}, tổ {}): không thêm người này lần nữa; cấp mã đăng ký máy cho người đó bằng `gocua-server admin enroll-code --volunteer {phone}`",
            existing.name, existing.id, existing.team_id
        ),
        (Lang::En, E::PhoneTaken { phone, existing }) => format!(
            "phone {phone} is registered already for volunteer {} (id {}, team {}): not added again; give them an enrollment code with `gocua-server admin enroll-code --volunteer {phone}`",
            existing.name, existing.id, existing.team_id
        ),
        (Lang::Vi, E::NameTaken { existing }) => format!(
            "tổ này đã có tình nguyện viên {} (mã {}): nếu đây là người khác trùng tên, hãy cho số điện thoại của họ (--phone) để phân biệt",
            existing.name, existing.id
        ),
        (Lang::En, E::NameTaken { existing }) => format!(
            "this team has a volunteer {} already (id {}): if this is another person of the same name, give their phone (--phone) to tell them apart",
            existing.name, existing.id
        ),
        (Lang::Vi, E::NoVolunteer(k)) => format!(
            "không có tình nguyện viên nào có mã hoặc số điện thoại \"{k}\": xem danh sách bằng `gocua-server admin volunteer list`"
        ),
        (Lang::En, E::NoVolunteer(k)) => format!(
            "no volunteer has the id or phone \"{k}\": see them with `gocua-server admin volunteer list`"
        ),
        (Lang::Vi, E::SeveralVolunteers { phone, ids }) => format!(
            "số {phone} thuộc về nhiều tình nguyện viên ({}): dùng mã của người cần chọn",
            ids.join(", ")
        ),
        (Lang::En, E::SeveralVolunteers { phone, ids }) => format!(
            "phone {phone} belongs to several volunteers ({}): give the id of the one you mean",
            ids.join(", ")
        ),
        (Lang::Vi, E::OfficerNeedsArea) => {
            "tài khoản cán bộ cần --province (cán bộ tỉnh) hoặc --commune (cán bộ xã)".into()
        }
        (Lang::En, E::OfficerNeedsArea) => {
            "an officer's account needs --province (a province officer) or --commune (a commune officer)".into()
        }
        (Lang::Vi, E::CommuneIsForOfficers) => "--commune chỉ dành cho tài khoản cán bộ xã (--role officer)".into(),
        (Lang::En, E::CommuneIsForOfficers) => "--commune is for a commune officer's account (--role officer)".into(),
        (Lang::Vi, E::NoAccount(a)) => format!(
            "không có tài khoản mã {a}: xem danh sách bằng `gocua-server admin account list`"
        ),
        (Lang::En, E::NoAccount(a)) => {
            format!("no account {a}: see them with `gocua-server admin account list`")
        }
        (Lang::Vi, E::NoTraining(id)) => format!(
            "không có buổi tập huấn số {id}: xem danh sách bằng `gocua-server admin training list`"
        ),
        (Lang::En, E::NoTraining(id)) => format!(
            "no training session {id}: see them with `gocua-server admin training list`"
        ),
        (Lang::Vi, E::BadTime(t)) => format!(
            "\"{t}\" không phải ngày hoặc giờ: viết NĂM-THÁNG-NGÀY (2026-03-15) hoặc NĂM-THÁNG-NGÀY GIỜ:PHÚT (2026-03-15 08:30), giờ Việt Nam"
        ),
        (Lang::En, E::BadTime(t)) => format!(
            "\"{t}\" is not a day or a time: write YEAR-MONTH-DAY (2026-03-15) or YEAR-MONTH-DAY HOUR:MINUTE (2026-03-15 08:30), Vietnam time"
        ),
        (Lang::Vi, E::TeamOrCommune) => {
            "buổi tập huấn cần --team (tập huấn một tổ) hoặc --commune (cả xã/phường)".into()
        }
        (Lang::En, E::TeamOrCommune) => {
            "a training session needs --team (one team trained) or --commune (a whole commune)".into()
        }
        (Lang::Vi, E::WeakPassword) => format!(
            "mật khẩu cần ít nhất {} ký tự (và không quá {} byte): chọn mật khẩu dài hơn",
            crate::console::auth::MIN_PASSWORD_CHARS,
            crate::console::auth::MAX_PASSWORD_BYTES
        ),
        (Lang::En, E::WeakPassword) => format!(
            "the password must have at least {} characters (and at most {} bytes): choose a longer one",
            crate::console::auth::MIN_PASSWORD_CHARS,
            crate::console::auth::MAX_PASSWORD_BYTES
        ),
        (Lang::Vi, E::BadLogin) => format!(
            "tên đăng nhập từ 1 đến {} ký tự, không có dấu cách hay ký tự điều khiển",
            crate::console::auth::MAX_LOGIN_CHARS
        ),
        (Lang::En, E::BadLogin) => format!(
            "a login name has 1 to {} characters, no spaces or control characters",
            crate::console::auth::MAX_LOGIN_CHARS
        ),
        (Lang::Vi, E::NoLoginYet(a)) => {
            format!("tài khoản {a} chưa có tên đăng nhập: thêm --login TÊN")
        }
        (Lang::En, E::NoLoginYet(a)) => {
            format!("account {a} has no login name yet: give --login NAME")
        }
        (Lang::Vi, E::LoginTaken { login, account }) => format!(
            "tên đăng nhập \"{login}\" đã là của tài khoản {account}: chọn tên khác"
        ),
        (Lang::En, E::LoginTaken { login, account }) => format!(
            "the login name \"{login}\" belongs to account {account}: choose another"
        ),
    }
}

/// Fixed texts: headers, labels, short messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T {
    ErrorPrefix,
    Id,
    Name,
    Commune,
    Villages,
    Volunteers,
    Volunteer,
    Devices,
    Device,
    Phone,
    Team,
    Trainings,
    Enrolled,
    LastSeen,
    LastSync,
    AppVersion,
    PendingChanges,
    State,
    Active,
    Revoked,
    WipeRequested,
    Role,
    Province,
    Created,
    TimeVn,
    Actor,
    Action,
    Subject,
    Detail,
    Day,
    Topic,
    Place,
    Attendees,
    NoTeams,
    NoVolunteers,
    NoDevices,
    NoAccounts,
    NoAudit,
    NoTrainings,
    NoVillages,
    NoQuarantined,
    NoUnsent,
    TokenOnce,
    Report,
    Received,
    Changes,
    Households,
    PseudonymRotated,
    Unknown,
}

pub fn t(lang: Lang, text: T) -> &'static str {
    let (vi, en) = match text {
        T::ErrorPrefix => ("Lỗi", "Error"),
        T::Id => ("Mã", "Id"),
        T::Name => ("Tên", "Name"),
        T::Commune => ("Xã/phường", "Commune"),
        T::Villages => ("Thôn", "Villages"),
        T::Volunteers => ("TNV", "Volunteers"),
        T::Volunteer => ("Tình nguyện viên", "Volunteer"),
        T::Devices => ("Máy", "Devices"),
        T::Device => ("Máy", "Device"),
        T::Phone => ("Điện thoại", "Phone"),
        T::Team => ("Tổ", "Team"),
        T::Trainings => ("Tập huấn", "Trainings"),
        T::Enrolled => ("Đăng ký lúc", "Enrolled"),
        T::LastSeen => ("Liên lạc gần nhất", "Last seen"),
        T::LastSync => ("Đồng bộ gần nhất", "Last sync"),
        T::AppVersion => ("Phiên bản ứng dụng", "App version"),
        T::PendingChanges => ("Chờ gửi", "Pending"),
        T::State => ("Trạng thái", "State"),
        T::Active => ("đang dùng", "active"),
        T::Revoked => ("đã thu hồi", "revoked"),
        T::WipeRequested => ("yêu cầu xoá dữ liệu", "wipe requested"),
        T::Role => ("Vai trò", "Role"),
        T::Province => ("Tỉnh/thành phố", "Province"),
        T::Created => ("Tạo lúc", "Created"),
        T::TimeVn => ("Thời gian (giờ VN)", "Time (Vietnam)"),
        T::Actor => ("Người thực hiện", "Actor"),
        T::Action => ("Hành động", "Action"),
        T::Subject => ("Đối tượng", "Subject"),
        T::Detail => ("Chi tiết", "Detail"),
        T::Day => ("Ngày", "Day"),
        T::Topic => ("Chủ đề", "Topic"),
        T::Place => ("Địa điểm", "Place"),
        T::Attendees => ("Số người dự", "Attendees"),
        T::NoTeams => ("Chưa có tổ nào.", "No teams."),
        T::NoVolunteers => ("Chưa có tình nguyện viên nào.", "No volunteers."),
        T::NoDevices => ("Chưa có máy nào đăng ký.", "No devices enrolled."),
        T::NoAccounts => ("Chưa có tài khoản nào.", "No accounts."),
        T::NoAudit => ("Không có mục nhật ký nào khớp.", "No audit entries match."),
        T::NoTrainings => ("Không có buổi tập huấn nào.", "No training sessions."),
        T::NoVillages => ("Chưa có thôn nào.", "No villages."),
        T::NoQuarantined => (
            "Không có thay đổi nào bị cách ly.",
            "No quarantined changes.",
        ),
        T::NoUnsent => (
            "Không có báo cáo thay đổi chưa gửi nào.",
            "No unsent changes reported.",
        ),
        T::TokenOnce => (
            "mã truy cập ở trên chỉ hiện một lần: hãy lưu lại ngay",
            "the token above is shown only once: keep it now",
        ),
        T::Report => ("Báo cáo", "Report"),
        T::Received => ("Nhận lúc", "Received"),
        T::Changes => ("Thay đổi", "Changes"),
        T::Households => ("Hộ", "Households"),
        T::PseudonymRotated => (
            "đã thay khoá bí danh: các bản trích xuất từ nay mang bí danh mới",
            "pseudonym key replaced: extracts from now on carry new pseudonyms",
        ),
        T::Unknown => ("-", "-"),
    };
    lang.pick(vi, en)
}

/// Columns aligned on the widest cell (counted in characters).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let last = cells.len().saturating_sub(1);
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    c.to_string()
                } else {
                    let pad = widths[i].saturating_sub(c.chars().count());
                    format!("{c}{}", " ".repeat(pad))
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = vec![line(headers.to_vec())];
    out.extend(
        rows.iter()
            .map(|r| line(r.iter().map(String::as_str).collect())),
    );
    out.join("\n")
}

fn or_dash(v: Option<&str>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or("-").to_string()
}

pub fn village_list(lang: Lang, villages: &[Village]) -> String {
    if villages.is_empty() {
        return t(lang, T::NoVillages).into();
    }
    let rows: Vec<Vec<String>> = villages
        .iter()
        .map(|v| vec![v.id.clone(), v.commune_code.clone(), v.name.clone()])
        .collect();
    table(
        &[t(lang, T::Id), t(lang, T::Commune), t(lang, T::Name)],
        &rows,
    )
}

pub fn team_list(lang: Lang, teams: &[TeamRow]) -> String {
    if teams.is_empty() {
        return t(lang, T::NoTeams).into();
    }
    let rows: Vec<Vec<String>> = teams
        .iter()
        .map(|r| {
            vec![
                r.team.id.clone(),
                r.team.name.clone(),
                r.team.commune_code.clone(),
                r.volunteers.to_string(),
                r.devices.to_string(),
                r.team
                    .villages
                    .iter()
                    .map(|v| v.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    table(
        &[
            t(lang, T::Id),
            t(lang, T::Name),
            t(lang, T::Commune),
            t(lang, T::Volunteers),
            t(lang, T::Devices),
            t(lang, T::Villages),
        ],
        &rows,
    )
}

/// After `team edit`: the team's villages now, and what its devices do.
pub fn team_edited(lang: Lang, team: &crate::storage::Team, gained: &[String]) -> String {
    let villages = team
        .villages
        .iter()
        .map(|v| v.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = match lang {
        Lang::Vi => format!("tổ \"{}\" phụ trách: {villages}", team.name),
        Lang::En => format!("team \"{}\" serves: {villages}", team.name),
    };
    if !gained.is_empty() {
        out.push_str(lang.pick(
            "; các máy của tổ nhận hộ của thôn mới ở lần đồng bộ tới",
            "; its devices receive the new villages' households at their next sync",
        ));
    }
    out
}

pub fn volunteer_list(lang: Lang, volunteers: &[VolunteerRow]) -> String {
    if volunteers.is_empty() {
        return t(lang, T::NoVolunteers).into();
    }
    let rows: Vec<Vec<String>> = volunteers
        .iter()
        .map(|r| {
            vec![
                r.volunteer.id.clone(),
                r.volunteer.name.clone(),
                or_dash(r.volunteer.phone.as_deref()),
                r.team_name.clone(),
                r.commune_code.clone(),
                r.devices.to_string(),
                r.trainings.to_string(),
            ]
        })
        .collect();
    table(
        &[
            t(lang, T::Id),
            t(lang, T::Name),
            t(lang, T::Phone),
            t(lang, T::Team),
            t(lang, T::Commune),
            t(lang, T::Devices),
            t(lang, T::Trainings),
        ],
        &rows,
    )
}

pub fn enroll_code_valid(lang: Lang, volunteer: &str, expires_at: i64) -> String {
    match lang {
        Lang::Vi => format!(
            "mã đăng ký máy cho {volunteer}, dùng một lần, hết hạn lúc {} (giờ Việt Nam)",
            local_time(expires_at)
        ),
        Lang::En => format!(
            "enrollment code for {volunteer}, one use, valid until {} (Vietnam time)",
            local_time(expires_at)
        ),
    }
}

fn device_state(lang: Lang, d: &DeviceRow) -> String {
    let mut state = match d.revoked_at {
        Some(r) => format!("{} {}", t(lang, T::Revoked), local_time(r)),
        None => t(lang, T::Active).to_string(),
    };
    if d.wipe_requested {
        state.push_str(&format!(", {}", t(lang, T::WipeRequested)));
    }
    if d.unsent_reports > 0 {
        state.push_str(&match lang {
            Lang::Vi => format!(", {} báo cáo thay đổi chưa gửi", d.unsent_reports),
            Lang::En => format!(", {} unsent-changes reports", d.unsent_reports),
        });
    }
    state
}

pub fn device_list(lang: Lang, devices: &[DeviceRow]) -> String {
    if devices.is_empty() {
        return t(lang, T::NoDevices).into();
    }
    let rows: Vec<Vec<String>> = devices
        .iter()
        .map(|d| {
            vec![
                d.id.clone(),
                d.name.clone(),
                d.volunteer_name.clone(),
                local_time(d.enrolled_at),
                opt_time(lang, d.last_seen_at),
                opt_time(lang, d.last_sync_at),
                or_dash(d.app_version.as_deref()),
                or_dash(d.pending_changes.map(|n| n.to_string()).as_deref()),
                device_state(lang, d),
            ]
        })
        .collect();
    table(
        &[
            t(lang, T::Device),
            t(lang, T::Name),
            t(lang, T::Volunteer),
            t(lang, T::Enrolled),
            t(lang, T::LastSeen),
            t(lang, T::LastSync),
            t(lang, T::AppVersion),
            t(lang, T::PendingChanges),
            t(lang, T::State),
        ],
        &rows,
    )
}

pub fn device_revoked(lang: Lang, device_id: &str, newly: bool, wipe: bool) -> String {
    let done = match (lang, newly) {
        (Lang::Vi, true) => {
            format!("đã thu hồi máy {device_id}: mã truy cập của máy không dùng được nữa")
        }
        (Lang::Vi, false) => format!("máy {device_id} đã bị thu hồi từ trước"),
        (Lang::En, true) => format!("device {device_id} revoked: its token stops working at once"),
        (Lang::En, false) => format!("device {device_id} was already revoked"),
    };
    if !wipe {
        return done;
    }
    match lang {
        Lang::Vi => format!(
            "{done}; lần liên lạc tới, máy gửi lên các thay đổi chưa gửi (`devices unsent`) rồi xoá dữ liệu"
        ),
        Lang::En => format!(
            "{done}; at its next contact it reports the changes it had not sent (`devices unsent`), then wipes its data"
        ),
    }
}

pub fn unsent_list(lang: Lang, reports: &[UnsentReport]) -> String {
    if reports.is_empty() {
        return t(lang, T::NoUnsent).into();
    }
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.device_id.clone(),
                local_time(r.received_at),
                r.changes.to_string(),
                r.documents.to_string(),
            ]
        })
        .collect();
    table(
        &[
            t(lang, T::Report),
            t(lang, T::Device),
            t(lang, T::Received),
            t(lang, T::Changes),
            t(lang, T::Households),
        ],
        &rows,
    )
}

pub fn no_unsent_report(lang: Lang, id: i64) -> String {
    match lang {
        Lang::Vi => format!(
            "không có báo cáo thay đổi chưa gửi số {id}: xem danh sách bằng `gocua-server admin devices unsent`"
        ),
        Lang::En => format!(
            "no unsent-changes report {id}: see them with `gocua-server admin devices unsent`"
        ),
    }
}

pub fn unsent_written(lang: Lang, id: i64, out: &str, bytes: usize) -> String {
    match lang {
        Lang::Vi => format!(
            "đã ghi báo cáo {id} vào {out} ({bytes} byte): trên một máy của tổ, `gocua changes import {out}` nhận các thay đổi này"
        ),
        Lang::En => format!(
            "report {id} written to {out} ({bytes} bytes): `gocua changes import {out}` on a device of the team takes it in"
        ),
    }
}

pub fn village_added(lang: Lang, v: &crate::storage::Village) -> String {
    match lang {
        Lang::Vi => format!(
            "đã thêm thôn \"{}\" (xã/phường {}), mã {}: giao thôn cho một tổ bằng `gocua-server admin team add` hoặc `team edit --add-village`",
            v.name, v.commune_code, v.id
        ),
        Lang::En => format!(
            "village \"{}\" (commune {}) added, id {}: give it to a team with `gocua-server admin team add` or `team edit --add-village`",
            v.name, v.commune_code, v.id
        ),
    }
}

pub fn team_added(lang: Lang, t: &crate::storage::Team) -> String {
    let villages: Vec<&str> = t.villages.iter().map(|v| v.name.as_str()).collect();
    match lang {
        Lang::Vi => format!(
            "đã thêm tổ \"{}\", mã {}, phụ trách: {}; thêm tình nguyện viên bằng `gocua-server admin volunteer add --team {}`",
            t.name,
            t.id,
            villages.join(", "),
            t.id
        ),
        Lang::En => format!(
            "team \"{}\" added, id {}, serving: {}; add volunteers with `gocua-server admin volunteer add --team {}`",
            t.name,
            t.id,
            villages.join(", "),
            t.id
        ),
    }
}

pub fn volunteer_added(lang: Lang, v: &crate::storage::Volunteer) -> String {
    let by = v.phone.as_deref().unwrap_or(&v.id);
    match lang {
        Lang::Vi => format!(
            "đã thêm tình nguyện viên {}, mã {}; cấp mã đăng ký máy bằng `gocua-server admin enroll-code --volunteer {by}`",
            v.name, v.id
        ),
        Lang::En => format!(
            "volunteer {} added, id {}; issue an enrollment code with `gocua-server admin enroll-code --volunteer {by}`",
            v.name, v.id
        ),
    }
}

pub fn console_password_set(lang: Lang, id: &str, login: &str) -> String {
    match lang {
        Lang::Vi => format!(
            "tài khoản {id} đăng nhập trang quản lý bằng tên {login}; các phiên đang mở đã kết thúc"
        ),
        Lang::En => {
            format!("account {id} signs in to the console as {login}; its open sessions have ended")
        }
    }
}

pub fn account_created(lang: Lang, id: &str) -> String {
    match lang {
        Lang::Vi => format!("đã tạo tài khoản {id}; {}", t(lang, T::TokenOnce)),
        Lang::En => format!("account {id} created; {}", t(lang, T::TokenOnce)),
    }
}

fn role(lang: Lang, r: crate::storage::Role) -> &'static str {
    match r {
        crate::storage::Role::Officer => lang.pick("cán bộ", "officer"),
        crate::storage::Role::Operator => lang.pick("vận hành", "operator"),
    }
}

pub fn account_list(lang: Lang, accounts: &[AccountRow]) -> String {
    if accounts.is_empty() {
        return t(lang, T::NoAccounts).into();
    }
    let rows: Vec<Vec<String>> = accounts
        .iter()
        .map(|a| {
            vec![
                a.account.id.clone(),
                role(lang, a.account.role).to_string(),
                a.account.name.clone(),
                or_dash(a.account.province_code.as_deref()),
                or_dash(a.account.commune_code.as_deref()),
                local_time(a.created_at),
                match a.revoked_at {
                    Some(r) => format!("{} {}", t(lang, T::Revoked), local_time(r)),
                    None => t(lang, T::Active).to_string(),
                },
            ]
        })
        .collect();
    table(
        &[
            t(lang, T::Id),
            t(lang, T::Role),
            t(lang, T::Name),
            t(lang, T::Province),
            t(lang, T::Commune),
            t(lang, T::Created),
            t(lang, T::State),
        ],
        &rows,
    )
}

pub fn account_revoked(lang: Lang, id: &str, newly: bool) -> String {
    match (lang, newly) {
        (Lang::Vi, true) => format!(
            "đã thu hồi tài khoản {id}: mã truy cập của tài khoản bị từ chối từ yêu cầu tiếp theo"
        ),
        (Lang::Vi, false) => format!("tài khoản {id} đã bị thu hồi từ trước"),
        (Lang::En, true) => {
            format!("account {id} revoked: its token is refused from the next request on")
        }
        (Lang::En, false) => format!("account {id} was already revoked"),
    }
}

/// `names`: `admin::audit_names`, shown after the id they name.
pub fn audit_list(
    lang: Lang,
    rows: &[AuditRow],
    names: &std::collections::HashMap<String, String>,
) -> String {
    if rows.is_empty() {
        return t(lang, T::NoAudit).into();
    }
    let named = |r: &String| match names.get(r) {
        Some(n) => format!("{r} ({n})"),
        None => r.clone(),
    };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                local_time(r.entry.at),
                named(&r.entry.actor),
                r.entry.action.clone(),
                named(&r.entry.subject),
                r.entry.detail.clone(),
            ]
        })
        .collect();
    table(
        &[
            t(lang, T::TimeVn),
            t(lang, T::Actor),
            t(lang, T::Action),
            t(lang, T::Subject),
            t(lang, T::Detail),
        ],
        &cells,
    )
}

pub fn quarantine_list(lang: Lang, rows: &[QuarantineRow]) -> String {
    if rows.is_empty() {
        return t(lang, T::NoQuarantined).into();
    }
    rows.iter()
        .map(|r| {
            let hash = &r.hash[..r.hash.len().min(12)];
            match lang {
                Lang::Vi => format!(
                    "{}  hộ {}  thay đổi {hash}  từ máy {}  ({} byte): {}",
                    local_time(r.received_at),
                    r.doc_id,
                    r.device_id,
                    r.size,
                    r.reason
                ),
                Lang::En => format!(
                    "{}  household {}  change {hash}  from device {}  ({} bytes): {}",
                    local_time(r.received_at),
                    r.doc_id,
                    r.device_id,
                    r.size,
                    r.reason
                ),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn units_loaded(lang: Lang, n: &crate::storage::UnitsLoaded) -> String {
    match lang {
        Lang::Vi => format!(
            "đã nạp {} xã/phường, {} xã/phường cũ, {} quan hệ kế thừa",
            n.communes, n.legacy_communes, n.successions
        ),
        Lang::En => format!(
            "loaded {} communes, {} legacy communes, {} successions",
            n.communes, n.legacy_communes, n.successions
        ),
    }
}

pub fn bad_start_day(lang: Lang, day: u8) -> String {
    match lang {
        Lang::Vi => format!("--start-day {day}: kỳ báo cáo bắt đầu vào một ngày từ 1 đến 28"),
        Lang::En => format!("--start-day {day}: a reporting period starts on a day from 1 to 28"),
    }
}

pub fn report_periods_set(lang: Lang, day: u8, households: u64) -> String {
    match lang {
        Lang::Vi => format!("kỳ báo cáo bắt đầu vào ngày {day}; đã tính lại {households} hộ"),
        Lang::En => {
            format!("reporting periods start on day {day}; {households} households counted again")
        }
    }
}

pub fn report_rebuilt(lang: Lang, households: u64) -> String {
    match lang {
        Lang::Vi => format!("đã dựng lại dữ liệu báo cáo: {households} hộ"),
        Lang::En => format!("report projection rebuilt: {households} households"),
    }
}

pub fn bad_role(lang: Lang, role: &str) -> String {
    match lang {
        Lang::Vi => format!("vai trò \"{role}\" không có: chọn officer hoặc operator"),
        Lang::En => format!("no role \"{role}\": give officer or operator"),
    }
}

pub fn training_list(lang: Lang, rows: &[TrainingRow]) -> String {
    if rows.is_empty() {
        return t(lang, T::NoTrainings).into();
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.training.id.to_string(),
                r.training.held_on.clone(),
                r.training.topic.clone(),
                r.training.place.clone(),
                r.training.commune_code.clone(),
                r.team_name
                    .clone()
                    .unwrap_or_else(|| lang.pick("cả xã", "whole commune").to_string()),
                r.attendees.to_string(),
            ]
        })
        .collect();
    let total: i64 = rows.iter().map(|r| r.attendees).sum();
    let mut out = table(
        &[
            t(lang, T::Id),
            t(lang, T::Day),
            t(lang, T::Topic),
            t(lang, T::Place),
            t(lang, T::Commune),
            t(lang, T::Team),
            t(lang, T::Attendees),
        ],
        &cells,
    );
    out.push('\n');
    out.push_str(&match lang {
        Lang::Vi => format!("{} buổi, {total} lượt người dự", rows.len()),
        Lang::En => format!("{} sessions, {total} attendances", rows.len()),
    });
    out
}

pub fn attended(lang: Lang, a: &crate::admin::Attended) -> String {
    let already = a.volunteers.len() as u64 - a.recorded.min(a.volunteers.len() as u64);
    match lang {
        Lang::Vi => format!(
            "buổi tập huấn {} ({}, {}): đã ghi {} người dự{}",
            a.training.id,
            a.training.topic,
            a.training.held_on,
            a.recorded,
            if already > 0 {
                format!(", {already} người đã được ghi từ trước")
            } else {
                String::new()
            }
        ),
        Lang::En => format!(
            "training session {} ({}, {}): {} attendees recorded{}",
            a.training.id,
            a.training.topic,
            a.training.held_on,
            a.recorded,
            if already > 0 {
                format!(", {already} were already")
            } else {
                String::new()
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_vietnam_time() {
        // 2026-01-01 17:00 UTC is midnight of the 2nd in Vietnam.
        assert_eq!(local_time(1_767_286_800), "2026-01-02 00:00:00");
        assert_eq!(
            local_time_rfc3339(1_767_286_800),
            "2026-01-02T00:00:00+07:00"
        );
    }

    #[test]
    fn columns_line_up_by_characters() {
        let out = table(
            &["Tên", "Mã"],
            &[
                vec!["Nguyễn Thị Lan".into(), "1".into()],
                vec!["Tú".into(), "22".into()],
            ],
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "Tên             Mã");
        assert_eq!(lines[1], "Nguyễn Thị Lan  1");
        assert_eq!(lines[2], "Tú              22");
    }

    #[test]
    fn every_error_is_said_in_both_languages() {
        let e = AdminError::NoTeam("x".into());
        assert_ne!(admin_error(Lang::Vi, &e), admin_error(Lang::En, &e));
        assert_eq!(e.to_string(), admin_error(Lang::En, &e));
        assert_eq!(Lang::detect(Some("en")), Lang::En);
        assert_eq!(Lang::detect(Some("vi")), Lang::Vi);
    }
}
