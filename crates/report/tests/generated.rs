//! Indicators over generated villages against counts made here, from the
//! generator's own records, without gocua-report: the report reads the
//! households back from a real store, this test reads what was written.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test

use std::collections::{BTreeMap, BTreeSet};

use field_core::{InitRequest, Store};
use gocua_report::{
    Account, AgeBand, AreaIndex, Breakdown, Context, Indicator, Level, Period, PeriodConfig,
    Receipts, Request, Roster, Totals, contributions,
};
use gocua_village_gen::{HouseholdRecord, generate, write_record};
use time::macros::date;

const YEAR: i32 = 2026;

/// The reporting period of a Vietnam day `YYYY-MM-DD`, periods starting on
/// `start`: counted by hand.
fn period_by_hand(day: &str, start: u32) -> String {
    let y: i32 = day[0..4].parse().unwrap();
    let m: u32 = day[5..7].parse().unwrap();
    let d: u32 = day[8..10].parse().unwrap();
    let (y, m) = if start > 1 && d >= start {
        if m == 12 { (y + 1, 1) } else { (y, m + 1) }
    } else {
        (y, m)
    };
    format!("{y:04}-{m:02}")
}

struct Village {
    records: Vec<HouseholdRecord>,
}

fn setup(seed: u64, n: usize) -> (tempfile::TempDir, Store, BTreeMap<String, Village>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path().join("s.sqlite"),
        &field_core::StoreKey::Unencrypted,
    )
    .unwrap();
    let names: Vec<String> = ["Thôn Đông", "Thôn Tây", "Xóm Chợ"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let ident = store
        .init(InitRequest {
            volunteer_name: "Nguyễn Thị Lan".into(),
            volunteer_phone: None,
            team_name: "Tổ CNSCĐ".into(),
            commune_code: "00097".into(),
            village_names: names.clone(),
        })
        .unwrap();
    let mut villages: BTreeMap<String, Village> = BTreeMap::new();
    for rec in generate(seed, &names, n) {
        write_record(&store, &rec).unwrap();
        let id = ident
            .villages
            .iter()
            .find(|v| v.name == rec.household.village)
            .unwrap()
            .id
            .clone();
        villages
            .entry(id)
            .or_insert_with(|| Village {
                records: Vec::new(),
            })
            .records
            .push(rec);
    }
    (dir, store, villages)
}

fn totals(store: &Store, level: Level, periods: PeriodConfig) -> Totals {
    let areas = AreaIndex::embedded().unwrap();
    let receipts = Receipts::default();
    let ctx = Context {
        periods,
        areas: &areas,
        receipts: &receipts,
        age_year: YEAR,
    };
    let mut t = Totals::new(level);
    let teams = Default::default();
    let mut after = None;
    loop {
        let page = store.households_page(after.as_deref(), 64).unwrap();
        assert!(page.unreadable.is_empty());
        for h in &page.households {
            let c = contributions(h, &ctx);
            assert!(c.reviews.is_empty(), "{:?}", c.reviews);
            for x in &c.contributions {
                t.add(&teams, x);
            }
        }
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    t
}

/// What this test counts itself, for one set of records and one period.
#[derive(Debug, Default, PartialEq, Eq)]
struct Expected {
    visits: u64,
    households_visited: u64,
    households_visited_to_date: u64,
    people_supported: BTreeMap<(String, String), u64>,
    people_supported_to_date: BTreeMap<(String, String), u64>,
    persons_working_age: u64,
    digital_citizens_working_age: u64,
    vneid_registered: u64,
    vneid_activated: u64,
    follow_ups_open: BTreeMap<String, u64>,
}

fn expected<'r>(
    records: impl Iterator<Item = &'r HouseholdRecord>,
    p: &str,
    start: u32,
) -> Expected {
    let mut e = Expected::default();
    for rec in records {
        let mut periods = BTreeSet::new();
        let mut supported = BTreeSet::new();
        let mut supported_ever = BTreeSet::new();
        for v in &rec.visits {
            let at = v.visit.visited_at.as_deref().unwrap();
            let vp = period_by_hand(&at[..10], start);
            periods.insert(vp.clone());
            for s in &v.visit.services {
                for i in &v.member_indexes {
                    if vp.as_str() == p {
                        supported.insert((s.service.clone(), s.outcome.clone(), *i));
                    }
                    if vp.as_str() <= p {
                        supported_ever.insert((s.service.clone(), s.outcome.clone(), *i));
                    }
                }
            }
            if vp == p {
                e.visits += 1;
            }
        }
        e.households_visited += u64::from(periods.contains(p));
        e.households_visited_to_date += u64::from(periods.iter().any(|x| x.as_str() <= p));
        for (s, o, _) in supported {
            *e.people_supported.entry((s, o)).or_default() += 1;
        }
        for (s, o, _) in supported_ever {
            *e.people_supported_to_date.entry((s, o)).or_default() += 1;
        }
        let smartphone = rec.household.device_access.as_deref() == Some("smartphone");
        for m in &rec.members {
            let working = m
                .birth_year
                .is_some_and(|b| (15..=59).contains(&(i64::from(YEAR) - b)));
            let k = &m.skills;
            if working {
                e.persons_working_age += 1;
                if k.vneid_activated == Some(true)
                    && smartphone
                    && k.bank_account == Some(true)
                    && k.basic_skills_certified == Some(true)
                {
                    e.digital_citizens_working_age += 1;
                }
            }
            if matches!(
                k.vneid_level.as_deref(),
                Some("registered" | "level1" | "level2")
            ) {
                e.vneid_registered += 1;
            }
            if k.vneid_activated == Some(true) {
                e.vneid_activated += 1;
            }
        }
        // A follow-up is open unless a visit on a later day came after it.
        let days: Vec<&str> = rec
            .visits
            .iter()
            .map(|v| &v.visit.visited_at.as_deref().unwrap()[..10])
            .collect();
        for (v, day) in rec.visits.iter().zip(&days) {
            if let Some(f) = &v.visit.follow_up_on
                && !days.iter().any(|d| d > day)
            {
                *e.follow_ups_open.entry(f.clone()).or_default() += 1;
            }
        }
    }
    e
}

