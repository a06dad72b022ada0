//! The store through its facade: records, search, validation, rebuild, merge.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers, not input paths

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
        volunteer_phone: Some("0912 345 678".into()),
        team_name: "Tổ Công nghệ số cộng đồng thôn Đông".into(),
        commune_code: "00097".into(),
        village_names: vec!["Thôn Đông".into(), "Thôn Tây".into()],
    })
    .unwrap();
    s
}

fn household(s: &Store, head: &str) -> Household {
    s.add_household(NewHousehold {
        village: "thon dong".into(),
        address: "Xóm 3, Thôn Đông".into(),
        head_name: head.into(),
        phone: Some("+84 912 000 111".into()),
        member_count: Some(3),
        device_access: Some("smartphone".into()),
        target_groups: vec!["elderly".into()],
    })
    .unwrap()
}

fn invalid_field(r: Result<impl std::fmt::Debug>) -> Field {
    match r {
        Err(Error::Invalid(i)) => i.field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn records_households_members_consent_and_visits() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir, "a", "Nguyễn Thị Lan");
    let h = household(&s, "  Nguye\u{0302}\u{0303}n Văn Hạnh ");
    assert_eq!(h.head_name, "Nguyễn Văn Hạnh", "stored NFC and trimmed");
    assert_eq!(h.phone.as_deref(), Some("0912000111"));
    let p = s
        .add_member(
            &h.id,
            NewPerson {
                name: "Trần Thị Thủy".into(),
                birth_year: Some(1958),
                gender: Some("female".into()),
                id_number: Some("001158012345".into()),
                skills: SkillsEdit {
                    vneid_level: Some("level2".into()),
                    bank_account: Some(false),
                    ..Default::default()
                },
            },
        )
        .unwrap();
    let short = &p.id[p.id.len() - 8..];
    let c = s
        .record_consent(
            &h.id[h.id.len() - 8..],
            NewConsent {
                person_id: short.into(),
                purpose: "Hỗ trợ cài đặt VNeID".into(),
                method: "verbal".into(),
                given_at: None,
            },
        )
        .unwrap();
    let visit = s
        .record_visit(
            &h.id,
            NewVisit {
                visited_at: Some("2026-11-20 09:30".into()),
                person_ids: vec![short.into()],
                services: vec![
                    ServiceOutcome {
                        service: "vneid_activate".into(),
                        outcome: "done".into(),
                        note: None,
                    },
                    ServiceOutcome {
                        service: "bank_account".into(),
                        outcome: "blocked".into(),
                        note: Some("Cần công an xã xác thực".into()),
                    },
                ],
                duration_minutes: Some(30),
                follow_up_on: Some("2026-12-01".into()),
                feedback: Some("Bà muốn học thêm".into()),
                consent_id: Some(c.id.clone()),
                other_volunteer_ids: vec![],
                // Dated before the household was registered (today).
                entered_late: true,
            },
        )
        .unwrap();
    assert_eq!(visit.visited_at, "2026-11-20T02:30:00Z");
    let shown = s.household(&h.id).unwrap();
    assert_eq!(shown.members.len(), 1);
    assert_eq!(
        shown.members[0].skills.vneid_level,
        Some(VneidLevel::Level2)
    );
    assert_eq!(shown.visits.len(), 1);
    assert_eq!(shown.visits[0].services.len(), 2);
    assert_eq!(shown.visits[0].person_ids, vec![p.id.clone()]);
    assert_eq!(shown.consents[0].person_id, p.id);
    assert_eq!(shown.schema_version, 1);

    let withdrawn = s
        .withdraw_consent(&c.id, Some("Không muốn".into()))
        .unwrap();
    assert!(withdrawn.withdrawn_at.is_some());
    // A withdrawn consent cannot back a new visit nor be withdrawn twice.
    assert_eq!(
        invalid_field(s.withdraw_consent(&c.id, None)),
        Field::ConsentId
    );
    let again = NewVisit {
        services: vec![ServiceOutcome {
            service: "scam_awareness".into(),
            outcome: "done".into(),
            note: None,
        }],
        consent_id: Some(c.id.clone()),
        ..Default::default()
    };
    assert_eq!(
        invalid_field(s.record_visit(&h.id, again)),
        Field::ConsentId
    );

    let st = s.status().unwrap();
    assert_eq!((st.households, st.persons, st.visits), (1, 1, 1));
    assert_eq!(
        st.pending_changes, 6,
        "add (the genesis and the fields), member, consent, visit, withdraw"
    );
}

