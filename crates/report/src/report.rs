//! A report: the figures of one period at one level, each unit's sums read as
//! period counts and running totals, with the ratios and the follow-ups due
//! (which depend on the day the report is made, so they are computed here and
//! never stored). Devices and the server build it with the same function.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::{Date, Duration};

use crate::aggregate::{Level, Totals, VillageTeams, unit_of};
use crate::areas::{Area, AreaIndex};
use crate::contribute::Review;
use crate::indicator::{Account, AgeBand, Answer, Breakdown, Indicator};
use crate::period::{Period, PeriodConfig};

/// The national target: digital citizens among the working-age population.
pub const DIGITAL_CITIZENS_TARGET_PCT: f64 = 70.0;
/// A follow-up is due from this many days before its day; after it, overdue.
pub const FOLLOW_UP_DUE_WITHIN_DAYS: i64 = 7;
/// The service whose `done` outcome is a feature phone replaced.
pub const SMARTPHONE_REPLACEMENT: &str = "smartphone_replacement";

/// The villages and teams, which documents do not hold: from the server's
/// tables, or on a device from its identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    pub villages: Vec<RosterVillage>,
    pub teams: Vec<RosterTeam>,
    /// Training sessions of the area's teams: the server's records; `None`
    /// where they are not known (a device), and no training figures are made.
    #[serde(default)]
    pub trainings: Option<Vec<RosterTraining>>,
}

/// One training session and who attended it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterTraining {
    pub topic: String,
    /// YYYY-MM-DD, Vietnam's calendar day.
    pub held_on: String,
    /// The commune it was held for (its team's, when it has one).
    pub commune_code: String,
    /// The team it was held for; `None` for all of a commune's teams.
    pub team_id: Option<String>,
    /// The volunteers who attended, by id.
    pub attendees: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterVillage {
    pub id: String,
    /// Commune code in force now.
    pub commune_code: String,
    /// The team serving it.
    pub team_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterTeam {
    pub id: String,
    /// Its members, when known (a device knows only its own volunteer).
    pub volunteers: Option<u64>,
}

impl Roster {
    /// Village → team, for the team level.
    pub fn village_teams(&self) -> VillageTeams {
        self.villages
            .iter()
            .filter_map(|v| v.team_id.clone().map(|t| (v.id.clone(), t)))
            .collect()
    }
}

/// What to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub period: Period,
    pub periods: PeriodConfig,
    pub level: Level,
    /// The day the report is made (for follow-ups due and overdue).
    pub today: Date,
}

/// One figure: a count in the period and the running total to its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub indicator: Indicator,
    pub breakdown: Breakdown,
    /// `None` for a state now (it has no period count).
    pub period: Option<u64>,
    pub running_total: u64,
}

/// A part of a whole, with its percentage (none when the whole is 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    pub part: u64,
    pub whole: u64,
    pub pct: Option<f64>,
}

