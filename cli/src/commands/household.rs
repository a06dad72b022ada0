//! `gocua household ...`: add, edit, show, list, search, documents.

use field_core::catalogue::{OUTCOME, SERVICE, TARGET_GROUP};
use field_core::{Household, HouseholdEdit, HouseholdSummary, NewHousehold, Person, Store};

use super::{Ctx, Names, read_file, write_file};
use crate::args::{HouseholdAddArgs, HouseholdCmd, HouseholdEditArgs};
use crate::error::CliError;
use crate::i18n::{self, Lang, T};
use crate::output::{local_time, short, table};

pub fn run(ctx: &Ctx, cmd: HouseholdCmd) -> Result<(), CliError> {
    match cmd {
        HouseholdCmd::Add(a) => add(ctx, a),
        HouseholdCmd::Edit(a) => edit(ctx, a),
        HouseholdCmd::Show { id } => show(ctx, &id),
        HouseholdCmd::List { village, limit } => {
            let store = ctx.store()?;
            let rows = store.list_households(village.as_deref(), limit)?;
            print_summaries(ctx, &rows)
        }
        HouseholdCmd::Search { query, limit } => {
            let store = ctx.store()?;
            let rows = store.search(&query.join(" "), limit)?;
            print_summaries(ctx, &rows)
        }
        HouseholdCmd::Import { file } => super::import::import(ctx, &file),
        HouseholdCmd::Generate {
            seed,
            households,
            villages,
        } => super::import::generate(ctx, seed, households, villages),
        HouseholdCmd::ExportDoc { id, out } => {
            let store = ctx.store()?;
            let h = store.household(&id)?;
            let bytes = store.export_doc(&h.id)?;
            write_file(&out, &bytes)?;
            let path = out.display().to_string();
            ctx.out.emit(
                &serde_json::json!({ "household_id": h.id, "file": path, "bytes": bytes.len() }),
                || vec![i18n::doc_exported(ctx.lang(), short(&h.id), &path)],
            )
        }
        HouseholdCmd::ImportDoc { file } => {
            let store = ctx.store()?;
            let bytes = read_file(&file)?;
            let (id, report) = store.import_doc(&bytes)?;
            let lang = ctx.lang();
            ctx.out.emit(
                &serde_json::json!({ "household_id": id, "report": report }),
                || {
                    vec![i18n::changes_imported(
                        lang,
                        report.documents,
                        report.changes_applied,
                        report.changes_known,
                        report.conflicts,
                    )]
                },
            )
        }
    }
}

fn add(ctx: &Ctx, a: HouseholdAddArgs) -> Result<(), CliError> {
    let store = ctx.store()?;
    let h = store.add_household(NewHousehold {
        village: a.village.unwrap_or_default(),
        address: a.address.unwrap_or_default(),
        head_name: a.head,
        phone: a.phone,
        member_count: a.members,
        device_access: a.devices,
        target_groups: a.groups,
    })?;
    ctx.out.emit(&h, || {
        vec![i18n::household_added(
            ctx.lang(),
            short(&h.id),
            &h.head_name,
        )]
    })
}

fn edit(ctx: &Ctx, a: HouseholdEditArgs) -> Result<(), CliError> {
    let store = ctx.store()?;
    let h = store.edit_household(
        &a.id,
        HouseholdEdit {
            village: a.village,
            address: a.address,
            head_name: a.head,
            phone: a.phone,
            member_count: a.members,
            device_access: a.devices,
            add_target_groups: a.add_groups,
            remove_target_groups: a.remove_groups,
        },
    )?;
    ctx.out.emit(&h, || {
        vec![i18n::household_saved(
            ctx.lang(),
            short(&h.id),
            &h.head_name,
        )]
    })
}

fn show(ctx: &Ctx, id: &str) -> Result<(), CliError> {
    let store = ctx.store()?;
    let h = store.household(id)?;
    if ctx.out.json {
        return ctx.out.json_value(&h);
    }
    let lines = describe(ctx.lang(), &store, &h)?;
    ctx.out.lines(&lines)
}

