//! The volunteer's day through the facade: the to-do list (due, overdue,
//! never visited, not this period, settled), the work summary, the services
//! to offer next and a province's own rules.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers, not input paths

use field_core::work::*;
use field_core::*;
use tempfile::TempDir;

fn store(dir: &TempDir, name: &str, volunteer: &str) -> Store {
    let s = Store::open(
        dir.path().join(format!("{name}.sqlite")),
        &field_core::StoreKey::Unencrypted,
    )
    .unwrap();
    s.init(InitRequest {
        volunteer_name: volunteer.into(),
        volunteer_phone: None,
        team_name: "Tổ CNSCĐ thôn Đông".into(),
        commune_code: "00097".into(),
        village_names: vec!["Thôn Đông".into(), "Thôn Tây".into()],
    })
    .unwrap();
    s
}

fn household(s: &Store, village: &str, head: &str, groups: &[&str]) -> String {
    s.add_household(NewHousehold {
        village: village.into(),
        head_name: head.into(),
        target_groups: groups.iter().map(|g| g.to_string()).collect(),
        ..Default::default()
    })
    .unwrap()
    .id
}

/// A visit at `at` (Vietnam time) with one service, entered late (the
/// households are registered today).
fn visit(s: &Store, h: &str, at: &str, service: &str, follow_up: Option<&str>) -> Visit {
    s.record_visit(
        h,
        NewVisit {
            visited_at: Some(at.into()),
            services: vec![ServiceOutcome {
                service: service.into(),
                outcome: "done".into(),
                note: None,
            }],
            follow_up_on: follow_up.map(str::to_string),
            duration_minutes: Some(20),
            entered_late: true,
            ..Default::default()
        },
    )
    .unwrap()
}

fn request(mine: bool) -> TodoRequest {
    TodoRequest {
        today: "2026-10-20".into(),
        period_first_day: "2026-10-01".into(),
        mine,
        limit: 100,
        ..Default::default()
    }
}

fn reasons(list: &TodoList) -> Vec<(String, String)> {
    list.items
        .iter()
        .map(|i| (i.head_name.clone(), i.reason.code().to_string()))
        .collect()
}

