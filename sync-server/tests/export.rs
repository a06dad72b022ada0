//! Record-level extracts (docs/reports.md, "Extracts") of what a real device
//! recorded and pushed: CSV read back with a CSV reader, XLSX with calamine,
//! JSON Lines; consent, pseudonyms, sensitive groups, areas and bad input.

// Test helpers: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use calamine::{Data, Reader, Xlsx};
use common::*;
use field_core::{
    InitRequest, NewConsent, NewHousehold, NewPerson, NewVisit, ServiceOutcome, Store,
};
use gocua_server::export::{Format, Lang, Pii, PseudonymKey, Request, write_extract};
use gocua_server::storage::{AreaScope, Storage};

const ID_NUMBER: &str = "001158012345";
const PHONE: &str = "0912000111";
const CONSENTING: &str = "Lò Thị Mai";
const WITHDRAWN: &str = "Hà Văn Tú";
const NEVER_ASKED: &str = "Vũ Thị Thu";

struct Setup {
    db: TestDb,
    out: PathBuf,
    /// As the device holds them: what figures are checked against.
    households: Vec<gocua_household::Household>,
}

/// An officer's province reads its area over HTTP, and nothing else.
async fn an_officer_reads_the_indicators_and_a_pseudonymized_extract_of_their_province(db: TestDb) {
    use gocua_server::admin;
    use gocua_server::storage::Role;
    let s = setup(db).await;
    let server = TestServer::start(&s.db).await;
    let st = admin_storage(&s.db);
    let province = st.commune_province(COMMUNE).unwrap().unwrap();
    let (_, officer) =
        admin::add_account(st.as_ref(), Role::Officer, "Sở KHCN", Some(&province)).unwrap();
    let other = if province == "01" { "04" } else { "01" };
    let (_, far) =
        admin::add_account(st.as_ref(), Role::Officer, "Elsewhere", Some(other)).unwrap();
    let c = client();
    let get = |token: String, path: String| {
        let c = c.clone();
        let url = server.url(&path);
        async move {
            c.get(url)
                .header(gocua_protocol::HEADER_PROTOCOL, "2")
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };

    // The indicators of the commune, as JSON.
    let r = get(
        officer.expose().to_string(),
        format!("/v1/report?area={COMMUNE}&level=village"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let report: gocua_report::Report = r.json().await.unwrap();
    assert_eq!(report.units.len(), 1);
    assert_eq!(report.units[0].reached_to_date.whole, 1);
    assert_eq!(report.units[0].reached_to_date.part, 1);

    // A pseudonymized extract of the province, as a file with its cursor.
    let r = get(
        officer.expose().to_string(),
        format!("/v1/export?area={province}&pii=pseudonymized&format=csv"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    assert!(r.headers().contains_key(gocua_protocol::HEADER_CURSOR));
    let file = s.out.join("officer.zip");
    std::fs::write(&file, r.bytes().await.unwrap()).unwrap();
    let tables = csv_tables(&file);
    let names = column(table(&tables, "nhan_khau.csv"), "Họ và tên");
    assert_eq!(names.len(), 1);
    // Excel text by default: ="PS-…".
    assert!(names[0].starts_with("=\"PS-"), "{names:?}");
    assert!(!format!("{tables:?}").contains(PHONE));

    // Another province's officer, full data, bad input: refused.
    for (token, path, status) in [
        (
            far.expose().to_string(),
            format!("/v1/report?area={COMMUNE}"),
            403,
        ),
        (
            far.expose().to_string(),
            format!("/v1/export?area={COMMUNE}&pii=pseudonymized"),
            403,
        ),
        (
            officer.expose().to_string(),
            format!("/v1/export?area={COMMUNE}&pii=full"),
            403,
        ),
        (
            officer.expose().to_string(),
            format!("/v1/export?area={COMMUNE}&pii=none&format=jsonl"),
            400,
        ),
        (
            officer.expose().to_string(),
            format!("/v1/export?area={COMMUNE}&pii=pseudonymized&period=2026-11"),
            400,
        ),
        (
            far.expose().to_string(),
            format!("/v1/export?area={COMMUNE}&pii=none&format=xlsx"),
            403,
        ),
        (
            officer.expose().to_string(),
            format!("/v1/export?area={COMMUNE}&pii=pseudonymized&format=pdf"),
            400,
        ),
        (
            officer.expose().to_string(),
            "/v1/report?area=99999".to_string(),
            400,
        ),
        (
            officer.expose().to_string(),
            format!("/v1/report?area={COMMUNE}&period=2026-13"),
            400,
        ),
    ] {
        let r = get(token, path.clone()).await;
        let (code, body) = error_of(r).await;
        assert_eq!(code, status, "{path}: {body:?}");
        assert!(!body.message.is_empty());
    }
    // The indicators as a spreadsheet.
    let r = get(
        officer.expose().to_string(),
        format!("/v1/export?area={COMMUNE}&pii=none&format=xlsx&level=village&lang=en"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(!r.headers().contains_key(gocua_protocol::HEADER_CURSOR));
    let file = s.out.join("indicators.xlsx");
    std::fs::write(&file, r.bytes().await.unwrap()).unwrap();
    let mut book: Xlsx<_> = calamine::open_workbook(&file).unwrap();
    assert_eq!(book.sheet_names(), ["report", "indicators", "reviews"]);
    let rows = sheet_rows(&mut book, "indicators");
    let village = &s.households[0].village_id;
    let r = indicator_row(&rows, village, "households_registered", "all");
    assert_eq!(r[6], Data::Float(s.households.len() as f64));

    // A commune officer reads their commune, not the province around it.
    let (_, commune_officer) = admin::add_commune_officer(st.as_ref(), "UBND xã", COMMUNE).unwrap();
    let r = get(
        commune_officer.expose().to_string(),
        format!("/v1/report?area={COMMUNE}&level=village"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = get(
        commune_officer.expose().to_string(),
        format!("/v1/export?area={COMMUNE}&pii=pseudonymized&format=jsonl"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("\"_manifest\""));
    let (code, body) = error_of(
        get(
            commune_officer.expose().to_string(),
            format!("/v1/report?area={province}"),
        )
        .await,
    )
    .await;
    assert_eq!(code, 403, "{body:?}");
    assert!(
        body.message.contains(&format!("commune {COMMUNE}")),
        "{body:?}"
    );
    // Nor another commune's indicators, refused as a report.
    let refused_before = st
        .audit_log(100)
        .unwrap()
        .iter()
        .filter(|e| e.entry.action == "report_refused")
        .count();
    let (code, body) = error_of(
        get(
            commune_officer.expose().to_string(),
            "/v1/export?area=00004&pii=none&format=csv".to_string(),
        )
        .await,
    )
    .await;
    assert_eq!(code, 403, "{body:?}");
    let refused: Vec<String> = st
        .audit_log(100)
        .unwrap()
        .into_iter()
        .filter(|e| e.entry.action == "report_refused")
        .map(|e| e.entry.subject)
        .collect();
    assert_eq!(refused.len(), refused_before + 1, "{refused:?}");
    assert!(refused.iter().any(|s| s == "area=00004"), "{refused:?}");

    let actions: Vec<String> = st
        .audit_log(100)
        .unwrap()
        .into_iter()
        .map(|e| e.entry.action)
        .collect();
    for a in [
        "report",
        "export_pseudonymized",
        "report_refused",
        "export_refused",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} not in {actions:?}");
    }
    server.stop().await;
}

/// A village of commune 00097 with one household of three members: one who
/// consented, one who withdrew, one never asked; an ethnic-minority household
/// with a visit; pushed by a real device and in the report projection.
async fn setup(db: TestDb) -> Setup {
    setup_with(db, 0).await
}

/// [`setup`], and `extra` more households of no members in the village,
/// every other one visited.
async fn setup_with(db: TestDb, extra: usize) -> Setup {
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "Tổ Thôn Đông", &["Thôn Đông"]);
    let c = client();
    let dev = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    let store = Store::open(
        db.dir.path().join("device.sqlite"),
        &field_core::StoreKey::Unencrypted,
    )
    .unwrap();
    store
        .init(InitRequest {
            volunteer_name: "Nguyễn Thị Lan".into(),
            volunteer_phone: None,
            team_name: "Tổ Thôn Đông".into(),
            commune_code: COMMUNE.into(),
            village_names: vec!["Thôn Đông".into()],
        })
        .unwrap();
    let h = store
        .add_household(NewHousehold {
            village: "Thôn Đông".into(),
            address: "Số 7, Xóm Đồi".into(),
            head_name: CONSENTING.into(),
            phone: Some(PHONE.into()),
            member_count: Some(3),
            device_access: Some("smartphone".into()),
            target_groups: vec!["elderly".into(), "ethnic_minority".into()],
        })
        .unwrap();
    let mut ids = Vec::new();
    for (name, id_number) in [
        (CONSENTING, Some(ID_NUMBER)),
        (WITHDRAWN, None),
        (NEVER_ASKED, None),
    ] {
        let p = store
            .add_member(
                &h.id,
                NewPerson {
                    name: name.into(),
                    birth_year: Some(1958),
                    gender: Some("female".into()),
                    id_number: id_number.map(String::from),
                    skills: Default::default(),
                },
            )
            .unwrap();
        ids.push(p.id);
    }
    for pid in &ids[..2] {
        store
            .record_consent(
                &h.id,
                NewConsent {
                    person_id: pid.clone(),
                    purpose: "Hỗ trợ cài đặt VNeID".into(),
                    method: "verbal".into(),
                    given_at: None,
                },
            )
            .unwrap();
    }
    let withdrawn = store
        .household(&h.id)
        .unwrap()
        .consents
        .into_iter()
        .find(|c| c.person_id == ids[1])
        .unwrap();
    store
        .withdraw_consent(&withdrawn.id, Some("không muốn".into()))
        .unwrap();
    store
        .record_visit(
            &h.id,
            NewVisit {
                person_ids: ids.clone(),
                services: vec![
                    ServiceOutcome {
                        service: "vneid_activate".into(),
                        outcome: "done".into(),
                        note: Some("đã kích hoạt mức 2".into()),
                    },
                    ServiceOutcome {
                        service: "ehealth_book".into(),
                        outcome: "partly".into(),
                        note: None,
                    },
                ],
                feedback: Some("Bà Mai rất vui".into()),
                ..Default::default()
            },
        )
        .unwrap();
    for i in 0..extra {
        let x = store
            .add_household(NewHousehold {
                village: "Thôn Đông".into(),
                address: String::new(),
                head_name: format!("Hộ số {i}"),
                phone: None,
                member_count: None,
                device_access: None,
                target_groups: Vec::new(),
            })
            .unwrap();
        if i % 2 == 0 {
            store
                .record_visit(
                    &x.id,
                    NewVisit {
                        services: vec![ServiceOutcome {
                            service: "vneid_activate".into(),
                            outcome: "done".into(),
                            note: None,
                        }],
                        ..Default::default()
                    },
                )
                .unwrap();
        }
    }
    let households = store.households_page(None, 1000).unwrap().households;
    let answer = push(&c, &s, &dev.token, store.export_changes(None).unwrap()).await;
    assert!(answer.refused.is_empty(), "{answer:?}");
    let observer = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    bootstrap_at(&c, &s, &observer.token, answer.last_seq).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let due = db.int("SELECT COUNT(*) FROM report_due");
        if due == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "report never written");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    s.stop().await;
    let out = db.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    Setup {
        db,
        out,
        households,
    }
}

fn request(format: Format, pii: Pii) -> Request {
    Request {
        format,
        pii,
        lang: Lang::Vi,
        sensitive: Vec::new(),
        csv_excel_text: false,
        sheet_rows: None,
    }
}

fn extract(st: &dyn Storage, r: &Request, key: &PseudonymKey, out: &Path) {
    let scope = st.area_scope(COMMUNE).unwrap().unwrap();
    assert_eq!(scope, AreaScope::Commune(COMMUNE.into()));
    write_extract(st, &scope, 0, r, key, out).unwrap();
}

/// The CSV files of a zipped extract, read with a CSV reader.
fn csv_tables(zip_path: &Path) -> Vec<(String, Vec<Vec<String>>)> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(zip_path).unwrap()).unwrap();
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        if !name.ends_with(".csv") {
            continue;
        }
        assert!(bytes.starts_with("\u{feff}".as_bytes()), "{name}: no BOM");
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&bytes[3..]);
        let rows = r
            .records()
            .map(|x| x.unwrap().iter().map(String::from).collect())
            .collect();
        out.push((name, rows));
    }
    out
}

fn table<'a>(tables: &'a [(String, Vec<Vec<String>>)], name: &str) -> &'a Vec<Vec<String>> {
    &tables.iter().find(|(n, _)| n == name).unwrap().1
}

fn column(rows: &[Vec<String>], header: &str) -> Vec<String> {
    let i = rows[0].iter().position(|h| h == header).unwrap();
    rows[1..].iter().map(|r| r[i].clone()).collect()
}

async fn csv_full_keeps_text_and_leaves_out_who_did_not_consent(db: TestDb) {
    let s = setup(db).await;
    let st = admin_storage(&s.db);
    let key = PseudonymKey::new(st.pseudonym_key().unwrap());
    let mut r = request(Format::Csv, Pii::Full);
    r.sensitive = vec!["ethnic_minority".into()];
    let out = s.out.join("full.zip");
    extract(st.as_ref(), &r, &key, &out);
    let tables = csv_tables(&out);
    let names: Vec<&str> = tables.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "ho.csv",
            "nhan_khau.csv",
            "luot_ho_tro.csv",
            "dich_vu.csv",
            "ho_da_roi.csv"
        ]
    );
    // A full extract lists no household as removed, only its header.
    assert_eq!(table(&tables, "ho_da_roi.csv").len(), 1);
    let persons = table(&tables, "nhan_khau.csv");
    // Only the member whose consent is on record and not withdrawn.
    assert_eq!(column(persons, "Họ và tên"), vec![CONSENTING.to_string()]);
    assert_eq!(column(persons, "Số định danh"), vec![ID_NUMBER.to_string()]);
    let households = table(&tables, "ho.csv");
    assert_eq!(column(households, "Điện thoại"), vec![PHONE.to_string()]);
    assert_eq!(column(households, "Mã xã"), vec![COMMUNE.to_string()]);
    assert_eq!(
        column(households, "Địa chỉ"),
        vec!["Số 7, Xóm Đồi".to_string()]
    );
    assert_eq!(
        column(households, "Nhóm đối tượng"),
        vec!["elderly,ethnic_minority".to_string()]
    );
    let visits = table(&tables, "luot_ho_tro.csv");
    assert_eq!(
        column(visits, "Số người được hỗ trợ"),
        vec!["3".to_string()]
    );
    assert_eq!(
        column(visits, "Phản hồi"),
        vec!["Bà Mai rất vui".to_string()]
    );
    assert!(column(visits, "Máy chủ nhận lúc")[0].ends_with('Z'));
    let text = format!("{tables:?}");
    assert!(
        !text.contains(WITHDRAWN) && !text.contains(NEVER_ASKED),
        "{text}"
    );

    // For Excel (the command's default): codes as text formulas, so that
    // leading zeros and 12-digit numbers survive opening the file.
    r.csv_excel_text = true;
    let excel = s.out.join("excel.zip");
    extract(st.as_ref(), &r, &key, &excel);
    let tables = csv_tables(&excel);
    assert_eq!(
        column(table(&tables, "ho.csv"), "Điện thoại"),
        vec![format!("=\"{PHONE}\"")]
    );
    assert_eq!(
        column(table(&tables, "nhan_khau.csv"), "Số định danh"),
        vec![format!("=\"{ID_NUMBER}\"")]
    );
    assert_eq!(
        column(table(&tables, "nhan_khau.csv"), "Năm sinh"),
        vec!["1958".to_string()]
    );
}

