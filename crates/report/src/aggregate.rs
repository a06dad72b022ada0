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

/// Where a sum is filed, but for its basis: the figures of a report look up
/// one (unit, indicator, breakdown) at a time, so the bases of one sit
/// together and a lookup is a search, not a scan of every sum (a province's
/// report at commune level has hundreds of thousands of sums).
type FigureKey = (String, Indicator, Breakdown);

/// Contributions summed by unit at one level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    level: Level,
    sums: BTreeMap<FigureKey, BTreeMap<Basis, u64>>,
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
        let key = (
            unit_of(self.level, &c.key.area, teams),
            c.key.indicator,
            c.key.breakdown.clone(),
        );
        let sum = self
            .sums
            .entry(key)
            .or_default()
            .entry(c.key.basis)
            .or_default();
        *sum = sum.saturating_add(c.count);
    }

    pub fn level(&self) -> Level {
        self.level
    }

    /// The units that have any count.
    pub fn units(&self) -> BTreeSet<&str> {
        self.sums.keys().map(|k| k.0.as_str()).collect()
    }

    /// Every breakdown of `indicator` in `unit`.
    pub fn breakdowns(&self, unit: &str, indicator: Indicator) -> BTreeSet<&Breakdown> {
        // `All` is the first breakdown in their order.
        let from = (unit.to_string(), indicator, Breakdown::All);
        self.sums
            .range(from..)
            .take_while(|(k, _)| k.0 == unit && k.1 == indicator)
            .map(|(k, _)| &k.2)
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
            .get(&(unit.to_string(), indicator, breakdown.clone()))
            .map_or(0, |bases| {
                bases
                    .iter()
                    .filter(|(b, _)| f(**b))
                    .fold(0u64, |a, (_, v)| a.saturating_add(*v))
            })
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
