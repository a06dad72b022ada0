//! A household that moves between villages loses nothing, with the real
//! binaries and devices of different scopes: A serves Thôn Một and Thôn Hai,
//! B serves Thôn Hai, D serves Thôn Một (docs/protocol.md, "Moving a
//! household").

use std::collections::BTreeSet;

use gocua_tests::{Device, Server, str_field, text};
use serde_json::Value;

const COMMUNE: &str = "00004";

fn village(server: &Server, name: &str) -> String {
    str_field(
        &server.admin(&["village", "add", "--commune", COMMUNE, "--name", name]),
        "id",
    )
}

/// A team serving `villages` (ids), one volunteer, and a device enrolled for them.
fn device(server: &Server, team: &str, villages: &[&str]) -> Device {
    let mut args = vec!["team", "add", "--name", team, "--commune", COMMUNE];
    for v in villages {
        args.push("--village");
        args.push(v);
    }
    let team_id = str_field(&server.admin(&args), "id");
    let volunteer = str_field(
        &server.admin(&[
            "volunteer",
            "add",
            "--name",
            "Lò Văn Páo",
            "--team",
            &team_id,
        ]),
        "id",
    );
    let code = str_field(
        &server.admin(&["enroll-code", "--volunteer", &volunteer]),
        "code",
    );
    let d = Device::new();
    let ident = d.enroll(&server.url(), &code, team);
    assert_eq!(
        ident["villages"].as_array().map(Vec::len),
        Some(villages.len()),
        "{ident}"
    );
    d
}

/// Syncs; nothing may be refused.
fn sync(d: &Device) -> Value {
    let r = d.sync();
    assert_eq!(r["refused"], Value::Array(vec![]), "{r}");
    r
}

fn record_visit(d: &Device, hid: &str, feedback: &str) {
    d.json(&[
        "visit",
        "record",
        hid,
        "--service",
        "vneid_register",
        "--feedback",
        feedback,
    ]);
}

