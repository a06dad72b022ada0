//! The web console's SQL (`crate::console`): sign-ins, sessions, and what
//! its pages list and change.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{db_err, team_row};
use crate::storage::{
    Account, AreaScope, AuditArea, AuditEntry, AuditQuery, AuditRow, ConflictedHousehold,
    ConsoleLogin, ConsoleSession, Role, StorageError, StorageResult, TextMatch, Village, Volunteer,
};

fn account_of(
    id: String,
    role: String,
    name: String,
    province_code: Option<String>,
    commune_code: Option<String>,
) -> StorageResult<Account> {
    let role = Role::parse(&role)
        .ok_or_else(|| StorageError::Incompatible(format!("account {id} has role {role:?}")))?;
    Ok(Account {
        id,
        role,
        name,
        province_code,
        commune_code,
    })
}

type AccountCells = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
);

pub(super) fn set_login(
    tx: &Transaction<'_>,
    account_id: &str,
    login: &str,
    password_hash: &str,
    now: i64,
) -> StorageResult<()> {
    let exists: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?1)",
            [account_id],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    if !exists {
        return Err(StorageError::NotFound(format!("no account {account_id}")));
    }
    let holder: Option<String> = tx
        .query_row(
            "SELECT account_id FROM console_logins WHERE login = ?1",
            [login],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)?;
    if let Some(other) = holder.filter(|h| h != account_id) {
        return Err(StorageError::Invalid(format!(
            "the login name {login:?} belongs to account {other}: choose another"
        )));
    }
    tx.execute(
        "INSERT INTO console_logins (account_id, login, password_hash, set_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (account_id) DO UPDATE SET login = excluded.login,
            password_hash = excluded.password_hash, set_at = excluded.set_at",
        params![account_id, login, password_hash, now],
    )
    .map_err(db_err)?;
    tx.execute(
        "DELETE FROM console_sessions WHERE account_id = ?1",
        [account_id],
    )
    .map_err(db_err)?;
    Ok(())
}

