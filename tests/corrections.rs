//! Corrections end to end (docs/data-model.md, "Corrections"): real
//! `gocua-server` and two `gocua` devices. Each correction made offline on
//! one device reaches the other through the server, merges with a
//! concurrent edit, and leaves the lists and counts on both; a visit recorded
//! offline under a consent another device had withdrawn is listed for review.

use gocua_tests::{Device, Server, enrolled_devices, str_field};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn by_id<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .and_then(|a| a.iter().find(|x| x["id"] == id))
        .unwrap_or_else(|| panic!("no {id} in {list}"))
}

fn show(d: &Device, id: &str) -> Value {
    d.json(&["household", "show", id])
}

/// What both devices must agree on: the household as read, without the
/// device-dependent flags.
fn same_on_both(a: &Device, b: &Device, id: &str) -> Value {
    let ha = show(a, id);
    assert_eq!(ha, show(b, id), "the devices read {id} differently");
    ha
}

#[test]
fn corrections_made_offline_merge_and_leave_the_counts() {
    let server = Server::start();
    let (_team, devices) = enrolled_devices(&server, 2);
    let [d0, d1] = [&devices[0], &devices[1]];

    let h = d0.add_household(&["--head", "Nguyễn Văn Hạnh", "--address", "Xóm 3"]);
    let wrong = d0.add_household(&["--head", "Nguyen Van Hanh", "--address", "Xom 3"]);
    let member = str_field(
        &d0.json(&[
            "member",
            "add",
            &h,
            "--name",
            "Trần Thị Thủy",
            "--birth-year",
            "1958",
        ]),
        "id",
    );
    let kept = str_field(
        &d0.json(&[
            "member",
            "add",
            &h,
            "--name",
            "Nguyễn Văn Tám",
            "--birth-year",
            "1990",
        ]),
        "id",
    );
    let v1 = str_field(
        &d0.json(&["visit", "record", &h, "--service", "vneid_activate:done"]),
        "id",
    );
    let v2 = str_field(
        &d0.json(&["visit", "record", &h, "--service", "bank_account:blocked"]),
        "id",
    );
    d0.sync();
    d1.sync();
    assert_eq!(d1.counts()["visits"], 2);

    // Offline. Device 0 removes a member and cancels the first visit;
    // device 1 corrects both visits (the first one concurrently with its
    // cancellation) and marks the second household as registered in error.
    d0.ok(&["member", "remove", &member, "--reason", "chuyển đi Đà Nẵng"]);
    d0.ok(&["visit", "cancel", &v1, "--reason", "ghi nhầm hộ"]);
    d1.ok(&["visit", "edit", &v1, "--feedback", "hài lòng"]);
    d1.ok(&[
        "visit",
        "edit",
        &v2,
        "--service",
        "bank_account:done:mở được tài khoản",
        "--duration",
        "25",
    ]);
    d1.ok(&[
        "household",
        "in-error",
        &wrong,
        "--reason",
        "trùng với hộ Hạnh",
    ]);

    for d in [d0, d1, d0] {
        d.sync();
    }
    let shown = same_on_both(d0, d1, &h);
    let m = by_id(&shown["members"], &member);
    assert_eq!(m["removed"]["reason"], "chuyển đi Đà Nẵng", "{m}");
    assert!(by_id(&shown["members"], &kept)["removed"].is_null());
    let first = by_id(&shown["visits"], &v1);
    assert_eq!(first["cancelled"]["reason"], "ghi nhầm hộ", "{first}");
    assert_eq!(
        first["feedback"], "hài lòng",
        "the concurrent edit is kept: {first}"
    );
    let second = by_id(&shown["visits"], &v2);
    assert_eq!(second["services"][0]["outcome"], "done", "{second}");
    assert_eq!(second["services"][0]["note"], "mở được tài khoản");
    assert_eq!(second["duration_minutes"], 25);
    assert!(second["edited"]["at"].is_string(), "{second}");
    let marked = same_on_both(d0, d1, &wrong);
    assert_eq!(marked["in_error"]["reason"], "trùng với hộ Hạnh");

    for d in [d0, d1] {
        // Out of the lists and counts, on both devices.
        let c = d.counts();
        assert_eq!(
            (
                c["households"].clone(),
                c["persons"].clone(),
                c["visits"].clone()
            ),
            (1.into(), 1.into(), 1.into()),
            "{c}"
        );
        let list = d.list_all();
        assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
        assert_eq!(list[0]["members"], 1);
        assert_eq!(list[0]["visits"], 1);
        // The device's own indicators count what is left.
        let report = d.json(&["report", "--level", "commune"]);
        assert_eq!(visits_counted(&report), 1, "{report}");
        // Kept in the history: the human text says so.
        let text = d.ok(&["household", "show", &h]);
        assert!(text.contains("ghi nhầm hộ"), "{text}");
        assert!(text.contains("chuyển đi Đà Nẵng"), "{text}");
    }

    // Nothing more is written into a household registered in error...
    let refused = d1.run(&["member", "add", &wrong, "--name", "Lê Văn Ba"]);
    assert_eq!(refused.status.code(), Some(2));
    // ... until the mark is undone, which syncs like any edit.
    d1.ok(&["household", "in-error", &wrong, "--undo"]);
    d0.ok(&["visit", "cancel", &v1, "--undo"]);
    for d in [d1, d0, d1] {
        d.sync();
    }
    for d in [d0, d1] {
        assert_eq!(d.counts()["households"], 2);
        assert_eq!(d.counts()["visits"], 2);
    }
    same_on_both(d0, d1, &h);
}

