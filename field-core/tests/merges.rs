//! Duplicate households merged: the same merge made on two devices, chains
//! and cycles made offline, undone, and records added to a household while
//! another device merged it, converge on three devices in any exchange order
//! to the same documents and rows; every visit counts once, every reference
//! resolves.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers, not input paths

mod common;

use common::{assert_identical, converge, device, send};
use field_core::*;
use proptest::prelude::*;
use tempfile::TempDir;

#[derive(Debug, Clone)]
enum Op {
    Merge { from: usize, into: usize },
    Unmerge { from: usize },
    RecordVisit { at: usize },
    EditMember { m: usize },
    Send { to: usize },
}

fn op() -> impl Strategy<Value = (usize, Op)> {
    let o = prop_oneof![
        3 => (0..3usize, 0..3usize).prop_map(|(from, into)| Op::Merge { from, into }),
        1 => (0..3usize).prop_map(|from| Op::Unmerge { from }),
        2 => (0..3usize).prop_map(|at| Op::RecordVisit { at }),
        1 => (0..4usize).prop_map(|m| Op::EditMember { m }),
        3 => (0..3usize).prop_map(|to| Op::Send { to }),
    ];
    (0..3usize, o)
}

/// A refusal a volunteer could meet; the operation is then not made.
fn allowed<T>(r: Result<T>) -> Option<T> {
    match r {
        Ok(t) => Some(t),
        Err(Error::Invalid(i))
            if matches!(
                i.problem,
                Problem::AlreadyMerged { .. }
                    | Problem::SameHousehold { .. }
                    | Problem::NotCorrected
            ) =>
        {
            None
        }
        Err(e) => panic!("{e}"),
    }
}

fn visit() -> NewVisit {
    NewVisit {
        services: vec![ServiceOutcome {
            service: "vneid_activate".into(),
            outcome: "done".into(),
            note: None,
        }],
        ..Default::default()
    }
}

struct Village {
    stores: Vec<Store>,
    households: Vec<String>,
    members: Vec<String>,
    /// Every visit recorded, with the household it was recorded at.
    visits: Vec<(String, String)>,
}

/// Three devices; three households on the first, sent to the others: the
/// first two are the same family registered twice (same head, one member
/// with the same name and year).
fn village(dir: &TempDir) -> Village {
    let stores: Vec<Store> = (0..3).map(|i| device(dir, &i.to_string())).collect();
    let s = &stores[0];
    let heads = ["Nguyễn Văn Hạnh", "Nguyễn Văn Hạnh", "Lê Thị Hoa"];
    let households: Vec<String> = heads
        .iter()
        .map(|n| {
            s.add_household(NewHousehold {
                head_name: (*n).into(),
                address: "Xóm 3".into(),
                ..Default::default()
            })
            .unwrap()
            .id
        })
        .collect();
    let mut members = Vec::new();
    for (h, name) in [
        (0, "Trần Thị Thủy"),
        (1, "Tran Thi Thuy"),
        (1, "Nguyễn Văn Tám"),
        (2, "Lê Văn Bình"),
    ] {
        let m = s
            .add_member(
                &households[h],
                NewPerson {
                    name: name.into(),
                    birth_year: Some(1960),
                    ..Default::default()
                },
            )
            .unwrap();
        members.push(m.id);
    }
    let visits = households
        .iter()
        .map(|h| (s.record_visit(h, visit()).unwrap().id, h.clone()))
        .collect();
    send(&stores[0], &stores[1]);
    send(&stores[0], &stores[2]);
    Village {
        stores,
        households,
        members,
        visits,
    }
}

