//! The materializer: a background task that folds the change log into one
//! saved Automerge document per household (the `bootstrap` snapshots) and moves
//! a global watermark, `materialized_seq`, past what it folded.
//!
//! It works a page of the log at a time and one document at a time: load the
//! document's previous snapshot, apply its new changes, save, drop. Memory
//! stays bounded by the page, whatever the number of documents.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::{Automerge, Change, ReadDoc};
use tokio::sync::{Notify, watch};

use crate::isolate::isolated;
use crate::storage::{Snapshot, Storage, StorageResult};

/// A change's seq and bytes.
type SeqBytes = (u64, Vec<u8>);

/// Changes read per step.
pub const PAGE_CHANGES: u32 = 1_000;
/// About the bytes of changes read per step.
pub const PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Previous snapshots read at once.
const LOAD_DOCS: usize = 100;
/// Snapshots are written in groups of about this many bytes.
const FLUSH_BYTES: usize = 4 * 1024 * 1024;
/// After a failure, the next try waits this long (or for the next push).
const RETRY: Duration = Duration::from_secs(5);
/// How often the materializer looks at a log other processes write to.
const POLL_SHARED: Duration = Duration::from_millis(250);
/// While the log keeps growing, the report rows of the households folded
/// are written at least this often (a step of them); once caught up, all of
/// them. Reading a household for the report costs more than folding a
/// change into it, so it is not done at every fold: a household changed
/// many times in this interval is read once.
const REPORT_EVERY: Duration = Duration::from_secs(1);
/// The longest the report rows are written for in one go before the
/// materializer folds again, while the log keeps growing.
const REPORT_BUDGET: Duration = Duration::from_millis(500);

/// Runs until `shutdown` turns true (or its sender is dropped). `wake` is
/// notified after every push that stored something.
pub async fn run(
    storage: Arc<dyn Storage>,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut reported = Instant::now();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let s = storage.clone();
        let report_too = reported.elapsed() >= REPORT_EVERY;
        if report_too {
            reported = Instant::now();
        }
        let result = tokio::task::spawn_blocking(move || {
            if !s.materializer_lease()? {
                // Another replica runs it; this one waits to take over.
                return Ok(0);
            }
            let done = step(s.as_ref())?;
            if report_too {
                // A bounded share of the time: the pushes come first.
                let t = Instant::now();
                while crate::report::step(s.as_ref())? > 0 && t.elapsed() < REPORT_BUDGET {}
            }
            Ok::<_, crate::storage::StorageError>(done)
        })
        .await;
        let again = match result {
            Ok(Ok(done)) => done > 0,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "materializer step failed");
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "materializer step panicked");
                false
            }
        };
        if again {
            continue;
        }
        // Other replicas' pushes do not wake this one: with a shared
        // database, it looks at the log again soon.
        let idle = if storage.shared() { POLL_SHARED } else { RETRY };
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(idle) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    tracing::debug!("materializer stopped");
}

/// Folds the next page of the log after the watermark; returns how many
/// changes it covered (0 when the watermark is at the end of the log).
pub fn step(storage: &dyn Storage) -> StorageResult<usize> {
    let watermark = storage.materialized_seq()?;
    let page = storage.changes_after(watermark, PAGE_CHANGES, PAGE_BYTES)?;
    let Some(last) = page.changes.last().map(|c| c.seq) else {
        // Caught up: the report rows of the households folded since.
        return crate::report::step(storage);
    };
    let count = page.changes.len();
    // Group per document, in the order documents first appear.
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<(String, String, Vec<SeqBytes>)> = Vec::new();
    for c in page.changes {
        match index.get(&c.doc_id) {
            Some(&i) => {
                groups[i].1 = c.village_id;
                groups[i].2.push((c.seq, c.bytes));
            }
            None => {
                index.insert(c.doc_id.clone(), groups.len());
                groups.push((c.doc_id, c.village_id, vec![(c.seq, c.bytes)]));
            }
        }
    }
    drop(index);
    let mut out = Vec::new();
    let mut out_bytes = 0usize;
    let mut groups = groups.into_iter().peekable();
    while groups.peek().is_some() {
        // The previous snapshots of a few documents at a time: one read
        // each time, and memory bounded by the chunk, not the page.
        let chunk: Vec<(String, String, Vec<SeqBytes>)> = groups.by_ref().take(LOAD_DOCS).collect();
        let ids: Vec<String> = chunk.iter().map(|g| g.0.clone()).collect();
        let mut prev: HashMap<String, Snapshot> = storage
            .snapshots(&ids)?
            .into_iter()
            .map(|s| (s.doc_id.clone(), s))
            .collect();
        for (doc_id, village_id, changes) in chunk {
            let before = prev.remove(&doc_id);
            let snap = fold(storage, doc_id, village_id, changes, last, before)?;
            out_bytes += snap.bytes.as_ref().map_or(0, Vec::len)
                + snap.pending.iter().map(|p| p.1.len()).sum::<usize>();
            out.push(snap);
            if out_bytes > FLUSH_BYTES {
                // Snapshots ahead of the watermark are harmless: they contain
                // more than the watermark promises, never less.
                storage.save_snapshots(&out, None)?;
                out.clear();
                out_bytes = 0;
            }
        }
    }
    storage.save_snapshots(&out, Some(last))?;
    tracing::debug!(changes = count, watermark = last, "materialized");
    Ok(count)
}

