//! Merging stores without a server: any exchange order converges, clashes are kept.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers, not input paths

use std::collections::HashSet;

mod common;

use common::{assert_identical, converge, device, send};
use field_core::*;
use proptest::prelude::*;
use tempfile::TempDir;

fn visit(service: &str) -> NewVisit {
    NewVisit {
        services: vec![ServiceOutcome {
            service: service.into(),
            outcome: "done".into(),
            note: None,
        }],
        ..Default::default()
    }
}

#[test]
fn same_field_edited_on_two_devices_keeps_both_values() {
    let dir = TempDir::new().unwrap();
    let a = device(&dir, "a");
    let b = device(&dir, "b");
    let h = a
        .add_household(NewHousehold {
            head_name: "Nguyễn Văn Hạnh".into(),
            phone: Some("0912000111".into()),
            ..Default::default()
        })
        .unwrap();
    let m = a
        .add_member(
            &h.id,
            NewPerson {
                name: "Lê Thị Hoa".into(),
                ..Default::default()
            },
        )
        .unwrap();
    send(&a, &b);
    // Offline on both: the same phone changed, a visit each, the member edited on b.
    a.edit_household(
        &h.id,
        HouseholdEdit {
            phone: Some("0911111111".into()),
            ..Default::default()
        },
    )
    .unwrap();
    b.edit_household(
        &h.id,
        HouseholdEdit {
            phone: Some("0922222222".into()),
            ..Default::default()
        },
    )
    .unwrap();
    a.record_visit(&h.id, visit("vneid_register")).unwrap();
    b.record_visit(&h.id, visit("ehealth_book")).unwrap();
    b.edit_member(
        &m.id,
        PersonEdit {
            birth_year: Some(1970),
            ..Default::default()
        },
    )
    .unwrap();
    // Both devices registered "Thôn Đông" under the same commune: same village id.
    let on_b = b.list_households(Some("thon dong"), 10).unwrap();
    assert_eq!(on_b.len(), 1);
    assert_eq!(on_b[0].village_name, "Thôn Đông");
    let report = send(&b, &a);
    assert_eq!(report.conflicts, 1);
    send(&a, &b);
    let stores = [a, b];
    assert_identical(&stores);
    let [a, b] = stores;
    let shown = a.household(&h.id).unwrap();
    assert_eq!(shown.visits.len(), 2, "both visits kept");
    assert_eq!(shown.members[0].birth_year, Some(1970));
    let conflicts = a.conflicts().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].path, "phone");
    let mut values = conflicts[0].values.clone();
    values.sort();
    assert_eq!(values, vec!["0911111111", "0922222222"]);
    assert_eq!(b.conflicts().unwrap(), conflicts);

    // Resolving is an edit like any other: it travels and clears the conflict.
    a.resolve_conflict(&h.id, "phone", "0922222222").unwrap();
    send(&a, &b);
    assert!(a.conflicts().unwrap().is_empty());
    assert!(b.conflicts().unwrap().is_empty());
    assert_eq!(
        b.household(&h.id).unwrap().phone.as_deref(),
        Some("0922222222")
    );
    // A value that was not in the clash is refused.
    assert!(a.resolve_conflict(&h.id, "phone", "0933333333").is_err());
}

#[test]
fn a_bad_bundle_changes_nothing() {
    let dir = TempDir::new().unwrap();
    let a = device(&dir, "a");
    let b = device(&dir, "b");
    a.add_household(NewHousehold {
        head_name: "Hộ A".into(),
        ..Default::default()
    })
    .unwrap();
    let mut bundle = a.export_changes(None).unwrap();
    let before = b.projection_dump().unwrap();
    // Truncated, corrupted and foreign bytes.
    assert!(b.import_changes(&bundle[..bundle.len() - 3]).is_err());
    let last = bundle.len() - 10;
    bundle[last] ^= 0xff;
    assert!(b.import_changes(&bundle).is_err());
    assert!(b.import_changes(b"GOCUA-CHANGES/1\n").unwrap().documents == 0);
    assert!(b.import_changes(&[0u8; 64]).is_err());
    assert_eq!(b.projection_dump().unwrap(), before);
    assert_eq!(b.status().unwrap().households, 0);
}

