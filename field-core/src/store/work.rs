//! The volunteer's day on the projection: the to-do list, the work summary and
//! the services to offer next (`crate::work`). SQL over the projection tables,
//! never the documents, so a village of thousands of households answers at
//! once.
//!
//! Every query starts from [`COUNTED`]: the households, members and visits
//! that count. Records that stay in their document but must leave the lists
//! and counts (a visit cancelled, a member removed, a household registered in
//! error) are filtered there, and only there.

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::Date;

use super::{Store, query};
use crate::catalogue;
use crate::error::{Error, Field, Problem, Result};
use crate::model::Skills;
use crate::model::VneidLevel;
use crate::work::*;

/// The rows that count, as common table expressions (`counted_households`,
/// `counted_members`, `counted_visits`). NOT MATERIALIZED: each is a filter
/// SQLite folds into the query, so the tables' indexes still serve it.
const COUNTED: &str = "WITH
    counted_households AS NOT MATERIALIZED
        (SELECT * FROM households WHERE in_error_at IS NULL AND merged_into IS NULL),
    counted_members AS NOT MATERIALIZED (SELECT * FROM persons WHERE removed_at IS NULL),
    counted_visits AS NOT MATERIALIZED (SELECT * FROM visits WHERE cancelled_at IS NULL
        AND household_id IN (SELECT id FROM households WHERE in_error_at IS NULL AND merged_into IS NULL))";

/// A visit's Vietnam day, `YYYY-MM-DD` (NULL when its time does not read).
fn day_of(column: &str) -> String {
    format!("date({column}, '+7 hours')")
}

/// A visit of volunteer `?param`: recorded by them or with them on it.
fn mine(alias: &str, param: &str) -> String {
    format!(
        "({alias}.recorded_by = {param} OR instr(',' || {alias}.volunteer_ids || ',', ',' || {param} || ',') > 0)"
    )
}

/// Follow-up days as written by gocua; another implementation's malformed
/// day is neither due nor overdue (as in the report).
const WELL_FORMED_DAY: &str = "GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'";

fn parse_day(field: Field, text: &str) -> Result<Date> {
    Date::parse(
        text.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| Error::invalid(field, text, Problem::BadDate))
}

fn day_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// What the to-do list knows of one household before it is classified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Standing {
    /// The Vietnam day of its last counted visit.
    pub last_visit_on: Option<Date>,
    /// The earliest follow-up of the visits on that day (the ones no later
    /// visit has settled), of this volunteer's visits only with `mine`.
    pub open_follow_up: Option<Date>,
    /// One of the visits on that day is this volunteer's.
    pub last_visit_mine: bool,
}

/// Why a household is on the list on `today`, or `None` when it is not.
pub(crate) fn classify(
    s: &Standing,
    today: Date,
    period_first_day: Date,
    mine: bool,
) -> Option<TodoReason> {
    if let Some(f) = s.open_follow_up {
        if f < today {
            return Some(TodoReason::Overdue {
                follow_up_on: day_text(f),
                days: (today - f).whole_days(),
            });
        }
        if f == today {
            return Some(TodoReason::Due {
                follow_up_on: day_text(f),
            });
        }
    }
    match s.last_visit_on {
        None if !mine => Some(TodoReason::NeverVisited),
        None => None,
        Some(last) if last < period_first_day && (!mine || s.last_visit_mine) => {
            Some(TodoReason::NotVisitedThisPeriod {
                last_visit_on: day_text(last),
            })
        }
        Some(_) => None,
    }
}

struct Candidate {
    item: TodoItem,
    created_at: String,
    head_key: Vec<u8>,
    target_groups: String,
    device_access: Option<String>,
}

fn flag(v: Option<i64>) -> Option<bool> {
    v.map(|n| n != 0)
}

