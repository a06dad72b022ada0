//! One language on screen: a volunteer's whole flow run in Vietnamese shows no
//! English word, and the same flow with `--lang en` is English (see
//! `support.rs` for how the binaries are found and built).

use std::collections::BTreeSet;
use std::process::Output;

use gocua_tests::{Device, Server, Team, str_field, text};

/// Common English words of messages and of clap's own texts. Words that are
/// also Vietnamese written without diacritics (an, to, do, con, can, ...) are
/// not in it: they cannot tell the languages apart.
const COMMON_ENGLISH: &[&str] = &[
    "the",
    "and",
    "for",
    "not",
    "are",
    "was",
    "were",
    "with",
    "this",
    "that",
    "from",
    "has",
    "have",
    "had",
    "been",
    "will",
    "would",
    "could",
    "should",
    "must",
    "can't",
    "cannot",
    "error",
    "usage",
    "options",
    "option",
    "commands",
    "command",
    "arguments",
    "argument",
    "help",
    "print",
    "version",
    "default",
    "possible",
    "values",
    "value",
    "required",
    "invalid",
    "unknown",
    "found",
    "missing",
    "expected",
    "did",
    "you",
    "mean",
    "your",
    "please",
    "try",
    "again",
    "retry",
    "retrying",
    "attempt",
    "attempts",
    "server",
    "reach",
    "reached",
    "network",
    "connection",
    "refused",
    "failed",
    "sync",
    "syncing",
    "done",
    "sent",
    "received",
    "changes",
    "change",
    "pending",
    "waiting",
    "wait",
    "household",
    "households",
    "member",
    "members",
    "visit",
    "visits",
    "consent",
    "consents",
    "service",
    "services",
    "outcome",
    "outcomes",
    "group",
    "groups",
    "village",
    "villages",
    "team",
    "volunteer",
    "commune",
    "province",
    "address",
    "phone",
    "name",
    "gender",
    "male",
    "female",
    "other",
    "born",
    "year",
    "when",
    "where",
    "who",
    "what",
    "which",
    "recorded",
    "added",
    "saved",
    "record",
    "list",
    "show",
    "search",
    "status",
    "conflict",
    "conflicts",
    "problem",
    "problems",
    "yes",
    "none",
    "level",
    "registered",
    "activated",
    "account",
    "bank",
    "wallet",
    "public",
    "health",
    "book",
    "digital",
    "signature",
    "skills",
    "basic",
    "verbal",
    "written",
    "app",
    "smartphone",
    "feature",
    "only",
    "device",
    "devices",
    "set",
    "store",
    "file",
    "path",
    "last",
    "first",
    "next",
    "new",
    "old",
    "still",
    "safe",
    "kept",
    "keep",
    "down",
    "wrong",
    "check",
    "see",
    "use",
    "run",
    "give",
    "given",
    "must",
    "start",
    "starts",
    "example",
    "period",
    "report",
    "indicator",
    "indicators",
    "today",
    "period",
    "minutes",
    "follow",
    "feedback",
    "purpose",
    "method",
    "withdrawn",
    "field",
    "fields",
    "values",
    "shown",
    "there",
    "here",
    "its",
    "it's",
    "than",
    "then",
    "into",
    "about",
    "after",
    "before",
    "because",
    "without",
    "within",
    "between",
    "each",
    "every",
    "all",
    "some",
    "more",
    "most",
    "less",
    "few",
    "many",
    "one",
    "two",
    "three",
    "number",
    "numbers",
    "code",
    "codes",
    "catalogue",
    "target",
    "schema",
    "version",
    "enrolled",
    "enroll",
    "enrollment",
    "operator",
    "officer",
    "decision",
    "differently",
    "set",
];

/// The words of `screen` a person reads as words: what is quoted in
/// backticks (commands to type), options, addresses, paths, codes with `_`,
/// ids and numbers are left out; only ASCII words remain (a Vietnamese word
/// with diacritics cannot be English).
fn words(screen: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Odd parts are between backticks.
    for part in screen.split('`').step_by(2) {
        for raw in part.split_whitespace() {
            let token = raw.trim_matches(|c: char| !c.is_alphanumeric());
            let skip = raw.trim_start_matches(['(', '[', '"']).starts_with('-')
                || raw.contains("://")
                // An acronym or a name in capitals (JSON, VNeID, LANG).
                || token.chars().filter(|c| c.is_ascii_uppercase()).count() >= 2
                || token.contains("://")
                || token.contains('/')
                || token.contains('_')
                || token.contains('@')
                || token.contains('=')
                || token.chars().any(|c| c.is_ascii_digit())
                || (token.len() == 8 && token.chars().all(|c| c.is_ascii_hexdigit()));
            if skip {
                continue;
            }
            for w in token.split(|c: char| !(c.is_alphanumeric() || c == '\'')) {
                let w = w.trim_matches('\'');
                if w.len() >= 3 && w.chars().all(|c| c.is_ascii_alphabetic() || c == '\'') {
                    out.push(w.to_lowercase());
                }
            }
        }
    }
    out
}

