//! `gocua household ...`: add, edit, show, list, search, documents.

use field_core::catalogue::{OUTCOME, SERVICE, TARGET_GROUP};
use std::io::Write;

use field_core::search::{MatchKind, MatchedIn};
use field_core::{
    Household, HouseholdEdit, HouseholdSummary, NewHousehold, Person, SearchHit, SearchResults,
    Store,
};

use super::{Ctx, Names, read_file, write_file};
use crate::args::{HouseholdAddArgs, HouseholdCmd, HouseholdEditArgs, MergeArgs};
use crate::error::CliError;
use crate::i18n::{self, FindText, Lang, T};
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
            let found = store.search(&query.join(" "), limit)?;
            print_search(ctx, &found)
        }
        HouseholdCmd::Import {
            file,
            from_line,
            insist,
        } => super::import::import(ctx, &file, from_line, insist),
        HouseholdCmd::Generate {
            seed,
            households,
            villages,
        } => super::import::generate(ctx, seed, households, villages),
        HouseholdCmd::ExportDoc { id, out } => {
            let store = ctx.store()?;
            // The household's own document, merged into another or not.
            let hid = store.own_household_id(&id)?;
            let bytes = store.export_doc(&hid)?;
            write_file(&out, &bytes)?;
            let path = out.display().to_string();
            ctx.out.emit(
                &serde_json::json!({ "household_id": hid, "file": path, "bytes": bytes.len() }),
                || vec![i18n::doc_exported(ctx.lang(), short(&hid), &path)],
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
        HouseholdCmd::Merge(m) => merge(ctx, m),
        HouseholdCmd::InError(c) => {
            let store = ctx.store()?;
            let h = if c.undo {
                store.unmark_in_error(&c.id)?
            } else {
                store.mark_in_error(&c.id, c.reason)?
            };
            ctx.out.emit(&h, || {
                vec![i18n::household_in_error(
                    ctx.lang(),
                    short(&h.id),
                    &h.head_name,
                    h.in_error.is_some(),
                )]
            })
        }
    }
}

fn merge(ctx: &Ctx, m: MergeArgs) -> Result<(), CliError> {
    let store = ctx.store()?;
    let lang = ctx.lang();
    match (m.undo, m.into) {
        (false, Some(into)) => {
            let done = store.merge_households(&m.from, &into)?;
            let h = &done.household;
            let from = h
                .absorbed
                .iter()
                .find(|a| a.id.ends_with(m.from.trim()))
                .map(|a| a.id.clone())
                .unwrap_or_else(|| m.from.trim().to_string());
            ctx.out.emit(&done, || {
                vec![i18n::household_merged(
                    lang,
                    short(&from),
                    short(&h.id),
                    &h.head_name,
                    h.members.iter().filter(|p| p.removed.is_none()).count(),
                    h.visits.iter().filter(|v| v.cancelled.is_none()).count(),
                    done.same_people.len(),
                )]
            })
        }
        _ => {
            let h = store.unmerge_household(&m.from)?;
            ctx.out.emit(&h, || {
                vec![i18n::household_unmerged(
                    lang,
                    short(&h.id),
                    &h.head_name,
                    h.members.iter().filter(|p| p.removed.is_none()).count(),
                    h.visits.iter().filter(|v| v.cancelled.is_none()).count(),
                )]
            })
        }
    }
}

