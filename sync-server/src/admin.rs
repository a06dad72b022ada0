//! Administration on the database itself (`gocua-server admin ...`), also used
//! by the tests to set up villages, teams, volunteers and codes. The rules
//! live here, not in the command line, so that a web console calls the same
//! functions; what they say to people is `crate::messages`'.

use time::macros::format_description;
use uuid::Uuid;

use crate::messages::{self, Lang};
use crate::now;
use crate::secrets::{self, Secret};
use crate::storage::{
    Account, AccountRow, AuditQuery, AuditRow, NewTraining, Role, Storage, StorageError, Team,
    TeamEdit, TeamRow, TextMatch, Training, TrainingRow, Village, Volunteer, VolunteerRow,
};

/// Villages have no national code: the same derivation as the devices'
/// (gocua-protocol's rule), so a device that registered a village offline and
/// the server agree on its id.
pub use gocua_protocol::ids::village_id;

pub type AdminResult<T> = Result<T, AdminError>;

/// A text an admin command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    VillageName,
    TeamName,
    VolunteerName,
    AccountName,
    Topic,
    Place,
}

/// Why an admin command did nothing. Its `Display` is English; people are
/// told it in their language by `messages::admin_error`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{}", messages::admin_error(Lang::En, self))]
    Empty(Field),
    #[error("{}", messages::admin_error(Lang::En, self))]
    NoCommune(String),
    #[error("{}", messages::admin_error(Lang::En, self))]
    NoProvince(String),
    #[error("{}", messages::admin_error(Lang::En, self))]
    NoTeam(String),
    #[error("{}", messages::admin_error(Lang::En, self))]
    NoVillage { village: String, commune: String },
    /// `team edit --remove-village` of a village the team does not serve.
    #[error("{}", messages::admin_error(Lang::En, self))]
    NotServed { team: String, village: String },
    /// An edit would leave the team without a village.
    #[error("{}", messages::admin_error(Lang::En, self))]
    NoVillageLeft { team: String },
    #[error("{}", messages::admin_error(Lang::En, self))]
    NothingToEdit,
    #[error("{}", messages::admin_error(Lang::En, self))]
    BadPhone(String),
    /// The phone belongs to a volunteer already.
    #[error("{}", messages::admin_error(Lang::En, self))]
    PhoneTaken { phone: String, existing: Volunteer },
    /// A volunteer of that name is in the team already, and no phone tells
    /// the new one apart.
    #[error("{}", messages::admin_error(Lang::En, self))]
    NameTaken { existing: Volunteer },
    /// Neither a volunteer's id nor the phone of one.
    #[error("{}", messages::admin_error(Lang::En, self))]
    NoVolunteer(String),
    /// Several volunteers registered before phones were checked share it.
    #[error("{}", messages::admin_error(Lang::En, self))]
    SeveralVolunteers { phone: String, ids: Vec<String> },
    #[error("{}", messages::admin_error(Lang::En, self))]
    OfficerNeedsArea,
    #[error("{}", messages::admin_error(Lang::En, self))]
    CommuneIsForOfficers,
    #[error("{}", messages::admin_error(Lang::En, self))]
    NoAccount(String),
    #[error("{}", messages::admin_error(Lang::En, self))]
    NoTraining(i64),
    /// Not a day (`YYYY-MM-DD`) or a time (`YYYY-MM-DD HH:MM`).
    #[error("{}", messages::admin_error(Lang::En, self))]
    BadTime(String),
    /// A training session is held for a team or a commune.
    #[error("{}", messages::admin_error(Lang::En, self))]
    TeamOrCommune,
    #[error("{}", messages::admin_error(Lang::En, self))]
    WeakPassword,
    #[error("{}", messages::admin_error(Lang::En, self))]
    BadLogin,
    /// `account password` without `--login` for an account that has none.
    #[error("{}", messages::admin_error(Lang::En, self))]
    NoLoginYet(String),
    #[error("{}", messages::admin_error(Lang::En, self))]
    LoginTaken { login: String, account: String },
}

impl AdminError {
    /// Input the operator can correct (exit 2), not a failing database.
    pub fn is_bad_input(&self) -> bool {
        match self {
            AdminError::Storage(e) => {
                matches!(e, StorageError::NotFound(_) | StorageError::Invalid(_))
            }
            _ => true,
        }
    }
}

