//! Group commit: callers that arrive while a batch is being written queue up,
//! and whoever writes next takes every queued job and writes them in one
//! transaction. Under load this turns hundreds of small transactions into a
//! few large ones, on every backend.

use std::sync::{Arc, Mutex, MutexGuard};

struct Slot<J, R> {
    job: Mutex<Option<J>>,
    result: Mutex<Option<R>>,
}

pub struct GroupCommit<J, R> {
    queue: Mutex<Vec<Arc<Slot<J, R>>>>,
    /// Held by whoever writes a batch.
    leader: Mutex<()>,
}

impl<J, R> std::fmt::Debug for GroupCommit<J, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl<J, R> Default for GroupCommit<J, R> {
    fn default() -> Self {
        GroupCommit {
            queue: Mutex::new(Vec::new()),
            leader: Mutex::new(()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these leaves plain data behind.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<J, R> GroupCommit<J, R> {
    /// Queues `job` and returns its result: written by this caller's `run`
    /// with whatever else was queued, or by another caller's. `run` gets the
    /// batch's jobs and returns one result per job, in order; `None` when a
    /// batch lost this job (a `run` returning too few results).
    pub fn submit(&self, job: J, run: impl FnOnce(Vec<J>) -> Vec<R>) -> Option<R> {
        let mine = Arc::new(Slot {
            job: Mutex::new(Some(job)),
            result: Mutex::new(None),
        });
        lock(&self.queue).push(mine.clone());
        let _leader = lock(&self.leader);
        if let Some(done) = lock(&mine.result).take() {
            return Some(done);
        }
        let batch: Vec<Arc<Slot<J, R>>> = std::mem::take(&mut *lock(&self.queue));
        let jobs: Vec<J> = batch.iter().filter_map(|s| lock(&s.job).take()).collect();
        let results = run(jobs);
        let mut out = None;
        for (slot, result) in batch.iter().zip(results) {
            if Arc::ptr_eq(slot, &mine) {
                out = Some(result);
            } else {
                *lock(&slot.result) = Some(result);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Every caller gets the result of its own job, whoever wrote it, and
    /// jobs that queued meanwhile are written together.
    #[test]
    fn each_caller_gets_its_own_result() {
        let gc: Arc<GroupCommit<u32, u32>> = Arc::new(GroupCommit::default());
        let batches = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..16u32)
            .map(|i| {
                let gc = gc.clone();
                let batches = batches.clone();
                std::thread::spawn(move || {
                    gc.submit(i, |jobs| {
                        batches.lock().unwrap().push(jobs.len());
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        jobs.iter().map(|j| j * 10).collect()
                    })
                })
            })
            .collect();
        for (i, t) in threads.into_iter().enumerate() {
            assert_eq!(t.join().unwrap(), Some(i as u32 * 10));
        }
        let batches = batches.lock().unwrap();
        assert_eq!(batches.iter().sum::<usize>(), 16);
    }
}
