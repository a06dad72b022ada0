//! The duplicate candidates' query: profiles read from the projection, compared
//! by [`crate::duplicates`].

use std::collections::HashMap;

use rusqlite::Connection;

use super::{Inner, Store, opt_phone, query};
use crate::duplicates::{self, Profile};
use crate::error::{Error, Result};
use crate::model::{DuplicateCandidate, DuplicatePair, HouseholdRecord, NewHousehold, NewPerson};

/// The profiles of the households of the device's villages (or of one).
pub(super) fn profiles(conn: &Connection, village_id: Option<&str>) -> Result<Vec<Profile>> {
    let mut stmt = conn.prepare_cached(
        "SELECT h.id, h.village_id, h.head_name, h.address, h.phone
         FROM households h JOIN villages v ON v.id = h.village_id
         WHERE (?1 IS NULL OR h.village_id = ?1) AND h.in_error_at IS NULL AND h.merged_into IS NULL
         ORDER BY h.head_key, h.id",
    )?;
    let mut out: Vec<Profile> = stmt
        .query_map([village_id], |r| {
            Ok(Profile {
                id: r.get(0)?,
                village_id: r.get(1)?,
                head_name: r.get(2)?,
                address: r.get(3)?,
                phone: r.get(4)?,
                members: Vec::new(),
                // The query leaves merged households out.
                merged_into: None,
            })
        })?
        .collect::<Result<_, _>>()?;
    let at: HashMap<String, usize> = out
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.clone(), i))
        .collect();
    let mut stmt = conn.prepare_cached(
        "SELECT p.household_id, p.name, p.birth_year FROM persons p
         JOIN households h ON h.id = p.household_id JOIN villages v ON v.id = h.village_id
         WHERE (?1 IS NULL OR h.village_id = ?1) AND p.removed_at IS NULL
         ORDER BY p.created_at, p.id",
    )?;
    let mut rows = stmt.query([village_id])?;
    while let Some(r) = rows.next()? {
        let hid: String = r.get(0)?;
        if let Some(&i) = at.get(&hid) {
            out[i].members.push((r.get(1)?, r.get(2)?));
        }
    }
    Ok(out)
}

/// The profile of a household about to be written (not stored yet).
fn new_profile(
    village_id: &str,
    household: &NewHousehold,
    members: &[NewPerson],
) -> Result<Profile> {
    Ok(Profile {
        id: String::new(),
        village_id: village_id.to_string(),
        head_name: household.head_name.clone(),
        address: household.address.clone(),
        // Compared as the store keeps it (0912000111 for +84 912 000 111).
        phone: opt_phone(household.phone.as_deref())?,
        members: members
            .iter()
            .map(|m| (m.name.clone(), m.birth_year))
            .collect(),
        merged_into: None,
    })
}

/// The candidates among the village's households for a household about to
/// be written, the highest scores first.
pub(super) fn candidates_for(
    g: &Inner,
    household: &NewHousehold,
    members: &[NewPerson],
) -> Result<Vec<DuplicateCandidate>> {
    let ident = g.identity.as_ref().ok_or(Error::NotInitialized)?;
    let village = query::resolve_village(ident, &household.village)?;
    let new = new_profile(&village.id, household, members)?;
    let existing = profiles(&g.conn, Some(&village.id))?;
    let found = duplicates::candidates_for(&new, &existing);
    let ids: Vec<String> = found
        .iter()
        .map(|(i, _, _)| existing[*i].id.clone())
        .collect();
    let summaries = query::summaries(&g.conn, &ids)?;
    Ok(summaries
        .into_iter()
        .zip(found)
        .map(|(household, (_, reasons, score))| DuplicateCandidate {
            household,
            reasons,
            score,
            near_certain: score >= duplicates::NEAR_CERTAIN,
        })
        .collect())
}

impl Store {
    /// Pairs of households of one village (all the device's villages, or the
    /// one named) that may be the same household registered twice, the
    /// highest scores first.
    pub fn duplicate_candidates(&self, village: Option<&str>) -> Result<Vec<DuplicatePair>> {
        let g = self.lock();
        let village_id = match village {
            Some(name) if !name.trim().is_empty() => {
                let ident = g.identity.as_ref().ok_or(Error::NotInitialized)?;
                Some(query::resolve_village(ident, name)?.id)
            }
            _ => None,
        };
        let list = profiles(&g.conn, village_id.as_deref())?;
        let pairs = duplicates::pairs(&list);
        let mut ids: Vec<String> = pairs
            .iter()
            .flat_map(|p| [list[p.a].id.clone(), list[p.b].id.clone()])
            .collect();
        ids.sort();
        ids.dedup();
        let summaries: HashMap<String, _> = query::summaries(&g.conn, &ids)?
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        Ok(pairs
            .into_iter()
            .filter_map(|p| {
                let a = summaries.get(&list[p.a].id)?.clone();
                let b = summaries.get(&list[p.b].id)?.clone();
                Some(DuplicatePair {
                    near_certain: p.near_certain(),
                    a,
                    b,
                    reasons: p.reasons,
                    score: p.score,
                })
            })
            .collect())
    }

    /// The households of the village already there that may be `household`
    /// (checked before `add_household`), the highest scores first.
    pub fn duplicates_of(&self, household: &NewHousehold) -> Result<Vec<DuplicateCandidate>> {
        candidates_for(&self.lock(), household, &[])
    }

    /// The same for an import record, its members compared too.
    pub fn record_duplicates(&self, record: &HouseholdRecord) -> Result<Vec<DuplicateCandidate>> {
        candidates_for(&self.lock(), &record.household, &record.members)
    }
}