#[test]
fn search_ignores_tones_case_and_normal_form_and_sorts_vietnamese() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir, "a", "Lê Văn Tám");
    for head in [
        "Đỗ Văn Bình",
        "Dương Văn Cường",
        "Ân Thị Ánh",
        "An Văn Dũng",
        "Nguyễn Văn Hạnh",
        "Đàm Thị Hoà",
    ] {
        household(&s, head);
    }
    let heads = |r: SearchResults| {
        r.households
            .into_iter()
            .map(|h| h.household.head_name)
            .collect::<Vec<_>>()
    };
    for q in [
        "nguyen van hanh",
        "Nguyen Van Hanh",
        "NGUYỄN văn",
        "Nguye\u{0302}\u{0303}n Va\u{0306}n Ha\u{0323}nh",
    ] {
        assert_eq!(
            heads(s.search(q, 50).unwrap()),
            vec!["Nguyễn Văn Hạnh"],
            "{q}"
        );
    }
    assert_eq!(heads(s.search("dam", 50).unwrap()), vec!["Đàm Thị Hoà"]);
    // Old and new tone placement find each other.
    assert_eq!(heads(s.search("hòa", 50).unwrap()), vec!["Đàm Thị Hoà"]);
    // Phone in any form.
    assert_eq!(s.search("+84912000111", 50).unwrap().households.len(), 6);
    assert_eq!(
        s.list_households(None, 100)
            .unwrap()
            .into_iter()
            .map(|h| h.head_name)
            .collect::<Vec<_>>(),
        vec![
            "An Văn Dũng",
            "Ân Thị Ánh",
            "Dương Văn Cường",
            "Đàm Thị Hoà",
            "Đỗ Văn Bình",
            "Nguyễn Văn Hạnh"
        ]
    );
    assert!(s.search("   ", 10).is_err());
    assert!(
        s.search("100%_", 10).unwrap().households.is_empty(),
        "LIKE wildcards are escaped"
    );
}

