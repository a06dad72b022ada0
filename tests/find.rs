//! End-to-end: search that ranks, import that behaves, duplicate candidates,
//! and a closed stdout, with the real `gocua` binary.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use gocua_tests::{Device, finish, heads, str_field, text};
use serde_json::Value;

/// A device with a generated village of `n` households written to a file
/// (not imported); returns the device, the file and its lines.
fn village(n: usize, seed: u64) -> (Device, String, Vec<String>) {
    let d = Device::new();
    d.init("Lò Thị Mai", &["Thôn Đông", "Thôn Tây"]);
    let generated = d.ok(&[
        "household",
        "generate",
        "--seed",
        &seed.to_string(),
        "--households",
        &n.to_string(),
    ]);
    let lines: Vec<String> = generated.lines().map(str::to_string).collect();
    assert_eq!(lines.len(), n);
    let file = d.write("village.jsonl", generated.as_bytes());
    (d, file, lines)
}

fn members_in(lines: &[String]) -> i64 {
    lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
            v["members"].as_array().map_or(0, |m| m.len() as i64)
        })
        .sum()
}

/// The JSON lines of an import's stdout.
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn importing_the_same_file_twice_adds_nothing() {
    let (d, file, lines) = village(30, 3);
    let out = d.ok(&["household", "import", &file]);
    assert!(
        out.contains("Đã nhập 30 hộ mới; 0 hộ đã nhập từ trước; 0 hộ bỏ qua"),
        "{out}"
    );
    assert_eq!(
        out.lines().count(),
        1,
        "a summary, not one id per line: {out}"
    );
    let after_first = d.counts();
    assert_eq!(after_first["households"], 30);
    assert_eq!(after_first["persons"], members_in(&lines));

    let again = d.ok(&["--lang", "en", "household", "import", &file]);
    assert!(
        again.contains("0 new households imported; 30 imported before; 0 skipped"),
        "{again}"
    );
    assert_eq!(d.counts(), after_first);

    // With --json: one line per record, then the summary.
    let json = json_lines(&d.ok(&["--json", "household", "import", &file]));
    assert_eq!(json.len(), 31);
    assert!(
        json[..30]
            .iter()
            .all(|v| v["outcome"] == "already_imported")
    );
    assert_eq!(json[30]["summary"]["already_imported"], 30);
    assert_eq!(json[30]["summary"]["stored"], 0);
}

#[test]
fn a_line_whose_household_is_already_there_is_reported_not_added() {
    let (d, file, lines) = village(20, 4);
    d.ok(&["household", "import", &file]);
    let before = d.counts();
    // The same household as another volunteer typed it: the head without
    // capitals, no address, no visits; same phone and members.
    let (i, original) = lines
        .iter()
        .enumerate()
        .find(|(_, l)| l.contains("\"phone\":\"0"))
        .unwrap_or_else(|| panic!("no household with a phone"));
    let mut v: Value = serde_json::from_str(original).unwrap_or_else(|e| panic!("{e}"));
    let head = str_field(&v["household"], "head_name");
    v["household"]["head_name"] = head.to_lowercase().into();
    v["household"]["address"] = "".into();
    v["visits"] = Value::Array(Vec::new());
    let again = d.write("again.jsonl", format!("{v}\n").as_bytes());
    let out = d.ok(&["household", "import", &again]);
    assert!(
        out.contains("Dòng 1: không thêm, hộ đã có")
            && out.contains(&head)
            && out.contains("cùng số điện thoại")
            && out.contains("1 hộ bỏ qua vì đã có trong máy"),
        "{out}"
    );
    assert_eq!(d.counts(), before);
    let json = json_lines(&d.ok(&["--json", "household", "import", &again]));
    assert_eq!(json[0]["outcome"], "duplicate");
    assert_eq!(json[0]["line"], 1);
    assert!(json[0]["candidate"]["near_certain"].as_bool() == Some(true));
    let list = d.list_all();
    let ids: Vec<String> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter(|h| h["head_name"] == head.as_str())
        .map(|h| str_field(h, "id"))
        .collect();
    assert!(
        ids.contains(&str_field(&json[0]["candidate"]["household"], "id")),
        "line {} is household {ids:?}",
        i + 1
    );
    // The message says how to insist; insisting adds it, naming the other.
    assert!(out.contains("--van-them"), "{out}");
    let out = d.ok(&["household", "import", &again, "--van-them"]);
    assert!(out.contains("Dòng 1: đã thêm theo yêu cầu"), "{out}");
    assert_eq!(
        d.counts()["households"],
        before["households"].as_u64().unwrap() + 1
    );
}