/// What must hold on any store, whatever was merged: each household resolves
/// (to the one it counts under), which holds every visit recorded at it; each
/// visit is counted once; the list and the counts agree.
/// Before the devices converge (`all` false) a store may lack visits the
/// others recorded: only its own lists and counts must agree.
fn check_counts(v: &Village, s: &Store, all: bool) {
    let status = s.status().unwrap();
    let listed = s.list_households(None, 10).unwrap();
    assert_eq!(status.households as usize, listed.len());
    assert_eq!(
        listed.iter().map(|h| h.visits).sum::<i64>(),
        status.visits,
        "{listed:?}"
    );
    assert_eq!(
        listed.iter().map(|h| h.members).sum::<i64>(),
        status.persons
    );
    if !all {
        return;
    }
    assert_eq!(status.visits as usize, v.visits.len());
    let mut roots = std::collections::BTreeSet::new();
    for h in &v.households {
        let read = s.household(h).unwrap();
        roots.insert(read.id.clone());
        for (vid, at) in &v.visits {
            if at == h {
                assert!(read.visits.iter().any(|x| &x.id == vid), "visit {vid} lost");
            }
        }
    }
    assert_eq!(roots.len(), listed.len());
    // The report counts what the lists count.
    let mut counted = 0;
    let mut page = s.households_page(None, 50).unwrap();
    counted += page
        .households
        .iter()
        .map(|h| h.visits.len())
        .sum::<usize>();
    assert!(page.next.is_none());
    page.households.clear();
    assert_eq!(counted, v.visits.len());
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn merges_converge_in_any_exchange_order(ops in proptest::collection::vec(op(), 1..30)) {
        let dir = TempDir::new().unwrap();
        let mut v = village(&dir);
        for (who, op) in ops {
            let s = &v.stores[who];
            match op {
                Op::Merge { from, into } => {
                    allowed(s.merge_households(&v.households[from], &v.households[into]));
                }
                Op::Unmerge { from } => {
                    allowed(s.unmerge_household(&v.households[from]));
                }
                Op::RecordVisit { at } => {
                    // Recorded at the household it counts under now.
                    let id = s.record_visit(&v.households[at], visit()).unwrap().id;
                    let written_at = s.household(&v.households[at]).unwrap().id;
                    v.visits.push((id, written_at));
                }
                Op::EditMember { m } => {
                    s.edit_member(&v.members[m], PersonEdit {
                        gender: Some("female".into()),
                        ..Default::default()
                    }).unwrap();
                }
                Op::Send { to } => {
                    if to != who {
                        send(s, &v.stores[to]);
                    }
                }
            }
            check_counts(&v, &v.stores[who], false);
        }
        converge(&v.stores);
        assert_identical(&v.stores);
        for s in &v.stores {
            check_counts(&v, s, true);
        }
    }
}

#[test]
fn a_merge_counts_the_family_once_and_is_undone() {
    let dir = TempDir::new().unwrap();
    let v = village(&dir);
    let s = &v.stores[0];
    let (a, b) = (&v.households[0], &v.households[1]);
    assert_eq!(s.status().unwrap().households, 3);
    assert_eq!(s.duplicate_candidates(None).unwrap().len(), 1);
    let merged = s.merge_households(a, b).unwrap();
    // Thủy, registered in both, is one person; her id in A still finds her.
    assert_eq!(
        merged.same_people,
        vec![(v.members[0].clone(), v.members[1].clone())]
    );
    assert_eq!(merged.household.id, *b);
    assert_eq!(merged.household.members.len(), 2);
    assert_eq!(merged.household.visits.len(), 2);
    assert_eq!(merged.household.absorbed[0].id, *a);
    let status = s.status().unwrap();
    assert_eq!(
        (status.households, status.persons, status.visits),
        (2, 3, 3)
    );
    assert_eq!(s.household(a).unwrap().id, *b);
    assert!(s.duplicate_candidates(None).unwrap().is_empty());
    let found = s.search("hanh", 10).unwrap();
    assert_eq!(found.total, 1);
    // A visit recorded "at A" is recorded at the household that counts.
    let later = s.record_visit(a, visit()).unwrap();
    assert!(
        s.household(b)
            .unwrap()
            .visits
            .iter()
            .any(|x| x.id == later.id)
    );
    // The same merge twice is refused; so is a merge into itself.
    let again = s.merge_households(a, b).unwrap_err();
    assert!(
        matches!(again, Error::Invalid(ref i) if matches!(i.problem, Problem::AlreadyMerged { .. })),
        "{again}"
    );
    let itself = s.merge_households(b, a).unwrap_err();
    assert!(
        matches!(itself, Error::Invalid(ref i) if matches!(i.problem, Problem::SameHousehold { .. })),
        "{itself}"
    );
    // Undone: two households again, each with its own records.
    let back = s.unmerge_household(a).unwrap();
    assert_eq!(back.id, *a);
    assert_eq!(back.members.len(), 1);
    let status = s.status().unwrap();
    assert_eq!(
        (status.households, status.persons, status.visits),
        (3, 4, 4)
    );
    let undo_again = s.unmerge_household(a).unwrap_err();
    assert!(matches!(undo_again, Error::Invalid(ref i) if i.problem == Problem::NotCorrected));
}

