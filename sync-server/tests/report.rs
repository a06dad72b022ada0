//! The report projection (docs/reports.md): what devices record reaches the
//! server's record-level rows through the materializer, read the way devices
//! read it, with each visit's receipt time, and a rebuild from the snapshots
//! alone gives the same rows.

// Test helpers: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use field_core::{InitRequest, NewHousehold, NewPerson, NewVisit, ServiceOutcome, Store};
use gocua_server::admin;
use gocua_server::storage::Storage;

/// Every row of the report tables, as text, in a stable order.
fn dump(db: &TestDb) -> Vec<String> {
    // What each household added to the sums, by the keys' text.
    let counts = if db.is_postgres() {
        "(SELECT c.household_id, j.ord - 1 AS area_index, k.indicator, k.basis, k.breakdown,
            (x.value->>1)::BIGINT AS count
          FROM report_counts c,
            jsonb_array_elements(c.counts::jsonb) WITH ORDINALITY j(value, ord),
            jsonb_array_elements(j.value->1) x(value)
          JOIN report_keys k ON k.id = (x.value->>0)::BIGINT)"
    } else {
        "(SELECT c.household_id, j.key AS area_index, k.indicator, k.basis, k.breakdown,
            json_extract(x.value, '$[1]') AS count
          FROM report_counts c, json_each(c.counts) j, json_each(j.value, '$[1]') x
          JOIN report_keys k ON k.id = json_extract(x.value, '$[0]'))"
    };
    let mut out = Vec::new();
    for (t, order) in [
        ("report_households", "id"),
        ("report_persons", "household_id, id"),
        ("report_visits", "household_id, id"),
        (
            "report_visit_services",
            "household_id, visit_id, service_code",
        ),
        ("report_consents", "household_id, id"),
        ("report_reviews", "household_id, review"),
        // Sums and counts by the keys' text: their numbers are names only.
        (
            "(SELECT k.indicator, k.basis, k.breakdown, s.province, s.commune, s.village,
                s.count FROM report_sums s JOIN report_keys k ON k.id = s.key_id)",
            "indicator, basis, breakdown, province, commune, village",
        ),
        (
            counts,
            "household_id, area_index, indicator, basis, breakdown",
        ),
    ] {
        let rows = db.rows(&format!("SELECT * FROM {t} AS d ORDER BY {order}"));
        out.extend(rows.into_iter().map(|r| format!("{t}: {r}")));
    }
    out
}

fn count(db: &TestDb, sql: &str) -> i64 {
    db.int(sql)
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+7))
        .date()
}

fn server_report(st: &dyn Storage, level: gocua_report::Level) -> gocua_report::Report {
    let scope = st.area_scope(COMMUNE).unwrap().unwrap();
    let roster = st.report_roster(&scope).unwrap();
    let sums = st.report_sums(&scope, level).unwrap();
    let totals = gocua_report::Totals::of(level, &roster.village_teams(), &sums);
    let periods = gocua_report::PeriodConfig::default();
    let request = gocua_report::Request {
        period: periods.period_of(today()),
        periods,
        level,
        today: today(),
    };
    gocua_report::build(
        &totals,
        &roster,
        gocua_server::report::areas(),
        &request,
        st.report_reviews(&scope, 100).unwrap(),
    )
}

/// The same report computed on the device's own households, with the
/// server's roster (the device's identity names its own team).
fn device_report(store: &Store, server: &gocua_report::Report) -> gocua_report::Report {
    let areas = gocua_server::report::areas();
    let receipts = gocua_report::Receipts::default();
    let periods = gocua_report::PeriodConfig::default();
    let ctx = gocua_report::Context {
        periods,
        areas,
        receipts: &receipts,
        age_year: today().year(),
    };
    let mut contributions = Vec::new();
    let page = store.households_page(None, 100).unwrap();
    for h in &page.households {
        contributions.extend(gocua_report::contributions(h, &ctx).contributions);
    }
    let roster = gocua_report::Roster {
        villages: server
            .units
            .iter()
            .map(|u| gocua_report::RosterVillage {
                id: u.unit.clone(),
                commune_code: COMMUNE.into(),
                team_id: None,
            })
            .collect(),
        teams: Vec::new(),
        trainings: None,
    };
    let level = gocua_report::Level::Village;
    let totals = gocua_report::Totals::of(level, &roster.village_teams(), &contributions);
    let request = gocua_report::Request {
        period: periods.period_of(today()),
        periods,
        level,
        today: today(),
    };
    gocua_report::build(&totals, &roster, areas, &request, Vec::new())
}