#[test]
fn receiving_twice_adds_nothing() {
    let dir = TempDir::new().unwrap();
    let a = device(&dir, "a");
    let b = device(&dir, "b");
    let h = a
        .add_household(NewHousehold {
            head_name: "Hộ A".into(),
            ..Default::default()
        })
        .unwrap();
    a.record_visit(&h.id, visit("cccd")).unwrap();
    let bundle = a.export_changes(None).unwrap();
    // A new household is two changes (its genesis, then its id and fields).
    let first = b.import_changes(&bundle).unwrap();
    assert_eq!(first.changes_applied, 3);
    let second = b.import_changes(&bundle).unwrap();
    assert_eq!((second.changes_applied, second.changes_known), (0, 3));
    assert_eq!(b.status().unwrap().visits, 1);
}

#[derive(Debug, Clone)]
enum Op {
    Add {
        head: usize,
    },
    Phone {
        h: usize,
        phone: usize,
    },
    Head {
        h: usize,
        head: usize,
    },
    Member {
        h: usize,
        name: usize,
    },
    Visit {
        h: usize,
        service: usize,
    },
    Send {
        to: usize,
    },
    /// A copy of the device's data folder is taken.
    Backup,
    /// The device's data folder is replaced by its last copy (new files).
    Restore,
}

const HEADS: &[&str] = &[
    "Nguyễn Văn Hạnh",
    "Trần Thị Thủy",
    "Đàm Văn Đức",
    "Lê Thị Hoà",
];
const PHONES: &[&str] = &["0912000111", "0987654321", "0356789012", "02438250000"];
const SERVICES: &[&str] = &[
    "vneid_register",
    "ehealth_book",
    "bank_account",
    "scam_awareness",
];

fn op() -> impl Strategy<Value = (usize, Op)> {
    let o = prop_oneof![
        (0..HEADS.len()).prop_map(|head| Op::Add { head }),
        (0..8usize, 0..PHONES.len()).prop_map(|(h, phone)| Op::Phone { h, phone }),
        (0..8usize, 0..HEADS.len()).prop_map(|(h, head)| Op::Head { h, head }),
        (0..8usize, 0..HEADS.len()).prop_map(|(h, name)| Op::Member { h, name }),
        (0..8usize, 0..SERVICES.len()).prop_map(|(h, service)| Op::Visit { h, service }),
        (0..3usize).prop_map(|to| Op::Send { to }),
        Just(Op::Backup),
        Just(Op::Restore),
    ];
    (0..3usize, o)
}

