//! The SQLite tables that project the household documents for queries. They are
//! written in the same transaction as the document's changes and can be rebuilt
//! from the documents alone.
//!
//! A local write projects only the part it touched (one visit, one member...),
//! through the same functions a full projection uses, so the rows are the same
//! either way (`rebuild` checks it). What goes in the rows is gocua-household's
//! flattening (`rows`), shared with the server; the SQL, the collation keys and
//! the search column are the device's.

use automerge::ReadDoc;
use gocua_household::rows;
use rusqlite::{Connection, params};

use crate::doc;
use crate::error::{Error, Result};
use crate::model::{Consent, Household, HouseholdProblem, Person, Visit};
use crate::{catalogue, problems};

fn bool_int(b: Option<bool>) -> Option<i64> {
    b.map(i64::from)
}

/// Everything of one household: its previous rows are replaced.
pub fn project_full(conn: &Connection, h: &Household) -> Result<()> {
    let id = h.id.as_str();
    for table in [
        "persons",
        "consents",
        "visits",
        "visit_services",
        "conflicts",
        "problems",
        "same_people",
    ] {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE household_id = ?1"))?
            .execute([id])?;
    }
    for (gone, shown) in h.absorbed.iter().flat_map(|a| &a.same_people) {
        conn.prepare_cached(
            "INSERT OR REPLACE INTO same_people (id, household_id, same_as) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![gone, id, shown])?;
    }
    upsert_root(conn, h)?;
    for p in &h.members {
        upsert_person(conn, id, p)?;
    }
    for c in &h.consents {
        upsert_consent(conn, id, c)?;
    }
    for v in &h.visits {
        upsert_visit(conn, id, v)?;
    }
    let mut ins = conn.prepare_cached(
        "INSERT OR REPLACE INTO conflicts (household_id, path, value_list) VALUES (?1, ?2, ?3)",
    )?;
    for c in h.conflicts.iter().map(rows::conflict) {
        ins.execute(params![c.household_id, c.path, c.value_list])?;
    }
    for p in with_codes(conn, h)? {
        insert_problem(conn, &p)?;
    }
    refresh_search(conn, id)
}

/// The codes of `groups` and `visits` that the store's catalogue does not know.
pub fn code_problems(
    conn: &Connection,
    household_id: &str,
    groups: &[String],
    visits: &[&Visit],
) -> Result<Vec<HouseholdProblem>> {
    let known = |kind: &str, code: &str| -> Result<Option<Vec<String>>> {
        match catalogue::check(conn, kind, crate::error::Field::Value, code) {
            Ok(c) if c == code => Ok(None),
            Ok(_) => Ok(Some(
                catalogue::list(conn, kind)?
                    .into_iter()
                    .map(|e| e.code)
                    .collect(),
            )),
            Err(Error::Invalid(i)) => match i.problem {
                crate::error::Problem::UnknownCode { known } => Ok(Some(known)),
                _ => Ok(Some(Vec::new())),
            },
            Err(e) => Err(e),
        }
    };
    problems::codes(household_id, groups, visits, &known)
}

/// Adds to `list` the problems of `extra` at paths it does not hold yet.
pub fn merge_problems(list: &mut Vec<HouseholdProblem>, extra: Vec<HouseholdProblem>) {
    problems::merge(list, extra);
}

/// The household's problems, its catalogue codes checked too.
pub fn with_codes(conn: &Connection, h: &Household) -> Result<Vec<HouseholdProblem>> {
    let visits: Vec<&Visit> = h.visits.iter().collect();
    let mut list = h.problems.clone();
    merge_problems(
        &mut list,
        code_problems(conn, &h.id, &h.target_groups, &visits)?,
    );
    Ok(list)
}

fn insert_problem(conn: &Connection, p: &HouseholdProblem) -> Result<()> {
    let r = rows::problem(p);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO problems (household_id, path, code, record, fields, problem, value)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        r.household_id,
        r.path,
        r.code,
        r.record,
        r.fields,
        r.problem,
        r.value,
    ])?;
    Ok(())
}

/// Replaces the problems of one record (`""` for the household's own fields)
/// after a local write re-checked it.
pub fn replace_problems(
    conn: &Connection,
    household_id: &str,
    record: &str,
    list: &[HouseholdProblem],
) -> Result<()> {
    conn.prepare_cached("DELETE FROM problems WHERE household_id = ?1 AND record = ?2")?
        .execute(params![household_id, record])?;
    for p in list {
        insert_problem(conn, p)?;
    }
    Ok(())
}

/// The household row (its own fields; the search column is refreshed apart).
pub fn upsert_root(conn: &Connection, h: &Household) -> Result<()> {
    let r = rows::household(h);
    conn.prepare_cached(
        "INSERT INTO households (id, schema_version, commune_code, village_id, address,
            head_name, head_key, phone, member_count, device_access, target_groups, created_at,
            created_by, search_text, in_error_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, '', ?14)
         ON CONFLICT (id) DO UPDATE SET schema_version = ?2, commune_code = ?3, village_id = ?4,
            address = ?5, head_name = ?6, head_key = ?7, phone = ?8, member_count = ?9,
            device_access = ?10, target_groups = ?11, created_at = ?12, created_by = ?13,
            in_error_at = ?14",
    )?
    .execute(params![
        r.id,
        r.schema_version,
        r.commune_code,
        r.village_id,
        r.address,
        r.head_name,
        gocua_text::sort_key(r.head_name),
        r.phone,
        r.member_count,
        r.device_access,
        r.target_groups,
        r.created_at,
        r.created_by,
        r.in_error_at,
    ])?;
    Ok(())
}

