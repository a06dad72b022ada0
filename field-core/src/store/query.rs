//! Reads from the projection and the reference tables.

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Error, Field, Kind, Problem, Result};
use crate::model::{
    Conflict, Correction, HouseholdProblem, HouseholdSummary, Identity, ServiceOutcome,
    StoreStatus, Village, Visit,
};

fn meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// (commune name, province name) of a commune in force.
pub fn commune(conn: &Connection, code: &str) -> Result<Option<(String, String)>> {
    Ok(conn
        .prepare_cached(
            "SELECT c.name, p.name FROM areas c JOIN areas p
               ON p.list = c.list AND p.level = 'province' AND p.code = c.parent_code
             WHERE c.list = '2025' AND c.level = 'commune' AND c.code = ?1",
        )?
        .query_row([code], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

pub fn identity(conn: &Connection) -> Result<Option<Identity>> {
    let (Some(device_id), Some(volunteer_id), Some(team_id), Some(commune_code)) = (
        meta(conn, "device_id")?,
        meta(conn, "volunteer_id")?,
        meta(conn, "team_id")?,
        meta(conn, "commune_code")?,
    ) else {
        return Ok(None);
    };
    let (volunteer_name, volunteer_phone): (String, Option<String>) = conn.query_row(
        "SELECT name, phone FROM volunteers WHERE id = ?1",
        [&volunteer_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let team_name: String =
        conn.query_row("SELECT name FROM teams WHERE id = ?1", [&team_id], |r| {
            r.get(0)
        })?;
    let (commune_name, province_name) = commune(conn, &commune_code)?.unwrap_or_default();
    let mut stmt =
        conn.prepare("SELECT id, commune_code, name FROM villages ORDER BY name_key, id")?;
    let villages = stmt
        .query_map([], |r| {
            Ok(Village {
                id: r.get(0)?,
                commune_code: r.get(1)?,
                name: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Identity {
        device_id,
        volunteer_id,
        volunteer_name,
        volunteer_phone,
        team_id,
        team_name,
        commune_code,
        commune_name,
        province_name,
        villages,
    }))
}

/// A village of the device by id or by name (ignoring tones and case); blank
/// means the device's only village.
pub fn resolve_village(ident: &Identity, wanted: &str) -> Result<Village> {
    let wanted = wanted.trim();
    if wanted.is_empty() {
        return match ident.villages.as_slice() {
            [only] => Ok(only.clone()),
            _ => Err(Error::invalid(Field::VillageId, "", Problem::Required)),
        };
    }
    let folded = gocua_text::fold(wanted);
    ident
        .villages
        .iter()
        .find(|v| v.id == wanted)
        .or_else(|| {
            ident
                .villages
                .iter()
                .find(|v| gocua_text::fold(&v.name) == folded)
        })
        .cloned()
        .ok_or_else(|| Error::invalid(Field::VillageId, wanted, Problem::UnknownVillage))
}

fn table(kind: Kind) -> &'static str {
    match kind {
        Kind::Household => "households",
        Kind::Person => "persons",
        Kind::Visit => "visits",
        Kind::Consent => "consents",
        Kind::Village => "villages",
    }
}

/// A full id, or the unique id ending with `wanted` (the short ids the CLI shows),
/// optionally within one household. A household merged into another
/// resolves to the one it counts under: every reference to it still finds
/// its records ([`resolve_own`] finds the household itself).
pub fn resolve(
    conn: &Connection,
    kind: Kind,
    wanted: &str,
    household: Option<&str>,
) -> Result<String> {
    let id = match resolve_own(conn, kind, wanted, household) {
        Err(e @ Error::NotFound { .. }) if kind == Kind::Person => {
            // A member of an absorbed household shown as the same person as
            // one of the household that counts.
            let shown: Option<String> = conn
                .prepare_cached(
                    "SELECT same_as FROM same_people
                     WHERE id = ?1 AND (?2 IS NULL OR household_id = ?2)",
                )?
                .query_row(
                    params![wanted.trim().to_ascii_lowercase(), household],
                    |r| r.get(0),
                )
                .optional()?;
            return shown.ok_or(e);
        }
        other => other?,
    };
    if kind != Kind::Household {
        return Ok(id);
    }
    Ok(merged_into(conn, &id)?.unwrap_or(id))
}

/// The household `id` counts under, when that is another (it was merged).
pub fn merged_into(conn: &Connection, id: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT merged_into FROM households WHERE id = ?1")?
        .query_row([id], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten())
}

/// Like [`resolve`], without following a merge.
pub fn resolve_own(
    conn: &Connection,
    kind: Kind,
    wanted: &str,
    household: Option<&str>,
) -> Result<String> {
    let wanted = wanted.trim().to_ascii_lowercase();
    let not_found = || Error::NotFound {
        kind,
        id: wanted.clone(),
    };
    if wanted.len() < 4 || !wanted.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(not_found());
    }
    let t = table(kind);
    // A full id is found through the primary key; only a short id scans.
    let owner_column = match kind {
        Kind::Household | Kind::Village => "id",
        Kind::Person | Kind::Visit | Kind::Consent => "household_id",
    };
    let exact: Option<String> = conn
        .prepare_cached(&format!("SELECT {owner_column} FROM {t} WHERE id = ?1"))?
        .query_row([&wanted], |r| r.get(0))
        .optional()?;
    if let Some(owner) = exact {
        let inside = match (kind, household) {
            (Kind::Household, Some(h)) => wanted == h,
            (_, Some(h)) => owner == h,
            _ => true,
        };
        if inside {
            return Ok(wanted);
        }
    }
    if kind == Kind::Household {
        // The id a household had before protocol 2 (written on a paper card,
        // in an older file) still finds it.
        let renamed: Option<String> = conn
            .prepare_cached("SELECT doc_id FROM legacy_ids WHERE legacy_id = ?1")?
            .query_row([&wanted], |r| r.get(0))
            .optional()?;
        if let Some(id) = renamed
            && household.is_none_or(|h| h == id)
        {
            return Ok(id);
        }
    }
    let scope = match (kind, household) {
        (Kind::Household, Some(_)) => " AND id = ?2",
        (_, Some(_)) => " AND household_id = ?2",
        _ => " AND ?2 IS NULL",
    };
    let sql = format!("SELECT id FROM {t} WHERE (id = ?1 OR id LIKE '%' || ?1){scope} LIMIT 2");
    let ids: Vec<String> = conn
        .prepare_cached(&sql)?
        .query_map(params![wanted, household], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    match ids.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(not_found()),
        _ if ids.contains(&wanted) => Ok(wanted),
        _ => Err(Error::Ambiguous { kind, id: wanted }),
    }
}

/// When household `id` was registered, as its document says.
pub fn registered_at(conn: &Connection, id: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT created_at FROM households WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// Whether household `id` is marked registered in error.
pub fn in_error(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT in_error_at IS NOT NULL FROM households WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .unwrap_or(false))
}

pub fn household_of(conn: &Connection, kind: Kind, id: &str) -> Result<String> {
    // The document that holds the record: a record of a household merged
    // into another is shown under that one but written where it is.
    let sql = format!(
        "SELECT COALESCE(doc_id, household_id) FROM {} WHERE id = ?1",
        table(kind)
    );
    conn.prepare_cached(&sql)?
        .query_row([id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::NotFound {
            kind,
            id: id.to_string(),
        })
}

/// The village a household is in, as projected (`None` for an unknown one).
pub fn village_of(conn: &Connection, household_id: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT village_id FROM households WHERE id = ?1")?
        .query_row([household_id], |r| r.get(0))
        .optional()?)
}

pub fn consent_withdrawn(conn: &Connection, id: &str) -> Result<bool> {
    let w: Option<Option<String>> = conn
        .prepare_cached("SELECT withdrawn_at FROM consents WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(matches!(w, Some(Some(_))))
}

pub(super) fn like_term(t: &str) -> String {
    like_pattern("%", t)
}

/// `start`, then `t` with LIKE's special characters escaped (`ESCAPE '\\'`), then `%`.
pub(super) fn like_pattern(start: &str, t: &str) -> String {
    let mut s = String::with_capacity(t.len() + 2);
    s.push_str(start);
    for c in t.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

/// The columns of a [`HouseholdSummary`], read by [`summary_row`]; the query
/// goes on with `WHERE ...`.
const SUMMARY_SELECT: &str =
    "SELECT h.id, h.village_id, COALESCE(v.name, ''), h.head_name, h.address, h.phone,
        (SELECT COUNT(*) FROM persons p WHERE p.household_id = h.id AND p.removed_at IS NULL),
        (SELECT COUNT(*) FROM visits x WHERE x.household_id = h.id AND x.cancelled_at IS NULL),
        (SELECT MAX(visited_at) FROM visits x
            WHERE x.household_id = h.id AND x.cancelled_at IS NULL),
        (SELECT COUNT(*) FROM conflicts c WHERE c.household_id = h.id),
        (SELECT COUNT(*) FROM problems p WHERE p.household_id = h.id),
        v.id IS NULL
     FROM households h LEFT JOIN villages v ON v.id = h.village_id";

fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<HouseholdSummary> {
    Ok(HouseholdSummary {
        id: r.get(0)?,
        village_id: r.get(1)?,
        village_name: r.get(2)?,
        head_name: r.get(3)?,
        address: r.get(4)?,
        phone: r.get(5)?,
        members: r.get(6)?,
        visits: r.get(7)?,
        last_visit_at: r.get(8)?,
        conflicts: r.get(9)?,
        problems: r.get(10)?,
        outside_villages: r.get(11)?,
    })
}

/// Households, optionally of one village and matching every folded term (as
/// substrings), in Vietnamese collation order of the head's name.
/// `only_served` leaves out the ones outside the device's villages (the
/// `villages` table holds exactly those).
pub fn list(
    conn: &Connection,
    village_id: Option<&str>,
    terms: Option<&[String]>,
    only_served: bool,
    limit: u32,
) -> Result<Vec<HouseholdSummary>> {
    let mut sql = format!("{SUMMARY_SELECT} WHERE h.in_error_at IS NULL AND h.merged_into IS NULL");
    if only_served {
        sql.push_str(" AND v.id IS NOT NULL");
    }
    let mut args: Vec<String> = Vec::new();
    if let Some(v) = village_id {
        args.push(v.to_string());
        sql.push_str(&format!(" AND h.village_id = ?{}", args.len()));
    }
    for t in terms.unwrap_or(&[]) {
        args.push(like_term(t));
        sql.push_str(&format!(
            " AND h.search_text LIKE ?{} ESCAPE '\\'",
            args.len()
        ));
    }
    sql.push_str(&format!(" ORDER BY h.head_key, h.id LIMIT {limit}"));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), summary_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The summaries of `ids`, in that order (ids not found are left out).
pub fn summaries(conn: &Connection, ids: &[String]) -> Result<Vec<HouseholdSummary>> {
    let mut stmt = conn.prepare_cached(&format!("{SUMMARY_SELECT} WHERE h.id = ?1"))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(s) = stmt.query_row([id], summary_row).optional()? {
            out.push(s);
        }
    }
    Ok(out)
}

fn split_ids(s: String) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn correction(
    at: Option<String>,
    by: Option<String>,
    reason: Option<String>,
) -> Option<Correction> {
    Some(Correction {
        at: at?,
        by: by.unwrap_or_default(),
        reason,
    })
}

/// Visits, newest first.
pub fn visits(conn: &Connection, household: Option<&str>, limit: u32) -> Result<Vec<Visit>> {
    let sql = format!(
        "SELECT id, visited_at, team_id, volunteer_ids, person_ids, duration_minutes,
            follow_up_on, feedback, consent_id, recorded_at, recorded_by, cancelled_at,
            cancelled_by, cancel_reason, edited_at, edited_by
         FROM visits WHERE (?1 IS NULL OR household_id = ?1)
         ORDER BY visited_at DESC, id DESC LIMIT {limit}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut out: Vec<Visit> = stmt
        .query_map([household], |r| {
            Ok(Visit {
                id: r.get(0)?,
                visited_at: r.get(1)?,
                team_id: r.get(2)?,
                volunteer_ids: split_ids(r.get(3)?),
                person_ids: split_ids(r.get(4)?),
                services: Vec::new(),
                duration_minutes: r.get(5)?,
                follow_up_on: r.get(6)?,
                feedback: r.get(7)?,
                consent_id: r.get(8)?,
                recorded_at: r.get(9)?,
                recorded_by: r.get(10)?,
                cancelled: correction(r.get(11)?, r.get(12)?, r.get(13)?),
                edited: correction(r.get(14)?, r.get(15)?, None),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut svc = conn.prepare_cached(
        "SELECT service_code, outcome, note FROM visit_services WHERE visit_id = ?1 ORDER BY service_code",
    )?;
    for v in &mut out {
        v.services = svc
            .query_map([&v.id], |r| {
                Ok(ServiceOutcome {
                    service: r.get(0)?,
                    outcome: r.get(1)?,
                    note: r.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
    }
    Ok(out)
}

pub fn conflicts(conn: &Connection) -> Result<Vec<Conflict>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.household_id, c.path, c.value_list FROM conflicts c
         JOIN households h ON h.id = c.household_id ORDER BY h.head_key, c.household_id, c.path",
    )?;
    let rows = stmt
        .query_map([], |r| {
            let values: String = r.get(2)?;
            Ok(Conflict {
                household_id: r.get(0)?,
                path: r.get(1)?,
                values: serde_json::from_str(&values).unwrap_or_default(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Every household's problems, in the order of the household list.
pub fn problems(conn: &Connection, household: Option<&str>) -> Result<Vec<HouseholdProblem>> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.household_id, p.path, p.fields, p.problem, p.value FROM problems p
         JOIN households h ON h.id = p.household_id
         WHERE (?1 IS NULL OR p.household_id = ?1)
         ORDER BY h.head_key, p.household_id, p.path, p.code",
    )?;
    let rows = stmt
        .query_map([household], |r| {
            let fields: String = r.get(2)?;
            let problem: String = r.get(3)?;
            Ok((r.get(0)?, r.get(1)?, fields, problem, r.get(4)?))
        })?
        .collect::<Result<Vec<(String, String, String, String, String)>, _>>()?;
    rows.into_iter()
        .map(|(household_id, path, fields, problem, value)| {
            let bad = |e: serde_json::Error| Error::BadDocument {
                id: household_id.clone(),
                reason: format!("problem row at {path}: {e}"),
            };
            Ok(HouseholdProblem {
                fields: serde_json::from_str(&fields).map_err(bad)?,
                problem: serde_json::from_str(&problem).map_err(bad)?,
                household_id: household_id.clone(),
                path: path.clone(),
                value,
            })
        })
        .collect()
}

pub fn status(conn: &Connection) -> Result<StoreStatus> {
    let count = |sql: &str| -> Result<i64> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
    Ok(StoreStatus {
        households: count(
            "SELECT COUNT(*) FROM households WHERE in_error_at IS NULL AND merged_into IS NULL",
        )?,
        persons: count(
            "SELECT COUNT(*) FROM persons p JOIN households h ON h.id = p.household_id
             WHERE p.removed_at IS NULL AND h.in_error_at IS NULL AND h.merged_into IS NULL",
        )?,
        visits: count(
            "SELECT COUNT(*) FROM visits x JOIN households h ON h.id = x.household_id
             WHERE x.cancelled_at IS NULL AND h.in_error_at IS NULL AND h.merged_into IS NULL",
        )?,
        pending_changes: count("SELECT COUNT(*) FROM outbox WHERE refused IS NULL")?,
        conflicts: count("SELECT COUNT(*) FROM conflicts")?,
        problems: count("SELECT COUNT(*) FROM problems")?,
        schema_version: conn.pragma_query_value(None, "user_version", |r| r.get(0))?,
        last_change_at: conn
            .query_row("SELECT MAX(updated_at) FROM documents", [], |r| r.get(0))?,
        server_url: meta(conn, "server_url")?,
        last_sync_at: meta(conn, "last_sync_at")?,
        refused_changes: count("SELECT COUNT(*) FROM outbox WHERE refused IS NOT NULL")?,
        quarantined_changes: count("SELECT COUNT(*) FROM quarantine")?,
        waiting_changes: count("SELECT COUNT(*) FROM waiting_changes")?,
    })
}
