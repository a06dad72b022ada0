//! The console's pages. Every handler finds the signed-in viewer first
//! (`auth::Viewer`), shows only what lies in the viewer's area, and refuses
//! a change outside it (403) before anything is written.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::Viewer;
use super::text::{Lang, Msg};
use super::{Area, Refusal, blocking, chart, local_time};
use crate::admin::{self, AdminError};
use crate::api::AppState;
use crate::storage::{
    AuditEntry, AuditQuery, DeviceRow, Storage, StorageError, Team, TeamRow, TextMatch, Village,
};
use crate::{now, report};

type Answer = Result<Response, Refusal>;

/// What the layout needs of every page.
#[derive(Debug)]
pub struct Frame {
    pub l: Lang,
    pub signed_in: bool,
    pub who: String,
    /// A text key.
    pub role: &'static str,
    pub area: String,
    pub csrf: String,
    pub active: &'static str,
}

/// The official names carry their kind ("Phường Hồng Hà", "Thành phố Hà
/// Nội"): the kind is said only when the name is not known.
fn area_text(lang: Lang, area: &Area) -> String {
    let areas = report::areas();
    let named = |kind: &str, code: &str, name: Option<&str>| match name {
        Some(n) if !n.is_empty() => format!("{n} ({code})"),
        _ => format!("{} {code}", lang.t(kind)),
    };
    match area {
        Area::All => lang.t("area_all").to_string(),
        Area::Province(p) => named("province", p, areas.province_name(p)),
        Area::Commune(c) => named("commune", c, areas.commune_name(c)),
    }
}

fn frame(v: &Viewer, active: &'static str) -> Frame {
    Frame {
        l: v.lang,
        signed_in: true,
        who: v.account.name.clone(),
        role: match v.area {
            Area::All => "role_operator",
            Area::Province(_) => "role_province",
            Area::Commune(_) => "role_commune",
        },
        area: area_text(v.lang, &v.area),
        csrf: v.csrf.clone(),
        active,
    }
}

fn html(t: impl Template) -> Answer {
    match t.render() {
        Ok(body) => Ok(Html(body).into_response()),
        Err(e) => {
            tracing::error!(error = %e, "console: a page did not render");
            Err(Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, Msg::Failed))
        }
    }
}

fn answer(lang: Lang, a: Answer) -> Response {
    a.unwrap_or_else(|r| r.page(lang))
}

/// A form's input refused below (a missing commune, an empty name): a 400,
/// with what was wrong.
fn bad_input(e: StorageError) -> Refusal {
    match e {
        StorageError::NotFound(m) | StorageError::Invalid(m) => {
            Refusal::new(StatusCode::BAD_REQUEST, Msg::BadInput).with_detail(m)
        }
        other => Refusal::from(other),
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    f: Frame,
    status: u16,
    message: &'static str,
    detail: String,
}

pub fn error_page(lang: Lang, r: &Refusal) -> String {
    let page = ErrorPage {
        f: Frame {
            l: lang,
            signed_in: false,
            who: String::new(),
            role: "role_operator",
            area: String::new(),
            csrf: String::new(),
            active: "",
        },
        status: r.status.as_u16(),
        message: r.message.key(),
        detail: r.detail.clone(),
    };
    page.render()
        .unwrap_or_else(|_| format!("{} ({})", lang.t(r.message.key()), r.status.as_u16()))
}

pub async fn not_found(lang: Lang) -> Response {
    Refusal::new(StatusCode::NOT_FOUND, Msg::NotFound).page(lang)
}

/// Whether communes lie in an area, each looked up once.
struct InArea<'a> {
    storage: &'a dyn Storage,
    area: &'a Area,
    known: HashMap<String, bool>,
}

impl<'a> InArea<'a> {
    fn new(storage: &'a dyn Storage, area: &'a Area) -> InArea<'a> {
        InArea {
            storage,
            area,
            known: HashMap::new(),
        }
    }

    fn holds(&mut self, commune: &str) -> Result<bool, Refusal> {
        if let Some(&k) = self.known.get(commune) {
            return Ok(k);
        }
        let k = self.area.holds(self.storage, commune)?;
        self.known.insert(commune.to_string(), k);
        Ok(k)
    }

    /// Refuses a commune outside the area.
    fn need(&mut self, commune: &str) -> Result<(), Refusal> {
        if self.holds(commune)? {
            Ok(())
        } else {
            Err(Refusal::forbidden())
        }
    }
}

/// A refusal of `crate::admin`'s, told in the page's language.
fn admin_err(lang: Lang, e: AdminError) -> Refusal {
    match e {
        AdminError::Storage(s) => bad_input(s),
        e if e.is_bad_input() => Refusal::new(StatusCode::BAD_REQUEST, Msg::BadInput)
            .with_detail(crate::messages::admin_error(lang, &e)),
        e => {
            tracing::error!(error = %e, "console: an admin function failed");
            Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, Msg::Failed)
        }
    }
}

/// The teams of the area, with their counts.
fn team_rows_in(s: &dyn Storage, area: &Area) -> Result<Vec<TeamRow>, Refusal> {
    let mut check = InArea::new(s, area);
    let mut out = Vec::new();
    for t in s.teams(area.commune())? {
        if check.holds(&t.team.commune_code)? {
            out.push(t);
        }
    }
    Ok(out)
}

