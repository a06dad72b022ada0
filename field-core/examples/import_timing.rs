//! Times `Store::import_changes` of one large bundle (households with members and
//! visits, all new to the receiving store), the path every file exchange, pull
//! and bootstrap takes. Prints the median of several imports into fresh stores.
//!
//! `cargo run -p field-core --example import_timing -- [households] [repeats]`
//!
//! Built from two versions of field-core, the two binaries run one after the
//! other give the cost ratio of a change to the import path on the same machine.

use std::error::Error;
use std::time::{Duration, Instant};

use field_core::{InitRequest, NewHousehold, NewPerson, NewVisit, ServiceOutcome, Store};

fn init(store: &Store, volunteer: &str) -> Result<(), Box<dyn Error>> {
    store.init(InitRequest {
        volunteer_name: volunteer.into(),
        volunteer_phone: None,
        team_name: "Tổ CNSCĐ thôn Đông".into(),
        commune_code: "00097".into(),
        village_names: vec!["Thôn Đông".into()],
    })?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let households: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(200);
    let repeats: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5);
    let dir = tempfile::tempdir()?;
    let source = Store::open(
        dir.path().join("source.sqlite"),
        &field_core::StoreKey::Unencrypted,
    )?;
    init(&source, "Nguyễn Thị Lan")?;
    for i in 0..households {
        let h = source.add_household(NewHousehold {
            village: "thon dong".into(),
            address: format!("Xóm {}, Thôn Đông", i % 7),
            head_name: format!("Nguyễn Văn Hạnh {i}"),
            phone: None,
            member_count: Some(3),
            device_access: Some("smartphone".into()),
            target_groups: vec!["elderly".into()],
        })?;
        let p = source.add_member(
            &h.id,
            NewPerson {
                name: format!("Trần Thị Thủy {i}"),
                birth_year: Some(1958),
                ..Default::default()
            },
        )?;
        for service in ["vneid_activate", "ehealth_book", "scam_awareness"] {
            source.record_visit(
                &h.id,
                NewVisit {
                    person_ids: vec![p.id.clone()],
                    services: vec![ServiceOutcome {
                        service: service.into(),
                        outcome: "done".into(),
                        note: None,
                    }],
                    duration_minutes: Some(20),
                    ..Default::default()
                },
            )?;
        }
    }
    let bundle = source.export_changes(None)?;
    let mut times: Vec<Duration> = Vec::with_capacity(repeats);
    let mut applied = 0;
    for r in 0..repeats {
        let target = Store::open(
            dir.path().join(format!("target-{r}.sqlite")),
            &field_core::StoreKey::Unencrypted,
        )?;
        init(&target, "Hà Văn Tú")?;
        let start = Instant::now();
        let report = target.import_changes(&bundle)?;
        times.push(start.elapsed());
        applied = report.changes_applied;
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "import of {households} households ({applied} changes, {} bytes): median {:.1} ms over {repeats} runs (min {:.1}, max {:.1})",
        bundle.len(),
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
    );
    Ok(())
}
