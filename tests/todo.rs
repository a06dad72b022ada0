//! The volunteer's day through the real binary: `gocua todo`, `gocua summary`,
//! the services to offer next in `household show`, and a province's own rules
//! (`gocua catalogue --load-suggestions`). Days are fixed with `--today`.

use gocua_tests::{Device, str_field, text};
use serde_json::Value;

const TODAY: &str = "2026-10-20";

/// `visit record` with one service, dated in Vietnam time, entered late (the
/// households are registered today, after these dates).
fn visit(d: &Device, h: &str, at: &str, service: &str, extra: &[&str]) {
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
}

fn heads_and_reasons(list: &Value) -> Vec<(String, String)> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {list}"))
        .iter()
        .map(|i| (str_field(i, "head_name"), str_field(&i["reason"], "kind")))
        .collect()
}

fn offered(item: &Value) -> Vec<String> {
    item["suggestions"]
        .as_array()
        .unwrap_or_else(|| panic!("no suggestions in {item}"))
        .iter()
        .map(|s| str_field(s, "service"))
        .collect()
}

fn item<'a>(list: &'a Value, head: &str) -> &'a Value {
    list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["head_name"] == head))
        .unwrap_or_else(|| panic!("{head} not in {list}"))
}

fn refused(d: &Device, args: &[&str]) -> String {
    let out = d.run(args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    stderr
}

#[test]
fn a_day_in_the_village_to_do_summary_and_services_to_offer() {
    let d = Device::new();
    d.init("Lò Thị Mai", &["Thôn Đông", "Thôn Tây"]);
    let trader = d.add_household(&[
        "--village",
        "Thôn Đông",
        "--head",
        "Nguyễn Văn Hạnh",
        "--address",
        "Xóm 3",
        "--group",
        "small_trader",
    ]);
    let elder = d.add_household(&["--village", "Thôn Đông", "--head", "Trần Thị Thủy"]);
    let member = d.json(&[
        "member",
        "add",
        &elder,
        "--name",
        "Trần Thị Thủy",
        "--birth-year",
        "1958",
        "--vneid-activated",
        "false",
    ]);
    let never = d.add_household(&["--village", "Thôn Tây", "--head", "Đàm Thị Lan"]);
    let back = d.add_household(&["--village", "Thôn Đông", "--head", "Lê Văn Quay"]);
    let old = d.add_household(&["--village", "Thôn Tây", "--head", "Vũ Thị Cũ"]);

    visit(
        &d,
        &trader,
        "2026-10-02 09:00",
        "vneid_register",
        &["--follow-up", "2026-10-13"],
    );
    visit(
        &d,
        &elder,
        "2026-09-15 09:00",
        "vneid_register",
        &["--follow-up", TODAY],
    );
    // Settled: a follow-up, then a visit on a later day.
    visit(
        &d,
        &back,
        "2026-09-10 09:00",
        "vneid_register",
        &["--follow-up", "2026-09-20"],
    );
    visit(&d, &back, "2026-10-05 09:00", "vneid_activate", &[]);
    visit(&d, &old, "2026-08-01 09:00", "scam_awareness", &[]);

    let list = d.json(&["todo", "--today", TODAY]);
    assert_eq!(
        heads_and_reasons(&list),
        [
            ("Nguyễn Văn Hạnh".to_string(), "overdue".to_string()),
            ("Trần Thị Thủy".into(), "due".into()),
            ("Đàm Thị Lan".into(), "never_visited".into()),
            ("Vũ Thị Cũ".into(), "not_visited_this_period".into()),
        ],
        "{list}"
    );
    assert_eq!(list["items"][0]["reason"]["days"], 7);
    assert_eq!(list["items"][0]["reason"]["follow_up_on"], "2026-10-13");
    assert_eq!(list["items"][3]["reason"]["last_visit_on"], "2026-08-01");
    assert_eq!(list["items"][2]["household_id"], never.as_str());
    assert_eq!(list["counts"]["overdue"], 1);
    assert_eq!(list["counts"]["not_visited_this_period"], 1);
    assert_eq!(
        offered(item(&list, "Nguyễn Văn Hạnh")),
        ["bank_account", "ecommerce"]
    );
    assert_eq!(
        offered(item(&list, "Trần Thị Thủy")),
        ["vneid_activate", "telemedicine", "ehealth_book"]
    );

    // In words, in both languages.
    let vi = d.ok(&["todo", "--today", TODAY]);
    for needle in [
        "Quá hạn 7 ngày",
        "Đến hạn hôm nay",
        "Chưa được hỗ trợ lần nào",
        "lần cuối ngày 2026-08-01",
        "Nên hỗ trợ tiếp: Mở tài khoản ngân hàng, ví điện tử",
        &trader[trader.len() - 8..],
    ] {
        assert!(vi.contains(needle), "{needle:?} missing in:\n{vi}");
    }
    let en = d.ok(&["--lang", "en", "todo", "--today", TODAY]);
    for needle in [
        "Overdue by 7 days",
        "Due today",
        "Never visited",
        "Services to offer next: Bank or e-wallet account",
    ] {
        assert!(en.contains(needle), "{needle:?} missing in:\n{en}");
    }

    // Filters: a group, a village by name without tones, mine (never-visited
    // households are the team's), a limit that keeps the counts.
    let traders = d.json(&["todo", "--today", TODAY, "--group", "small_trader"]);
    assert_eq!(heads_and_reasons(&traders).len(), 1);
    let west = d.json(&["todo", "--today", TODAY, "--village", "thon tay"]);
    assert_eq!(
        heads_and_reasons(&west),
        [
            ("Đàm Thị Lan".to_string(), "never_visited".to_string()),
            ("Vũ Thị Cũ".into(), "not_visited_this_period".into()),
        ]
    );
    let mine = d.json(&["todo", "--today", TODAY, "--mine"]);
    assert!(
        !heads_and_reasons(&mine)
            .iter()
            .any(|(_, r)| r == "never_visited"),
        "{mine}"
    );
    assert_eq!(heads_and_reasons(&mine).len(), 3);
    let one = d.json(&["todo", "--today", TODAY, "--limit", "1"]);
    assert_eq!(heads_and_reasons(&one).len(), 1);
    assert_eq!(one["counts"]["never_visited"], 1);

    // The due follow-up is kept today: VNeID activated, the elder helped.
    let pid = str_field(&member, "id");
    visit(
        &d,
        &elder,
        "2026-10-20 08:00",
        "vneid_activate",
        &["--person", &pid, "--duration", "40"],
    );
    let list = d.json(&["todo", "--today", TODAY]);
    assert!(
        !heads_and_reasons(&list)
            .iter()
            .any(|(h, _)| h == "Trần Thị Thủy"),
        "{list}"
    );
    // Activation done: no longer offered; the health services still are.
    let shown = d.json(&["household", "show", &elder]);
    assert_eq!(offered(&shown), ["telemedicine", "ehealth_book"]);
    assert_eq!(
        shown["suggestions"][0]["reasons"][0]["rule"],
        "elderly_member"
    );
    let shown = d.ok(&["household", "show", &elder]);
    assert!(
        shown.contains("Nên hỗ trợ tiếp:\n- Khám chữa bệnh từ xa — Có người từ 60 tuổi"),
        "{shown}"
    );
    let shown = d.ok(&["--lang", "en", "household", "show", &elder]);
    assert!(
        shown.contains("Services to offer next:\n- Telemedicine app — Someone aged 60 or more"),
        "{shown}"
    );

    // October's work: three visits (the September ones are not in it), two
    // follow-ups settled (one of them September's), one set.
    let sum = d.json(&["summary", "--period", "2026-10", "--today", TODAY]);
    assert_eq!(sum["scope"], "mine");
    assert_eq!(sum["who"], "Lò Thị Mai");
    assert_eq!(sum["first_day"], "2026-10-01");
    assert_eq!(sum["last_day"], "2026-10-31");
    assert_eq!(sum["visits"], 3);
    assert_eq!(sum["households_visited"], 3);
    assert_eq!(sum["people_helped"], 1);
    assert_eq!(sum["minutes"], 40);
    assert_eq!(sum["follow_ups_set"], 1);
    assert_eq!(sum["follow_ups_settled"], 2);
    assert_eq!(sum["follow_ups_open"], 1);
    assert_eq!(sum["services"][0]["service"], "vneid_register");
    assert_eq!(
        sum["services"][0]["service_name"],
        "Đăng ký tài khoản định danh điện tử VNeID"
    );
    assert_eq!(sum["services"][1]["service"], "vneid_activate");
    assert_eq!(sum["services"][1]["visits"], 2);
    let team = d.json(&["--lang", "en", "summary", "--team", "--period", "2026-10"]);
    assert_eq!(team["scope"], "team");
    assert_eq!(team["visits"], 3);
    assert_eq!(team["services"][1]["outcome_name"], "Done");
    // Periods from the 15th: "2026-10" runs from 15 September to 14 October.
    let mid = d.json(&[
        "summary",
        "--period",
        "2026-10",
        "--periods-start-day",
        "15",
    ]);
    assert_eq!(mid["first_day"], "2026-09-15");
    assert_eq!(mid["visits"], 3);
    let text_sum = d.ok(&["summary", "--period", "2026-10"]);
    for needle in [
        "Công việc của Lò Thị Mai, kỳ 2026-10",
        "Hẹn quay lại đã thực hiện",
        "Kích hoạt tài khoản VNeID",
    ] {
        assert!(
            text_sum.contains(needle),
            "{needle:?} missing in:\n{text_sum}"
        );
    }

    // Bad input: refused with what was wrong, exit 2.
    assert!(refused(&d, &["todo", "--today", "2026-02-30"]).contains("--today"));
    assert!(refused(&d, &["todo", "--group", "rich"]).contains("rich"));
    assert!(refused(&d, &["todo", "--village", "Thôn Bắc"]).contains("Thôn Bắc"));
    assert!(refused(&d, &["todo", "--periods-start-day", "31"]).contains("--periods-start-day"));
    assert!(refused(&d, &["summary", "--period", "2026-13"]).contains("--period"));
    assert!(
        refused(&d, &["--lang", "en", "summary", "--today", "tomorrow"]).contains("is not a day")
    );
}

#[test]
fn a_province_replaces_the_rules_as_data() {
    let d = Device::new();
    d.init("Lò Thị Mai", &["Thôn Đông"]);
    let h = d.add_household(&["--head", "Nguyễn Văn Hạnh", "--group", "poor"]);
    let before = d.json(&["household", "show", &h]);
    assert_eq!(
        offered(&before),
        ["welfare_cashless", "basic_skills"],
        "{before}"
    );
    let rules = d.json(&["catalogue", "suggestions"]);
    assert!(rules.as_array().is_some_and(|r| r.len() >= 6), "{rules}");

    // A rule naming a service the catalogue does not have changes nothing.
    let bad = d.write(
        "bad.json",
        r#"[{"code":"drones","when":{"target_group":"poor"},"services":["drone_delivery"],
             "reason_vi":"Thử","reason_en":"Trial"}]"#
            .as_bytes(),
    );
    let stderr = refused(&d, &["catalogue", "--load-suggestions", &bad]);
    assert!(
        stderr.contains("drones") && stderr.contains("drone_delivery"),
        "{stderr}"
    );
    let misspelt = d.write(
        "misspelt.json",
        r#"{"suggestions":[{"code":"x","when":{"group":"poor"},"services":["scam_awareness"],"reason_vi":"a","reason_en":"a"}]}"#.as_bytes(),
    );
    refused(&d, &["catalogue", "--load-suggestions", &misspelt]);
    assert_eq!(d.json(&["catalogue", "suggestions"]), rules);

    // The catalogue's own section format, with the province's rule.
    let good = d.write(
        "rules.json",
        r#"{"suggestions":[{"code":"poor_scams","when":{"target_group":"poor"},
             "services":["scam_awareness"],
             "reason_vi":"Hộ nghèo hay bị lừa qua điện thoại","reason_en":"Poor households are often scammed by phone"}]}"#
            .as_bytes(),
    );
    let loaded = d.json(&["catalogue", "--load-suggestions", &good]);
    assert_eq!(loaded["rules"], 1);
    let after = d.json(&["household", "show", &h]);
    assert_eq!(offered(&after), ["scam_awareness"]);
    let shown = d.ok(&["household", "show", &h]);
    assert!(
        shown.contains("Nhận diện lừa đảo, an toàn trên mạng — Hộ nghèo hay bị lừa qua điện thoại"),
        "{shown}"
    );
    let listed = d.ok(&["catalogue", "suggestions"]);
    assert!(listed.contains("hộ thuộc nhóm Hộ nghèo"), "{listed}");
}