fn add(ctx: &Ctx, a: HouseholdAddArgs) -> Result<(), CliError> {
    let store = ctx.store()?;
    let input = NewHousehold {
        village: a.village.unwrap_or_default(),
        address: a.address.unwrap_or_default(),
        head_name: a.head,
        phone: a.phone,
        member_count: a.members,
        device_access: a.devices,
        target_groups: a.groups,
    };
    // Bad input is refused by the add itself, with its own message; the
    // check only runs on input the add would take.
    let candidates = match store.duplicates_of(&input) {
        Ok(c) => c,
        Err(e) if e.is_user_error() => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    if !a.insist
        && let Some(c) = candidates.iter().find(|c| c.near_certain)
    {
        return Err(CliError::LikelyDuplicate(Box::new(c.clone())));
    }
    let h = store.add_household(input)?;
    if !candidates.is_empty() {
        warn_duplicates(ctx, &candidates);
    }
    ctx.out.emit(&h, || {
        vec![i18n::household_added(
            ctx.lang(),
            short(&h.id),
            &h.head_name,
        )]
    })
}

/// The households the one just added may be, on stderr (stdout stays the
/// command's answer): a sentence per candidate, or one JSON object.
fn warn_duplicates(ctx: &Ctx, candidates: &[field_core::DuplicateCandidate]) {
    let mut stderr = std::io::stderr().lock();
    let text = if ctx.out.json {
        serde_json::json!({ "warning": "duplicate_candidates", "candidates": candidates })
            .to_string()
    } else {
        i18n::maybe_duplicates(ctx.lang(), candidates).join("\n")
    };
    // A warning that cannot be shown must not undo the add.
    let _ = writeln!(stderr, "{text}");
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

/// `household show --json`: the household and the services to offer next.
#[derive(Debug, serde::Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    household: &'a Household,
    suggestions: Vec<field_core::work::Suggestion>,
}

fn show(ctx: &Ctx, id: &str) -> Result<(), CliError> {
    let store = ctx.store()?;
    let h = store.household(id)?;
    // Ages by birth year, this year in Vietnam (as the rules count them).
    // A household that moved away is its new village's volunteers' to help.
    let suggestions = if h.outside_villages {
        Vec::new()
    } else {
        store.suggestions(&h.id, field_core::validate::this_year())?
    };
    if ctx.out.json {
        return ctx.out.json_value(&Shown {
            household: &h,
            suggestions,
        });
    }
    let mut lines = describe(ctx.lang(), &store, &h)?;
    let names = Names::load(&store, &[SERVICE])?;
    let offer = super::work::offer_lines(ctx.lang(), &names, &suggestions);
    if !offer.is_empty() {
        lines.push(String::new());
        lines.extend(offer);
    }
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
    let me = store.identity().ok();
    let who = |id: &str| match &me {
        Some(i) if i.volunteer_id == id => i.volunteer_name.clone(),
        _ => short(id).to_string(),
    };
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
    if let Some(c) = &h.in_error {
        lines.push(format!(
            "!! {}",
            i18n::corrected(lang, T::InError, c, &who(&c.by))
        ));
    }
    for a in &h.absorbed {
        lines.push(i18n::absorbed(
            lang,
            short(&a.id),
            &a.head_name,
            &a.at,
            &who(&a.by),
        ));
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

    let (members, removed): (Vec<&Person>, Vec<&Person>) =
        h.members.iter().partition(|m| m.removed.is_none());
    if !members.is_empty() {
        lines.push(String::new());
        lines.push(format!("{} ({}):", label(T::Persons), members.len()));
        let rows: Vec<Vec<String>> = members
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
    if !removed.is_empty() {
        lines.push(String::new());
        lines.push(format!("{} ({}):", label(T::RemovedMembers), removed.len()));
        for m in removed {
            if let Some(c) = &m.removed {
                lines.push(format!(
                    "- {} {}: {}",
                    short(&m.id),
                    m.name,
                    i18n::corrected(lang, T::RemovedMember, c, &who(&c.by))
                ));
            }
        }
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
            if let Some(c) = &v.cancelled {
                lines.push(format!(
                    "    !! {}",
                    i18n::corrected(lang, T::Cancelled, c, &who(&c.by))
                ));
            }
            if let Some(c) = &v.edited {
                lines.push(format!(
                    "    {}",
                    i18n::corrected(lang, T::Edited, c, &who(&c.by))
                ));
            }
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

/// Where a search matched a household, in words.
fn matched_text(lang: Lang, hit: &SearchHit) -> String {
    let member = hit.matched_member.as_ref().map(|m| m.name.as_str());
    let label = |x: FindText| i18n::find_text(lang, x).to_string();
    match (hit.matched_in, member) {
        (MatchedIn::Head, _) => label(FindText::MatchedHead),
        (MatchedIn::Member, Some(name)) => format!("{}: {name}", label(FindText::MatchedMember)),
        (MatchedIn::Member, None) => label(FindText::MatchedMember),
        (MatchedIn::Address, _) => label(FindText::MatchedAddress),
        (MatchedIn::Phone, _) => label(FindText::MatchedPhone),
        (MatchedIn::Several, Some(name)) => format!("{} ({name})", label(FindText::MatchedSeveral)),
        (MatchedIn::Several, None) => label(FindText::MatchedSeveral),
    }
}

/// The answer of `household search`: the table with where each matched, and
/// how many were found in all when the limit cut the list.
fn print_search(ctx: &Ctx, found: &SearchResults) -> Result<(), CliError> {
    let lang = ctx.lang();
    if ctx.out.json {
        return ctx.out.json_value(found);
    }
    let rows: Vec<HouseholdSummary> = found
        .households
        .iter()
        .map(|h| h.household.clone())
        .collect();
    let mut lines = summary_lines(lang, &rows, |i| {
        found
            .households
            .get(i)
            .map(|h| matched_text(lang, h))
            .unwrap_or_default()
    });
    if found
        .households
        .first()
        .is_some_and(|h| h.match_kind == MatchKind::Substring)
    {
        lines.push(i18n::search_inside_words(lang).to_string());
    }
    if (found.households.len() as u64) < found.total {
        lines.push(i18n::search_more(lang, found.households.len(), found.total));
    }
    ctx.out.lines(&lines)
}

/// The table of `household list`.
fn print_summaries(ctx: &Ctx, rows: &[HouseholdSummary]) -> Result<(), CliError> {
    let lang = ctx.lang();
    ctx.out
        .emit(&rows, || summary_lines(lang, rows, |_| String::new()))
}

/// A table of households; `matched(i)`, when not empty for some row, is an
/// extra last column (where a search matched).
fn summary_lines(
    lang: Lang,
    rows: &[HouseholdSummary],
    matched: impl Fn(usize) -> String,
) -> Vec<String> {
    {
        if rows.is_empty() {
            return vec![i18n::t(lang, T::NoHouseholds).to_string()];
        }
        let extra: Vec<String> = (0..rows.len()).map(&matched).collect();
        let with_extra = extra.iter().any(|e| !e.is_empty());
        let cells: Vec<Vec<String>> = rows
            .iter()
            .zip(&extra)
            .map(|(r, e)| {
                let mut row = vec![
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
                ];
                if with_extra {
                    row.push(e.clone());
                }
                row
            })
            .collect();
        let l = |t: T| i18n::t(lang, t);
        let mut header = vec![
            l(T::ShortId),
            l(T::Head),
            l(T::Village),
            l(T::Address),
            l(T::Phone),
            l(T::Persons),
            l(T::Visits),
            l(T::LastVisit),
        ];
        if with_extra {
            header.push(i18n::find_text(lang, FindText::MatchedIn));
        }
        table(&header, &cells)
    }
}
