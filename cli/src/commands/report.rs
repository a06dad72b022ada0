//! `gocua report`: the indicators over this device's own households, offline,
//! for the team leader; computed by gocua-report, as the server computes them.

use field_core::Store;
use gocua_report::{
    Account, AgeBand, Answer, AreaIndex, Breakdown, Context, Figure, Indicator, Level, Period,
    PeriodConfig, Receipts, Report, Request, Roster, RosterTeam, RosterVillage, Totals, UnitReport,
};
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::{Ctx, Names};
use crate::args::ReportArgs;
use crate::error::{CliError, ReportOption};
use crate::i18n::{self, Lang, R};
use crate::output::{short, table};

/// Households read per page: a village of a few thousand is never in memory
/// at once, only its contributions (a few dozen small counts each).
const PAGE: u32 = 200;

#[derive(Debug, Serialize)]
struct ReportOut {
    #[serde(flatten)]
    report: Report,
    /// Documents that did not read as a household: in no figure.
    unreadable: Vec<String>,
}

struct Options {
    request: Request,
    json: bool,
}

fn bad(option: ReportOption, value: &str) -> CliError {
    CliError::ReportInput {
        option,
        value: value.to_string(),
    }
}

fn today_in_vietnam() -> Date {
    OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+7))
        .date()
}