#[test]
fn bad_input_is_refused_naming_the_field_and_stores_nothing() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir, "a", "Lê Văn Tám");
    let h = household(&s, "Phạm Văn Nam");
    let before = (s.projection_dump().unwrap(), s.status().unwrap());

    let base = || NewHousehold {
        village: "Thôn Đông".into(),
        head_name: "Hộ mới".into(),
        ..Default::default()
    };
    assert_eq!(
        invalid_field(s.add_household(NewHousehold {
            phone: Some("0912".into()),
            ..base()
        })),
        Field::Phone
    );
    assert_eq!(
        invalid_field(s.add_household(NewHousehold {
            head_name: "  ".into(),
            ..base()
        })),
        Field::HeadName
    );
    assert_eq!(
        invalid_field(s.add_household(NewHousehold {
            village: "Thôn Bắc".into(),
            ..base()
        })),
        Field::VillageId
    );
    assert_eq!(
        invalid_field(s.add_household(NewHousehold {
            target_groups: vec!["rich".into()],
            ..base()
        })),
        Field::TargetGroup
    );
    assert_eq!(
        invalid_field(s.add_household(NewHousehold {
            device_access: Some("pager".into()),
            ..base()
        })),
        Field::DeviceAccess
    );
    let person = |year: Option<i64>, gender: &str, id: Option<&str>, name: &str| NewPerson {
        name: name.into(),
        birth_year: year,
        gender: Some(gender.into()),
        id_number: id.map(str::to_string),
        skills: SkillsEdit::default(),
    };
    assert_eq!(
        invalid_field(s.add_member(&h.id, person(Some(1850), "male", None, "A"))),
        Field::BirthYear
    );
    assert_eq!(
        invalid_field(s.add_member(&h.id, person(Some(2100), "male", None, "A"))),
        Field::BirthYear
    );
    assert_eq!(
        invalid_field(s.add_member(&h.id, person(Some(1958), "male", None, ""))),
        Field::Name
    );
    // Female born 1958 must have century/gender digit 1, not 0.
    assert_eq!(
        invalid_field(s.add_member(
            &h.id,
            person(Some(1958), "female", Some("001058012345"), "A")
        )),
        Field::IdNumber
    );
    assert_eq!(
        invalid_field(s.add_member(&h.id, person(Some(1958), "male", Some("00105801234"), "A"))),
        Field::IdNumber
    );
    let visit = |service: &str, outcome: &str| NewVisit {
        services: vec![ServiceOutcome {
            service: service.into(),
            outcome: outcome.into(),
            note: None,
        }],
        ..Default::default()
    };
    assert_eq!(
        invalid_field(s.record_visit(&h.id, visit("teleport", "done"))),
        Field::ServiceCode
    );
    assert_eq!(
        invalid_field(s.record_visit(&h.id, visit("vneid_register", "maybe"))),
        Field::OutcomeCode
    );
    assert_eq!(
        invalid_field(s.record_visit(&h.id, NewVisit::default())),
        Field::ServiceCode
    );
    assert_eq!(
        invalid_field(s.record_visit(
            &h.id,
            NewVisit {
                visited_at: Some("hôm qua".into()),
                ..visit("cccd", "done")
            }
        )),
        Field::VisitedAt
    );
    assert!(matches!(
        s.record_visit("ffffffff", visit("cccd", "done")),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        s.edit_household(
            &h.id,
            HouseholdEdit {
                head_name: Some(" ".into()),
                ..Default::default()
            }
        ),
        Err(Error::Invalid(_))
    ));

    let after = (s.projection_dump().unwrap(), s.status().unwrap());
    assert_eq!(before, after, "a refused write changes nothing");

    let other = Store::open(
        dir.path().join("b.sqlite"),
        &field_core::StoreKey::Unencrypted,
    )
    .unwrap();
    let bad_commune = other.init(InitRequest {
        volunteer_name: "A".into(),
        team_name: "T".into(),
        commune_code: "99999".into(),
        village_names: vec!["X".into()],
        ..Default::default()
    });
    assert_eq!(invalid_field(bad_commune), Field::CommuneCode);
    assert!(matches!(other.identity(), Err(Error::NotInitialized)));
}

#[test]
fn rebuild_yields_identical_rows_and_reopen_keeps_everything() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("a.sqlite");
    {
        let s = store(&dir, "a", "Lê Văn Tám");
        for i in 0..5 {
            let h = household(&s, &format!("Hộ số {i}"));
            s.add_member(
                &h.id,
                NewPerson {
                    name: format!("Con {i}"),
                    ..Default::default()
                },
            )
            .unwrap();
            // Enough changes to cross the compaction threshold on one household.
            let n = if i == 0 {
                field_core::store::COMPACT_AFTER + 5
            } else {
                2
            };
            for _ in 0..n {
                s.record_visit(
                    &h.id,
                    NewVisit {
                        services: vec![ServiceOutcome {
                            service: "basic_skills".into(),
                            outcome: "partly".into(),
                            note: None,
                        }],
                        ..Default::default()
                    },
                )
                .unwrap();
            }
        }
        let before = s.projection_dump().unwrap();
        assert_eq!(s.rebuild_projection().unwrap(), 5);
        assert_eq!(s.projection_dump().unwrap(), before);
    }
    let s = Store::open(&path, &field_core::StoreKey::Unencrypted).unwrap();
    assert_eq!(s.integrity_check().unwrap(), "ok");
    let before = s.projection_dump().unwrap();
    s.rebuild_projection().unwrap();
    assert_eq!(s.projection_dump().unwrap(), before);
    let first = s.search("ho so 0", 5).unwrap();
    assert_eq!(
        first.households[0].household.visits,
        field_core::store::COMPACT_AFTER + 5
    );
}

