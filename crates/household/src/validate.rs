//! Field validation: each check returns the stored form of the value or says,
//! naming the field, why it is refused. Entry applies these rules to every
//! edit, and reading a document applies them again to what a merge made.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::invalid::{Field, Invalid, Problem};
use crate::model::Gender;

pub type Result<T, E = Invalid> = std::result::Result<T, E>;

pub const MAX_NAME: usize = 200;
pub const MAX_ADDRESS: usize = 500;
pub const MAX_NOTE: usize = 2000;
pub const MIN_BIRTH_YEAR: i64 = 1900;

/// Vietnam has one time zone, with no daylight saving.
pub const VIETNAM_OFFSET_HOURS: i8 = 7;

/// A required text: cleaned (NFC, trimmed), not blank, not too long.
pub fn required_text(field: Field, value: &str, max: usize) -> Result<String> {
    let v = gocua_text::clean(value);
    if v.is_empty() {
        return Err(Invalid::new(field, value, Problem::Required));
    }
    check_len(field, v, max)
}

/// An optional text: cleaned; blank means absent.
pub fn optional_text(field: Field, value: Option<&str>, max: usize) -> Result<Option<String>> {
    match value.map(gocua_text::clean) {
        Some(v) if !v.is_empty() => check_len(field, v, max).map(Some),
        _ => Ok(None),
    }
}

/// An optional note that may hold line breaks.
pub fn optional_note(field: Field, value: Option<&str>) -> Result<Option<String>> {
    match value.map(gocua_text::clean_multiline) {
        Some(v) if !v.is_empty() => check_len(field, v, MAX_NOTE).map(Some),
        _ => Ok(None),
    }
}

fn check_len(field: Field, v: String, max: usize) -> Result<String> {
    if v.chars().count() > max {
        Err(Invalid::new(field, v, Problem::TooLong { max }))
    } else {
        Ok(v)
    }
}

/// A Vietnamese phone number in its national form (`0` and 9 or 10 digits).
///
/// Accepts `+84`, `84` and `0084` prefixes and spaces, dots, dashes or brackets
/// between digits. Mobiles: 10 digits starting 03, 05, 07, 08 or 09. Landlines: 11
/// digits starting 02.
pub fn phone(value: &str) -> Result<String> {
    let raw = gocua_text::clean(value);
    let bad = || Invalid::new(Field::Phone, raw.clone(), Problem::BadPhone);
    let mut digits = String::with_capacity(raw.len());
    let mut plus = false;
    for c in raw.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if digits.is_empty() && !plus => plus = true,
            ' ' | '.' | '-' | '(' | ')' => {}
            _ => return Err(bad()),
        }
    }
    let national = if let Some(rest) = digits.strip_prefix("0084") {
        format!("0{rest}")
    } else if plus {
        match digits.strip_prefix("84") {
            Some(rest) => format!("0{rest}"),
            None => return Err(bad()),
        }
    } else if digits.starts_with("84") && (digits.len() == 11 || digits.len() == 12) {
        format!("0{}", &digits[2..])
    } else {
        digits
    };
    let b = national.as_bytes();
    let ok = match b.len() {
        10 => b[0] == b'0' && matches!(b[1], b'3' | b'5' | b'7' | b'8' | b'9'),
        11 => b[0] == b'0' && b[1] == b'2',
        _ => false,
    };
    if ok { Ok(national) } else { Err(bad()) }
}

/// A birth year between 1900 and this year.
pub fn birth_year(year: i64, this_year: i64) -> Result<i64> {
    if (MIN_BIRTH_YEAR..=this_year).contains(&year) {
        Ok(year)
    } else {
        Err(Invalid::new(
            Field::BirthYear,
            year.to_string(),
            Problem::OutOfRange {
                min: MIN_BIRTH_YEAR,
                max: this_year,
            },
        ))
    }
}

/// The 12-digit personal identification number `PPP G YY NNNNNN`.
///
/// G is the century and gender (0/1 male/female born in the 1900s, 2/3 in the
/// 2000s, and so on every century), YY the birth year's last two digits. PPP is the
/// birth-registration province on the old list and is not checked against today's
/// provinces.
pub fn id_number(value: &str, birth_year: Option<i64>, gender: Option<Gender>) -> Result<String> {
    let v: String = gocua_text::clean(value)
        .chars()
        .filter(|c| *c != ' ' && *c != '.')
        .collect();
    if v.len() != 12 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::new(Field::IdNumber, v, Problem::IdNumberFormat));
    }
    let g = i64::from(v.as_bytes()[3] - b'0');
    let yy: i64 = v[4..6].parse().unwrap_or(-1);
    let female = match gender {
        Some(Gender::Male) => Some(false),
        Some(Gender::Female) => Some(true),
        _ => None,
    };
    let mismatch = |expected: String| {
        Err(Invalid::new(
            Field::IdNumber,
            v.clone(),
            Problem::IdNumberMismatch { expected },
        ))
    };
    if let Some(year) = birth_year {
        let century = year.div_euclid(100) - 19;
        if !(0..=4).contains(&century) {
            return mismatch("?".into());
        }
        let expected_g = century * 2 + i64::from(female.unwrap_or(g % 2 == 1));
        if g != expected_g || yy != year % 100 {
            let g_text = match female {
                Some(_) => expected_g.to_string(),
                None => format!("{}/{}", century * 2, century * 2 + 1),
            };
            return mismatch(format!("{g_text}{:02}", year % 100));
        }
    } else if let Some(f) = female
        && (g % 2 == 1) != f
    {
        return mismatch(if f { "odd digit 4" } else { "even digit 4" }.into());
    }
    Ok(v)
}

