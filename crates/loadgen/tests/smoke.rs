//! A tiny load against an in-process server: every visit is stored, every
//! device pulls back every change of its village, and a fresh device
//! bootstraps every visit.

use gocua_loadgen::{Options, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_load_is_ingested_and_pulled_back() -> anyhow::Result<()> {
    let opts = Options {
        devices: 4,
        villages: 2,
        visits_per_device: 7,
        visits_per_household: 3,
        visits_per_push: 2,
        in_process: true,
        max_seconds: 60,
        ..Options::default()
    };
    let r = run(&opts).await?;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.ingest_complete);
    assert_eq!(r.visits_planned, 28);
    assert_eq!(r.visits_stored, 28);
    assert_eq!(r.households, 4 * 3);
    // A household is created by two changes: its first change and its fields.
    assert_eq!(r.changes_stored, 28 + 2 * 12);
    assert_eq!(r.duplicates, 0);
    assert_eq!(r.refused, 0);
    assert!(r.every_device_has_its_villages_changes);
    assert!(r.materializer_lag_seconds.is_some());
    // The probe's visits reached the indicators, each waited for.
    assert!(
        r.report_freshness.requests >= gocua_loadgen::freshness::MIN_PROBES,
        "{:?}",
        r.report_freshness
    );
    assert!(r.report_freshness.max_ms > 0.0);
    assert_eq!(r.fresh_bootstrap_documents, 12);
    assert_eq!(r.fresh_bootstrap_visits, 28);
    assert!(r.push_latency.requests >= 4 * 4);
    assert!(r.push_traffic.up > 0 && r.pull_traffic.down > 0);
    assert_eq!(r.idle_pull.requests, 1);
    assert!(r.one_visit_push.bytes_total > 0);
    let real = r.real_client.as_ref().expect("the real client ran");
    assert_eq!(real.bootstrap_documents, 6);
    assert_eq!(real.idle_sync.requests, 1);
    Ok(())
}
