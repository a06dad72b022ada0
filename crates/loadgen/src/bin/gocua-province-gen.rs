//! `gocua-province-gen`: a province's worth of households written straight
//! into a server database's report projection, to measure province reports
//! and extracts at scale (docs/benchmarks.md). Households, members and
//! visits come from `gocua-village-gen`; each is read into the household
//! model and written with its rows and contributions exactly as the
//! materializer writes a household it read from its document. Nothing is
//! pushed: the log, snapshots and bootstrap are not filled.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use gocua_household::{
    Consent, ConsentMethod, DeviceAccess, Gender, Household, Person, Skills, Visit, VneidLevel,
};
use gocua_server::storage::{ReportRecord, Storage};
use gocua_server::{SqliteStorage, admin};

#[derive(Debug, Parser)]
#[command(
    name = "gocua-province-gen",
    about = "Writes a generated province into a gocua-server database's report projection"
)]
struct Opts {
    /// The server database to create or add to.
    #[arg(long)]
    database: PathBuf,
    /// Province code (2025 list); its first communes are used.
    #[arg(long, default_value = "01")]
    province: String,
    #[arg(long, default_value_t = 100)]
    communes: usize,
    #[arg(long, default_value_t = 10)]
    villages_per_commune: usize,
    #[arg(long, default_value_t = 1_000_000)]
    households: usize,
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Write the rows only, not the indicators' contributions (about 40 rows
    /// a household: 14 GB of the 17 GB of a million households).
    #[arg(long)]
    rows_only: bool,
    /// Visits per household on average (the generator makes about two): each
    /// household's visits are repeated, or another's borrowed when it has
    /// none, to reach it.
    #[arg(long)]
    visits_per_household: Option<f64>,
}

const STAMP: &str = "2026-01-15T02:00:00Z";

/// The generator's local time ("2026-07-19 20:35", Vietnam) as the RFC 3339
/// UTC time a device stores.
fn utc(local: &str) -> Option<String> {
    let t = time::PrimitiveDateTime::parse(
        local.trim(),
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]"),
    )
    .ok()?
    .assume_offset(time::macros::offset!(+7))
    .to_offset(time::UtcOffset::UTC);
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

fn household_of(
    rec: &gocua_village_gen::HouseholdRecord,
    n: usize,
    village_id: &str,
    commune: &str,
    team_id: &str,
    volunteer: &str,
) -> Household {
    let id =
        uuid::Uuid::from_u128(0x6000_0000_0000_8000_8000_0000_0000_0000 | n as u128).to_string();
    let h = &rec.household;
    let members: Vec<Person> = rec
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| Person {
            id: format!("{id}-p{i}"),
            name: m.name.clone(),
            birth_year: m.birth_year,
            gender: m.gender.as_deref().and_then(Gender::parse),
            id_number: m.id_number.clone(),
            skills: Skills {
                vneid_level: m.skills.vneid_level.as_deref().and_then(VneidLevel::parse),
                vneid_activated: m.skills.vneid_activated,
                bank_account: m.skills.bank_account,
                public_service_account: m.skills.public_service_account,
                ehealth_book: m.skills.ehealth_book,
                digital_signature: m.skills.digital_signature,
                basic_skills_certified: m.skills.basic_skills_certified,
            },
            created_at: STAMP.into(),
            created_by: volunteer.into(),
            removed: None,
        })
        .collect();
    // Most people consent; one in twenty withdrew, so extracts leave them out.
    let consents = members
        .iter()
        .enumerate()
        .map(|(i, p)| Consent {
            id: format!("{id}-c{i}"),
            person_id: p.id.clone(),
            purpose: "Hỗ trợ dịch vụ số".into(),
            method: ConsentMethod::Verbal,
            given_at: STAMP.into(),
            recorded_by: volunteer.into(),
            withdrawn_at: (n + i).is_multiple_of(20).then(|| STAMP.to_string()),
            withdrawn_by: None,
            withdrawal_reason: None,
        })
        .collect();
    let visits = rec
        .visits
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let at = v
                .visit
                .visited_at
                .as_deref()
                .and_then(utc)
                .unwrap_or_else(|| STAMP.into());
            Visit {
                id: format!("{id}-v{i}"),
                visited_at: at.clone(),
                team_id: team_id.into(),
                volunteer_ids: vec![volunteer.into()],
                person_ids: v
                    .member_indexes
                    .iter()
                    .filter_map(|m| members.get(*m).map(|p| p.id.clone()))
                    .collect(),
                services: v.visit.services.clone(),
                duration_minutes: v.visit.duration_minutes,
                follow_up_on: v.visit.follow_up_on.clone(),
                feedback: v.visit.feedback.clone(),
                consent_id: None,
                recorded_at: at,
                recorded_by: volunteer.into(),
                cancelled: None,
                edited: None,
            }
        })
        .collect();
    Household {
        id,
        schema_version: 1,
        commune_code: commune.into(),
        village_id: village_id.into(),
        address: h.address.clone(),
        head_name: h.head_name.clone(),
        phone: h.phone.clone(),
        member_count: h.member_count,
        device_access: h.device_access.as_deref().and_then(DeviceAccess::parse),
        target_groups: h.target_groups.clone(),
        created_at: STAMP.into(),
        created_by: volunteer.into(),
        members,
        visits,
        consents,
        conflicts: Vec::new(),
        problems: Vec::new(),
        outside_villages: false,
        in_error: None,
        merged: None,
        absorbed: Vec::new(),
    }
}

