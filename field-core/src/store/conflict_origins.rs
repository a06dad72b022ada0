//! Who set each value of a field in conflict, and when, read from the
//! household document's changes (not kept in the projection: only asked for
//! when conflicts are shown).

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use super::{Inner, Store, docs};
use crate::error::Result;
use crate::model::Conflict;

/// A conflict with the origin of each of its values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictDetail {
    #[serde(flatten)]
    pub conflict: Conflict,
    /// In the order of `conflict.values`.
    pub origins: Vec<ValueSetBy>,
}

/// Who set one value, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueSetBy {
    pub value: String,
    /// The volunteer's id, as the change names it.
    pub volunteer_id: Option<String>,
    /// Their name, when this device knows them (a device knows its own
    /// volunteer): not serialized, so that every device reads the same.
    #[serde(skip)]
    pub volunteer_name: Option<String>,
    /// RFC 3339, UTC; none when the change carries no time.
    pub at: Option<String>,
}

impl Store {
    /// [`Store::conflicts`], each value with who set it and when.
    pub fn conflict_details(&self) -> Result<Vec<ConflictDetail>> {
        let conflicts = self.conflicts()?;
        let mut g = self.lock();
        let actor = g.actor.clone();
        let Inner { conn, cache, .. } = &mut *g;
        let mut out = Vec::with_capacity(conflicts.len());
        for conflict in conflicts {
            let origins = match docs::load(conn, cache, &conflict.household_id, &actor)? {
                Some(doc) => gocua_household::conflicts::value_origins(&doc, &conflict.path)
                    .into_iter()
                    .map(|o| {
                        let volunteer_name = match &o.by {
                            Some(id) => conn
                                .prepare_cached("SELECT name FROM volunteers WHERE id = ?1")?
                                .query_row([id], |r| r.get::<_, String>(0))
                                .optional()?,
                            None => None,
                        };
                        Ok(ValueSetBy {
                            value: o.value,
                            volunteer_id: o.by,
                            volunteer_name,
                            at: (o.at_secs > 0)
                                .then(|| time::OffsetDateTime::from_unix_timestamp(o.at_secs).ok())
                                .flatten()
                                .and_then(|t| {
                                    t.format(&time::format_description::well_known::Rfc3339)
                                        .ok()
                                }),
                        })
                    })
                    .collect::<Result<Vec<_>>>()?,
                None => Vec::new(),
            };
            out.push(ConflictDetail { conflict, origins });
        }
        Ok(out)
    }
}