#[test]
fn the_to_do_list_sorts_by_urgency_and_a_later_visit_settles_a_follow_up() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir, "a", "Lò Thị Mai");
    let overdue_long = household(&s, "Thôn Đông", "A Quá hạn lâu", &[]);
    let overdue = household(&s, "Thôn Đông", "B Quá hạn", &[]);
    let due = household(&s, "Thôn Tây", "C Đến hạn", &["small_trader"]);
    let settled = household(&s, "Thôn Đông", "D Đã quay lại", &[]);
    let never = household(&s, "Thôn Tây", "E Chưa đến", &["elderly"]);
    let old = household(&s, "Thôn Đông", "F Kỳ trước", &[]);
    let this_period = household(&s, "Thôn Đông", "G Kỳ này", &[]);
    let later = household(&s, "Thôn Đông", "H Hẹn tuần sau", &[]);

    visit(
        &s,
        &overdue_long,
        "2026-08-30 09:00",
        "vneid_register",
        Some("2026-09-05"),
    );
    visit(
        &s,
        &overdue,
        "2026-10-02 09:00",
        "vneid_register",
        Some("2026-10-13"),
    );
    visit(
        &s,
        &due,
        "2026-10-05 09:00",
        "vneid_register",
        Some("2026-10-20"),
    );
    visit(
        &s,
        &settled,
        "2026-10-01 09:00",
        "vneid_register",
        Some("2026-10-08"),
    );
    visit(&s, &settled, "2026-10-09 09:00", "vneid_activate", None);
    visit(&s, &old, "2026-09-15 09:00", "vneid_register", None);
    visit(&s, &this_period, "2026-10-03 09:00", "vneid_register", None);
    visit(
        &s,
        &later,
        "2026-09-20 09:00",
        "vneid_register",
        Some("2026-10-27"),
    );
    // Two visits the same (Vietnam) day: the second does not settle the
    // first's follow-up, as in the report (00:30 on the 12th is still the 12th).
    let same_day = household(&s, "Thôn Đông", "I Cùng ngày", &[]);
    visit(
        &s,
        &same_day,
        "2026-10-12 08:00",
        "vneid_register",
        Some("2026-10-19"),
    );
    visit(&s, &same_day, "2026-10-12 23:30", "scam_awareness", None);

    let list = s.todo(request(false)).unwrap();
    assert_eq!(
        reasons(&list),
        [
            ("A Quá hạn lâu".to_string(), "overdue".to_string()),
            ("B Quá hạn".into(), "overdue".into()),
            ("I Cùng ngày".into(), "overdue".into()),
            ("C Đến hạn".into(), "due".into()),
            ("E Chưa đến".into(), "never_visited".into()),
            ("F Kỳ trước".into(), "not_visited_this_period".into()),
            ("H Hẹn tuần sau".into(), "not_visited_this_period".into()),
        ]
    );
    assert_eq!(
        list.items[0].reason,
        TodoReason::Overdue {
            follow_up_on: "2026-09-05".into(),
            days: 45
        }
    );
    assert!(list.items[0].follow_up_visit_id.is_some());
    assert_eq!(list.items[4].household_id, never);
    assert_eq!(
        list.items[6].next_follow_up_on.as_deref(),
        Some("2026-10-27")
    );
    assert_eq!(
        list.counts,
        TodoCounts {
            overdue: 3,
            due: 1,
            never_visited: 1,
            not_visited_this_period: 2
        }
    );
    // Services to offer: the trader's, the elderly's.
    let offered = |head: &str| -> Vec<String> {
        list.items
            .iter()
            .find(|i| i.head_name == head)
            .unwrap()
            .suggestions
            .iter()
            .map(|x| x.service.clone())
            .collect()
    };
    assert_eq!(offered("C Đến hạn"), ["bank_account", "ecommerce"]);
    assert_eq!(offered("E Chưa đến"), ["telemedicine", "ehealth_book"]);

    // Filters: a group, a village by name; a limit keeps the counts.
    let traders = s
        .todo(TodoRequest {
            target_group: Some("small_trader".into()),
            ..request(false)
        })
        .unwrap();
    assert_eq!(reasons(&traders), [("C Đến hạn".into(), "due".into())]);
    let west = s
        .todo(TodoRequest {
            village: Some("thon tay".into()),
            ..request(false)
        })
        .unwrap();
    assert_eq!(west.items.len(), 2);
    let two = s
        .todo(TodoRequest {
            limit: 2,
            ..request(false)
        })
        .unwrap();
    assert_eq!(two.items.len(), 2);
    assert_eq!(two.counts.total(), 7);

    // Bad filters are refused.
    let err = s
        .todo(TodoRequest {
            target_group: Some("rich".into()),
            ..request(false)
        })
        .unwrap_err();
    assert!(
        matches!(err, Error::Invalid(ref i) if i.field == Field::TargetGroup),
        "{err:?}"
    );
    let err = s
        .todo(TodoRequest {
            village: Some("Thôn Bắc".into()),
            ..request(false)
        })
        .unwrap_err();
    assert!(
        matches!(err, Error::Invalid(ref i) if i.field == Field::VillageId),
        "{err:?}"
    );
}

#[test]
fn mine_is_the_follow_ups_of_my_visits() {
    let dir = TempDir::new().unwrap();
    let a = store(&dir, "a", "Lò Thị Mai");
    let b = store(&dir, "b", "Hà Văn Tùng");
    let hers = household(&a, "Thôn Đông", "Của Mai", &[]);
    let his = household(&b, "Thôn Đông", "Của Tùng", &[]);
    household(&a, "Thôn Đông", "Chưa ai đến", &[]);
    visit(
        &a,
        &hers,
        "2026-10-02 09:00",
        "vneid_register",
        Some("2026-10-10"),
    );
    visit(
        &b,
        &his,
        "2026-10-02 09:00",
        "vneid_register",
        Some("2026-10-10"),
    );
    a.import_changes(&b.export_changes(None).unwrap()).unwrap();

    let team = a.todo(request(false)).unwrap();
    assert_eq!(team.items.len(), 3);
    let mine = a.todo(request(true)).unwrap();
    assert_eq!(reasons(&mine), [("Của Mai".into(), "overdue".into())]);
}