fn main() -> Result<()> {
    let o = Opts::parse();
    let storage = SqliteStorage::open(&o.database, 1)
        .with_context(|| format!("cannot open {}", o.database.display()))?;
    let s: &dyn Storage = &storage;
    if !s.units_loaded()? {
        s.load_units()?;
    }
    let units = gocua_admin_units::Units::embedded()?;
    let communes: Vec<_> = units
        .current
        .iter()
        .filter(|c| c.province_code == o.province)
        .take(o.communes)
        .collect();
    if communes.is_empty() {
        bail!("no commune in province {}", o.province);
    }
    let t = Instant::now();
    // A team per commune serving its villages, one volunteer each.
    let mut villages: Vec<(String, String, String, String)> = Vec::new();
    for c in &communes {
        let ids: Vec<String> = (0..o.villages_per_commune)
            .map(|i| admin::add_village(s, &c.code, &format!("Thôn {}", i + 1)).map(|v| v.id))
            .collect::<Result<_, _>>()?;
        let team = admin::add_team(s, &format!("Tổ CNSCĐ {}", c.name), &c.code, &ids)?;
        let vol = admin::add_volunteer(s, "Tình nguyện viên", None, &team.id)?;
        for id in ids {
            villages.push((id, c.code.clone(), team.id.clone(), vol.id.clone()));
        }
    }
    let per_village = o.households.div_ceil(villages.len());
    let mut written = 0usize;
    let mut batch: Vec<(ReportRecord, u64)> = Vec::with_capacity(2_000);
    let none = HashMap::new();
    let mut borrowed = Vec::new();
    let mut visits = 0usize;
    'outer: for (vi, (village, commune, team, volunteer)) in villages.iter().enumerate() {
        // One village at a time: a province is never whole in memory.
        for mut rec in gocua_village_gen::generate(o.seed + vi as u64, &[], per_village) {
            if written == o.households {
                break 'outer;
            }
            if let Some(avg) = o.visits_per_household {
                let want = ((avg * (written + 1) as f64).floor() - (avg * written as f64).floor())
                    .max(0.0) as usize;
                if !rec.visits.is_empty() {
                    borrowed.clone_from(&rec.visits);
                }
                rec.visits = borrowed.iter().cycle().take(want).cloned().collect();
            }
            visits += rec.visits.len();
            let household = household_of(&rec, written, village, commune, team, volunteer);
            let mut record = ReportRecord {
                household,
                household_change: None,
                visit_changes: Vec::new(),
                counted: Default::default(),
            };
            if !o.rows_only {
                gocua_server::report::count(&mut record, &none, 1);
            }
            written += 1;
            batch.push((record, written as u64));
            if batch.len() == 2_000 {
                s.put_report_records(&batch)?;
                batch.clear();
            }
        }
        if vi % 100 == 99 {
            eprintln!(
                "{written} households written in {:.0} s",
                t.elapsed().as_secs_f64()
            );
        }
    }
    s.put_report_records(&batch)?;
    println!(
        "{written} households ({visits} visits) in {} villages of {} communes of province {} \
         written in {:.1} s",
        villages.len(),
        communes.len(),
        o.province,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
