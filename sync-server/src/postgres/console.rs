//! The web console's SQL (`crate::console`): sign-ins, sessions, and what
//! its pages list and change. The same behaviour as `sqlite::console`.

use tokio_postgres::Row;

use super::conn::{PgConn, get};
use super::{team_row, village_of};
use crate::storage::{
    Account, AreaScope, AuditArea, AuditEntry, AuditQuery, AuditRow, ConflictedHousehold,
    ConsoleLogin, ConsoleSession, Role, StorageError, StorageResult, TextMatch, Village, Volunteer,
};

/// An account from columns id, role, name, province_code, commune_code at
/// `at`.
fn account_at(r: &Row, at: usize) -> StorageResult<Account> {
    let id: String = get(r, at)?;
    let role: String = get(r, at + 1)?;
    let role = Role::parse(&role)
        .ok_or_else(|| StorageError::Incompatible(format!("account {id} has role {role:?}")))?;
    Ok(Account {
        id,
        role,
        name: get(r, at + 2)?,
        province_code: get(r, at + 3)?,
        commune_code: get(r, at + 4)?,
    })
}

pub(super) fn set_login(
    c: &mut PgConn,
    account_id: &str,
    login: &str,
    password_hash: &str,
    now: i64,
) -> StorageResult<()> {
    let exists: bool = get(
        &c.query_one(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)",
            &[&account_id],
        )?,
        0,
    )?;
    if !exists {
        return Err(StorageError::NotFound(format!("no account {account_id}")));
    }
    let holder: Option<String> = c
        .query_opt(
            "SELECT account_id FROM console_logins WHERE login = $1 FOR UPDATE",
            &[&login],
        )?
        .map(|r| get(&r, 0))
        .transpose()?;
    if let Some(other) = holder.filter(|h| h != account_id) {
        return Err(StorageError::Invalid(format!(
            "the login name {login:?} belongs to account {other}: choose another"
        )));
    }
    c.execute(
        "INSERT INTO console_logins (account_id, login, password_hash, set_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id) DO UPDATE SET login = excluded.login,
            password_hash = excluded.password_hash, set_at = excluded.set_at",
        &[&account_id, &login, &password_hash, &now],
    )?;
    c.execute(
        "DELETE FROM console_sessions WHERE account_id = $1",
        &[&account_id],
    )?;
    Ok(())
}

pub(super) fn login(c: &mut PgConn, login: &str) -> StorageResult<Option<ConsoleLogin>> {
    c.query_opt(
        "SELECT a.id, a.role, a.name, a.province_code, a.commune_code, a.revoked_at,
                l.login, l.password_hash
         FROM console_logins l JOIN accounts a ON a.id = l.account_id WHERE l.login = $1",
        &[&login],
    )?
    .map(|r| {
        Ok(ConsoleLogin {
            account: account_at(&r, 0)?,
            revoked: get::<Option<i64>>(&r, 5)?.is_some(),
            login: get(&r, 6)?,
            password_hash: get(&r, 7)?,
        })
    })
    .transpose()
}

pub(super) fn login_of(c: &mut PgConn, account_id: &str) -> StorageResult<Option<String>> {
    c.query_opt(
        "SELECT login FROM console_logins WHERE account_id = $1",
        &[&account_id],
    )?
    .map(|r| get(&r, 0))
    .transpose()
}

pub(super) fn add_session(
    c: &mut PgConn,
    token_hash: &str,
    account_id: &str,
    csrf_token: &str,
    now: i64,
    expires_at: i64,
) -> StorageResult<()> {
    c.execute(
        "DELETE FROM console_sessions WHERE expires_at <= $1",
        &[&now],
    )?;
    c.execute(
        "INSERT INTO console_sessions (token_hash, account_id, csrf_token, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[&token_hash, &account_id, &csrf_token, &now, &expires_at],
    )?;
    Ok(())
}

pub(super) fn session(
    c: &mut PgConn,
    token_hash: &str,
    now: i64,
) -> StorageResult<Option<ConsoleSession>> {
    c.query_opt(
        "SELECT a.id, a.role, a.name, a.province_code, a.commune_code, a.revoked_at,
                s.csrf_token, s.expires_at
         FROM console_sessions s JOIN accounts a ON a.id = s.account_id
         WHERE s.token_hash = $1 AND s.expires_at > $2",
        &[&token_hash, &now],
    )?
    .map(|r| {
        Ok(ConsoleSession {
            account: account_at(&r, 0)?,
            revoked: get::<Option<i64>>(&r, 5)?.is_some(),
            csrf_token: get(&r, 6)?,
            expires_at: get(&r, 7)?,
        })
    })
    .transpose()
}

pub(super) fn end_session(c: &mut PgConn, token_hash: &str) -> StorageResult<bool> {
    Ok(c.execute(
        "DELETE FROM console_sessions WHERE token_hash = $1",
        &[&token_hash],
    )? > 0)
}

