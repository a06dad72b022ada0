//! `gocua demo`: the whole story in a minute, on throw-away stores.
//!
//! A sync server on a temporary database (the `gocua-server` program, run as a
//! child: see `server`); three volunteers of one village enroll their devices,
//! work offline (the same households included, one field changed on two
//! devices), sync in turn, and every device ends with the same households,
//! every visit kept and the clash listed for a decision.

mod server;

use std::path::PathBuf;

use field_core::{HouseholdEdit, NewHousehold, NewPerson, NewVisit, ServiceOutcome, Store};

use crate::error::CliError;
use crate::i18n::Lang;
use crate::output::{Out, short};
use server::{DemoServer, admin, field};

const COMMUNE: &str = "00715"; // Xã Lũng Cú, Tuyên Quang
const VILLAGE: &str = "Thôn Lô Lô Chải";
const VOLUNTEERS: [(&str, &str); 3] = [
    ("lan", "Nguyễn Thị Lan"),
    ("hung", "Lò Văn Hùng"),
    ("mai", "Giàng Thị Mai"),
];

fn say(out: Out, vi: String, en: String) {
    if !out.json {
        // A reader that went away (`gocua demo | head`) must not stop the demo
        // half-way with its server still running: the story goes on unread.
        let _ = out.line(if out.lang == Lang::En { &en } else { &vi });
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
        // The story is set on fixed days, which may be before its
        // households are registered (today).
        entered_late: true,
        ..Default::default()
    }
}