pub(super) fn login(conn: &Connection, login: &str) -> StorageResult<Option<ConsoleLogin>> {
    let row: Option<(AccountCells, String, String)> = conn
        .query_row(
            "SELECT a.id, a.role, a.name, a.province_code, a.commune_code, a.revoked_at,
                    l.login, l.password_hash
             FROM console_logins l JOIN accounts a ON a.id = l.account_id WHERE l.login = ?1",
            [login],
            |r| {
                Ok((
                    (
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ),
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )
        .optional()
        .map_err(db_err)?;
    row.map(|((id, role, name, p, c, revoked), login, password_hash)| {
        Ok(ConsoleLogin {
            account: account_of(id, role, name, p, c)?,
            login,
            password_hash,
            revoked: revoked.is_some(),
        })
    })
    .transpose()
}

pub(super) fn login_of(conn: &Connection, account_id: &str) -> StorageResult<Option<String>> {
    conn.query_row(
        "SELECT login FROM console_logins WHERE account_id = ?1",
        [account_id],
        |r| r.get(0),
    )
    .optional()
    .map_err(db_err)
}

pub(super) fn add_session(
    tx: &Transaction<'_>,
    token_hash: &str,
    account_id: &str,
    csrf_token: &str,
    now: i64,
    expires_at: i64,
) -> StorageResult<()> {
    tx.execute("DELETE FROM console_sessions WHERE expires_at <= ?1", [now])
        .map_err(db_err)?;
    tx.execute(
        "INSERT INTO console_sessions (token_hash, account_id, csrf_token, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash, account_id, csrf_token, now, expires_at],
    )
    .map_err(db_err)?;
    Ok(())
}

pub(super) fn session(
    conn: &Connection,
    token_hash: &str,
    now: i64,
) -> StorageResult<Option<ConsoleSession>> {
    let row: Option<(AccountCells, String, i64)> = conn
        .query_row(
            "SELECT a.id, a.role, a.name, a.province_code, a.commune_code, a.revoked_at,
                    s.csrf_token, s.expires_at
             FROM console_sessions s JOIN accounts a ON a.id = s.account_id
             WHERE s.token_hash = ?1 AND s.expires_at > ?2",
            params![token_hash, now],
            |r| {
                Ok((
                    (
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ),
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )
        .optional()
        .map_err(db_err)?;
    row.map(
        |((id, role, name, p, c, revoked), csrf_token, expires_at)| {
            Ok(ConsoleSession {
                account: account_of(id, role, name, p, c)?,
                csrf_token,
                expires_at,
                revoked: revoked.is_some(),
            })
        },
    )
    .transpose()
}

pub(super) fn end_session(tx: &Transaction<'_>, token_hash: &str) -> StorageResult<bool> {
    let n = tx
        .execute(
            "DELETE FROM console_sessions WHERE token_hash = ?1",
            [token_hash],
        )
        .map_err(db_err)?;
    Ok(n > 0)
}

pub(super) fn rename_village(
    tx: &Transaction<'_>,
    village_id: &str,
    name: &str,
) -> StorageResult<Village> {
    let n = tx
        .execute(
            "UPDATE villages SET name = ?2 WHERE id = ?1",
            params![village_id, name],
        )
        .map_err(db_err)?;
    if n == 0 {
        return Err(StorageError::NotFound(format!("no village {village_id}")));
    }
    tx.query_row(
        "SELECT id, commune_code, name FROM villages WHERE id = ?1",
        [village_id],
        |r| {
            Ok(Village {
                id: r.get(0)?,
                commune_code: r.get(1)?,
                name: r.get(2)?,
            })
        },
    )
    .map_err(db_err)
}

pub(super) fn update_volunteer(tx: &Transaction<'_>, v: &Volunteer) -> StorageResult<()> {
    if team_row(tx, &v.team_id)?.is_none() {
        return Err(StorageError::NotFound(format!("no team {}", v.team_id)));
    }
    let n = tx
        .execute(
            "UPDATE volunteers SET name = ?2, phone = ?3, team_id = ?4 WHERE id = ?1",
            params![v.id, v.name, v.phone, v.team_id],
        )
        .map_err(db_err)?;
    if n == 0 {
        return Err(StorageError::NotFound(format!("no volunteer {}", v.id)));
    }
    Ok(())
}

pub(super) fn search_audit(conn: &Connection, q: &AuditQuery) -> StorageResult<Vec<AuditRow>> {
    let (actor_is, actor_part) = TextMatch::params(&q.actor);
    let (action_is, action_part) = TextMatch::params(&q.action);
    let (subject_is, subject_part) = TextMatch::params(&q.subject);
    let (commune, province) = AuditArea::params(&q.area);
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, at, actor, action, subject, detail FROM audit
             WHERE (?1 IS NULL OR actor = ?1 OR substr(actor, 1, length(?1) + 1) = ?1 || ':')
               AND (?2 IS NULL OR instr(lower(actor), lower(?2)) > 0)
               AND (?3 IS NULL OR action = ?3)
               AND (?4 IS NULL OR instr(lower(action), lower(?4)) > 0)
               AND (?5 IS NULL OR subject = ?5)
               AND (?6 IS NULL OR instr(lower(subject), lower(?6)) > 0)
               AND (?7 IS NULL OR at >= ?7)
               AND (?8 IS NULL OR at < ?8)
               AND (?11 IS NULL OR commune_code = ?11)
               AND (?12 IS NULL OR province_code = ?12)
             ORDER BY id DESC LIMIT ?9 OFFSET ?10",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map(
            params![
                actor_is,
                actor_part,
                action_is,
                action_part,
                subject_is,
                subject_part,
                q.from,
                q.until,
                q.limit,
                q.offset,
                commune,
                province
            ],
            |r| {
                Ok(AuditRow {
                    id: r.get(0)?,
                    entry: AuditEntry {
                        at: r.get(1)?,
                        actor: r.get(2)?,
                        action: r.get(3)?,
                        subject: r.get(4)?,
                        detail: r.get(5)?,
                    },
                })
            },
        )
        .map_err(db_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
}

pub(super) fn conflicted(
    conn: &Connection,
    scope: &AreaScope,
    offset: u32,
    limit: u32,
) -> StorageResult<Vec<ConflictedHousehold>> {
    let (filter, code) = match scope {
        AreaScope::Country => ("?1 = ''", ""),
        AreaScope::Province(c) => ("province_code = ?1", c.as_str()),
        AreaScope::Commune(c) => ("commune_now = ?1", c.as_str()),
        AreaScope::Village(c) => ("village_id = ?1", c.as_str()),
    };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT id, village_id, conflicts FROM report_households
             WHERE {filter} AND conflicts > 0 ORDER BY village_id, id LIMIT ?2 OFFSET ?3"
        ))
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![code, limit, offset], |r| {
            Ok(ConflictedHousehold {
                doc_id: r.get(0)?,
                village_id: r.get(1)?,
                conflicts: r.get(2)?,
            })
        })
        .map_err(db_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
}