#[test]
fn chains_and_cycles_made_offline_end_at_the_same_household_everywhere() {
    let dir = TempDir::new().unwrap();
    let v = village(&dir);
    let (a, b, c) = (&v.households[0], &v.households[1], &v.households[2]);
    // A into B on one device, B into C on another: all three are one.
    v.stores[0].merge_households(a, b).unwrap();
    v.stores[1].merge_households(b, c).unwrap();
    // Meanwhile a third, offline, records a visit at A.
    let late = v.stores[2].record_visit(a, visit()).unwrap();
    converge(&v.stores);
    assert_identical(&v.stores);
    for s in &v.stores {
        assert_eq!(s.status().unwrap().households, 1);
        let h = s.household(a).unwrap();
        assert_eq!(h.id, *c);
        assert!(h.visits.iter().any(|x| x.id == late.id));
        assert_eq!(h.visits.len(), 4);
    }
    // A cycle: C into A made on a device that had not seen the others'.
    let dir2 = TempDir::new().unwrap();
    let w = village(&dir2);
    let (a, b) = (&w.households[0], &w.households[1]);
    w.stores[0].merge_households(a, b).unwrap();
    w.stores[1].merge_households(b, a).unwrap();
    converge(&w.stores);
    assert_identical(&w.stores);
    let smallest = a.min(b);
    for s in &w.stores {
        assert_eq!(s.status().unwrap().households, 2);
        assert_eq!(s.household(a).unwrap().id, *smallest);
        assert_eq!(s.household(b).unwrap().id, *smallest);
    }
}

#[test]
fn a_conflict_in_the_absorbed_household_is_listed_and_resolved_there() {
    let dir = TempDir::new().unwrap();
    let v = village(&dir);
    let (a, b) = (&v.households[0], &v.households[1]);
    for (s, phone) in [(&v.stores[0], "0912000111"), (&v.stores[1], "0987000222")] {
        s.edit_household(
            a,
            HouseholdEdit {
                phone: Some(phone.into()),
                ..Default::default()
            },
        )
        .unwrap();
    }
    send(&v.stores[1], &v.stores[0]);
    let s = &v.stores[0];
    s.merge_households(a, b).unwrap();
    let listed = s.conflicts().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].household_id, *a);
    s.resolve_conflict(a, "phone", "0987000222").unwrap();
    assert!(s.conflicts().unwrap().is_empty());
    // Still merged: the resolution was written in A's own document.
    assert_eq!(s.household(a).unwrap().id, *b);
    assert_eq!(s.status().unwrap().households, 2);
}

#[test]
fn one_household_merged_into_two_others_at_once_is_a_conflict_to_decide() {
    let dir = TempDir::new().unwrap();
    let v = village(&dir);
    let (a, b, c) = (&v.households[0], &v.households[1], &v.households[2]);
    v.stores[0].merge_households(a, b).unwrap();
    v.stores[1].merge_households(a, c).unwrap();
    converge(&v.stores);
    assert_identical(&v.stores);
    let listed = v.stores[2].conflicts().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].path, "merged_into");
    let mut values = listed[0].values.clone();
    values.sort();
    let mut both = vec![b.clone(), c.clone()];
    both.sort();
    assert_eq!(values, both);
    // Meanwhile the household counts under one of them, the same everywhere.
    let shown = v.stores[2].household(a).unwrap().id;
    assert!(shown == *b || shown == *c);
    // Decided on one device: merged into C, everywhere.
    // (by its short id, as the CLI shows it)
    v.stores[2]
        .resolve_conflict(a, "merged_into", &c[c.len() - 8..])
        .unwrap();
    converge(&v.stores);
    assert_identical(&v.stores);
    for s in &v.stores {
        assert!(s.conflicts().unwrap().is_empty());
        assert_eq!(s.household(a).unwrap().id, *c);
        assert_eq!(s.status().unwrap().households, 2);
    }
}