#[test]
fn a_store_from_a_newer_gocua_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("new.sqlite");
    drop(Store::open(&path, &field_core::StoreKey::Unencrypted).unwrap());
    let conn = rusqlite_bump(&path);
    drop(conn);
    match Store::open(&path, &field_core::StoreKey::Unencrypted) {
        Err(Error::TooNew { found, .. }) => assert_eq!(found, SCHEMA_VERSION + 1),
        other => panic!("expected TooNew, got {other:?}"),
    }
}

fn rusqlite_bump(path: &std::path::Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).unwrap();
    c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    c
}

#[test]
fn automerge_file_round_trip() {
    let dir = TempDir::new().unwrap();
    let a = store(&dir, "a", "A");
    let h = household(&a, "Hồ Thị Mai");
    let bytes = a.export_doc(&h.id).unwrap();
    // Any Automerge implementation can read it.
    let raw = automerge::Automerge::load(&bytes).unwrap();
    assert_eq!(
        field_core::doc::read_household(&raw).unwrap().head_name,
        "Hồ Thị Mai"
    );
    let b = store(&dir, "b", "B");
    let (id, report) = b.import_doc(&bytes).unwrap();
    assert_eq!(id, h.id);
    assert_eq!(report.documents, 1);
    assert_eq!(b.household(&id).unwrap(), a.household(&id).unwrap());
    assert!(b.import_doc(b"not automerge").is_err());
    assert_eq!(b.status().unwrap().households, 1);
}

#[test]
fn a_store_written_by_schema_1_opens_migrates_and_rebuilds_its_projection() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("a.sqlite");
    let expected = {
        let s = store(&dir, "a", "Lê Văn Tám");
        let h = household(&s, "Vũ Thị Thu");
        s.record_visit(
            &h.id,
            NewVisit {
                services: vec![ServiceOutcome {
                    service: "cccd".into(),
                    outcome: "done".into(),
                    note: None,
                }],
                follow_up_on: Some("2026-12-15".into()),
                ..Default::default()
            },
        )
        .unwrap();
        s.projection_dump().unwrap()
    };
    // What schema 1 wrote: no follow-up index, no refusal column, no
    // quarantine, waiting, problems or imported-records tables; and a
    // projection to be rebuilt.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("DROP TABLE same_people; DROP INDEX households_merge_target; DROP INDEX households_merged_into; ALTER TABLE households DROP COLUMN merge_target; ALTER TABLE households DROP COLUMN merged_into; ALTER TABLE persons DROP COLUMN doc_id; ALTER TABLE visits DROP COLUMN doc_id; ALTER TABLE consents DROP COLUMN doc_id; DROP INDEX visits_follow_up; ALTER TABLE outbox DROP COLUMN refused; DROP TABLE quarantine; DROP TABLE waiting_changes; DROP TABLE problems; DROP TABLE legacy_ids; DROP TABLE imported_records; DROP TABLE suggestion_rules; ALTER TABLE households DROP COLUMN in_error_at; ALTER TABLE persons DROP COLUMN removed_at; ALTER TABLE visits DROP COLUMN cancelled_at; ALTER TABLE visits DROP COLUMN cancelled_by; ALTER TABLE visits DROP COLUMN cancel_reason; ALTER TABLE visits DROP COLUMN edited_at; ALTER TABLE visits DROP COLUMN edited_by; UPDATE households SET search_text = ''; DELETE FROM visits; DELETE FROM visit_services; PRAGMA user_version = 1;")
            .unwrap();
    }
    let s = Store::open(&path, &field_core::StoreKey::Unencrypted).unwrap();
    assert_eq!(s.status().unwrap().schema_version, SCHEMA_VERSION);
    assert_eq!(
        s.projection_dump().unwrap(),
        expected,
        "projection rebuilt from the documents"
    );
    let c = rusqlite::Connection::open(&path).unwrap();
    let index: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'visits_follow_up'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(index, 1);
}

#[test]
fn village_ids_are_derived_like_the_servers() {
    // Pinned (gocua-protocol's `ids` tests pin the same id, the server
    // derives it with the same function), so a device set up offline and the
    // server agree on its villages.
    assert_eq!(
        field_core::store::village_id("00097", "Thôn Đông"),
        "c3da56a8-952a-5d6e-b3eb-97b31b1c3703"
    );
    assert_eq!(
        field_core::store::village_id("00097", " thon  dong "),
        field_core::store::village_id("00097", "Thôn Đông")
    );
}

