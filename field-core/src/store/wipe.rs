//! Wiping a revoked device's data (a lost or stolen phone), once the server
//! holds what it had not sent (`sync::report_and_wipe`).

use super::{Store, docs};
use crate::error::Result;

/// Reference data (the official lists, the services catalogue, the
/// province's suggestion rules): public, and what a store is seeded with.
const KEPT_TABLES: &[&str] = &["areas", "area_successions", "catalogue", "suggestion_rules"];
/// Meta rows that belong to the reference data.
const KEPT_META: &[&str] = &["reference_attribution"];

impl Store {
    /// Deletes every household, person, visit, consent, document, change,
    /// the identity and the device token; keeps the reference data. Freed
    /// pages are overwritten (`secure_delete`) and the file rewritten
    /// (`VACUUM`), so nothing remains even to whoever learns the key. The
    /// store is then as new: not set up, not enrolled.
    pub fn wipe_local_data(&self) -> Result<()> {
        let mut g = self.lock();
        g.conn.pragma_update(None, "secure_delete", "ON")?;
        let tables: Vec<String> = g
            .conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table'
                 AND name NOT LIKE 'sqlite_%'",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<std::result::Result<_, _>>()?;
        let tx = g.conn.transaction()?;
        // Rows that others refer to go last: children first, whatever order.
        tx.pragma_update(None, "defer_foreign_keys", "ON")?;
        for table in tables.iter().filter(|t| !KEPT_TABLES.contains(&t.as_str())) {
            if table == "meta" {
                let keep = KEPT_META
                    .iter()
                    .map(|k| format!("'{k}'"))
                    .collect::<Vec<_>>()
                    .join(",");
                tx.execute(&format!("DELETE FROM meta WHERE key NOT IN ({keep})"), [])?;
            } else {
                tx.execute(&format!("DELETE FROM \"{table}\""), [])?;
            }
        }
        tx.commit()?;
        g.conn.execute_batch(
            "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
        )?;
        g.identity = None;
        g.actor = automerge::ActorId::random();
        g.cache = docs::DocCache::default();
        Ok(())
    }
}
