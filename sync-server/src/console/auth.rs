//! Signing in to the console: argon2 passwords, session cookies (the token
//! stored only as its SHA-256), the per-session anti-forgery token every
//! form carries, and sign-in attempts limited per address and per login
//! name (`crate::throttle`, as enrollment is).

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use subtle::ConstantTimeEq;

use super::text::{Lang, Msg};
use super::{Area, Refusal, blocking};
use crate::api::AppState;
use crate::storage::{Account, AuditEntry, StorageError, StorageResult};
use crate::{now, secrets, serve};

pub const SESSION_COOKIE: &str = "gocua_session";
/// The sign-in form's own anti-forgery token (there is no session yet).
const LOGIN_COOKIE: &str = "gocua_login";
pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_BYTES: usize = 1024;
pub const MAX_LOGIN_CHARS: usize = 64;

/// Why a password or login name was refused (`admin account password`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error(
        "the password must have at least {MIN_PASSWORD_CHARS} characters (and at most {MAX_PASSWORD_BYTES} bytes): choose a longer one / mật khẩu cần ít nhất {MIN_PASSWORD_CHARS} ký tự"
    )]
    WeakPassword,
    #[error(
        "a login name has 1 to {MAX_LOGIN_CHARS} characters, no spaces or control characters / tên đăng nhập từ 1 đến {MAX_LOGIN_CHARS} ký tự, không có dấu cách"
    )]
    BadLogin,
    #[error("the password could not be hashed: {0}")]
    Hash(String),
}

impl From<CredentialError> for StorageError {
    fn from(e: CredentialError) -> StorageError {
        StorageError::Invalid(e.to_string())
    }
}

/// What a typed login name means: NFC, trimmed, lower case.
pub fn normalize_login(login: &str) -> Result<String, CredentialError> {
    let l = gocua_text::clean(login).to_lowercase();
    if l.is_empty()
        || l.chars().count() > MAX_LOGIN_CHARS
        || l.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(CredentialError::BadLogin);
    }
    Ok(l)
}

/// An argon2id hash of `password` (a PHC string with its random salt).
pub fn hash_password(password: &str) -> Result<String, CredentialError> {
    check_password(password)?;
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| CredentialError::Hash(e.to_string()))
}

/// Whether `password` is long enough, and short enough to hash.
pub fn check_password(password: &str) -> Result<(), CredentialError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(CredentialError::WeakPassword);
    }
    Ok(())
}

/// Whether `password` is the one `hash` was made from.
pub fn verify_password(password: &str, hash: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash no password matches, checked for unknown login names so that
/// they take as long to refuse as known ones.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        hash_password(&secrets::new_token().into_inner()).unwrap_or_else(|_| String::new())
    })
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// A `Set-Cookie` value for the console's path: HttpOnly, SameSite=Strict,
/// Secure unless the configuration turned it off for plain-http testing.
fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if state.config.console_secure_cookie {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/console; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok()
}

fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub account: Account,
    pub area: Area,
    pub csrf: String,
    pub lang: Lang,
    token_hash: String,
}

impl Viewer {
    pub fn actor(&self) -> String {
        format!("account:{}", self.account.id)
    }

    /// The fields of a posted form, once its anti-forgery token matched
    /// this session's.
    pub fn form(&self, body: &Bytes) -> Result<Form, Refusal> {
        let form = Form::parse(body);
        if !same(form.get("csrf"), &self.csrf) {
            return Err(Refusal::new(StatusCode::FORBIDDEN, Msg::Forged));
        }
        Ok(form)
    }
}

/// A posted form's fields, in order (a field may repeat).
#[derive(Debug, Clone, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The field's first value, `""` when it is missing.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Why a request has no viewer: no live session (it goes to the sign-in
/// page), or one that cannot be served.
#[derive(Debug)]
pub enum NoViewer {
    SignIn,
    Refused(Lang, Refusal),
}