/// The facts the rules read of one household.
fn facts(
    conn: &Connection,
    household_id: &str,
    target_groups: &str,
    device_access: Option<String>,
) -> Result<HouseholdFacts> {
    let members = conn
        .prepare_cached(&format!(
            "{COUNTED} SELECT birth_year, vneid_level, vneid_activated, bank_account,
                public_service_account, ehealth_book, digital_signature, basic_skills_certified
             FROM counted_members WHERE household_id = ?1"
        ))?
        .query_map([household_id], |r| {
            Ok(MemberFacts {
                birth_year: r.get(0)?,
                skills: Skills {
                    vneid_level: r
                        .get::<_, Option<String>>(1)?
                        .as_deref()
                        .and_then(VneidLevel::parse),
                    vneid_activated: flag(r.get(2)?),
                    bank_account: flag(r.get(3)?),
                    public_service_account: flag(r.get(4)?),
                    ehealth_book: flag(r.get(5)?),
                    digital_signature: flag(r.get(6)?),
                    basic_skills_certified: flag(r.get(7)?),
                },
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let services_done = conn
        .prepare_cached(&format!(
            "{COUNTED} SELECT DISTINCT s.service_code FROM visit_services s
             JOIN counted_visits v ON v.id = s.visit_id
             WHERE s.household_id = ?1 AND s.outcome = ?2"
        ))?
        .query_map(params![household_id, gocua_household::suggest::DONE], |r| {
            r.get(0)
        })?
        .collect::<Result<BTreeSet<String>, _>>()?;
    Ok(HouseholdFacts {
        target_groups: target_groups
            .split(',')
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect(),
        device_access,
        members,
        services_done,
    })
}

impl Store {
    /// Whom to visit next: follow-ups due today and overdue, households never
    /// visited, households not visited this period; each with the services
    /// worth offering. Households in villages this device does not serve
    /// (moved away) are not its volunteers' to visit.
    pub fn todo(&self, req: TodoRequest) -> Result<TodoList> {
        let g = self.lock();
        let ident = g.identity.as_ref().ok_or(Error::NotInitialized)?;
        let today = parse_day(Field::Value, &req.today)?;
        let period_first_day = parse_day(Field::Value, &req.period_first_day)?;
        let village = match req.village.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => Some(query::resolve_village(ident, v)?.id),
            _ => None,
        };
        let group = match req.target_group.as_deref().map(str::trim) {
            Some(c) if !c.is_empty() => Some(catalogue::check(
                &g.conn,
                catalogue::TARGET_GROUP,
                Field::TargetGroup,
                c,
            )?),
            _ => None,
        };
        let me = req.mine.then(|| ident.volunteer_id.clone());
        let conn = &g.conn;
        let vday = day_of("v.visited_at");
        let mine_v = mine("v", "?3");
        let sql = format!(
            "{COUNTED},
             last AS (
                SELECT household_id, MAX({day}) AS day FROM counted_visits GROUP BY household_id
             ),
             open AS (
                SELECT v.household_id,
                    MIN(CASE WHEN v.follow_up_on {WELL_FORMED_DAY} AND (?3 IS NULL OR {mine_v})
                        THEN v.follow_up_on END) AS follow_up_on,
                    MAX(CASE WHEN ?3 IS NOT NULL AND {mine_v} THEN 1 ELSE 0 END) AS mine
                FROM counted_visits v JOIN last l ON l.household_id = v.household_id AND {vday} = l.day
                GROUP BY v.household_id
             )
             SELECT h.id, h.head_name, h.village_id, vil.name, h.address, h.phone, h.created_at,
                h.head_key, h.target_groups, h.device_access, l.day, o.follow_up_on, COALESCE(o.mine, 0)
             FROM counted_households h
             JOIN villages vil ON vil.id = h.village_id
             LEFT JOIN last l ON l.household_id = h.id
             LEFT JOIN open o ON o.household_id = h.id
             WHERE (?1 IS NULL OR h.village_id = ?1)
               AND (?2 IS NULL OR instr(',' || h.target_groups || ',', ',' || ?2 || ',') > 0)",
            day = day_of("visited_at"),
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![village, group, me])?;
        let mut counts = TodoCounts::default();
        let mut listed: Vec<Candidate> = Vec::new();
        while let Some(r) = rows.next()? {
            let last: Option<String> = r.get(10)?;
            let follow_up: Option<String> = r.get(11)?;
            let standing = Standing {
                last_visit_on: last.and_then(|d| parse_day(Field::Value, &d).ok()),
                open_follow_up: follow_up.and_then(|d| parse_day(Field::Value, &d).ok()),
                last_visit_mine: r.get::<_, i64>(12)? != 0,
            };
            let Some(reason) = classify(&standing, today, period_first_day, req.mine) else {
                continue;
            };
            match reason {
                TodoReason::Overdue { .. } => counts.overdue += 1,
                TodoReason::Due { .. } => counts.due += 1,
                TodoReason::NeverVisited => counts.never_visited += 1,
                TodoReason::NotVisitedThisPeriod { .. } => counts.not_visited_this_period += 1,
            }
            let next_follow_up_on = standing.open_follow_up.filter(|f| *f > today).map(day_text);
            listed.push(Candidate {
                item: TodoItem {
                    household_id: r.get(0)?,
                    head_name: r.get(1)?,
                    village_id: r.get(2)?,
                    village_name: r.get(3)?,
                    address: r.get(4)?,
                    phone: r.get(5)?,
                    reason,
                    follow_up_visit_id: None,
                    next_follow_up_on,
                    suggestions: Vec::new(),
                },
                created_at: r.get(6)?,
                head_key: r.get(7)?,
                target_groups: r.get(8)?,
                device_access: r.get(9)?,
            });
        }
        drop(rows);
        // Most urgent first; among the never visited, the longest registered.
        listed.sort_by(|a, b| {
            let never = |c: &Candidate| match c.item.reason {
                TodoReason::NeverVisited => c.created_at.clone(),
                _ => String::new(),
            };
            a.item
                .reason
                .cmp(&b.item.reason)
                .then_with(|| never(a).cmp(&never(b)))
                .then_with(|| a.head_key.cmp(&b.head_key))
                .then_with(|| a.item.household_id.cmp(&b.item.household_id))
        });
        listed.truncate(req.limit as usize);
        let rules = catalogue::suggestion_rules(conn)?;
        let year = i64::from(today.year());
        let mut follow_up_visit = conn.prepare_cached(&format!(
            "{COUNTED} SELECT v.id FROM counted_visits v
             WHERE v.household_id = ?1 AND v.follow_up_on = ?2 AND (?3 IS NULL OR {mine_v})
             ORDER BY v.visited_at DESC, v.id LIMIT 1"
        ))?;
        let mut items = Vec::with_capacity(listed.len());
        for c in listed {
            let mut item = c.item;
            if let TodoReason::Overdue { follow_up_on, .. } | TodoReason::Due { follow_up_on } =
                &item.reason
            {
                item.follow_up_visit_id = follow_up_visit
                    .query_row(params![item.household_id, follow_up_on, me], |r| r.get(0))
                    .optional()?;
            }
            let f = facts(conn, &item.household_id, &c.target_groups, c.device_access)?;
            item.suggestions = gocua_household::suggest::suggest(&rules, &f, year);
            items.push(item);
        }
        Ok(TodoList {
            today: day_text(today),
            period_first_day: day_text(period_first_day),
            counts,
            items,
        })
    }

    /// The services worth offering a household next, with the rules'
    /// reasons; ages are counted in `year`.
    pub fn suggestions(&self, household: &str, year: i64) -> Result<Vec<Suggestion>> {
        let g = self.lock();
        let id = query::resolve(&g.conn, crate::error::Kind::Household, household, None)?;
        let row: Option<(String, Option<String>)> = g
            .conn
            .prepare_cached(&format!(
                "{COUNTED} SELECT target_groups, device_access FROM counted_households WHERE id = ?1"
            ))?
            .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((groups, devices)) = row else {
            return Ok(Vec::new());
        };
        let rules = catalogue::suggestion_rules(&g.conn)?;
        let f = facts(&g.conn, &id, &groups, devices)?;
        Ok(gocua_household::suggest::suggest(&rules, &f, year))
    }

    /// The rules of which services to offer next, in their order.
    pub fn suggestion_rules(&self) -> Result<Vec<SuggestionRule>> {
        catalogue::suggestion_rules(&self.lock().conn)
    }

    /// Replaces the rules of which services to offer next (a province's own),
    /// checked against this store's catalogue first: a rule that cannot be
    /// used changes nothing.
    pub fn set_suggestion_rules(&self, rules: &[SuggestionRule]) -> Result<()> {
        let mut g = self.lock();
        let tx = g
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        catalogue::set_suggestion_rules(&tx, rules)?;
        tx.commit()?;
        Ok(())
    }

    /// What this device's volunteer (`mine`) or their team did between two
    /// days: visits, households, people, services by outcome, follow-ups.
    pub fn work_summary(&self, req: SummaryRequest) -> Result<WorkSummary> {
        let g = self.lock();
        let ident = g.identity.as_ref().ok_or(Error::NotInitialized)?;
        let first = day_text(parse_day(Field::Value, &req.first_day)?);
        let last = day_text(parse_day(Field::Value, &req.last_day)?);
        let conn = &g.conn;
        // `param` is the volunteer or the team, as the scope says.
        let scope = |alias: &str, param: &str| {
            if req.mine {
                mine(alias, param)
            } else {
                format!("{alias}.team_id = {param}")
            }
        };
        let who = if req.mine {
            &ident.volunteer_id
        } else {
            &ident.team_id
        };
        let in_period = |alias: &str| {
            format!(
                "{} BETWEEN ?1 AND ?2 AND {}",
                day_of(&format!("{alias}.visited_at")),
                scope(alias, "?3")
            )
        };
        let mut summary = WorkSummary {
            first_day: first.clone(),
            last_day: last.clone(),
            mine: req.mine,
            ..WorkSummary::default()
        };
        let mut households = BTreeSet::new();
        let mut people = BTreeSet::new();
        {
            let mut stmt = conn.prepare_cached(&format!(
                "{COUNTED} SELECT v.household_id, v.person_ids, v.duration_minutes, v.follow_up_on
                 FROM counted_visits v WHERE {}",
                in_period("v")
            ))?;
            let mut rows = stmt.query(params![first, last, who])?;
            while let Some(r) = rows.next()? {
                summary.visits += 1;
                households.insert(r.get::<_, String>(0)?);
                let persons: String = r.get(1)?;
                people.extend(
                    persons
                        .split(',')
                        .filter(|p| !p.is_empty())
                        .map(str::to_string),
                );
                let minutes: Option<i64> = r.get(2)?;
                summary.minutes += u64::try_from(minutes.unwrap_or(0)).unwrap_or(0);
                if r.get::<_, Option<String>>(3)?.is_some() {
                    summary.follow_ups_set += 1;
                }
            }
        }
        summary.households_visited = households.len() as u64;
        summary.people_helped = people.len() as u64;
        summary.services = conn
            .prepare_cached(&format!(
                "{COUNTED} SELECT s.service_code, s.outcome, COUNT(*)
                 FROM visit_services s JOIN counted_visits v ON v.id = s.visit_id
                 LEFT JOIN catalogue cs ON cs.kind = 'service' AND cs.code = s.service_code
                 LEFT JOIN catalogue co ON co.kind = 'outcome' AND co.code = s.outcome
                 WHERE {}
                 GROUP BY s.service_code, s.outcome
                 ORDER BY MIN(cs.position), s.service_code, MIN(co.position), s.outcome",
                in_period("v")
            ))?
            .query_map(params![first, last, who], |r| {
                Ok(ServiceCount {
                    service: r.get(0)?,
                    outcome: r.get(1)?,
                    visits: r.get::<_, i64>(2)?.try_into().unwrap_or(0),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        // A follow-up is settled by the household's first visit on a later
        // day; it counts where that visit is (its period, its volunteers).
        let a_day = day_of("a.visited_at");
        let b_day = day_of("b.visited_at");
        let c_day = day_of("c.visited_at");
        let settled: i64 = conn
            .prepare_cached(&format!(
                "{COUNTED} SELECT COUNT(*) FROM counted_visits a
                 WHERE a.follow_up_on IS NOT NULL AND EXISTS (
                    SELECT 1 FROM counted_visits b
                    WHERE b.household_id = a.household_id AND {in_b}
                      AND {b_day} = (SELECT MIN({c_day}) FROM counted_visits c
                                     WHERE c.household_id = a.household_id AND {c_day} > {a_day}))",
                in_b = in_period("b"),
            ))?
            .query_row(params![first, last, who], |r| r.get(0))?;
        summary.follow_ups_settled = settled.try_into().unwrap_or(0);
        let open: i64 = conn
            .prepare_cached(&format!(
                "{COUNTED} SELECT COUNT(*) FROM counted_visits a
                 WHERE a.follow_up_on IS NOT NULL AND {scope_a}
                   AND NOT EXISTS (SELECT 1 FROM counted_visits c
                                   WHERE c.household_id = a.household_id AND {c_day} > {a_day})",
                scope_a = scope("a", "?1"),
            ))?
            .query_row([who], |r| r.get(0))?;
        summary.follow_ups_open = open.try_into().unwrap_or(0);
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 10 - 20);
    const PERIOD: Date = date!(2026 - 10 - 01);

    fn standing(last: Option<Date>, follow_up: Option<Date>) -> Standing {
        Standing {
            last_visit_on: last,
            open_follow_up: follow_up,
            last_visit_mine: false,
        }
    }

    #[test]
    fn follow_ups_before_today_are_overdue_by_their_days_and_today_due() {
        let s = standing(Some(date!(2026 - 09 - 30)), Some(date!(2026 - 10 - 13)));
        assert_eq!(
            classify(&s, TODAY, PERIOD, false),
            Some(TodoReason::Overdue {
                follow_up_on: "2026-10-13".into(),
                days: 7
            })
        );
        let s = standing(Some(date!(2026 - 10 - 02)), Some(TODAY));
        assert_eq!(
            classify(&s, TODAY, PERIOD, false),
            Some(TodoReason::Due {
                follow_up_on: "2026-10-20".into()
            })
        );
    }

    #[test]
    fn a_follow_up_not_due_yet_leaves_only_the_period_rule() {
        // Visited this period, back next week: nothing to do today.
        let s = standing(Some(date!(2026 - 10 - 02)), Some(date!(2026 - 10 - 27)));
        assert_eq!(classify(&s, TODAY, PERIOD, false), None);
        // Visited last period, back next week: not visited this period yet.
        let s = standing(Some(date!(2026 - 09 - 28)), Some(date!(2026 - 10 - 27)));
        assert_eq!(
            classify(&s, TODAY, PERIOD, false),
            Some(TodoReason::NotVisitedThisPeriod {
                last_visit_on: "2026-09-28".into()
            })
        );
        // The period's first day is in it.
        let s = standing(Some(PERIOD), None);
        assert_eq!(classify(&s, TODAY, PERIOD, false), None);
    }

    #[test]
    fn never_visited_is_the_teams_not_mine() {
        let s = standing(None, None);
        assert_eq!(
            classify(&s, TODAY, PERIOD, false),
            Some(TodoReason::NeverVisited)
        );
        assert_eq!(classify(&s, TODAY, PERIOD, true), None);
        // Not visited this period, with --mine: only where I went last.
        let mut s = standing(Some(date!(2026 - 08 - 01)), None);
        assert_eq!(classify(&s, TODAY, PERIOD, true), None);
        s.last_visit_mine = true;
        assert!(matches!(
            classify(&s, TODAY, PERIOD, true),
            Some(TodoReason::NotVisitedThisPeriod { .. })
        ));
    }

    #[test]
    fn reasons_sort_by_urgency() {
        let mut reasons = [
            TodoReason::NotVisitedThisPeriod {
                last_visit_on: "2026-08-01".into(),
            },
            TodoReason::NeverVisited,
            TodoReason::Due {
                follow_up_on: "2026-10-20".into(),
            },
            TodoReason::Overdue {
                follow_up_on: "2026-10-13".into(),
                days: 7,
            },
            TodoReason::NotVisitedThisPeriod {
                last_visit_on: "2026-07-01".into(),
            },
            TodoReason::Overdue {
                follow_up_on: "2026-09-01".into(),
                days: 49,
            },
        ];
        reasons.sort();
        let codes: Vec<String> = reasons
            .iter()
            .map(|r| match r {
                TodoReason::Overdue { follow_up_on, .. } => format!("overdue {follow_up_on}"),
                TodoReason::Due { .. } => "due".into(),
                TodoReason::NeverVisited => "never".into(),
                TodoReason::NotVisitedThisPeriod { last_visit_on } => {
                    format!("not this period {last_visit_on}")
                }
            })
            .collect();
        assert_eq!(
            codes,
            [
                "overdue 2026-09-01",
                "overdue 2026-10-13",
                "due",
                "never",
                "not this period 2026-07-01",
                "not this period 2026-08-01",
            ]
        );
    }
}
