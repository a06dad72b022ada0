//! gocua-report: the indicators that go up to the province (docs/reports.md),
//! computed the same way on a device and on the server.
//!
//! The design follows the server's projection: [`contributions`] turns ONE
//! household into additive counts keyed by indicator, period, area and
//! breakdown, so a server stores each household's contributions and replaces
//! them when the household changes; [`Totals`] sums any set of contributions at
//! one level (team, village, commune, province, national), and [`build`] reads
//! the sums as a period's counts and running totals, with the ratios and the
//! follow-ups due that are divisions or depend on the day. Pure: no SQL, no
//! I/O, no clock (the caller says what day it is).

pub mod aggregate;
pub mod areas;
pub mod contribute;
pub mod dating;
pub mod error;
pub mod indicator;
pub mod label;
pub mod period;
pub mod report;

pub use aggregate::{Level, NATIONAL, NO_TEAM, Totals, VillageTeams, unit_of};
pub use areas::{Area, AreaIndex, CommuneReading};
pub use contribute::{
    Context, Contribution, HouseholdContributions, Key, Receipts, Review, ReviewReason,
    contributions,
};
pub use error::Error;
pub use indicator::{Account, AgeBand, Answer, Basis, Breakdown, Indicator};
pub use label::{Derived, Label};
pub use period::{Period, PeriodConfig};
pub use report::{
    DIGITAL_CITIZENS_TARGET_PCT, Figure, FollowUps, Ratio, Report, Request, Roster, RosterFigures,
    RosterTeam, RosterTraining, RosterVillage, UnitReport, build,
};