impl IntoResponse for NoViewer {
    fn into_response(self) -> Response {
        match self {
            NoViewer::SignIn => Redirect::to("/console/login").into_response(),
            NoViewer::Refused(lang, r) => r.page(lang),
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = NoViewer;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, NoViewer> {
        let lang = Lang::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).filter(|t| !t.is_empty()) else {
            return Err(NoViewer::SignIn);
        };
        let token_hash = secrets::token_hash(&token);
        let hash = token_hash.clone();
        let session = blocking(state, move |s| Ok(s.console_session(&hash, now())?))
            .await
            .map_err(|r| NoViewer::Refused(lang, r))?;
        let Some(session) = session.filter(|s| !s.revoked) else {
            return Err(NoViewer::SignIn);
        };
        let Some(area) = Area::of(&session.account) else {
            return Err(NoViewer::Refused(
                lang,
                Refusal::new(StatusCode::FORBIDDEN, Msg::NoArea),
            ));
        };
        Ok(Viewer {
            account: session.account,
            area,
            csrf: session.csrf_token,
            lang,
            token_hash,
        })
    }
}

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    l: Lang,
    csrf: String,
    login: String,
    failed: bool,
}

fn login_form(
    state: &AppState,
    lang: Lang,
    status: StatusCode,
    login: &str,
    failed: bool,
) -> Response {
    let csrf = secrets::new_token().into_inner();
    let page = LoginPage {
        l: lang,
        csrf: csrf.clone(),
        login: login.to_string(),
        failed,
    };
    match page.render() {
        Ok(body) => {
            let mut resp = (status, Html(body)).into_response();
            if let Some(c) = set_cookie(state, LOGIN_COOKIE, &csrf, 3600) {
                resp.headers_mut().append(header::SET_COOKIE, c);
            }
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "console: the sign-in page did not render");
            Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, Msg::Failed).page(lang)
        }
    }
}

pub async fn login_page(State(state): State<AppState>, lang: Lang) -> Response {
    login_form(&state, lang, StatusCode::OK, "", false)
}

pub async fn login(
    State(state): State<AppState>,
    lang: Lang,
    peer: Option<axum::Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !same(form.get("csrf"), &expected) {
        return Refusal::new(StatusCode::FORBIDDEN, Msg::Forged).page(lang);
    }
    let typed = form.get("login").to_string();
    let login = normalize_login(&typed).unwrap_or_default();
    let address = serve::client_address(
        Some(state.config.client_address_header.as_str()),
        &headers,
        peer.map(|axum::Extension(ConnectInfo(p))| p),
    );
    let address_text = address.map(|a| a.to_string()).unwrap_or_default();
    if let Err(refused) = state.login_throttle.check(address, &login, now()) {
        let wait = refused.retry_after.as_secs().max(1);
        tracing::debug!(?address, wait, "console sign-in over the limit");
        let mut r = Refusal::new(StatusCode::TOO_MANY_REQUESTS, Msg::TooManyLogins)
            .with_detail(format!("{wait} s"));
        r.retry_after = Some(wait);
        return r.page(lang);
    }
    let password = form.get("password").to_string();
    let name = login.clone();
    let checked = blocking(&state, move |s| {
        let found = if name.is_empty() {
            None
        } else {
            s.console_login(&name)?
        };
        let hash = found
            .as_ref()
            .map_or(decoy_hash(), |f| f.password_hash.as_str());
        let matches = verify_password(&password, hash);
        Ok(found.filter(|_| matches))
    })
    .await;
    let found = match checked {
        Ok(f) => f,
        Err(r) => return r.page(lang),
    };
    let refused = |why: &str| AuditEntry {
        at: now(),
        actor: "anonymous".into(),
        action: "console_login_refused".into(),
        subject: format!("login:{login}"),
        detail: format!("reason={why} address={address_text}"),
    };
    let Some(found) = found else {
        crate::api::audit(&state, refused("wrong_password")).await;
        return login_form(&state, lang, StatusCode::UNAUTHORIZED, &typed, true);
    };
    if found.revoked || Area::of(&found.account).is_none() {
        crate::api::audit(&state, refused("account_revoked_or_without_area")).await;
        return login_form(&state, lang, StatusCode::UNAUTHORIZED, &typed, true);
    }
    let token = secrets::new_token();
    let csrf = secrets::new_token().into_inner();
    let hours = i64::from(state.config.console_session_hours);
    let account = found.account.clone();
    let token_hash = secrets::token_hash(token.expose());
    let at = now();
    let started = blocking(&state, move |s| {
        s.add_console_session(&token_hash, &account.id, &csrf, at, at + hours * 3600)?;
        s.audit(&AuditEntry {
            at,
            actor: format!("account:{}", account.id),
            action: "console_login".into(),
            subject: format!("login:{}", found.login),
            detail: format!("address={address_text}"),
        })?;
        Ok(())
    })
    .await;
    if let Err(r) = started {
        return r.page(lang);
    }
    tracing::info!(account = %found.account.id, "console sign-in");
    let mut resp = Redirect::to("/console/").into_response();
    let h = resp.headers_mut();
    if let Some(c) = set_cookie(&state, SESSION_COOKIE, token.expose(), hours * 3600) {
        h.append(header::SET_COOKIE, c);
    }
    if let Some(c) = set_cookie(&state, LOGIN_COOKIE, "", 0) {
        h.append(header::SET_COOKIE, c);
    }
    resp
}

