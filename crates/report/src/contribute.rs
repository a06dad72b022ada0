//! One household's contributions: its additive counts, keyed by indicator,
//! period, area and breakdown. A server stores them per household and replaces
//! them when the household changes; every figure of every report is a sum of
//! them (see `aggregate`). Distinct counts are made distinct here, inside the
//! household: a household contributes at most 1 to "visited in a period", a
//! person at most 1 to "supported with a service and outcome in a period".

use std::collections::{BTreeMap, BTreeSet};

use gocua_household::{DeviceAccess, Household, VneidLevel};
use serde::{Deserialize, Serialize};

use crate::areas::{Area, AreaIndex, CommuneReading};
use crate::dating::{self, Skew};
use crate::indicator::{Account, AgeBand, Answer, Basis, Breakdown, Indicator};
use crate::period::{Period, PeriodConfig};

/// Where a count is filed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    pub indicator: Indicator,
    #[serde(flatten)]
    pub basis: Basis,
    pub area: Area,
    pub breakdown: Breakdown,
}

/// A count of one household under one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    #[serde(flatten)]
    pub key: Key,
    pub count: u64,
}

/// When the server received what a household holds: the household's first
/// change and each visit's. A device leaves them empty (it has no receipt
/// time): its visits count on their own dates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipts {
    pub household: Option<String>,
    /// Visit id → receipt time (RFC 3339).
    pub visits: BTreeMap<String, String>,
}

/// What, besides the household, its contributions depend on.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub periods: PeriodConfig,
    pub areas: &'a AreaIndex,
    pub receipts: &'a Receipts,
    /// The year ages are counted at (the report's year).
    pub age_year: i32,
}

/// Why a record is listed for review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// Dated after its reference time: counted on the reference's day.
    DatedAfterReference,
    /// Dated long before its reference time: counted on the reference's day.
    DatedLongBeforeReference,
    /// Its date does not read: counted on its reference's day.
    UnreadableDate,
    /// Neither its date nor its reference reads: in no period.
    Undated,
    /// Recorded under a commune before the 2025 reform: reported under its
    /// successor now (the default one when it was split).
    LegacyCommune,
    /// A commune code in neither list: reported under that code, no province.
    UnknownCommune,
}

impl From<Skew> for ReviewReason {
    fn from(s: Skew) -> Self {
        match s {
            Skew::DatedAfterReference => ReviewReason::DatedAfterReference,
            Skew::DatedLongBeforeReference => ReviewReason::DatedLongBeforeReference,
            Skew::UnreadableDate => ReviewReason::UnreadableDate,
        }
    }
}

/// A record counted by a rule rather than as it is, listed for a person to check.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Review {
    pub household_id: String,
    /// The visit, when it is about one.
    pub visit_id: Option<String>,
    pub reason: ReviewReason,
    /// The value at fault: a date, a commune code.
    pub value: String,
    /// The reference time the date was checked against.
    pub reference: Option<String>,
    /// The period it is counted in, when it has one.
    pub counted_in: Option<Period>,
    /// Where it is reported (the commune now, for a legacy commune).
    pub area: Area,
}

/// A household's contributions and what it lists for review.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdContributions {
    pub household_id: String,
    pub contributions: Vec<Contribution>,
    pub reviews: Vec<Review>,
}

struct Tally {
    area: Area,
    counts: BTreeMap<Key, u64>,
}

impl Tally {
    fn add(&mut self, indicator: Indicator, basis: Basis, breakdown: Breakdown) {
        let key = Key {
            indicator,
            basis,
            area: self.area.clone(),
            breakdown,
        };
        *self.counts.entry(key).or_default() += 1;
    }
}