fn need_commune(storage: &dyn Storage, commune_code: &str) -> AdminResult<String> {
    storage
        .commune_province(commune_code)?
        .ok_or_else(|| AdminError::NoCommune(commune_code.to_string()))
}

fn need_text(what: Field, value: &str) -> AdminResult<String> {
    let v = gocua_text::clean(value);
    if v.is_empty() {
        return Err(AdminError::Empty(what));
    }
    Ok(v)
}

fn need_team(storage: &dyn Storage, team_id: &str) -> AdminResult<Team> {
    let id = team_id.trim();
    storage
        .team(id)?
        .ok_or_else(|| AdminError::NoTeam(id.to_string()))
}

/// A phone number in the national form devices store (`0912345678` for
/// `+84 912 345 678`), by the rule of `gocua_household::validate::phone`.
pub fn normalize_phone(phone: &str) -> AdminResult<String> {
    gocua_household::validate::phone(phone).map_err(|_| AdminError::BadPhone(phone.trim().into()))
}

/// Whether `new` is a person registered already as `existing`
/// (docs/operations.md, "Administration"): the same phone anywhere on the
/// server; without a phone, the same name (folded: letter case, tone marks
/// and their placement do not count) in the same team. Two people of one
/// name in one team are told apart by giving the new one's phone.
pub fn same_person(existing: &Volunteer, new: &Volunteer) -> bool {
    match &new.phone {
        Some(phone) => existing.phone.as_deref() == Some(phone.as_str()),
        None => {
            existing.team_id == new.team_id
                && gocua_text::fold(&existing.name) == gocua_text::fold(&new.name)
        }
    }
}

pub fn add_village(storage: &dyn Storage, commune_code: &str, name: &str) -> AdminResult<Village> {
    let commune_code = commune_code.trim();
    need_commune(storage, commune_code)?;
    let name = need_text(Field::VillageName, name)?;
    let village = Village {
        id: village_id(commune_code, &name),
        commune_code: commune_code.to_string(),
        name,
    };
    Ok(storage.add_village(&village, now())?)
}

/// The villages of `commune_code` that `wanted` name (ids or names), each once.
fn resolve_villages(
    storage: &dyn Storage,
    commune_code: &str,
    wanted: &[String],
) -> AdminResult<Vec<Village>> {
    let known = storage.villages(Some(commune_code))?;
    let mut chosen: Vec<Village> = Vec::new();
    for v in wanted {
        let by_name = village_id(commune_code, v);
        let found = known
            .iter()
            .find(|k| k.id == v.trim() || k.id == by_name)
            .ok_or_else(|| AdminError::NoVillage {
                village: v.trim().to_string(),
                commune: commune_code.to_string(),
            })?;
        if !chosen.contains(found) {
            chosen.push(found.clone());
        }
    }
    Ok(chosen)
}

