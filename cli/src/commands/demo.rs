//! `gocua demo`: the whole story in a minute, on throw-away stores.
//!
//! A sync server on a temporary database; three volunteers of one village enroll
//! their devices, work offline (the same households included, one field changed on
//! two devices), sync in turn, and every device ends with the same households,
//! every visit kept and the clash listed for a decision.

use std::path::PathBuf;
use std::sync::Arc;

use field_core::{HouseholdEdit, NewHousehold, NewPerson, NewVisit, ServiceOutcome, Store};
use gocua_server::{Config, Storage, admin};

use crate::error::CliError;
use crate::i18n::Lang;
use crate::output::{Out, short};

const COMMUNE: &str = "00715"; // Xã Lũng Cú, Tuyên Quang
const VILLAGE: &str = "Thôn Lô Lô Chải";
const VOLUNTEERS: [(&str, &str); 3] = [
    ("lan", "Nguyễn Thị Lan"),
    ("hung", "Lò Văn Hùng"),
    ("mai", "Giàng Thị Mai"),
];

fn say(out: Out, vi: String, en: String) {
    if !out.json {
        println!("{}", if out.lang == Lang::En { en } else { vi });
    }
}

fn server_error(e: impl std::fmt::Display) -> CliError {
    CliError::Demo(e.to_string())
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

/// A server on `dir/server`, in a runtime of its own, stopped on drop.
struct DemoServer {
    url: String,
    storage: Arc<dyn Storage>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<()>>,
    runtime: tokio::runtime::Runtime,
}

impl DemoServer {
    fn start(dir: &std::path::Path) -> Result<DemoServer, CliError> {
        let server_dir = dir.join("server");
        std::fs::create_dir_all(&server_dir).map_err(|source| CliError::Write {
            path: server_dir.clone(),
            source,
        })?;
        let config = Config {
            log: "warn".into(),
            ..Config::default()
        }
        .with_data_dir(&server_dir);
        let storage = gocua_server::open_storage(&config).map_err(server_error)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(server_error)?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(server_error)?;
        let addr = listener.local_addr().map_err(server_error)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = storage.clone();
        let served = runtime.spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(e) =
                gocua_server::launch_with_storage(config, shared, listener, shutdown).await
            {
                tracing::error!(error = %e, "demo server stopped");
            }
        });
        Ok(DemoServer {
            url: format!("http://{addr}"),
            storage,
            stop: Some(stop),
            served: Some(served),
            runtime,
        })
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Graceful shutdown: wait until the server has finished.
        if let Some(served) = self.served.take() {
            let _ = self.runtime.block_on(served);
        }
    }
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

    // 1. The server and the commune's set-up.
    let server = DemoServer::start(&dir)?;
    let s = server.storage.as_ref();
    let village = admin::add_village(s, COMMUNE, VILLAGE).map_err(server_error)?;
    let team = admin::add_team(
        s,
        &format!("Tổ Công nghệ số cộng đồng {VILLAGE}"),
        COMMUNE,
        std::slice::from_ref(&village.id),
    )
    .map_err(server_error)?;
    let mut devices = Vec::new();
    for (name, full) in VOLUNTEERS {
        let volunteer = admin::add_volunteer(s, full, None, &team.id).map_err(server_error)?;
        let (code, _) = admin::new_enroll_code(s, &volunteer.id, 1).map_err(server_error)?;
        let home = dir.join(name);
        std::fs::create_dir_all(&home).map_err(|source| CliError::Write {
            path: home.clone(),
            source,
        })?;
        let store = Store::open(home.join("store.sqlite"))?;
        field_core::sync::enroll(&store, &server.url, code.expose(), name)?;
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
    let visits_made = 6 + 6 + 3 + 1;
    say(
        out,
        format!(
            "3. Không có mạng: {visits_made} lượt hỗ trợ (có hộ được cả ba người đến), Hùng thêm một thành viên, Mai ghi một hộ mới; Lan và Hùng cùng sửa số điện thoại của hộ {}.",
            short(clash)
        ),
        format!(
            "3. Offline: {visits_made} visits (some households visited by all three), Hùng adds a member, Mai registers a new household; Lan and Hùng both change the phone of household {}.",
            short(clash)
        ),
    );

    // 4. Back in coverage, each syncs in turn; a second round brings everyone
    //    what the others sent after them.
    for d in [lan, hung, mai, lan, hung] {
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
            st.households,
            st.visits,
            if identical {
                "giống hệt nhau"
            } else {
                "KHÁC NHAU (lỗi!)"
            }
        ),
        format!(
            "4. Back in coverage, each device syncs: {} households, {} visits on each; the three devices are {}.",
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
            format!(
                "5. Chờ quyết định: hộ {} trường {}: {} (không mất giá trị nào).",
                short(&c.household_id),
                c.path,
                c.values.join(" | ")
            ),
            format!(
                "5. Waiting for a decision: household {} field {}: {} (no value lost).",
                short(&c.household_id),
                c.path,
                c.values.join(" | ")
            ),
        );
    }
    if kept {
        let cmd = format!(
            "gocua --data-dir {} conflicts resolve {} phone 0987654321",
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
            "conflicts": conflicts,
        });
        println!("{v}");
    }
    drop(server);
    if !identical {
        return Err(CliError::Diverged);
    }
    Ok(())
}
