//! The SQLite side of the administration's lists, edits, revocations and
//! training sessions (`Storage`'s "administration" block).

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::storage::{
    Account, AccountRow, AuditEntry, DeviceSeen, NewTraining, Role, StorageError, StorageResult,
    Team, TeamEdit, TeamRow, Training, TrainingRow, Volunteer, VolunteerRow,
};

use super::{db_err, insert_audit, team_row, volunteer_row};

pub(super) fn teams(conn: &Connection, commune: Option<&str>) -> StorageResult<Vec<TeamRow>> {
    let counts: Vec<(String, i64, i64)> = conn
        .prepare_cached(
            "SELECT t.id,
                    (SELECT COUNT(*) FROM volunteers v WHERE v.team_id = t.id),
                    (SELECT COUNT(*) FROM devices d JOIN volunteers v ON v.id = d.volunteer_id
                      WHERE v.team_id = t.id AND d.revoked_at IS NULL)
             FROM teams t WHERE ?1 IS NULL OR t.commune_code = ?1
             ORDER BY t.commune_code, t.name, t.id",
        )
        .map_err(db_err)?
        .query_map([commune], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    let mut out = Vec::with_capacity(counts.len());
    for (id, volunteers, devices) in counts {
        if let Some(team) = team_row(conn, &id)? {
            out.push(TeamRow {
                team,
                volunteers,
                devices,
            });
        }
    }
    Ok(out)
}

/// Feeds every change fed to `village` again, in feed order, at new
/// positions (after every position taken): a device that serves the village
/// from now on pulls its whole history after whatever cursor it holds. The
/// write lock is held, so no reader sees a new position before the lower ones.
fn refeed(tx: &Transaction<'_>, village: &str) -> StorageResult<u64> {
    let seqs: Vec<i64> = tx
        .prepare_cached("SELECT change_seq FROM feed WHERE village_id = ?1 ORDER BY position")
        .map_err(db_err)?
        .query_map([village], |r| r.get(0))
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    tx.execute("DELETE FROM feed WHERE village_id = ?1", [village])
        .map_err(db_err)?;
    let mut put = tx
        .prepare_cached("INSERT INTO feed (village_id, change_seq) VALUES (?1, ?2)")
        .map_err(db_err)?;
    for seq in &seqs {
        put.execute(params![village, seq]).map_err(db_err)?;
    }
    Ok(seqs.len() as u64)
}

pub(super) fn edit_team(tx: &Transaction<'_>, edit: &TeamEdit, now: i64) -> StorageResult<Team> {
    let team = team_row(tx, &edit.team_id)?
        .ok_or_else(|| StorageError::NotFound(format!("no team {}", edit.team_id)))?;
    if let Some(name) = &edit.name {
        tx.execute(
            "UPDATE teams SET name = ?2 WHERE id = ?1",
            params![team.id, name],
        )
        .map_err(db_err)?;
    }
    for v in &edit.remove {
        tx.execute(
            "DELETE FROM team_villages WHERE team_id = ?1 AND village_id = ?2",
            params![team.id, v],
        )
        .map_err(db_err)?;
    }
    let mut refed = 0;
    for v in &edit.add {
        let commune: Option<String> = tx
            .query_row(
                "SELECT commune_code FROM villages WHERE id = ?1",
                [v],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?;
        match commune {
            None => return Err(StorageError::NotFound(format!("no village {v}"))),
            Some(c) if c != team.commune_code => {
                return Err(StorageError::Invalid(format!(
                    "village {v} is in commune {c}, not in the team's commune {}",
                    team.commune_code
                )));
            }
            Some(_) => {}
        }
        let added = tx
            .execute(
                "INSERT OR IGNORE INTO team_villages (team_id, village_id) VALUES (?1, ?2)",
                params![team.id, v],
            )
            .map_err(db_err)?;
        if added > 0 {
            refed += refeed(tx, v)?;
        }
    }
    let edited = team_row(tx, &team.id)?
        .ok_or_else(|| StorageError::NotFound(format!("no team {}", team.id)))?;
    if edited.villages.is_empty() {
        return Err(StorageError::Invalid(format!(
            "team {} would serve no village",
            team.id
        )));
    }
    insert_audit(
        tx,
        &AuditEntry {
            at: now,
            actor: "admin".into(),
            action: "team_edited".into(),
            subject: format!("team:{}", team.id),
            detail: crate::admin::team_edit_detail(&team, edit, refed),
        },
    )?;
    Ok(edited)
}

fn volunteer_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Volunteer> {
    Ok(Volunteer {
        id: r.get(0)?,
        name: r.get(1)?,
        phone: r.get(2)?,
        team_id: r.get(3)?,
    })
}

pub(super) fn volunteers(
    conn: &Connection,
    team: Option<&str>,
) -> StorageResult<Vec<VolunteerRow>> {
    let rows = conn
        .prepare_cached(
            "SELECT v.id, v.name, v.phone, v.team_id, t.name, t.commune_code,
                    (SELECT COUNT(*) FROM devices d
                      WHERE d.volunteer_id = v.id AND d.revoked_at IS NULL),
                    (SELECT COUNT(*) FROM training_attendees a WHERE a.volunteer_id = v.id)
             FROM volunteers v JOIN teams t ON t.id = v.team_id
             WHERE ?1 IS NULL OR v.team_id = ?1
             ORDER BY t.commune_code, t.name, v.name, v.id",
        )
        .map_err(db_err)?
        .query_map([team], |r| {
            Ok(VolunteerRow {
                volunteer: volunteer_of(r)?,
                team_name: r.get(4)?,
                commune_code: r.get(5)?,
                devices: r.get(6)?,
                trainings: r.get(7)?,
            })
        })
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    Ok(rows)
}

pub(super) fn volunteers_by_phone(conn: &Connection, phone: &str) -> StorageResult<Vec<Volunteer>> {
    conn.prepare_cached(
        "SELECT id, name, phone, team_id FROM volunteers WHERE phone = ?1 ORDER BY id",
    )
    .map_err(db_err)?
    .query_map([phone], volunteer_of)
    .map_err(db_err)?
    .collect::<Result<_, _>>()
    .map_err(db_err)
}

pub(super) fn add_volunteer_once(
    tx: &Transaction<'_>,
    volunteer: &Volunteer,
    now: i64,
) -> StorageResult<Option<Volunteer>> {
    if team_row(tx, &volunteer.team_id)?.is_none() {
        return Err(StorageError::NotFound(format!(
            "no team {}",
            volunteer.team_id
        )));
    }
    let candidates: Vec<Volunteer> = tx
        .prepare_cached(
            "SELECT id, name, phone, team_id FROM volunteers
             WHERE phone = ?1 OR team_id = ?2 ORDER BY id",
        )
        .map_err(db_err)?
        .query_map(params![volunteer.phone, volunteer.team_id], volunteer_of)
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    if let Some(same) = candidates
        .into_iter()
        .find(|c| crate::admin::same_person(c, volunteer))
    {
        return Ok(Some(same));
    }
    tx.execute(
        "INSERT INTO volunteers (id, name, phone, team_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            volunteer.id,
            volunteer.name,
            volunteer.phone,
            volunteer.team_id,
            now
        ],
    )
    .map_err(db_err)?;
    Ok(None)
}

pub(super) fn accounts(conn: &Connection) -> StorageResult<Vec<AccountRow>> {
    let rows: Vec<(AccountRow, String)> = conn
        .prepare_cached(
            "SELECT id, role, name, province_code, commune_code, created_at, revoked_at
             FROM accounts ORDER BY created_at, id",
        )
        .map_err(db_err)?
        .query_map([], |r| {
            Ok((
                AccountRow {
                    account: Account {
                        id: r.get(0)?,
                        role: Role::Operator,
                        name: r.get(2)?,
                        province_code: r.get(3)?,
                        commune_code: r.get(4)?,
                    },
                    created_at: r.get(5)?,
                    revoked_at: r.get(6)?,
                },
                r.get(1)?,
            ))
        })
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    rows.into_iter()
        .map(|(mut a, role)| {
            a.account.role = Role::parse(&role).ok_or_else(|| {
                StorageError::Incompatible(format!("account {} has role {role:?}", a.account.id))
            })?;
            Ok(a)
        })
        .collect()
}

pub(super) fn revoke_account(tx: &Transaction<'_>, id: &str, now: i64) -> StorageResult<bool> {
    let found: Option<Option<i64>> = tx
        .query_row("SELECT revoked_at FROM accounts WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()
        .map_err(db_err)?;
    match found {
        None => Err(StorageError::NotFound(format!("no account {id}"))),
        Some(Some(_)) => Ok(false),
        Some(None) => {
            tx.execute(
                "UPDATE accounts SET revoked_at = ?2 WHERE id = ?1",
                params![id, now],
            )
            .map_err(db_err)?;
            insert_audit(
                tx,
                &AuditEntry {
                    at: now,
                    actor: "admin".into(),
                    action: "account_revoked".into(),
                    subject: format!("account:{id}"),
                    detail: String::new(),
                },
            )?;
            Ok(true)
        }
    }
}

pub(super) fn device_seen(tx: &Transaction<'_>, id: &str, seen: &DeviceSeen) -> StorageResult<()> {
    // Never back in time: another replica may have written a later contact.
    tx.execute(
        "UPDATE devices SET
            last_seen_at = max(coalesce(last_seen_at, 0), ?2),
            last_sync_at = CASE WHEN ?3 THEN max(coalesce(last_sync_at, 0), ?2)
                           ELSE last_sync_at END,
            app_version = coalesce(?4, app_version),
            pending_changes = coalesce(?5, pending_changes)
         WHERE id = ?1",
        params![
            id,
            seen.at,
            seen.synced,
            seen.app_version,
            seen.pending_changes
        ],
    )
    .map_err(db_err)?;
    Ok(())
}

fn training_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Training> {
    Ok(Training {
        id: r.get(0)?,
        topic: r.get(1)?,
        held_on: r.get(2)?,
        place: r.get(3)?,
        team_id: r.get(4)?,
        commune_code: r.get(5)?,
    })
}

pub(super) fn add_training(
    tx: &Transaction<'_>,
    t: &NewTraining,
    now: i64,
) -> StorageResult<Training> {
    tx.execute(
        "INSERT INTO trainings (topic, held_on, place, team_id, commune_code, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![t.topic, t.held_on, t.place, t.team_id, t.commune_code, now],
    )
    .map_err(db_err)?;
    let id = tx.last_insert_rowid();
    insert_audit(
        tx,
        &AuditEntry {
            at: now,
            actor: "admin".into(),
            action: "training_added".into(),
            subject: format!("training:{id}"),
            detail: format!(
                "topic={:?} held_on={} team={} commune={}",
                t.topic,
                t.held_on,
                t.team_id.as_deref().unwrap_or("-"),
                t.commune_code
            ),
        },
    )?;
    Ok(Training {
        id,
        topic: t.topic.clone(),
        held_on: t.held_on.clone(),
        place: t.place.clone(),
        team_id: t.team_id.clone(),
        commune_code: t.commune_code.clone(),
    })
}

pub(super) fn training(conn: &Connection, id: i64) -> StorageResult<Option<Training>> {
    conn.query_row(
        "SELECT id, topic, held_on, place, team_id, commune_code FROM trainings WHERE id = ?1",
        [id],
        training_of,
    )
    .optional()
    .map_err(db_err)
}

pub(super) fn attend_training(
    tx: &Transaction<'_>,
    id: i64,
    volunteers: &[String],
    now: i64,
) -> StorageResult<u64> {
    if training(tx, id)?.is_none() {
        return Err(StorageError::NotFound(format!("no training session {id}")));
    }
    let mut recorded = 0u64;
    for v in volunteers {
        if volunteer_row(tx, v)?.is_none() {
            return Err(StorageError::NotFound(format!("no volunteer {v}")));
        }
        recorded += tx
            .execute(
                "INSERT OR IGNORE INTO training_attendees (training_id, volunteer_id, recorded_at)
                 VALUES (?1, ?2, ?3)",
                params![id, v, now],
            )
            .map_err(db_err)? as u64;
    }
    if recorded > 0 {
        insert_audit(
            tx,
            &AuditEntry {
                at: now,
                actor: "admin".into(),
                action: "training_attended".into(),
                subject: format!("training:{id}"),
                detail: format!("volunteers={}", volunteers.join(",")),
            },
        )?;
    }
    Ok(recorded)
}

pub(super) fn trainings(
    conn: &Connection,
    commune: Option<&str>,
    since: Option<&str>,
) -> StorageResult<Vec<TrainingRow>> {
    conn.prepare_cached(
        "SELECT tr.id, tr.topic, tr.held_on, tr.place, tr.team_id, tr.commune_code, t.name,
                (SELECT COUNT(*) FROM training_attendees a WHERE a.training_id = tr.id)
         FROM trainings tr LEFT JOIN teams t ON t.id = tr.team_id
         WHERE (?1 IS NULL OR tr.commune_code = ?1) AND (?2 IS NULL OR tr.held_on >= ?2)
         ORDER BY tr.held_on, tr.id",
    )
    .map_err(db_err)?
    .query_map(params![commune, since], |r| {
        Ok(TrainingRow {
            training: training_of(r)?,
            team_name: r.get(6)?,
            attendees: r.get(7)?,
        })
    })
    .map_err(db_err)?
    .collect::<Result<_, _>>()
    .map_err(db_err)
}
