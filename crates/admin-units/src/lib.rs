//! Vietnam's official administrative units, embedded from `fixtures/admin-units/`.
//!
//! Two lists are kept apart because a new unit often reuses a predecessor's code:
//! the units in force since the 2025 reform ([`current`]) and the three-tier units
//! before it ([`legacy`]), joined by [`successions`] (legacy commune → commune now).
//! Codes are strings: they carry leading zeros.

use std::io::Read;

use serde::Deserialize;

/// Where the data comes from; keep it wherever the data is shipped.
pub const ATTRIBUTION: &str = "Administrative units: facts extracted from the MIT-licensed \
PyPI package vietnamadminunits 1.0.4 (see fixtures/admin-units/LICENSE-vietnamadminunits).";

/// The day the two-tier units came into force.
pub const REFORM_DATE: &str = "2025-07-01";
/// The last day the three-tier units were in force.
pub const LEGACY_LAST_DAY: &str = "2025-06-30";

const CURRENT_CSV: &str = include_str!("../../../fixtures/admin-units/admin-units-2025.csv");
const LEGACY_CSV: &str = include_str!("../../../fixtures/admin-units/admin-units-legacy-2024.csv");
const SUCCESSIONS_CSV: &str =
    include_str!("../../../fixtures/admin-units/admin-units-2025-from-legacy.csv");

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("administrative units file, line {line}: {message}")]
    Parse { line: u64, message: String },
    #[error("administrative units file: {0}")]
    Invalid(String),
}

/// A commune-level unit (xã, phường, đặc khu) in force since the reform.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Commune {
    pub province_code: String,
    pub province_name: String,
    #[serde(rename = "commune_code")]
    pub code: String,
    #[serde(rename = "commune_name")]
    pub name: String,
    #[serde(rename = "commune_type")]
    pub kind: String,
}

/// A commune-level unit of the three-tier list in force before the reform. A
/// district without communes has one row with an empty commune code.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LegacyCommune {
    pub province_code: String,
    pub province_name: String,
    pub district_code: String,
    pub district_name: String,
    #[serde(rename = "commune_code")]
    pub code: String,
    #[serde(rename = "commune_name")]
    pub name: String,
    #[serde(rename = "commune_type")]
    pub kind: String,
}

/// One legacy commune's share in a commune now. A split legacy commune has several;
/// `is_default` marks the one most of it went to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Succession {
    pub legacy_commune_code: String,
    pub legacy_commune_name: String,
    pub commune_code: String,
    pub commune_name: String,
    #[serde(deserialize_with = "flag")]
    pub is_default: bool,
}

fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let s = String::deserialize(d)?;
    match s.trim() {
        "1" => Ok(true),
        "0" => Ok(false),
        other => Err(serde::de::Error::custom(format!(
            "is_default must be 0 or 1, found {other:?}"
        ))),
    }
}

fn parse<T: serde::de::DeserializeOwned, R: Read>(reader: R) -> Result<Vec<T>, Error> {
    let mut rdr = csv::Reader::from_reader(reader);
    let mut out = Vec::new();
    for row in rdr.deserialize() {
        let row: T = row.map_err(|e| Error::Parse {
            line: e.position().map(|p| p.line()).unwrap_or(0),
            message: e.to_string(),
        })?;
        out.push(row);
    }
    Ok(out)
}

fn check_code(code: &str, len: usize, what: &str) -> Result<(), Error> {
    if code.len() == len && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{what} code {code:?} is not {len} digits"
        )))
    }
}

/// Parses a list of units in force in the format of `admin-units-2025.csv`.
pub fn parse_current<R: Read>(reader: R) -> Result<Vec<Commune>, Error> {
    let rows: Vec<Commune> = parse(reader)?;
    for c in &rows {
        check_code(&c.province_code, 2, "province")?;
        check_code(&c.code, 5, "commune")?;
    }
    Ok(rows)
}

/// The units in force since the 2025 reform (34 provinces, 3,321 communes).
pub fn current() -> Result<Vec<Commune>, Error> {
    parse_current(CURRENT_CSV.as_bytes())
}

/// The three-tier units in force before the reform.
pub fn legacy() -> Result<Vec<LegacyCommune>, Error> {
    let rows: Vec<LegacyCommune> = parse(LEGACY_CSV.as_bytes())?;
    for c in &rows {
        check_code(&c.province_code, 2, "province")?;
        check_code(&c.district_code, 3, "district")?;
        // Five island districts (Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa, ...) had no communes.
        if !c.code.is_empty() {
            check_code(&c.code, 5, "commune")?;
        }
    }
    Ok(rows)
}

/// Legacy commune → commune now.
pub fn successions() -> Result<Vec<Succession>, Error> {
    parse(SUCCESSIONS_CSV.as_bytes())
}

/// The list of the units in force since the reform, as stores name it.
pub const LIST_2025: &str = "2025";
/// The list of the three-tier units before the reform.
pub const LIST_LEGACY: &str = "legacy-2024";