proptest! {
    #![proptest_config(ProptestConfig {
        // Each case opens three stores: 24 by default, more in CI (PROPTEST_CASES).
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Three devices edit concurrently (the same households included) and exchange
    /// changes in a random order, and are restored from copies of their data
    /// taken at random points; after everyone has heard from everyone they hold
    /// identical documents and identical projection rows, no visit any store
    /// still held is lost or doubled, and no change was quarantined (a restored
    /// store never numbers a change like its lost copy did).
    #[test]
    fn any_exchange_order_converges(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = TempDir::new().unwrap();
        let mut stores: Vec<Store> = (0..3).map(|i| device(&dir, &i.to_string())).collect();
        // What each store holds: the visits and households it recorded or
        // received. A restore loses what the store had not passed on since
        // its copy; nothing else may be lost.
        let mut holds: Vec<Held> = vec![Default::default(); 3];
        let mut copies: Vec<Option<(TempDir, Held)>> = vec![None, None, None];
        // Two shared households to clash on.
        for head in &HEADS[..2] {
            let id = stores[0].add_household(NewHousehold { head_name: (*head).into(), ..Default::default() }).unwrap().id;
            holds[0].1.insert(id);
        }
        send(&stores[0], &stores[1]);
        send(&stores[0], &stores[2]);
        holds[1] = holds[0].clone();
        holds[2] = holds[0].clone();
        for (who, op) in ops {
            let s = &stores[who];
            // A device edits only the households it has.
            let known: Vec<String> = s.doc_heads().unwrap().into_iter().map(|d| d.doc_id).collect();
            let pick = |h: usize| known[h % known.len()].clone();
            match op {
                Op::Add { head } => {
                    let h = s.add_household(NewHousehold { head_name: HEADS[head].into(), ..Default::default() }).unwrap();
                    holds[who].1.insert(h.id);
                }
                Op::Phone { h, phone } => {
                    s.edit_household(&pick(h), HouseholdEdit { phone: Some(PHONES[phone].into()), ..Default::default() }).unwrap();
                }
                Op::Head { h, head } => {
                    s.edit_household(&pick(h), HouseholdEdit { head_name: Some(HEADS[head].into()), ..Default::default() }).unwrap();
                }
                Op::Member { h, name } => {
                    s.add_member(&pick(h), NewPerson { name: HEADS[name].into(), ..Default::default() }).unwrap();
                }
                Op::Visit { h, service } => {
                    let v = s.record_visit(&pick(h), visit(SERVICES[service])).unwrap();
                    holds[who].0.insert(v.id);
                }
                Op::Send { to } => {
                    if to != who {
                        send(s, &stores[to]);
                        let (v, h) = holds[who].clone();
                        holds[to].0.extend(v);
                        holds[to].1.extend(h);
                    }
                }
                Op::Backup => {
                    let copy = TempDir::new().unwrap();
                    copy_store(s.path(), copy.path());
                    copies[who] = Some((copy, holds[who].clone()));
                }
                Op::Restore => {
                    if let Some((copy, held)) = &copies[who] {
                        let path = s.path().to_path_buf();
                        let closed = stores.remove(who);
                        drop(closed);
                        restore_store(copy.path(), &path);
                        stores.insert(who, Store::open(&path, &field_core::StoreKey::Unencrypted).unwrap());
                        holds[who] = held.clone();
                    }
                }
            }
        }
        converge(&stores);
        assert_identical(&stores);
        let visits: HashSet<String> = holds.iter().flat_map(|h| h.0.iter().cloned()).collect();
        let households: HashSet<String> = holds.iter().flat_map(|h| h.1.iter().cloned()).collect();
        prop_assert_eq!(stores[0].status().unwrap().visits as usize, visits.len());
        prop_assert_eq!(stores[0].status().unwrap().households as usize, households.len());
        for v in &visits {
            prop_assert!(!stores[0].list_visits(None, 10_000).unwrap().iter().all(|x| &x.id != v), "visit {} lost", v);
        }
        for s in &stores {
            // A restored store never made a change numbered like its copy's.
            prop_assert!(s.quarantined().unwrap().is_empty());
            prop_assert_eq!(s.status().unwrap().waiting_changes, 0);
        }
        // Every clash is listed with at least two values, the shown one first;
        // a visit is never made twice (which would clash on it).
        for c in stores[0].conflicts().unwrap() {
            prop_assert!(c.values.len() >= 2);
            prop_assert!(!c.path.starts_with("visits"), "{:?}", c);
            let h = stores[0].household(&c.household_id).unwrap();
            if c.path == "phone" {
                prop_assert_eq!(Some(&c.values[0]), h.phone.as_ref());
            }
        }
    }
}

/// The visits and households a store holds (by id).
type Held = (HashSet<String>, HashSet<String>);

/// Copies a closed-or-idle store's files (the database and its journal) into
/// `dir`, as a backup of the data folder would.
fn copy_store(store: &std::path::Path, dir: &std::path::Path) {
    let name = store.file_name().unwrap().to_string_lossy().to_string();
    for suffix in ["", "-wal"] {
        let from = store.with_file_name(format!("{name}{suffix}"));
        if from.exists() {
            std::fs::copy(&from, dir.join(format!("{name}{suffix}"))).unwrap();
        }
    }
}

