//! The SQLite tables that project the household documents for queries. They are
//! written in the same transaction as the document's changes and can be rebuilt
//! from the documents alone.

use rusqlite::{Connection, params};

use crate::error::Result;
use crate::model::{Household, SKILL_FLAGS, Visit};

/// How much of a household `project` rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Everything: `h` holds all visits.
    Full,
    /// The household, its members and consents, and the visits `h` holds (at most
    /// one, read alone so that a long visit history costs nothing here).
    AllButVisits,
}

fn search_text(h: &Household) -> String {
    let mut text = String::with_capacity(128);
    for part in [h.head_name.as_str(), h.address.as_str()] {
        text.push_str(&gocua_text::fold(part));
        text.push(' ');
    }
    if let Some(p) = &h.phone {
        text.push_str(p);
        text.push(' ');
    }
    for m in &h.members {
        text.push_str(&gocua_text::fold(&m.name));
        text.push(' ');
    }
    text
}

fn bool_int(b: Option<bool>) -> Option<i64> {
    b.map(i64::from)
}

pub fn project(conn: &Connection, h: &Household, part: Part) -> Result<()> {
    let id = h.id.as_str();
    conn.prepare_cached(
        "INSERT OR REPLACE INTO households (id, schema_version, commune_code, village_id, address,
            head_name, head_key, phone, member_count, device_access, target_groups, created_at,
            created_by, search_text)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        id,
        h.schema_version,
        h.commune_code,
        h.village_id,
        h.address,
        h.head_name,
        gocua_text::sort_key(&h.head_name),
        h.phone,
        h.member_count,
        h.device_access.map(|d| d.as_str()),
        h.target_groups.join(","),
        h.created_at,
        h.created_by,
        search_text(h),
    ])?;

    for table in ["persons", "consents"] {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE household_id = ?1"))?
            .execute([id])?;
    }
    {
        let mut ins = conn.prepare_cached(
            "INSERT INTO persons (id, household_id, name, name_key, birth_year, gender, id_number,
                vneid_level, vneid_activated, bank_account, public_service_account, ehealth_book,
                digital_signature, basic_skills_certified, created_at, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )?;
        for p in &h.members {
            let f = |i: usize| bool_int(p.skills.flag(SKILL_FLAGS[i]));
            ins.execute(params![
                p.id,
                id,
                p.name,
                gocua_text::sort_key(&p.name),
                p.birth_year,
                p.gender.map(|g| g.as_str()),
                p.id_number,
                p.skills.vneid_level.map(|v| v.as_str()),
                f(0),
                f(1),
                f(2),
                f(3),
                f(4),
                f(5),
                p.created_at,
                p.created_by,
            ])?;
        }
    }
    {
        let mut ins = conn.prepare_cached(
            "INSERT INTO consents (id, household_id, person_id, purpose, method, given_at,
                recorded_by, withdrawn_at, withdrawn_by, withdrawal_reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for c in &h.consents {
            ins.execute(params![
                c.id,
                id,
                c.person_id,
                c.purpose,
                c.method.as_str(),
                c.given_at,
                c.recorded_by,
                c.withdrawn_at,
                c.withdrawn_by,
                c.withdrawal_reason,
            ])?;
        }
    }

    match part {
        Part::Full => {
            for table in ["visits", "visit_services", "conflicts"] {
                conn.prepare_cached(&format!("DELETE FROM {table} WHERE household_id = ?1"))?
                    .execute([id])?;
            }
        }
        Part::AllButVisits => {
            conn.prepare_cached(
                "DELETE FROM conflicts WHERE household_id = ?1 AND path NOT LIKE 'visits/%'",
            )?
            .execute([id])?;
            for v in &h.visits {
                conn.prepare_cached("DELETE FROM visit_services WHERE visit_id = ?1")?
                    .execute([&v.id])?;
                conn.prepare_cached(
                    "DELETE FROM conflicts WHERE household_id = ?1 AND path LIKE ?2",
                )?
                .execute(params![id, format!("visits/{}/%", v.id)])?;
            }
        }
    }
    for v in &h.visits {
        project_visit(conn, id, v)?;
    }
    let mut ins = conn.prepare_cached(
        "INSERT OR REPLACE INTO conflicts (household_id, path, value_list) VALUES (?1, ?2, ?3)",
    )?;
    for c in &h.conflicts {
        let values = serde_json::Value::from(c.values.clone()).to_string();
        ins.execute(params![id, c.path, values])?;
    }
    Ok(())
}

fn project_visit(conn: &Connection, household_id: &str, v: &Visit) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO visits (id, household_id, visited_at, team_id, volunteer_ids,
            person_ids, duration_minutes, follow_up_on, feedback, consent_id, recorded_at, recorded_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        v.id,
        household_id,
        v.visited_at,
        v.team_id,
        v.volunteer_ids.join(","),
        v.person_ids.join(","),
        v.duration_minutes,
        v.follow_up_on,
        v.feedback,
        v.consent_id,
        v.recorded_at,
        v.recorded_by,
    ])?;
    let mut ins = conn.prepare_cached(
        "INSERT OR REPLACE INTO visit_services (visit_id, household_id, service_code, outcome, note)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for s in &v.services {
        ins.execute(params![v.id, household_id, s.service, s.outcome, s.note])?;
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