/// One row of the flat `areas` table that the device store and the server both
/// keep: the two lists side by side, told apart by `list` (codes are reused
/// across them), each row with its validity dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaRow<'a> {
    pub list: &'static str,
    /// `province`, `district` (legacy only) or `commune`.
    pub level: &'static str,
    pub code: &'a str,
    pub name: &'a str,
    pub kind: Option<&'a str>,
    /// The province (2025) or the district (legacy).
    pub parent_code: Option<&'a str>,
    pub valid_from: Option<&'static str>,
    pub valid_to: Option<&'static str>,
}

/// Every embedded list, parsed.
#[derive(Debug, Clone)]
pub struct Units {
    pub current: Vec<Commune>,
    pub legacy: Vec<LegacyCommune>,
    pub successions: Vec<Succession>,
}

impl Units {
    pub fn embedded() -> Result<Units, Error> {
        Ok(Units {
            current: current()?,
            legacy: legacy()?,
            successions: successions()?,
        })
    }

    /// The rows of the `areas` table. A province or district appears once per
    /// commune under it; stores insert with "or replace"/"or ignore".
    pub fn area_rows(&self) -> impl Iterator<Item = AreaRow<'_>> {
        let from = Some(REFORM_DATE);
        let to = Some(LEGACY_LAST_DAY);
        let current = self.current.iter().flat_map(move |c| {
            [
                AreaRow {
                    list: LIST_2025,
                    level: "province",
                    code: &c.province_code,
                    name: &c.province_name,
                    kind: None,
                    parent_code: None,
                    valid_from: from,
                    valid_to: None,
                },
                AreaRow {
                    list: LIST_2025,
                    level: "commune",
                    code: &c.code,
                    name: &c.name,
                    kind: Some(&c.kind),
                    parent_code: Some(&c.province_code),
                    valid_from: from,
                    valid_to: None,
                },
            ]
        });
        let legacy = self.legacy.iter().flat_map(move |c| {
            let mut rows = vec![
                AreaRow {
                    list: LIST_LEGACY,
                    level: "province",
                    code: &c.province_code,
                    name: &c.province_name,
                    kind: None,
                    parent_code: None,
                    valid_from: None,
                    valid_to: to,
                },
                AreaRow {
                    list: LIST_LEGACY,
                    level: "district",
                    code: &c.district_code,
                    name: &c.district_name,
                    kind: None,
                    parent_code: Some(&c.province_code),
                    valid_from: None,
                    valid_to: to,
                },
            ];
            // Island districts without communes have an empty commune code.
            if !c.code.is_empty() {
                rows.push(AreaRow {
                    list: LIST_LEGACY,
                    level: "commune",
                    code: &c.code,
                    name: &c.name,
                    kind: Some(&c.kind),
                    parent_code: Some(&c.district_code),
                    valid_from: None,
                    valid_to: to,
                });
            }
            rows
        });
        current.chain(legacy)
    }

    /// Legacy communes (the rows with a commune code).
    pub fn legacy_communes(&self) -> usize {
        self.legacy.iter().filter(|c| !c.code.is_empty()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn current_list_has_34_provinces_and_3321_communes() {
        let units = current().unwrap();
        assert_eq!(units.len(), 3321);
        let provinces: BTreeSet<_> = units.iter().map(|c| c.province_code.as_str()).collect();
        assert_eq!(provinces.len(), 34);
        let hong_ha = units.iter().find(|c| c.code == "00097").unwrap();
        assert_eq!(hong_ha.name, "Phường Hồng Hà");
        assert_eq!(hong_ha.province_code, "01");
    }

    #[test]
    fn legacy_and_successions_load() {
        assert_eq!(legacy().unwrap().len(), 10040);
        let s = successions().unwrap();
        assert_eq!(s.len(), 10597);
        // A split legacy commune has exactly one default successor.
        let dien_bien: Vec<_> = s
            .iter()
            .filter(|r| r.legacy_commune_code == "00019")
            .collect();
        assert_eq!(dien_bien.len(), 4);
        assert_eq!(dien_bien.iter().filter(|r| r.is_default).count(), 1);
    }

    #[test]
    fn area_rows_cover_both_lists() {
        let units = Units::embedded().unwrap();
        let rows: Vec<_> = units.area_rows().collect();
        let communes_2025 = rows
            .iter()
            .filter(|r| r.list == LIST_2025 && r.level == "commune")
            .count();
        assert_eq!(communes_2025, 3321);
        let legacy_communes = rows
            .iter()
            .filter(|r| r.list == LIST_LEGACY && r.level == "commune")
            .count();
        assert_eq!(legacy_communes, units.legacy_communes());
        assert_eq!(legacy_communes, 10035);
        assert!(rows.iter().all(|r| !r.code.is_empty()));
    }

    #[test]
    fn bad_rows_are_refused_with_the_line() {
        let csv = "province_code,province_name,commune_code,commune_name,commune_type\n\
                   01,Hà Nội,97,Phường Hồng Hà,Phường\n";
        let err = parse_current(csv.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("\"97\""), "{err}");
    }
}