/// The search column: the words of the head, address, phone and every
/// member's name (`crate::search::index_text`).
pub fn refresh_search(conn: &Connection, household_id: &str) -> Result<()> {
    let (head, address, phone): (String, String, Option<String>) = conn
        .prepare_cached("SELECT head_name, address, phone FROM households WHERE id = ?1")?
        .query_row([household_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let names: Vec<String> = conn
        .prepare_cached(
            "SELECT name FROM persons WHERE household_id = ?1 AND removed_at IS NULL
             ORDER BY created_at, id",
        )?
        .query_map([household_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let text = crate::search::index_text(
        &head,
        &address,
        phone.as_deref(),
        names.iter().map(String::as_str),
    );
    conn.prepare_cached("UPDATE households SET search_text = ?2 WHERE id = ?1")?
        .execute(params![household_id, text])?;
    Ok(())
}

pub fn upsert_person(conn: &Connection, household_id: &str, p: &Person) -> Result<()> {
    let r = rows::person(household_id, p);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO persons (id, household_id, name, name_key, birth_year, gender,
            id_number, vneid_level, vneid_activated, bank_account, public_service_account,
            ehealth_book, digital_signature, basic_skills_certified, created_at, created_by,
            removed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?
    .execute(params![
        r.id,
        r.household_id,
        r.name,
        gocua_text::sort_key(r.name),
        r.birth_year,
        r.gender,
        r.id_number,
        r.vneid_level,
        bool_int(r.vneid_activated),
        bool_int(r.bank_account),
        bool_int(r.public_service_account),
        bool_int(r.ehealth_book),
        bool_int(r.digital_signature),
        bool_int(r.basic_skills_certified),
        r.created_at,
        r.created_by,
        r.removed_at,
    ])?;
    Ok(())
}

pub fn upsert_consent(conn: &Connection, household_id: &str, c: &Consent) -> Result<()> {
    let r = rows::consent(household_id, c);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO consents (id, household_id, person_id, purpose, method, given_at,
            recorded_by, withdrawn_at, withdrawn_by, withdrawal_reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        r.id,
        r.household_id,
        r.person_id,
        r.purpose,
        r.method,
        r.given_at,
        r.recorded_by,
        r.withdrawn_at,
        r.withdrawn_by,
        r.withdrawal_reason,
    ])?;
    Ok(())
}

pub fn upsert_visit(conn: &Connection, household_id: &str, v: &Visit) -> Result<()> {
    let r = rows::visit(household_id, v);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO visits (id, household_id, visited_at, team_id, volunteer_ids,
            person_ids, duration_minutes, follow_up_on, feedback, consent_id, recorded_at, recorded_by,
            cancelled_at, cancelled_by, cancel_reason, edited_at, edited_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?
    .execute(params![
        r.id,
        r.household_id,
        r.visited_at,
        r.team_id,
        r.volunteer_ids,
        r.person_ids,
        r.duration_minutes,
        r.follow_up_on,
        r.feedback,
        r.consent_id,
        r.recorded_at,
        r.recorded_by,
        r.cancelled_at,
        r.cancelled_by,
        r.cancel_reason,
        r.edited_at,
        r.edited_by,
    ])?;
    conn.prepare_cached("DELETE FROM visit_services WHERE visit_id = ?1")?
        .execute([r.id])?;
    let mut ins = conn.prepare_cached(
        "INSERT INTO visit_services (visit_id, household_id, service_code, outcome, note)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for s in rows::visit_services(household_id, v) {
        ins.execute(params![
            s.visit_id,
            s.household_id,
            s.service_code,
            s.outcome,
            s.note
        ])?;
    }
    Ok(())
}

/// Re-checks the household's listed conflicts after a local write: a local
/// write supersedes every value it has seen, so it can only end conflicts.
pub fn recheck_conflicts<D: ReadDoc>(
    conn: &Connection,
    document: &D,
    household_id: &str,
) -> Result<()> {
    let paths: Vec<String> = conn
        .prepare_cached("SELECT path FROM conflicts WHERE household_id = ?1")?
        .query_map([household_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for path in paths {
        match doc::conflict_at_path(document, household_id, &path) {
            Some(c) => {
                let values = serde_json::Value::from(c.values).to_string();
                conn.prepare_cached(
                    "UPDATE conflicts SET value_list = ?3 WHERE household_id = ?1 AND path = ?2",
                )?
                .execute(params![household_id, path, values])?;
            }
            None => {
                conn.prepare_cached("DELETE FROM conflicts WHERE household_id = ?1 AND path = ?2")?
                    .execute(params![household_id, path])?;
            }
        }
    }
    Ok(())
}

/// Every projection row, table by table in a fixed order, as text: two stores whose
/// dumps are equal project identical rows.
pub fn dump(conn: &Connection) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for table in super::schema::PROJECTION_TABLES {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2, 3"))?;
        let n = stmt.column_count();
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let mut line = format!("{table}:");
            for i in 0..n {
                let v: rusqlite::types::Value = row.get(i)?;
                line.push_str(&format!(" {v:?}"));
            }
            out.push(line);
        }
    }
    Ok(out)
}
