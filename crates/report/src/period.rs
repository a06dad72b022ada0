//! Reporting periods: a calendar month, or a month running from day N of the
//! previous month to day N-1 of the month it is named after (the 15th-to-14th
//! period of Decree 09/2019/NĐ-CP, art. 12). docs/reports.md, "Periods".

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::error::Error;

/// A reporting period, named by the month it ends in: with periods starting on
/// the 15th, `2026-11` runs from 2026-10-15 to 2026-11-14.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Period {
    year: i32,
    month: u8,
}

impl Period {
    pub fn new(year: i32, month: u8) -> Result<Period, Error> {
        if (1..=12).contains(&month) && (1900..=9999).contains(&year) {
            Ok(Period { year, month })
        } else {
            Err(Error::BadPeriod(format!("{year:04}-{month:02}")))
        }
    }

    /// `YYYY-MM`.
    pub fn parse(text: &str) -> Result<Period, Error> {
        let bad = || Error::BadPeriod(text.to_string());
        let t = text.trim();
        let (y, m) = t.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !t.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u8 = m.parse().map_err(|_| bad())?;
        Period::new(year, month).map_err(|_| bad())
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    fn previous_month(self) -> (i32, u8) {
        if self.month == 1 {
            (self.year - 1, 12)
        } else {
            (self.year, self.month - 1)
        }
    }

    fn next(self) -> Period {
        if self.month == 12 {
            Period {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Period {
                year: self.year,
                month: self.month + 1,
            }
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl From<Period> for String {
    fn from(p: Period) -> String {
        p.to_string()
    }
}

impl TryFrom<String> for Period {
    type Error = Error;
    fn try_from(s: String) -> Result<Period, Error> {
        Period::parse(&s)
    }
}

/// How the months are cut into periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeriodConfig {
    start_day: u8,
}

impl Default for PeriodConfig {
    fn default() -> Self {
        PeriodConfig::CALENDAR_MONTH
    }
}

impl PeriodConfig {
    pub const CALENDAR_MONTH: PeriodConfig = PeriodConfig { start_day: 1 };

    /// Periods starting on `start_day` (1 = calendar months). Days past 28 are
    /// refused: February has no 30th, and a period must start every month.
    pub fn starting_on(start_day: i64) -> Result<PeriodConfig, Error> {
        match u8::try_from(start_day) {
            Ok(d @ 1..=28) => Ok(PeriodConfig { start_day: d }),
            _ => Err(Error::BadStartDay(start_day)),
        }
    }

    pub fn start_day(self) -> u8 {
        self.start_day
    }

    /// The period a (Vietnam) day falls in.
    pub fn period_of(self, day: Date) -> Period {
        let p = Period {
            year: day.year(),
            month: u8::from(day.month()),
        };
        if self.start_day > 1 && day.day() >= self.start_day {
            p.next()
        } else {
            p
        }
    }

    /// The first and last day of `period`.
    pub fn bounds(self, period: Period) -> (Date, Date) {
        let first = if self.start_day == 1 {
            date(period.year, period.month, 1)
        } else {
            let (y, m) = period.previous_month();
            date(y, m, self.start_day)
        };
        let next_first = if self.start_day == 1 {
            let n = period.next();
            date(n.year, n.month, 1)
        } else {
            date(period.year, period.month, self.start_day)
        };
        (first, next_first.previous_day().unwrap_or(next_first))
    }
}

/// Days 1..=28 exist in every month of years 1900..=9999, which `Period` and
/// `PeriodConfig` guarantee; `Date::MIN` is unreachable.
fn date(year: i32, month: u8, day: u8) -> Date {
    Month::try_from(month)
        .ok()
        .and_then(|m| Date::from_calendar_date(year, m, day).ok())
        .unwrap_or(Date::MIN)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::date;

    #[test]
    fn calendar_months() {
        let c = PeriodConfig::CALENDAR_MONTH;
        assert_eq!(c.period_of(date!(2026 - 11 - 01)).to_string(), "2026-11");
        assert_eq!(c.period_of(date!(2026 - 11 - 30)).to_string(), "2026-11");
        assert_eq!(c.period_of(date!(2026 - 12 - 01)).to_string(), "2026-12");
        let p = Period::parse("2026-02").unwrap();
        assert_eq!(c.bounds(p), (date!(2026 - 02 - 01), date!(2026 - 02 - 28)));
    }

    #[test]
    fn the_15th_to_the_14th_is_named_after_the_month_it_ends_in() {
        let c = PeriodConfig::starting_on(15).unwrap();
        assert_eq!(c.period_of(date!(2026 - 10 - 14)).to_string(), "2026-10");
        assert_eq!(c.period_of(date!(2026 - 10 - 15)).to_string(), "2026-11");
        assert_eq!(c.period_of(date!(2026 - 11 - 14)).to_string(), "2026-11");
        assert_eq!(c.period_of(date!(2026 - 12 - 15)).to_string(), "2027-01");
        let p = Period::parse("2027-01").unwrap();
        assert_eq!(c.bounds(p), (date!(2026 - 12 - 15), date!(2027 - 01 - 14)));
    }

    #[test]
    fn bad_periods_and_start_days_are_named() {
        for bad in [
            "2026-13",
            "2026-1",
            "26-11",
            "2026/11",
            "2026-11-01",
            "",
            "abcd-ef",
        ] {
            assert!(
                matches!(Period::parse(bad), Err(Error::BadPeriod(ref s)) if s == bad),
                "{bad}"
            );
        }
        assert!(matches!(
            PeriodConfig::starting_on(29),
            Err(Error::BadStartDay(29))
        ));
        assert!(matches!(
            PeriodConfig::starting_on(0),
            Err(Error::BadStartDay(0))
        ));
    }
}
