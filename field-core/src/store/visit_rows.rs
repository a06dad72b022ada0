//! Visits listed across households: each with its household and the names
//! of its volunteers, for a list a person reads.

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use super::Store;
use crate::error::Result;
use crate::model::Visit;

/// A visit with whom it was for and who made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitRow {
    #[serde(flatten)]
    pub visit: Visit,
    pub household_id: String,
    pub head_name: String,
    /// In the order of `visit.volunteer_ids`; a volunteer this device does
    /// not know by name is left out.
    pub volunteer_names: Vec<String>,
}

impl Store {
    /// [`Store::list_visits`], each visit with its household and volunteers.
    pub fn list_visit_rows(&self, household: Option<&str>, limit: u32) -> Result<Vec<VisitRow>> {
        let visits = self.list_visits(household, limit)?;
        let g = self.lock();
        let mut household_of = g.conn.prepare_cached(
            "SELECT v.household_id, h.head_name FROM visits v
               LEFT JOIN households h ON h.id = v.household_id WHERE v.id = ?1",
        )?;
        let mut volunteer = g
            .conn
            .prepare_cached("SELECT name FROM volunteers WHERE id = ?1")?;
        let mut rows = Vec::with_capacity(visits.len());
        for visit in visits {
            let (household_id, head_name): (String, Option<String>) = household_of
                .query_row([&visit.id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
                .unwrap_or_default();
            let mut volunteer_names = Vec::new();
            for id in &visit.volunteer_ids {
                if let Some(name) = volunteer
                    .query_row([id], |r| r.get::<_, String>(0))
                    .optional()?
                {
                    volunteer_names.push(name);
                }
            }
            rows.push(VisitRow {
                visit,
                household_id,
                head_name: head_name.unwrap_or_default(),
                volunteer_names,
            });
        }
        Ok(rows)
    }
}
