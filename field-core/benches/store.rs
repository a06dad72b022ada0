//! Store benchmarks on a realistic store: 3,000 generated households with exactly 3
//! visits each (about 22,000 writes, built once per run in a temporary directory
//! and shared by every benchmark of the run, so that the ratios to `plain_insert`
//! compare figures taken on the same machine at the same time).
//!
//! Run: `cargo bench -p field-core --bench store`. Results and goals:
//! docs/benchmarks.md.

// Benchmarks are not input-handling paths: a failed setup should stop the run
// loudly, which is what unwrap/expect do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use field_core::{InitRequest, NewVisit, Store};
use gocua_village_gen::{HouseholdRecord, VisitRecord, generate, write_record};
use rusqlite::{Connection, params};

const HOUSEHOLDS: usize = 3_000;
const VISITS_EACH: usize = 3;
const BIG_VISITS: usize = 500;
/// Households holding 500 visits; the warm benchmark rotates over them so that
/// each grows four times slower than one household would.
const BIG_HOUSEHOLDS: usize = 4;
const SEED: u64 = 2026;

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: Store,
    /// (household id, one member id) of the 3-visit households.
    small: Vec<(String, String)>,
    /// (household id, one member id) of the 500-visit households.
    big: Vec<(String, String)>,
    /// Visit data to record, from the generator.
    visits: Vec<NewVisit>,
}

fn village_names() -> Vec<String> {
    [
        "Thôn Đông",
        "Thôn Tây",
        "Thôn Nam",
        "Xóm Chợ",
        "Bản Pác Nặm",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Every visit of `recs`, with member indexes that fit a household of `n` members.
fn visit_pool(recs: &[HouseholdRecord]) -> Vec<VisitRecord> {
    recs.iter().flat_map(|r| r.visits.iter().cloned()).collect()
}

fn fit(v: &VisitRecord, members: usize) -> VisitRecord {
    let mut v = v.clone();
    for i in &mut v.member_indexes {
        *i %= members.max(1);
    }
    v.member_indexes.sort_unstable();
    v.member_indexes.dedup();
    v
}

fn one_member(conn: &Connection, hid: &str) -> String {
    conn.query_row(
        "SELECT id FROM persons WHERE household_id = ?1 ORDER BY id LIMIT 1",
        [hid],
        |r| r.get(0),
    )
    .unwrap()
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let started = Instant::now();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let store = Store::open(&path, &field_core::StoreKey::Unencrypted).unwrap();
        store
            .init(InitRequest {
                volunteer_name: "Nguyễn Thị Hạnh".into(),
                volunteer_phone: Some("0912345678".into()),
                team_name: "Tổ CNSCĐ xã Hồng Hà".into(),
                commune_code: "00097".into(),
                village_names: village_names(),
            })
            .unwrap();
        let mut recs = generate(SEED, &village_names(), HOUSEHOLDS + BIG_HOUSEHOLDS);
        let pool = visit_pool(&generate(SEED + 1, &village_names(), 2_000));
        let mut next = 0usize;
        let mut take = |members: usize| {
            let v = fit(&pool[next % pool.len()], members);
            next += 1;
            v
        };
        let mut small = Vec::with_capacity(HOUSEHOLDS);
        let mut big = Vec::new();
        let conn = Connection::open(&path).unwrap();
        for (i, rec) in recs.iter_mut().enumerate() {
            let want = if i < HOUSEHOLDS {
                VISITS_EACH
            } else {
                BIG_VISITS
            };
            rec.visits.truncate(want);
            while rec.visits.len() < want {
                rec.visits.push(take(rec.members.len()));
            }
            let hid = write_record(&store, rec).unwrap();
            let member = one_member(&conn, &hid);
            if i < HOUSEHOLDS {
                small.push((hid, member));
            } else {
                big.push((hid, member));
            }
        }
        let visits: Vec<NewVisit> = pool.iter().map(|v| v.visit.clone()).collect();
        let status = store.status().unwrap();
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "setup: {} households, {} persons, {} visits, {:.1} MB (+WAL), built in {:.1} s",
            status.households,
            status.persons,
            status.visits,
            bytes as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
        Fixture {
            _dir: dir,
            path,
            store,
            small,
            big,
            visits,
        }
    })
}

fn visit_for(f: &Fixture, i: usize, member: &str) -> NewVisit {
    let mut v = f.visits[i % f.visits.len()].clone();
    v.person_ids = vec![member.to_string()];
    v
}

/// The same visit data as one plain row, each in its own transaction, through a
/// second connection to the same file with the store's pragmas.
fn plain_insert(c: &mut Criterion) {
    let f = fixture();
    let conn = Connection::open(&f.path).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS bench_plain (
            id TEXT PRIMARY KEY, household_id TEXT NOT NULL, visited_at TEXT NOT NULL,
            team_id TEXT NOT NULL, volunteer_ids TEXT NOT NULL, person_ids TEXT NOT NULL,
            services TEXT NOT NULL, duration_minutes INTEGER, follow_up_on TEXT,
            feedback TEXT, consent_id TEXT, recorded_at TEXT NOT NULL, recorded_by TEXT NOT NULL
        ) STRICT",
    )
    .unwrap();
    let ident = f.store.identity().unwrap();
    let mut n = 0usize;
    let mut g = c.benchmark_group("store");
    g.sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    g.bench_function("plain_insert", |b| {
        b.iter(|| {
            let (hid, member) = &f.small[n % f.small.len()];
            let v = visit_for(f, n, member);
            n += 1;
            let services = serde_json::to_string(&v.services).unwrap();
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            conn.prepare_cached(
                "INSERT INTO bench_plain (id, household_id, visited_at, team_id, volunteer_ids,
                    person_ids, services, duration_minutes, follow_up_on, feedback, consent_id,
                    recorded_at, recorded_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )
            .unwrap()
            .execute(params![
                format!("{n:032x}"),
                hid,
                v.visited_at,
                ident.team_id,
                ident.volunteer_id,
                v.person_ids.join(","),
                services,
                v.duration_minutes,
                v.follow_up_on,
                v.feedback,
                v.consent_id,
                "2026-11-23T02:30:00Z",
                ident.volunteer_id,
            ])
            .unwrap();
            conn.execute_batch("COMMIT").unwrap();
        })
    });
    g.finish();
}

