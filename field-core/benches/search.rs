//! Search benchmarks: `Store::search` (candidates in SQL, ranked in Rust) on
//! 3,000 generated households, against the plain substring query search used
//! to be (`LIKE '%term%'` on the search column, first 50 by name) through a
//! second connection to the same file: the ratio says what ranking costs.
//!
//! Run: `cargo bench -p field-core --bench search`. Results: docs/benchmarks.md.

// Benchmarks are not input-handling paths: a failed setup should stop the run
// loudly, which is what unwrap/expect do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use field_core::{InitRequest, Store};
use gocua_village_gen::generate;
use rusqlite::Connection;

const HOUSEHOLDS: usize = 3_000;
const SEED: u64 = 2026;

/// (name, query): broad and narrow, tones, a phone's end, and one that only
/// matches inside words (the fallback).
const QUERIES: &[(&str, &str)] = &[
    ("an", "an"),
    ("nguyen", "nguyen"),
    ("nguyen_van_hung", "nguyen van hung"),
    ("hoa_tones", "hòa"),
    ("phone_end", "0111"),
    ("inside_words_guyen", "guyen"),
];

fn search(c: &mut Criterion) {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = Store::open(&path, &field_core::StoreKey::Unencrypted).unwrap();
    let villages: Vec<String> = [
        "Thôn Đông",
        "Thôn Tây",
        "Thôn Nam",
        "Xóm Chợ",
        "Bản Pác Nặm",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    store
        .init(InitRequest {
            volunteer_name: "Nguyễn Thị Hạnh".into(),
            volunteer_phone: None,
            team_name: "Tổ CNSCĐ xã Hồng Hà".into(),
            commune_code: "00097".into(),
            village_names: villages.clone(),
        })
        .unwrap();
    for rec in generate(SEED, &villages, HOUSEHOLDS) {
        store.import_record(&rec).unwrap();
    }
    let st = store.status().unwrap();
    eprintln!(
        "setup: {} households, {} persons, built in {:.1} s",
        st.households,
        st.persons,
        started.elapsed().as_secs_f64()
    );
    let conn = Connection::open(&path).unwrap();
    let mut plain = conn
        .prepare(
            "SELECT id, head_name, address, phone FROM households
             WHERE search_text LIKE ?1 ORDER BY head_key, id LIMIT 50",
        )
        .unwrap();

    let mut g = c.benchmark_group("search");
    g.sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (name, q) in QUERIES {
        let found = store.search(q, 50).unwrap();
        eprintln!(
            "search {q:?}: {} shown of {} found, first {:?} ({:?}, {:?})",
            found.households.len(),
            found.total,
            found.households.first().map(|h| &h.household.head_name),
            found.households.first().map(|h| h.match_kind),
            found.households.first().map(|h| h.matched_in),
        );
        g.bench_function(format!("ranked/{name}"), |b| {
            b.iter(|| black_box(store.search(black_box(q), 50).unwrap()))
        });
        let pattern = format!("%{}%", gocua_text::fold(q));
        g.bench_function(format!("plain_like/{name}"), |b| {
            b.iter(|| {
                let rows: Vec<(String, String, String, Option<String>)> = plain
                    .query_map([&pattern], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                black_box(rows)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, search);
criterion_main!(benches);