/// Every count `h` adds to every report, and what it lists for review. Never
/// fails: what does not read is left out of the counts it cannot join and
/// listed.
pub fn contributions(h: &Household, ctx: &Context<'_>) -> HouseholdContributions {
    // Corrections: a household registered by mistake counts nowhere; removed
    // members and cancelled visits count in no figure.
    if h.in_error.is_some() {
        return HouseholdContributions {
            household_id: h.id.clone(),
            ..Default::default()
        };
    }
    let counted = h.counted();
    let h: &Household = &counted;
    let (province, commune, reading) = ctx.areas.resolve(&h.commune_code, &h.created_at);
    let area = Area {
        province,
        commune,
        village: h.village_id.clone(),
    };
    let mut reviews = Vec::new();
    let mut review = |visit_id: Option<&str>,
                      reason: ReviewReason,
                      value: &str,
                      reference: Option<&str>,
                      counted_in: Option<Period>| {
        reviews.push(Review {
            household_id: h.id.clone(),
            visit_id: visit_id.map(str::to_string),
            reason,
            value: value.to_string(),
            reference: reference.map(str::to_string),
            counted_in,
            area: area.clone(),
        });
    };
    match reading {
        CommuneReading::Current => {}
        CommuneReading::Legacy { .. } => review(
            None,
            ReviewReason::LegacyCommune,
            &h.commune_code,
            None,
            None,
        ),
        CommuneReading::Unknown => review(
            None,
            ReviewReason::UnknownCommune,
            &h.commune_code,
            None,
            None,
        ),
    }
    let mut t = Tally {
        area: area.clone(),
        counts: BTreeMap::new(),
    };
    let groups: BTreeSet<&str> = h.target_groups.iter().map(String::as_str).collect();
    let by_group = |t: &mut Tally, indicator: Indicator, basis: Basis| {
        t.add(indicator, basis, Breakdown::All);
        for g in &groups {
            t.add(
                indicator,
                basis,
                Breakdown::TargetGroup {
                    target_group: g.to_string(),
                },
            );
        }
    };

    // Registered: on the day it was created, checked like a visit's date.
    let reference = ctx.receipts.household.as_deref();
    match dating::counted_day(&h.created_at, reference) {
        Some((day, skew)) => {
            let p = ctx.periods.period_of(day);
            by_group(&mut t, Indicator::HouseholdsRegistered, Basis::Period(p));
            if let Some(s) = skew {
                review(None, s.into(), &h.created_at, reference, Some(p));
            }
        }
        None => review(None, ReviewReason::Undated, &h.created_at, reference, None),
    }

    // Visits: each on the day the clock-skew rule gives it.
    let mut visited: BTreeSet<Period> = BTreeSet::new();
    let mut supported: BTreeSet<(Period, &str, &str, &str)> = BTreeSet::new();
    let mut first_supported: BTreeMap<(&str, &str, &str), Period> = BTreeMap::new();
    let mut visit_days = Vec::with_capacity(h.visits.len());
    for v in &h.visits {
        // Only the server's clock is a reference: `recorded_at` comes from the
        // same phone clock as `visited_at`, so it cannot show that clock wrong
        // (and a backfilled visit would look skewed against it).
        let reference = ctx.receipts.visits.get(&v.id).map(String::as_str);
        let Some((day, skew)) = dating::counted_day(&v.visited_at, reference) else {
            review(
                Some(&v.id),
                ReviewReason::Undated,
                &v.visited_at,
                reference,
                None,
            );
            continue;
        };
        let p = ctx.periods.period_of(day);
        if let Some(s) = skew {
            review(Some(&v.id), s.into(), &v.visited_at, reference, Some(p));
        }
        visit_days.push((day, v));
        visited.insert(p);
        t.add(Indicator::Visits, Basis::Period(p), Breakdown::All);
        let volunteers: BTreeSet<&str> = v.volunteer_ids.iter().map(String::as_str).collect();
        for volunteer in volunteers {
            t.add(
                Indicator::Visits,
                Basis::Period(p),
                Breakdown::Volunteer {
                    volunteer: volunteer.to_string(),
                },
            );
        }
        let people: BTreeSet<&str> = v.person_ids.iter().map(String::as_str).collect();
        for s in &v.services {
            t.add(
                Indicator::ServicesDelivered,
                Basis::Period(p),
                Breakdown::Service {
                    service: s.service.clone(),
                    outcome: s.outcome.clone(),
                },
            );
            for person in &people {
                supported.insert((p, &s.service, &s.outcome, person));
                let first = first_supported
                    .entry((&s.service, &s.outcome, person))
                    .or_insert(p);
                *first = (*first).min(p);
            }
        }
    }
    for p in &visited {
        by_group(&mut t, Indicator::HouseholdsVisited, Basis::Period(*p));
    }
    if let Some(first) = visited.first() {
        by_group(&mut t, Indicator::HouseholdsVisited, Basis::First(*first));
    }
    for (p, service, outcome, _) in supported {
        t.add(
            Indicator::PeopleSupported,
            Basis::Period(p),
            Breakdown::Service {
                service: service.to_string(),
                outcome: outcome.to_string(),
            },
        );
    }
    for ((service, outcome, _), p) in first_supported {
        t.add(
            Indicator::PeopleSupported,
            Basis::First(p),
            Breakdown::Service {
                service: service.to_string(),
                outcome: outcome.to_string(),
            },
        );
    }

    // Follow-ups: open until a visit on a later day.
    for (day, v) in &visit_days {
        let Some(on) = v.follow_up_on.as_deref() else {
            continue;
        };
        if visit_days.iter().any(|(other, _)| other > day) {
            continue;
        }
        t.add(
            Indicator::FollowUpsOpen,
            Basis::Current,
            Breakdown::FollowUpOn {
                day: on.to_string(),
            },
        );
    }

    // States now.
    let device = h.device_access.map(|d| d.as_str()).unwrap_or("not_asked");
    t.add(
        Indicator::HouseholdsByDevice,
        Basis::Current,
        Breakdown::Device {
            device_access: device.to_string(),
        },
    );
    let smartphone = h.device_access == Some(DeviceAccess::Smartphone);
    for m in &h.members {
        let age = AgeBand::of(m.birth_year, ctx.age_year);
        t.add(Indicator::Persons, Basis::Current, Breakdown::Age { age });
        let s = &m.skills;
        for &account in Account::ALL {
            let value = match account {
                Account::VneidRegistered => s.vneid_level.map(|l| l != VneidLevel::None),
                Account::VneidActivated => s.vneid_activated,
                Account::BankAccount => s.bank_account,
                Account::PublicServiceAccount => s.public_service_account,
                Account::EhealthBook => s.ehealth_book,
                Account::DigitalSignature => s.digital_signature,
                Account::BasicSkillsCertified => s.basic_skills_certified,
            };
            let answer = match value {
                Some(true) => Answer::Yes,
                Some(false) => Answer::No,
                None => Answer::NotAsked,
            };
            t.add(
                Indicator::Accounts,
                Basis::Current,
                Breakdown::Account { account, answer },
            );
        }
        let digital_citizen = s.vneid_activated == Some(true)
            && smartphone
            && s.bank_account == Some(true)
            && s.basic_skills_certified == Some(true);
        if digital_citizen {
            t.add(
                Indicator::DigitalCitizens,
                Basis::Current,
                Breakdown::Age { age },
            );
        }
    }

    reviews.sort();
    HouseholdContributions {
        household_id: h.id.clone(),
        contributions: t
            .counts
            .into_iter()
            .map(|(key, count)| Contribution { key, count })
            .collect(),
        reviews,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use gocua_household::{ServiceOutcome, Visit};

    fn visit(id: &str, at: &str, people: &[&str]) -> Visit {
        Visit {
            id: id.into(),
            visited_at: at.into(),
            team_id: "t".into(),
            volunteer_ids: vec!["lan".into(), "hung".into()],
            person_ids: people.iter().map(|p| p.to_string()).collect(),
            services: vec![ServiceOutcome {
                service: "vneid_activate".into(),
                outcome: "done".into(),
                note: None,
            }],
            duration_minutes: None,
            follow_up_on: None,
            feedback: None,
            consent_id: None,
            recorded_at: at.into(),
            recorded_by: "lan".into(),
            cancelled: None,
            edited: None,
        }
    }

    fn household(visits: Vec<Visit>) -> Household {
        Household {
            id: "h".into(),
            schema_version: 1,
            commune_code: "00019".into(),
            village_id: "v".into(),
            address: String::new(),
            head_name: "Nguyễn Văn Hạnh".into(),
            phone: None,
            member_count: None,
            device_access: None,
            target_groups: vec!["elderly".into()],
            created_at: "2026-10-02T02:00:00Z".into(),
            created_by: "lan".into(),
            members: Vec::new(),
            visits,
            consents: Vec::new(),
            conflicts: Vec::new(),
            problems: Vec::new(),
            outside_villages: false,
            in_error: None,
            merged: None,
            absorbed: Vec::new(),
        }
    }

    fn count(c: &HouseholdContributions, i: Indicator, basis: Basis, b: &Breakdown) -> u64 {
        c.contributions
            .iter()
            .filter(|x| x.key.indicator == i && x.key.basis == basis && &x.key.breakdown == b)
            .map(|x| x.count)
            .sum()
    }

    fn p(s: &str) -> Period {
        Period::parse(s).unwrap()
    }

    /// The clock-skew rule on a household: a visit dated a year ahead of its
    /// receipt and one dated 1970 both count in the receipt's period and are
    /// listed; a visit without a receipt time counts on its own date.
    /// Corrections leave the counts: a cancelled visit counts as if never
    /// recorded, a household registered in error counts nowhere.
    #[test]
    fn corrected_records_count_in_no_figure() {
        let areas = AreaIndex::embedded().unwrap();
        let receipts = Receipts::default();
        let ctx = Context {
            periods: PeriodConfig::default(),
            areas: &areas,
            receipts: &receipts,
            age_year: 2026,
        };
        let kept = visit("kept", "2026-10-03T03:00:00Z", &["a"]);
        let mut cancelled = visit("cancelled", "2026-10-04T03:00:00Z", &["b"]);
        cancelled.cancelled = Some(gocua_household::Correction {
            at: "2026-10-05T03:00:00Z".into(),
            by: "lan".into(),
            reason: Some("ghi nhầm".into()),
        });
        let with = contributions(&household(vec![kept.clone(), cancelled]), &ctx);
        let without = contributions(&household(vec![kept]), &ctx);
        assert_eq!(with, without);
        assert!(
            count(
                &with,
                Indicator::Visits,
                Basis::Period(p("2026-10")),
                &Breakdown::All
            ) == 1
        );
        let mut wrong = household(Vec::new());
        wrong.in_error = Some(gocua_household::Correction {
            at: "2026-10-05T03:00:00Z".into(),
            by: "lan".into(),
            reason: None,
        });
        let c = contributions(&wrong, &ctx);
        assert!(c.contributions.is_empty() && c.reviews.is_empty(), "{c:?}");
    }

    #[test]
    fn skewed_visits_count_when_received_and_are_listed() {
        let areas = AreaIndex::embedded().unwrap();
        let mut receipts = Receipts::default();
        receipts
            .visits
            .insert("future".into(), "2026-11-20T03:00:00Z".into());
        receipts
            .visits
            .insert("reset".into(), "2026-11-16T03:00:00Z".into());
        let h = household(vec![
            visit("future", "2027-11-20T03:00:00Z", &["a"]),
            visit("reset", "1970-01-01T00:00:00Z", &["a"]),
            visit("plain", "2026-10-03T03:00:00Z", &["a", "b"]),
        ]);
        let ctx = Context {
            periods: PeriodConfig::starting_on(15).unwrap(),
            areas: &areas,
            receipts: &receipts,
            age_year: 2026,
        };
        let c = contributions(&h, &ctx);
        let all = Breakdown::All;
        // 2026-11-16 and 2026-11-20 are in the period 2026-12 (15th to 14th).
        assert_eq!(
            count(&c, Indicator::Visits, Basis::Period(p("2026-12")), &all),
            2
        );
        assert_eq!(
            count(&c, Indicator::Visits, Basis::Period(p("2026-10")), &all),
            1
        );
        assert_eq!(
            count(&c, Indicator::Visits, Basis::Period(p("2027-12")), &all),
            0
        );
        let reasons: Vec<_> = c
            .reviews
            .iter()
            .map(|r| (r.visit_id.as_deref(), r.reason, r.counted_in))
            .collect();
        assert!(reasons.contains(&(
            Some("future"),
            ReviewReason::DatedAfterReference,
            Some(p("2026-12"))
        )));
        assert!(reasons.contains(&(
            Some("reset"),
            ReviewReason::DatedLongBeforeReference,
            Some(p("2026-12"))
        )));
        // Phường Điện Biên (00019) was split: reported under Ba Đình, listed.
        assert!(reasons.contains(&(None, ReviewReason::LegacyCommune, None)));
        assert!(
            c.contributions
                .iter()
                .all(|x| x.key.area.commune == "00004")
        );

        // Two visits in 2026-12: the household counts once in that period, and
        // once in the running total, in the period it was first visited.
        let visited = Indicator::HouseholdsVisited;
        assert_eq!(count(&c, visited, Basis::Period(p("2026-12")), &all), 1);
        assert_eq!(count(&c, visited, Basis::Period(p("2026-10")), &all), 1);
        assert_eq!(count(&c, visited, Basis::First(p("2026-10")), &all), 1);
        assert_eq!(count(&c, visited, Basis::First(p("2026-12")), &all), 0);
        let elderly = Breakdown::TargetGroup {
            target_group: "elderly".into(),
        };
        assert_eq!(count(&c, visited, Basis::Period(p("2026-12")), &elderly), 1);
        // Person a was helped in both visits of 2026-12: once there.
        let vneid = Breakdown::Service {
            service: "vneid_activate".into(),
            outcome: "done".into(),
        };
        let people = Indicator::PeopleSupported;
        assert_eq!(count(&c, people, Basis::Period(p("2026-12")), &vneid), 1);
        assert_eq!(count(&c, people, Basis::Period(p("2026-10")), &vneid), 2);
        assert_eq!(count(&c, people, Basis::First(p("2026-10")), &vneid), 2);
        // Each visit counts once for each of its two volunteers.
        let lan = Breakdown::Volunteer {
            volunteer: "lan".into(),
        };
        assert_eq!(
            count(&c, Indicator::Visits, Basis::Period(p("2026-12")), &lan),
            2
        );
    }
}