async fn pseudonymized_extracts_are_stable_and_change_with_the_key(db: TestDb) {
    let s = setup(db).await;
    let st = admin_storage(&s.db);
    let key = PseudonymKey::new(st.pseudonym_key().unwrap());
    let r = request(Format::Csv, Pii::Pseudonymized);
    let (a, b) = (s.out.join("a.zip"), s.out.join("b.zip"));
    extract(st.as_ref(), &r, &key, &a);
    extract(st.as_ref(), &r, &key, &b);
    let (ta, tb) = (csv_tables(&a), csv_tables(&b));
    assert_eq!(ta, tb, "the same key gives the same pseudonyms");
    let names = column(table(&ta, "nhan_khau.csv"), "Họ và tên");
    assert_eq!(names.len(), 1);
    assert!(names[0].starts_with("PS-"), "{names:?}");
    let text = format!("{ta:?}");
    for secret in [
        CONSENTING,
        WITHDRAWN,
        NEVER_ASKED,
        PHONE,
        ID_NUMBER,
        "Số 7",
        "Bà Mai",
        "ethnic_minority",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    st.rotate_pseudonym_key().unwrap();
    let key2 = PseudonymKey::new(st.pseudonym_key().unwrap());
    let c = s.out.join("c.zip");
    extract(st.as_ref(), &r, &key2, &c);
    let other = column(table(&csv_tables(&c), "nhan_khau.csv"), "Họ và tên");
    assert_ne!(other, names, "another key, other pseudonyms");
}

async fn xlsx_has_its_sheets_typed_cells_and_a_chart(db: TestDb) {
    let s = setup(db).await;
    let st = admin_storage(&s.db);
    let key = PseudonymKey::new(st.pseudonym_key().unwrap());
    let out = s.out.join("x.xlsx");
    extract(st.as_ref(), &request(Format::Xlsx, Pii::Full), &key, &out);
    let mut book: Xlsx<_> = calamine::open_workbook(&out).unwrap();
    assert_eq!(
        book.sheet_names(),
        [
            "tong_hop",
            "theo_thon",
            "theo_to",
            "ho",
            "nhan_khau",
            "luot_ho_tro",
            "dich_vu",
            "ho_da_roi",
        ]
    );
    let by_team = book.worksheet_range("theo_to").unwrap();
    assert_eq!(
        by_team.get((1, 2)),
        Some(&Data::String("Tổ Thôn Đông".into()))
    );
    assert_eq!(by_team.get((1, 3)), Some(&Data::Float(1.0)));
    let by_village = book.worksheet_range("theo_thon").unwrap();
    assert_eq!(
        by_village.get((1, 2)),
        Some(&Data::String("Thôn Đông".into()))
    );
    let summary = book.worksheet_range("tong_hop").unwrap();
    assert_eq!(
        summary.get((0, 3)),
        Some(&Data::String("Hộ đã đăng ký".into()))
    );
    assert_eq!(summary.get((1, 1)), Some(&Data::String(COMMUNE.into())));
    assert_eq!(summary.get((1, 3)), Some(&Data::Float(1.0)));
    assert_eq!(summary.get((1, 5)), Some(&Data::Float(100.0)));
    let persons = book.worksheet_range("nhan_khau").unwrap();
    let header: Vec<String> = persons
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let id = header.iter().position(|h| h == "Số định danh").unwrap();
    let year = header.iter().position(|h| h == "Năm sinh").unwrap();
    let row: Vec<Data> = persons.rows().nth(1).unwrap().to_vec();
    // The ID number stays text with its leading zeros; the year is a number.
    assert_eq!(row[id], Data::String(ID_NUMBER.into()));
    assert_eq!(row[year], Data::Float(1958.0));
    assert_eq!(persons.rows().count(), 2, "the header and one person");
    // A table longer than a sheet goes on in the next one.
    let mut r = request(Format::Xlsx, Pii::Pseudonymized);
    r.sheet_rows = Some(1);
    let split = s.out.join("split.xlsx");
    extract(st.as_ref(), &r, &key, &split);
    let mut split_book: Xlsx<_> = calamine::open_workbook(&split).unwrap();
    assert_eq!(
        split_book.sheet_names(),
        [
            "tong_hop",
            "theo_thon",
            "theo_to",
            "ho",
            "nhan_khau",
            "luot_ho_tro",
            "dich_vu",
            "dich_vu_2",
            "ho_da_roi"
        ]
    );
    for sheet in ["dich_vu", "dich_vu_2"] {
        let range = split_book.worksheet_range(sheet).unwrap();
        assert_eq!(range.rows().count(), 2, "{sheet}: its header and one row");
    }
    // The coverage chart is in the file.
    let z = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    assert!(
        z.file_names()
            .any(|n| n.is_ok_and(|n| n.starts_with("xl/charts/chart")))
    );
}

async fn jsonl_and_bad_input_through_the_command(db: TestDb) {
    let s = setup(db).await;
    let bin = env!("CARGO_BIN_EXE_gocua-server");
    let run = |args: &[&str]| {
        Command::new(bin)
            .arg("--database")
            .arg(&s.db)
            .args(args)
            .output()
            .unwrap()
    };
    let out = s.out.join("x.jsonl");
    let o = run(&[
        "--json",
        "export",
        "--area",
        COMMUNE,
        "--format",
        "jsonl",
        "--pii",
        "pseudonymized",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["rows"]["persons"], 1, "{report}");
    assert_eq!(report["persons_without_consent"], 2, "{report}");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.last().unwrap()["table"], "_manifest");
    assert_eq!(lines.iter().filter(|l| l["table"] == "visits").count(), 1);
    // Nothing changed since: the next incremental extract is empty.
    let cursor = report["cursor"].as_u64().unwrap();
    let again = s.out.join("again.jsonl");
    let o = run(&[
        "--json",
        "export",
        "--area",
        COMMUNE,
        "--format",
        "jsonl",
        "--pii",
        "pseudonymized",
        "--since",
        &cursor.to_string(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["rows"]["households"], 0, "{report}");
    // The export was audited.
    let audit =
        s.db.int("SELECT COUNT(*) FROM audit WHERE action = 'export_pseudonymized'");
    assert_eq!(audit, 2);

    // Bad input: exit 2, a message naming what was wrong, no file.
    let bad = s.out.join("bad.zip");
    for (args, says) in [
        (
            vec!["--area", "99999", "--pii", "full"],
            "unknown area \"99999\"",
        ),
        (
            vec!["--area", COMMUNE, "--pii", "everything"],
            "unknown PII level",
        ),
        (
            vec!["--area", COMMUNE, "--pii", "full", "--format", "pdf"],
            "unknown format",
        ),
        (
            vec!["--area", COMMUNE, "--pii", "none", "--format", "jsonl"],
            "indicators only",
        ),
        (
            vec![
                "--area",
                COMMUNE,
                "--pii",
                "pseudonymized",
                "--include-sensitive",
                "ethnic_minority",
            ],
            "only with --pii full",
        ),
    ] {
        let mut a = vec!["export"];
        a.extend(args);
        a.extend(["--out", bad.to_str().unwrap()]);
        let o = run(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{a:?}: {err}");
        assert!(err.contains(says), "{a:?}: {err}");
        assert!(!bad.exists());
        assert!(std::fs::read_dir(&s.out).unwrap().all(|e| {
            !e.unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".partial")
        }));
    }
}

/// The cells of a sheet as text (numbers as calamine reads them).
fn sheet_rows(book: &mut Xlsx<std::io::BufReader<std::fs::File>>, name: &str) -> Vec<Vec<Data>> {
    book.worksheet_range(name)
        .unwrap()
        .rows()
        .map(|r| r.to_vec())
        .collect()
}

/// The row of `indicator` and `breakdown` for `unit`, in a sheet of the
/// indicators whose first columns are unit code, unit, indicator code.
fn indicator_row<'a>(
    rows: &'a [Vec<Data>],
    unit: &str,
    indicator: &str,
    breakdown: &str,
) -> &'a [Data] {
    let text = |d: &Data| d.to_string();
    rows.iter()
        .find(|r| text(&r[0]) == unit && text(&r[2]) == indicator && text(&r[4]) == breakdown)
        .unwrap_or_else(|| panic!("no {indicator} {breakdown} for {unit} in {rows:?}"))
}

/// `--pii none`: the indicators as a spreadsheet, the same report as
/// `gocua-server report`, checked against what the device recorded.
async fn pii_none_gives_the_indicators_as_a_spreadsheet(db: TestDb) {
    let s = setup_with(db, 4).await;
    // Counted here from the device's own households, not from the server.
    let registered = s.households.len() as f64;
    let visited = s.households.iter().filter(|h| !h.visits.is_empty()).count() as f64;
    assert_eq!((registered, visited), (5.0, 3.0));
    let village = &s.households[0].village_id;
    let bin = env!("CARGO_BIN_EXE_gocua-server");
    let run = |args: &[&str]| {
        Command::new(bin)
            .arg("--database")
            .arg(&s.db)
            .args(args)
            .output()
            .unwrap()
    };

    // XLSX in Vietnamese, by village.
    let xlsx = s.out.join("chi_tieu.xlsx");
    let o = run(&[
        "--json",
        "export",
        "--area",
        COMMUNE,
        "--pii",
        "none",
        "--format",
        "xlsx",
        "--level",
        "village",
        "--out",
        xlsx.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let done: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(done["pii"], "none", "{done}");
    assert_eq!(done["level"], "village", "{done}");
    let mut book: Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    assert_eq!(book.sheet_names(), ["bao_cao", "chi_tieu", "xem_lai"]);
    let rows = sheet_rows(&mut book, "chi_tieu");
    assert_eq!(
        rows[0].iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        [
            "Mã đơn vị",
            "Đơn vị",
            "Mã chỉ tiêu",
            "Chỉ tiêu",
            "Phân tổ",
            "Trong kỳ",
            "Lũy kế / hiện tại",
            "Tỷ lệ (%)"
        ]
    );
    let r = indicator_row(&rows, village, "households_registered", "all");
    assert_eq!(r[1], Data::String("Thôn Đông".into()));
    assert_eq!(r[3], Data::String("Hộ đã đăng ký".into()));
    // Registered today: in the period and to date.
    assert_eq!(
        (&r[5], &r[6]),
        (&Data::Float(registered), &Data::Float(registered))
    );
    let r = indicator_row(&rows, village, "households_visited", "all");
    assert_eq!(r[6], Data::Float(visited));
    let r = indicator_row(&rows, village, "households_reached_to_date", "all");
    assert_eq!(r[5], Data::Empty);
    assert_eq!(
        r[7],
        Data::Float((visited * 1000.0 / registered).round() / 10.0)
    );
    // A state has no count in the period.
    let r = indicator_row(&rows, village, "persons", "age=other_ages");
    assert_eq!((&r[5], &r[6]), (&Data::Empty, &Data::Float(3.0)));
    let terms = sheet_rows(&mut book, "bao_cao");
    let term = |label: &str| {
        terms
            .iter()
            .find(|r| matches!(&r[0], Data::String(s) if s == label))
            .map(|r| r[1].clone())
            .unwrap()
    };
    // The commune code keeps its leading zeros: a text cell.
    assert_eq!(term("Mã địa bàn"), Data::String(COMMUNE.into()));
    assert_eq!(term("Cấp"), Data::String("village".into()));
    let reviews = sheet_rows(&mut book, "xem_lai");
    assert_eq!(reviews[0][0], Data::String("Mã hộ".into()));

    // CSV in English, by commune, with the day and period given: the same
    // figures the report gives for them.
    let zip_out = s.out.join("indicators.zip");
    let o = run(&[
        "export",
        "--area",
        COMMUNE,
        "--pii",
        "none",
        "--format",
        "csv",
        "--lang",
        "en",
        "--today",
        "2030-01-05",
        "--period",
        "2030-01",
        "--out",
        zip_out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let tables = csv_tables(&zip_out);
    let names: Vec<&str> = tables.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["indicators.csv", "reviews.csv"]);
    let rows = table(&tables, "indicators.csv");
    assert_eq!(
        rows[0],
        [
            "Unit code",
            "Unit",
            "Indicator code",
            "Indicator",
            "Breakdown",
            "In period",
            "To date / now",
            "Value (%)"
        ]
    );
    let unit = format!("=\"{COMMUNE}\"");
    let r = rows
        .iter()
        .find(|r| r[0] == unit && r[2] == "households_registered" && r[4] == "all")
        .unwrap_or_else(|| panic!("{rows:?}"));
    // Nothing registered in January 2030; all of them to its end.
    assert_eq!(r[3], "Households registered");
    assert_eq!(
        (r[5].as_str(), r[6].parse::<f64>().unwrap()),
        ("0", registered)
    );
    let mut z = zip::ZipArchive::new(std::fs::File::open(&zip_out).unwrap()).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_reader(z.by_name("manifest.json").unwrap()).unwrap();
    assert_eq!(manifest["period"], "2030-01", "{manifest}");
    assert_eq!(manifest["today"], "2030-01-05", "{manifest}");
    assert_eq!(manifest["area"], COMMUNE, "{manifest}");
    assert_eq!(manifest["pii"], "none", "{manifest}");

    // The report's terms do not apply to records; jsonl is not a spreadsheet.
    let bad = s.out.join("bad.zip");
    for (args, says) in [
        (
            vec!["--pii", "pseudonymized", "--period", "2030-01"],
            "--period is for the indicators",
        ),
        (
            vec!["--pii", "none", "--format", "jsonl"],
            "indicators only",
        ),
        (vec!["--pii", "none", "--level", "hamlet"], "unknown level"),
    ] {
        let mut a = vec!["export", "--area", COMMUNE];
        a.extend(args);
        a.extend(["--out", bad.to_str().unwrap()]);
        let o = run(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{a:?}: {err}");
        assert!(err.contains(says), "{a:?}: {err}");
        assert!(!bad.exists());
    }
}

common::on_both!(
    an_officer_reads_the_indicators_and_a_pseudonymized_extract_of_their_province,
    csv_full_keeps_text_and_leaves_out_who_did_not_consent,
    pseudonymized_extracts_are_stable_and_change_with_the_key,
    xlsx_has_its_sheets_typed_cells_and_a_chart,
    jsonl_and_bad_input_through_the_command,
    pii_none_gives_the_indicators_as_a_spreadsheet,
);
