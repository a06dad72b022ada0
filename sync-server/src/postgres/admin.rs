//! The PostgreSQL side of the administration's lists, edits, revocations
//! and training sessions (`Storage`'s "administration" block), as the
//! SQLite backend's `sqlite/admin.rs` does them.

use tokio_postgres::Row;

use crate::storage::{
    Account, AccountRow, AuditEntry, DeviceSeen, NewTraining, Role, StorageError, StorageResult,
    Team, TeamEdit, TeamRow, Training, TrainingRow, Volunteer, VolunteerRow,
};

use super::conn::{PgConn, get};
use super::{insert_audit, team_row, volunteer_row};

pub(super) fn teams(c: &mut PgConn, commune: Option<&str>) -> StorageResult<Vec<TeamRow>> {
    let counts: Vec<(String, i64, i64)> = c
        .query(
            "SELECT t.id,
                    (SELECT COUNT(*) FROM volunteers v WHERE v.team_id = t.id),
                    (SELECT COUNT(*) FROM devices d JOIN volunteers v ON v.id = d.volunteer_id
                      WHERE v.team_id = t.id AND d.revoked_at IS NULL)
             FROM teams t WHERE $1::text IS NULL OR t.commune_code = $1
             ORDER BY t.commune_code COLLATE \"C\", t.name COLLATE \"C\", t.id COLLATE \"C\"",
            &[&commune],
        )?
        .iter()
        .map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?)))
        .collect::<StorageResult<_>>()?;
    let mut out = Vec::with_capacity(counts.len());
    for (id, volunteers, devices) in counts {
        if let Some(team) = team_row(c, &id)? {
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
/// positions taken under the counters' lock, as a push takes them (gap-free
/// across replicas): a device that serves the village from now on pulls its
/// whole history after whatever cursor it holds.
fn refeed(c: &mut PgConn, village: &str) -> StorageResult<u64> {
    let r = c.query_one("SELECT last_position FROM log_counters FOR UPDATE", &[])?;
    let last: i64 = get(&r, 0)?;
    let seqs: Vec<i64> = c
        .query(
            "SELECT change_seq FROM feed WHERE village_id = $1 ORDER BY position",
            &[&village],
        )?
        .iter()
        .map(|r| get(r, 0))
        .collect::<StorageResult<_>>()?;
    if seqs.is_empty() {
        return Ok(0);
    }
    let positions: Vec<i64> = (1..=seqs.len() as i64).map(|i| last + i).collect();
    c.execute("DELETE FROM feed WHERE village_id = $1", &[&village])?;
    c.execute(
        "INSERT INTO feed (position, village_id, change_seq)
         SELECT t.p, $2, t.s FROM unnest($1::BIGINT[], $3::BIGINT[]) AS t(p, s)",
        &[&positions, &village, &seqs],
    )?;
    c.execute(
        "UPDATE log_counters SET last_position = $1",
        &[&(last + seqs.len() as i64)],
    )?;
    Ok(seqs.len() as u64)
}

pub(super) fn edit_team(c: &mut PgConn, edit: &TeamEdit, now: i64) -> StorageResult<Team> {
    // Two edits of one team at once: the second waits for the first.
    c.query_opt(
        "SELECT id FROM teams WHERE id = $1 FOR UPDATE",
        &[&edit.team_id],
    )?;
    let team = team_row(c, &edit.team_id)?
        .ok_or_else(|| StorageError::NotFound(format!("no team {}", edit.team_id)))?;
    if let Some(name) = &edit.name {
        c.execute(
            "UPDATE teams SET name = $2 WHERE id = $1",
            &[&team.id, name],
        )?;
    }
    for v in &edit.remove {
        c.execute(
            "DELETE FROM team_villages WHERE team_id = $1 AND village_id = $2",
            &[&team.id, v],
        )?;
    }
    let mut refed = 0;
    for v in &edit.add {
        let commune: Option<String> = c
            .query_opt("SELECT commune_code FROM villages WHERE id = $1", &[v])?
            .map(|r| get(&r, 0))
            .transpose()?;
        match commune {
            None => return Err(StorageError::NotFound(format!("no village {v}"))),
            Some(code) if code != team.commune_code => {
                return Err(StorageError::Invalid(format!(
                    "village {v} is in commune {code}, not in the team's commune {}",
                    team.commune_code
                )));
            }
            Some(_) => {}
        }
        let added = c.execute(
            "INSERT INTO team_villages (team_id, village_id) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
            &[&team.id, v],
        )?;
        if added > 0 {
            refed += refeed(c, v)?;
        }
    }
    let edited = team_row(c, &team.id)?
        .ok_or_else(|| StorageError::NotFound(format!("no team {}", team.id)))?;
    if edited.villages.is_empty() {
        return Err(StorageError::Invalid(format!(
            "team {} would serve no village",
            team.id
        )));
    }
    insert_audit(
        c,
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

fn volunteer_of(r: &Row) -> StorageResult<Volunteer> {
    Ok(Volunteer {
        id: get(r, 0)?,
        name: get(r, 1)?,
        phone: get(r, 2)?,
        team_id: get(r, 3)?,
    })
}

pub(super) fn volunteers(c: &mut PgConn, team: Option<&str>) -> StorageResult<Vec<VolunteerRow>> {
    c.query(
        "SELECT v.id, v.name, v.phone, v.team_id, t.name, t.commune_code,
                (SELECT COUNT(*) FROM devices d
                  WHERE d.volunteer_id = v.id AND d.revoked_at IS NULL),
                (SELECT COUNT(*) FROM training_attendees a WHERE a.volunteer_id = v.id)
         FROM volunteers v JOIN teams t ON t.id = v.team_id
         WHERE $1::text IS NULL OR v.team_id = $1
         ORDER BY t.commune_code COLLATE \"C\", t.name COLLATE \"C\", v.name COLLATE \"C\",
                  v.id COLLATE \"C\"",
        &[&team],
    )?
    .iter()
    .map(|r| {
        Ok(VolunteerRow {
            volunteer: volunteer_of(r)?,
            team_name: get(r, 4)?,
            commune_code: get(r, 5)?,
            devices: get(r, 6)?,
            trainings: get(r, 7)?,
        })
    })
    .collect()
}

pub(super) fn volunteers_by_phone(c: &mut PgConn, phone: &str) -> StorageResult<Vec<Volunteer>> {
    c.query(
        "SELECT id, name, phone, team_id FROM volunteers WHERE phone = $1
         ORDER BY id COLLATE \"C\"",
        &[&phone],
    )?
    .iter()
    .map(volunteer_of)
    .collect()
}

/// The lock two `volunteer add` of one phone or name take, so that the
/// second sees the first's volunteer.
const VOLUNTEER_LOCK: i64 = 0x676f_6375_6103;

pub(super) fn add_volunteer_once(
    c: &mut PgConn,
    volunteer: &Volunteer,
    now: i64,
) -> StorageResult<Option<Volunteer>> {
    c.query_one("SELECT pg_advisory_xact_lock($1)", &[&VOLUNTEER_LOCK])?;
    if team_row(c, &volunteer.team_id)?.is_none() {
        return Err(StorageError::NotFound(format!(
            "no team {}",
            volunteer.team_id
        )));
    }
    let candidates: Vec<Volunteer> = c
        .query(
            "SELECT id, name, phone, team_id FROM volunteers
             WHERE phone = $1 OR team_id = $2 ORDER BY id COLLATE \"C\"",
            &[&volunteer.phone, &volunteer.team_id],
        )?
        .iter()
        .map(volunteer_of)
        .collect::<StorageResult<_>>()?;
    if let Some(same) = candidates
        .into_iter()
        .find(|x| crate::admin::same_person(x, volunteer))
    {
        return Ok(Some(same));
    }
    c.execute(
        "INSERT INTO volunteers (id, name, phone, team_id, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[
            &volunteer.id,
            &volunteer.name,
            &volunteer.phone,
            &volunteer.team_id,
            &now,
        ],
    )?;
    Ok(None)
}

pub(super) fn accounts(c: &mut PgConn) -> StorageResult<Vec<AccountRow>> {
    c.query(
        "SELECT id, role, name, province_code, commune_code, created_at, revoked_at
         FROM accounts ORDER BY created_at, id COLLATE \"C\"",
        &[],
    )?
    .iter()
    .map(|r| {
        let id: String = get(r, 0)?;
        let role: String = get(r, 1)?;
        let role = Role::parse(&role)
            .ok_or_else(|| StorageError::Incompatible(format!("account {id} has role {role:?}")))?;
        Ok(AccountRow {
            account: Account {
                id,
                role,
                name: get(r, 2)?,
                province_code: get(r, 3)?,
                commune_code: get(r, 4)?,
            },
            created_at: get(r, 5)?,
            revoked_at: get(r, 6)?,
        })
    })
    .collect()
}

pub(super) fn revoke_account(c: &mut PgConn, id: &str, now: i64) -> StorageResult<bool> {
    let found: Option<Option<i64>> = c
        .query_opt(
            "SELECT revoked_at FROM accounts WHERE id = $1 FOR UPDATE",
            &[&id],
        )?
        .map(|r| get(&r, 0))
        .transpose()?;
    match found {
        None => Err(StorageError::NotFound(format!("no account {id}"))),
        Some(Some(_)) => Ok(false),
        Some(None) => {
            c.execute(
                "UPDATE accounts SET revoked_at = $2 WHERE id = $1",
                &[&id, &now],
            )?;
            insert_audit(
                c,
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

pub(super) fn device_seen(c: &mut PgConn, id: &str, seen: &DeviceSeen) -> StorageResult<()> {
    // Never back in time: another replica may have written a later contact.
    c.execute(
        "UPDATE devices SET
            last_seen_at = GREATEST(COALESCE(last_seen_at, 0), $2),
            last_sync_at = CASE WHEN $3 THEN GREATEST(COALESCE(last_sync_at, 0), $2)
                           ELSE last_sync_at END,
            app_version = COALESCE($4, app_version),
            pending_changes = COALESCE($5, pending_changes)
         WHERE id = $1",
        &[
            &id,
            &seen.at,
            &seen.synced,
            &seen.app_version,
            &seen.pending_changes,
        ],
    )?;
    Ok(())
}

fn training_of(r: &Row) -> StorageResult<Training> {
    Ok(Training {
        id: get(r, 0)?,
        topic: get(r, 1)?,
        held_on: get(r, 2)?,
        place: get(r, 3)?,
        team_id: get(r, 4)?,
        commune_code: get(r, 5)?,
    })
}

pub(super) fn add_training(c: &mut PgConn, t: &NewTraining, now: i64) -> StorageResult<Training> {
    let r = c.query_one(
        "INSERT INTO trainings (topic, held_on, place, team_id, commune_code, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        &[
            &t.topic,
            &t.held_on,
            &t.place,
            &t.team_id,
            &t.commune_code,
            &now,
        ],
    )?;
    let id: i64 = get(&r, 0)?;
    insert_audit(
        c,
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

pub(super) fn training(c: &mut PgConn, id: i64) -> StorageResult<Option<Training>> {
    c.query_opt(
        "SELECT id, topic, held_on, place, team_id, commune_code FROM trainings WHERE id = $1",
        &[&id],
    )?
    .map(|r| training_of(&r))
    .transpose()
}

pub(super) fn attend_training(
    c: &mut PgConn,
    id: i64,
    volunteers: &[String],
    now: i64,
) -> StorageResult<u64> {
    if training(c, id)?.is_none() {
        return Err(StorageError::NotFound(format!("no training session {id}")));
    }
    let mut recorded = 0u64;
    for v in volunteers {
        if volunteer_row(c, v)?.is_none() {
            return Err(StorageError::NotFound(format!("no volunteer {v}")));
        }
        recorded += c.execute(
            "INSERT INTO training_attendees (training_id, volunteer_id, recorded_at)
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&id, v, &now],
        )?;
    }
    if recorded > 0 {
        insert_audit(
            c,
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
    c: &mut PgConn,
    commune: Option<&str>,
    since: Option<&str>,
) -> StorageResult<Vec<TrainingRow>> {
    c.query(
        "SELECT tr.id, tr.topic, tr.held_on, tr.place, tr.team_id, tr.commune_code, t.name,
                (SELECT COUNT(*) FROM training_attendees a WHERE a.training_id = tr.id)
         FROM trainings tr LEFT JOIN teams t ON t.id = tr.team_id
         WHERE ($1::text IS NULL OR tr.commune_code = $1)
           AND ($2::text IS NULL OR tr.held_on >= $2)
         ORDER BY tr.held_on, tr.id",
        &[&commune, &since],
    )?
    .iter()
    .map(|r| {
        Ok(TrainingRow {
            training: training_of(r)?,
            team_name: get(r, 6)?,
            attendees: get(r, 7)?,
        })
    })
    .collect()
}
