//! Where a household is reported: its commune in force now and that commune's
//! province (docs/reports.md, "Areas"). A household recorded under a commune
//! code of the list before the 2025 reform is reported under the commune that
//! succeeded it; a split commune under its default successor.

use std::collections::HashMap;

use gocua_admin_units::{REFORM_DATE, Units};
use serde::{Deserialize, Serialize};

use crate::dating;
use crate::error::Error;

/// A household's place in the hierarchy: village → commune → province.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Area {
    /// Province code (2025 list); empty when the commune is unknown.
    pub province: String,
    /// Commune code in force now (2025 list), or the code as recorded when unknown.
    pub commune: String,
    /// The village's id.
    pub village: String,
}

/// How the household's recorded commune code was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CommuneReading {
    /// A commune in force now.
    Current,
    /// A commune of the legacy list, reported under its successor now.
    Legacy {
        legacy_code: String,
        /// It was split: the others that got part of it.
        other_successors: Vec<String>,
    },
    /// In neither list.
    Unknown,
}

#[derive(Debug, Clone)]
struct Successor {
    code: String,
    others: Vec<String>,
}

/// The reference data a report needs from the administrative units.
#[derive(Debug, Clone, Default)]
pub struct AreaIndex {
    /// Commune now → (province code, commune name, province name).
    current: HashMap<String, (String, String, String)>,
    /// Legacy commune → its default successor now.
    legacy: HashMap<String, Successor>,
}

impl AreaIndex {
    /// The units gocua embeds.
    pub fn embedded() -> Result<AreaIndex, Error> {
        Ok(AreaIndex::from_units(&Units::embedded()?))
    }

    pub fn from_units(units: &Units) -> AreaIndex {
        let current = units
            .current
            .iter()
            .map(|c| {
                (
                    c.code.clone(),
                    (
                        c.province_code.clone(),
                        c.name.clone(),
                        c.province_name.clone(),
                    ),
                )
            })
            .collect();
        let mut legacy: HashMap<String, Successor> = HashMap::new();
        for s in &units.successions {
            let e = legacy
                .entry(s.legacy_commune_code.clone())
                .or_insert_with(|| Successor {
                    code: String::new(),
                    others: Vec::new(),
                });
            if s.is_default {
                e.code = s.commune_code.clone();
            } else {
                e.others.push(s.commune_code.clone());
            }
        }
        legacy.retain(|_, s| !s.code.is_empty());
        AreaIndex { current, legacy }
    }

    /// The commune now and its province for a recorded code. Codes were reused
    /// by the reform, so the household's creation date decides which list a
    /// code found in both belongs to: before 1 July 2025 (Vietnam day), the
    /// legacy list.
    pub fn resolve(
        &self,
        commune_code: &str,
        created_at: &str,
    ) -> (String, String, CommuneReading) {
        let before_reform = dating::moment(created_at)
            .map(dating::vietnam_day)
            .is_some_and(|d| d.to_string().as_str() < REFORM_DATE);
        let legacy = self.legacy.get(commune_code);
        let current = self.current.get(commune_code);
        match (legacy, current) {
            (Some(s), Some(_)) if before_reform => self.successor_of(commune_code, s),
            (_, Some((province, _, _))) => (
                province.clone(),
                commune_code.to_string(),
                CommuneReading::Current,
            ),
            (Some(s), None) => self.successor_of(commune_code, s),
            (None, None) => (
                String::new(),
                commune_code.to_string(),
                CommuneReading::Unknown,
            ),
        }
    }

    fn successor_of(&self, legacy_code: &str, s: &Successor) -> (String, String, CommuneReading) {
        let province = self
            .current
            .get(&s.code)
            .map(|(p, _, _)| p.clone())
            .unwrap_or_default();
        let mut others = s.others.clone();
        others.sort();
        (
            province,
            s.code.clone(),
            CommuneReading::Legacy {
                legacy_code: legacy_code.to_string(),
                other_successors: others,
            },
        )
    }

    /// The province a commune now belongs to ("" when unknown).
    pub fn province_of(&self, commune_code: &str) -> String {
        self.current
            .get(commune_code)
            .map(|(p, _, _)| p.clone())
            .unwrap_or_default()
    }

    /// A commune's name now.
    pub fn commune_name(&self, commune_code: &str) -> Option<&str> {
        self.current.get(commune_code).map(|(_, n, _)| n.as_str())
    }

    /// A province's name now.
    pub fn province_name(&self, province_code: &str) -> Option<&str> {
        self.current
            .values()
            .find(|(p, _, _)| p == province_code)
            .map(|(_, _, n)| n.as_str())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const AFTER: &str = "2026-03-01T02:00:00Z";
    const BEFORE: &str = "2025-03-01T02:00:00Z";

    #[test]
    fn a_current_code_stays() {
        let idx = AreaIndex::embedded().unwrap();
        let (p, c, r) = idx.resolve("00097", AFTER);
        assert_eq!(
            (p.as_str(), c.as_str(), r),
            ("01", "00097", CommuneReading::Current)
        );
    }

    /// Phường Điện Biên (Hà Nội, 00019) was split between Ba Đình (its default
    /// successor), Hoàn Kiếm, Ô Chợ Dừa and Văn Miếu - Quốc Tử Giám.
    #[test]
    fn a_split_legacy_commune_goes_to_its_default_successor() {
        let idx = AreaIndex::embedded().unwrap();
        let (p, c, r) = idx.resolve("00019", AFTER);
        assert_eq!((p.as_str(), c.as_str()), ("01", "00004"));
        assert_eq!(idx.commune_name(&c), Some("Phường Ba Đình"));
        assert_eq!(
            r,
            CommuneReading::Legacy {
                legacy_code: "00019".into(),
                other_successors: vec!["00070".into(), "00190".into(), "00226".into()],
            }
        );
    }

    /// 08974 is a commune now and was another commune before the reform, whose
    /// default successor has another code: the creation date decides.
    #[test]
    fn a_reused_code_is_read_by_the_households_creation_date() {
        let idx = AreaIndex::embedded().unwrap();
        let (_, now, r) = idx.resolve("08974", AFTER);
        assert_eq!((now.as_str(), r), ("08974", CommuneReading::Current));
        let (_, then, r) = idx.resolve("08974", BEFORE);
        assert_ne!(then, "08974");
        assert!(matches!(r, CommuneReading::Legacy { .. }));
    }

    #[test]
    fn an_unknown_code_is_kept_without_a_province() {
        let idx = AreaIndex::embedded().unwrap();
        let (p, c, r) = idx.resolve("99999", AFTER);
        assert_eq!(
            (p.as_str(), c.as_str(), r),
            ("", "99999", CommuneReading::Unknown)
        );
    }
}
