//! The indicators and the keys their counts are filed under
//! (docs/reports.md defines each one).

use serde::{Deserialize, Serialize};

use crate::period::Period;

/// An indicator counted from household documents. Ratios (% reached, digital
/// citizens against the target) are not here: they are divisions of these
/// sums, made when a report is read (see `report`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    /// Households, by the day they were registered.
    HouseholdsRegistered,
    /// Households with at least one visit in the period (once per period).
    HouseholdsVisited,
    /// Visits; by volunteer, a visit counts once for each volunteer on it.
    Visits,
    /// Services given in visits, by service and outcome.
    ServicesDelivered,
    /// People helped, by service and outcome (once per period each).
    PeopleSupported,
    /// Members listed, by age band (now).
    Persons,
    /// Members by account and answer (now).
    Accounts,
    /// Households by their phones (now).
    HouseholdsByDevice,
    /// Members meeting every pillar of a digital citizen, by age band (now).
    DigitalCitizens,
    /// Follow-ups no later visit has closed, by their day (now).
    FollowUpsOpen,
    /// Training sessions held, by topic: from the roster (the operator's
    /// records), not from documents.
    Trainings,
    /// Volunteers who attended at least one training session, by topic
    /// (once per period each): from the roster.
    VolunteersTrained,
}

impl Indicator {
    pub const ALL: &'static [Indicator] = &[
        Indicator::HouseholdsRegistered,
        Indicator::HouseholdsVisited,
        Indicator::Visits,
        Indicator::ServicesDelivered,
        Indicator::PeopleSupported,
        Indicator::Persons,
        Indicator::Accounts,
        Indicator::HouseholdsByDevice,
        Indicator::DigitalCitizens,
        Indicator::FollowUpsOpen,
        Indicator::Trainings,
        Indicator::VolunteersTrained,
    ];

    /// The stable code, as in docs/reports.md and JSON.
    pub fn code(self) -> &'static str {
        match self {
            Indicator::HouseholdsRegistered => "households_registered",
            Indicator::HouseholdsVisited => "households_visited",
            Indicator::Visits => "visits",
            Indicator::ServicesDelivered => "services_delivered",
            Indicator::PeopleSupported => "people_supported",
            Indicator::Persons => "persons",
            Indicator::Accounts => "accounts",
            Indicator::HouseholdsByDevice => "households_by_device",
            Indicator::DigitalCitizens => "digital_citizens",
            Indicator::FollowUpsOpen => "follow_ups_open",
            Indicator::Trainings => "trainings",
            Indicator::VolunteersTrained => "volunteers_trained",
        }
    }

    /// Counted once per thing however often it recurs: its running total is
    /// not the sum of its period counts but of its [`Basis::First`] counts.
    pub fn distinct(self) -> bool {
        matches!(
            self,
            Indicator::HouseholdsVisited
                | Indicator::PeopleSupported
                | Indicator::VolunteersTrained
        )
    }

    /// Counted from the roster's training records, not from documents.
    pub fn of_roster(self) -> bool {
        matches!(self, Indicator::Trainings | Indicator::VolunteersTrained)
    }

    /// A state as the documents say it now, not an event in a period.
    pub fn current(self) -> bool {
        matches!(
            self,
            Indicator::Persons
                | Indicator::Accounts
                | Indicator::HouseholdsByDevice
                | Indicator::DigitalCitizens
                | Indicator::FollowUpsOpen
        )
    }
}

/// When a count counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "basis", content = "period", rename_all = "snake_case")]
pub enum Basis {
    /// In this period.
    Period(Period),
    /// For the first time in this period: what running totals of distinct
    /// indicators add up.
    First(Period),
    /// Now (a state, with no period).
    Current,
}

/// An account or status of a person, kept apart from the others (VNeID
/// registered is not activated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Account {
    VneidRegistered,
    VneidActivated,
    BankAccount,
    PublicServiceAccount,
    EhealthBook,
    DigitalSignature,
    BasicSkillsCertified,
}

impl Account {
    pub const ALL: &'static [Account] = &[
        Account::VneidRegistered,
        Account::VneidActivated,
        Account::BankAccount,
        Account::PublicServiceAccount,
        Account::EhealthBook,
        Account::DigitalSignature,
        Account::BasicSkillsCertified,
    ];
}

/// What the volunteer recorded about an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Yes,
    No,
    NotAsked,
}

/// Age at the report's year: working age is 15 to 59 (docs/reports.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeBand {
    WorkingAge,
    OtherAges,
    AgeUnknown,
}

pub const WORKING_AGE_FROM: i64 = 15;
pub const WORKING_AGE_TO: i64 = 59;

impl AgeBand {
    pub fn of(birth_year: Option<i64>, year: i32) -> AgeBand {
        match birth_year {
            Some(b) if (WORKING_AGE_FROM..=WORKING_AGE_TO).contains(&(i64::from(year) - b)) => {
                AgeBand::WorkingAge
            }
            Some(_) => AgeBand::OtherAges,
            None => AgeBand::AgeUnknown,
        }
    }
}

/// The part of an indicator a count belongs to; `All` is the indicator itself.
/// Breakdowns of one indicator may overlap (a household in two target groups
/// counts in both): the indicator's figure is its `All` count, never a sum of
/// its breakdowns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Breakdown {
    All,
    TargetGroup {
        target_group: String,
    },
    Service {
        service: String,
        outcome: String,
    },
    Volunteer {
        volunteer: String,
    },
    Account {
        account: Account,
        answer: Answer,
    },
    Device {
        device_access: String,
    },
    Age {
        age: AgeBand,
    },
    FollowUpOn {
        day: String,
    },
    /// A training session's topic, as the operator wrote it.
    Topic {
        topic: String,
    },
}
