//! Running a library on untrusted input without letting it stop the device.
//!
//! Automerge (0.12) panics on some crafted changes and documents instead of
//! returning an error. Every byte from outside is untrusted, so each call that
//! hands it such bytes goes through [`isolate`]: a panic becomes an `Err` with
//! its message, and the caller quarantines the input or refuses it. Panics must
//! unwind for this (the workspace keeps `panic = "unwind"`).
//!
//! The default panic hook would still print "thread 'main' panicked at ..." on
//! stderr, which means nothing to a volunteer and looks like a crash. A hook
//! installed once (chaining the one before it) stays silent while the current
//! thread is isolating, keeps the message and its location for the caller and
//! logs them with tracing; every other panic goes to the previous hook as before.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static ISOLATING: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !ISOLATING.with(Cell::get) {
                previous(info);
                return;
            }
            let message = payload_text(info.payload());
            let text = match info.location() {
                Some(l) => format!("{message} ({}:{})", short_path(l.file()), l.line()),
                None => message,
            };
            // The caller logs the outcome (quarantine, refusal) with its context
            // at warn level; this is the raw event, for whoever digs deeper.
            tracing::debug!(panic = %text, "isolated a panic in a library");
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
        }));
    });
}

/// `automerge-0.12.0/src/x.rs` rather than the whole path of the build machine.
fn short_path(file: &str) -> String {
    match file.rsplit_once("/src/") {
        Some((krate, rest)) => {
            let krate = krate.rsplit('/').next().unwrap_or(krate);
            format!("{krate}/src/{rest}")
        }
        None => file.to_string(),
    }
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// Runs `f`; a panic inside it is caught and returned as `Err(message)`.
///
/// Whatever `f` mutated may be left half-modified after a panic: the caller must
/// discard it (the `AssertUnwindSafe` here is only sound with that rule).
pub(crate) fn isolate<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    let was = ISOLATING.with(|i| i.replace(true));
    LAST_PANIC.with(|p| p.borrow_mut().take());
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    ISOLATING.with(|i| i.set(was));
    result.map_err(|payload| {
        LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| payload_text(payload.as_ref()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_with_its_message() {
        let r: Result<(), String> = isolate(|| {
            let v: Vec<u8> = Vec::new();
            let _ = v
                .get(3)
                .copied()
                .ok_or("missing")
                .map_err(|e| panic!("{e}"));
        });
        let e = r.err().unwrap_or_default();
        assert!(e.starts_with("missing"), "{e}");
        assert!(e.contains("isolate.rs"), "the location is kept: {e}");
        assert_eq!(isolate(|| 4), Ok(4));
        assert!(!ISOLATING.with(Cell::get), "the flag is restored");
    }
}