async fn households_reach_the_report_and_a_rebuild_gives_the_same_rows(db: common::TestDb) {
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "Tổ Thôn Đông", &["Thôn Đông"]);
    let c = client();
    let dev = device(&c, &s, st.as_ref(), &t.volunteer_id).await;

    // A device records two households, members and visits, offline.
    let store = Store::open(
        db.dir.path().join("device.sqlite"),
        &field_core::StoreKey::Unencrypted,
    )
    .unwrap();
    store
        .init(InitRequest {
            volunteer_name: "Nguyễn Thị Lan".into(),
            volunteer_phone: None,
            team_name: "Tổ Thôn Đông".into(),
            commune_code: COMMUNE.into(),
            village_names: vec!["Thôn Đông".into()],
        })
        .unwrap();
    let mut visits = 0;
    for head in ["Lò Văn Pản", "Hà Thị Mai"] {
        let h = store
            .add_household(NewHousehold {
                village: "Thôn Đông".into(),
                address: "Xóm 2".into(),
                head_name: head.into(),
                phone: Some("0912000111".into()),
                member_count: Some(3),
                device_access: Some("smartphone".into()),
                target_groups: vec!["elderly".into()],
            })
            .unwrap();
        let p = store
            .add_member(
                &h.id,
                NewPerson {
                    name: head.into(),
                    birth_year: Some(1958),
                    gender: Some("female".into()),
                    id_number: None,
                    skills: Default::default(),
                },
            )
            .unwrap();
        for service in ["vneid_register", "ehealth_book"] {
            store
                .record_visit(
                    &h.id,
                    NewVisit {
                        person_ids: vec![p.id.clone()],
                        services: vec![ServiceOutcome {
                            service: service.into(),
                            outcome: "done".into(),
                            note: None,
                        }],
                        ..Default::default()
                    },
                )
                .unwrap();
            visits += 1;
        }
    }
    let before_push = gocua_server::now();
    let answer = push(&c, &s, &dev.token, store.export_changes(None).unwrap()).await;
    assert!(answer.refused.is_empty(), "{answer:?}");
    let after_push = gocua_server::now();
    let observer = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    bootstrap_at(&c, &s, &observer.token, answer.last_seq).await;
    // The report rows follow once the materializer has caught up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while count(&db, "SELECT COUNT(*) FROM report_due") > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "report rows never written"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    assert_eq!(count(&db, "SELECT COUNT(*) FROM report_households"), 2);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM report_persons"), 2);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM report_visits"), visits);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM report_visit_services WHERE outcome = 'done'"
        ),
        visits
    );
    // Every visit has the time the server received it, not the phone's.
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT COUNT(*) FROM report_visits
                 WHERE received_at BETWEEN {before_push} AND {after_push}"
            )
        ),
        visits
    );
    // The rows say what the device says.
    for h in store.list_households(None, 10).unwrap() {
        let shown = store.household(&h.id).unwrap();
        let row = db.rows(&format!(
            "SELECT head_name, village_id, target_groups FROM report_households WHERE id = '{}'",
            h.id
        ));
        let cells: Vec<&str> = row[0].split('|').collect();
        let (head, village, groups) = (
            cells[0].to_string(),
            cells[1].to_string(),
            cells[2].to_string(),
        );
        assert_eq!(
            (head, village, groups),
            (shown.head_name, shown.village_id, "elderly".to_string())
        );
    }

    // The server's indicators agree with the device's, from the same code.
    let server = server_report(st.as_ref(), gocua_report::Level::Village);
    let device = device_report(&store, &server);
    assert_eq!(server.units.len(), 1);
    assert_eq!(
        server.units[0].reached_to_date,
        gocua_report::Ratio {
            part: 2,
            whole: 2,
            pct: Some(100.0)
        }
    );
    for (s_unit, d_unit) in server.units.iter().zip(&device.units) {
        assert_eq!(s_unit.unit, d_unit.unit);
        assert_eq!(s_unit.figures, d_unit.figures);
        assert_eq!(s_unit.reached_in_period, d_unit.reached_in_period);
        assert_eq!(s_unit.digital_citizens, d_unit.digital_citizens);
    }
    assert!(server.reviews.is_empty(), "{:?}", server.reviews);
    // Through the command too, as the operator runs it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gocua-server"))
        .arg("--database")
        .arg(&db)
        .args(["--json", "report", "--area", COMMUNE, "--level", "village"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: gocua_report::Report = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown.units[0].figures, server.units[0].figures);
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_gocua-server"))
        .arg("--database")
        .arg(&db)
        .args(["report", "--area", COMMUNE, "--period", "2026-13"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--period \"2026-13\""));

    // The village-level report, made a village at a time, is the report
    // made of all the sums at once, villages with no household included.
    for name in ["Thôn Phụ 1", "Thôn Phụ 2", "Thôn Phụ 3"] {
        gocua_server::admin::add_village(st.as_ref(), COMMUNE, name).unwrap();
    }
    let whole = server_report(st.as_ref(), gocua_report::Level::Village);
    assert_eq!(whole.units.len(), 4);
    let scope = st.area_scope(COMMUNE).unwrap().unwrap();
    let made = gocua_server::report::indicators(
        st.as_ref(),
        &scope,
        gocua_report::Level::Village,
        None,
        today(),
        100,
    )
    .unwrap();
    assert_eq!(made, whole);

    // A rebuild from the snapshots alone gives the same rows.
    let rows = dump(&db);
    assert!(rows.len() > 10, "{rows:?}");
    assert_eq!(st.rebuild_report().unwrap(), 2);
    assert_eq!(dump(&db), rows);
    s.stop().await;
    drop(st);

    // A SQLite database from before the report projection gets it when
    // upgraded (PostgreSQL's schema began with it).
    if db.is_postgres() {
        return;
    }
    {
        let c = rusqlite::Connection::open(&db.database).unwrap();
        c.execute_batch(
            "DROP TABLE report_households; DROP TABLE report_persons; DROP TABLE report_visits;
             DROP TABLE report_visit_services; DROP TABLE report_consents; DROP TABLE report_due;
             DROP TABLE report_counts; DROP TABLE report_sums; DROP TABLE report_keys;
             DROP TABLE report_removed;
             DROP TABLE report_reviews;
             DROP TABLE report_merges;
             DROP TABLE report_bumps;
             DELETE FROM meta WHERE key = 'report_start_day';
             ALTER TABLE accounts DROP COLUMN commune_code;
             DROP TABLE unsent_reports;
             ALTER TABLE devices DROP COLUMN wipe_requested;
             DROP INDEX snapshots_village_doc;
             CREATE INDEX snapshots_village ON snapshots (village_id);
             DROP TABLE training_attendees; DROP TABLE trainings;
             DROP INDEX volunteers_phone; DROP INDEX volunteers_team;
             ALTER TABLE devices DROP COLUMN last_seen_at;
             ALTER TABLE devices DROP COLUMN last_sync_at;
             ALTER TABLE devices DROP COLUMN app_version;
             DROP TABLE console_sessions; DROP TABLE console_logins;
             DROP INDEX audit_commune; DROP INDEX audit_province;
             ALTER TABLE audit DROP COLUMN commune_code;
             ALTER TABLE audit DROP COLUMN province_code;
             ALTER TABLE devices DROP COLUMN pending_changes;
             PRAGMA user_version = 5;",
        )
        .unwrap();
    }
    let st = admin_storage(&db);
    assert_eq!(dump(&db), rows);
    drop(st);
}