pub async fn logout(State(state): State<AppState>, viewer: Viewer, body: Bytes) -> Response {
    if let Err(r) = viewer.form(&body) {
        return r.page(viewer.lang);
    }
    let hash = viewer.token_hash.clone();
    let actor = viewer.actor();
    let ended = blocking(&state, move |s| {
        s.end_console_session(&hash)?;
        s.audit(&AuditEntry {
            at: now(),
            actor,
            action: "console_logout".into(),
            subject: String::new(),
            detail: String::new(),
        })?;
        Ok(())
    })
    .await;
    if let Err(r) = ended {
        return r.page(viewer.lang);
    }
    let mut resp = Redirect::to("/console/login").into_response();
    if let Some(c) = set_cookie(&state, SESSION_COOKIE, "", 0) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// Sets the password `account_id` signs in to the console with, and its
/// login name (`login`, else the one it has): `gocua-server admin account
/// password`. Its open sessions end. Returns the login name.
pub fn set_password(
    storage: &dyn crate::storage::Storage,
    account_id: &str,
    login: Option<&str>,
    password: &str,
) -> StorageResult<String> {
    let account_id = account_id.trim();
    let login = match login {
        Some(l) => normalize_login(l)?,
        None => storage.console_login_of(account_id)?.ok_or_else(|| {
            StorageError::Invalid(format!(
                "account {account_id} has no login name yet: give --login NAME / tài khoản chưa có tên đăng nhập: thêm --login TÊN"
            ))
        })?,
    };
    let hash = hash_password(password)?;
    storage.set_console_login(account_id, &login, &hash, now())?;
    storage.audit(&AuditEntry {
        at: now(),
        actor: "admin".into(),
        action: "console_password_set".into(),
        subject: format!("account:{account_id}"),
        detail: format!("login={login}"),
    })?;
    Ok(login)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("mật khẩu rất dài").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("mật khẩu rất dài", &h));
        assert!(!verify_password("mật khẩu rất dàI", &h));
        assert!(!verify_password("anything", "not a hash"));
        assert_ne!(hash_password("mật khẩu rất dài").unwrap(), h, "salted");
        assert_eq!(hash_password("short"), Err(CredentialError::WeakPassword));
        assert!(!verify_password("x", decoy_hash()));
    }

    #[test]
    fn login_names_are_folded_and_checked() {
        assert_eq!(normalize_login("  Lan.Nguyen ").unwrap(), "lan.nguyen");
        // NFD input is the NFC name.
        assert_eq!(
            normalize_login("ca\u{300}mau").unwrap(),
            normalize_login("càmau").unwrap()
        );
        assert_eq!(normalize_login("two words"), Err(CredentialError::BadLogin));
        assert_eq!(normalize_login(""), Err(CredentialError::BadLogin));
        assert_eq!(normalize_login("a\u{0}b"), Err(CredentialError::BadLogin));
    }

    #[test]
    fn cookies_and_tokens() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("gocua_lang=en; gocua_session=abc123"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc123"));
        assert_eq!(cookie(&h, "gocua_lang").as_deref(), Some("en"));
        assert_eq!(cookie(&h, LOGIN_COOKIE), None);
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("", ""), "an empty token never matches");
        let f = Form::parse(b"csrf=x&village=a&village=b%20c&name=Th%C3%B4n");
        assert_eq!(f.get("name"), "Thôn");
        assert_eq!(f.all("village"), vec!["a", "b c"]);
        assert_eq!(f.get("missing"), "");
    }
}
