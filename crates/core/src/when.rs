//! "When" in plain words: `in 2h`, `tomorrow 9am`, `fri 17:30`, `2026-12-01 14:00`, RFC 3339.
//! Wall-clock words are read in the user's time zone and turned into one UTC instant; durations
//! are added to the instant itself, so "in 2h" is two real hours even across a DST change.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhenError {
    #[error(
        "cannot understand `{0}` as a time: try `in 2h`, `tomorrow 9am`, `fri 17:30` or `2026-12-01 14:00`"
    )]
    Unparseable(String),
    #[error("`{input}` is {understood}, which is in the past: pick a later time")]
    Past { input: String, understood: String },
    #[error("`{input}` names a day but no time: add one, e.g. `{input} 9am`")]
    NeedsTime { input: String },
    #[error("{local} does not exist in {tz} (the clocks skip it that day): pick another time")]
    Skipped { local: String, tz: String },
}

/// Formats an instant the way chirp shows times: in the user's zone, with the weekday.
pub fn show(at: DateTime<Utc>, tz: &Tz) -> String {
    at.with_timezone(tz)
        .format("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}

/// Parses `input` relative to `now` in `tz`. Past instants are refused; `now` itself is allowed.
pub fn parse_when(input: &str, now: DateTime<Utc>, tz: &Tz) -> Result<DateTime<Utc>, WhenError> {
    let at = parse_any(input, now, tz)?;
    // A minute's grace: "14:00" typed at 14:00:30 means now, not tomorrow.
    if at < now - Duration::seconds(1) {
        return Err(WhenError::Past {
            input: input.trim().to_string(),
            understood: show(at, tz),
        });
    }
    Ok(at)
}

/// The start of a span, as `--from` takes it: anything [`parse_when`] reads (past times too),
/// or a bare date for its first minute in `tz`.
pub fn parse_from(input: &str, now: DateTime<Utc>, tz: &Tz) -> Result<DateTime<Utc>, WhenError> {
    match parse_date(input.trim()) {
        Some(date) => {
            let midnight = date.and_time(NaiveTime::MIN);
            // A day that starts in a skipped hour starts when its clocks do.
            (0..=180)
                .find_map(|m| localize(midnight + Duration::minutes(m), tz).ok())
                .ok_or_else(|| WhenError::Unparseable(input.trim().to_string()))
        }
        None => parse_any(input, now, tz),
    }
}

fn parse_any(input: &str, now: DateTime<Utc>, tz: &Tz) -> Result<DateTime<Utc>, WhenError> {
    let raw = input.trim();
    let unparseable = || WhenError::Unparseable(raw.to_string());
    if let Ok(dt) = DateTime::parse_from_rfc3339(raw) {
        return Ok(dt.with_timezone(&Utc));
    }
    let lower = raw.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    match words.as_slice() {
        [] => Err(unparseable()),
        ["now"] => Ok(now),
        // Checked: "in 1000000000d" is past the end of time, not a crash.
        ["in", rest @ ..] => parse_duration(&rest.join(" "))
            .and_then(|d| now.checked_add_signed(d))
            .ok_or_else(unparseable),
        [one] if one.starts_with('+') => parse_duration(&one[1..])
            .and_then(|d| now.checked_add_signed(d))
            .ok_or_else(unparseable),
        _ => parse_wall_clock(raw, &words, now, tz),
    }
}

/// `1h30m`, `90 min`, `2 hours`, `3d`, `1 week`.
fn parse_duration(s: &str) -> Option<Duration> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if s.is_empty() {
        return None;
    }
    let mut total = Duration::zero();
    let mut rest = s.as_str();
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "s" | "sec" | "secs" | "second" | "seconds" => Duration::try_seconds(n),
            "m" | "min" | "mins" | "minute" | "minutes" => Duration::try_minutes(n),
            "h" | "hr" | "hrs" | "hour" | "hours" => Duration::try_hours(n),
            "d" | "day" | "days" => Duration::try_days(n),
            "w" | "wk" | "week" | "weeks" => Duration::try_weeks(n),
            _ => None,
        }?;
        total = total.checked_add(&part)?;
    }
    Some(total)
}