/// Adds a team; `villages` are village ids (or names in the team's commune).
pub fn add_team(
    storage: &dyn Storage,
    name: &str,
    commune_code: &str,
    villages: &[String],
) -> AdminResult<Team> {
    let commune_code = commune_code.trim();
    need_commune(storage, commune_code)?;
    let name = need_text(Field::TeamName, name)?;
    let chosen = resolve_villages(storage, commune_code, villages)?;
    if chosen.is_empty() {
        return Err(AdminError::NoVillageLeft { team: name });
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

/// Renames a team and changes the villages it serves (ids or names in its
/// commune). Its devices pull the villages it gains, their households'
/// whole history, at their next sync, and nothing more of those it loses.
pub fn edit_team(
    storage: &dyn Storage,
    team_id: &str,
    name: Option<&str>,
    add: &[String],
    remove: &[String],
) -> AdminResult<Team> {
    let team = need_team(storage, team_id)?;
    let name = name.map(|n| need_text(Field::TeamName, n)).transpose()?;
    let add = resolve_villages(storage, &team.commune_code, add)?;
    let remove = resolve_villages(storage, &team.commune_code, remove)?;
    if let Some(v) = remove.iter().find(|v| !team.villages.contains(v)) {
        return Err(AdminError::NotServed {
            team: team.name,
            village: v.name.clone(),
        });
    }
    let add: Vec<Village> = add
        .into_iter()
        .filter(|v| !team.villages.contains(v) && !remove.contains(v))
        .collect();
    let renamed = name.as_ref().filter(|n| **n != team.name);
    if renamed.is_none() && add.is_empty() && remove.is_empty() {
        return Err(AdminError::NothingToEdit);
    }
    let left = team.villages.iter().filter(|v| !remove.contains(v)).count() + add.len();
    if left == 0 {
        return Err(AdminError::NoVillageLeft { team: team.name });
    }
    let edit = TeamEdit {
        team_id: team.id,
        name: renamed.cloned(),
        add: add.into_iter().map(|v| v.id).collect(),
        remove: remove.into_iter().map(|v| v.id).collect(),
    };
    Ok(storage.edit_team(&edit, now())?)
}

pub fn teams(storage: &dyn Storage, commune_code: Option<&str>) -> AdminResult<Vec<TeamRow>> {
    let commune = commune_code.map(str::trim);
    if let Some(c) = commune {
        need_commune(storage, c)?;
    }
    Ok(storage.teams(commune)?)
}

/// Adds a volunteer to a team, unless they are registered already
/// ([`same_person`]): the phone is stored in its national form.
pub fn add_volunteer(
    storage: &dyn Storage,
    name: &str,
    phone: Option<&str>,
    team_id: &str,
) -> AdminResult<Volunteer> {
    let name = need_text(Field::VolunteerName, name)?;
    let phone = match phone.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(normalize_phone(p)?),
        None => None,
    };
    let team = need_team(storage, team_id)?;
    let volunteer = Volunteer {
        id: Uuid::now_v7().to_string(),
        name,
        phone,
        team_id: team.id,
    };
    match storage.add_volunteer_once(&volunteer, now())? {
        None => Ok(volunteer),
        Some(existing) => Err(match &volunteer.phone {
            Some(phone) => AdminError::PhoneTaken {
                phone: phone.clone(),
                existing,
            },
            None => AdminError::NameTaken { existing },
        }),
    }
}

pub fn volunteers(storage: &dyn Storage, team_id: Option<&str>) -> AdminResult<Vec<VolunteerRow>> {
    let team = team_id.map(|t| need_team(storage, t)).transpose()?;
    Ok(storage.volunteers(team.as_ref().map(|t| t.id.as_str()))?)
}

/// The volunteer `key` names: their id, or their phone number in any
/// form a person types it (`0912 345 678`, `+84912345678`).
pub fn find_volunteer(storage: &dyn Storage, key: &str) -> AdminResult<Volunteer> {
    let key = key.trim();
    if Uuid::parse_str(key).is_ok() {
        return storage
            .volunteer(key)?
            .ok_or_else(|| AdminError::NoVolunteer(key.to_string()));
    }
    let Ok(phone) = normalize_phone(key) else {
        return Err(AdminError::NoVolunteer(key.to_string()));
    };
    let mut found = storage.volunteers_by_phone(&phone)?;
    match found.len() {
        0 => Err(AdminError::NoVolunteer(key.to_string())),
        1 => Ok(found.remove(0)),
        _ => Err(AdminError::SeveralVolunteers {
            phone,
            ids: found.into_iter().map(|v| v.id).collect(),
        }),
    }
}

/// A one-time enrollment code and whom it enrolls.
#[derive(Debug)]
pub struct EnrollCode {
    pub code: Secret,
    pub volunteer: Volunteer,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A new one-time enrollment code for the device of the volunteer `key`
/// names (id or phone, [`find_volunteer`]); only its hash is stored.
pub fn enroll_code_for(
    storage: &dyn Storage,
    key: &str,
    ttl_hours: u32,
) -> AdminResult<EnrollCode> {
    let volunteer = find_volunteer(storage, key)?;
    let code = secrets::new_enroll_code();
    let at = now();
    let expires_at = at + i64::from(ttl_hours) * 3600;
    storage.add_enroll_code(
        &secrets::code_hash(code.expose()),
        &volunteer.id,
        at,
        expires_at,
    )?;
    Ok(EnrollCode {
        code,
        volunteer,
        expires_at,
    })
}

/// [`enroll_code_for`]: the code and when it expires (unix seconds).
pub fn new_enroll_code(
    storage: &dyn Storage,
    volunteer: &str,
    ttl_hours: u32,
) -> AdminResult<(Secret, i64)> {
    let c = enroll_code_for(storage, volunteer, ttl_hours)?;
    Ok((c.code, c.expires_at))
}

/// A new officer or operator account; returns it and its token (shown once).
pub fn add_account(
    storage: &dyn Storage,
    role: Role,
    name: &str,
    province_code: Option<&str>,
) -> AdminResult<(Account, Secret)> {
    let province_code = province_code.map(str::trim).filter(|p| !p.is_empty());
    match (role, province_code) {
        (Role::Officer, None) => return Err(AdminError::OfficerNeedsArea),
        (_, Some(p)) if !storage.province_exists(p)? => {
            return Err(AdminError::NoProvince(p.to_string()));
        }
        _ => {}
    }
    let account = Account {
        id: Uuid::now_v7().to_string(),
        role,
        name: need_text(Field::AccountName, name)?,
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
) -> AdminResult<(Account, Secret)> {
    let commune = commune_code.trim();
    let province = need_commune(storage, commune)?;
    let account = Account {
        id: Uuid::now_v7().to_string(),
        role: Role::Officer,
        name: need_text(Field::AccountName, name)?,
        province_code: Some(province),
        commune_code: Some(commune.to_string()),
    };
    let token = secrets::new_token();
    storage.add_account(&account, &secrets::token_hash(token.expose()), now())?;
    Ok((account, token))
}

/// An account of `role`: with `commune`, a commune officer's (officers
/// only), else [`add_account`]'s.
pub fn add_any_account(
    storage: &dyn Storage,
    role: Role,
    name: &str,
    province_code: Option<&str>,
    commune_code: Option<&str>,
) -> AdminResult<(Account, Secret)> {
    match commune_code {
        Some(c) if role == Role::Officer => add_commune_officer(storage, name, c),
        Some(_) => Err(AdminError::CommuneIsForOfficers),
        None => add_account(storage, role, name, province_code),
    }
}

pub fn accounts(storage: &dyn Storage) -> AdminResult<Vec<AccountRow>> {
    Ok(storage.accounts()?)
}

/// Revokes an account: its token is refused from the next request on (401
/// `unauthorized`, reason `account_revoked`). False when it was already.
pub fn revoke_account(storage: &dyn Storage, account_id: &str) -> AdminResult<bool> {
    let id = account_id.trim();
    if !storage.accounts()?.iter().any(|a| a.account.id == id) {
        return Err(AdminError::NoAccount(id.to_string()));
    }
    Ok(storage.revoke_account(id, now())?)
}

/// Sets the password (and login name: `login`, else the one it has) an
/// account signs in to the console with; its open sessions end. Checked
/// here first so that each refusal is said in the operator's language.
/// Returns the login name.
pub fn set_console_password(
    storage: &dyn Storage,
    account_id: &str,
    login: Option<&str>,
    password: &str,
) -> AdminResult<String> {
    use crate::console::auth;
    let id = account_id.trim();
    if !storage.accounts()?.iter().any(|a| a.account.id == id) {
        return Err(AdminError::NoAccount(id.to_string()));
    }
    let login = match login {
        Some(l) => auth::normalize_login(l).map_err(|_| AdminError::BadLogin)?,
        None => storage
            .console_login_of(id)?
            .ok_or_else(|| AdminError::NoLoginYet(id.to_string()))?,
    };
    if let Some(other) = storage.console_login(&login)?
        && other.account.id != id
    {
        return Err(AdminError::LoginTaken {
            login,
            account: other.account.id,
        });
    }
    auth::check_password(password).map_err(|_| AdminError::WeakPassword)?;
    Ok(auth::set_password(storage, id, Some(&login), password)?)
}

/// Vietnam has one time zone, with no daylight saving.
fn vietnam() -> time::UtcOffset {
    time::UtcOffset::from_hms(gocua_household::validate::VIETNAM_OFFSET_HOURS, 0, 0)
        .unwrap_or(time::UtcOffset::UTC)
}

/// A calendar day, `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> AdminResult<time::Date> {
    time::Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|_| AdminError::BadTime(text.trim().to_string()))
}

/// A moment in Vietnam time: `YYYY-MM-DD` (its first second),
/// `YYYY-MM-DD HH:MM`, or RFC 3339 with its own offset; unix seconds.
pub fn parse_since(text: &str) -> AdminResult<i64> {
    let t = text.trim();
    if let Ok(at) = time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339) {
        return Ok(at.unix_timestamp());
    }
    let local = time::PrimitiveDateTime::parse(
        t,
        format_description!("[year]-[month]-[day] [hour]:[minute]"),
    )
    .or_else(|_| parse_day(t).map(|d| d.midnight()))
    .map_err(|_| AdminError::BadTime(t.to_string()))?;
    Ok(local.assume_offset(vietnam()).unix_timestamp())
}