#[test]
fn the_work_summary_counts_my_period() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir, "a", "Lò Thị Mai");
    let h = household(&s, "Thôn Đông", "Nguyễn Văn Hạnh", &[]);
    let p = s
        .add_member(
            &h,
            NewPerson {
                name: "Trần Thị Thủy".into(),
                birth_year: Some(1958),
                ..Default::default()
            },
        )
        .unwrap();
    let g = household(&s, "Thôn Tây", "Đàm Thị Lan", &[]);
    // September: a follow-up, settled by the October visit.
    visit(
        &s,
        &h,
        "2026-09-28 09:00",
        "vneid_register",
        Some("2026-10-05"),
    );
    s.record_visit(
        &h,
        NewVisit {
            visited_at: Some("2026-10-06 09:00".into()),
            person_ids: vec![p.id.clone()],
            services: vec![
                ServiceOutcome {
                    service: "vneid_activate".into(),
                    outcome: "done".into(),
                    note: None,
                },
                ServiceOutcome {
                    service: "bank_account".into(),
                    outcome: "blocked".into(),
                    note: None,
                },
            ],
            duration_minutes: Some(30),
            follow_up_on: Some("2026-10-30".into()),
            entered_late: true,
            ..Default::default()
        },
    )
    .unwrap();
    visit(&s, &g, "2026-10-10 15:00", "vneid_activate", None);
    // November: outside the period.
    visit(&s, &g, "2026-11-02 15:00", "scam_awareness", None);

    let sum = s
        .work_summary(SummaryRequest {
            first_day: "2026-10-01".into(),
            last_day: "2026-10-31".into(),
            mine: true,
        })
        .unwrap();
    assert_eq!(sum.visits, 2);
    assert_eq!(sum.households_visited, 2);
    assert_eq!(sum.people_helped, 1);
    assert_eq!(sum.minutes, 50);
    assert_eq!(sum.follow_ups_set, 1);
    assert_eq!(sum.follow_ups_settled, 1);
    // The October follow-up is still open (the November visit was elsewhere).
    assert_eq!(sum.follow_ups_open, 1);
    let services: Vec<(String, String, u64)> = sum
        .services
        .iter()
        .map(|c| (c.service.clone(), c.outcome.clone(), c.visits))
        .collect();
    assert_eq!(
        services,
        [
            ("vneid_activate".to_string(), "done".to_string(), 2),
            ("bank_account".into(), "blocked".into(), 1),
        ]
    );
    let team = s
        .work_summary(SummaryRequest {
            first_day: "2026-10-01".into(),
            last_day: "2026-10-31".into(),
            mine: false,
        })
        .unwrap();
    assert_eq!(team.visits, 2);
}

#[test]
fn suggestions_follow_members_and_what_was_done() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir, "a", "Lò Thị Mai");
    let h = household(&s, "Thôn Đông", "Nguyễn Văn Hạnh", &[]);
    assert!(s.suggestions(&h, 2026).unwrap().is_empty());
    s.add_member(
        &h,
        NewPerson {
            name: "Nguyễn Minh An".into(),
            birth_year: Some(2014),
            skills: SkillsEdit {
                vneid_activated: Some(false),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .unwrap();
    let offered = |s: &Store| -> Vec<String> {
        s.suggestions(&h, 2026)
            .unwrap()
            .into_iter()
            .map(|x| x.service)
            .collect()
    };
    assert_eq!(
        offered(&s),
        [
            "vneid_activate",
            "cashless_school_fees",
            "public_service_portal",
            "elearning"
        ]
    );
    visit(&s, &h, "2026-10-06 09:00", "vneid_activate", None);
    assert_eq!(
        offered(&s),
        ["cashless_school_fees", "public_service_portal", "elearning"]
    );

    // A province's own rules replace the default; a bad one changes nothing.
    let rules: Vec<SuggestionRule> = serde_json::from_str(
        r#"[{"code":"scam","services":["scam_awareness"],"reason_vi":"Mọi hộ","reason_en":"Every household"}]"#,
    )
    .unwrap();
    let mut bad = rules.clone();
    bad[0].services = vec!["teleporting".into()];
    assert!(matches!(
        s.set_suggestion_rules(&bad),
        Err(Error::BadRule(RuleError {
            problem: RuleProblem::UnknownService(_),
            ..
        }))
    ));
    assert_eq!(offered(&s).len(), 3);
    s.set_suggestion_rules(&rules).unwrap();
    assert_eq!(offered(&s), ["scam_awareness"]);
    assert_eq!(s.suggestion_rules().unwrap(), rules);
}

#[test]
fn a_store_from_before_the_rules_gets_the_default_ones() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("old.sqlite");
    let s = store(&dir, "old", "Lò Thị Mai");
    let defaults = s.suggestion_rules().unwrap();
    assert!(defaults.iter().any(|r| r.code == "vneid"));
    drop(s);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("DROP TABLE same_people; DROP INDEX households_merge_target; DROP INDEX households_merged_into; ALTER TABLE households DROP COLUMN merge_target; ALTER TABLE households DROP COLUMN merged_into; ALTER TABLE persons DROP COLUMN doc_id; ALTER TABLE visits DROP COLUMN doc_id; ALTER TABLE consents DROP COLUMN doc_id; DROP TABLE suggestion_rules; PRAGMA user_version = 8;")
            .unwrap();
    }
    let s = Store::open(&path, &field_core::StoreKey::Unencrypted).unwrap();
    assert_eq!(s.suggestion_rules().unwrap(), defaults);
}