/// A document written by another implementation is read by its schema: a text
/// object and a counter read by their value; another type, a record under a key
/// that is not a UUID, a visit without time or services, an unknown outcome and
/// a consent that is not this household's are problems, never blank records.
#[test]
fn a_document_from_another_implementation_is_read_by_schema() {
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ROOT, ReadDoc, ScalarValue};
    let dir = TempDir::new().unwrap();
    let a = store(&dir, "a", "A");
    let h = household(&a, "Hồ Thị Mai");
    let bytes = a.export_doc(&h.id).unwrap();
    let mut d = automerge::Automerge::load(&bytes).unwrap();
    let member = "0190a1b2-c3d4-7e5f-8a9b-0123456789ab";
    let visit = "0190a1b2-c3d4-7e5f-8a9b-0123456789ac";
    let unknown = "0190a1b2-c3d4-7e5f-8a9b-0123456789ad";
    let mut tx = d.transaction();
    let phone = tx.put_object(&ROOT, "phone", ObjType::Text).unwrap();
    tx.splice_text(&phone, 0, 0, "0987654321").unwrap();
    tx.put(&ROOT, "member_count", ScalarValue::counter(4))
        .unwrap();
    tx.put(&ROOT, "address", 42).unwrap();
    let members = tx.get(&ROOT, "members").unwrap().unwrap().1;
    let m = tx.put_object(&members, member, ObjType::Map).unwrap();
    tx.put(&m, "name", "Phạm Thị Hương").unwrap();
    tx.put(&m, "gender", "nữ").unwrap();
    tx.put_object(&members, "member-1", ObjType::Map).unwrap();
    let visits = tx.get(&ROOT, "visits").unwrap().unwrap().1;
    let v = tx.put_object(&visits, visit, ObjType::Map).unwrap();
    tx.put(&v, "consent_id", unknown).unwrap();
    let empty = tx.put_object(&visits, unknown, ObjType::Map).unwrap();
    let svcs = tx.put_object(&empty, "services", ObjType::Map).unwrap();
    tx.put(&svcs, "cccd", "maybe").unwrap();
    tx.put(&empty, "visited_at", "2026-03-02T02:30:00Z")
        .unwrap();
    tx.commit();
    assert_eq!(d.length(&visits), 2);

    let (id, _) = a.import_doc(&d.save()).unwrap();
    let shown = a.household(&id).unwrap();
    assert_eq!(shown.phone.as_deref(), Some("0987654321"));
    assert_eq!(shown.member_count, Some(4));
    assert_eq!(
        shown.members.len(),
        1,
        "the member under member-1 is left out"
    );
    assert_eq!(shown.members[0].name, "Phạm Thị Hương");
    let problems: Vec<(String, String)> = shown
        .problems
        .iter()
        .map(|p| (p.path.clone(), format!("{:?}", p.problem)))
        .collect();
    let want = [
        ("address", "WrongType"),
        (&*format!("members/{member}/gender"), "NotOneOf"),
        ("members/member-1", "NotAUuid"),
        (&*format!("visits/{visit}/consent_id"), "NotInHousehold"),
        (&*format!("visits/{visit}/services"), "NoService"),
        (&*format!("visits/{visit}/visited_at"), "Required"),
        (&*format!("visits/{unknown}/services/cccd"), "UnknownCode"),
    ];
    assert_eq!(problems.len(), want.len(), "{problems:#?}");
    for ((path, problem), (want_path, want_problem)) in problems.iter().zip(want) {
        assert_eq!(path, want_path);
        assert!(problem.starts_with(want_problem), "{path}: {problem}");
    }
    assert_eq!(a.problems().unwrap(), shown.problems);
    // What was projected on import is what a rebuild makes.
    let before = a.projection_dump().unwrap();
    a.rebuild_projection().unwrap();
    assert_eq!(a.projection_dump().unwrap(), before);
    // An ordinary edit fixes a problem; the others stay.
    a.edit_household(
        &id,
        HouseholdEdit {
            address: Some("Xóm 3".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(a.problems().unwrap().len(), want.len() - 1);
    let before = a.projection_dump().unwrap();
    a.rebuild_projection().unwrap();
    assert_eq!(a.projection_dump().unwrap(), before);
}

#[test]
fn households_page_walks_every_household_in_bounded_pages() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir, "a", "Nguyễn Thị Lan");
    let mut made: Vec<String> = (0..5)
        .map(|i| household(&s, &format!("Chủ hộ {i}")).id)
        .collect();
    made.sort();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = s.households_page(after.as_deref(), 2).unwrap();
        assert!(page.households.len() <= 2);
        assert!(page.unreadable.is_empty());
        seen.extend(page.households.iter().map(|h| h.id.clone()));
        pages += 1;
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, made);
    assert_eq!(pages, 3);
}