/// Puts a copy back in place of a closed store, as new files.
fn restore_store(dir: &std::path::Path, store: &std::path::Path) {
    let name = store.file_name().unwrap().to_string_lossy().to_string();
    for suffix in ["", "-wal", "-shm"] {
        let target = store.with_file_name(format!("{name}{suffix}"));
        if target.exists() {
            std::fs::remove_file(&target).unwrap();
        }
        let from = dir.join(format!("{name}{suffix}"));
        if from.exists() {
            std::fs::copy(&from, &target).unwrap();
        }
    }
}

fn shared_household(a: &Store, b: &Store, phone: &str) -> Household {
    let h = a
        .add_household(NewHousehold {
            head_name: "Nguyễn Văn Hạnh".into(),
            phone: Some(phone.into()),
            ..Default::default()
        })
        .unwrap();
    send(a, b);
    h
}

fn phone_clash(a: &Store, b: &Store, hid: &str) {
    for (s, p) in [(a, "0911111111"), (b, "0922222222")] {
        s.edit_household(
            hid,
            HouseholdEdit {
                phone: Some(p.into()),
                ..Default::default()
            },
        )
        .unwrap();
    }
    send(a, b);
    send(b, a);
    assert_eq!(a.conflicts().unwrap().len(), 1);
}

/// Two volunteers resolve the same clash differently, offline: a clash again,
/// with both decisions, on every device, never a silent pick.
#[test]
fn a_clash_resolved_differently_on_two_devices_is_a_clash_again() {
    let dir = TempDir::new().unwrap();
    let a = device(&dir, "a");
    let b = device(&dir, "b");
    let h = shared_household(&a, &b, "0912000111");
    phone_clash(&a, &b, &h.id);
    let shown = a.household(&h.id).unwrap().phone.unwrap();
    let other = if shown == "0911111111" {
        "0922222222"
    } else {
        "0911111111"
    };
    // One keeps the value already shown (Automerge alone would write only a
    // delete of the other value), the other keeps the other value.
    a.resolve_conflict(&h.id, "phone", &shown).unwrap();
    b.resolve_conflict(&h.id, "phone", other).unwrap();
    assert!(a.conflicts().unwrap().is_empty());
    assert!(b.conflicts().unwrap().is_empty());
    send(&a, &b);
    send(&b, &a);
    let stores = [a, b];
    assert_identical(&stores);
    for s in &stores {
        let c = s.conflicts().unwrap();
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].path, "phone");
        let mut values = c[0].values.clone();
        values.sort();
        assert_eq!(values, vec!["0911111111", "0922222222"]);
    }
}

/// Two devices choosing the same value end with no clash.
#[test]
fn a_clash_resolved_the_same_way_on_two_devices_is_settled() {
    let dir = TempDir::new().unwrap();
    let a = device(&dir, "a");
    let b = device(&dir, "b");
    let h = shared_household(&a, &b, "0912000111");
    phone_clash(&a, &b, &h.id);
    for s in [&a, &b] {
        s.resolve_conflict(&h.id, "phone", "0922222222").unwrap();
    }
    send(&a, &b);
    send(&b, &a);
    let stores = [a, b];
    assert_identical(&stores);
    for s in &stores {
        assert!(s.conflicts().unwrap().is_empty());
        assert_eq!(
            s.household(&h.id).unwrap().phone.as_deref(),
            Some("0922222222")
        );
    }
}

