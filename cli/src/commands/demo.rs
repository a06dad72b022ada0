//! `gocua demo`: the whole offline story in a minute, on throw-away stores.
//!
//! Three volunteers of one village work offline on their own devices, the same
//! households included, one field changed on two devices; they pass their changes
//! to each other as files (no network), and every device ends with the same
//! households, every visit kept and the clash listed for a decision.

use std::path::{Path, PathBuf};

use field_core::{HouseholdEdit, InitRequest, NewPerson, NewVisit, ServiceOutcome, Store};

use crate::error::CliError;
use crate::i18n::Lang;
use crate::output::Out;

const COMMUNE: &str = "00715"; // Xã Lũng Cú, Tuyên Quang
const VILLAGE: &str = "Thôn Lô Lô Chải";

struct Device {
    name: &'static str,
    store: Store,
}

fn say(out: Out, vi: &str, en: &str) {
    if !out.json {
        println!("{}", if out.lang == Lang::En { en } else { vi });
    }
}

fn visit(service: &str, outcome: &str, at: &str) -> NewVisit {
    NewVisit {
        visited_at: Some(at.into()),
        services: vec![ServiceOutcome {
            service: service.into(),
            outcome: outcome.into(),
            note: None,
        }],
        duration_minutes: Some(20),
        ..Default::default()
    }
}

/// Sends by file what `to` lacks; returns (changes applied, bundle bytes).
fn pass(from: &Device, to: &Device, dir: &Path) -> Result<(u64, usize), CliError> {
    let bundle = from.store.export_changes(Some(&to.store.doc_heads()?))?;
    let file = dir.join(format!("{}-to-{}.gocua-changes", from.name, to.name));
    std::fs::write(&file, &bundle).map_err(|source| CliError::Write {
        path: file.clone(),
        source,
    })?;
    let bytes = std::fs::read(&file).map_err(|source| CliError::Read {
        path: file.clone(),
        source,
    })?;
    let report = to.store.import_changes(&bytes)?;
    Ok((report.changes_applied, bundle.len()))
}

