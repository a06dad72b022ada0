//! The store's passphrase: from `GOCUA_PASSPHRASE` for scripts, otherwise
//! asked on the terminal without echo. Never an option on the command line,
//! where other users of the machine and the shell's history would see it.

use std::io::IsTerminal;
use std::path::Path;

use field_core::StoreKey;
use field_core::store::cipher::{self, FileState};

use crate::error::CliError;
use crate::i18n::Lang;

/// The variable a script gives the passphrase in.
pub const ENV_PASSPHRASE: &str = "GOCUA_PASSPHRASE";
/// Set to `1` to keep a store unencrypted: test stores only (docs/mobile.md).
pub const ENV_UNENCRYPTED: &str = "GOCUA_STORE_UNENCRYPTED";
/// The variable a script gives the new passphrase in (`passphrase change`).
pub const ENV_NEW_PASSPHRASE: &str = "GOCUA_NEW_PASSPHRASE";
/// The shortest passphrase a new store takes.
pub const MIN_CHARS: usize = 8;

/// What is wrong with the passphrase given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// No terminal to ask on and no `GOCUA_PASSPHRASE`.
    Needed,
    /// The two entries of a new passphrase differ.
    Mismatch,
    /// A new passphrase shorter than [`MIN_CHARS`].
    TooShort,
}

/// The key the store at `path` opens with.
pub fn store_key(path: &Path, lang: Lang) -> Result<StoreKey, CliError> {
    if std::env::var(ENV_UNENCRYPTED).is_ok_and(|v| v == "1") {
        return Ok(StoreKey::Unencrypted);
    }
    let state = cipher::file_state(path)?;
    // A passphrase that will encrypt the store (a new one, or an old plain
    // one) must be long enough; an existing one is taken as it is.
    let new = state != FileState::Encrypted;
    if let Some(key) = from_env(ENV_PASSPHRASE, new)? {
        return Ok(key);
    }
    if !new {
        let p = ask(lang, "Mật khẩu kho dữ liệu: ", "Store passphrase: ")?;
        return Ok(StoreKey::Passphrase(p));
    }
    new_passphrase(lang, None)
}

/// The passphrase a script gave in `var`, if it did; a new one (`new`) must
/// be long enough.
fn from_env(var: &str, new: bool) -> Result<Option<StoreKey>, CliError> {
    let Some(p) = std::env::var_os(var) else {
        return Ok(None);
    };
    let p = p.to_string_lossy().into_owned();
    if new && p.chars().count() < MIN_CHARS {
        return Err(CliError::Passphrase(Problem::TooShort));
    }
    Ok(Some(StoreKey::Passphrase(p)))
}

/// Asks on the terminal, without echo.
fn ask(lang: Lang, vi: &str, en: &str) -> Result<String, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Passphrase(Problem::Needed));
    }
    rpassword::prompt_password(lang.pick(vi, en)).map_err(CliError::Output)
}

/// A new passphrase: from the variable `env` when set, else asked twice.
fn new_passphrase(lang: Lang, env: Option<&str>) -> Result<StoreKey, CliError> {
    if let Some(var) = env
        && let Some(key) = from_env(var, true)?
    {
        return Ok(key);
    }
    let first = ask(
        lang,
        "Đặt mật khẩu để mã hoá dữ liệu trên máy (ít nhất 8 ký tự): ",
        "Choose a passphrase to encrypt the data on this device (at least 8 characters): ",
    )?;
    if first.chars().count() < MIN_CHARS {
        return Err(CliError::Passphrase(Problem::TooShort));
    }
    let again = ask(lang, "Nhập lại mật khẩu: ", "Type the passphrase again: ")?;
    if again != first {
        return Err(CliError::Passphrase(Problem::Mismatch));
    }
    Ok(StoreKey::Passphrase(first))
}

/// `gocua passphrase change`.
pub fn change(ctx: &crate::commands::Ctx) -> Result<(), CliError> {
    let path = ctx.store_path();
    if cipher::file_state(&path)? == FileState::Missing {
        return Err(field_core::Error::NotInitialized.into());
    }
    let lang = ctx.out.lang;
    let old = store_key(&path, lang)?;
    let new = new_passphrase(lang, Some(ENV_NEW_PASSPHRASE))?;
    cipher::change_key(&path, &old, &new)?;
    ctx.out.emit(&serde_json::json!({ "changed": true }), || {
        vec![match lang {
            Lang::Vi => {
                "Đã đổi mật khẩu. Từ nay dùng mật khẩu mới để mở dữ liệu trên máy này.".into()
            }
            Lang::En => {
                "Passphrase changed. From now on the new one opens the data on this device.".into()
            }
        }]
    })
}

/// The message for `problem`.
pub fn message(lang: Lang, problem: Problem) -> String {
    match (lang, problem) {
        (Lang::Vi, Problem::Needed) => format!(
            "dữ liệu trên máy được mã hoá và cần mật khẩu: chạy lệnh trong một cửa sổ dòng lệnh để nhập mật khẩu, hoặc đặt biến {ENV_PASSPHRASE} cho các tập lệnh."
        ),
        (Lang::En, Problem::Needed) => format!(
            "the data on this device is encrypted and needs its passphrase: run the command in a terminal to type it, or set {ENV_PASSPHRASE} for scripts."
        ),
        (Lang::Vi, Problem::Mismatch) => {
            "hai lần nhập mật khẩu không giống nhau: chưa có gì được ghi, hãy chạy lại lệnh.".into()
        }
        (Lang::En, Problem::Mismatch) => {
            "the two passphrases typed differ: nothing was written, run the command again.".into()
        }
        (Lang::Vi, Problem::TooShort) => {
            format!("mật khẩu mới quá ngắn: cần ít nhất {MIN_CHARS} ký tự. Chưa có gì được ghi.")
        }
        (Lang::En, Problem::TooShort) => format!(
            "the new passphrase is too short: it needs at least {MIN_CHARS} characters. Nothing was written."
        ),
    }
}
