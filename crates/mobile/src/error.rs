//! The one error the app receives: what kind, which field, and a message in
//! the user's language, ready to show.

use field_core::Error as CoreError;
use field_core::messages::{self, Lang};

/// What went wrong. `kind` in each variant's name is stable for the app's
/// code; `message` is for the person, in the store's language.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum GocuaError {
    /// A value was refused: `field` is its stable name (`phone`,
    /// `birth_year` ...), `problem` a stable code of what is wrong.
    #[error("{message}")]
    Invalid {
        field: String,
        problem: String,
        message: String,
    },
    /// No household, member, visit, consent or village with that id.
    #[error("{message}")]
    NotFound { message: String },
    /// The device is not set up, or not enrolled, or set up already.
    #[error("{message}")]
    NotReady { message: String },
    /// The key does not open the store, or the store needs one.
    #[error("{message}")]
    WrongKey { message: String },
    /// The server could not be reached, or the connection broke: nothing is
    /// lost, sync again later.
    #[error("{message}")]
    Network { message: String },
    /// The server refused (`code` is the protocol's error code).
    #[error("{message}")]
    Refused { code: String, message: String },
    /// The operator revoked this device; with `wiped`, its data was wiped
    /// after the `reported` unsent changes reached the server.
    #[error("{message}")]
    Revoked {
        wiped: bool,
        reported: u64,
        message: String,
    },
    /// The sync was cancelled; what it did before stays done.
    #[error("{message}")]
    Cancelled { message: String },
    /// Anything else (storage, a damaged change file ...).
    #[error("{message}")]
    Other { code: String, message: String },
}