fn village_name(store: &Store, village_id: &str) -> String {
    store
        .identity()
        .ok()
        .and_then(|i| i.villages.into_iter().find(|v| v.id == village_id))
        .map(|v| v.name)
        .unwrap_or_else(|| village_id.to_string())
}

fn yes_no(lang: Lang, b: Option<bool>) -> Option<&'static str> {
    b.map(|b| i18n::t(lang, if b { T::Yes } else { T::No }))
}

fn person_name(h: &Household, pid: &str) -> String {
    h.members
        .iter()
        .find(|m| m.id == pid)
        .map(|m| m.name.clone())
        .unwrap_or_else(|| short(pid).to_string())
}

fn skills_text(lang: Lang, p: &Person) -> String {
    let mut parts = Vec::new();
    if let Some(l) = p.skills.vneid_level {
        parts.push(format!(
            "{} {}",
            i18n::word(lang, "vneid_level"),
            i18n::word(lang, l.as_str())
        ));
    }
    for key in field_core::SKILL_FLAGS {
        if let Some(v) = yes_no(lang, p.skills.flag(key)) {
            parts.push(format!("{}: {v}", i18n::word(lang, key)));
        }
    }
    parts.join("; ")
}

/// Everything about a household, as text lines.
fn describe(lang: Lang, store: &Store, h: &Household) -> Result<Vec<String>, CliError> {
    let names = Names::load(store, &[SERVICE, OUTCOME, TARGET_GROUP])?;
    let label = |t: T| i18n::t(lang, t);
    let village = if h.outside_villages {
        label(T::MovedAway).to_string()
    } else {
        village_name(store, &h.village_id)
    };
    let mut lines = vec![format!(
        "{} {} ({})",
        label(T::Household),
        short(&h.id),
        h.id
    )];
    if h.outside_villages {
        lines.push(label(T::ReadOnlyMovedAway).to_string());
    }
    lines.push(format!("{}: {}", label(T::Head), h.head_name));
    lines.push(format!("{}: {village}", label(T::Village)));
    if !h.address.is_empty() {
        lines.push(format!("{}: {}", label(T::Address), h.address));
    }
    if let Some(p) = &h.phone {
        lines.push(format!("{}: {p}", label(T::Phone)));
    }
    if let Some(n) = h.member_count {
        lines.push(format!("{}: {n}", label(T::Members)));
    }
    if let Some(d) = h.device_access {
        lines.push(format!(
            "{}: {}",
            label(T::Devices),
            i18n::word(lang, d.as_str())
        ));
    }
    if !h.target_groups.is_empty() {
        let groups: Vec<String> = h
            .target_groups
            .iter()
            .map(|g| names.name(lang, TARGET_GROUP, g))
            .collect();
        lines.push(format!("{}: {}", label(T::Groups), groups.join(", ")));
    }
    lines.push(format!(
        "{}: {}",
        label(T::Created),
        local_time(&h.created_at)
    ));

    if !h.members.is_empty() {
        lines.push(String::new());
        lines.push(format!("{} ({}):", label(T::Persons), h.members.len()));
        let rows: Vec<Vec<String>> = h
            .members
            .iter()
            .map(|m| {
                vec![
                    short(&m.id).to_string(),
                    m.name.clone(),
                    m.birth_year.map(|y| y.to_string()).unwrap_or_default(),
                    m.gender
                        .map(|g| i18n::word(lang, g.as_str()))
                        .unwrap_or_default(),
                    m.id_number.clone().unwrap_or_default(),
                    skills_text(lang, m),
                ]
            })
            .collect();
        lines.extend(table(
            &[
                label(T::ShortId),
                label(T::Name),
                label(T::BirthYear),
                label(T::Gender),
                label(T::IdNumber),
                label(T::Skills),
            ],
            &rows,
        ));
    }

    if !h.visits.is_empty() {
        lines.push(String::new());
        lines.push(format!("{} ({}):", label(T::Visits), h.visits.len()));
        let mut visits: Vec<&field_core::Visit> = h.visits.iter().collect();
        visits.sort_by(|a, b| b.visited_at.cmp(&a.visited_at));
        for v in visits {
            let mut head = format!("- {} {}", short(&v.id), local_time(&v.visited_at));
            if let Some(d) = v.duration_minutes {
                head.push_str(&format!(", {d} {}", label(T::Minutes)));
            }
            if !v.person_ids.is_empty() {
                let people: Vec<String> = v.person_ids.iter().map(|p| person_name(h, p)).collect();
                head.push_str(&format!(" ({})", people.join(", ")));
            }
            lines.push(head);
            for s in &v.services {
                let mut l = format!(
                    "    {}: {}",
                    names.name(lang, SERVICE, &s.service),
                    names.name(lang, OUTCOME, &s.outcome)
                );
                if let Some(n) = &s.note {
                    l.push_str(&format!(" ({n})"));
                }
                lines.push(l);
            }
            if let Some(f) = &v.follow_up_on {
                lines.push(format!("    {}: {f}", label(T::FollowUp)));
            }
            if let Some(f) = &v.feedback {
                lines.push(format!("    {}: {f}", label(T::Feedback)));
            }
            if let Some(c) = &v.consent_id {
                lines.push(format!("    {}: {}", label(T::Consent), short(c)));
            }
        }
    }

    if !h.consents.is_empty() {
        lines.push(String::new());
        lines.push(format!("{}:", label(T::Consents)));
        let rows: Vec<Vec<String>> = h
            .consents
            .iter()
            .map(|c| {
                vec![
                    short(&c.id).to_string(),
                    person_name(h, &c.person_id),
                    c.purpose.clone(),
                    i18n::word(lang, c.method.as_str()),
                    local_time(&c.given_at),
                    c.withdrawn_at
                        .as_deref()
                        .map(local_time)
                        .unwrap_or_default(),
                ]
            })
            .collect();
        lines.extend(table(
            &[
                label(T::ShortId),
                label(T::Person),
                label(T::Purpose),
                label(T::Method),
                label(T::When),
                label(T::Withdrawn),
            ],
            &rows,
        ));
    }

    if !h.conflicts.is_empty() {
        lines.push(String::new());
        lines.push(format!("{}:", label(T::Conflicts)));
        for c in &h.conflicts {
            lines.push(format!(
                "  {} `{}`: {}",
                i18n::path_label(lang, &c.path),
                c.path,
                c.values.join(" | ")
            ));
        }
    }
    if !h.problems.is_empty() {
        lines.push(String::new());
        lines.push(format!("{}:", label(T::Problems)));
        for p in &h.problems {
            lines.push(format!(
                "  {} `{}`: {}",
                i18n::path_label(lang, &p.path),
                p.path,
                i18n::household_problem(lang, p)
            ));
        }
    }
    Ok(lines)
}

/// The table of `household list` and `household search`.
fn print_summaries(ctx: &Ctx, rows: &[HouseholdSummary]) -> Result<(), CliError> {
    let lang = ctx.lang();
    ctx.out.emit(&rows, || {
        if rows.is_empty() {
            return vec![i18n::t(lang, T::NoHouseholds).to_string()];
        }
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    short(&r.id).to_string(),
                    r.head_name.clone(),
                    if r.outside_villages {
                        i18n::t(lang, T::MovedAway).to_string()
                    } else {
                        r.village_name.clone()
                    },
                    r.address.clone(),
                    r.phone.clone().unwrap_or_default(),
                    r.members.to_string(),
                    r.visits.to_string(),
                    r.last_visit_at
                        .as_deref()
                        .map(local_time)
                        .unwrap_or_default(),
                ]
            })
            .collect();
        let l = |t: T| i18n::t(lang, t);
        table(
            &[
                l(T::ShortId),
                l(T::Head),
                l(T::Village),
                l(T::Address),
                l(T::Phone),
                l(T::Persons),
                l(T::Visits),
                l(T::LastVisit),
            ],
            &cells,
        )
    })
}