fn record_visit(c: &mut Criterion) {
    let f = fixture();
    let mut g = c.benchmark_group("record_visit");
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));

    // Rotating over all 3,000 households: each gains a visit or two during the
    // run, and none is in the store's document cache (64 documents), as when a
    // volunteer walks from house to house.
    let mut n = 0usize;
    g.bench_function("3_visits", |b| {
        b.iter(|| {
            let (hid, member) = &f.small[n % f.small.len()];
            let v = visit_for(f, n, member);
            n += 1;
            black_box(f.store.record_visit(hid, v).unwrap());
        })
    });

    // A household another was merged into: a visit there projects the merge
    // group whole (both documents read and composed), against "3_visits".
    let mut waiting: std::collections::HashMap<String, &(String, String)> = Default::default();
    let mut roots: Vec<&(String, String)> = Vec::new();
    for pair in f.small.iter().take(400) {
        let village = f.store.household(&pair.0).unwrap().village_id;
        match waiting.remove(&village) {
            Some(kept) => {
                f.store.merge_households(&pair.0, &kept.0).unwrap();
                roots.push(kept);
            }
            None => {
                waiting.insert(village, pair);
            }
        }
    }
    assert!(
        !roots.is_empty(),
        "no two households of one village to merge"
    );
    let mut r = 0usize;
    g.bench_function("3_visits_merged", |b| {
        b.iter(|| {
            let (hid, member) = roots[r % roots.len()];
            let v = visit_for(f, r, member);
            r += 1;
            black_box(f.store.record_visit(hid, v).unwrap());
        })
    });

    // The same households, the document already loaded (warm cache): rotating over
    // four households, each gains about a quarter of the iterations.
    g.sampling_mode(SamplingMode::Flat).sample_size(20);
    let mut m = 0usize;
    let before = f.store.status().unwrap().visits;
    g.bench_function("500_visits", |b| {
        b.iter(|| {
            let (hid, member) = &f.big[m % f.big.len()];
            let v = visit_for(f, m, member);
            m += 1;
            black_box(f.store.record_visit(hid, v).unwrap());
        })
    });
    let grown = f.store.status().unwrap().visits - before;
    eprintln!(
        "record_visit/500_visits: {grown} visits recorded, each 500-visit household ended with ~{}",
        BIG_VISITS as i64 + grown / BIG_HOUSEHOLDS as i64
    );

    // Cold: a freshly opened store (opening not timed) must load the document.
    let mut k = 0usize;
    g.bench_function("500_visits_cold", |b| {
        b.iter_batched(
            || Store::open(&f.path, &field_core::StoreKey::Unencrypted).unwrap(),
            |s| {
                let (hid, member) = &f.big[k % f.big.len()];
                let v = visit_for(f, k, member);
                k += 1;
                black_box(s.record_visit(hid, v).unwrap());
                s
            },
            BatchSize::PerIteration,
        )
    });
    let mut j = 0usize;
    g.bench_function("3_visits_cold", |b| {
        b.iter_batched(
            || Store::open(&f.path, &field_core::StoreKey::Unencrypted).unwrap(),
            |s| {
                let (hid, member) = &f.small[(j * 7) % f.small.len()];
                let v = visit_for(f, j, member);
                j += 1;
                black_box(s.record_visit(hid, v).unwrap());
                s
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn open_store(c: &mut Criterion) {
    let f = fixture();
    let mut g = c.benchmark_group("store");
    g.sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    g.bench_function("open_store", |b| {
        b.iter_with_large_drop(|| {
            Store::open(black_box(&f.path), &field_core::StoreKey::Unencrypted).unwrap()
        })
    });
    g.finish();
}

fn search(c: &mut Criterion) {
    let f = fixture();
    let mut g = c.benchmark_group("search");
    g.sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for (name, q) in [
        ("nguyen_van", "nguyen van"),
        ("tran_thi_lan", "tran thi lan"),
    ] {
        let found = f.store.search(q, 50).unwrap();
        eprintln!(
            "search {q:?}: {} rows of {} (limit 50)",
            found.households.len(),
            found.total
        );
        g.bench_function(name, |b| {
            b.iter(|| black_box(f.store.search(black_box(q), 50).unwrap()))
        });
    }
    g.finish();
}

fn rebuild_projection(c: &mut Criterion) {
    let f = fixture();
    let mut g = c.benchmark_group("store");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    g.bench_function("rebuild_projection", |b| {
        b.iter(|| black_box(f.store.rebuild_projection().unwrap()))
    });
    g.finish();
}

fn report(_c: &mut Criterion) {
    let f = fixture();
    let status = f.store.status().unwrap();
    eprintln!(
        "end: {} households, {} visits",
        status.households, status.visits
    );
}

criterion_group!(
    benches,
    plain_insert,
    record_visit,
    open_store,
    search,
    rebuild_projection,
    report
);
criterion_main!(benches);
