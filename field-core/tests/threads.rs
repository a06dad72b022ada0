//! The store shared between threads, as a phone app uses it (docs/mobile.md
//! once the bindings exist): a UI thread reading while a worker thread takes
//! in another device's changes and records, and two handles open on one
//! file. Nothing fails, nothing is lost, and every handle reads what the
//! other wrote.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers, not input paths

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::device;
use field_core::*;
use tempfile::TempDir;

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

#[test]
fn a_ui_thread_reads_while_a_worker_takes_in_changes_and_records() {
    let dir = TempDir::new().unwrap();
    let phone = Arc::new(device(&dir, "phone"));
    let other = device(&dir, "other");
    let mine: Vec<String> = (0..5)
        .map(|i| {
            phone
                .add_household(NewHousehold {
                    head_name: format!("Hộ của máy này {i}"),
                    ..Default::default()
                })
                .unwrap()
                .id
        })
        .collect();
    // What the other device will have recorded, in 20 bundles of changes.
    let mut bundles = Vec::new();
    let mut theirs = Vec::new();
    for i in 0..20 {
        let heads = other.doc_heads().unwrap();
        let h = other
            .add_household(NewHousehold {
                head_name: format!("Hộ của máy khác {i}"),
                ..Default::default()
            })
            .unwrap()
            .id;
        other.record_visit(&h, visit()).unwrap();
        theirs.push(h);
        bundles.push(other.export_changes(Some(&heads)).unwrap());
    }

    let done = Arc::new(AtomicBool::new(false));
    let ui = {
        let phone = Arc::clone(&phone);
        let done = Arc::clone(&done);
        let mine = mine.clone();
        std::thread::spawn(move || {
            let mut reads = 0u32;
            while !done.load(Ordering::Acquire) || reads < 20 {
                let listed = phone.list_households(None, 100).unwrap();
                assert!(listed.len() >= mine.len());
                let h = phone.household(&mine[reads as usize % mine.len()]).unwrap();
                assert!(h.head_name.starts_with("Hộ của máy này"));
                phone.search("hộ", 10).unwrap();
                phone.status().unwrap();
                reads += 1;
            }
            reads
        })
    };
    for (i, b) in bundles.iter().enumerate() {
        phone.import_changes(b).unwrap();
        phone.record_visit(&mine[i % mine.len()], visit()).unwrap();
    }
    done.store(true, Ordering::Release);
    let reads = ui.join().expect("the UI thread failed");
    assert!(reads >= 20);

    let status = phone.status().unwrap();
    assert_eq!(status.households, 25);
    assert_eq!(status.visits, 40);
    for h in &theirs {
        assert_eq!(phone.household(h).unwrap().visits.len(), 1);
    }
}

#[test]
fn two_handles_on_one_file_write_and_read_each_other() {
    let dir = TempDir::new().unwrap();
    let first = device(&dir, "shared");
    let second = Store::open(
        dir.path().join("shared.sqlite"),
        &field_core::StoreKey::Unencrypted,
    )
    .unwrap();
    let a = first
        .add_household(NewHousehold {
            head_name: "Nguyễn Văn Hạnh".into(),
            ..Default::default()
        })
        .unwrap()
        .id;
    let b = second
        .add_household(NewHousehold {
            head_name: "Lê Thị Hoa".into(),
            ..Default::default()
        })
        .unwrap()
        .id;
    // Each handle reads both once, so that both documents are in both caches.
    for s in [&first, &second] {
        s.household(&a).unwrap();
        s.household(&b).unwrap();
    }
    let (first, second) = (Arc::new(first), Arc::new(second));
    let writers: Vec<_> = [
        (Arc::clone(&first), a.clone()),
        (Arc::clone(&second), b.clone()),
    ]
    .into_iter()
    .map(|(s, h)| {
        std::thread::spawn(move || {
            for _ in 0..15 {
                s.record_visit(&h, visit()).unwrap();
            }
        })
    })
    .collect();
    for w in writers {
        w.join().expect("a writer failed");
    }
    // Each handle sees what the other wrote, its cached copy notwithstanding.
    for s in [&first, &second] {
        assert_eq!(s.household(&a).unwrap().visits.len(), 15);
        assert_eq!(s.household(&b).unwrap().visits.len(), 15);
        assert_eq!(s.status().unwrap().visits, 30);
    }
    // A write on a document the other handle changed since it was cached
    // lands on top of it, nothing lost.
    first.record_visit(&b, visit()).unwrap();
    second.record_visit(&a, visit()).unwrap();
    let fresh = Store::open(
        dir.path().join("shared.sqlite"),
        &field_core::StoreKey::Unencrypted,
    )
    .unwrap();
    assert_eq!(fresh.household(&a).unwrap().visits.len(), 16);
    assert_eq!(fresh.household(&b).unwrap().visits.len(), 16);
}
