//! Running a library call on untrusted bytes so that a panic inside it (a
//! crafted Automerge change can make Automerge 0.12 panic) becomes an error
//! for that input instead of a dead worker. The workspace keeps
//! `panic = "unwind"` for this.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `f`; a panic comes back as its message. Whatever `f` touched must be
/// thrown away after a panic: it may be half-modified.
pub fn isolated<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string());
        format!("panic: {message}")
    })
}
