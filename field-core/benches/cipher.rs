//! The encrypted store beside the plain one, in one run: the same 500-household
//! village (gocua-village-gen, seed 2026) written into a plain store and into a
//! store encrypted with a raw key (the app's case: no key derivation), then the
//! same operations on both. Each pair is compared as a ratio in
//! docs/benchmarks.md ("The encrypted store").
//!
//! Run: `cargo bench -p field-core --bench cipher`.

// Benchmarks are not input-handling paths: a failed setup should stop the run
// loudly, which is what unwrap/expect do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use field_core::{InitRequest, NewVisit, ServiceOutcome, Store, StoreKey};
use gocua_village_gen::{HouseholdRecord, generate, write_record};

const HOUSEHOLDS: usize = 500;
const SEED: u64 = 2026;
const KEY: [u8; 32] = [0x5a; 32];

fn villages() -> Vec<String> {
    vec!["Thôn Đông".into(), "Thôn Tây".into()]
}

fn records() -> &'static Vec<HouseholdRecord> {
    static R: OnceLock<Vec<HouseholdRecord>> = OnceLock::new();
    R.get_or_init(|| generate(SEED, &villages(), HOUSEHOLDS))
}

fn new_store(path: &Path, key: &StoreKey) -> Store {
    let store = Store::open(path, key).unwrap();
    store
        .init(InitRequest {
            volunteer_name: "Nguyễn Thị Hạnh".into(),
            volunteer_phone: None,
            team_name: "Tổ CNSCĐ xã Hồng Hà".into(),
            commune_code: "00097".into(),
            village_names: villages(),
        })
        .unwrap();
    store
}

/// Writes the village into a new store: the bulk import a volunteer's phone
/// does when a team moves its paper register in.
fn import(path: &Path, key: &StoreKey) -> Vec<String> {
    let store = new_store(path, key);
    records()
        .iter()
        .map(|r| write_record(&store, r).unwrap())
        .collect()
}

struct Built {
    _dir: tempfile::TempDir,
    path: PathBuf,
    households: Vec<String>,
}

fn built(encrypted: bool) -> &'static Built {
    static PLAIN: OnceLock<Built> = OnceLock::new();
    static ENCRYPTED: OnceLock<Built> = OnceLock::new();
    let cell = if encrypted { &ENCRYPTED } else { &PLAIN };
    cell.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite");
        let households = import(&path, &key(encrypted));
        Built {
            _dir: dir,
            path,
            households,
        }
    })
}

fn key(encrypted: bool) -> StoreKey {
    if encrypted {
        StoreKey::Raw(KEY)
    } else {
        StoreKey::Unencrypted
    }
}

fn name(encrypted: bool) -> &'static str {
    if encrypted { "encrypted" } else { "plain" }
}

fn visit() -> NewVisit {
    NewVisit {
        services: vec![ServiceOutcome {
            service: "scam_awareness".into(),
            outcome: "done".into(),
            note: Some("Hướng dẫn nhận biết cuộc gọi lừa đảo".into()),
        }],
        duration_minutes: Some(15),
        feedback: Some("Gia đình hiểu rõ".into()),
        ..Default::default()
    }
}

fn benches(c: &mut Criterion) {
    // Both stores built before any timing: the same machine state for both.
    for encrypted in [false, true] {
        built(encrypted);
    }
    let mut g = c.benchmark_group("cipher");
    g.measurement_time(Duration::from_secs(6));
    for encrypted in [false, true] {
        let b = built(encrypted);
        let store = Store::open(&b.path, &key(encrypted)).unwrap();
        let mut next = 0usize;
        g.bench_function(format!("record_visit/{}", name(encrypted)), |bench| {
            bench.iter(|| {
                let h = &b.households[next % b.households.len()];
                next += 1;
                store.record_visit(h, visit()).unwrap()
            })
        });
        g.bench_function(format!("search/{}", name(encrypted)), |bench| {
            bench.iter(|| store.search(black_box("nguyen van"), 50).unwrap())
        });
        drop(store);
        g.bench_function(format!("open/{}", name(encrypted)), |bench| {
            bench.iter_with_large_drop(|| Store::open(black_box(&b.path), &key(encrypted)).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("cipher_import");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    for encrypted in [false, true] {
        g.bench_function(format!("import_500/{}", name(encrypted)), |bench| {
            bench.iter_batched(
                || tempfile::tempdir().unwrap(),
                |dir| {
                    import(&dir.path().join("store.sqlite"), &key(encrypted));
                    dir
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();

    // What the CLI pays on every command: SQLCipher's PBKDF2 (256,000
    // iterations) on a passphrase; the app's raw key skips it.
    let mut g = c.benchmark_group("cipher_passphrase");
    g.sample_size(10);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    let passphrase = StoreKey::Passphrase("mật khẩu của Hạnh".into());
    drop(new_store(&path, &passphrase));
    g.bench_function("open/passphrase", |bench| {
        bench.iter_with_large_drop(|| Store::open(black_box(&path), &passphrase).unwrap())
    });
    g.finish();
}

criterion_group!(cipher, benches);
criterion_main!(cipher);