fn actual(t: &Totals, unit: &str, p: Period) -> Expected {
    let all = Breakdown::All;
    let mut e = Expected {
        visits: t.in_period(unit, Indicator::Visits, &all, p).unwrap(),
        households_visited: t
            .in_period(unit, Indicator::HouseholdsVisited, &all, p)
            .unwrap(),
        households_visited_to_date: t.running_total(unit, Indicator::HouseholdsVisited, &all, p),
        ..Expected::default()
    };
    for b in t.breakdowns(unit, Indicator::PeopleSupported) {
        let Breakdown::Service { service, outcome } = b else {
            panic!("{b:?}")
        };
        let key = (service.clone(), outcome.clone());
        let n = t.in_period(unit, Indicator::PeopleSupported, b, p).unwrap();
        if n > 0 {
            e.people_supported.insert(key.clone(), n);
        }
        let n = t.running_total(unit, Indicator::PeopleSupported, b, p);
        if n > 0 {
            e.people_supported_to_date.insert(key, n);
        }
    }
    let working = Breakdown::Age {
        age: AgeBand::WorkingAge,
    };
    e.persons_working_age = t.running_total(unit, Indicator::Persons, &working, p);
    e.digital_citizens_working_age = t.running_total(unit, Indicator::DigitalCitizens, &working, p);
    let yes = |account| Breakdown::Account {
        account,
        answer: gocua_report::Answer::Yes,
    };
    e.vneid_registered =
        t.running_total(unit, Indicator::Accounts, &yes(Account::VneidRegistered), p);
    e.vneid_activated =
        t.running_total(unit, Indicator::Accounts, &yes(Account::VneidActivated), p);
    for b in t.breakdowns(unit, Indicator::FollowUpsOpen) {
        let Breakdown::FollowUpOn { day } = b else {
            panic!("{b:?}")
        };
        e.follow_ups_open.insert(
            day.clone(),
            t.running_total(unit, Indicator::FollowUpsOpen, b, p),
        );
    }
    e
}

#[test]
fn village_and_national_figures_match_counts_made_from_the_generated_records() {
    let (_dir, store, villages) = setup(7, 240);
    for start in [1u32, 15] {
        let periods = PeriodConfig::starting_on(i64::from(start)).unwrap();
        let by_village = totals(&store, Level::Village, periods);
        let national = totals(&store, Level::National, periods);
        for p in ["2026-01", "2026-06", "2026-11", "2026-12"] {
            let period = Period::parse(p).unwrap();
            for (id, v) in &villages {
                assert_eq!(
                    actual(&by_village, id, period),
                    expected(v.records.iter(), p, start),
                    "village {id}, period {p}, start day {start}"
                );
            }
            let every = villages.values().flat_map(|v| v.records.iter());
            let want = expected(every, p, start);
            assert!(want.visits > 0 || p == "2026-12");
            assert_eq!(
                actual(&national, "VN", period),
                want,
                "national, {p}, {start}"
            );
        }
    }
}

#[test]
fn the_report_reads_the_sums_as_ratios_and_follow_ups_due() {
    let (_dir, store, villages) = setup(11, 90);
    let periods = PeriodConfig::CALENDAR_MONTH;
    let t = totals(&store, Level::National, periods);
    let req = Request {
        period: Period::parse("2026-11").unwrap(),
        periods,
        level: Level::National,
        today: date!(2026 - 10 - 01),
    };
    let report = gocua_report::build(
        &t,
        &Roster::default(),
        &AreaIndex::embedded().unwrap(),
        &req,
        Vec::new(),
    );
    assert_eq!(report.units.len(), 1);
    let u = &report.units[0];
    let records: Vec<&HouseholdRecord> = villages.values().flat_map(|v| v.records.iter()).collect();
    let e = expected(records.iter().copied(), "2026-11", 1);
    // Every generated household was registered today (2026 or later): by the
    // end of 2026-11 the to-date denominator is those registered by then.
    let registered = u
        .figure(Indicator::HouseholdsRegistered, &Breakdown::All)
        .map(|f| f.running_total)
        .unwrap_or(0);
    assert_eq!(u.reached_to_date.part, e.households_visited_to_date);
    assert_eq!(u.reached_to_date.whole, registered);
    assert_eq!(u.digital_citizens.part, e.digital_citizens_working_age);
    assert_eq!(u.digital_citizens.whole, e.persons_working_age);
    let (mut due, mut overdue) = (0, 0);
    for (day, n) in &e.follow_ups_open {
        if day.as_str() < "2026-10-01" {
            overdue += n;
        } else if day.as_str() <= "2026-10-08" {
            due += n;
        }
    }
    assert_eq!((u.follow_ups.due, u.follow_ups.overdue), (due, overdue));
    assert!(
        overdue > 0,
        "the generated follow-ups should include overdue ones"
    );
}
