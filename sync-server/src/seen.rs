//! When each device was last seen and last synced, and the app version it
//! says it runs (`admin devices list`), without a database write on every
//! request: a device's contact is written when the stored one is a minute old
//! or more, or its app version or the pending changes it reports changed.
//! This process remembers what it wrote; another replica writes at most
//! once a minute per device too.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::HeaderMap;
use gocua_protocol::{HEADER_APP_VERSION, HEADER_PENDING};

use crate::storage::DeviceSeen;

/// Seconds a stored contact stays good enough.
pub const COALESCE_SECONDS: i64 = 60;
/// The longest app version kept.
const MAX_APP_VERSION: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Written {
    seen: i64,
    sync: Option<i64>,
    app_version: Option<String>,
    pending: Option<i64>,
}

/// What this process last wrote of each device's contact.
#[derive(Debug, Default)]
pub struct Seen {
    written: Mutex<HashMap<String, Written>>,
}

/// The app version a request carries in `gocua-app-version`: printable
/// ASCII, at most 64 characters; anything else is not kept (the header is
/// optional, a bad one never refuses a request).
pub fn app_version(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(HEADER_APP_VERSION)?.to_str().ok()?.trim();
    let ok = !v.is_empty()
        && v.len() <= MAX_APP_VERSION
        && v.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    ok.then(|| v.to_string())
}

/// The pending changes a request says its device holds (`gocua-pending`):
/// a number of at most 12 digits (so it fits a database integer); anything
/// else says nothing.
pub fn pending(headers: &HeaderMap) -> Option<i64> {
    let v = headers.get(HEADER_PENDING)?.to_str().ok()?.trim();
    if v.is_empty() || v.len() > 12 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

impl Seen {
    /// What to write for this contact, if anything is due; taken as written
    /// at once, so that requests arriving together write it once.
    pub fn claim(
        &self,
        device_id: &str,
        now: i64,
        synced: bool,
        app_version: Option<&str>,
        pending: Option<i64>,
    ) -> Option<DeviceSeen> {
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        let stale = |t: i64| now - t >= COALESCE_SECONDS;
        let due = match written.get(device_id) {
            None => true,
            Some(w) => {
                stale(w.seen)
                    || (synced && w.sync.is_none_or(stale))
                    || (app_version.is_some() && app_version != w.app_version.as_deref())
                    || (pending.is_some() && pending != w.pending)
            }
        };
        if !due {
            return None;
        }
        let entry = written
            .entry(device_id.to_string())
            .or_insert_with(|| Written {
                seen: now,
                sync: None,
                app_version: None,
                pending: None,
            });
        entry.seen = now;
        if synced {
            entry.sync = Some(now);
        }
        if app_version.is_some() {
            entry.app_version = app_version.map(str::to_string);
        }
        if pending.is_some() {
            entry.pending = pending;
        }
        Some(DeviceSeen {
            at: now,
            synced,
            app_version: app_version.map(str::to_string),
            pending_changes: pending,
        })
    }

    /// Forgets what was claimed for a device whose write failed, so that
    /// its next request tries again.
    pub fn forget(&self, device_id: &str) {
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        written.remove(device_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_is_written_once_a_minute_or_when_the_version_changes() {
        let s = Seen::default();
        let mut writes = 0;
        let mut contact = |now: i64, synced: bool, v: Option<&str>| {
            let due = s.claim("d", now, synced, v, None).is_some();
            writes += usize::from(due);
            due
        };
        assert!(contact(1_000, false, Some("0.1.0")), "first contact");
        // A thousand requests within the minute: no write.
        for i in 0..1_000 {
            assert!(!contact(1_000 + i % 59, false, Some("0.1.0")));
        }
        assert!(contact(1_010, true, Some("0.1.0")), "first sync");
        assert!(
            !contact(1_020, true, Some("0.1.0")),
            "a sync within the minute"
        );
        assert!(!contact(1_030, false, None), "no version says nothing new");
        assert!(contact(1_040, false, Some("0.2.0")), "a new version");
        assert!(contact(1_100, false, Some("0.2.0")), "a minute later");
        assert_eq!(writes, 4);
        s.forget("d");
        assert!(
            s.claim("d", 1_101, false, None, None).is_some(),
            "after a failed write"
        );
    }

    /// The pending changes a device reports are written when they change,
    /// within the minute too: the last push of a sync says 0.
    #[test]
    fn reported_pending_changes_are_written_when_they_change() {
        let s = Seen::default();
        assert!(s.claim("d", 1_000, true, None, Some(40)).is_some());
        assert!(s.claim("d", 1_001, true, None, Some(40)).is_none());
        let last = s.claim("d", 1_002, true, None, Some(0));
        assert_eq!(last.and_then(|w| w.pending_changes), Some(0));
        assert!(s.claim("d", 1_003, false, None, None).is_none());
        let mut h = HeaderMap::new();
        assert_eq!(pending(&h), None);
        for (v, want) in [
            ("17", Some(17)),
            ("-1", None),
            ("1e3", None),
            ("9999999999999", None),
        ] {
            h.insert(HEADER_PENDING, v.parse().unwrap());
            assert_eq!(pending(&h), want, "{v}");
        }
    }

    #[test]
    fn only_a_sensible_app_version_is_kept() {
        let mut h = HeaderMap::new();
        assert_eq!(app_version(&h), None);
        h.insert(HEADER_APP_VERSION, "gocua-android 1.4.2".parse().unwrap());
        assert_eq!(app_version(&h).as_deref(), Some("gocua-android 1.4.2"));
        h.insert(HEADER_APP_VERSION, "x".repeat(65).parse().unwrap());
        assert_eq!(app_version(&h), None);
        h.insert(HEADER_APP_VERSION, "  ".parse().unwrap());
        assert_eq!(app_version(&h), None);
    }
}