fn teams_in(s: &dyn Storage, area: &Area) -> Result<Vec<Team>, Refusal> {
    Ok(team_rows_in(s, area)?.into_iter().map(|t| t.team).collect())
}

fn villages_in(s: &dyn Storage, area: &Area) -> Result<Vec<Village>, Refusal> {
    let mut check = InArea::new(s, area);
    let mut out = Vec::new();
    for v in s.villages(area.commune())? {
        if check.holds(&v.commune_code)? {
            out.push(v);
        }
    }
    Ok(out)
}

/// The devices of the area's teams, with their team's name.
fn devices_in(s: &dyn Storage, area: &Area) -> Result<Vec<(DeviceRow, String)>, Refusal> {
    let teams: HashMap<String, String> = teams_in(s, area)?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    Ok(s.devices()?
        .into_iter()
        .filter_map(|d| {
            let team = teams.get(&d.team_id)?.clone();
            Some((d, team))
        })
        .collect())
}

fn audit_entry(v: &Viewer, action: &str, subject: String, detail: String) -> AuditEntry {
    AuditEntry {
        at: now(),
        actor: v.actor(),
        action: action.into(),
        subject,
        detail,
    }
}

fn pct(p: Option<f64>) -> String {
    p.map_or_else(|| "—".to_string(), |p| format!("{p:.1}%"))
}

fn figure(
    unit: &gocua_report::UnitReport,
    indicator: gocua_report::Indicator,
) -> Option<&gocua_report::Figure> {
    unit.figures
        .iter()
        .find(|f| f.indicator == indicator && f.breakdown == gocua_report::Breakdown::All)
}

// ---- overview ----

#[derive(Template)]
#[template(path = "console/overview.html")]
struct Overview {
    f: Frame,
    period: String,
    first_day: String,
    last_day: String,
    households: u64,
    visits: u64,
    reached: String,
    devices_week: usize,
    devices_enrolled: usize,
    healthy: bool,
    changes: u64,
    materialized: u64,
    version: &'static str,
}

const WEEK: i64 = 7 * 86_400;

pub async fn overview(State(state): State<AppState>, v: Viewer) -> Response {
    let lang = v.lang;
    answer(lang, overview_page(&state, v).await)
}

async fn overview_page(state: &AppState, v: Viewer) -> Answer {
    let area = v.area.clone();
    let (report, devices, week_ago, healthy, changes, materialized) = blocking(state, move |s| {
        use gocua_report::Level;
        let level = match area {
            Area::All => Level::National,
            Area::Province(_) => Level::Province,
            Area::Commune(_) => Level::Commune,
        };
        let report = report::indicators(s, &area.scope(), level, None, report::today(), 0)?;
        let devices = devices_in(s, &area)?;
        let healthy = s.health().is_ok();
        Ok((
            report,
            devices,
            now() - WEEK,
            healthy,
            s.change_count()?,
            s.materialized_seq()?,
        ))
    })
    .await?;
    use gocua_report::Indicator;
    let households = report
        .units
        .iter()
        .filter_map(|u| figure(u, Indicator::HouseholdsRegistered))
        .map(|f| f.running_total)
        .sum();
    let visits = report
        .units
        .iter()
        .filter_map(|u| figure(u, Indicator::Visits))
        .filter_map(|f| f.period)
        .sum();
    let (part, whole) = report.units.iter().fold((0, 0), |(p, w), u| {
        (p + u.reached_in_period.part, w + u.reached_in_period.whole)
    });
    let in_use: Vec<&DeviceRow> = devices
        .iter()
        .map(|(d, _)| d)
        .filter(|d| d.revoked_at.is_none())
        .collect();
    html(Overview {
        f: frame(&v, "overview"),
        period: report.period.to_string(),
        first_day: report.first_day,
        last_day: report.last_day,
        households,
        visits,
        reached: format!(
            "{} ({part}/{whole})",
            pct(gocua_report::Ratio::of(part, whole).pct)
        ),
        devices_week: in_use
            .iter()
            .filter(|d| d.last_seen_at.is_some_and(|t| t >= week_ago))
            .count(),
        devices_enrolled: in_use.len(),
        healthy,
        changes,
        materialized,
        version: crate::api::SERVER_VERSION,
    })
}

// ---- coverage ----

#[derive(Debug, Deserialize)]
pub struct CoverageQuery {
    level: Option<String>,
    period: Option<String>,
}

struct CoverageRow {
    code: String,
    name: String,
    registered: u64,
    visited: u64,
    reached_to_date: String,
    reached_period: String,
    citizens: String,
    trained: String,
}

#[derive(Template)]
#[template(path = "console/coverage.html")]
struct Coverage {
    f: Frame,
    period: String,
    first_day: String,
    last_day: String,
    level: &'static str,
    rows: Vec<CoverageRow>,
    chart: chart::Chart,
}

/// Units drawn in the chart at most; the table lists every one.
const CHART_UNITS: usize = 60;

