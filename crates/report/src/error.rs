//! What the report's inputs can get wrong. Documents never cause an error here:
//! what cannot be read in one is listed for review instead (see `review`).

/// A bad report parameter or reference table, named.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A reporting period is written `YYYY-MM` (the month it ends in).
    #[error("period {0:?} is not YYYY-MM")]
    BadPeriod(String),
    /// Periods start on a day from 1 (calendar months) to 28.
    #[error("periods start day {0} is not between 1 and 28")]
    BadStartDay(i64),
    /// A day is written `YYYY-MM-DD`.
    #[error("day {0:?} is not YYYY-MM-DD")]
    BadDay(String),
    /// The administrative units could not be read.
    #[error(transparent)]
    Units(#[from] gocua_admin_units::Error),
}