/// The visits a device's own report counts in the period, whatever its
/// breakdown: the "visits" indicator's total for all households.
fn visits_counted(report: &Value) -> u64 {
    let units = report["units"].as_array().cloned().unwrap_or_default();
    units
        .iter()
        .flat_map(|u| u["figures"].as_array().cloned().unwrap_or_default())
        .filter(|i| i["indicator"] == "visits" && i["breakdown"]["by"] == "all")
        .filter_map(|i| i["period"].as_u64())
        .sum()
}

#[test]
fn a_visit_under_a_consent_withdrawn_meanwhile_is_listed_for_review() {
    let server = Server::start();
    let (_team, devices) = enrolled_devices(&server, 2);
    let [d0, d1] = [&devices[0], &devices[1]];
    let h = d0.add_household(&["--head", "Phạm Thị Hoa"]);
    let p = str_field(
        &d0.json(&["member", "add", &h, "--name", "Phạm Thị Hoa"]),
        "id",
    );
    let consent = str_field(
        &d0.json(&[
            "consent",
            "record",
            &h,
            "--person",
            &p,
            "--purpose",
            "hỗ trợ VNeID",
            "--method",
            "verbal",
        ]),
        "id",
    );
    d0.sync();
    d1.sync();

    // Offline: device 0 withdraws the consent; device 1, which does not
    // know yet, records a visit under it a few minutes later.
    let withdrawn = d0.json(&[
        "consent",
        "withdraw",
        &consent,
        "--reason",
        "không muốn nữa",
    ]);
    let at = OffsetDateTime::parse(&str_field(&withdrawn, "withdrawn_at"), &Rfc3339)
        .expect("withdrawal time")
        + time::Duration::minutes(3);
    let at = at.format(&Rfc3339).expect("format");
    let visit = str_field(
        &d1.json(&[
            "visit",
            "record",
            &h,
            "--service",
            "vneid_activate",
            "--consent",
            &consent,
            "--at",
            &at,
        ]),
        "id",
    );
    for d in [d0, d1, d0] {
        d.sync();
    }
    for d in [d0, d1] {
        let shown = show(d, &h);
        let problems = shown["problems"].as_array().cloned().unwrap_or_default();
        let flagged = problems
            .iter()
            .find(|x| x["path"] == format!("visits/{visit}/consent_id"))
            .unwrap_or_else(|| panic!("not listed for review: {shown}"));
        assert_eq!(
            flagged["problem"]["code"], "consent_withdrawn_before",
            "{flagged}"
        );
        let text = d.ok(&["household", "show", &h]);
        assert!(text.contains("rút lại trước lượt hỗ trợ"), "{text}");
    }
}

/// Households registered before enrolling, in a village the server does not
/// give this device: their changes are refused, listed with the reason in
/// the volunteer's language, and then moved (kept whole) or dropped, on
/// purpose.
#[test]
fn refused_changes_are_listed_then_fixed_or_discarded_on_purpose() {
    let server = Server::start();
    let team = gocua_tests::Team::create(&server, "Thôn Đông");
    let volunteer = server.admin(&["volunteer", "add", "--name", "Lan", "--team", &team.team_id]);
    let code = str_field(
        &server.admin(&["enroll-code", "--volunteer", &str_field(&volunteer, "id")]),
        "code",
    );
    let d = Device::new();
    d.init("Lan", &["Thôn Đông", "Thôn Tây"]);
    let moved = d.add_household(&["--village", "Thôn Tây", "--head", "Lê Văn Tây"]);
    d.ok(&[
        "member",
        "add",
        &moved,
        "--name",
        "Lê Thị Tư",
        "--birth-year",
        "1970",
    ]);
    let dropped = d.add_household(&["--village", "Thôn Tây", "--head", "Trần Văn Bỏ"]);
    d.enroll(&server.url(), &code, "may-1");
    let out = d.ok(&["sync"]);
    assert!(out.contains("gocua changes refused"), "{out}");

    let refused = d.json(&["changes", "refused"]);
    let codes: Vec<&str> = refused
        .as_array()
        .map(|l| l.iter().filter_map(|r| r["code"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(codes, ["outside_villages", "outside_villages"], "{refused}");
    let text = d.ok(&["changes", "refused"]);
    assert!(text.contains("không thuộc các thôn của máy này"), "{text}");

    // Dropping needs to be said twice; then the household, which the
    // server never had, leaves the device.
    let unconfirmed = d.run(&["changes", "discard", &dropped]);
    assert_eq!(unconfirmed.status.code(), Some(2));
    assert_eq!(
        d.json(&["changes", "refused"]).as_array().map(Vec::len),
        Some(2)
    );
    d.ok(&["changes", "discard", &dropped, "--confirm"]);

    // Moving keeps everything recorded, under a new id in the new village.
    let fixed = d.json(&["changes", "fix", &moved, "--village", "Thôn Đông"]);
    assert_eq!(fixed["village_id"], team.village_id.as_str(), "{fixed}");
    assert_eq!(fixed["members"][0]["name"], "Lê Thị Tư", "{fixed}");
    d.sync();
    assert_eq!(d.json(&["changes", "refused"]), serde_json::json!([]));
    assert_eq!(d.counts()["pending_changes"], 0);
    assert_eq!(d.household_ids(), vec![str_field(&fixed, "id")]);

    // A second device of the village receives it whole.
    let other = team.enroll(&server, &server.url());
    other.sync();
    let shown = other.json(&["household", "show", &str_field(&fixed, "id")]);
    assert_eq!(shown["head_name"], "Lê Văn Tây");
    assert_eq!(shown["members"][0]["name"], "Lê Thị Tư");
}