/// `error` in `lang`.
pub fn from_core(lang: Lang, error: CoreError) -> GocuaError {
    let say = |vi: &str, en: &str| lang.pick(vi, en).to_string();
    match error {
        CoreError::Invalid(inv) => GocuaError::Invalid {
            field: inv.field.name().to_string(),
            problem: problem_code(&inv.problem),
            message: messages::invalid(lang, &inv),
        },
        CoreError::NotFound { kind, id } => GocuaError::NotFound {
            message: match lang {
                Lang::Vi => format!(
                    "không tìm thấy {} có mã {id}.",
                    messages::kind_label(lang, kind)
                ),
                Lang::En => format!("no {} with id {id}.", messages::kind_label(lang, kind)),
            },
        },
        CoreError::Ambiguous { kind, id } => GocuaError::NotFound {
            message: match lang {
                Lang::Vi => format!(
                    "mã {id} khớp với nhiều {}: hãy nhập thêm ký tự.",
                    messages::kind_label(lang, kind)
                ),
                Lang::En => format!(
                    "the id {id} matches several {}s: give more characters.",
                    messages::kind_label(lang, kind)
                ),
            },
        },
        CoreError::NotInitialized => GocuaError::NotReady {
            message: say(
                "máy này chưa được thiết lập: hãy đăng ký máy hoặc thiết lập trước.",
                "this device is not set up yet: enroll or set it up first.",
            ),
        },
        CoreError::AlreadyInitialized { volunteer } => GocuaError::NotReady {
            message: match lang {
                Lang::Vi => format!("máy này đã được thiết lập cho tình nguyện viên {volunteer}."),
                Lang::En => format!("this device is set up already for volunteer {volunteer}."),
            },
        },
        CoreError::NotEnrolled => GocuaError::NotReady {
            message: say(
                "máy này chưa đăng ký với máy chủ: hãy đăng ký bằng mã do xã cấp.",
                "this device is not enrolled with a server: enroll it with the commune's code.",
            ),
        },
        CoreError::WrongKey { .. } => GocuaError::WrongKey {
            message: say(
                "khoá không mở được dữ liệu đã mã hoá trên máy. Dữ liệu không bị thay đổi.",
                "the key does not open the encrypted data on this device. Nothing was changed.",
            ),
        },
        CoreError::KeyNeeded { .. } => GocuaError::WrongKey {
            message: say(
                "dữ liệu trên máy đã được mã hoá: cần khoá để mở.",
                "the data on this device is encrypted: it needs its key.",
            ),
        },
        CoreError::Network(_) | CoreError::Unreachable { .. } => GocuaError::Network {
            message: say(
                "không kết nối được máy chủ. Dữ liệu vẫn ở trên máy; hãy đồng bộ lại khi có mạng.",
                "the server could not be reached. The data stays on the device; sync again when there is a network.",
            ),
        },
        CoreError::Revoked { wipe, .. } => GocuaError::Revoked {
            wiped: false,
            reported: 0,
            message: if wipe {
                say(
                    "máy này đã bị thu hồi và cần xoá dữ liệu, nhưng chưa gửi được các thay đổi chưa đồng bộ: dữ liệu vẫn được giữ. Hãy đồng bộ lại khi có mạng.",
                    "this device was revoked and is to wipe its data, but could not yet send its unsent changes: the data is kept. Sync again when there is a network.",
                )
            } else {
                say(
                    "máy này đã bị quản trị viên thu hồi quyền đồng bộ; dữ liệu trên máy không bị xoá. Liên hệ cán bộ xã để đăng ký lại.",
                    "this device was revoked by the operator; nothing on it was deleted. Ask the commune officer to enroll it again.",
                )
            },
        },
        CoreError::Wiped { reported } => GocuaError::Revoked {
            wiped: true,
            reported,
            message: match lang {
                Lang::Vi => format!(
                    "máy này đã bị thu hồi và dữ liệu trên máy đã được xoá; trước đó {reported} thay đổi chưa đồng bộ đã được gửi cho quản trị viên."
                ),
                Lang::En => format!(
                    "this device was revoked and its data wiped; first, the {reported} changes it had not synced were sent to the operator."
                ),
            },
        },
        CoreError::Cancelled => GocuaError::Cancelled {
            message: say(
                "đã dừng đồng bộ: những gì đã gửi và nhận vẫn được giữ.",
                "the sync was stopped: what was sent and received is kept.",
            ),
        },
        CoreError::Server { code, message, .. } => GocuaError::Refused {
            message: match lang {
                Lang::Vi => format!("máy chủ từ chối ({code}): {message}"),
                Lang::En => format!("the server refused ({code}): {message}"),
            },
            code,
        },
        other => GocuaError::Other {
            code: other_code(&other).to_string(),
            message: match lang {
                Lang::Vi => format!("lỗi: {other}"),
                Lang::En => format!("error: {other}"),
            },
        },
    }
}

fn other_code(e: &CoreError) -> &'static str {
    match e {
        CoreError::TooNew { .. } => "store_too_new",
        CoreError::BadChanges(_) => "bad_changes",
        CoreError::BadDocument { .. } => "bad_document",
        CoreError::Storage(_) => "storage",
        CoreError::Io { .. } => "io",
        CoreError::InUse { .. } => "store_in_use",
        CoreError::BadServerUrl(_) => "bad_server_url",
        CoreError::OutsideVillages { .. } => "outside_villages",
        CoreError::BreaksRule(_) => "breaks_rule",
        _ => "other",
    }
}

/// The problem's stable code: its variant's name in snake case.
fn problem_code(p: &field_core::Problem) -> String {
    let debug = format!("{p:?}");
    let name = debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default();
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A panic inside the library, caught at the boundary: told, never crossing.
pub fn panicked(lang: Lang) -> GocuaError {
    GocuaError::Other {
        code: "internal".into(),
        message: lang
            .pick(
                "lỗi nội bộ của gocua: thao tác không được thực hiện, dữ liệu không bị thay đổi. Hãy báo cho nhóm phát triển.",
                "an internal error in gocua: nothing was done, the data was not changed. Please report it.",
            )
            .to_string(),
    }
}