/// `base` plus the changes applied so far, after a panic spoiled the document.
fn refold(base: &Automerge, applied: &[(u64, Vec<u8>, automerge::ChangeHash)]) -> Automerge {
    let mut doc = base.clone();
    for (_, bytes, _) in applied {
        let Ok(change) = Change::from_bytes(bytes.clone()) else {
            continue;
        };
        let mut taken = std::mem::take(&mut doc);
        doc = match isolated(move || {
            let r = taken.apply_changes([change]);
            (taken, r)
        }) {
            Ok((d, _)) => d,
            Err(_) => base.clone(),
        };
    }
    doc
}

/// One document: its previous snapshot (`prev`) plus its new changes, saved.
fn fold(
    storage: &dyn Storage,
    doc_id: String,
    village_id: String,
    new: Vec<(u64, Vec<u8>)>,
    covered_seq: u64,
    prev: Option<Snapshot>,
) -> StorageResult<Snapshot> {
    let (doc, mut candidates) = match prev {
        Some(p) => {
            let doc = match &p.bytes {
                Some(b) => match isolated(|| Automerge::load(b)) {
                    Ok(Ok(d)) => d,
                    failed => {
                        // Never stuck on one document: fold it again from
                        // its whole history.
                        let why = match failed {
                            Ok(Err(e)) => e.to_string(),
                            Err(p) => p,
                            Ok(Ok(_)) => String::new(),
                        };
                        tracing::error!(doc = %doc_id, reason = %why, "snapshot does not load; folding the whole history again");
                        let all = storage
                            .document_log(&doc_id)?
                            .into_iter()
                            .filter(|(seq, _)| *seq <= covered_seq)
                            .collect();
                        return fold_from(doc_id, village_id, Automerge::new(), all, covered_seq);
                    }
                },
                None => Automerge::new(),
            };
            (doc, p.pending)
        }
        None => (Automerge::new(), Vec::new()),
    };
    candidates.extend(new);
    fold_from(doc_id, village_id, doc, candidates, covered_seq)
}

/// `doc` plus `candidates`, each applied in isolation, saved.
fn fold_from(
    doc_id: String,
    village_id: String,
    mut doc: Automerge,
    candidates: Vec<(u64, Vec<u8>)>,
    covered_seq: u64,
) -> StorageResult<Snapshot> {
    let base = doc.clone();
    let mut parsed: Vec<(u64, Vec<u8>, automerge::ChangeHash)> =
        Vec::with_capacity(candidates.len());
    for (seq, bytes) in candidates {
        match Change::from_bytes(bytes.clone()) {
            Ok(change) => {
                let hash = change.hash();
                // One at a time and isolated: a change Automerge refuses or
                // panics on is left out instead of stopping every village.
                // The push path applied each stored change once already, so
                // this is a second line of defence.
                let mut taken = std::mem::take(&mut doc);
                match isolated(move || {
                    let r = taken.apply_changes([change]);
                    (taken, r)
                }) {
                    Ok((d, Ok(()))) => {
                        doc = d;
                        parsed.push((seq, bytes, hash));
                    }
                    Ok((d, Err(e))) => {
                        doc = d;
                        tracing::warn!(doc = %doc_id, seq, error = %e, "change left out of the snapshot");
                    }
                    Err(panic) => {
                        tracing::error!(doc = %doc_id, seq, %panic, "change left out of the snapshot");
                        doc = refold(&base, &parsed);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(doc = %doc_id, seq, error = %e, "stored change does not parse")
            }
        }
    }
    // Changes whose dependencies have not arrived wait in Automerge's queue,
    // which `save()` leaves out: keep them beside the snapshot.
    let pending = if doc.get_missing_deps(&[]).is_empty() {
        Vec::new()
    } else {
        parsed
            .into_iter()
            .filter(|(_, _, hash)| doc.get_change_by_hash(hash).is_none())
            .map(|(seq, bytes, _)| (seq, bytes))
            .collect()
    };
    let bytes = if doc.get_heads().is_empty() {
        None
    } else {
        isolated(|| doc.save()).ok()
    };
    Ok(Snapshot {
        doc_id,
        village_id,
        bytes,
        covered_seq,
        pending,
    })
}