#[test]
fn a_bad_line_in_the_middle_stores_nothing() {
    let (d, _, lines) = village(4, 5);
    let mut bad: Value = serde_json::from_str(&lines[2]).unwrap_or_else(|e| panic!("{e}"));
    bad["members"][0]["birth_year"] = 1700.into();
    let content = format!("{}\n{}\n{bad}\n{}\n", lines[0], lines[1], lines[3]);
    let file = d.write("bad.jsonl", content.as_bytes());
    let out = d.run(&["household", "import", &file]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("dòng 3")
            && stderr.contains("năm sinh")
            && stderr.contains("Chưa nhập hộ nào"),
        "{stderr}"
    );
    assert_eq!(d.counts()["households"], 0);

    let out = d.run(&["--json", "household", "import", &file]);
    assert_eq!(out.status.code(), Some(2));
    let err: Value =
        serde_json::from_str(text(&out.stderr).trim()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(err["line"], 3);
    assert_eq!(err["field"], "birth_year");

    // Not JSON at all: the same.
    let content = format!("{}\n{{\"not\": \"a household\"}}\n{}\n", lines[0], lines[1]);
    let file = d.write("junk.jsonl", content.as_bytes());
    let out = d.run(&["--lang", "en", "household", "import", &file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("line 2") && text(&out.stderr).contains("Nothing was imported"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(d.counts()["households"], 0);
}

#[test]
fn an_import_killed_mid_way_resumes_exactly() {
    let (d, file, lines) = village(150, 7);
    let mut child = d.spawn(&["--json", "household", "import", &file]);
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut reported: Vec<(u64, String)> = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap_or_else(|e| panic!("reading import output: {e}"));
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(v["outcome"], "stored", "{v}");
        reported.push((
            v["line"].as_u64().unwrap_or(0),
            str_field(&v, "household_id"),
        ));
        if reported.len() == 40 {
            break;
        }
    }
    assert_eq!(reported.len(), 40, "import stopped early");
    child.kill().unwrap_or_else(|e| panic!("kill: {e}")); // SIGKILL
    let status = child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
    assert!(!status.success(), "import finished before the kill");

    let stored = d.counts()["households"].as_i64().unwrap_or(-1);
    assert!((40..150).contains(&stored), "{stored} after the kill");
    for (_, id) in &reported {
        assert_eq!(str_field(&d.json(&["household", "show", id]), "id"), *id);
    }

    // From the line after the last one reported: what was stored past it is
    // recognized, nothing is added twice.
    let next = reported.last().map_or(1, |(l, _)| l + 1).to_string();
    let resumed =
        json_lines(&d.ok(&["--json", "household", "import", &file, "--from-line", &next]));
    let summary = &resumed[resumed.len() - 1]["summary"];
    assert_eq!(
        summary["stored"].as_i64().unwrap_or(-1)
            + summary["already_imported"].as_i64().unwrap_or(-1),
        150 - 40
    );
    assert_eq!(
        summary["already_imported"].as_i64(),
        Some(stored - 40),
        "the households stored after the last reported line"
    );
    // Every household whole and once: persons as in the file, no duplicates.
    let counts = d.counts();
    assert_eq!(counts["households"], 150);
    assert_eq!(counts["persons"], members_in(&lines));
    let again = json_lines(&d.ok(&["--json", "household", "import", &file]));
    assert_eq!(again[150]["summary"]["already_imported"], 150);
    let pairs = d.json(&["duplicates"]);
    assert!(
        pairs
            .as_array()
            .into_iter()
            .flatten()
            .all(|p| p["near_certain"] == false),
        "{pairs}"
    );
}

#[test]
fn search_ranks_word_starts_and_says_how_many_it_found() {
    let d = Device::new();
    d.init("Lò Thị Mai", &["Thôn Đông"]);
    let hung = d.add_household(&["--head", "Phạm Văn Hùng", "--address", "Xóm 2"]);
    d.ok(&[
        "member",
        "add",
        &hung,
        "--name",
        "Đỗ Thị An",
        "--birth-year",
        "1990",
    ]);
    d.add_household(&["--head", "Lê Thị Anh", "--address", "Xóm 5"]);
    d.add_household(&["--head", "Nguyễn Thị Lan", "--address", "Xóm 6"]);
    d.add_household(&["--head", "Trần Văn An", "--address", "Xóm 7"]);
    d.add_household(&["--head", "Vũ Văn Tám", "--address", "Thôn An Bình"]);

    let found = d.json(&["household", "search", "an"]);
    assert_eq!(
        heads(&found),
        vec!["Trần Văn An", "Phạm Văn Hùng", "Vũ Văn Tám", "Lê Thị Anh"],
        "whole words (head, member, address), then word starts; not 'Lan'"
    );
    assert_eq!(found["total"], 4);
    assert_eq!(found["households"][1]["matched_in"], "member");
    assert_eq!(
        found["households"][1]["matched_member"]["name"],
        "Đỗ Thị An"
    );
    assert_eq!(found["households"][3]["match_kind"], "prefix");

    let table = d.ok(&["household", "search", "an", "--limit", "2"]);
    assert!(table.contains("thành viên: Đỗ Thị An"), "{table}");
    assert!(
        table.contains("Hiện 2 trong 4 hộ tìm thấy") && table.contains("--limit 4"),
        "{table}"
    );
    assert!(!table.contains("Lê Thị Anh"), "{table}");
    let en = d.ok(&["--lang", "en", "household", "search", "an", "--limit", "2"]);
    assert!(en.contains("Showing 2 of 4 households found"), "{en}");
    assert!(!d.ok(&["household", "search", "an"]).contains("Hiện"));

    // Nothing starts with "guyen": then inside words, said so.
    let inside = d.ok(&["household", "search", "guyen"]);
    assert!(
        inside.contains("Nguyễn Thị Lan") && inside.contains("ở giữa từ"),
        "{inside}"
    );
    assert_eq!(
        heads(&d.json(&["household", "search", "lan"])),
        vec!["Nguyễn Thị Lan"]
    );
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let (d, file, _) = village(60, 9);
    d.ok(&["household", "import", &file]);
    for args in [
        vec![
            "household",
            "generate",
            "--seed",
            "1",
            "--households",
            "3000",
        ],
        vec!["household", "search", "nguyen", "--limit", "1000"],
        vec!["household", "list", "--limit", "1000"],
    ] {
        let mut child = d.spawn(&args);
        // The reader goes away before reading anything (`| head -0`).
        drop(child.stdout.take());
        let out = finish(
            child,
            Duration::from_secs(120),
            "gocua with a closed stdout",
        );
        assert!(out.status.success(), "{args:?}: {}", out.status);
        assert_eq!(text(&out.stderr), "", "{args:?}");
    }
}

#[test]
fn adding_a_household_that_is_there_warns_or_is_refused() {
    let d = Device::new();
    d.init("Lò Thị Mai", &["Thôn Đông"]);
    let first = d.add_household(&[
        "--head",
        "Nguyễn Văn Hạnh",
        "--address",
        "Xóm 3, Thôn Đông",
        "--phone",
        "0912000111",
    ]);
    let short = &first[first.len() - 8..];

    // Same head, similar address: added, with a warning naming it.
    let out = d.run(&[
        "household",
        "add",
        "--head",
        "nguyen van hanh",
        "--address",
        "xom 3",
    ]);
    assert!(out.status.success());
    let warning = text(&out.stderr);
    assert!(
        warning.contains("có thể trùng")
            && warning.contains(short)
            && warning.contains("cùng tên chủ hộ"),
        "{warning}"
    );
    assert_eq!(d.counts()["households"], 2);

    // Same head and phone: refused, nothing added.
    let args = [
        "household",
        "add",
        "--head",
        "Nguyen Van Hanh",
        "--phone",
        "+84 912 000 111",
    ];
    let out = d.run(&args);
    assert_eq!(out.status.code(), Some(2));
    let refusal = text(&out.stderr);
    assert!(
        refusal.contains("gần như chắc chắn")
            && refusal.contains(short)
            && refusal.contains("--van-them"),
        "{refusal}"
    );
    let out = d.run(&[
        "--json",
        "household",
        "add",
        "--head",
        "Nguyen Van Hanh",
        "--phone",
        "0912000111",
    ]);
    let err: Value =
        serde_json::from_str(text(&out.stderr).trim()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(err["error"], "likely_duplicate");
    assert_eq!(d.counts()["households"], 2);

    // Insisting adds it.
    let mut insist = args.to_vec();
    insist.push("--van-them");
    d.ok(&insist);
    assert_eq!(d.counts()["households"], 3);

    let pairs = d.json(&["duplicates"]);
    let pairs = pairs.as_array().cloned().unwrap_or_default();
    // First and third near-certain; first and second likely; the second and
    // third share only the head's name.
    assert_eq!(pairs.len(), 2, "{pairs:?}");
    assert_eq!(pairs[1]["near_certain"], false);
    assert_eq!(pairs[0]["near_certain"], true);
    assert!(
        pairs[0]["reasons"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x["reason"] == "same_phone")),
        "{:?}",
        pairs[0]
    );
    let table = d.ok(&["--lang", "en", "duplicates"]);
    assert!(table.contains("same phone, same head name"), "{table}");
}
