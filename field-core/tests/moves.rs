//! A household that moved to a village the device does not serve is kept as
//! a read-only record, and editable again once it is back.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers, not input paths

use field_core::*;
use tempfile::TempDir;

fn device(dir: &TempDir, name: &str, villages: &[&str]) -> Store {
    let s = Store::open(
        dir.path().join(format!("{name}.sqlite")),
        &field_core::StoreKey::Unencrypted,
    )
    .unwrap();
    s.init(InitRequest {
        volunteer_name: format!("Tình nguyện viên {name}"),
        volunteer_phone: None,
        team_name: "Tổ CNSCĐ".into(),
        commune_code: "00097".into(),
        village_names: villages.iter().map(|v| v.to_string()).collect(),
    })
    .unwrap();
    s
}

/// Sends `from` what `to` lacks.
fn send(from: &Store, to: &Store) {
    let bundle = from.export_changes(Some(&to.doc_heads().unwrap())).unwrap();
    to.import_changes(&bundle).unwrap();
}

fn visit() -> NewVisit {
    NewVisit {
        services: vec![ServiceOutcome {
            service: "vneid_register".into(),
            outcome: "done".into(),
            note: None,
        }],
        ..Default::default()
    }
}

fn move_to(store: &Store, id: &str, village: &str) {
    store
        .edit_household(
            id,
            HouseholdEdit {
                village: Some(village.into()),
                ..Default::default()
            },
        )
        .unwrap();
}

#[test]
fn a_household_that_moved_away_is_read_only_until_it_is_back() {
    let dir = TempDir::new().unwrap();
    let a = device(&dir, "a", &["Thôn Một", "Thôn Hai"]);
    let d = device(&dir, "d", &["Thôn Một"]);
    let h = a
        .add_household(NewHousehold {
            village: "Thôn Một".into(),
            head_name: "Nguyễn Văn Hạnh".into(),
            ..Default::default()
        })
        .unwrap();
    send(&a, &d);
    assert!(!d.household(&h.id).unwrap().outside_villages);

    move_to(&a, &h.id, "Thôn Hai");
    send(&a, &d);
    let away = d.household(&h.id).unwrap();
    assert!(away.outside_villages);
    match d.record_visit(&h.id, visit()) {
        Err(Error::OutsideVillages { id }) => assert_eq!(id, h.id),
        other => panic!("a visit on a household that moved away: {other:?}"),
    }
    assert!(matches!(
        d.edit_household(
            &h.id,
            HouseholdEdit {
                village: Some("Thôn Một".into()),
                ..Default::default()
            }
        ),
        Err(Error::OutsideVillages { .. })
    ));
    // Not on the work list any more; found by a search, marked.
    assert!(d.list_households(None, 100).unwrap().is_empty());
    let found = d.search("hanh", 100).unwrap().households;
    assert_eq!(found.len(), 1);
    assert!(found[0].household.outside_villages);
    assert!(
        !a.search("hanh", 100).unwrap().households[0]
            .household
            .outside_villages
    );

    move_to(&a, &h.id, "Thôn Một");
    send(&a, &d);
    assert!(!d.household(&h.id).unwrap().outside_villages);
    d.record_visit(&h.id, visit()).unwrap();
    assert_eq!(d.list_households(None, 100).unwrap().len(), 1);
}
