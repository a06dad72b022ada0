//! Corrections merge like any edit: members removed and restored, visits
//! corrected, cancelled and restored, a household marked registered in error
//! and unmarked, on three devices in any exchange order, converge to the same
//! documents and rows, and the counts leave out exactly what is corrected.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers, not input paths

mod common;

use common::{assert_identical, converge, device, send};
use field_core::*;
use proptest::prelude::*;
use tempfile::TempDir;

#[derive(Debug, Clone)]
enum Op {
    RemoveMember { m: usize },
    RestoreMember { m: usize },
    CancelVisit { v: usize },
    RestoreVisit { v: usize },
    EditVisit { v: usize, outcome: usize },
    MarkInError,
    UnmarkInError,
    Send { to: usize },
}

const OUTCOMES: &[&str] = &["done", "blocked", "refused"];

fn op() -> impl Strategy<Value = (usize, Op)> {
    let o = prop_oneof![
        (0..2usize).prop_map(|m| Op::RemoveMember { m }),
        (0..2usize).prop_map(|m| Op::RestoreMember { m }),
        (0..2usize).prop_map(|v| Op::CancelVisit { v }),
        (0..2usize).prop_map(|v| Op::RestoreVisit { v }),
        (0..2usize, 0..OUTCOMES.len()).prop_map(|(v, outcome)| Op::EditVisit { v, outcome }),
        Just(Op::MarkInError),
        Just(Op::UnmarkInError),
        (0..3usize).prop_map(|to| Op::Send { to }),
    ];
    (0..3usize, o)
}

