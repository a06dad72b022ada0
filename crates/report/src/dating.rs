//! Which day counts a visit: the clock-skew rule (docs/reports.md, "Which day
//! counts a visit").
//!
//! Cheap phones have wrong clocks, so a visit's own date is trusted only when it
//! is plausible against a reference time: the server's receipt of the visit.
//! Without one (on a device) the date is taken as it is. A visit dated more than
//! [`FUTURE_TOLERANCE`] after its reference, or more than [`MAX_AGE`] before it,
//! is counted on the reference's day and listed for review.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::offset;
use time::{Date, Duration, OffsetDateTime, UtcOffset};

/// How far after its reference a visit may be dated: clocks set by the mobile
/// network are minutes apart; a phone on the wrong time zone is hours off.
pub const FUTURE_TOLERANCE: Duration = Duration::hours(1);
/// How long before its reference a visit may be dated: two reporting periods,
/// so a visit synced a month late still counts in its own period, while a
/// clock reset to its factory date (years back) does not.
pub const MAX_AGE: Duration = Duration::days(60);

/// Vietnam time, UTC+7 with no daylight saving: days are Vietnamese days.
const VIETNAM: UtcOffset = offset!(+7);

/// An RFC 3339 moment, if it is one.
pub fn moment(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &Rfc3339).ok()
}

/// The Vietnam day of a moment.
pub fn vietnam_day(t: OffsetDateTime) -> Date {
    t.to_offset(VIETNAM).date()
}

/// Why a date was not taken as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Skew {
    /// Dated more than [`FUTURE_TOLERANCE`] after its reference.
    DatedAfterReference,
    /// Dated more than [`MAX_AGE`] before its reference.
    DatedLongBeforeReference,
    /// The date does not read as RFC 3339; the reference's day counts.
    UnreadableDate,
}

/// The day a dated record counts on, and why it is not its own date when not.
/// `None` when neither the date nor the reference reads.
pub fn counted_day(dated: &str, reference: Option<&str>) -> Option<(Date, Option<Skew>)> {
    let reference = reference.and_then(moment);
    match (moment(dated), reference) {
        (Some(d), Some(r)) if d > r + FUTURE_TOLERANCE => {
            Some((vietnam_day(r), Some(Skew::DatedAfterReference)))
        }
        (Some(d), Some(r)) if d < r - MAX_AGE => {
            Some((vietnam_day(r), Some(Skew::DatedLongBeforeReference)))
        }
        (Some(d), _) => Some((vietnam_day(d), None)),
        (None, Some(r)) => Some((vietnam_day(r), Some(Skew::UnreadableDate))),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn day(dated: &str, reference: Option<&str>) -> Option<(Date, Option<Skew>)> {
        counted_day(dated, reference)
    }

    #[test]
    fn a_plausible_date_counts_on_its_vietnam_day() {
        // 17:30 UTC is 00:30 the next day in Vietnam.
        assert_eq!(
            day("2026-11-14T17:30:00Z", Some("2026-11-20T03:00:00Z")),
            Some((date!(2026 - 11 - 15), None))
        );
        // Up to the tolerance after the reference is still the visit's own date.
        assert_eq!(
            day("2026-11-20T04:00:00Z", Some("2026-11-20T03:00:00Z")),
            Some((date!(2026 - 11 - 20), None))
        );
        // Exactly 60 days before is still plausible (a late sync).
        assert_eq!(
            day("2026-09-21T03:00:00Z", Some("2026-11-20T03:00:00Z")),
            Some((date!(2026 - 09 - 21), None))
        );
        // No reference: the date as it is.
        assert_eq!(
            day("2030-01-01T00:00:00Z", None),
            Some((date!(2030 - 01 - 01), None))
        );
    }

    #[test]
    fn an_implausible_date_counts_on_its_reference_day() {
        assert_eq!(
            day("2026-11-20T04:00:01Z", Some("2026-11-20T03:00:00Z")),
            Some((date!(2026 - 11 - 20), Some(Skew::DatedAfterReference)))
        );
        assert_eq!(
            day("2027-01-01T00:00:00Z", Some("2026-11-20T03:00:00Z")),
            Some((date!(2026 - 11 - 20), Some(Skew::DatedAfterReference)))
        );
        assert_eq!(
            day("2026-09-21T02:59:59Z", Some("2026-11-20T03:00:00Z")),
            Some((date!(2026 - 11 - 20), Some(Skew::DatedLongBeforeReference)))
        );
        // A phone reset to 1 January 1970.
        assert_eq!(
            day("1970-01-01T00:00:00Z", Some("2026-11-20T18:00:00Z")),
            Some((date!(2026 - 11 - 21), Some(Skew::DatedLongBeforeReference)))
        );
        assert_eq!(
            day("hôm qua", Some("2026-11-20T03:00:00Z")),
            Some((date!(2026 - 11 - 20), Some(Skew::UnreadableDate)))
        );
        assert_eq!(day("hôm qua", Some("nope")), None);
    }
}
