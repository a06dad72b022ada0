//! The catalogues of services, outcomes and target groups whose codes a
//! household document holds: data, not code.
//!
//! gocua ships a default (`fixtures/catalogue.json`) that seeds every device's
//! store; a province adds its services as rows, never as a new build. Devices
//! and the server read codes against the same kinds and the same default.

use serde::{Deserialize, Serialize};

const DEFAULT_CATALOGUE: &str = include_str!("../../../fixtures/catalogue.json");

pub const SERVICE: &str = "service";
pub const OUTCOME: &str = "outcome";
pub const TARGET_GROUP: &str = "target_group";

/// One entry of a catalogue: a service, an outcome or a target group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
}

/// The entries of every kind, each list in its display order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Catalogue {
    pub services: Vec<CatalogueEntry>,
    pub outcomes: Vec<CatalogueEntry>,
    pub target_groups: Vec<CatalogueEntry>,
    /// Which services to offer a household next (`suggest`).
    #[serde(default)]
    pub suggestions: Vec<crate::suggest::SuggestionRule>,
}

#[derive(Debug, thiserror::Error)]
#[error("catalogue.json: {0}")]
pub struct CatalogueError(#[from] serde_json::Error);

impl Catalogue {
    /// The catalogue gocua ships.
    pub fn default_entries() -> Result<Catalogue, CatalogueError> {
        Ok(serde_json::from_str(DEFAULT_CATALOGUE)?)
    }

    /// Each kind with its entries, in a fixed order.
    pub fn kinds(&self) -> [(&'static str, &[CatalogueEntry]); 3] {
        [
            (SERVICE, &self.services),
            (OUTCOME, &self.outcomes),
            (TARGET_GROUP, &self.target_groups),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_catalogue_reads() {
        let c = Catalogue::default_entries().expect("catalogue.json");
        for (kind, entries) in c.kinds() {
            assert!(!entries.is_empty(), "{kind}");
        }
        assert!(c.outcomes.iter().any(|o| o.code == "done"));
    }
}