/// The names behind the `kind:id` actors and subjects of `rows`, looked up
/// once per list (the console's page, `admin audit`): an officer reading
/// the log for a breach report reads "Cán bộ xã Lan", not an id. Keyed by
/// the `kind:id` text.
pub fn audit_names(
    s: &dyn Storage,
    rows: &[AuditRow],
) -> Result<std::collections::HashMap<String, String>, StorageError> {
    let refs: std::collections::BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| [r.entry.actor.as_str(), r.entry.subject.as_str()])
        .collect();
    let mut names = std::collections::HashMap::new();
    if refs.iter().any(|r| r.starts_with("account:")) {
        for a in s.accounts()? {
            names.insert(format!("account:{}", a.account.id), a.account.name);
        }
    }
    if refs.iter().any(|r| r.starts_with("device:")) {
        for d in s.devices()? {
            let id = format!("device:{}", d.id);
            if refs.contains(id.as_str()) {
                names.insert(id, format!("{} · {}", d.name, d.volunteer_name));
            }
        }
    }
    for r in &refs {
        if let Some(id) = r.strip_prefix("volunteer:") {
            if let Some(v) = s.volunteer(id)? {
                names.insert(r.to_string(), v.name);
            }
        } else if let Some(id) = r.strip_prefix("team:")
            && let Some(t) = s.team(id)?
        {
            names.insert(r.to_string(), t.name);
        }
    }
    Ok(names)
}

