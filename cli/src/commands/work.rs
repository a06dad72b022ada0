//! `gocua todo` and `gocua summary`: the volunteer's day, offline, on the
//! device's own store. Periods are gocua-report's (as `gocua report` cuts them).

use field_core::catalogue::{OUTCOME, SERVICE};
use field_core::work::{
    ServiceCount, Suggestion, SummaryRequest, TodoItem, TodoList, TodoRequest, WorkSummary,
};
use gocua_report::{Period, PeriodConfig};
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::{Ctx, Names};
use crate::args::{SummaryArgs, TodoArgs};
use crate::error::{CliError, ReportOption};
use crate::i18n::{self, Lang, W};
use crate::output::{short, table};

fn bad(option: ReportOption, value: &str) -> CliError {
    CliError::ReportInput {
        option,
        value: value.to_string(),
    }
}

fn day_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `--today`, or today in Vietnam.
fn today(given: Option<&str>) -> Result<Date, CliError> {
    match given {
        Some(t) => Date::parse(
            t.trim(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(|_| bad(ReportOption::Today, t)),
        None => Ok(OffsetDateTime::now_utc()
            .to_offset(time::macros::offset!(+7))
            .date()),
    }
}

fn periods(start_day: &str) -> Result<PeriodConfig, CliError> {
    start_day
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|d| PeriodConfig::starting_on(d).ok())
        .ok_or_else(|| bad(ReportOption::PeriodsStartDay, start_day))
}

/// The names of services to offer, in the language.
fn offer_text(lang: Lang, names: &Names, suggestions: &[Suggestion]) -> String {
    suggestions
        .iter()
        .map(|s| names.name(lang, SERVICE, &s.service))
        .collect::<Vec<_>>()
        .join("; ")
}

fn reason_text(lang: Lang, r: &field_core::work::SuggestionReason) -> &str {
    match lang {
        Lang::Vi => &r.reason_vi,
        Lang::En => &r.reason_en,
    }
}

/// The "services to offer next" lines of `household show`: each service with
/// why.
pub fn offer_lines(lang: Lang, names: &Names, suggestions: &[Suggestion]) -> Vec<String> {
    if suggestions.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![format!("{}:", i18n::w(lang, W::OfferNext))];
    for s in suggestions {
        let why: Vec<&str> = s.reasons.iter().map(|r| reason_text(lang, r)).collect();
        lines.push(format!(
            "- {} — {}",
            names.name(lang, SERVICE, &s.service),
            why.join("; ")
        ));
    }
    lines
}

fn item_lines(lang: Lang, names: &Names, n: usize, item: &TodoItem) -> Vec<String> {
    let mut head = format!(
        "{n}. {}  {} – {}",
        short(&item.household_id),
        item.head_name,
        item.village_name
    );
    if !item.address.is_empty() {
        head.push_str(&format!(", {}", item.address));
    }
    if let Some(p) = &item.phone {
        head.push_str(&format!(" ({p})"));
    }
    let mut why = i18n::todo_reason(lang, &item.reason);
    if let Some(d) = &item.next_follow_up_on {
        why.push_str(&format!("; {}", i18n::next_follow_up(lang, d)));
    }
    let mut lines = vec![head, format!("   {why}")];
    if !item.suggestions.is_empty() {
        lines.push(format!(
            "   {}: {}",
            i18n::w(lang, W::OfferNext),
            offer_text(lang, names, &item.suggestions)
        ));
    }
    lines
}

pub fn todo(ctx: &Ctx, args: TodoArgs) -> Result<(), CliError> {
    let today = today(args.today.as_deref())?;
    let periods = periods(&args.periods_start_day)?;
    let (period_first_day, _) = periods.bounds(periods.period_of(today));
    let store = ctx.store()?;
    let list: TodoList = store.todo(TodoRequest {
        today: day_text(today),
        period_first_day: day_text(period_first_day),
        village: args.village,
        target_group: args.group,
        mine: args.mine,
        limit: args.limit,
    })?;
    if ctx.out.json {
        return ctx.out.json_value(&list);
    }
    let lang = ctx.lang();
    let names = Names::load(&store, &[SERVICE])?;
    let mut lines = vec![i18n::todo_heading(
        lang,
        &list.today,
        &list.period_first_day,
        &list.counts,
    )];
    if list.items.is_empty() {
        lines.push(i18n::w(lang, W::NothingToDo).to_string());
    }
    for (i, item) in list.items.iter().enumerate() {
        lines.extend(item_lines(lang, &names, i + 1, item));
    }
    let total = list.counts.total();
    if (list.items.len() as u64) < total {
        lines.push(i18n::todo_more(lang, list.items.len(), total));
    }
    ctx.out.lines(&lines)
}

#[derive(Debug, Serialize)]
struct ServiceOut {
    service: String,
    service_name: String,
    outcome: String,
    outcome_name: String,
    visits: u64,
}

/// The summary as `--json` gives it: the figures, the period, whose work,
/// services and outcomes named in the user's language.
#[derive(Debug, Serialize)]
struct SummaryOut {
    period: String,
    first_day: String,
    last_day: String,
    scope: &'static str,
    /// The volunteer's or the team's name.
    who: String,
    visits: u64,
    households_visited: u64,
    people_helped: u64,
    minutes: u64,
    follow_ups_set: u64,
    follow_ups_settled: u64,
    follow_ups_open: u64,
    services: Vec<ServiceOut>,
}

pub fn summary(ctx: &Ctx, args: SummaryArgs) -> Result<(), CliError> {
    let today = today(args.today.as_deref())?;
    let periods = periods(&args.periods_start_day)?;
    let period = match &args.period {
        Some(p) => Period::parse(p).map_err(|_| bad(ReportOption::Period, p))?,
        None => periods.period_of(today),
    };
    let (first, last) = periods.bounds(period);
    let mine = !args.team;
    let store = ctx.store()?;
    let identity = store.identity()?;
    let s: WorkSummary = store.work_summary(SummaryRequest {
        first_day: day_text(first),
        last_day: day_text(last),
        mine,
    })?;
    let lang = ctx.lang();
    let names = Names::load(&store, &[SERVICE, OUTCOME])?;
    let named = |c: &ServiceCount| ServiceOut {
        service: c.service.clone(),
        service_name: names.name(lang, SERVICE, &c.service),
        outcome: c.outcome.clone(),
        outcome_name: names.name(lang, OUTCOME, &c.outcome),
        visits: c.visits,
    };
    let out = SummaryOut {
        period: period.to_string(),
        first_day: s.first_day.clone(),
        last_day: s.last_day.clone(),
        scope: if mine { "mine" } else { "team" },
        who: if mine {
            identity.volunteer_name.clone()
        } else {
            identity.team_name.clone()
        },
        visits: s.visits,
        households_visited: s.households_visited,
        people_helped: s.people_helped,
        minutes: s.minutes,
        follow_ups_set: s.follow_ups_set,
        follow_ups_settled: s.follow_ups_settled,
        follow_ups_open: s.follow_ups_open,
        services: s.services.iter().map(named).collect(),
    };
    ctx.out.emit(&out, || {
        let l = |x: W| i18n::w(lang, x);
        let mut lines = vec![i18n::summary_heading(
            lang,
            mine,
            &out.who,
            &out.period,
            &out.first_day,
            &out.last_day,
        )];
        let figures: Vec<Vec<String>> = [
            (W::Visits, out.visits),
            (W::HouseholdsVisited, out.households_visited),
            (W::PeopleHelped, out.people_helped),
            (W::Minutes, out.minutes),
            (W::FollowUpsSet, out.follow_ups_set),
            (W::FollowUpsSettled, out.follow_ups_settled),
            (W::FollowUpsOpen, out.follow_ups_open),
        ]
        .iter()
        .map(|(label, n)| vec![l(*label).to_string(), n.to_string()])
        .collect();
        lines.extend(table(&[l(W::Figure), l(W::Number)], &figures));
        lines.push(String::new());
        lines.push(format!("{}:", l(W::ByServiceAndOutcome)));
        if out.services.is_empty() {
            lines.push(l(W::NoServicesGiven).to_string());
        } else {
            let rows: Vec<Vec<String>> = out
                .services
                .iter()
                .map(|c| {
                    vec![
                        c.service_name.clone(),
                        c.outcome_name.clone(),
                        c.visits.to_string(),
                    ]
                })
                .collect();
            lines.extend(table(&[l(W::Service), l(W::Outcome), l(W::Count)], &rows));
        }
        lines
    })
}
