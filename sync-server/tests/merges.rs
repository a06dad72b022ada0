//! Merged households on the server (docs/data-model.md, "Merged
//! households"): the report projection counts a merge group once, under the
//! household its marks lead to, whatever order the devices' changes arrive
//! in (a chain and a cycle made offline on three devices), follows an edit
//! to an absorbed household and an undo, and a rebuild gives the same rows.

// Test helpers: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use field_core::{InitRequest, NewHousehold, NewPerson, NewVisit, ServiceOutcome, Store};

fn store(dir: &Path, name: &str) -> Store {
    let s = Store::open(
        dir.join(format!("{name}.sqlite")),
        &field_core::StoreKey::Unencrypted,
    )
    .unwrap();
    s.init(InitRequest {
        volunteer_name: format!("Tình nguyện viên {name}"),
        volunteer_phone: None,
        team_name: "Tổ Thôn Đông".into(),
        commune_code: COMMUNE.into(),
        village_names: vec!["Thôn Đông".into()],
    })
    .unwrap();
    s
}

fn visit(s: &Store, h: &str) {
    s.record_visit(
        h,
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

fn send(from: &Store, to: &Store) {
    let bundle = from.export_changes(Some(&to.doc_heads().unwrap())).unwrap();
    to.import_changes(&bundle).unwrap();
}

fn rows(db: &TestDb, sql: &str) -> BTreeSet<String> {
    db.rows(sql).into_iter().collect()
}

/// What the report projection says of the households, independent of
/// receipt times and log positions.
fn shape(db: &TestDb) -> Vec<BTreeSet<String>> {
    [
        "SELECT id FROM report_households",
        "SELECT household_id, id FROM report_persons",
        "SELECT household_id, id FROM report_visits",
        "SELECT household_id, visit_id, service_code FROM report_visit_services",
    ]
    .iter()
    .map(|q| rows(db, q))
    .collect()
}

fn count(db: &TestDb, sql: &str) -> i64 {
    db.int(sql)
}

/// Waits until the materializer has folded the log up to `seq` and the
/// report rows follow.
async fn caught_up(db: &TestDb, c: &reqwest::Client, s: &TestServer, token: &str, seq: u64) {
    bootstrap_at(c, s, token, seq).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while count(db, "SELECT COUNT(*) FROM report_due") > 0
        || count(
            db,
            "SELECT COUNT(*) FROM snapshots s JOIN report_merges m ON m.doc_id = s.doc_id",
        ) < count(db, "SELECT COUNT(*) FROM snapshots WHERE bytes IS NOT NULL")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "report rows never written"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn merge_groups_count_once_whatever_order_their_changes_arrive_in(db: common::TestDb) {
    // Three devices share three households: A and B are one family.
    let d: Vec<Store> = (0..3)
        .map(|i| store(db.dir.path(), &i.to_string()))
        .collect();
    let ids: Vec<String> = ["Nguyễn Văn Hạnh", "Nguyen Van Hanh", "Lê Thị Hoa"]
        .iter()
        .map(|head| {
            let h = d[0]
                .add_household(NewHousehold {
                    village: "Thôn Đông".into(),
                    head_name: (*head).into(),
                    ..Default::default()
                })
                .unwrap()
                .id;
            d[0].add_member(
                &h,
                NewPerson {
                    name: "Trần Thị Thủy".into(),
                    birth_year: Some(1960),
                    ..Default::default()
                },
            )
            .unwrap();
            visit(&d[0], &h);
            h
        })
        .collect();
    let (a, b, c) = (&ids[0], &ids[1], &ids[2]);
    send(&d[0], &d[1]);
    send(&d[0], &d[2]);
    // Offline: A into B, B into C (a chain), and C into A (a cycle), with
    // a visit recorded at A by a device that did not know.
    d[0].merge_households(a, b).unwrap();
    d[1].merge_households(b, c).unwrap();
    d[2].record_visit(
        a,
        NewVisit {
            services: vec![ServiceOutcome {
                service: "bank_account".into(),
                outcome: "done".into(),
                note: None,
            }],
            ..Default::default()
        },
    )
    .unwrap();
    d[2].merge_households(c, a).unwrap();
    let bundles: Vec<Vec<u8>> = d.iter().map(|s| s.export_changes(None).unwrap()).collect();

    let mut shapes = Vec::new();
    for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
        let db = db.another(&format!("server_{}{}{}", order[0], order[1], order[2]));
        let s = TestServer::start(&db).await;
        let st = admin_storage(&db);
        let t = team(st.as_ref(), "Tổ Thôn Đông", &["Thôn Đông"]);
        let cl = client();
        let dev = device(&cl, &s, st.as_ref(), &t.volunteer_id).await;
        for i in order {
            let answer = push(&cl, &s, &dev.token, bundles[i].clone()).await;
            assert!(answer.refused.is_empty(), "{answer:?}");
            caught_up(&db, &cl, &s, &dev.token, answer.last_seq).await;
        }
        let shape_now = shape(&db);
        // One household: the cycle ends at the smallest id.
        let kept = db.rows("SELECT id FROM report_households").join(",");
        assert_eq!(&kept, [a, b, c].into_iter().min().unwrap());
        assert_eq!(shape_now[0].len(), 1, "{shape_now:?}");
        // Every visit once: three recorded at first, one at A later.
        assert_eq!(shape_now[2].len(), 4, "{shape_now:?}");
        // Thủy, the same person in the three households, is one person.
        assert_eq!(shape_now[1].len(), 1, "{shape_now:?}");
        // A rebuild from the snapshots gives the same rows.
        st.rebuild_report().unwrap();
        while gocua_server::report::step(st.as_ref()).unwrap() > 0 {}
        assert_eq!(shape(&db), shape_now);
        shapes.push(shape_now);
        s.stop().await;
    }
    assert!(shapes.windows(2).all(|w| w[0] == w[1]), "{shapes:?}");
    // The devices agree with the server.
    for _ in 0..2 {
        for i in 0..3 {
            for j in 0..3 {
                if i != j {
                    send(&d[i], &d[j]);
                }
            }
        }
    }
    let smallest = [a, b, c].into_iter().min().unwrap();
    for s in &d {
        assert_eq!(s.status().unwrap().households, 1);
        assert_eq!(s.household(a).unwrap().id, *smallest);
        assert_eq!(s.household(a).unwrap().visits.len(), 4);
    }
}

/// A full-data JSON Lines extract of the commune since `cursor`, through
/// the operator's command: its next cursor and its lines.
fn extract(db: &TestDb, cursor: u64) -> (u64, Vec<serde_json::Value>) {
    let out = db.dir.path().join(format!("since-{cursor}.jsonl"));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gocua-server"))
        .arg("--database")
        .arg(db)
        .args(["--json", "export", "--area", COMMUNE, "--format", "jsonl"])
        .args(["--pii", "full", "--since", &cursor.to_string(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let lines = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (report["cursor"].as_u64().unwrap(), lines)
}

async fn an_undone_merge_gives_two_households_again(db: common::TestDb) {
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "Tổ Thôn Đông", &["Thôn Đông"]);
    let cl = client();
    let dev = device(&cl, &s, st.as_ref(), &t.volunteer_id).await;
    let d = store(db.dir.path(), "d");
    let a = d
        .add_household(NewHousehold {
            village: "Thôn Đông".into(),
            head_name: "Phạm Văn Đức".into(),
            ..Default::default()
        })
        .unwrap()
        .id;
    let b = d
        .add_household(NewHousehold {
            village: "Thôn Đông".into(),
            head_name: "Pham Van Duc".into(),
            ..Default::default()
        })
        .unwrap()
        .id;
    visit(&d, &a);
    visit(&d, &b);
    let answer = push(&cl, &s, &dev.token, d.export_changes(None).unwrap()).await;
    caught_up(&db, &cl, &s, &dev.token, answer.last_seq).await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM report_households"), 2);
    let (first, _) = extract(&db, 0);
    let heads = d.doc_heads().unwrap();
    d.merge_households(&a, &b).unwrap();
    let answer = push(&cl, &s, &dev.token, d.export_changes(Some(&heads)).unwrap()).await;
    caught_up(&db, &cl, &s, &dev.token, answer.last_seq).await;
    // The province's next incremental extract lists A as gone, and B with
    // both households' visits.
    let (second, lines) = extract(&db, first);
    let gone: Vec<&str> = lines
        .iter()
        .filter(|l| l["table"] == "households_removed")
        .filter_map(|l| l["household_id"].as_str())
        .collect();
    assert_eq!(gone, vec![a.as_str()], "{lines:?}");
    let visits: Vec<&str> = lines
        .iter()
        .filter(|l| l["table"] == "visits")
        .filter_map(|l| l["household_id"].as_str())
        .collect();
    assert_eq!(visits, vec![b.as_str(), b.as_str()], "{lines:?}");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM report_households"), 1);
    assert_eq!(
        count(
            &db,
            &format!("SELECT COUNT(*) FROM report_visits WHERE household_id = '{b}'")
        ),
        2
    );
    let heads = d.doc_heads().unwrap();
    d.unmerge_household(&a).unwrap();
    visit(&d, &a);
    let answer = push(&cl, &s, &dev.token, d.export_changes(Some(&heads)).unwrap()).await;
    caught_up(&db, &cl, &s, &dev.token, answer.last_seq).await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM report_households"), 2);
    assert_eq!(
        count(
            &db,
            &format!("SELECT COUNT(*) FROM report_visits WHERE household_id = '{a}'")
        ),
        2
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM report_visits"), 3);
    // The next incremental extract has both again: B without A's visit.
    let (_, lines) = extract(&db, second);
    let mut back: Vec<(&str, u64)> = lines
        .iter()
        .filter(|l| l["table"] == "households")
        .filter_map(|l| Some((l["household_id"].as_str()?, l["visits"].as_u64()?)))
        .collect();
    back.sort();
    let mut want = vec![(a.as_str(), 2), (b.as_str(), 1)];
    want.sort();
    assert_eq!(back, want, "{lines:?}");
    s.stop().await;
}

common::on_both!(
    merge_groups_count_once_whatever_order_their_changes_arrive_in,
    an_undone_merge_gives_two_households_again,
);
