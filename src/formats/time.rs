//! Timestamps: integer seconds since the Unix epoch (UTC), written and read as RFC 3339.
//!
//! Nothing here reads the clock: the current time is an input wherever it matters, and only the
//! command line (`evledger`'s `cli::now`) looks at the system clock.

/// Why a timestamp string was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 timestamp like 2026-03-01T12:00:00Z: {0}")]
pub struct TimeError(pub String);

/// Parses an RFC 3339 date-time (`2026-03-01T12:00:00Z`, `...+02:00`, optional fraction, which is
/// truncated) or a plain date (`2026-03-01`, taken as midnight UTC) into Unix seconds.
///
/// # Errors
/// [`TimeError`] naming what is wrong.
pub fn parse_rfc3339(s: &str) -> Result<i64, TimeError> {
    let err = |why: &str| TimeError(format!("{s:?}: {why}"));
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Result<i64, TimeError> {
        let part = b.get(from..from + len).ok_or_else(|| err("too short"))?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(err("expected digits"));
        }
        Ok(part.iter().fold(0i64, |a, &d| a * 10 + (d - b'0') as i64))
    };
    let sep = |at: usize, c: &[u8]| -> Result<(), TimeError> {
        match b.get(at) {
            Some(x) if c.contains(x) => Ok(()),
            _ => Err(err(&format!(
                "expected {:?} at position {}",
                c[0] as char,
                at + 1
            ))),
        }
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    sep(4, b"-")?;
    sep(7, b"-")?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(err("no such date"));
    }
    let days = days_from_civil(year, month, day);
    if b.len() == 10 {
        return Ok(days * 86_400);
    }
    sep(10, b"Tt ")?;
    sep(13, b":")?;
    sep(16, b":")?;
    let (hour, min, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if hour > 23 || min > 59 || sec > 60 {
        return Err(err("time of day out of range"));
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return Err(err("empty fraction"));
        }
    }
    let offset = match b.get(i) {
        Some(b'Z' | b'z') if b.len() == i + 1 => 0,
        Some(&c @ (b'+' | b'-')) if b.len() == i + 6 => {
            sep(i + 3, b":")?;
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return Err(err("offset out of range"));
            }
            let o = oh * 3600 + om * 60;
            if c == b'+' { o } else { -o }
        }
        _ => return Err(err("expected a time zone: Z or +HH:MM")),
    };
    // A leap second (60) is folded onto the following second, as Unix time does.
    Ok(days * 86_400 + hour * 3600 + min * 60 + sec - offset)
}

/// Formats Unix seconds as RFC 3339 UTC (`2026-03-01T12:00:00Z`).
pub fn format_rfc3339(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `t` plus `months` calendar months: the same time of day on the same day of the month, or on
/// the last day of the month when it is shorter (31 March plus one month is 30 April). `None`
/// when `t` is more than 2^52 seconds (about 142 million years) from the epoch, where the
/// calendar arithmetic is not defined here.
pub fn add_months(t: i64, months: u32) -> Option<i64> {
    const LIMIT: i64 = 1 << 52;
    if !(-LIMIT..=LIMIT).contains(&t) {
        return None;
    }
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let total = y * 12 + (m - 1) + i64::from(months);
    let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let nd = d.min(days_in_month(ny, nm));
    Some(days_from_civil(ny, nm, nd) * 86_400 + t.rem_euclid(86_400))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_rfc3339("2026-03-01T12:00:00Z"), Ok(1_772_366_400));
        assert_eq!(
            parse_rfc3339("2026-03-01T14:00:00+02:00"),
            Ok(1_772_366_400)
        );
        assert_eq!(parse_rfc3339("2026-03-01T12:00:00.999Z"), Ok(1_772_366_400));
        assert_eq!(parse_rfc3339("2026-03-01"), Ok(1_772_323_200));
        assert_eq!(format_rfc3339(1_772_366_400), "2026-03-01T12:00:00Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn add_months_keeps_the_day_or_takes_the_last() {
        let t = |s: &str| parse_rfc3339(s).unwrap();
        let add = |s: &str, m: u32| add_months(t(s), m).map(format_rfc3339);
        assert_eq!(
            add("2026-10-05T14:30:00Z", 1).unwrap(),
            "2026-11-05T14:30:00Z"
        );
        assert_eq!(
            add("2026-01-31T00:00:00Z", 1).unwrap(),
            "2026-02-28T00:00:00Z"
        );
        assert_eq!(
            add("2028-01-31T23:59:59Z", 1).unwrap(),
            "2028-02-29T23:59:59Z"
        );
        assert_eq!(
            add("2026-12-15T08:00:00Z", 1).unwrap(),
            "2027-01-15T08:00:00Z"
        );
        assert_eq!(
            add("1969-12-31T12:00:00Z", 14).unwrap(),
            "1971-02-28T12:00:00Z"
        );
        assert_eq!(
            add("2026-03-31T10:00:00Z", 0).unwrap(),
            "2026-03-31T10:00:00Z"
        );
        assert_eq!(add_months(i64::MAX, 1), None);
        assert_eq!(add_months(i64::MIN, 1), None);
        assert!(add_months(1 << 52, u32::MAX).is_some());
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "2026-02-30T00:00:00Z",
            "2026-13-01",
            "2026-03-01T12:00:00",
            "2026-03-01T25:00:00Z",
            "2026-03-01T12:00:00+2:00",
            "２026-03-01",
            "2026-03-01T12:00:00.Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn round_trip_many() {
        // Years 0001 to 9999, the range RFC 3339 can write.
        for t in (-62_135_596_800i64..253_402_300_799).step_by(777_777_777) {
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Ok(t));
        }
    }
}
