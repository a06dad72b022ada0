//! What the merge tests share: devices of one village, and exchanging
//! changes between them until they agree.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)] // test helpers

use field_core::*;
use tempfile::TempDir;

pub fn device(dir: &TempDir, name: &str) -> Store {
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
        village_names: vec!["Thôn Đông".into()],
    })
    .unwrap();
    s
}

/// Sends `from` what `to` lacks.
pub fn send(from: &Store, to: &Store) -> ImportReport {
    let bundle = from.export_changes(Some(&to.doc_heads().unwrap())).unwrap();
    to.import_changes(&bundle).unwrap()
}

pub fn converge(stores: &[Store]) {
    for _ in 0..2 {
        for a in stores {
            for b in stores {
                if !std::ptr::eq(a, b) {
                    send(a, b);
                }
            }
        }
    }
}

pub fn assert_identical(stores: &[Store]) {
    let heads = stores[0].doc_heads().unwrap();
    let rows = stores[0].projection_dump().unwrap();
    for s in &stores[1..] {
        assert_eq!(s.doc_heads().unwrap(), heads);
        assert_eq!(s.projection_dump().unwrap(), rows);
    }
    // What was projected piece by piece equals a projection from the documents.
    stores[0].rebuild_projection().unwrap();
    assert_eq!(
        stores[0].projection_dump().unwrap(),
        rows,
        "rebuild differs"
    );
    for d in &heads {
        let h0 = stores[0].household(&d.doc_id).unwrap();
        for s in &stores[1..] {
            assert_eq!(s.household(&d.doc_id).unwrap(), h0);
        }
    }
}