/// What one command put on screen (stdout and stderr) and how it ended.
struct Screen {
    args: Vec<String>,
    out: String,
    code: Option<i32>,
}

fn screen(d: &Device, lang: &[&str], args: &[&str]) -> Screen {
    let mut all: Vec<&str> = lang.to_vec();
    all.extend_from_slice(args);
    let o: Output = d.run(&all);
    Screen {
        args: all.iter().map(|s| s.to_string()).collect(),
        out: format!("{}{}", text(&o.stdout), text(&o.stderr)),
        code: o.status.code(),
    }
}

/// A volunteer's flow in the language `lang` gives (`[]` for Vietnamese, the
/// default; `["--lang", "en"]`), and the words typed into it (names, places).
fn flow(lang: &[&str]) -> (Vec<Screen>, Vec<String>) {
    let mut typed: Vec<String> = Vec::new();
    let mut shown = Vec::new();
    let d = Device::new();
    let mut run = |d: &Device, args: &[&str]| -> Screen {
        typed.extend(args.iter().map(|a| a.to_string()));
        screen(d, lang, args)
    };
    let ok = |s: Screen| -> Screen {
        assert_eq!(s.code, Some(0), "{:?} failed:\n{}", s.args, s.out);
        s
    };

    shown.push(ok(run(
        &d,
        &[
            "init",
            "--volunteer",
            "Nguyễn Thị Lan",
            "--team",
            "Tổ Công nghệ số cộng đồng Thôn Đông",
            "--commune",
            "00097",
            "--village",
            "Thôn Đông",
        ],
    )));
    let hid = str_field(
        &d.json(&[
            "household",
            "add",
            "--head",
            "Nguyễn Văn Hạnh",
            "--address",
            "Xóm 3",
            "--members",
            "4",
            "--devices",
            "điện thoại thông minh",
            "--group",
            "elderly",
        ]),
        "id",
    );
    shown.push(ok(run(
        &d,
        &[
            "household",
            "add",
            "--head",
            "Lò Thị Mai",
            "--devices",
            "2G",
        ],
    )));
    shown.push(ok(run(&d, &["household", "list"])));
    shown.push(ok(run(&d, &["household", "search", "hanh"])));
    shown.push(ok(run(
        &d,
        &[
            "member",
            "add",
            &hid,
            "--name",
            "Trần Thị Thủy",
            "--birth-year",
            "1958",
            "--gender",
            "nữ",
            "--vneid",
            "mức 2",
            "--bank-account",
            "có",
        ],
    )));
    let member = str_field(&d.json(&["household", "show", &hid])["members"][0], "id");
    shown.push(ok(run(
        &d,
        &[
            "consent",
            "record",
            &hid,
            "--person",
            &member,
            "--purpose",
            "Hỗ trợ VNeID",
            "--method",
            "bằng lời",
        ],
    )));
    shown.push(ok(run(
        &d,
        &[
            "visit",
            "record",
            &hid,
            "--service",
            "vneid_activate",
            "--service",
            "bank_account:blocked:Cần công an xã",
            "--person",
            &member,
            "--duration",
            "30",
        ],
    )));
    shown.push(ok(run(&d, &["visit", "list"])));
    // The same family registered twice, found and merged, then separated.
    let twice = str_field(
        &d.json(&[
            "household",
            "add",
            "--head",
            "Nguyễn Văn Hạnh",
            "--address",
            "Xóm 3",
            "--insist",
        ]),
        "id",
    );
    shown.push(ok(run(&d, &["duplicates"])));
    shown.push(ok(run(&d, &["household", "merge", &twice, &hid])));
    shown.push(ok(run(&d, &["household", "show", &twice])));
    shown.push(ok(run(&d, &["household", "merge", &twice, "--undo"])));
    shown.push(ok(run(&d, &["household", "show", &hid])));
    shown.push(ok(run(&d, &["status"])));
    shown.push(ok(run(&d, &["catalogue"])));
    shown.push(ok(run(&d, &["catalogue", "communes", "hồng hà"])));
    shown.push(ok(run(&d, &["report"])));
    shown.push(ok(run(&d, &["household", "add", "--help"])));

    // Usage errors and a bad value: exit 2, said in the language.
    for args in [
        &["household", "add", "--hed", "An"][..],
        &["household", "add"][..],
        &["househld", "list"][..],
        &["household", "list", "--limit", "nhiều"][..],
        &[
            "member",
            "add",
            &hid,
            "--name",
            "An",
            "--gender",
            "không rõ",
        ][..],
        &[
            "init",
            "--volunteer",
            "A",
            "--team",
            "B",
            "--commune",
            "00001",
            "--village",
            "C",
        ][..],
        &[
            "enroll",
            "--server",
            "127.0.0.1:8080",
            "--code",
            "K7M2-9QXD",
        ][..],
    ] {
        let s = run(&d, args);
        assert_eq!(s.code, Some(2), "{:?}:\n{}", s.args, s.out);
        shown.push(s);
    }

    // Two devices change one phone number: the clash, who set which value.
    let mut server = Server::start();
    let team = Team::create(&server, "Thôn Đông");
    let a = team.enroll(&server, &server.url());
    let b = team.enroll(&server, &server.url());
    let shared = a.add_household(&["--head", "Lò Văn Hùng", "--phone", "0912000111"]);
    a.sync();
    b.sync();
    a.ok(&["household", "edit", &shared, "--phone", "0912000222"]);
    b.ok(&["household", "edit", &shared, "--phone", "0912000333"]);
    a.sync();
    b.sync();
    a.sync();
    shown.push(ok(run(&a, &["conflicts"])));

    // The server goes away: the sync says so as it retries, and what waits.
    a.ok(&["household", "edit", &shared, "--address", "Xóm 4"]);
    server.kill9();
    let s = run(&a, &["sync"]);
    assert_eq!(s.code, Some(1), "{}", s.out);
    shown.push(s);
    (shown, typed)
}