/// A household recorded before the 2025 reform under a commune that was
/// split is reported, and extracted, under the default successor in force
/// now (docs/reports.md, "Areas and levels"): Phường Điện Biên (00019) under
/// Phường Ba Đình (00004), Hà Nội (01).
async fn a_pre_reform_commune_is_reported_under_the_unit_in_force_now(db: common::TestDb) {
    use gocua_server::storage::AreaScope;
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let t = team(st.as_ref(), "Tổ", &["Thôn Đông"]);
    let c = client();
    let dev = device(&c, &s, st.as_ref(), &t.volunteer_id).await;
    let stamp = gocua_household::Stamp {
        volunteer_id: t.volunteer_id.clone(),
        at: "2025-01-15T03:00:00Z".into(),
        at_secs: 1_736_910_000,
    };
    let (id, _, changes) = gocua_household::new_household(
        automerge::ActorId::from(vec![3u8; 16]),
        &stamp,
        "00019",
        &t.villages[0],
        &[("head_name", gocua_household::str_value("Nguyễn Văn Hạnh"))],
        &[],
    )
    .unwrap();
    let body = gocua_protocol::bundle::encode(&[gocua_protocol::DocChanges {
        doc_id: id.clone(),
        changes: changes.iter().map(|c| c.raw_bytes().to_vec()).collect(),
    }]);
    let answer = push(&c, &s, &dev.token, body).await;
    assert!(answer.refused.is_empty(), "{answer:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while count(&db, "SELECT COUNT(*) FROM report_households") == 0
        || count(&db, "SELECT COUNT(*) FROM report_due") > 0
    {
        assert!(std::time::Instant::now() < deadline, "report never written");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let row = db.rows(&format!(
        "SELECT commune_now, province_code FROM report_households WHERE id = '{id}'"
    ));
    let (now, province) = row[0].split_once('|').unwrap();
    assert_eq!((now, province), ("00004", "01"));
    assert_eq!(
        st.area_scope("00004").unwrap(),
        Some(AreaScope::Commune("00004".into()))
    );
    assert_eq!(
        st.area_scope("01").unwrap(),
        Some(AreaScope::Province("01".into()))
    );
    s.stop().await;
}

/// Training sessions and their attendees are counted in the report: for
/// their commune, and at team level for their team (a commune-wide session
/// for none); in the period of their day and to its end.
async fn trainings_are_counted_in_the_report(db: common::TestDb) {
    use gocua_report::{Breakdown, Indicator, Level};
    let s = TestServer::start(&db).await;
    let st = admin_storage(&db);
    let a = team(st.as_ref(), "Tổ Đông", &["Thôn Đông"]);
    let b = team(st.as_ref(), "Tổ Tây", &["Thôn Tây"]);
    let a2 = admin::add_volunteer(st.as_ref(), "Lò Văn Pản", None, &a.team_id)
        .unwrap()
        .id;
    let today = today().to_string();
    let session = |topic: &str, day: &str, team: Option<&str>, who: &[&str]| {
        let commune = team.is_none().then_some(COMMUNE);
        let t = admin::add_training(st.as_ref(), topic, day, "Nhà văn hoá", team, commune).unwrap();
        let who: Vec<String> = who.iter().map(|w| w.to_string()).collect();
        admin::attend_training(st.as_ref(), t.id, &who).unwrap();
    };
    session(
        "VNeID mức 2",
        &today,
        Some(&a.team_id),
        &[&a.volunteer_id, &a2],
    );
    session(
        "VNeID mức 2",
        &today,
        None,
        &[&a.volunteer_id, &b.volunteer_id],
    );
    session(
        "Ví điện tử",
        "2025-01-15",
        Some(&a.team_id),
        &[&a.volunteer_id],
    );

    let figure = |u: &gocua_report::UnitReport, i: Indicator, b: Breakdown| {
        u.figure(i, &b)
            .map(|f| (f.period.unwrap_or(0), f.running_total))
            .unwrap_or_else(|| panic!("no {i:?} {b:?} in {:?}", u.figures))
    };
    let topic = |t: &str| Breakdown::Topic { topic: t.into() };
    let r = server_report(st.as_ref(), Level::Commune);
    let u = r.units.iter().find(|u| u.unit == COMMUNE).unwrap();
    assert_eq!(figure(u, Indicator::Trainings, Breakdown::All), (2, 3));
    assert_eq!(
        figure(u, Indicator::VolunteersTrained, Breakdown::All),
        (3, 3)
    );
    assert_eq!(
        figure(u, Indicator::Trainings, topic("VNeID mức 2")),
        (2, 2)
    );
    assert_eq!(figure(u, Indicator::Trainings, topic("Ví điện tử")), (0, 1));
    assert_eq!(
        figure(u, Indicator::VolunteersTrained, topic("Ví điện tử")),
        (0, 1)
    );
    assert_eq!(
        (u.volunteers_trained.part, u.volunteers_trained.whole),
        (3, 3)
    );
    assert_eq!(u.volunteers_trained.pct, Some(100.0));

    let r = server_report(st.as_ref(), Level::Team);
    let ua = r.units.iter().find(|u| u.unit == a.team_id).unwrap();
    assert_eq!(figure(ua, Indicator::Trainings, Breakdown::All), (1, 2));
    assert_eq!(
        figure(ua, Indicator::VolunteersTrained, Breakdown::All),
        (2, 2)
    );
    let ub = r.units.iter().find(|u| u.unit == b.team_id).unwrap();
    assert_eq!(figure(ub, Indicator::Trainings, Breakdown::All), (0, 0));
    assert_eq!(ub.volunteers_trained.pct, Some(0.0));

    // A village trains no one: no training figures at village level.
    let r = server_report(st.as_ref(), Level::Village);
    assert!(
        r.units
            .iter()
            .all(|u| u.figures.iter().all(|f| !f.indicator.of_roster())),
        "{r:?}"
    );
    s.stop().await;
}

common::on_both!(
    trainings_are_counted_in_the_report,
    a_pre_reform_commune_is_reported_under_the_unit_in_force_now,
    households_reach_the_report_and_a_rebuild_gives_the_same_rows,
);