pub fn run(out: Out, keep: Option<PathBuf>) -> Result<(), CliError> {
    let tmp;
    let kept = keep.is_some();
    let dir = match keep {
        Some(d) => {
            std::fs::create_dir_all(&d).map_err(|source| CliError::Write {
                path: d.clone(),
                source,
            })?;
            d
        }
        None => {
            tmp = tempfile::TempDir::new().map_err(|source| CliError::Write {
                path: std::env::temp_dir(),
                source,
            })?;
            tmp.path().to_path_buf()
        }
    };
    let names = ["lan", "hung", "mai"];
    let full = ["Nguyễn Thị Lan", "Lò Văn Hùng", "Giàng Thị Mai"];
    let mut devices = Vec::new();
    for (name, volunteer) in names.iter().zip(full) {
        let home = dir.join(name);
        std::fs::create_dir_all(&home).map_err(|source| CliError::Write {
            path: home.clone(),
            source,
        })?;
        let store = Store::open(home.join("store.sqlite"))?;
        store.init(InitRequest {
            volunteer_name: volunteer.into(),
            volunteer_phone: None,
            team_name: format!("Tổ Công nghệ số cộng đồng {VILLAGE}"),
            commune_code: COMMUNE.into(),
            village_names: vec![VILLAGE.into()],
        })?;
        devices.push(Device { name, store });
    }
    let ident = devices[0].store.identity()?;
    say(
        out,
        &format!(
            "1. Ba tình nguyện viên ({}) của {}, {} ({}), mỗi người một máy, không có mạng.",
            full.join(", "),
            VILLAGE,
            ident.commune_name,
            ident.province_name
        ),
        &format!(
            "1. Three volunteers ({}) of {}, {} ({}), one device each, no network.",
            full.join(", "),
            VILLAGE,
            ident.commune_name,
            ident.province_name
        ),
    );

    // Lan registers the village (generated, same seed every run) and hands it out.
    let records = gocua_village_gen::generate(2026, &[VILLAGE.to_string()], 40);
    let mut ids = Vec::new();
    for r in &records {
        ids.push(gocua_village_gen::write_record(&devices[0].store, r)?);
    }
    let (n1, b1) = pass(&devices[0], &devices[1], &dir)?;
    let (n2, _) = pass(&devices[0], &devices[2], &dir)?;
    say(
        out,
        &format!(
            "2. Lan ghi {} hộ và chuyển cho Hùng và Mai bằng tệp ({} thay đổi, {} KB).",
            ids.len(),
            n1.max(n2),
            b1 / 1024
        ),
        &format!(
            "2. Lan registers {} households and hands them to Hùng and Mai by file ({} changes, {} KB).",
            ids.len(),
            n1.max(n2),
            b1 / 1024
        ),
    );

    // Offline work, the same households included.
    let [lan, hung, mai] = [&devices[0], &devices[1], &devices[2]];
    for h in &ids[0..6] {
        lan.store
            .record_visit(h, visit("vneid_activate", "done", "2026-11-20 08:30"))?;
    }
    for h in &ids[3..9] {
        hung.store
            .record_visit(h, visit("cashless_utilities", "partly", "2026-11-20 14:00"))?;
    }
    for h in &ids[5..8] {
        mai.store
            .record_visit(h, visit("scam_awareness", "done", "2026-11-21 09:15"))?;
    }
    hung.store.add_member(
        &ids[1],
        NewPerson {
            name: "Lò Thị Sua".into(),
            birth_year: Some(2012),
            gender: Some("female".into()),
            ..Default::default()
        },
    )?;
    let clash = &ids[2];
    lan.store.edit_household(
        clash,
        HouseholdEdit {
            phone: Some("0912 345 678".into()),
            ..Default::default()
        },
    )?;
    hung.store.edit_household(
        clash,
        HouseholdEdit {
            phone: Some("0987 654 321".into()),
            ..Default::default()
        },
    )?;
    let new_h = mai.store.add_household(field_core::NewHousehold {
        head_name: "Sùng Mí Páo".into(),
        address: "Xóm Cuối".into(),
        ..Default::default()
    })?;
    mai.store.record_visit(
        &new_h.id,
        visit("smartphone_replacement", "done", "2026-11-21 10:00"),
    )?;
    let visits_made = 6 + 6 + 3 + 1;
    say(
        out,
        &format!(
            "3. Làm việc không mạng: {visits_made} lượt hỗ trợ (có hộ được cả ba người đến), Hùng thêm một thành viên, Mai ghi một hộ mới; Lan và Hùng cùng sửa số điện thoại của hộ {}.",
            short(clash)
        ),
        &format!(
            "3. Offline work: {visits_made} visits (some households visited by all three), Hùng adds a member, Mai registers a new household; Lan and Hùng both change the phone of household {}.",
            short(clash)
        ),
    );

    // Everyone passes files to everyone until nothing is new.
    let mut rounds = 0;
    loop {
        rounds += 1;
        let mut moved = 0;
        for a in &devices {
            for b in &devices {
                if a.name != b.name {
                    moved += pass(a, b, &dir)?.0;
                }
            }
        }
        if moved == 0 || rounds > 5 {
            break;
        }
    }
    let dumps: Vec<Vec<String>> = devices
        .iter()
        .map(|d| d.store.projection_dump())
        .collect::<Result<_, _>>()?;
    let identical = dumps.windows(2).all(|w| w[0] == w[1]);
    let st = lan.store.status()?;
    let conflicts = lan.store.conflicts()?;
    say(
        out,
        &format!(
            "4. Trao đổi tệp giữa ba máy: {} hộ, {} lượt hỗ trợ trên mỗi máy; ba máy {}.",
            st.households,
            st.visits,
            if identical {
                "giống hệt nhau"
            } else {
                "KHÁC NHAU (lỗi!)"
            }
        ),
        &format!(
            "4. Files exchanged between the three devices: {} households, {} visits on each; the three devices are {}.",
            st.households,
            st.visits,
            if identical {
                "identical"
            } else {
                "DIFFERENT (a bug!)"
            }
        ),
    );
    for c in &conflicts {
        say(
            out,
            &format!(
                "5. Chờ quyết định: hộ {} trường {}: {} (không mất giá trị nào).",
                short(&c.household_id),
                c.path,
                c.values.join(" | ")
            ),
            &format!(
                "5. Waiting for a decision: household {} field {}: {} (no value lost).",
                short(&c.household_id),
                c.path,
                c.values.join(" | ")
            ),
        );
    }
    if kept {
        let lan_dir = dir.join("lan");
        let cmd = format!(
            "gocua --data-dir {} conflicts resolve {} phone 0987654321",
            lan_dir.display(),
            short(clash)
        );
        say(
            out,
            &format!("   Giải quyết: {cmd}"),
            &format!("   To resolve: {cmd}"),
        );
    } else {
        say(
            out,
            "   Để xem và giải quyết trên các máy: gocua demo --keep THƯ_MỤC",
            "   To look around and resolve it on the devices: gocua demo --keep DIR",
        );
    }
    if out.json {
        let v = serde_json::json!({
            "devices": names,
            "households": st.households,
            "visits": st.visits,
            "visits_recorded_offline": visits_made,
            "identical": identical,
            "conflicts": conflicts,
            "exchange_rounds": rounds,
        });
        println!("{v}");
    }
    if !identical {
        return Err(CliError::Diverged);
    }
    Ok(())
}

fn short(id: &str) -> &str {
    &id[id.len().saturating_sub(8)..]
}