/// A moment: RFC 3339, or `YYYY-MM-DD HH:MM` / `YYYY-MM-DD` read as Vietnam time.
/// Stored in UTC as RFC 3339.
pub fn moment(field: Field, value: &str) -> Result<String> {
    let v = value.trim();
    let bad = || Invalid::new(field, v, Problem::BadDate);
    let parsed = if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        t
    } else {
        let vn = UtcOffset::from_hms(VIETNAM_OFFSET_HOURS, 0, 0).map_err(|_| bad())?;
        let with_time = format_description!("[year]-[month]-[day] [hour]:[minute]");
        let with_t = format_description!("[year]-[month]-[day]T[hour]:[minute]");
        if let Ok(t) = time::PrimitiveDateTime::parse(v, &with_time)
            .or_else(|_| time::PrimitiveDateTime::parse(v, &with_t))
        {
            t.assume_offset(vn)
        } else {
            let d = date(field, v)?;
            d.midnight().assume_offset(vn)
        }
    };
    format_utc(parsed).ok_or_else(bad)
}

/// How far ahead of this device's clock a visit may be dated: two phones'
/// clocks disagree by minutes.
pub const FUTURE_ALLOWANCE: time::Duration = time::Duration::minutes(10);
/// How far back a visit may be dated without saying it is entered late.
pub const LATE_ENTRY_LIMIT: time::Duration = time::Duration::days(366);

/// Checks a visit's moment (`visited_at`, as `moment` stores it) against
/// `now` and the household's registration (`registered`, RFC 3339): not in
/// the future beyond `FUTURE_ALLOWANCE`, and, unless the record is entered
/// late on purpose (`late`), not before the registration nor more than
/// `LATE_ENTRY_LIMIT` ago.
pub fn visit_moment(
    visited_at: &str,
    now: OffsetDateTime,
    registered: Option<&str>,
    late: bool,
) -> Result<()> {
    let at = OffsetDateTime::parse(visited_at, &Rfc3339)
        .map_err(|_| Invalid::new(Field::VisitedAt, visited_at, Problem::BadDate))?;
    let latest = now + FUTURE_ALLOWANCE;
    if at > latest {
        return Err(Invalid::new(
            Field::VisitedAt,
            visited_at,
            Problem::InFuture {
                latest: format_utc(latest).unwrap_or_default(),
            },
        ));
    }
    if late {
        return Ok(());
    }
    let year_ago = now - LATE_ENTRY_LIMIT;
    let registered = registered.and_then(|r| OffsetDateTime::parse(r, &Rfc3339).ok());
    // A visit on the day of the registration, before the minute it was
    // typed in, is the normal case: compare days in Vietnam.
    let registered_day = registered.map(|r| vietnam_day(r).midnight().assume_offset(vietnam()));
    let earliest = registered_day.map_or(year_ago, |r| r.max(year_ago));
    if at < earliest {
        return Err(Invalid::new(
            Field::VisitedAt,
            visited_at,
            Problem::TooFarBack {
                earliest: format_utc(earliest).unwrap_or_default(),
            },
        ));
    }
    Ok(())
}

/// A follow-up day: on or after the visit's own (Vietnam) day.
pub fn follow_up(day: Date, visited_at: &str) -> Result<Date> {
    let Ok(at) = OffsetDateTime::parse(visited_at, &Rfc3339) else {
        return Ok(day);
    };
    let visit_day = vietnam_day(at);
    if day < visit_day {
        return Err(Invalid::new(
            Field::FollowUpOn,
            day.to_string(),
            Problem::BeforeVisit {
                visit_day: visit_day.to_string(),
            },
        ));
    }
    Ok(day)
}

fn vietnam() -> UtcOffset {
    UtcOffset::from_hms(VIETNAM_OFFSET_HOURS, 0, 0).unwrap_or(UtcOffset::UTC)
}

fn vietnam_day(t: OffsetDateTime) -> Date {
    t.to_offset(vietnam()).date()
}

