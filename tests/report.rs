//! `gocua report` end to end: the real binary on a device with known visits.

use gocua_tests::{Device, str_field, text};
use serde_json::Value;

fn figure<'a>(unit: &'a Value, indicator: &str, by: &str) -> Option<&'a Value> {
    unit["figures"]
        .as_array()?
        .iter()
        .find(|f| f["indicator"] == indicator && f["breakdown"]["by"] == by)
}

/// Two households in Thôn Đông, one in Thôn Tây; visits on both sides of the
/// 15th, with periods running from the 15th to the 14th.
#[test]
fn the_device_report_counts_its_own_visits_by_period() {
    let d = Device::new();
    d.init("Nguyễn Thị Lan", &["Thôn Đông", "Thôn Tây"]);
    let h1 = d.add_household(&[
        "--village",
        "thon dong",
        "--head",
        "Nguyễn Văn Hạnh",
        "--devices",
        "smartphone",
        "--group",
        "elderly",
    ]);
    let h2 = d.add_household(&["--village", "thon dong", "--head", "Trần Văn Bình"]);
    let h3 = d.add_household(&["--village", "thon tay", "--head", "Lê Thị Mai"]);
    let m1 = str_field(
        &d.json(&[
            "member",
            "add",
            &h1,
            "--name",
            "Nguyễn Văn Hạnh",
            "--birth-year",
            "1980",
        ]),
        "id",
    );
    let visit = |h: &str, at: &str, service: &str, extra: &[&str]| {
        let mut args = vec![
            "visit",
            "record",
            h,
            "--service",
            service,
            "--at",
            at,
            "--entered-late",
        ];
        args.extend_from_slice(extra);
        d.json(&args);
    };
    // Period 2026-11 is 2026-10-15 .. 2026-11-14.
    visit(
        &h1,
        "2026-10-20 09:00",
        "vneid_activate:done",
        &["--person", &m1],
    );
    visit(
        &h1,
        "2026-11-14 20:00",
        "vneid_activate:done",
        &["--person", &m1],
    );
    visit(
        &h2,
        "2026-11-02 09:00",
        "bank_account:blocked",
        &["--follow-up", "2026-11-18"],
    );
    // Period 2026-12 (from 2026-11-15), and 2026-10 (before the 15th).
    visit(&h2, "2026-11-15 08:00", "scam_awareness:done", &[]);
    visit(&h3, "2026-10-14 09:00", "smartphone_replacement:done", &[]);

    let r = d.json(&[
        "report",
        "--period",
        "2026-11",
        "--periods-start-day",
        "15",
        "--level",
        "village",
        "--today",
        "2026-11-16",
    ]);
    assert_eq!(r["period"], "2026-11");
    assert_eq!(r["first_day"], "2026-10-15");
    assert_eq!(r["last_day"], "2026-11-14");
    let units = r["units"].as_array().unwrap();
    assert_eq!(units.len(), 2, "{r}");
    let ids = d.json(&["status"]);
    let dong = ids["identity"]["villages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "Thôn Đông")
        .unwrap()["id"]
        .clone();
    let dong = units.iter().find(|u| u["unit"] == dong).unwrap();
    let tay = units.iter().find(|u| u["unit"] != dong["unit"]).unwrap();

    let visits = figure(dong, "visits", "all").unwrap();
    assert_eq!(
        (visits["period"].as_u64(), visits["running_total"].as_u64()),
        (Some(3), Some(3))
    );
    let visited = figure(dong, "households_visited", "all").unwrap();
    assert_eq!(visited["period"], 2);
    assert_eq!(visited["running_total"], 2);
    // Nguyễn Văn Hạnh, helped twice with VNeID in the period: one person.
    let people = dong["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["indicator"] == "people_supported" && f["breakdown"]["service"] == "vneid_activate"
        })
        .unwrap();
    assert_eq!(people["period"], 1);
    // The follow-up of 2026-11-18 was closed by the visit of 2026-11-15 (later).
    assert_eq!(dong["follow_ups"]["due"], 0);
    assert_eq!(dong["follow_ups"]["overdue"], 0);
    // Thôn Tây: its only visit was on 2026-10-14, period 2026-10.
    let tay_visits = figure(tay, "visits", "all").unwrap();
    assert_eq!(
        (
            tay_visits["period"].as_u64(),
            tay_visits["running_total"].as_u64()
        ),
        (Some(0), Some(1))
    );
    assert_eq!(tay["roster"]["villages_with_team"], 1);

    // The commune level sums the two villages; the text is Vietnamese by default.
    let c = d.json(&[
        "report",
        "--period",
        "2026-12",
        "--periods-start-day",
        "15",
        "--level",
        "commune",
    ]);
    let unit = &c["units"][0];
    assert_eq!(unit["unit"], "00004");
    assert_eq!(figure(unit, "visits", "all").unwrap()["period"], 1);
    assert_eq!(figure(unit, "visits", "all").unwrap()["running_total"], 5);
    assert_eq!(unit["roster"]["villages"], 2);
    let table = d.ok(&["report", "--period", "2026-11", "--periods-start-day", "15"]);
    assert!(
        table.contains("Hộ được hỗ trợ") && table.contains("Thôn Đông"),
        "{table}"
    );
    let table = d.ok(&[
        "--lang",
        "en",
        "report",
        "--period",
        "2026-11",
        "--periods-start-day",
        "15",
    ]);
    assert!(table.contains("Households visited"), "{table}");
}

#[test]
fn bad_report_options_are_named_and_exit_2() {
    let d = Device::new();
    d.init("Nguyễn Thị Lan", &["Thôn Đông"]);
    for (args, option) in [
        (&["report", "--period", "2026-13"][..], "period"),
        (&["report", "--period", "11/2026"][..], "period"),
        (
            &["report", "--periods-start-day", "31"][..],
            "periods_start_day",
        ),
        (&["report", "--level", "district"][..], "level"),
        (&["report", "--format", "xlsx"][..], "format"),
        (&["report", "--today", "yesterday"][..], "today"),
    ] {
        let out = d.run(&[&["--json"][..], args].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err: Value = serde_json::from_str(text(&out.stderr).trim()).unwrap();
        assert_eq!(err["field"], option, "{args:?}");
        assert_eq!(err["error"], "bad_report_option");
        let out = d.run(&[&["--lang", "en"][..], args].concat());
        assert_eq!(out.status.code(), Some(2));
        let msg = text(&out.stderr);
        assert!(
            msg.contains(&format!("--{}", option.replace('_', "-"))),
            "{msg}"
        );
    }
}