#[test]
fn a_volunteers_flow_in_vietnamese_shows_no_english() {
    let (vi, typed) = flow(&[]);
    let (en, _) = flow(&["--lang", "en"]);

    // The words typed in (names, places, notes) are the volunteer's own; the
    // catalogue's codes are typed too (`--service vneid_activate:done`); the
    // program's name is a name.
    let codes = Device::new().json(&["catalogue"]);
    let code_words = codes
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["entries"].as_array().cloned().unwrap_or_default())
        .flat_map(|e| {
            str_field(&e, "code")
                .split('_')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect::<BTreeSet<String>>();
    let own: BTreeSet<String> = typed
        .iter()
        .flat_map(|t| words(t))
        .chain(["gocua".to_string()])
        .collect();
    let english_screens: BTreeSet<String> = en.iter().flat_map(|s| words(&s.out)).collect();
    let english: BTreeSet<String> = COMMON_ENGLISH
        .iter()
        .map(|w| w.to_string())
        .chain(english_screens)
        .filter(|w| !own.contains(w))
        .collect();
    assert!(
        english.len() > 250,
        "the English screens look empty: {}",
        english.len()
    );
    let mut leaks = Vec::new();
    for s in &vi {
        // The catalogue lists its codes (to type) beside their names.
        let listing_codes = s.args.iter().any(|a| a == "catalogue");
        let found: BTreeSet<String> = words(&s.out)
            .into_iter()
            .filter(|w| english.contains(w))
            .filter(|w| !(listing_codes && code_words.contains(w)))
            .collect();
        if !found.is_empty() {
            leaks.push(format!("{:?}: {found:?}\n{}", s.args, s.out));
        }
    }
    assert!(
        leaks.is_empty(),
        "English on a Vietnamese screen:\n{}",
        leaks.join("\n\n")
    );

    let said = |screens: &[Screen], first: &str| -> String {
        screens
            .iter()
            .find(|s| s.args.iter().any(|a| a == first))
            .map(|s| s.out.clone())
            .unwrap_or_default()
    };
    // What each screen must say, in each language.
    let offline = &vi[vi.len() - 1].out;
    for needed in [
        "Không kết nối được máy chủ",
        "(lần 2/6)",
        "(lần 6/6)",
        "đã thử 6 lần",
        "thay đổi đang chờ gửi trên máy này",
        "`gocua sync`",
    ] {
        assert!(offline.contains(needed), "{needed:?} missing:\n{offline}");
    }
    let offline_en = &en[en.len() - 1].out;
    for needed in [
        "Cannot reach the server",
        "(attempt 2 of 6)",
        "6 attempts",
        "wait on this device",
    ] {
        assert!(
            offline_en.contains(needed),
            "{needed:?} missing:\n{offline_en}"
        );
    }
    let clash = &vi[vi.len() - 2].out;
    assert!(
        clash.contains("số điện thoại") && clash.contains("ghi bởi Nguyễn Thị Lan"),
        "{clash}"
    );
    assert!(
        clash.contains("0912000222") && clash.contains("0912000333"),
        "{clash}"
    );
    let show = said(&vi, "show");
    assert!(show.contains("nữ") && show.contains("mức 2"), "{show}");
    assert!(show.contains("Số nhân khẩu (khai báo): 4"), "{show}");
    let list = said(&vi, "list");
    assert!(list.contains("Thành viên đã ghi"), "{list}");
    let communes = said(&vi, "communes");
    assert!(
        communes.contains("00097") && communes.contains("Phường Hồng Hà"),
        "{communes}"
    );
    let legacy = said(&vi, "00001");
    assert!(legacy.contains("--commune 00097"), "{legacy}");
    let url = said(&vi, "127.0.0.1:8080");
    assert!(url.contains("http://"), "{url}");
}

/// Usage errors with `--json` are one JSON object on stderr, exit 2;
/// `--help` and `--version` end with 0.
#[test]
fn usage_errors_are_json_with_json_and_help_exits_zero() {
    let d = Device::new();
    let o = d.run(&["--json", "household", "add", "--hed", "An"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let err: serde_json::Value = serde_json::from_str(text(&o.stderr).trim())
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {}", text(&o.stderr)));
    assert_eq!(err["error"], "usage", "{err}");
    assert_eq!(err["kind"], "unknown_argument", "{err}");
    assert_eq!(err["field"], "--hed", "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains("--head"),
        "{err}"
    );
    for args in [
        &["--help"][..],
        &["household", "--help"][..],
        &["--version"][..],
    ] {
        let o = d.run(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o.stderr));
        assert!(!o.stdout.is_empty(), "{args:?}");
    }
    let o = d.run(&["--lang", "en", "--help"]);
    assert!(text(&o.stdout).contains("Usage:"), "{}", text(&o.stdout));
    let o = d.run(&["--help"]);
    assert!(
        text(&o.stdout).contains("Cách dùng:"),
        "{}",
        text(&o.stdout)
    );
    // The store is not created by a usage error.
    assert!(!d.home().join("store.sqlite").exists());
}

/// A second enrollment is refused unless asked for, and keeps the device's
/// name; a refused `init` leaves nothing behind.
#[test]
fn enroll_again_keeps_the_name_and_a_refused_init_leaves_nothing() {
    let server = Server::start();
    let team = Team::create(&server, "Thôn Đông");
    let d = team.enroll(&server, &server.url());
    let volunteer = server.admin(&[
        "volunteer",
        "add",
        "--name",
        "Hà Văn Tú",
        "--team",
        &team.team_id,
    ]);
    let code = str_field(
        &server.admin(&["enroll-code", "--volunteer", &str_field(&volunteer, "id")]),
        "code",
    );
    let o = d.run(&["enroll", "--server", &server.url(), "--code", &code]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--again"), "{}", text(&o.stderr));
    let first = d.device_id();
    let again = d.json(&[
        "enroll",
        "--server",
        &server.url(),
        "--code",
        &code,
        "--again",
    ]);
    assert_ne!(str_field(&again, "device_id"), first);
    let devices = server.admin(&["devices", "list"]);
    let names: Vec<String> = devices
        .as_array()
        .map(|a| a.iter().map(|d| str_field(d, "name")).collect())
        .unwrap_or_default();
    // Team::enroll named the first enrollment "may-1": the second keeps it.
    assert_eq!(
        names.iter().filter(|n| *n == "may-1").count(),
        2,
        "{devices}"
    );

    let fresh = Device::new();
    let home = fresh.home().join("nested");
    let o = fresh
        .command(&[
            "--data-dir",
            home.to_str().unwrap_or_default(),
            "init",
            "--volunteer",
            "Lan",
            "--team",
            "Tổ",
            "--commune",
            "99999",
            "--village",
            "Thôn Đông",
        ])
        .output()
        .unwrap_or_else(|e| panic!("gocua: {e}"));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(!home.exists(), "a refused init left {}", home.display());
}
