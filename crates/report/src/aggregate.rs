//! Sums of contributions at one level of the hierarchy: what every figure of a
//! report is made of. The same sums over a device's households or over a
//! server's stored contributions give the same figures.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::areas::Area;
use crate::contribute::Contribution;
use crate::indicator::{Basis, Breakdown, Indicator};
use crate::period::Period;

/// A level of the hierarchy (the 2025 units: no district).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The team serving the village (one team per village).
    Team,
    Village,
    Commune,
    Province,
    National,
}

impl Level {
    pub const ALL: &'static [Level] = &[
        Level::Team,
        Level::Village,
        Level::Commune,
        Level::Province,
        Level::National,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Level::Team => "team",
            Level::Village => "village",
            Level::Commune => "commune",
            Level::Province => "province",
            Level::National => "national",
        }
    }

    pub fn parse(word: &str) -> Option<Level> {
        Level::ALL.iter().copied().find(|l| l.code() == word.trim())
    }
}

/// The unit code every national figure is filed under.
pub const NATIONAL: &str = "VN";
/// The team unit of villages no team serves.
pub const NO_TEAM: &str = "";

/// Which team serves which village (village id → team id), for the team level.
pub type VillageTeams = BTreeMap<String, String>;

/// The unit an area belongs to at `level`.
pub fn unit_of(level: Level, area: &Area, teams: &VillageTeams) -> String {
    match level {
        Level::Team => teams
            .get(&area.village)
            .cloned()
            .unwrap_or_else(|| NO_TEAM.to_string()),
        Level::Village => area.village.clone(),
        Level::Commune => area.commune.clone(),
        Level::Province => area.province.clone(),
        Level::National => NATIONAL.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct SumKey {
    unit: String,
    indicator: Indicator,
    breakdown: Breakdown,
    basis: Basis,
}

/// Contributions summed by unit at one level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    level: Level,
    sums: BTreeMap<SumKey, u64>,
}

impl Totals {
    pub fn new(level: Level) -> Totals {
        Totals {
            level,
            sums: BTreeMap::new(),
        }
    }

    /// Sums `contributions` at `level`.
    pub fn of<'c>(
        level: Level,
        teams: &VillageTeams,
        contributions: impl IntoIterator<Item = &'c Contribution>,
    ) -> Totals {
        let mut t = Totals::new(level);
        for c in contributions {
            t.add(teams, c);
        }
        t
    }

    pub fn add(&mut self, teams: &VillageTeams, c: &Contribution) {
        let key = SumKey {
            unit: unit_of(self.level, &c.key.area, teams),
            indicator: c.key.indicator,
            breakdown: c.key.breakdown.clone(),
            basis: c.key.basis,
        };
        let sum = self.sums.entry(key).or_default();
        *sum = sum.saturating_add(c.count);
    }

    pub fn level(&self) -> Level {
        self.level
    }

    /// The units that have any count.
    pub fn units(&self) -> BTreeSet<&str> {
        self.sums.keys().map(|k| k.unit.as_str()).collect()
    }

    /// Every breakdown of `indicator` in `unit`.
    pub fn breakdowns(&self, unit: &str, indicator: Indicator) -> BTreeSet<&Breakdown> {
        self.sums
            .keys()
            .filter(|k| k.unit == unit && k.indicator == indicator)
            .map(|k| &k.breakdown)
            .collect()
    }

    fn sum(
        &self,
        unit: &str,
        indicator: Indicator,
        breakdown: &Breakdown,
        f: impl Fn(Basis) -> bool,
    ) -> u64 {
        self.sums
            .iter()
            .filter(|(k, _)| {
                k.unit == unit
                    && k.indicator == indicator
                    && &k.breakdown == breakdown
                    && f(k.basis)
            })
            .fold(0u64, |a, (_, v)| a.saturating_add(*v))
    }

    /// The count in `period`; `None` for an indicator that is a state now.
    pub fn in_period(
        &self,
        unit: &str,
        indicator: Indicator,
        breakdown: &Breakdown,
        period: Period,
    ) -> Option<u64> {
        (!indicator.current())
            .then(|| self.sum(unit, indicator, breakdown, |b| b == Basis::Period(period)))
    }

    /// The running total to the end of `period`; for a state, the state now.
    pub fn running_total(
        &self,
        unit: &str,
        indicator: Indicator,
        breakdown: &Breakdown,
        through: Period,
    ) -> u64 {
        if indicator.current() {
            return self.sum(unit, indicator, breakdown, |b| b == Basis::Current);
        }
        let distinct = indicator.distinct();
        self.sum(unit, indicator, breakdown, |b| match b {
            Basis::First(p) => distinct && p <= through,
            Basis::Period(p) => !distinct && p <= through,
            Basis::Current => false,
        })
    }
}