/// Every option checked before the store is opened, so bad input changes nothing.
fn options(args: &ReportArgs, json: bool) -> Result<Options, CliError> {
    let start_day: i64 = args
        .periods_start_day
        .trim()
        .parse()
        .map_err(|_| bad(ReportOption::PeriodsStartDay, &args.periods_start_day))?;
    let periods = PeriodConfig::starting_on(start_day)
        .map_err(|_| bad(ReportOption::PeriodsStartDay, &args.periods_start_day))?;
    let level = Level::parse(&args.level).ok_or_else(|| bad(ReportOption::Level, &args.level))?;
    let json = match args.format.trim() {
        "table" => json,
        "json" => true,
        _ => return Err(bad(ReportOption::Format, &args.format)),
    };
    let today = match &args.today {
        Some(t) => Date::parse(
            t.trim(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(|_| bad(ReportOption::Today, t))?,
        None => today_in_vietnam(),
    };
    let period = match &args.period {
        Some(p) => Period::parse(p).map_err(|_| bad(ReportOption::Period, p))?,
        None => periods.period_of(today),
    };
    Ok(Options {
        request: Request {
            period,
            periods,
            level,
            today,
        },
        json,
    })
}

pub fn run(ctx: &Ctx, args: ReportArgs) -> Result<(), CliError> {
    let Options { request, json } = options(&args, ctx.out.json)?;
    let store = ctx.store()?;
    let identity = store.identity()?;
    let areas = AreaIndex::embedded()
        .map_err(|e| CliError::Core(field_core::Error::Reference(e.to_string())))?;
    let roster = Roster {
        // Trainings are the server's records, not known on a device.
        trainings: None,
        villages: identity
            .villages
            .iter()
            .map(|v| RosterVillage {
                id: v.id.clone(),
                commune_code: v.commune_code.clone(),
                team_id: Some(identity.team_id.clone()),
            })
            .collect(),
        // A device knows its own volunteer, not its team's other members.
        teams: vec![RosterTeam {
            id: identity.team_id.clone(),
            volunteers: None,
        }],
    };
    let (totals, reviews, unreadable) = sum_store(&store, &areas, &roster, &request)?;
    let report = gocua_report::build(&totals, &roster, &areas, &request, reviews);
    let out = ReportOut { report, unreadable };
    if json {
        return ctx.out.json_value(&out);
    }
    let names = Names::load(&store, &["service", "outcome", "target_group"])?;
    let lang = ctx.lang();
    let mut lines = vec![i18n::report_heading(
        lang,
        &out.report.period.to_string(),
        &out.report.first_day,
        &out.report.last_day,
        level_label(lang, request.level),
        &out.report.today,
    )];
    for unit in &out.report.units {
        lines.push(String::new());
        lines.push(unit_name(lang, unit, request.level, &identity, &areas));
        lines.extend(table(
            &[
                i18n::r(lang, R::Indicator),
                i18n::r(lang, R::InPeriod),
                i18n::r(lang, R::ToDate),
            ],
            &rows(lang, unit, &names, &identity),
        ));
    }
    lines.push(String::new());
    lines.push(format!(
        "{}: {}",
        i18n::r(lang, R::ToReview),
        out.report.reviews.len()
    ));
    for r in &out.report.reviews {
        lines.push(format!(
            "  {} {} {}: {} ({})",
            short(&r.household_id),
            r.visit_id.as_deref().map(short).unwrap_or(""),
            i18n::review_reason(lang, r.reason),
            r.value,
            r.counted_in.map(|p| p.to_string()).unwrap_or_default(),
        ));
    }
    if !out.unreadable.is_empty() {
        lines.push(format!(
            "{}: {}",
            i18n::r(lang, R::Unreadable),
            out.unreadable.join(", ")
        ));
    }
    ctx.out.lines(&lines)
}

/// Reads the store page by page and sums each household's contributions.
fn sum_store(
    store: &Store,
    areas: &AreaIndex,
    roster: &Roster,
    request: &Request,
) -> Result<(Totals, Vec<gocua_report::Review>, Vec<String>), CliError> {
    let teams = roster.village_teams();
    let receipts = Receipts::default();
    let context = Context {
        periods: request.periods,
        areas,
        receipts: &receipts,
        age_year: request.period.year(),
    };
    let mut totals = Totals::new(request.level);
    let mut reviews = Vec::new();
    let mut unreadable = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.households_page(after.as_deref(), PAGE)?;
        for h in &page.households {
            let c = gocua_report::contributions(h, &context);
            for contribution in &c.contributions {
                totals.add(&teams, contribution);
            }
            reviews.extend(c.reviews);
        }
        unreadable.extend(page.unreadable);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok((totals, reviews, unreadable))
}

fn level_label(lang: Lang, level: Level) -> &'static str {
    i18n::r(
        lang,
        match level {
            Level::Team => R::LevelTeam,
            Level::Village => R::LevelVillage,
            Level::Commune => R::LevelCommune,
            Level::Province => R::LevelProvince,
            Level::National => R::LevelNational,
        },
    )
}

fn unit_name(
    lang: Lang,
    unit: &UnitReport,
    level: Level,
    identity: &field_core::Identity,
    areas: &AreaIndex,
) -> String {
    let code = unit.unit.as_str();
    let name = match level {
        Level::Village => identity
            .villages
            .iter()
            .find(|v| v.id == code)
            .map(|v| v.name.clone()),
        Level::Team => (code == identity.team_id).then(|| identity.team_name.clone()),
        Level::Commune => areas.commune_name(code).map(str::to_string),
        Level::Province => areas.province_name(code).map(str::to_string),
        Level::National => Some(i18n::r(lang, R::Nationwide).to_string()),
    };
    match name {
        Some(n) if level == Level::Village || level == Level::Team => n,
        Some(n) => format!("{n} ({code})"),
        None if code.is_empty() => i18n::r(lang, R::UnknownUnit).to_string(),
        None => format!("{} {}", i18n::r(lang, R::OtherUnit), short(code)),
    }
}

fn count(n: Option<u64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_else(|| "—".to_string())
}

fn pct(p: Option<f64>) -> String {
    p.map(|p| format!("{p:.1}%"))
        .unwrap_or_else(|| "—".to_string())
}

fn rows(
    lang: Lang,
    unit: &UnitReport,
    names: &Names,
    identity: &field_core::Identity,
) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = |label: String, period: String, total: String| {
        rows.push(vec![label, period, total]);
    };
    let all = Breakdown::All;
    let figure = |i: Indicator, b: &Breakdown| unit.figure(i, b);
    let pair = |f: Option<&Figure>| match f {
        Some(f) => (count(f.period), f.running_total.to_string()),
        None => ("0".to_string(), "0".to_string()),
    };
    let (p, t) = pair(figure(Indicator::HouseholdsRegistered, &all));
    row(i18n::r(lang, R::HouseholdsRegistered).into(), p, t);
    let (p, t) = pair(figure(Indicator::HouseholdsVisited, &all));
    row(i18n::r(lang, R::HouseholdsVisited).into(), p, t);
    row(
        i18n::r(lang, R::Reached).into(),
        pct(unit.reached_in_period.pct),
        pct(unit.reached_to_date.pct),
    );
    let (p, t) = pair(figure(Indicator::Visits, &all));
    row(i18n::r(lang, R::Visits).into(), p, t);
    let (replaced_p, replaced_t) = unit.feature_phones_replaced();
    row(
        i18n::r(lang, R::FeaturePhonesReplaced).into(),
        replaced_p.to_string(),
        replaced_t.to_string(),
    );
    // Breakdowns with nothing to the end of the period are left out of the
    // table (JSON keeps every figure); services given are in JSON only.
    for f in unit
        .figures
        .iter()
        .filter(|f| f.running_total > 0 || f.period.is_some_and(|n| n > 0))
    {
        let label = match (&f.indicator, &f.breakdown) {
            (Indicator::PeopleSupported, Breakdown::Service { service, outcome }) => format!(
                "{}: {} – {}",
                i18n::r(lang, R::PeopleSupported),
                names.name(lang, "service", service),
                names.name(lang, "outcome", outcome)
            ),
            (Indicator::HouseholdsRegistered, Breakdown::TargetGroup { target_group }) => format!(
                "{}: {}",
                i18n::r(lang, R::HouseholdsRegistered),
                names.name(lang, "target_group", target_group)
            ),
            (Indicator::HouseholdsVisited, Breakdown::TargetGroup { target_group }) => format!(
                "{}: {}",
                i18n::r(lang, R::HouseholdsVisited),
                names.name(lang, "target_group", target_group)
            ),
            (Indicator::Visits, Breakdown::Volunteer { volunteer }) => {
                let who = if *volunteer == identity.volunteer_id {
                    identity.volunteer_name.clone()
                } else {
                    short(volunteer).to_string()
                };
                format!("{}: {who}", i18n::r(lang, R::VisitsBy))
            }
            _ => continue,
        };
        row(label, count(f.period), f.running_total.to_string());
    }
    let now = |n: u64| ("—".to_string(), n.to_string());
    let persons_total: u64 = [AgeBand::WorkingAge, AgeBand::OtherAges, AgeBand::AgeUnknown]
        .iter()
        .filter_map(|&age| figure(Indicator::Persons, &Breakdown::Age { age }))
        .map(|f| f.running_total)
        .sum();
    let (p, t) = now(persons_total);
    row(i18n::r(lang, R::Persons).into(), p, t);
    for &account in Account::ALL {
        let yes = unit.account(account);
        let asked = yes
            + figure(
                Indicator::Accounts,
                &Breakdown::Account {
                    account,
                    answer: Answer::No,
                },
            )
            .map(|f| f.running_total)
            .unwrap_or(0);
        row(
            i18n::account(lang, account).to_string(),
            "—".into(),
            format!("{yes}/{asked}"),
        );
    }
    let smartphone = figure(
        Indicator::HouseholdsByDevice,
        &Breakdown::Device {
            device_access: "smartphone".into(),
        },
    )
    .map(|f| f.running_total)
    .unwrap_or(0);
    let (p, t) = now(smartphone);
    row(i18n::r(lang, R::Smartphone).into(), p, t);
    let dc = unit.digital_citizens;
    row(
        i18n::r(lang, R::DigitalCitizens).into(),
        "—".into(),
        format!(
            "{}/{} = {} ({} {:.0}%)",
            dc.part,
            dc.whole,
            pct(dc.pct),
            i18n::r(lang, R::Target),
            unit.digital_citizens_target_pct
        ),
    );
    let (p, t) = now(unit.follow_ups.due);
    row(i18n::r(lang, R::FollowUpsDue).into(), p, t);
    let (p, t) = now(unit.follow_ups.overdue);
    row(i18n::r(lang, R::FollowUpsOverdue).into(), p, t);
    let r = &unit.roster;
    row(
        i18n::r(lang, R::VillagesWithTeam).into(),
        "—".into(),
        format!("{}/{}", r.villages_with_team, r.villages),
    );
    row(
        i18n::r(lang, R::Teams).into(),
        "—".into(),
        r.teams.to_string(),
    );
    row(
        i18n::r(lang, R::Volunteers).into(),
        "—".into(),
        count(r.volunteers),
    );
    rows
}