fn problem(r: Result<impl std::fmt::Debug>) -> (Field, Problem) {
    match r {
        Err(Error::Invalid(i)) => (i.field, i.problem),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// Dates are checked where a visit is entered: not in the future beyond a
/// few minutes, not before the household's registration nor more than a
/// year back unless entered late on purpose, and a follow-up not before the
/// visit's day. A refused visit stores nothing.
#[test]
fn visit_dates_are_checked_where_they_are_entered() {
    let dir = TempDir::new().unwrap();
    let s = store(&dir, "a", "Nguyễn Thị Lan");
    let h = household(&s, "Trần Văn Bình");
    let visit = |at: Option<String>, follow_up: Option<&str>, late: bool| NewVisit {
        visited_at: at,
        services: vec![ServiceOutcome {
            service: "vneid_activate".into(),
            outcome: "done".into(),
            note: None,
        }],
        follow_up_on: follow_up.map(String::from),
        entered_late: late,
        ..Default::default()
    };
    let vn = time::UtcOffset::from_hms(7, 0, 0).unwrap();
    let now = time::OffsetDateTime::now_utc().to_offset(vn);
    let day = |d: time::OffsetDateTime| d.date().to_string();
    let minute = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    let at = |d: time::OffsetDateTime| d.format(&minute).unwrap();

    for far in ["2099-01-01", "9999-12-31"] {
        let (field, p) = problem(s.record_visit(&h.id, visit(Some(far.into()), None, true)));
        assert_eq!(field, Field::VisitedAt);
        assert!(matches!(p, Problem::InFuture { .. }), "{p:?}");
    }
    let tomorrow = now + time::Duration::days(1);
    assert!(matches!(
        problem(s.record_visit(&h.id, visit(Some(at(tomorrow)), None, true))).1,
        Problem::InFuture { .. }
    ));
    // Before the household was registered (today), or years back.
    for back in [
        at(now - time::Duration::days(2)),
        "0001-01-01".to_string(),
        "2019-05-01".to_string(),
    ] {
        let (field, p) = problem(s.record_visit(&h.id, visit(Some(back.clone()), None, false)));
        assert_eq!(field, Field::VisitedAt, "{back}");
        assert!(matches!(p, Problem::TooFarBack { .. }), "{back}: {p:?}");
    }
    // A follow-up before the visit's day.
    let (field, p) = problem(s.record_visit(
        &h.id,
        visit(None, Some(&day(now - time::Duration::days(1))), false),
    ));
    assert_eq!(field, Field::FollowUpOn);
    assert!(matches!(p, Problem::BeforeVisit { .. }), "{p:?}");
    assert!(
        s.household(&h.id).unwrap().visits.is_empty(),
        "nothing stored"
    );

    // Accepted: now, a few minutes ahead (another phone's clock), earlier
    // today, two days back when entered late, a follow-up today or later.
    s.record_visit(&h.id, visit(None, Some(&day(now)), false))
        .unwrap();
    s.record_visit(
        &h.id,
        visit(Some(at(now + time::Duration::minutes(3))), None, false),
    )
    .unwrap();
    s.record_visit(
        &h.id,
        visit(Some(at(now - time::Duration::days(2))), None, true),
    )
    .unwrap();
    assert_eq!(s.household(&h.id).unwrap().visits.len(), 3);
}