pub fn run(out: Out, keep: Option<PathBuf>, server_bin: Option<PathBuf>) -> Result<(), CliError> {
    // Before anything is made: without a server there is no demo.
    let bin = server::find(server_bin.as_deref())?;
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

    // 1. The commune's set-up on the server's database, then the server.
    let server_dir = dir.join("server");
    std::fs::create_dir_all(&server_dir).map_err(|source| CliError::Write {
        path: server_dir.clone(),
        source,
    })?;
    let run_admin = |args: &[&str]| admin(&bin, &server_dir, args);
    let village = field(
        &run_admin(&["village", "add", "--commune", COMMUNE, "--name", VILLAGE])?,
        "id",
    )?;
    let team_name = format!("Tổ Công nghệ số cộng đồng {VILLAGE}");
    let team = field(
        &run_admin(&[
            "team",
            "add",
            "--name",
            &team_name,
            "--commune",
            COMMUNE,
            "--village",
            &village,
        ])?,
        "id",
    )?;
    let mut codes = Vec::new();
    for (_, full) in VOLUNTEERS {
        let volunteer = field(
            &run_admin(&["volunteer", "add", "--name", full, "--team", &team])?,
            "id",
        )?;
        let code = run_admin(&["enroll-code", "--volunteer", &volunteer, "--ttl-hours", "1"])?;
        codes.push(field(&code, "code")?);
    }
    let server = DemoServer::start(&bin, &server_dir)?;
    let mut devices = Vec::new();
    for ((name, _), code) in VOLUNTEERS.iter().zip(&codes) {
        let home = dir.join(name);
        std::fs::create_dir_all(&home).map_err(|source| CliError::Write {
            path: home.clone(),
            source,
        })?;
        // Encrypted as a volunteer's is, with a passphrase the demo tells
        // (`--keep` leaves the stores to look at).
        let store = Store::open(
            home.join("store.sqlite"),
            &field_core::StoreKey::Passphrase(DEMO_PASSPHRASE.into()),
        )?;
        field_core::sync::enroll(&store, &server.url, code, name)?;
        devices.push(store);
    }
    let ident = devices[0].identity()?;
    let names: Vec<&str> = VOLUNTEERS.iter().map(|(_, f)| *f).collect();
    say(
        out,
        format!(
            "1. Máy chủ đồng bộ chạy tại {} (cơ sở dữ liệu tạm). Ba tình nguyện viên ({}) của {}, {} ({}) đăng ký máy bằng mã một lần.",
            server.url,
            names.join(", "),
            VILLAGE,
            ident.commune_name,
            ident.province_name
        ),
        format!(
            "1. A sync server runs at {} (temporary database). Three volunteers ({}) of {}, {} ({}) enroll their devices with one-time codes.",
            server.url,
            names.join(", "),
            VILLAGE,
            ident.commune_name,
            ident.province_name
        ),
    );

    // 2. Lan registers the village (generated, same seed every run) and syncs;
    //    the others' first sync downloads it.
    let [lan, hung, mai] = [&devices[0], &devices[1], &devices[2]];
    let records = gocua_village_gen::generate(2026, &[VILLAGE.to_string()], 40);
    let mut ids = Vec::new();
    for r in &records {
        ids.push(gocua_village_gen::write_record(lan, r)?);
    }
    let sent = field_core::sync::sync(lan, None)?;
    let got = field_core::sync::sync(hung, None)?;
    field_core::sync::sync(mai, None)?;
    say(
        out,
        format!(
            "2. Lan ghi {} hộ và đồng bộ ({} thay đổi); Hùng và Mai đồng bộ lần đầu, nhận {} hộ.",
            ids.len(),
            sent.sent,
            got.documents_updated
        ),
        format!(
            "2. Lan registers {} households and syncs ({} changes); Hùng and Mai's first sync brings them {} households.",
            ids.len(),
            sent.sent,
            got.documents_updated
        ),
    );

    // 3. Offline work, the same households included.
    for h in &ids[0..6] {
        lan.record_visit(h, visit("vneid_activate", "done", "2026-11-20 08:30"))?;
    }
    for h in &ids[3..9] {
        hung.record_visit(h, visit("cashless_utilities", "partly", "2026-11-20 14:00"))?;
    }
    for h in &ids[5..8] {
        mai.record_visit(h, visit("scam_awareness", "done", "2026-11-21 09:15"))?;
    }
    hung.add_member(
        &ids[1],
        NewPerson {
            name: "Lò Thị Sua".into(),
            birth_year: Some(2012),
            gender: Some("female".into()),
            ..Default::default()
        },
    )?;
    let clash = &ids[2];
    lan.edit_household(
        clash,
        HouseholdEdit {
            phone: Some("0912 345 678".into()),
            ..Default::default()
        },
    )?;
    hung.edit_household(
        clash,
        HouseholdEdit {
            phone: Some("0987 654 321".into()),
            ..Default::default()
        },
    )?;
    let new_h = mai.add_household(NewHousehold {
        head_name: "Sùng Mí Páo".into(),
        address: "Xóm Cuối".into(),
        ..Default::default()
    })?;
    mai.record_visit(
        &new_h.id,
        visit("smartphone_replacement", "done", "2026-11-21 10:00"),
    )?;
    // Hùng meets the same family on his way, not knowing Mai registered it.
    let twice = hung.add_household(NewHousehold {
        head_name: "Sung Mi Pao".into(),
        address: "Xóm Cuối".into(),
        ..Default::default()
    })?;
    hung.record_visit(
        &twice.id,
        visit("scam_awareness", "done", "2026-11-21 15:00"),
    )?;
    let visits_made = 6 + 6 + 3 + 1 + 1;
    say(
        out,
        format!(
            "3. Không có mạng: {visits_made} lượt hỗ trợ (có hộ được cả ba người đến), Hùng thêm một thành viên, Mai ghi một hộ mới và Hùng cũng ghi hộ đó; Lan và Hùng cùng sửa số điện thoại của hộ {}.",
            short(clash)
        ),
        format!(
            "3. Offline: {visits_made} visits (some households visited by all three), Hùng adds a member, Mai registers a new household and Hùng registers it too; Lan and Hùng both change the phone of household {}.",
            short(clash)
        ),
    );

    // 4. Back in coverage, each syncs in turn; a second round brings everyone
    //    what the others sent after them.
    for d in [lan, hung, mai, lan, hung] {
        field_core::sync::sync(d, None)?;
    }
    // The household registered twice: found among the village's likely
    // duplicates, merged by Lan, and the merge synced.
    let pairs = lan.duplicate_candidates(None)?;
    let found = pairs.iter().any(|p| {
        [&p.a.id, &p.b.id] == [&twice.id, &new_h.id] || [&p.a.id, &p.b.id] == [&new_h.id, &twice.id]
    });
    let before = lan.status()?.households;
    lan.merge_households(&twice.id, &new_h.id)?;
    for d in [lan, hung, mai] {
        field_core::sync::sync(d, None)?;
    }
    let dumps: Vec<Vec<String>> = devices
        .iter()
        .map(|d| d.projection_dump())
        .collect::<Result<_, _>>()?;
    let identical = dumps.windows(2).all(|w| w[0] == w[1]);
    let st = lan.status()?;
    let conflicts = lan.conflicts()?;
    say(
        out,
        format!(
            "4. Có mạng, mỗi máy đồng bộ: {} hộ, {} lượt hỗ trợ trên mỗi máy; ba máy {}.",
            before,
            st.visits,
            if identical {
                "giống hệt nhau"
            } else {
                "KHÁC NHAU (lỗi!)"
            }
        ),
        format!(
            "4. Back in coverage, each device syncs: {} households, {} visits on each; the three devices are {}.",
            before,
            st.visits,
            if identical {
                "identical"
            } else {
                "DIFFERENT (a bug!)"
            }
        ),
    );
    say(
        out,
        format!(
            "5. {} hộ {} và {} (Sùng Mí Páo, Xóm Cuối) có thể là một: Lan gộp hộ của Hùng vào hộ của Mai (gocua household merge), đồng bộ: còn {} hộ, lượt hỗ trợ của cả hai giữ nguyên.",
            if found {
                "Danh sách nghi trùng cho thấy"
            } else {
                "Lan thấy"
            },
            short(&twice.id),
            short(&new_h.id),
            st.households
        ),
        format!(
            "5. {} households {} and {} (Sùng Mí Páo, Xóm Cuối) may be one: Lan merges Hùng's into Mai's (gocua household merge) and syncs: {} households left ({} before), both visits kept.",
            if found {
                "The likely duplicates show that"
            } else {
                "Lan sees that"
            },
            short(&twice.id),
            short(&new_h.id),
            st.households,
            before
        ),
    );
    for c in &conflicts {
        say(
            out,
            format!(
                "6. Chờ quyết định: hộ {} trường {}: {} (không mất giá trị nào).",
                short(&c.household_id),
                c.path,
                c.values.join(" | ")
            ),
            format!(
                "6. Waiting for a decision: household {} field {}: {} (no value lost).",
                short(&c.household_id),
                c.path,
                c.values.join(" | ")
            ),
        );
    }
    if kept {
        let cmd = format!(
            "GOCUA_PASSPHRASE={DEMO_PASSPHRASE} gocua --data-dir {} conflicts resolve {} phone 0987654321",
            dir.join("lan").display(),
            short(clash)
        );
        say(
            out,
            format!("   Giải quyết: {cmd}"),
            format!("   To resolve: {cmd}"),
        );
    } else {
        say(
            out,
            "   Để xem và giải quyết trên các máy: gocua demo --keep THƯ_MỤC".into(),
            "   To look around and resolve it on the devices: gocua demo --keep DIR".into(),
        );
    }
    if out.json {
        let v = serde_json::json!({
            "server": server.url,
            "devices": VOLUNTEERS.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            "households": st.households,
            "visits": st.visits,
            "visits_recorded_offline": visits_made,
            "identical": identical,
            "merged": { "duplicate": twice.id, "kept": new_h.id, "found_as_likely_duplicate": found },
            "conflicts": conflicts,
        });
        // A closed stdout is not the demo's failure (see `say`).
        let _ = out.json_value(&v);
    }
    drop(server);
    if !identical {
        return Err(CliError::Diverged);
    }
    Ok(())
}

/// The passphrase of the demo's stores, told with `--keep`: they hold
/// invented households only.
pub const DEMO_PASSPHRASE: &str = "gocua-demo";