pub(super) fn rename_village(
    c: &mut PgConn,
    village_id: &str,
    name: &str,
) -> StorageResult<Village> {
    c.query_opt(
        "UPDATE villages SET name = $2 WHERE id = $1 RETURNING id, commune_code, name",
        &[&village_id, &name],
    )?
    .map(|r| village_of(&r))
    .transpose()?
    .ok_or_else(|| StorageError::NotFound(format!("no village {village_id}")))
}

pub(super) fn update_volunteer(c: &mut PgConn, v: &Volunteer) -> StorageResult<()> {
    if team_row(c, &v.team_id)?.is_none() {
        return Err(StorageError::NotFound(format!("no team {}", v.team_id)));
    }
    let n = c.execute(
        "UPDATE volunteers SET name = $2, phone = $3, team_id = $4 WHERE id = $1",
        &[&v.id, &v.name, &v.phone, &v.team_id],
    )?;
    if n == 0 {
        return Err(StorageError::NotFound(format!("no volunteer {}", v.id)));
    }
    Ok(())
}

pub(super) fn search_audit(c: &mut PgConn, q: &AuditQuery) -> StorageResult<Vec<AuditRow>> {
    let (actor_is, actor_part) = TextMatch::params(&q.actor);
    let (action_is, action_part) = TextMatch::params(&q.action);
    let (subject_is, subject_part) = TextMatch::params(&q.subject);
    let (commune, province) = AuditArea::params(&q.area);
    c.query(
        "SELECT id, at, actor, action, subject, detail FROM audit
         WHERE ($1::text IS NULL OR actor = $1 OR left(actor, length($1) + 1) = $1 || ':')
           AND ($2::text IS NULL OR strpos(lower(actor), lower($2)) > 0)
           AND ($3::text IS NULL OR action = $3)
           AND ($4::text IS NULL OR strpos(lower(action), lower($4)) > 0)
           AND ($5::text IS NULL OR subject = $5)
           AND ($6::text IS NULL OR strpos(lower(subject), lower($6)) > 0)
           AND ($7::bigint IS NULL OR at >= $7)
           AND ($8::bigint IS NULL OR at < $8)
           AND ($11::text IS NULL OR commune_code = $11)
           AND ($12::text IS NULL OR province_code = $12)
         ORDER BY id DESC LIMIT $9 OFFSET $10",
        &[
            &actor_is,
            &actor_part,
            &action_is,
            &action_part,
            &subject_is,
            &subject_part,
            &q.from,
            &q.until,
            &i64::from(q.limit),
            &i64::from(q.offset),
            &commune,
            &province,
        ],
    )?
    .iter()
    .map(|r| {
        Ok(AuditRow {
            id: get(r, 0)?,
            entry: AuditEntry {
                at: get(r, 1)?,
                actor: get(r, 2)?,
                action: get(r, 3)?,
                subject: get(r, 4)?,
                detail: get(r, 5)?,
            },
        })
    })
    .collect()
}

pub(super) fn conflicted(
    c: &mut PgConn,
    scope: &AreaScope,
    offset: u32,
    limit: u32,
) -> StorageResult<Vec<ConflictedHousehold>> {
    let (offset, limit) = (i64::from(offset), i64::from(limit));
    let rows = match scope {
        AreaScope::Country => c.query(
            "SELECT id, village_id, conflicts FROM report_households
             WHERE conflicts > 0 ORDER BY village_id COLLATE \"C\", id COLLATE \"C\" LIMIT $1 OFFSET $2",
            &[&limit, &offset],
        )?,
        AreaScope::Province(p) => c.query(
            "SELECT id, village_id, conflicts FROM report_households
             WHERE province_code = $1 AND conflicts > 0
             ORDER BY village_id COLLATE \"C\", id COLLATE \"C\" LIMIT $2 OFFSET $3",
            &[p, &limit, &offset],
        )?,
        AreaScope::Commune(code) => c.query(
            "SELECT id, village_id, conflicts FROM report_households
             WHERE commune_now = $1 AND conflicts > 0
             ORDER BY village_id COLLATE \"C\", id COLLATE \"C\" LIMIT $2 OFFSET $3",
            &[code, &limit, &offset],
        )?,
        AreaScope::Village(v) => c.query(
            "SELECT id, village_id, conflicts FROM report_households
             WHERE village_id = $1 AND conflicts > 0 ORDER BY id COLLATE \"C\" LIMIT $2 OFFSET $3",
            &[v, &limit, &offset],
        )?,
    };
    rows.iter()
        .map(|r| {
            Ok(ConflictedHousehold {
                doc_id: get(r, 0)?,
                village_id: get(r, 1)?,
                conflicts: get(r, 2)?,
            })
        })
        .collect()
}