/// The feedback of every visit the device holds for the household.
fn visits(d: &Device, hid: &str) -> BTreeSet<String> {
    d.json(&["household", "show", hid])["visits"]
        .as_array()
        .unwrap_or_else(|| panic!("no visits"))
        .iter()
        .map(|v| str_field(v, "feedback"))
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn show(d: &Device, hid: &str) -> Value {
    d.json(&["household", "show", hid])
}

#[test]
fn a_household_moves_away_and_back_and_its_village_has_every_visit() {
    let server = Server::start();
    let v1 = village(&server, "Thôn Một");
    let v2 = village(&server, "Thôn Hai");
    let a = device(&server, "Tổ cả hai thôn", &[&v1, &v2]);
    let b = device(&server, "Tổ thôn Hai", &[&v2]);
    let d = device(&server, "Tổ thôn Một", &[&v1]);
    for x in [&a, &b, &d] {
        sync(x);
    }

    // A registers the household in Thôn Một; D receives it.
    let hid = a.add_household(&["--village", "Thôn Một", "--head", "Nguyễn Văn Hạnh"]);
    sync(&a);
    sync(&d);
    assert_eq!(str_field(&show(&d, &hid), "village_id"), v1);

    // D visits it offline while A moves it to Thôn Hai.
    record_visit(&d, &hid, "D trước khi biết");
    a.ok(&["household", "edit", &hid, "--village", "Thôn Hai"]);
    sync(&a);

    // B, of Thôn Hai, receives its whole history and visits it.
    sync(&b);
    let on_b = show(&b, &hid);
    assert_eq!(str_field(&on_b, "village_id"), v2);
    assert_eq!(str_field(&on_b, "head_name"), "Nguyễn Văn Hạnh");
    assert_eq!(on_b["outside_villages"], false);
    record_visit(&b, &hid, "B ở thôn Hai");
    sync(&b);

    // D syncs: its visit is accepted, and it learns of the move.
    let r = sync(&d);
    assert!(r["sent"].as_u64().unwrap_or(0) >= 1, "{r}");
    assert_eq!(r["pending_changes"], 0, "{r}");
    let on_d = show(&d, &hid);
    assert_eq!(on_d["outside_villages"], true, "{on_d}");
    assert_eq!(str_field(&on_d, "village_id"), v2);
    assert_eq!(visits(&d, &hid), set(&["D trước khi biết"]));
    // A read-only record: a new visit is refused, in Vietnamese, exit 2.
    let out = d.run(&["visit", "record", &hid, "--service", "cccd"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("không sửa được"),
        "{}",
        text(&out.stderr)
    );
    let plain = d.ok(&["household", "show", &hid]);
    assert!(plain.contains("Chỉ xem"), "{plain}");
    // Off D's work list; found by a search, marked.
    assert_eq!(d.household_ids(), Vec::<String>::new());
    let found = d.json(&["household", "search", "hanh"]);
    assert_eq!(found["households"][0]["outside_villages"], true, "{found}");

    // Every device serving Thôn Hai has every visit.
    sync(&a);
    sync(&b);
    let both = set(&["D trước khi biết", "B ở thôn Hai"]);
    assert_eq!(visits(&a, &hid), both);
    assert_eq!(visits(&b, &hid), both);

    // A moves it back: D receives what Thôn Hai recorded meanwhile, and may
    // visit it again; B keeps a read-only record.
    a.ok(&["household", "edit", &hid, "--village", "Thôn Một"]);
    sync(&a);
    sync(&d);
    let on_d = show(&d, &hid);
    assert_eq!(on_d["outside_villages"], false, "{on_d}");
    assert_eq!(visits(&d, &hid), both);
    record_visit(&d, &hid, "D sau khi hộ trở về");
    sync(&d);
    sync(&a);
    assert_eq!(
        visits(&a, &hid),
        set(&["D trước khi biết", "B ở thôn Hai", "D sau khi hộ trở về"])
    );
    sync(&b);
    assert_eq!(show(&b, &hid)["outside_villages"], true);
    assert_eq!(visits(&b, &hid), both);
}

/// A team given a village by the operator: its enrolled phone takes the
/// village at its next sync (no new enrollment) and records there; the
/// village taken away again, the phone stops recording there and keeps what
/// it holds.
#[test]
fn a_teams_edited_villages_reach_its_phone_at_the_next_sync() {
    let server = Server::start();
    let v1 = village(&server, "Thôn Một");
    let v2 = village(&server, "Thôn Hai");
    let a = device(&server, "Tổ thôn Một", &[&v1]);
    let b = device(&server, "Tổ thôn Hai", &[&v2]);
    let team_a = str_field(&a.json(&["status"])["identity"], "team_id");
    let theirs = b.add_household(&["--village", "Thôn Hai", "--head", "Lò Thị Mai"]);
    sync(&b);
    let r = sync(&a);
    assert_eq!(r["villages_gained"], Value::Array(vec![]), "{r}");
    let refused = a.run(&["household", "add", "--village", "Thôn Hai", "--head", "X"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));

    server.admin(&["team", "edit", &team_a, "--add-village", &v2]);
    let out = a.run(&["sync"]);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(said.contains("được giao thêm thôn: Thôn Hai"), "{said}");
    assert_eq!(show(&a, &theirs)["outside_villages"], false);
    let villages: Vec<String> = a.json(&["status"])["identity"]["villages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| str_field(v, "name"))
        .collect();
    assert_eq!(villages, ["Thôn Hai", "Thôn Một"]);
    let mine = a.add_household(&["--village", "Thôn Hai", "--head", "Nguyễn Văn Hạnh"]);
    let r = sync(&a);
    assert_eq!(r["pending_changes"], 0, "{r}");
    assert_eq!(r["villages_gained"], Value::Array(vec![]), "{r}");
    // Nothing to send, nothing changed: one request, the pull, whose tag
    // says the assignment is the one held.
    let idle = sync(&a);
    assert_eq!(idle["requests"], 1, "{idle}");
    sync(&b);
    assert_eq!(str_field(&show(&b, &mine), "head_name"), "Nguyễn Văn Hạnh");

    server.admin(&["team", "edit", &team_a, "--remove-village", &v2]);
    let r = sync(&a);
    assert_eq!(r["villages_lost"], serde_json::json!(["Thôn Hai"]), "{r}");
    assert_eq!(show(&a, &mine)["outside_villages"], true);
    let refused = a.run(&["household", "add", "--village", "Thôn Hai", "--head", "Y"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    let villages = a.json(&["status"])["identity"]["villages"].clone();
    assert_eq!(villages.as_array().map(Vec::len), Some(1), "{villages}");
}
