//! How soon the province's indicators reflect a push: while the load runs, a
//! probe device of its own village pushes one visit at a time, and a commune
//! officer asks `GET /v1/report` for that village until its visits count it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::Http;
use crate::workload::DeviceWork;

/// Probes made at least, even when the load ends before them.
pub const MIN_PROBES: usize = 3;

/// What the probe needs.
#[derive(Debug)]
pub struct Probe {
    pub http: Http,
    pub base: String,
    pub device_token: String,
    pub officer_token: String,
    pub village_id: String,
    /// Pushes of one visit each (the first also creates the household).
    pub work: DeviceWork,
}

/// The visits to date of `village` in a `/v1/report` answer at village level.
pub fn village_visits(report: &serde_json::Value, village: &str) -> Option<u64> {
    let unit = report
        .get("units")?
        .as_array()?
        .iter()
        .find(|u| u.get("unit").and_then(|v| v.as_str()) == Some(village))?;
    unit.get("figures")?
        .as_array()?
        .iter()
        .find(|f| {
            f.get("indicator").and_then(|v| v.as_str()) == Some("visits")
                && f.pointer("/breakdown/by").and_then(|v| v.as_str()) == Some("all")
        })?
        .get("running_total")?
        .as_u64()
}

/// Pushes the probe's visits one at a time while `load_done` is false (and
/// at least `MIN_PROBES`), each time waiting for the report to count it;
/// returns the milliseconds from each push's answer to the report counting
/// it, and the feed position of the last push.
pub async fn run(
    p: Probe,
    load_done: Arc<AtomicBool>,
    give_up: Duration,
) -> Result<(Vec<f64>, u64)> {
    let mut out = Vec::new();
    let mut end = 0;
    let mut expected = 0u64;
    for push in &p.work.pushes {
        if out.len() >= MIN_PROBES && load_done.load(Ordering::Relaxed) {
            break;
        }
        let r = p.http.push(&p.base, &p.device_token, push).await?;
        if !r.refused.is_empty() {
            bail!("the probe's push was refused: {:?}", r.refused);
        }
        expected += push.visits;
        end = end.max(r.last_seq);
        let pushed = Instant::now();
        loop {
            let report = p
                .http
                .report(&p.base, &p.officer_token, &p.village_id)
                .await?;
            if village_visits(&report, &p.village_id).is_some_and(|n| n >= expected) {
                out.push(pushed.elapsed().as_secs_f64() * 1e3);
                break;
            }
            if pushed.elapsed() > give_up {
                bail!("the report did not count the probe's visit {expected} within {give_up:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok((out, end))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn reads_the_villages_visits_to_date() {
        let report = serde_json::json!({"units": [
            {"unit": "other", "figures": [
                {"indicator": "visits", "breakdown": {"by": "all"}, "period": 9, "running_total": 9}]},
            {"unit": "v1", "figures": [
                {"indicator": "visits", "breakdown": {"by": "volunteer", "volunteer": "x"},
                 "period": 5, "running_total": 5},
                {"indicator": "visits", "breakdown": {"by": "all"}, "period": 2, "running_total": 4}]}
        ]});
        assert_eq!(village_visits(&report, "v1"), Some(4));
        assert_eq!(village_visits(&report, "v2"), None);
    }
}