/// The newest `query.limit` audit entries `query` keeps, oldest first (as
/// a log reads); blank text conditions are no conditions.
pub fn audit(storage: &dyn Storage, query: &AuditQuery) -> AdminResult<Vec<AuditRow>> {
    fn clean(m: &Option<TextMatch>) -> Option<TextMatch> {
        match m {
            Some(TextMatch::Is(v)) if !v.trim().is_empty() => Some(TextMatch::Is(v.trim().into())),
            Some(TextMatch::Contains(v)) if !v.trim().is_empty() => {
                Some(TextMatch::Contains(v.trim().into()))
            }
            _ => None,
        }
    }
    let query = AuditQuery {
        actor: clean(&query.actor),
        action: clean(&query.action),
        subject: clean(&query.subject),
        ..query.clone()
    };
    let mut rows = storage.search_audit(&query)?;
    rows.reverse();
    Ok(rows)
}

/// Records a training session, for a team (its commune's) or for a
/// commune's teams.
pub fn add_training(
    storage: &dyn Storage,
    topic: &str,
    held_on: &str,
    place: &str,
    team_id: Option<&str>,
    commune_code: Option<&str>,
) -> AdminResult<Training> {
    let topic = need_text(Field::Topic, topic)?;
    let place = need_text(Field::Place, place)?;
    let day = parse_day(held_on)?;
    let (team_id, commune_code) = match (team_id, commune_code.map(str::trim)) {
        (Some(t), _) => {
            let team = need_team(storage, t)?;
            (Some(team.id), team.commune_code)
        }
        (None, Some(c)) => {
            need_commune(storage, c)?;
            (None, c.to_string())
        }
        (None, None) => return Err(AdminError::TeamOrCommune),
    };
    Ok(storage.add_training(
        &NewTraining {
            topic,
            held_on: day.to_string(),
            place,
            team_id,
            commune_code,
        },
        now(),
    )?)
}

/// What [`attend_training`] recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Attended {
    pub training: Training,
    pub volunteers: Vec<Volunteer>,
    /// Attendees not recorded before (the others were already).
    pub recorded: u64,
}

/// Records the volunteers `keys` name (ids or phones) as attendees of
/// session `id`; all or none, each once.
pub fn attend_training(storage: &dyn Storage, id: i64, keys: &[String]) -> AdminResult<Attended> {
    let training = storage.training(id)?.ok_or(AdminError::NoTraining(id))?;
    let mut volunteers: Vec<Volunteer> = Vec::new();
    for k in keys {
        let v = find_volunteer(storage, k)?;
        if !volunteers.contains(&v) {
            volunteers.push(v);
        }
    }
    let ids: Vec<String> = volunteers.iter().map(|v| v.id.clone()).collect();
    let recorded = storage.attend_training(id, &ids, now())?;
    Ok(Attended {
        training,
        volunteers,
        recorded,
    })
}