enum Day {
    Date(NaiveDate),
    Weekday(Weekday),
}

fn parse_wall_clock(
    raw: &str,
    words: &[&str],
    now: DateTime<Utc>,
    tz: &Tz,
) -> Result<DateTime<Utc>, WhenError> {
    let unparseable = || WhenError::Unparseable(raw.to_string());
    let today = now.with_timezone(tz).date_naive();
    // "2026-12-01T14:00" is one word.
    if let [one] = words
        && let Some((d, t)) = one.split_once('t')
        && let (Some(date), Some(time)) = (parse_date(d), parse_time(t))
    {
        return localize(date.and_time(time), tz);
    }
    let mut day: Option<Day> = None;
    let mut time: Option<NaiveTime> = None;
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        // "9 am" is two words.
        let joined = words.get(i + 1).map(|next| format!("{w}{next}"));
        if let Some(t) = joined
            .as_deref()
            .filter(|_| time.is_none())
            .and_then(parse_time)
        {
            time = Some(t);
            i += 2;
            continue;
        }
        match w {
            "at" | "on" | "next" => {}
            "today" if day.is_none() => day = Some(Day::Date(today)),
            "tomorrow" | "tmrw" if day.is_none() => {
                day = Some(Day::Date(today.succ_opt().ok_or_else(unparseable)?));
            }
            _ => {
                if let (None, Some(t)) = (time, parse_time(w)) {
                    time = Some(t);
                } else if let (None, Some(d)) = (&day, parse_date(w)) {
                    day = Some(Day::Date(d));
                } else if let (None, Ok(wd)) = (&day, w.parse::<Weekday>()) {
                    day = Some(Day::Weekday(wd));
                } else {
                    return Err(unparseable());
                }
            }
        }
        i += 1;
    }
    let Some(time) = time else {
        return Err(if day.is_some() {
            WhenError::NeedsTime {
                input: raw.to_string(),
            }
        } else {
            unparseable()
        });
    };
    match day {
        Some(Day::Date(d)) => localize(d.and_time(time), tz),
        // A weekday or a bare time means the next time it comes round, today included if the
        // time is still ahead.
        Some(Day::Weekday(wd)) => next_matching(today, time, now, tz, |d| d.weekday() == wd),
        None => next_matching(today, time, now, tz, |_| true),
    }
}