pub async fn coverage(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<CoverageQuery>,
) -> Response {
    let lang = v.lang;
    answer(lang, coverage_page(&state, v, q).await)
}

async fn coverage_page(state: &AppState, v: Viewer, q: CoverageQuery) -> Answer {
    use gocua_report::{Indicator, Level};
    let level = match q.level.as_deref() {
        Some("village") => Level::Village,
        Some("commune") => Level::Commune,
        _ if matches!(v.area, Area::Commune(_)) => Level::Village,
        _ => Level::Commune,
    };
    let period = match q.period.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => Some(gocua_report::Period::parse(p).map_err(|_| {
            Refusal::new(StatusCode::BAD_REQUEST, Msg::BadInput)
                .with_detail(format!("period {p:?}: YEAR-MONTH, e.g. 2026-11"))
        })?),
        None => None,
    };
    let area = v.area.clone();
    let (report, names) = blocking(state, move |s| {
        let report = report::indicators(s, &area.scope(), level, period, report::today(), 0)?;
        let names: HashMap<String, String> = villages_in(s, &area)?
            .into_iter()
            .map(|v| (v.id, v.name))
            .collect();
        Ok((report, names))
    })
    .await?;
    let areas = report::areas();
    let rows: Vec<CoverageRow> = report
        .units
        .iter()
        .map(|u| CoverageRow {
            code: u.unit.clone(),
            name: match level {
                Level::Village => names.get(&u.unit).cloned().unwrap_or_default(),
                _ => areas.commune_name(&u.unit).unwrap_or("").to_string(),
            },
            registered: figure(u, Indicator::HouseholdsRegistered).map_or(0, |f| f.running_total),
            visited: u.reached_to_date.part,
            reached_to_date: pct(u.reached_to_date.pct),
            reached_period: pct(u.reached_in_period.pct),
            citizens: pct(u.digital_citizens.pct),
            trained: pct(u.volunteers_trained.pct),
        })
        .collect();
    let target = report
        .units
        .first()
        .map_or(70.0, |u| u.digital_citizens_target_pct);
    let bars: Vec<(String, Option<f64>, Option<f64>)> = report
        .units
        .iter()
        .zip(&rows)
        .take(CHART_UNITS)
        .map(|(u, r)| {
            let label = if r.name.is_empty() {
                r.code.clone()
            } else {
                r.name.clone()
            };
            (label, u.reached_to_date.pct, u.digital_citizens.pct)
        })
        .collect();
    html(Coverage {
        f: frame(&v, "coverage"),
        period: report.period.to_string(),
        first_day: report.first_day.clone(),
        last_day: report.last_day.clone(),
        level: level.code(),
        rows,
        chart: chart::bars(&bars, target),
    })
}

// ---- devices ----

struct DeviceLine {
    id: String,
    name: String,
    volunteer: String,
    team: String,
    enrolled: String,
    revoked: String,
    wipe: bool,
    unsent: i64,
    last_seen: String,
    last_sync: String,
    app_version: String,
    /// As the device last reported them; empty when it never did.
    pending: String,
}

#[derive(Template)]
#[template(path = "console/devices.html")]
struct Devices {
    f: Frame,
    devices: Vec<DeviceLine>,
    done: bool,
}

#[derive(Debug, Deserialize)]
pub struct Done {
    done: Option<String>,
}

pub async fn devices(State(state): State<AppState>, v: Viewer, Query(q): Query<Done>) -> Response {
    let lang = v.lang;
    answer(lang, devices_page(&state, v, q.done.is_some()).await)
}

async fn devices_page(state: &AppState, v: Viewer, done: bool) -> Answer {
    let area = v.area.clone();
    let devices = blocking(state, move |s| devices_in(s, &area)).await?;
    html(Devices {
        f: frame(&v, "devices"),
        devices: devices
            .into_iter()
            .map(|(d, team)| DeviceLine {
                last_seen: d.last_seen_at.map(local_time).unwrap_or_default(),
                last_sync: d.last_sync_at.map(local_time).unwrap_or_default(),
                app_version: d.app_version.unwrap_or_default(),
                pending: d.pending_changes.map(|n| n.to_string()).unwrap_or_default(),
                id: d.id,
                name: d.name,
                volunteer: d.volunteer_name,
                team,
                enrolled: local_time(d.enrolled_at),
                revoked: d.revoked_at.map(local_time).unwrap_or_default(),
                wipe: d.wipe_requested,
                unsent: d.unsent_reports,
            })
            .collect(),
        done,
    })
}

/// The device `id` of the area: 404 when there is none, 403 when it is
/// another area's.
fn device_of(s: &dyn Storage, area: &Area, id: &str) -> Result<DeviceRow, Refusal> {
    let device = s
        .devices()?
        .into_iter()
        .find(|d| d.id == id)
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, Msg::NotFound))?;
    let team = s
        .team(&device.team_id)?
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, Msg::NotFound))?;
    InArea::new(s, area).need(&team.commune_code)?;
    Ok(device)
}

#[derive(Template)]
#[template(path = "console/revoke.html")]
struct Revoke {
    f: Frame,
    id: String,
    device: String,
    volunteer: String,
}

