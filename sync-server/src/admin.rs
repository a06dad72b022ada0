//! Administration on the database itself (`gocua-server admin ...`), also used
//! by the tests to set up villages, teams, volunteers and codes.

use uuid::Uuid;

use crate::now;
use crate::secrets::{self, Secret};
use crate::storage::{
    Account, Role, Storage, StorageError, StorageResult, Team, Village, Volunteer,
};

/// Villages have no national code: the same derivation as the devices'
/// (gocua-protocol's rule), so a device that registered a village offline and
/// the server agree on its id.
pub use gocua_protocol::ids::village_id;

fn need_commune(storage: &dyn Storage, commune_code: &str) -> StorageResult<String> {
    storage.commune_province(commune_code)?.ok_or_else(|| {
        StorageError::NotFound(format!(
            "no commune {commune_code} in the units in force (load them with `gocua-server admin load-units`)"
        ))
    })
}

fn need_text(what: &str, value: &str) -> StorageResult<String> {
    let v = gocua_text::clean(value);
    if v.is_empty() {
        return Err(StorageError::Invalid(format!("{what} must not be empty")));
    }
    Ok(v)
}

pub fn add_village(
    storage: &dyn Storage,
    commune_code: &str,
    name: &str,
) -> StorageResult<Village> {
    let commune_code = commune_code.trim();
    need_commune(storage, commune_code)?;
    let name = need_text("the village name", name)?;
    let village = Village {
        id: village_id(commune_code, &name),
        commune_code: commune_code.to_string(),
        name,
    };
    storage.add_village(&village, now())
}

/// Adds a team; `villages` are village ids (or names in the team's commune).
pub fn add_team(
    storage: &dyn Storage,
    name: &str,
    commune_code: &str,
    villages: &[String],
) -> StorageResult<Team> {
    let commune_code = commune_code.trim();
    need_commune(storage, commune_code)?;
    let name = need_text("the team name", name)?;
    let known = storage.villages(Some(commune_code))?;
    let mut chosen = Vec::new();
    for v in villages {
        let by_name = village_id(commune_code, v);
        let found = known
            .iter()
            .find(|k| k.id == v.trim() || k.id == by_name)
            .ok_or_else(|| {
                StorageError::NotFound(format!("no village {v:?} in commune {commune_code}"))
            })?;
        if !chosen.contains(found) {
            chosen.push(found.clone());
        }
    }
    let team = Team {
        id: Uuid::now_v7().to_string(),
        name,
        commune_code: commune_code.to_string(),
        villages: chosen,
    };
    storage.add_team(&team, now())?;
    Ok(team)
}

pub fn add_volunteer(
    storage: &dyn Storage,
    name: &str,
    phone: Option<&str>,
    team_id: &str,
) -> StorageResult<Volunteer> {
    let volunteer = Volunteer {
        id: Uuid::now_v7().to_string(),
        name: need_text("the volunteer's name", name)?,
        phone: phone.map(gocua_text::clean).filter(|p| !p.is_empty()),
        team_id: team_id.trim().to_string(),
    };
    storage.add_volunteer(&volunteer, now())?;
    Ok(volunteer)
}

/// A new one-time enrollment code for a volunteer's device; only its hash is
/// stored. Returns the code and when it expires (unix seconds).
pub fn new_enroll_code(
    storage: &dyn Storage,
    volunteer_id: &str,
    ttl_hours: u32,
) -> StorageResult<(Secret, i64)> {
    let code = secrets::new_enroll_code();
    let at = now();
    let expires = at + i64::from(ttl_hours) * 3600;
    storage.add_enroll_code(
        &secrets::code_hash(code.expose()),
        volunteer_id.trim(),
        at,
        expires,
    )?;
    Ok((code, expires))
}

/// A new officer or operator account; returns it and its token (shown once).
pub fn add_account(
    storage: &dyn Storage,
    role: Role,
    name: &str,
    province_code: Option<&str>,
) -> StorageResult<(Account, Secret)> {
    let province_code = province_code.map(str::trim).filter(|p| !p.is_empty());
    match (role, province_code) {
        (Role::Officer, None) => {
            return Err(StorageError::Invalid(
                "a province officer needs --province".into(),
            ));
        }
        (_, Some(p)) if !storage.province_exists(p)? => {
            return Err(StorageError::NotFound(format!("no province {p}")));
        }
        _ => {}
    }
    let account = Account {
        id: Uuid::now_v7().to_string(),
        role,
        name: need_text("the account name", name)?,
        province_code: province_code.map(str::to_string),
        commune_code: None,
    };
    let token = secrets::new_token();
    storage.add_account(&account, &secrets::token_hash(token.expose()), now())?;
    Ok((account, token))
}

/// A new commune officer's account: reads that commune only (reports,
/// extracts, pulls); returns it and its token (shown once).
pub fn add_commune_officer(
    storage: &dyn Storage,
    name: &str,
    commune_code: &str,
) -> StorageResult<(Account, Secret)> {
    let commune = commune_code.trim();
    let province = storage
        .commune_province(commune)?
        .ok_or_else(|| StorageError::NotFound(format!("no commune {commune} in the 2025 list")))?;
    let account = Account {
        id: Uuid::now_v7().to_string(),
        role: Role::Officer,
        name: need_text("the account name", name)?,
        province_code: Some(province),
        commune_code: Some(commune.to_string()),
    };
    let token = secrets::new_token();
    storage.add_account(&account, &secrets::token_hash(token.expose()), now())?;
    Ok((account, token))
}

// ---- edits (the web console; `crate::console`) ----

/// Renames a village; its id, which devices derived from its first name,
/// stays.
pub fn rename_village(
    storage: &dyn Storage,
    village_id: &str,
    name: &str,
) -> StorageResult<Village> {
    let name = need_text("the village name", name)?;
    storage.rename_village(village_id.trim(), &name)
}

/// Renames a team and sets the villages it serves (ids or names in its
/// commune). Its devices pull the villages it gains at their next sync.
pub fn set_team(
    storage: &dyn Storage,
    team_id: &str,
    name: &str,
    villages: &[String],
) -> StorageResult<Team> {
    let mut team = storage
        .team(team_id.trim())?
        .ok_or_else(|| StorageError::NotFound(format!("no team {team_id}")))?;
    team.name = need_text("the team name", name)?;
    let known = storage.villages(Some(&team.commune_code))?;
    let mut chosen: Vec<Village> = Vec::new();
    for v in villages {
        let by_name = village_id(&team.commune_code, v);
        let found = known
            .iter()
            .find(|k| k.id == v.trim() || k.id == by_name)
            .ok_or_else(|| {
                StorageError::NotFound(format!("no village {v:?} in commune {}", team.commune_code))
            })?;
        if !chosen.contains(found) {
            chosen.push(found.clone());
        }
    }
    if chosen.is_empty() {
        return Err(StorageError::Invalid(format!(
            "team {} must serve at least one village",
            team.name
        )));
    }
    team.villages = chosen;
    storage.set_team(&team)?;
    Ok(team)
}

/// Changes a volunteer's name, phone and team.
pub fn edit_volunteer(
    storage: &dyn Storage,
    volunteer_id: &str,
    name: &str,
    phone: Option<&str>,
    team_id: &str,
) -> StorageResult<Volunteer> {
    let volunteer = Volunteer {
        id: volunteer_id.trim().to_string(),
        name: need_text("the volunteer's name", name)?,
        phone: phone.map(gocua_text::clean).filter(|p| !p.is_empty()),
        team_id: team_id.trim().to_string(),
    };
    storage.update_volunteer(&volunteer)?;
    Ok(volunteer)
}