/// A calendar day `YYYY-MM-DD`.
pub fn date(field: Field, value: &str) -> Result<Date> {
    let v = value.trim();
    Date::parse(v, format_description!("[year]-[month]-[day]"))
        .map_err(|_| Invalid::new(field, v, Problem::BadDate))
}

pub fn format_utc(t: OffsetDateTime) -> Option<String> {
    t.to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

pub fn now_utc() -> String {
    format_utc(OffsetDateTime::now_utc()).unwrap_or_default()
}

pub fn this_year() -> i64 {
    i64::from(
        OffsetDateTime::now_utc()
            .to_offset(UtcOffset::from_hms(VIETNAM_OFFSET_HOURS, 0, 0).unwrap_or(UtcOffset::UTC))
            .year(),
    )
}

/// A whole number in a range.
pub fn in_range(field: Field, value: i64, min: i64, max: i64) -> Result<i64> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(Invalid::new(
            field,
            value.to_string(),
            Problem::OutOfRange { min, max },
        ))
    }
}

/// One of a fixed set of words.
pub fn word<T>(
    field: Field,
    value: &str,
    parse: fn(&str) -> Option<T>,
    words: &[&'static str],
) -> Result<T> {
    parse(value.trim()).ok_or_else(|| {
        Invalid::new(
            field,
            value,
            Problem::NotOneOf {
                allowed: words.iter().map(|w| w.to_string()).collect(),
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(r: Result<impl std::fmt::Debug>) -> (Field, Problem) {
        match r {
            Err(i) => (i.field, i.problem),
            Ok(other) => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn phones_normalize_to_national_form() {
        for (input, want) in [
            ("0912345678", "0912345678"),
            ("+84 912 345 678", "0912345678"),
            ("84912345678", "0912345678"),
            ("0084912345678", "0912345678"),
            ("(+84) 912-345-678", "0912345678"),
            ("0912.345.678", "0912345678"),
            ("0243 8250 000", "02438250000"),
            ("+84 24 3825 0000", "02438250000"),
        ] {
            assert_eq!(phone(input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn bad_phones_are_refused() {
        for input in [
            "",
            "091234567",
            "09123456789",
            "0112345678",
            "+1 415 555 0100",
            "09l2345678",
            "84+912345678",
        ] {
            assert_eq!(problem(phone(input)).0, Field::Phone, "{input}");
        }
    }

    #[test]
    fn id_number_checks_century_gender_and_year() {
        // Male born 1958: G=0, YY=58.
        assert_eq!(
            id_number("001058012345", Some(1958), Some(Gender::Male)).unwrap(),
            "001058012345"
        );
        // Female born 2003: G=3, YY=03.
        id_number("079303000001", Some(2003), Some(Gender::Female)).unwrap();
        // Female born 1958 must have G=1.
        let (f, p) = problem(id_number("001058012345", Some(1958), Some(Gender::Female)));
        assert_eq!(f, Field::IdNumber);
        assert_eq!(
            p,
            Problem::IdNumberMismatch {
                expected: "158".into()
            }
        );
        // Wrong year digits.
        assert!(id_number("001059012345", Some(1958), Some(Gender::Male)).is_err());
        // Born 2003 with a 1900s century digit.
        assert!(id_number("001003012345", Some(2003), Some(Gender::Male)).is_err());
        // Without a birth year, only the gender parity is checked.
        id_number("001158012345", None, Some(Gender::Female)).unwrap();
        assert!(id_number("001158012345", None, Some(Gender::Male)).is_err());
    }

    #[test]
    fn id_number_must_be_12_digits() {
        for input in ["00105801234", "0010580123456", "00105801234a", ""] {
            assert_eq!(
                problem(id_number(input, None, None)).1,
                Problem::IdNumberFormat,
                "{input}"
            );
        }
    }

    #[test]
    fn birth_year_range() {
        assert!(birth_year(1899, 2026).is_err());
        assert!(birth_year(2027, 2026).is_err());
        assert_eq!(birth_year(1950, 2026).unwrap(), 1950);
    }

    #[test]
    fn moments_read_vietnam_time() {
        assert_eq!(
            moment(Field::VisitedAt, "2026-11-23 09:30").unwrap(),
            "2026-11-23T02:30:00Z"
        );
        assert_eq!(
            moment(Field::VisitedAt, "2026-11-23T09:30:00+07:00").unwrap(),
            "2026-11-23T02:30:00Z"
        );
        assert!(moment(Field::VisitedAt, "23/11/2026").is_err());
    }

    #[test]
    fn required_text_is_cleaned() {
        assert_eq!(
            required_text(Field::HeadName, "  Nguye\u{0302}\u{0303}n  Văn ", 200).unwrap(),
            "Nguyễn Văn"
        );
        assert_eq!(
            problem(required_text(Field::HeadName, " \t ", 200)).1,
            Problem::Required
        );
    }
}