pub async fn revoke_confirm(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
) -> Response {
    let lang = v.lang;
    let area = v.area.clone();
    let page = async {
        let d = blocking(&state, move |s| device_of(s, &area, &id)).await?;
        html(Revoke {
            f: frame(&v, "devices"),
            id: d.id,
            device: d.name,
            volunteer: d.volunteer_name,
        })
    };
    answer(lang, page.await)
}

pub async fn revoke(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let lang = v.lang;
    let done = async {
        let form = v.form(&body)?;
        let wipe = form.get("wipe") == "1";
        let area = v.area.clone();
        let entry = audit_entry(
            &v,
            "console_device_revoked",
            format!("device:{id}"),
            format!("wipe={wipe}"),
        );
        blocking(&state, move |s| {
            device_of(s, &area, &id)?;
            s.revoke_device(&id, now(), wipe)?;
            s.audit(&entry)?;
            Ok(())
        })
        .await?;
        Ok(Redirect::to("/console/devices?done=revoked").into_response())
    };
    answer(lang, done.await)
}

// ---- villages ----

struct VillageLine {
    id: String,
    commune: String,
    name: String,
    team: String,
}

#[derive(Template)]
#[template(path = "console/villages.html")]
struct Villages {
    f: Frame,
    villages: Vec<VillageLine>,
    /// The commune the add form is for, when the area is one.
    commune: String,
    saved: bool,
}

pub async fn villages(State(state): State<AppState>, v: Viewer, Query(q): Query<Done>) -> Response {
    let lang = v.lang;
    let area = v.area.clone();
    let page = async {
        let (villages, teams) = blocking(&state, move |s| {
            Ok((villages_in(s, &area)?, teams_in(s, &area)?))
        })
        .await?;
        let serving: HashMap<&str, &str> = teams
            .iter()
            .flat_map(|t| t.villages.iter().map(|v| (v.id.as_str(), t.name.as_str())))
            .collect();
        html(Villages {
            commune: v.area.commune().unwrap_or("").to_string(),
            f: frame(&v, "villages"),
            villages: villages
                .iter()
                .map(|vl| VillageLine {
                    id: vl.id.clone(),
                    commune: vl.commune_code.clone(),
                    name: vl.name.clone(),
                    team: serving.get(vl.id.as_str()).unwrap_or(&"—").to_string(),
                })
                .collect(),
            saved: q.done.is_some(),
        })
    };
    answer(lang, page.await)
}

pub async fn add_village(State(state): State<AppState>, v: Viewer, body: Bytes) -> Response {
    let lang = v.lang;
    let done = async {
        let form = v.form(&body)?;
        let commune = form.get("commune").trim().to_string();
        let name = form.get("name").to_string();
        let area = v.area.clone();
        let actor = v.clone();
        blocking(&state, move |s| {
            InArea::new(s, &area).need(&commune)?;
            let village = admin::add_village(s, &commune, &name).map_err(|e| admin_err(lang, e))?;
            s.audit(&audit_entry(
                &actor,
                "console_village_added",
                format!("village:{}", village.id),
                format!("commune={commune} name={:?}", village.name),
            ))?;
            Ok(())
        })
        .await?;
        Ok(Redirect::to("/console/villages?done=saved").into_response())
    };
    answer(lang, done.await)
}

fn village_of(s: &dyn Storage, area: &Area, id: &str) -> Result<Village, Refusal> {
    let village = s
        .villages(None)?
        .into_iter()
        .find(|v| v.id == id)
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, Msg::NotFound))?;
    InArea::new(s, area).need(&village.commune_code)?;
    Ok(village)
}

#[derive(Template)]
#[template(path = "console/village_edit.html")]
struct VillageEdit {
    f: Frame,
    id: String,
    commune: String,
    name: String,
}

pub async fn village_form(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
) -> Response {
    let lang = v.lang;
    let area = v.area.clone();
    let page = async {
        let village = blocking(&state, move |s| village_of(s, &area, &id)).await?;
        html(VillageEdit {
            f: frame(&v, "villages"),
            id: village.id,
            commune: village.commune_code,
            name: village.name,
        })
    };
    answer(lang, page.await)
}

pub async fn edit_village(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let lang = v.lang;
    let done = async {
        let form = v.form(&body)?;
        let name = form.get("name").to_string();
        let area = v.area.clone();
        let actor = v.clone();
        blocking(&state, move |s| {
            let before = village_of(s, &area, &id)?;
            let after = admin::rename_village(s, &id, &name).map_err(|e| admin_err(lang, e))?;
            s.audit(&audit_entry(
                &actor,
                "console_village_renamed",
                format!("village:{id}"),
                format!("from={:?} to={:?}", before.name, after.name),
            ))?;
            Ok(())
        })
        .await?;
        Ok(Redirect::to("/console/villages?done=saved").into_response())
    };
    answer(lang, done.await)
}

// ---- teams ----

struct TeamLine {
    id: String,
    name: String,
    commune: String,
    villages: String,
    volunteers: i64,
}

struct VillageChoice {
    id: String,
    name: String,
    commune: String,
    chosen: bool,
}