/// Training sessions of a commune (or all), held on or after `since`.
pub fn trainings(
    storage: &dyn Storage,
    commune_code: Option<&str>,
    since: Option<&str>,
) -> AdminResult<Vec<TrainingRow>> {
    let commune = commune_code.map(str::trim);
    if let Some(c) = commune {
        need_commune(storage, c)?;
    }
    let since = since.map(parse_day).transpose()?.map(|d| d.to_string());
    Ok(storage.trainings(commune, since.as_deref())?)
}

/// The audit detail of a team edit (the same on both backends).
pub(crate) fn team_edit_detail(before: &Team, edit: &TeamEdit, refed: u64) -> String {
    let mut parts = Vec::new();
    if let Some(n) = &edit.name {
        parts.push(format!("name={:?} (was {:?})", n, before.name));
    }
    if !edit.add.is_empty() {
        parts.push(format!("added={}", edit.add.join(",")));
    }
    if !edit.remove.is_empty() {
        parts.push(format!("removed={}", edit.remove.join(",")));
    }
    if refed > 0 {
        parts.push(format!("refed_changes={refed}"));
    }
    parts.join(" ")
}

// ---- edits the web console makes (`crate::console`) ----

/// Renames a village; its id, which devices derived from its first name,
/// stays.
pub fn rename_village(storage: &dyn Storage, village_id: &str, name: &str) -> AdminResult<Village> {
    let name = need_text(Field::VillageName, name)?;
    Ok(storage.rename_village(village_id.trim(), &name)?)
}

/// Changes a volunteer's name, phone (stored in its national form) and
/// team.
pub fn edit_volunteer(
    storage: &dyn Storage,
    volunteer_id: &str,
    name: &str,
    phone: Option<&str>,
    team_id: &str,
) -> AdminResult<Volunteer> {
    let id = volunteer_id.trim();
    if storage.volunteer(id)?.is_none() {
        return Err(AdminError::NoVolunteer(id.to_string()));
    }
    let phone = match phone.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(normalize_phone(p)?),
        None => None,
    };
    let volunteer = Volunteer {
        id: id.to_string(),
        name: need_text(Field::VolunteerName, name)?,
        phone,
        team_id: need_team(storage, team_id)?.id,
    };
    storage.update_volunteer(&volunteer)?;
    Ok(volunteer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(name: &str, phone: Option<&str>, team: &str) -> Volunteer {
        Volunteer {
            id: Uuid::now_v7().to_string(),
            name: name.into(),
            phone: phone.map(str::to_string),
            team_id: team.into(),
        }
    }

    #[test]
    fn the_same_person_by_phone_anywhere_or_by_name_in_the_team() {
        let lan = v("Nguyễn Thị Lan", Some("0912345678"), "t1");
        assert!(same_person(&lan, &v("Lan", Some("0912345678"), "t2")));
        assert!(!same_person(
            &lan,
            &v("Nguyễn Thị Lan", Some("0987654321"), "t1")
        ));
        // No phone: the name, folded, in the same team.
        assert!(same_person(&lan, &v("nguyen thi lan", None, "t1")));
        assert!(same_person(&v("Hoà", None, "t1"), &v("Hòa", None, "t1")));
        assert!(!same_person(&lan, &v("Nguyễn Thị Lan", None, "t2")));
        assert!(!same_person(&lan, &v("Nguyễn Thị Hoa", None, "t1")));
    }

    #[test]
    fn times_are_read_in_vietnam_time() {
        // 2026-01-02 00:00 in Vietnam is 2026-01-01 17:00 UTC.
        assert_eq!(parse_since("2026-01-02").unwrap(), 1_767_286_800);
        assert_eq!(parse_since("2026-01-02 07:30").unwrap(), 1_767_313_800);
        assert_eq!(parse_since("2026-01-02T00:00:00Z").unwrap(), 1_767_312_000);
        for bad in ["", "02/01/2026", "2026-13-01", "yesterday"] {
            assert!(
                matches!(parse_since(bad), Err(AdminError::BadTime(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn phones_in_any_typed_form_are_one() {
        for p in [
            "0912345678",
            "+84 912 345 678",
            "0912.345.678",
            "84912345678",
        ] {
            assert_eq!(normalize_phone(p).unwrap(), "0912345678", "{p}");
        }
        assert!(matches!(
            normalize_phone("12345"),
            Err(AdminError::BadPhone(_))
        ));
    }
}
