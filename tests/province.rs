//! The province's side, with the real programs: a volunteer's device syncs,
//! the operator creates an officer's account, and the officer downloads the
//! indicators and a pseudonymized extract of the province with `gocua
//! export`; what the account may not have is refused with exit 2 and leaves
//! no file (docs/reports.md).

use std::time::Duration;

use gocua_tests::{COMMAND_TIMEOUT, COMMUNE, Device, Server, Team, str_field, text, wait_until};
use serde_json::Value;

#[test]
fn an_officer_downloads_the_indicators_and_an_extract_of_the_province() {
    let server = Server::start();
    let team = Team::create(&server, "Thôn Đông");
    let volunteer = team.enroll(&server, &server.url());
    let h = volunteer.add_household(&["--head", "Nguyễn Văn Hạnh", "--phone", "0912000111"]);
    volunteer.ok(&["visit", "record", &h, "--service", "vneid_activate:done"]);
    volunteer.sync();

    // The team's village is in Phường Ba Đình (00004), Hà Nội (01).
    let commune_code = COMMUNE.to_string();
    let province = "01".to_string();
    let officer = server.admin(&[
        "account",
        "add",
        "--role",
        "officer",
        "--name",
        "Sở KHCN",
        "--province",
        &province,
    ]);
    let token = str_field(&officer, "token");
    let far_province = "04";
    let far = str_field(
        &server.admin(&[
            "account",
            "add",
            "--role",
            "officer",
            "--name",
            "Elsewhere",
            "--province",
            far_province,
        ]),
        "token",
    );

    let desk = Device::new();
    let url = server.url();
    let export = |token: &str, args: &[&str]| {
        let mut a = vec![
            "--json",
            "export",
            "--server",
            url.as_str(),
            "--token",
            token,
        ];
        a.extend_from_slice(args);
        desk.run_timeout(&a, COMMAND_TIMEOUT)
    };

    // The indicators, once the server has counted the household.
    let report = desk.file("report.json");
    let report_path = report.to_string_lossy().to_string();
    wait_until(
        Duration::from_secs(60),
        "the household in the indicators",
        || {
            let out = export(
                &token,
                &[
                    "--area",
                    &commune_code,
                    "--format",
                    "json",
                    "--level",
                    "village",
                    "--out",
                    &report_path,
                ],
            );
            out.status.success()
                && std::fs::read(&report)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                    .is_some_and(|r| r["units"][0]["reached_to_date"]["part"] == 1)
        },
    );
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["units"][0]["unit"], team.village_id.as_str(), "{r}");
    assert_eq!(r["units"][0]["reached_to_date"]["whole"], 1, "{r}");

    // A pseudonymized extract of the province, as XLSX (a zip container).
    let xlsx = desk.file("tinh.xlsx");
    let xlsx_path = xlsx.to_string_lossy().to_string();
    let out = export(
        &token,
        &["--area", &province, "--format", "xlsx", "--out", &xlsx_path],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(done["cursor"].as_u64().is_some(), "{done}");
    let bytes = std::fs::read(&xlsx).unwrap();
    assert!(bytes.starts_with(b"PK"), "not an XLSX file");
    assert_eq!(done["bytes"].as_u64(), Some(bytes.len() as u64));

    // The indicators as a spreadsheet: a zip of CSV files, with the village's
    // one household registered.
    let sheets = desk.file("chi-tieu.zip");
    let sheets_path = sheets.to_string_lossy().to_string();
    let out = export(
        &token,
        &[
            "--area",
            &commune_code,
            "--pii",
            "none",
            "--format",
            "csv",
            "--level",
            "village",
            "--out",
            &sheets_path,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut z = zip::ZipArchive::new(std::fs::File::open(&sheets).unwrap()).unwrap();
    let name = ["chi_tieu.csv", "indicators.csv"]
        .into_iter()
        .find(|n| z.by_name(n).is_ok())
        .unwrap();
    let mut r = csv::Reader::from_reader(z.by_name(name).unwrap());
    let registered: Vec<String> = r
        .records()
        .map(|x| x.unwrap())
        .filter(|x| {
            x.get(0)
                .is_some_and(|u| u.contains(team.village_id.as_str()))
                && x.get(2) == Some("households_registered")
                && x.get(4) == Some("all")
        })
        .map(|x| x.get(6).unwrap_or_default().to_string())
        .collect();
    assert_eq!(registered, ["1"]);

    // Refused: another province, full data, a wrong format or level; exit
    // 2, a message naming it in the user's language (the server's English
    // message is not shown), no file.
    let refused = desk.file("refused.zip");
    let refused_path = refused.to_string_lossy().to_string();
    for (who, args, says) in [
        (
            far.as_str(),
            vec!["--area", commune_code.as_str(), "--format", "csv"],
            "ngoài phạm vi",
        ),
        (
            token.as_str(),
            vec![
                "--area",
                commune_code.as_str(),
                "--format",
                "csv",
                "--pii",
                "full",
            ],
            "chỉ được xuất trên chính máy chủ",
        ),
        (
            token.as_str(),
            vec!["--area", commune_code.as_str(), "--format", "pdf"],
            "--format",
        ),
        (
            token.as_str(),
            vec!["--area", "99999", "--format", "csv"],
            "99999",
        ),
        (
            token.as_str(),
            vec![
                "--area",
                commune_code.as_str(),
                "--format",
                "csv",
                "--period",
                "2026-11",
            ],
            "--period",
        ),
    ] {
        let mut a = args.clone();
        a.extend(["--out", refused_path.as_str()]);
        let out = export(who, &a);
        let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{a:?}: {said}");
        assert!(said.contains(says), "{a:?}: {said}");
        assert!(!refused.exists());
        assert!(!desk.file("refused.zip.partial").exists());
    }
}