#[derive(Template)]
#[template(path = "console/teams.html")]
struct Teams {
    f: Frame,
    teams: Vec<TeamLine>,
    villages: Vec<VillageChoice>,
    commune: String,
    saved: bool,
}

pub async fn teams(State(state): State<AppState>, v: Viewer, Query(q): Query<Done>) -> Response {
    let lang = v.lang;
    let area = v.area.clone();
    let page = async {
        let (teams, villages) = blocking(&state, move |s| {
            Ok((team_rows_in(s, &area)?, villages_in(s, &area)?))
        })
        .await?;
        html(Teams {
            commune: v.area.commune().unwrap_or("").to_string(),
            f: frame(&v, "teams"),
            teams: teams
                .iter()
                .map(|row| TeamLine {
                    volunteers: row.volunteers,
                    id: row.team.id.clone(),
                    name: row.team.name.clone(),
                    commune: row.team.commune_code.clone(),
                    villages: row
                        .team
                        .villages
                        .iter()
                        .map(|v| v.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
                .collect(),
            villages: villages
                .into_iter()
                .map(|vl| VillageChoice {
                    id: vl.id,
                    name: vl.name,
                    commune: vl.commune_code,
                    chosen: false,
                })
                .collect(),
            saved: q.done.is_some(),
        })
    };
    answer(lang, page.await)
}

pub async fn add_team(State(state): State<AppState>, v: Viewer, body: Bytes) -> Response {
    let lang = v.lang;
    let done = async {
        let form = v.form(&body)?;
        let name = form.get("name").to_string();
        let commune = form.get("commune").trim().to_string();
        let villages = form.all("village");
        let area = v.area.clone();
        let actor = v.clone();
        blocking(&state, move |s| {
            InArea::new(s, &area).need(&commune)?;
            if villages.is_empty() {
                return Err(bad_input(StorageError::Invalid(
                    "choose at least one village for the team".into(),
                )));
            }
            let team =
                admin::add_team(s, &name, &commune, &villages).map_err(|e| admin_err(lang, e))?;
            s.audit(&audit_entry(
                &actor,
                "console_team_added",
                format!("team:{}", team.id),
                format!("commune={commune} name={:?}", team.name),
            ))?;
            Ok(())
        })
        .await?;
        Ok(Redirect::to("/console/teams?done=saved").into_response())
    };
    answer(lang, done.await)
}

fn team_of(s: &dyn Storage, area: &Area, id: &str) -> Result<Team, Refusal> {
    let team = s
        .team(id)?
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, Msg::NotFound))?;
    InArea::new(s, area).need(&team.commune_code)?;
    Ok(team)
}

#[derive(Template)]
#[template(path = "console/team_edit.html")]
struct TeamEdit {
    f: Frame,
    id: String,
    name: String,
    commune: String,
    villages: Vec<VillageChoice>,
}

pub async fn team_form(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
) -> Response {
    let lang = v.lang;
    let area = v.area.clone();
    let page = async {
        let (team, villages) = blocking(&state, move |s| {
            let team = team_of(s, &area, &id)?;
            let villages = s.villages(Some(&team.commune_code))?;
            Ok((team, villages))
        })
        .await?;
        html(TeamEdit {
            f: frame(&v, "teams"),
            villages: villages
                .into_iter()
                .map(|vl| VillageChoice {
                    chosen: team.villages.iter().any(|t| t.id == vl.id),
                    id: vl.id,
                    name: vl.name,
                    commune: vl.commune_code,
                })
                .collect(),
            id: team.id,
            name: team.name,
            commune: team.commune_code,
        })
    };
    answer(lang, page.await)
}

pub async fn edit_team(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let lang = v.lang;
    let done = async {
        let form = v.form(&body)?;
        let name = form.get("name").to_string();
        let villages = form.all("village");
        let area = v.area.clone();
        let actor = v.clone();
        blocking(&state, move |s| {
            let before = team_of(s, &area, &id)?;
            // The form gives the villages wanted: the edit is what changes.
            let add: Vec<String> = villages
                .iter()
                .filter(|v| !before.villages.iter().any(|b| &b.id == *v))
                .cloned()
                .collect();
            let remove: Vec<String> = before
                .villages
                .iter()
                .filter(|b| !villages.contains(&b.id))
                .map(|b| b.id.clone())
                .collect();
            let team = match admin::edit_team(s, &id, Some(&name), &add, &remove) {
                Ok(t) => t,
                Err(AdminError::NothingToEdit) => before,
                Err(e) => return Err(admin_err(lang, e)),
            };
            s.audit(&audit_entry(
                &actor,
                "console_team_edited",
                format!("team:{id}"),
                format!(
                    "name={:?} villages={}",
                    team.name,
                    team.villages
                        .iter()
                        .map(|v| v.id.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ))?;
            Ok(())
        })
        .await?;
        Ok(Redirect::to("/console/teams?done=saved").into_response())
    };
    answer(lang, done.await)
}

// ---- volunteers ----

struct VolunteerLine {
    id: String,
    name: String,
    phone: String,
    team: String,
    devices: i64,
}

struct TeamChoice {
    id: String,
    name: String,
    commune: String,
}

fn team_choices(teams: &[Team]) -> Vec<TeamChoice> {
    teams
        .iter()
        .map(|t| TeamChoice {
            id: t.id.clone(),
            name: t.name.clone(),
            commune: t.commune_code.clone(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/volunteers.html")]
struct Volunteers {
    f: Frame,
    volunteers: Vec<VolunteerLine>,
    teams: Vec<TeamChoice>,
    saved: bool,
}

pub async fn volunteers(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<Done>,
) -> Response {
    let lang = v.lang;
    let area = v.area.clone();
    let page = async {
        let (teams, volunteers) = blocking(&state, move |s| {
            Ok((teams_in(s, &area)?, s.volunteers(None)?))
        })
        .await?;
        let names: HashMap<&str, &str> = teams
            .iter()
            .map(|t| (t.id.as_str(), t.name.as_str()))
            .collect();
        html(Volunteers {
            f: frame(&v, "volunteers"),
            volunteers: volunteers
                .iter()
                .filter_map(|row| {
                    let vol = &row.volunteer;
                    let team = names.get(vol.team_id.as_str())?;
                    Some(VolunteerLine {
                        id: vol.id.clone(),
                        name: vol.name.clone(),
                        phone: vol.phone.clone().unwrap_or_default(),
                        team: team.to_string(),
                        devices: row.devices,
                    })
                })
                .collect(),
            teams: team_choices(&teams),
            saved: q.done.is_some(),
        })
    };
    answer(lang, page.await)
}

pub async fn add_volunteer(State(state): State<AppState>, v: Viewer, body: Bytes) -> Response {
    let lang = v.lang;
    let done = async {
        let form = v.form(&body)?;
        let name = form.get("name").to_string();
        let phone = form.get("phone").to_string();
        let team = form.get("team").to_string();
        let area = v.area.clone();
        let actor = v.clone();
        blocking(&state, move |s| {
            team_of(s, &area, &team).map_err(|r| {
                if r.status == StatusCode::NOT_FOUND {
                    bad_input(StorageError::NotFound(format!("no team {team}")))
                } else {
                    r
                }
            })?;
            let vol = admin::add_volunteer(s, &name, Some(&phone), &team)
                .map_err(|e| admin_err(lang, e))?;
            s.audit(&audit_entry(
                &actor,
                "console_volunteer_added",
                format!("volunteer:{}", vol.id),
                format!("team={team} name={:?}", vol.name),
            ))?;
            Ok(())
        })
        .await?;
        Ok(Redirect::to("/console/volunteers?done=saved").into_response())
    };
    answer(lang, done.await)
}

/// The volunteer `id` of the area, and their team.
fn volunteer_of(
    s: &dyn Storage,
    area: &Area,
    id: &str,
) -> Result<(crate::storage::Volunteer, Team), Refusal> {
    let vol = s
        .volunteer(id)?
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, Msg::NotFound))?;
    let team = team_of(s, area, &vol.team_id)?;
    Ok((vol, team))
}

#[derive(Template)]
#[template(path = "console/volunteer_edit.html")]
struct VolunteerEdit {
    f: Frame,
    id: String,
    name: String,
    phone: String,
    team: String,
    teams: Vec<TeamChoice>,
}

pub async fn volunteer_form(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
) -> Response {
    let lang = v.lang;
    let area = v.area.clone();
    let page = async {
        let ((vol, _), teams) = blocking(&state, move |s| {
            Ok((volunteer_of(s, &area, &id)?, teams_in(s, &area)?))
        })
        .await?;
        html(VolunteerEdit {
            f: frame(&v, "volunteers"),
            id: vol.id,
            name: vol.name,
            phone: vol.phone.unwrap_or_default(),
            team: vol.team_id,
            teams: team_choices(&teams),
        })
    };
    answer(lang, page.await)
}

pub async fn edit_volunteer(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let lang = v.lang;
    let done = async {
        let form = v.form(&body)?;
        let name = form.get("name").to_string();
        let phone = form.get("phone").to_string();
        let team = form.get("team").to_string();
        let area = v.area.clone();
        let actor = v.clone();
        blocking(&state, move |s| {
            volunteer_of(s, &area, &id)?;
            // The team it moves to must be of the area too.
            team_of(s, &area, &team)?;
            let vol = admin::edit_volunteer(s, &id, &name, Some(&phone), &team)
                .map_err(|e| admin_err(lang, e))?;
            s.audit(&audit_entry(
                &actor,
                "console_volunteer_edited",
                format!("volunteer:{id}"),
                format!("team={team} name={:?}", vol.name),
            ))?;
            Ok(())
        })
        .await?;
        Ok(Redirect::to("/console/volunteers?done=saved").into_response())
    };
    answer(lang, done.await)
}

#[derive(Template)]
#[template(path = "console/code.html")]
struct CodePage {
    f: Frame,
    volunteer: String,
    code: String,
    qr: String,
    expires: String,
}

/// The code as a QR code, an SVG element (the XML prologue dropped: it
/// goes inside the page).
fn qr_svg(code: &str) -> Result<String, Refusal> {
    let qr = qrcode::QrCode::new(code.as_bytes()).map_err(|e| {
        tracing::error!(error = %e, "console: no QR code");
        Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, Msg::Failed)
    })?;
    let svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Ok(match svg.find("<svg") {
        Some(at) => svg[at..].to_string(),
        None => svg,
    })
}

pub async fn enroll_code(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let lang = v.lang;
    let page = async {
        v.form(&body)?;
        let area = v.area.clone();
        let actor = v.clone();
        let ttl = state.config.enroll_code_ttl_hours;
        let (vol, code, expires) = blocking(&state, move |s| {
            let (vol, _) = volunteer_of(s, &area, &id)?;
            let (code, expires) =
                admin::new_enroll_code(s, &vol.id, ttl).map_err(|e| admin_err(lang, e))?;
            // The code itself is never written down: only that one was made.
            s.audit(&audit_entry(
                &actor,
                "console_enroll_code_issued",
                format!("volunteer:{}", vol.id),
                format!(
                    "expires_at={}",
                    crate::messages::local_time_rfc3339(expires)
                ),
            ))?;
            Ok((vol, code, expires))
        })
        .await?;
        html(CodePage {
            f: frame(&v, "volunteers"),
            volunteer: vol.name,
            qr: qr_svg(code.expose())?,
            code: code.into_inner(),
            expires: local_time(expires),
        })
    };
    answer(lang, page.await)
}

// ---- clashes ----

struct ValueLine {
    value: String,
    by: String,
    at: String,
}

struct ClashLine {
    household: String,
    head: String,
    village: String,
    path: String,
    values: Vec<ValueLine>,
}

struct ReviewLine {
    household: String,
    visit: String,
    reason: &'static str,
    value: String,
    reference: String,
    counted_in: String,
    village: String,
}

#[derive(Template)]
#[template(path = "console/clashes.html")]
struct Clashes {
    f: Frame,
    clashes: Vec<ClashLine>,
    reviews: Vec<ReviewLine>,
    page: u32,
    /// Links to the pages before and after (empty: none).
    newer: String,
    older: String,
}

#[derive(Debug, Deserialize)]
pub struct ClashParams {
    page: Option<u32>,
}

/// Households whose clashes are read for one page: each is its snapshot
/// loaded, and a phone shows a page of this many comfortably.
const CLASH_HOUSEHOLDS: u32 = 50;
const REVIEWS: u32 = 500;

fn reason_key(r: gocua_report::ReviewReason) -> &'static str {
    use gocua_report::ReviewReason as R;
    match r {
        R::DatedAfterReference => "reason_dated_after_reference",
        R::DatedLongBeforeReference => "reason_dated_long_before_reference",
        R::UnreadableDate => "reason_unreadable_date",
        R::Undated => "reason_undated",
        R::LegacyCommune => "reason_legacy_commune",
        R::UnknownCommune => "reason_unknown_commune",
    }
}

/// The fields in conflict of each household, read from its snapshot: every
/// value, with who set it and when.
/// The households of page `page` (from 1), and whether more follow.
fn clashes_in(s: &dyn Storage, area: &Area, page: u32) -> Result<(Vec<ClashLine>, bool), Refusal> {
    use automerge::ReadDoc;
    let mut households = s.conflicted_households(
        &area.scope(),
        (page - 1) * CLASH_HOUSEHOLDS,
        CLASH_HOUSEHOLDS + 1,
    )?;
    let more = households.len() > CLASH_HOUSEHOLDS as usize;
    households.truncate(CLASH_HOUSEHOLDS as usize);
    let volunteers: HashMap<String, String> = s
        .volunteers(None)?
        .into_iter()
        .map(|v| (v.volunteer.id, v.volunteer.name))
        .collect();
    let villages: HashMap<String, String> = villages_in(s, area)?
        .into_iter()
        .map(|v| (v.id, v.name))
        .collect();
    let ids: Vec<String> = households.iter().map(|h| h.doc_id.clone()).collect();
    let mut out = Vec::new();
    for snapshot in s.snapshots(&ids)? {
        let Some(bytes) = snapshot.bytes else {
            continue;
        };
        let Ok(Ok(doc)) = crate::isolate::isolated(|| automerge::Automerge::load(&bytes)) else {
            tracing::warn!(doc = %snapshot.doc_id, "console: a snapshot does not load");
            continue;
        };
        let head = doc
            .get(automerge::ROOT, "head_name")
            .ok()
            .flatten()
            .and_then(|(v, _)| v.into_string().ok())
            .unwrap_or_default();
        for c in gocua_household::conflicts::conflicts(
            &doc,
            &snapshot.doc_id,
            gocua_household::read::Scope::All,
        ) {
            let values = gocua_household::conflicts::value_origins(&doc, &c.path)
                .into_iter()
                .map(|o| ValueLine {
                    value: o.value,
                    by: o
                        .by
                        .map(|id| volunteers.get(&id).cloned().unwrap_or(id))
                        .unwrap_or_else(|| "—".into()),
                    at: if o.at_secs > 0 {
                        local_time(o.at_secs)
                    } else {
                        "—".into()
                    },
                })
                .collect();
            out.push(ClashLine {
                household: snapshot.doc_id.clone(),
                head: head.clone(),
                village: villages
                    .get(&snapshot.village_id)
                    .cloned()
                    .unwrap_or_else(|| snapshot.village_id.clone()),
                path: c.path,
                values,
            });
        }
    }
    out.sort_by(|a, b| {
        (&a.village, &a.household, &a.path).cmp(&(&b.village, &b.household, &b.path))
    });
    Ok((out, more))
}

pub async fn clashes(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<ClashParams>,
) -> Response {
    let lang = v.lang;
    let area = v.area.clone();
    let number = q.page.unwrap_or(1).clamp(1, 100_000);
    let link = |p: u32| format!("/console/clashes?page={p}");
    let page = async {
        let ((clashes, more), reviews) = blocking(&state, move |s| {
            Ok((
                clashes_in(s, &area, number)?,
                s.report_reviews(&area.scope(), REVIEWS)?,
            ))
        })
        .await?;
        html(Clashes {
            f: frame(&v, "clashes"),
            clashes,
            page: number,
            newer: if number > 1 {
                link(number - 1)
            } else {
                String::new()
            },
            older: if more {
                link(number + 1)
            } else {
                String::new()
            },
            reviews: reviews
                .into_iter()
                .map(|r| ReviewLine {
                    household: r.household_id,
                    visit: r.visit_id.unwrap_or_default(),
                    reason: reason_key(r.reason),
                    value: r.value,
                    reference: r.reference.unwrap_or_default(),
                    counted_in: r.counted_in.map(|p| p.to_string()).unwrap_or_default(),
                    village: r.area.village,
                })
                .collect(),
        })
    };
    answer(lang, page.await)
}

// ---- audit ----

#[derive(Debug, Default, Deserialize)]
pub struct AuditParams {
    actor: Option<String>,
    action: Option<String>,
    subject: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<u32>,
}

struct AuditLine {
    at: String,
    actor: String,
    /// Who `actor` is, when it names an account, a device, a volunteer or
    /// a team still known; else empty.
    actor_name: String,
    action: String,
    subject: String,
    subject_name: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct Audit {
    f: Frame,
    actor: String,
    action: String,
    subject: String,
    from: String,
    to: String,
    page: u32,
    newer: String,
    older: String,
    rows: Vec<AuditLine>,
}

const AUDIT_PAGE: u32 = 50;

fn given(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn day(s: &Option<String>, what: &str) -> Result<Option<i64>, Refusal> {
    match given(s) {
        None => Ok(None),
        Some(d) => super::day_start(&d).map(Some).ok_or_else(|| {
            Refusal::new(StatusCode::BAD_REQUEST, Msg::BadInput)
                .with_detail(format!("{what} {d:?}: YEAR-MONTH-DAY"))
        }),
    }
}

pub async fn audit(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<AuditParams>,
) -> Response {
    let lang = v.lang;
    answer(lang, audit_page(&state, v, q).await)
}

async fn audit_page(state: &AppState, v: Viewer, q: AuditParams) -> Answer {
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let query = AuditQuery {
        actor: given(&q.actor).map(TextMatch::Contains),
        action: given(&q.action).map(TextMatch::Contains),
        subject: given(&q.subject).map(TextMatch::Contains),
        from: day(&q.from, "from")?,
        // The "to" day is included: up to the next day's start.
        until: day(&q.to, "to")?.map(|t| t + 86_400),
        // An officer reads the rows of their area; the operator all.
        area: v.area.audit_area(),
        offset: (page - 1) * AUDIT_PAGE,
        limit: AUDIT_PAGE + 1,
    };
    let (mut rows, names) = blocking(state, move |s| {
        let rows = s.search_audit(&query)?;
        let names = admin::audit_names(s, &rows)?;
        Ok((rows, names))
    })
    .await?;
    let more = rows.len() > AUDIT_PAGE as usize;
    rows.truncate(AUDIT_PAGE as usize);
    let link = |p: u32| {
        let mut q2 = form_urlencoded::Serializer::new(String::new());
        for (k, val) in [
            ("actor", &q.actor),
            ("action", &q.action),
            ("subject", &q.subject),
            ("from", &q.from),
            ("to", &q.to),
        ] {
            if let Some(val) = given(val) {
                q2.append_pair(k, &val);
            }
        }
        q2.append_pair("page", &p.to_string());
        format!("/console/audit?{}", q2.finish())
    };
    html(Audit {
        f: frame(&v, "audit"),
        actor: given(&q.actor).unwrap_or_default(),
        action: given(&q.action).unwrap_or_default(),
        subject: given(&q.subject).unwrap_or_default(),
        from: given(&q.from).unwrap_or_default(),
        to: given(&q.to).unwrap_or_default(),
        page,
        newer: if page > 1 {
            link(page - 1)
        } else {
            String::new()
        },
        older: if more { link(page + 1) } else { String::new() },
        rows: rows
            .into_iter()
            .map(|r| AuditLine {
                at: local_time(r.entry.at),
                actor_name: names.get(&r.entry.actor).cloned().unwrap_or_default(),
                subject_name: names.get(&r.entry.subject).cloned().unwrap_or_default(),
                actor: r.entry.actor,
                action: r.entry.action,
                subject: r.entry.subject,
                detail: r.entry.detail,
            })
            .collect(),
    })
}
