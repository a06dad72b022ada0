//! The volunteer's day, as the facade hands it out: whom to visit next (the
//! to-do list), what was done in a period (the work summary), and which
//! services to offer a household next (from the catalogue's rules).
//!
//! Days are Vietnam days, `YYYY-MM-DD`; periods are given by their first and
//! last day (gocua-report cuts the months into periods, the caller asks it).

use serde::{Deserialize, Serialize};

pub use gocua_household::suggest::{
    HouseholdFacts, MemberCondition, MemberFacts, RuleError, RuleProblem, Suggestion,
    SuggestionReason, SuggestionRule, When,
};

/// What `Store::todo` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodoRequest {
    /// The day the list is made for, `YYYY-MM-DD` (Vietnam).
    pub today: String,
    /// The first day of the current period, `YYYY-MM-DD`: a household whose
    /// last visit is before it is "not visited this period".
    pub period_first_day: String,
    /// A village id or name; `None` for all the device's villages.
    pub village: Option<String>,
    /// A target group code; `None` for all households.
    pub target_group: Option<String>,
    /// Only this device's volunteer's work: follow-ups of visits they were on,
    /// and households they visited last. Never-visited households are the
    /// team's and are left out.
    pub mine: bool,
    /// At most this many items (the counts cover them all).
    pub limit: u32,
}

/// Why a household is on the to-do list, most urgent first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TodoReason {
    /// A follow-up day before today, no visit since.
    Overdue { follow_up_on: String, days: i64 },
    /// A follow-up day of today.
    Due { follow_up_on: String },
    /// No visit yet.
    NeverVisited,
    /// Last visited before the current period.
    NotVisitedThisPeriod { last_visit_on: String },
}

impl TodoReason {
    /// The reason's code, as in JSON.
    pub fn code(&self) -> &'static str {
        match self {
            TodoReason::Overdue { .. } => "overdue",
            TodoReason::Due { .. } => "due",
            TodoReason::NeverVisited => "never_visited",
            TodoReason::NotVisitedThisPeriod { .. } => "not_visited_this_period",
        }
    }
}

/// One household to visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodoItem {
    pub household_id: String,
    pub head_name: String,
    pub village_id: String,
    pub village_name: String,
    pub address: String,
    pub phone: Option<String>,
    pub reason: TodoReason,
    /// The visit whose follow-up is due or overdue.
    pub follow_up_visit_id: Option<String>,
    /// An open follow-up not due yet (`YYYY-MM-DD`), for a household listed
    /// for another reason.
    pub next_follow_up_on: Option<String>,
    pub suggestions: Vec<Suggestion>,
}

/// How many households are on the list for each reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodoCounts {
    pub overdue: u64,
    pub due: u64,
    pub never_visited: u64,
    pub not_visited_this_period: u64,
}

impl TodoCounts {
    pub fn total(&self) -> u64 {
        self.overdue + self.due + self.never_visited + self.not_visited_this_period
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodoList {
    pub today: String,
    pub period_first_day: String,
    pub counts: TodoCounts,
    /// Sorted by urgency: overdue (the longest overdue first), due today,
    /// never visited (the longest registered first), not visited this period
    /// (the longest unvisited first).
    pub items: Vec<TodoItem>,
}

/// What `Store::work_summary` sums.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryRequest {
    /// `YYYY-MM-DD`, inclusive.
    pub first_day: String,
    /// `YYYY-MM-DD`, inclusive.
    pub last_day: String,
    /// This device's volunteer's visits (recorded by them or with them on
    /// it); otherwise the whole team's.
    pub mine: bool,
}

/// Visits that gave one service with one outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceCount {
    pub service: String,
    pub outcome: String,
    pub visits: u64,
}

/// The work of a volunteer or a team in a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkSummary {
    pub first_day: String,
    pub last_day: String,
    pub mine: bool,
    pub visits: u64,
    pub households_visited: u64,
    /// Distinct people named on the visits.
    pub people_helped: u64,
    /// The visits' durations added up (visits without one add nothing).
    pub minutes: u64,
    /// By service, then outcome in catalogue order.
    pub services: Vec<ServiceCount>,
    /// Visits of the period that set a follow-up day.
    pub follow_ups_set: u64,
    /// Follow-ups settled by a visit of the period: the first visit of the
    /// household on a later day than the visit that set it.
    pub follow_ups_settled: u64,
    /// Follow-ups set by these visits (any period) that no visit has
    /// settled yet.
    pub follow_ups_open: u64,
}