fn next_matching(
    today: NaiveDate,
    time: NaiveTime,
    now: DateTime<Utc>,
    tz: &Tz,
    ok: impl Fn(NaiveDate) -> bool,
) -> Result<DateTime<Utc>, WhenError> {
    let now_local = now.with_timezone(tz).naive_local();
    let mut last = None;
    for date in today.iter_days().take(8).filter(|d| ok(*d)) {
        let local = date.and_time(time);
        match localize(local, tz) {
            Ok(at) if at >= now => return Ok(at),
            // The next occurrence falls in the hour the clocks skip: refuse it and say so,
            // rather than silently take the one after (a week later, for a weekday).
            Err(e) if local >= now_local => return Err(e),
            other => last = Some(other),
        }
    }
    last.unwrap_or_else(|| Err(WhenError::Unparseable(time.to_string())))
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// `9am`, `9:30pm`, `17:30`, `17:30:15`, `noon`, `midnight`.
pub(crate) fn parse_time(s: &str) -> Option<NaiveTime> {
    match s {
        "noon" => return NaiveTime::from_hms_opt(12, 0, 0),
        "midnight" => return NaiveTime::from_hms_opt(0, 0, 0),
        _ => {}
    }
    let (body, pm) = if let Some(b) = s.strip_suffix("am") {
        (b, Some(false))
    } else if let Some(b) = s.strip_suffix("pm") {
        (b, Some(true))
    } else {
        (s, None)
    };
    let mut parts = body.split(':');
    let h: u32 = parts
        .next()
        .filter(|p| (1..=2).contains(&p.len()))?
        .parse()
        .ok()?;
    let m: u32 = match parts.next() {
        Some(p) if p.len() == 2 => p.parse().ok()?,
        Some(_) => return None,
        None if pm.is_some() => 0,
        None => return None, // a bare number is not a time
    };
    let sec: u32 = match parts.next() {
        Some(p) if p.len() == 2 => p.parse().ok()?,
        Some(_) => return None,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    let h = match pm {
        Some(_) if !(1..=12).contains(&h) => return None,
        Some(false) => h % 12,
        Some(true) => h % 12 + 12,
        None => h,
    };
    NaiveTime::from_hms_opt(h, m, sec)
}

/// A wall-clock time in `tz` as an instant. In the repeated hour of a DST fall-back the earlier
/// instant is taken; a time the clocks skip is refused rather than silently shifted.
fn localize(local: NaiveDateTime, tz: &Tz) -> Result<DateTime<Utc>, WhenError> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(early, _) => Ok(early.with_timezone(&Utc)),
        LocalResult::None => Err(WhenError::Skipped {
            local: local.format("%Y-%m-%d %H:%M").to_string(),
            tz: tz.name().to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> Tz {
        "Europe/Berlin".parse().unwrap()
    }

    /// Thursday 2026-11-26 10:15 in Berlin (09:15 UTC).
    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 9, 15, 0).unwrap()
    }

    fn at(input: &str) -> Result<String, WhenError> {
        parse_when(input, now(), &berlin()).map(|t| show(t, &berlin()))
    }

    #[test]
    fn plain_words() {
        assert_eq!(at("in 2h").unwrap(), "Thu 2026-11-26 12:15 CET");
        assert_eq!(at("in 1h30m").unwrap(), "Thu 2026-11-26 11:45 CET");
        assert_eq!(at("in 90 minutes").unwrap(), "Thu 2026-11-26 11:45 CET");
        assert_eq!(at("+3d").unwrap(), "Sun 2026-11-29 10:15 CET");
        assert_eq!(at("tomorrow 9am").unwrap(), "Fri 2026-11-27 09:00 CET");
        assert_eq!(at("Tomorrow at 9 AM").unwrap(), "Fri 2026-11-27 09:00 CET");
        assert_eq!(at("fri 17:30").unwrap(), "Fri 2026-11-27 17:30 CET");
        assert_eq!(at("thu 17:30").unwrap(), "Thu 2026-11-26 17:30 CET");
        // Thursday 9am has passed this week: next Thursday.
        assert_eq!(at("thursday 9am").unwrap(), "Thu 2026-12-03 09:00 CET");
        assert_eq!(at("2026-12-01 14:00").unwrap(), "Tue 2026-12-01 14:00 CET");
        assert_eq!(at("2026-12-01T14:00").unwrap(), "Tue 2026-12-01 14:00 CET");
        assert_eq!(at("2026-12-01 2pm").unwrap(), "Tue 2026-12-01 14:00 CET");
        assert_eq!(at("noon").unwrap(), "Thu 2026-11-26 12:00 CET");
        // A bare time already gone today means tomorrow.
        assert_eq!(at("8:00").unwrap(), "Fri 2026-11-27 08:00 CET");
        assert_eq!(
            at("2026-12-01T14:00:00Z").unwrap(),
            "Tue 2026-12-01 15:00 CET"
        );
        assert_eq!(parse_when("now", now(), &berlin()).unwrap(), now());
    }

    #[test]
    fn refusals_say_what_was_understood() {
        assert_eq!(
            at("2026-11-25 14:00").unwrap_err().to_string(),
            "`2026-11-25 14:00` is Wed 2026-11-25 14:00 CET, which is in the past: pick a later time"
        );
        assert!(matches!(at("today 9am"), Err(WhenError::Past { .. })));
        assert!(matches!(at("tomorrow"), Err(WhenError::NeedsTime { .. })));
        for bad in [
            "",
            "soon",
            "in 2 parsecs",
            "25:00",
            "13pm",
            "tomorrow 9am 10am",
            "in",
        ] {
            assert!(
                matches!(at(bad), Err(WhenError::Unparseable(_))),
                "{bad:?} -> {:?}",
                at(bad)
            );
        }
    }

    #[test]
    fn dst_is_handled_not_shifted() {
        let tz = berlin();
        // 2027-03-28 02:30 does not exist in Berlin.
        let err = parse_when("2027-03-28 02:30", now(), &tz).unwrap_err();
        assert!(matches!(err, WhenError::Skipped { .. }), "{err}");
        // 9am the day after the change is 07:00 UTC (summer time), not 08:00.
        let t = parse_when("2027-03-29 09:00", now(), &tz).unwrap();
        assert_eq!(t, Utc.with_ymd_and_hms(2027, 3, 29, 7, 0, 0).unwrap());
        // "in 24h" across the change is 24 real hours.
        let before = Utc.with_ymd_and_hms(2027, 3, 27, 12, 0, 0).unwrap();
        let t = parse_when("in 24h", before, &tz).unwrap();
        assert_eq!(t - before, Duration::hours(24));
    }

    /// No input makes the parser panic: random sequences of the words, numbers and signs it
    /// knows (and some it does not), from a fixed seed so a failure can be replayed.
    #[test]
    fn no_input_panics() {
        const PIECES: &[&str] = &[
            "in",
            "+",
            "1000000000d",
            "99999999999999w",
            "2h",
            "30m",
            "0",
            "-1",
            "9",
            "12",
            "23:59",
            "24:00",
            "9am",
            "12pm",
            "0am",
            "13pm",
            "at",
            "on",
            "next",
            "today",
            "tomorrow",
            "fri",
            "sun",
            "monday",
            "noon",
            "midnight",
            "2026-02-29",
            "2026-12-01",
            "9999-12-31",
            "262143-12-31",
            "0000-01-01",
            "14:00",
            "2:30",
            ":",
            "t",
            "T",
            "2026-03-29T02:30",
            "1e9",
            "日本",
            "\u{0}",
            " ",
            "9 am",
            "a",
            "pm",
            "h",
            "d",
        ];
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        for input in
            crate::generated::inputs(0x2545_F491_4F6C_DD1D, 20_000, 5, PIECES, |r| r % 3 > 0)
        {
            let _ = parse_when(&input, now, &tz);
        }
        assert!(parse_when("in 1000000000d", now, &tz).is_err());
        assert!(parse_when("+99999999999999w", now, &tz).is_err());
    }

    #[test]
    fn the_next_occurrence_in_a_skipped_hour_is_refused_not_moved() {
        // Berlin skips 02:00–03:00 on Sunday 2027-03-28.
        let tz = berlin();
        let sat_noon = tz
            .with_ymd_and_hms(2027, 3, 27, 12, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        for input in ["sun 02:30", "sun 2:30am", "tomorrow 02:30"] {
            assert!(
                matches!(
                    parse_when(input, sat_noon, &tz),
                    Err(WhenError::Skipped { .. })
                ),
                "{input}: {:?}",
                parse_when(input, sat_noon, &tz)
            );
        }
        let sun_1am = tz
            .with_ymd_and_hms(2027, 3, 28, 1, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        assert!(matches!(
            parse_when("2:30", sun_1am, &tz),
            Err(WhenError::Skipped { .. })
        ));
        // Once the gap is behind, a bare 2:30 is tomorrow's, which exists.
        let sun_4am = tz
            .with_ymd_and_hms(2027, 3, 28, 4, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_when("2:30", sun_4am, &tz).unwrap(),
            tz.with_ymd_and_hms(2027, 3, 29, 2, 30, 0)
                .unwrap()
                .with_timezone(&Utc)
        );
    }
}
