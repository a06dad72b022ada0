//! Duplicate households merged end to end (docs/data-model.md, "Merged
//! households"): real `gocua-server` and three `gocua` devices. The same
//! merge made offline on two devices, a chain made on a third, and a visit
//! recorded at the absorbed household by a device that did not know, all
//! converge: one household everywhere, every visit in it once, the absorbed
//! ids still finding it, and the province's indicators counting it once.
//! Undone on one device, the merge is undone everywhere.

use std::time::Duration;

use gocua_tests::{
    COMMAND_TIMEOUT, COMMUNE, Device, Server, enrolled_devices, str_field, text, wait_until,
};
use serde_json::Value;

fn show(d: &Device, id: &str) -> Value {
    d.json(&["household", "show", id])
}

fn member(d: &Device, h: &str, name: &str, year: &str) -> String {
    str_field(
        &d.json(&["member", "add", h, "--name", name, "--birth-year", year]),
        "id",
    )
}

fn visit(d: &Device, h: &str) -> String {
    str_field(
        &d.json(&["visit", "record", h, "--service", "vneid_activate:done"]),
        "id",
    )
}

/// The households the province's indicators count in the village to date.
fn counted_by_server(server: &Server, desk: &Device, token: &str) -> Option<u64> {
    let report = desk.file("report.json");
    let path = report.to_string_lossy().to_string();
    let url = server.url();
    let out = desk.run_timeout(
        &[
            "--json", "export", "--server", &url, "--token", token, "--area", COMMUNE, "--format",
            "json", "--level", "village", "--out", &path,
        ],
        COMMAND_TIMEOUT,
    );
    if !out.status.success() {
        panic!("export failed: {}", text(&out.stderr));
    }
    let r: Value = serde_json::from_slice(&std::fs::read(&report).ok()?).ok()?;
    r["units"][0]["reached_to_date"]["whole"].as_u64()
}

#[test]
fn merges_made_offline_on_three_devices_converge_and_count_once() {
    let server = Server::start();
    let (_team, devices) = enrolled_devices(&server, 3);
    let [d0, d1, d2] = [&devices[0], &devices[1], &devices[2]];

    // The same family registered by two volunteers, and a third household.
    let a = d0.add_household(&["--head", "Nguyễn Văn Hạnh", "--address", "Xóm 3"]);
    let thuy_a = member(d0, &a, "Trần Thị Thủy", "1960");
    visit(d0, &a);
    let b = d1.add_household(&[
        "--head",
        "Nguyen Van Hanh",
        "--address",
        "Xom 3",
        "--insist",
    ]);
    let thuy_b = member(d1, &b, "Tran Thi Thuy", "1960");
    member(d1, &b, "Nguyễn Văn Tám", "1990");
    visit(d1, &b);
    let c = d2.add_household(&["--head", "Lê Thị Hoa", "--address", "Xóm 3"]);
    member(d2, &c, "Lê Văn Bình", "1985");
    visit(d2, &c);
    for d in [d0, d1, d2, d0, d1] {
        d.sync();
    }
    let officer = server.admin(&[
        "account",
        "add",
        "--role",
        "officer",
        "--name",
        "Sở KHCN",
        "--province",
        "01",
    ]);
    let token = str_field(&officer, "token");
    let desk = Device::new();
    wait_until(Duration::from_secs(60), "three households counted", || {
        counted_by_server(&server, &desk, &token) == Some(3)
    });

    // Offline: devices 0 and 1 both merge A into B; device 2 merges B into
    // C and, not knowing of the first merge, records a visit at A.
    d0.ok(&["household", "merge", &a, &b]);
    d1.ok(&["household", "merge", &a, &b]);
    d2.ok(&["household", "merge", &b, &c]);
    let late = visit(d2, &a);

    for d in [d0, d1, d2, d0, d1] {
        d.sync();
    }
    let shown = show(d0, &a);
    for d in [d0, d1, d2] {
        assert_eq!(show(d, &a), shown, "the devices read the merge differently");
        assert_eq!(show(d, &b), shown);
        let counts = d.counts();
        assert_eq!(counts["households"], 1, "{counts}");
        assert_eq!(counts["visits"], 4, "{counts}");
        // Thủy, registered in A and in B, is one person: 3, not 4.
        assert_eq!(counts["persons"], 3, "{counts}");
        let list = d.list_all();
        assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    }
    assert_eq!(shown["id"], c.as_str());
    let visits = shown["visits"].as_array().unwrap();
    assert!(visits.iter().any(|v| v["id"] == late.as_str()), "{shown}");
    let absorbed: Vec<&str> = shown["absorbed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["id"].as_str())
        .collect();
    assert_eq!(absorbed.len(), 2, "{shown}");
    // Both Thủy ids find the one person kept.
    let members = shown["members"].as_array().unwrap();
    assert!(members.iter().any(|m| m["id"] == thuy_b.as_str()));
    assert!(!members.iter().any(|m| m["id"] == thuy_a.as_str()));
    d0.ok(&["member", "edit", &thuy_a, "--gender", "nữ"]);
    // The duplicate's own document is still its own.
    let file = d0.file("a.automerge");
    let exported = d0.json(&[
        "household",
        "export-doc",
        &a,
        "--out",
        &file.to_string_lossy(),
    ]);
    assert_eq!(exported["household_id"], a.as_str(), "{exported}");
    // The human text says what was merged.
    let text = d1.ok(&["household", "show", &c]);
    assert!(text.contains("Đã gộp vào đây"), "{text}");

    // The province counts the family once.
    wait_until(Duration::from_secs(60), "one household counted", || {
        counted_by_server(&server, &desk, &token) == Some(1)
    });

    // Undone on one device (B out of C), undone everywhere.
    d1.ok(&["household", "merge", &b, "--undo"]);
    for d in [d1, d0, d2, d1] {
        d.sync();
    }
    for d in [d0, d1, d2] {
        let counts = d.counts();
        assert_eq!(counts["households"], 2, "{counts}");
        assert_eq!(counts["visits"], 4, "{counts}");
        assert_eq!(show(d, &a)["id"], b.as_str());
        assert_eq!(show(d, &c)["id"], c.as_str());
    }
    wait_until(Duration::from_secs(60), "two households counted", || {
        counted_by_server(&server, &desk, &token) == Some(2)
    });
}

#[test]
fn a_merge_that_cannot_be_made_says_why_and_changes_nothing() {
    let server = Server::start();
    let (_team, devices) = enrolled_devices(&server, 1);
    let d = &devices[0];
    let a = d.add_household(&["--head", "Nguyễn Văn Hạnh"]);
    let b = d.add_household(&["--head", "Phạm Thị Lan"]);
    let before = d.counts();
    let itself = d.run(&["household", "merge", &a, &a]);
    assert_eq!(itself.status.code(), Some(2));
    assert!(
        text(&itself.stderr).contains("không có gì để gộp"),
        "{}",
        text(&itself.stderr)
    );
    let missing = d.run(&["household", "merge", &a]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("MÃ_HỘ_GIỮ"),
        "{}",
        text(&missing.stderr)
    );
    let undo = d.run(&["household", "merge", &a, "--undo"]);
    assert_eq!(undo.status.code(), Some(2));
    assert_eq!(d.counts(), before);
    d.ok(&["household", "merge", &a, &b]);
    let twice = d.run(&["--lang", "en", "household", "merge", &a, &b]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(
        text(&twice.stderr).contains("merged into household"),
        "{}",
        text(&twice.stderr)
    );
}