/// A merge of two valid edits that breaks the ID-number rule is listed as a
/// problem naming the fields; resolving the clash to a value that breaks the
/// rule is refused; an ordinary edit fixes it.
#[test]
fn a_merge_that_breaks_the_id_rule_is_a_problem_until_edited() {
    let dir = TempDir::new().unwrap();
    let a = device(&dir, "a");
    let b = device(&dir, "b");
    let h = shared_household(&a, &b, "0912000111");
    let m = a
        .add_member(
            &h.id,
            NewPerson {
                name: "Lê Văn Hoa".into(),
                birth_year: Some(1971),
                gender: Some("male".into()),
                id_number: Some("001071000001".into()),
                ..Default::default()
            },
        )
        .unwrap();
    send(&a, &b);
    assert!(a.problems().unwrap().is_empty());
    // A: born 1972 (and the number to match); B: female (and the number to match).
    a.edit_member(
        &m.id,
        PersonEdit {
            birth_year: Some(1972),
            id_number: Some("001072000001".into()),
            ..Default::default()
        },
    )
    .unwrap();
    b.edit_member(
        &m.id,
        PersonEdit {
            gender: Some("female".into()),
            id_number: Some("001171000001".into()),
            ..Default::default()
        },
    )
    .unwrap();
    send(&a, &b);
    send(&b, &a);
    let stores = [a, b];
    assert_identical(&stores);
    let [a, b] = stores;
    let path = format!("members/{}/id_number", m.id);
    for s in [&a, &b] {
        let conflicts = s.conflicts().unwrap();
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        assert_eq!(conflicts[0].path, path);
        let problems = s.problems().unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, path);
        assert_eq!(
            problems[0].fields,
            vec!["id_number", "birth_year", "gender"]
        );
        assert!(matches!(
            problems[0].problem,
            Problem::IdNumberMismatch { .. }
        ));
        assert_eq!(s.household(&h.id).unwrap().problems, problems);
    }
    // Neither number fits a woman born in 1972: both resolutions are refused.
    for value in ["001072000001", "001171000001"] {
        match a.resolve_conflict(&h.id, &path, value) {
            Err(Error::BreaksRule(b)) => {
                assert_eq!(b.fields, vec!["id_number", "birth_year", "gender"])
            }
            other => panic!("expected BreaksRule, got {other:?}"),
        }
    }
    // The ordinary edit validates, settles the clash and clears the problem.
    a.edit_member(
        &m.id,
        PersonEdit {
            id_number: Some("001172000001".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(a.conflicts().unwrap().is_empty());
    assert!(a.problems().unwrap().is_empty());
    send(&a, &b);
    let stores = [a, b];
    assert_identical(&stores);
    assert!(stores[1].problems().unwrap().is_empty());
}

/// Resolving to a value that fits the merged record is accepted, and a
/// birth-year clash whose resolution would break the ID rule is refused.
#[test]
fn a_resolution_must_satisfy_the_rules_of_the_merged_record() {
    let dir = TempDir::new().unwrap();
    let a = device(&dir, "a");
    let b = device(&dir, "b");
    let h = shared_household(&a, &b, "0912000111");
    let m = a
        .add_member(
            &h.id,
            NewPerson {
                name: "Lê Văn Hoa".into(),
                birth_year: Some(1971),
                gender: Some("male".into()),
                ..Default::default()
            },
        )
        .unwrap();
    send(&a, &b);
    a.edit_member(
        &m.id,
        PersonEdit {
            birth_year: Some(1972),
            ..Default::default()
        },
    )
    .unwrap();
    b.edit_member(
        &m.id,
        PersonEdit {
            id_number: Some("001071000001".into()),
            ..Default::default()
        },
    )
    .unwrap();
    send(&a, &b);
    send(&b, &a);
    // The birth year is not in clash (only one device changed it): the merged
    // record (1972, number for 1971) is a problem.
    assert_eq!(a.problems().unwrap().len(), 1);
    // Fixed by editing the birth year back.
    a.edit_member(
        &m.id,
        PersonEdit {
            birth_year: Some(1971),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(a.problems().unwrap().is_empty());
    let stores = [a, b];
    send(&stores[0], &stores[1]);
    assert_identical(&stores);
}