/// A refusal a volunteer could meet (already so, or not marked): the
/// operation is simply not made.
fn allowed<T>(r: Result<T>) {
    match r {
        Ok(_) => {}
        Err(Error::Invalid(i))
            if matches!(
                i.problem,
                Problem::AlreadyCorrected
                    | Problem::NotCorrected
                    | Problem::VisitCancelled
                    | Problem::MarkedInError
            ) => {}
        Err(e) => panic!("{e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn corrections_converge_in_any_exchange_order(ops in proptest::collection::vec(op(), 1..30)) {
        let dir = TempDir::new().unwrap();
        let stores: Vec<Store> = (0..3).map(|i| device(&dir, &i.to_string())).collect();
        let h = stores[0].add_household(NewHousehold { head_name: "Nguyễn Văn Hạnh".into(), ..Default::default() }).unwrap().id;
        let members: Vec<String> = ["Trần Thị Thủy", "Nguyễn Văn Tám"].iter().map(|n| {
            stores[0].add_member(&h, NewPerson { name: (*n).into(), ..Default::default() }).unwrap().id
        }).collect();
        let visits: Vec<String> = ["vneid_activate", "bank_account"].iter().map(|s| {
            stores[0].record_visit(&h, NewVisit {
                services: vec![ServiceOutcome { service: (*s).into(), outcome: "done".into(), note: None }],
                ..Default::default()
            }).unwrap().id
        }).collect();
        send(&stores[0], &stores[1]);
        send(&stores[0], &stores[2]);
        for (who, op) in ops {
            let s = &stores[who];
            match op {
                Op::RemoveMember { m } => allowed(s.remove_member(&members[m], Some("chuyển đi".into()))),
                Op::RestoreMember { m } => allowed(s.restore_member(&members[m])),
                Op::CancelVisit { v } => allowed(s.cancel_visit(&visits[v], None)),
                Op::RestoreVisit { v } => allowed(s.restore_visit(&visits[v])),
                Op::EditVisit { v, outcome } => {
                    let service = if v == 0 { "vneid_activate" } else { "bank_account" };
                    allowed(s.edit_visit(&visits[v], VisitEdit {
                        services: vec![ServiceOutcome { service: service.into(), outcome: OUTCOMES[outcome].into(), note: None }],
                        ..Default::default()
                    }))
                }
                Op::MarkInError => allowed(s.mark_in_error(&h, None)),
                Op::UnmarkInError => allowed(s.unmark_in_error(&h)),
                Op::Send { to } => {
                    if to != who {
                        send(s, &stores[to]);
                    }
                }
            }
        }
        converge(&stores);
        assert_identical(&stores);
        // The counts leave out exactly what the merged document says is
        // corrected.
        let read = stores[0].household(&h).unwrap();
        let status = stores[0].status().unwrap();
        if read.in_error.is_some() {
            prop_assert_eq!((status.households, status.persons, status.visits), (0, 0, 0));
            prop_assert!(stores[0].list_households(None, 10).unwrap().is_empty());
        } else {
            prop_assert_eq!(status.households, 1);
            prop_assert_eq!(status.persons as usize, read.members.iter().filter(|m| m.removed.is_none()).count());
            prop_assert_eq!(status.visits as usize, read.visits.iter().filter(|v| v.cancelled.is_none()).count());
            let listed = stores[0].list_households(None, 10).unwrap();
            prop_assert_eq!(listed[0].members, status.persons);
            prop_assert_eq!(listed[0].visits, status.visits);
        }
        // Nothing is ever deleted: every member and visit is still read.
        prop_assert_eq!(read.members.len(), 2);
        prop_assert_eq!(read.visits.len(), 2);
    }
}

#[test]
fn corrected_records_are_not_found_by_search_nor_duplicates() {
    let dir = TempDir::new().unwrap();
    let s = device(&dir, "a");
    let h = s
        .add_household(NewHousehold {
            head_name: "Nguyễn Văn Hạnh".into(),
            ..Default::default()
        })
        .unwrap()
        .id;
    let m = s
        .add_member(
            &h,
            NewPerson {
                name: "Lò Thị Xuyến".into(),
                ..Default::default()
            },
        )
        .unwrap()
        .id;
    assert_eq!(s.search("xuyen", 10).unwrap().total, 1);
    s.remove_member(&m, None).unwrap();
    assert_eq!(s.search("xuyen", 10).unwrap().total, 0);
    s.restore_member(&m).unwrap();
    assert_eq!(s.search("xuyen", 10).unwrap().total, 1);
    s.mark_in_error(&h, Some("trùng".into())).unwrap();
    assert_eq!(s.search("hanh", 10).unwrap().total, 0);
    // Registering it again is not refused as a duplicate of the mistake.
    s.add_household(NewHousehold {
        head_name: "Nguyễn Văn Hạnh".into(),
        ..Default::default()
    })
    .unwrap();
    assert!(s.duplicate_candidates(None).unwrap().is_empty());
}

/// A store of villages A and B whose household, accepted by the server in
/// A, was then moved to B and given a member; the server refused those
/// changes (`moves_village`). Returns the store, the household and the
/// hashes refused.
fn refused_move(dir: &TempDir) -> (Store, String, Vec<String>) {
    let s = Store::open(
        dir.path().join("m.sqlite"),
        &field_core::StoreKey::Unencrypted,
    )
    .unwrap();
    s.init(InitRequest {
        volunteer_name: "Lan".into(),
        volunteer_phone: None,
        team_name: "Tổ CNSCĐ".into(),
        commune_code: "00097".into(),
        village_names: vec!["Thôn Đông".into(), "Thôn Tây".into()],
    })
    .unwrap();
    let h = s
        .add_household(NewHousehold {
            village: "Thôn Đông".into(),
            head_name: "Đinh Văn Sơn".into(),
            ..Default::default()
        })
        .unwrap()
        .id;
    let accepted = s.outbox_batch(100, 1 << 20).unwrap();
    let hashes: Vec<String> = accepted.hashes.iter().map(|(_, h)| h.clone()).collect();
    s.acknowledge(&hashes).unwrap();
    s.edit_household(
        &h,
        HouseholdEdit {
            village: Some("Thôn Tây".into()),
            phone: Some("0912345678".into()),
            ..Default::default()
        },
    )
    .unwrap();
    s.add_member(
        &h,
        NewPerson {
            name: "Đinh Thị Mây".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let refused: Vec<String> = s
        .outbox_batch(100, 1 << 20)
        .unwrap()
        .hashes
        .into_iter()
        .map(|(_, h)| h)
        .collect();
    assert_eq!(refused.len(), 2);
    s.mark_refused(
        &h,
        "moves_village: a change would put it in another village",
    )
    .unwrap();
    (s, h, refused)
}

fn change_hashes(s: &Store, h: &str) -> Vec<String> {
    let doc = automerge::Automerge::load(&s.export_doc(h).unwrap()).unwrap();
    doc.get_changes(&[])
        .iter()
        .map(|c| c.hash().to_string())
        .collect()
}

#[test]
fn a_refused_move_is_fixed_on_what_the_server_accepted_keeping_the_rest() {
    let dir = TempDir::new().unwrap();
    let (s, h, refused) = refused_move(&dir);
    let listed = s.refused().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].code, "moves_village");
    assert!(!listed[0].never_accepted);

    let fixed = s.fix_refused(&h, "Thôn Đông").unwrap();
    assert_eq!(fixed.id, h, "the household the server has keeps its id");
    let east = s.identity().unwrap().villages[0].id.clone();
    assert_eq!(fixed.village_id, east);
    assert_eq!(fixed.phone.as_deref(), Some("0912345678"));
    assert_eq!(fixed.members.len(), 1);
    assert_eq!(fixed.members[0].name, "Đinh Thị Mây");
    // The refused changes are gone from the document and the outbox; what
    // waits is one change on top of the accepted ones.
    let held = change_hashes(&s, &h);
    assert!(refused.iter().all(|r| !held.contains(r)), "{held:?}");
    assert!(s.refused().unwrap().is_empty());
    assert_eq!(s.pending_changes().unwrap(), 1);
    assert_eq!(s.household(&h).unwrap(), fixed);
}

#[test]
fn a_refused_move_discarded_leaves_what_the_server_accepted() {
    let dir = TempDir::new().unwrap();
    let (s, h, refused) = refused_move(&dir);
    assert!(matches!(
        s.discard_refused("ffffffff"),
        Err(Error::NotFound { .. })
    ));
    let d = s.discard_refused(&h).unwrap();
    assert_eq!(d.changes, 2);
    let back = d.household.expect("the server has it");
    assert_eq!(back.village_id, s.identity().unwrap().villages[0].id);
    assert!(back.members.is_empty());
    assert_eq!(back.phone, None);
    let held = change_hashes(&s, &h);
    assert!(refused.iter().all(|r| !held.contains(r)));
    assert_eq!(s.pending_changes().unwrap(), 0);
    assert_eq!(s.status().unwrap().persons, 0);
    // Nothing refused any more: a second discard is refused, with a reason.
    assert!(matches!(
        s.discard_refused(&h),
        Err(Error::Invalid(i)) if i.problem == Problem::NothingRefused
    ));
}