impl Ratio {
    pub fn of(part: u64, whole: u64) -> Ratio {
        let pct = (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0);
        Ratio { part, whole, pct }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RosterFigures {
    pub villages: u64,
    pub villages_with_team: u64,
    pub teams: u64,
    /// `None` when some team's members are not known.
    pub volunteers: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUps {
    /// Open, on a day from today to `FOLLOW_UP_DUE_WITHIN_DAYS` ahead.
    pub due: u64,
    /// Open, on a day before today.
    pub overdue: u64,
}

/// The figures of one unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitReport {
    pub unit: String,
    pub roster: RosterFigures,
    /// Households visited in the period (and to its end) over those registered
    /// to its end.
    pub reached_in_period: Ratio,
    pub reached_to_date: Ratio,
    /// Digital citizens among working-age members listed.
    pub digital_citizens: Ratio,
    pub digital_citizens_target_pct: f64,
    pub follow_ups: FollowUps,
    pub figures: Vec<Figure>,
    /// Volunteers who attended a training to date, over the roster's
    /// volunteers (no percentage when those are not known).
    #[serde(default)]
    pub volunteers_trained: Ratio,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub period: Period,
    pub first_day: String,
    pub last_day: String,
    pub periods_start_day: u8,
    pub level: Level,
    pub today: String,
    pub units: Vec<UnitReport>,
    pub reviews: Vec<Review>,
}

/// The report of `req` from `totals` (summed at `req.level`).
pub fn build(
    totals: &Totals,
    roster: &Roster,
    areas: &AreaIndex,
    req: &Request,
    mut reviews: Vec<Review>,
) -> Report {
    let teams = roster.village_teams();
    let village_unit = |v: &RosterVillage| {
        let area = Area {
            province: areas.province_of(&v.commune_code),
            commune: v.commune_code.clone(),
            village: v.id.clone(),
        };
        unit_of(req.level, &area, &teams)
    };
    // A session counts for its team at team level (one for a whole commune
    // at none), for its commune above, and at village level nowhere: it
    // trains volunteers, not a village.
    let training_unit = |t: &RosterTraining| match req.level {
        Level::Village => None,
        Level::Team => t.team_id.clone(),
        level => Some(unit_of(
            level,
            &Area {
                province: areas.province_of(&t.commune_code),
                commune: t.commune_code.clone(),
                village: String::new(),
            },
            &teams,
        )),
    };
    let mut units: BTreeSet<String> = totals.units().into_iter().map(str::to_string).collect();
    units.extend(roster.villages.iter().map(village_unit));
    let known_trainings = roster
        .trainings
        .as_deref()
        .filter(|_| req.level != Level::Village);
    units.extend(
        known_trainings
            .into_iter()
            .flatten()
            .filter_map(training_unit),
    );
    let (first, last) = req.periods.bounds(req.period);
    let units = units
        .into_iter()
        .map(|unit| {
            let villages: Vec<&RosterVillage> = roster
                .villages
                .iter()
                .filter(|v| village_unit(v) == unit)
                .collect();
            let team_ids: BTreeSet<&str> = villages
                .iter()
                .filter_map(|v| v.team_id.as_deref())
                .collect();
            let volunteers = team_ids.iter().try_fold(0u64, |sum, id| {
                roster
                    .teams
                    .iter()
                    .find(|t| t.id == *id)
                    .and_then(|t| t.volunteers)
                    .map(|n| sum + n)
            });
            let roster_figures = RosterFigures {
                villages: villages.len() as u64,
                villages_with_team: villages.iter().filter(|v| v.team_id.is_some()).count() as u64,
                teams: team_ids.len() as u64,
                volunteers,
            };
            let mut report = unit_report(totals, &unit, req, roster_figures);
            if let Some(all) = known_trainings {
                let trainings: Vec<&RosterTraining> = all
                    .iter()
                    .filter(|t| training_unit(t).as_deref() == Some(unit.as_str()))
                    .collect();
                add_trainings(&mut report, &trainings, (first, last));
            }
            report
        })
        .collect();
    // A record counted in a later period is that period's to review.
    reviews.retain(|r| r.counted_in.is_none_or(|p| p <= req.period));
    Report {
        period: req.period,
        first_day: first.to_string(),
        last_day: last.to_string(),
        periods_start_day: req.periods.start_day(),
        level: req.level,
        today: req.today.to_string(),
        units,
        reviews,
    }
}

fn unit_report(totals: &Totals, unit: &str, req: &Request, roster: RosterFigures) -> UnitReport {
    let p = req.period;
    let all = Breakdown::All;
    let total = |i: Indicator, b: &Breakdown| totals.running_total(unit, i, b, p);
    let mut figures = Vec::new();
    for &indicator in Indicator::ALL {
        if indicator == Indicator::FollowUpsOpen || indicator.of_roster() {
            continue;
        }
        let mut breakdowns: Vec<Breakdown> = totals
            .breakdowns(unit, indicator)
            .into_iter()
            .cloned()
            .collect();
        if !breakdowns.contains(&all)
            && !matches!(
                indicator,
                Indicator::ServicesDelivered
                    | Indicator::PeopleSupported
                    | Indicator::Accounts
                    | Indicator::HouseholdsByDevice
                    | Indicator::Persons
                    | Indicator::DigitalCitizens
            )
        {
            breakdowns.insert(0, all.clone());
        }
        for breakdown in breakdowns {
            figures.push(Figure {
                indicator,
                period: totals.in_period(unit, indicator, &breakdown, p),
                running_total: total(indicator, &breakdown),
                breakdown,
            });
        }
    }
    let registered = total(Indicator::HouseholdsRegistered, &all);
    let visited_in_period = totals
        .in_period(unit, Indicator::HouseholdsVisited, &all, p)
        .unwrap_or(0);
    let working = Breakdown::Age {
        age: AgeBand::WorkingAge,
    };
    let mut follow_ups = FollowUps { due: 0, overdue: 0 };
    let due_until = req.today + Duration::days(FOLLOW_UP_DUE_WITHIN_DAYS);
    for b in totals.breakdowns(unit, Indicator::FollowUpsOpen) {
        let Breakdown::FollowUpOn { day } = b else {
            continue;
        };
        let n = total(Indicator::FollowUpsOpen, b);
        // Days are YYYY-MM-DD, so text order is day order; a malformed day
        // (a problem of its visit) is neither due nor overdue.
        let Some(on) = parse_day(day) else { continue };
        if on < req.today {
            follow_ups.overdue += n;
        } else if on <= due_until {
            follow_ups.due += n;
        }
    }
    UnitReport {
        unit: unit.to_string(),
        roster,
        reached_in_period: Ratio::of(visited_in_period, registered),
        reached_to_date: Ratio::of(total(Indicator::HouseholdsVisited, &all), registered),
        digital_citizens: Ratio::of(
            total(Indicator::DigitalCitizens, &working),
            total(Indicator::Persons, &working),
        ),
        digital_citizens_target_pct: DIGITAL_CITIZENS_TARGET_PCT,
        follow_ups,
        figures,
        volunteers_trained: Ratio::default(),
    }
}

/// The training figures of a unit from its sessions: sessions held and
/// volunteers trained (each once), in the period `days` and to its end, in
/// all and by topic; and the share of the roster's volunteers trained.
fn add_trainings(u: &mut UnitReport, trainings: &[&RosterTraining], days: (Date, Date)) {
    let (first, last) = days;
    // A session of a malformed day (none is stored) counts nowhere.
    let dated: Vec<(&RosterTraining, Date)> = trainings
        .iter()
        .filter_map(|t| parse_day(&t.held_on).map(|d| (*t, d)))
        .filter(|(_, d)| *d <= last)
        .collect();
    let mut breakdowns = vec![Breakdown::All];
    let topics: BTreeSet<&str> = dated.iter().map(|(t, _)| t.topic.as_str()).collect();
    breakdowns.extend(topics.into_iter().map(|t| Breakdown::Topic {
        topic: t.to_string(),
    }));
    let mut trained_to_date = 0;
    for breakdown in breakdowns {
        let of = |t: &RosterTraining| match &breakdown {
            Breakdown::Topic { topic } => &t.topic == topic,
            _ => true,
        };
        let to_date: Vec<&(&RosterTraining, Date)> = dated.iter().filter(|(t, _)| of(t)).collect();
        let in_period: Vec<&(&RosterTraining, Date)> = to_date
            .iter()
            .copied()
            .filter(|(_, d)| *d >= first)
            .collect();
        let people = |sessions: &[&(&RosterTraining, Date)]| {
            sessions
                .iter()
                .flat_map(|(t, _)| t.attendees.iter())
                .collect::<BTreeSet<_>>()
                .len() as u64
        };
        if breakdown == Breakdown::All {
            trained_to_date = people(&to_date);
        }
        u.figures.push(Figure {
            indicator: Indicator::Trainings,
            breakdown: breakdown.clone(),
            period: Some(in_period.len() as u64),
            running_total: to_date.len() as u64,
        });
        u.figures.push(Figure {
            indicator: Indicator::VolunteersTrained,
            breakdown,
            period: Some(people(&in_period)),
            running_total: people(&to_date),
        });
    }
    u.volunteers_trained = Ratio::of(trained_to_date, u.roster.volunteers.unwrap_or(0));
}

fn parse_day(day: &str) -> Option<Date> {
    Date::parse(
        day,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

impl UnitReport {
    /// A figure, when the unit has it.
    pub fn figure(&self, indicator: Indicator, breakdown: &Breakdown) -> Option<&Figure> {
        self.figures
            .iter()
            .find(|f| f.indicator == indicator && &f.breakdown == breakdown)
    }

    /// Feature phones replaced: smartphone replacements done.
    pub fn feature_phones_replaced(&self) -> (u64, u64) {
        let b = Breakdown::Service {
            service: SMARTPHONE_REPLACEMENT.to_string(),
            outcome: "done".to_string(),
        };
        self.figure(Indicator::ServicesDelivered, &b)
            .map(|f| (f.period.unwrap_or(0), f.running_total))
            .unwrap_or((0, 0))
    }

    /// Members with `account` answered yes.
    pub fn account(&self, account: Account) -> u64 {
        self.figure(
            Indicator::Accounts,
            &Breakdown::Account {
                account,
                answer: Answer::Yes,
            },
        )
        .map(|f| f.running_total)
        .unwrap_or(0)
    }
}
