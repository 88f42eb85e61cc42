//! Weekly posting slots ("mon-fri 09:00,12:30,17:00; sat 10:00"): wall-clock times in an
//! account's own zone. Across a DST change a slot stays at its local time; a slot in the hour
//! the clocks skip moves to the first minute that exists after it; in the hour that repeats it
//! is used once (the first time round).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::when::parse_time;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Posting times for each day of the week (Monday first), sorted, without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklySlots {
    days: [Vec<NaiveTime>; 7],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotsError {
    #[error(
        "`{0}` is not a day: use mon, tue, … sun, a range like mon-fri, daily, weekdays or weekends"
    )]
    Day(String),
    #[error("`{0}` is not a time of day: use 24-hour times like 09:00 or 17:30, or 9am")]
    Time(String),
    #[error("`{0}` has days but no times: add them, e.g. `{0} 09:00,17:00`")]
    NoTimes(String),
}

impl WeeklySlots {
    /// No slot at all (the queue is off).
    pub fn is_empty(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }

    /// How many slots a week has.
    pub fn per_week(&self) -> usize {
        self.days.iter().map(Vec::len).sum()
    }

    /// The slot instants from `from` on (a slot at `from` itself included), earliest first,
    /// each once. Endless unless there are no slots.
    pub fn from(&self, from: DateTime<Utc>, tz: Tz) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let start = from.with_timezone(&tz).date_naive();
        let mut last: Option<DateTime<Utc>> = None;
        let empty = self.is_empty();
        start
            .iter_days()
            .take_while(move |_| !empty)
            .flat_map(move |date| {
                let day = date.weekday().num_days_from_monday() as usize;
                self.days[day]
                    .iter()
                    .map(move |t| wall_clock(date.and_time(*t), tz))
            })
            .flatten()
            .filter(move |at| {
                let fresh = *at >= from && last.is_none_or(|l| *at > l);
                if fresh {
                    last = Some(*at);
                }
                fresh
            })
    }
}

/// The instant a wall-clock slot stands for in `tz`: the first of a repeated time, the first
/// minute after a skipped one. None only past the end of time.
fn wall_clock(local: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    // Gaps are at most a few hours; look a day ahead to be safe.
    for minutes in 0..=24 * 60 {
        let at = local.checked_add_signed(Duration::minutes(minutes))?;
        match tz.from_local_datetime(&at) {
            LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, _) => return Some(first.with_timezone(&Utc)),
            LocalResult::None => {}
        }
    }
    None
}

impl FromStr for WeeklySlots {
    type Err = SlotsError;

    /// `mon-fri 09:00,12:30; sat 10:00`. Groups are separated by `;`; a day named in two
    /// groups has the times of both. An empty text (or `none`) is no slots.
    fn from_str(spec: &str) -> Result<WeeklySlots, SlotsError> {
        let mut slots = WeeklySlots::default();
        let spec = spec.trim();
        if spec.eq_ignore_ascii_case("none") {
            return Ok(slots);
        }
        for group in spec.split(';').map(str::trim).filter(|g| !g.is_empty()) {
            let lower = group.to_lowercase();
            // "mon, wed 09:00" and "mon,wed 09:00, 17:00": days come first, then times.
            let words: Vec<&str> = lower
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|w| !w.is_empty())
                .collect();
            let mut days = [false; 7];
            let mut times = Vec::new();
            for w in words {
                if times.is_empty()
                    && let Some(ds) = parse_days(w)
                {
                    for d in ds {
                        days[d] = true;
                    }
                    continue;
                }
                match parse_time(w) {
                    Some(t) => times.push(t),
                    None if times.is_empty()
                        && !w.chars().next().is_some_and(|c| c.is_ascii_digit()) =>
                    {
                        return Err(SlotsError::Day(w.to_string()));
                    }
                    None => return Err(SlotsError::Time(w.to_string())),
                }
            }
            if times.is_empty() {
                return Err(SlotsError::NoTimes(group.to_string()));
            }
            // Times with no day named are every day's.
            let every = !days.contains(&true);
            for (d, on) in days.iter().enumerate() {
                if *on || every {
                    slots.days[d].extend(&times);
                }
            }
        }
        for d in &mut slots.days {
            d.sort();
            d.dedup();
        }
        Ok(slots)
    }
}

/// One day word or range as day indexes (Monday 0).
fn parse_days(w: &str) -> Option<Vec<usize>> {
    match w {
        "daily" | "everyday" => return Some((0..7).collect()),
        "weekdays" => return Some((0..5).collect()),
        "weekends" => return Some(vec![5, 6]),
        _ => {}
    }
    if let Some((a, b)) = w.split_once('-') {
        let (a, b) = (day_index(a)?, day_index(b)?);
        // "fri-mon" wraps round the weekend.
        let mut out = vec![a];
        let mut d = a;
        while d != b {
            d = (d + 1) % 7;
            out.push(d);
        }
        return Some(out);
    }
    day_index(w).map(|d| vec![d])
}

fn day_index(w: &str) -> Option<usize> {
    let w = w.trim_end_matches('.');
    if w.len() < 2 {
        return None;
    }
    let full = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    // "mo", "mon", "monday"; "t" alone would be two days.
    full.iter()
        .position(|f| f.starts_with(w) && (w.len() >= 3 || w == &f[..2]))
}

impl fmt::Display for WeeklySlots {
    /// The canonical spelling: days with the same times together, ranges where they run on
    /// ("mon-fri 09:00,12:30; sat 10:00"); `none` when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let mut groups: Vec<(Vec<usize>, &Vec<NaiveTime>)> = Vec::new();
        for (d, times) in self.days.iter().enumerate() {
            if times.is_empty() {
                continue;
            }
            match groups.iter_mut().find(|(_, t)| *t == times) {
                Some((days, _)) => days.push(d),
                None => groups.push((vec![d], times)),
            }
        }
        let text: Vec<String> = groups
            .iter()
            .map(|(days, times)| {
                let times: Vec<String> = times
                    .iter()
                    .map(|t| t.format("%H:%M").to_string())
                    .collect();
                format!("{} {}", day_list(days), times.join(","))
            })
            .collect();
        f.write_str(&text.join("; "))
    }
}

/// `[0,1,2,3,4,6]` → "mon-fri,sun"; all seven → "daily".
fn day_list(days: &[usize]) -> String {
    if days.len() == 7 {
        return "daily".into();
    }
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &d in days {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == d => *end = d,
            _ => runs.push((d, d)),
        }
    }
    runs.iter()
        .map(|&(a, b)| match b - a {
            0 => DAYS[a].to_string(),
            1 => format!("{},{}", DAYS[a], DAYS[b]),
            _ => format!("{}-{}", DAYS[a], DAYS[b]),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(s: &str) -> WeeklySlots {
        s.parse().unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn local(at: DateTime<Utc>, tz: Tz) -> String {
        at.with_timezone(&tz)
            .format("%a %Y-%m-%d %H:%M %Z")
            .to_string()
    }

    fn next(s: &str, from: &str, tz: Tz, n: usize) -> Vec<String> {
        slots(s)
            .from(utc(from), tz)
            .take(n)
            .map(|t| local(t, tz))
            .collect()
    }

    #[test]
    fn a_spec_reads_days_ranges_and_times_and_prints_back_canonically() {
        let s = slots("mon-fri 09:00,12:30,17:00; sat 10:00");
        assert_eq!(s.per_week(), 16);
        assert_eq!(s.to_string(), "mon-fri 09:00,12:30,17:00; sat 10:00");
        assert_eq!(
            slots("Sat 10am; mon,tue 9:00, 5:30pm").to_string(),
            "mon,tue 09:00,17:30; sat 10:00"
        );
        assert_eq!(slots("09:00").to_string(), "daily 09:00");
        assert_eq!(
            slots("weekends 11:00; weekdays 08:00").to_string(),
            "mon-fri 08:00; sat,sun 11:00"
        );
        assert_eq!(slots("fri-mon 12:00").to_string(), "mon,fri-sun 12:00");
        // The same day twice gets both groups' times, once each.
        assert_eq!(
            slots("mon 09:00; mon 09:00,10:00").to_string(),
            "mon 09:00,10:00"
        );
        // What is printed reads back as the same slots.
        for spec in [
            "mon,wed,fri 07:05; sun 23:59",
            "fri-mon 12:00",
            "daily 00:00; sat 01:00",
        ] {
            assert_eq!(slots(&slots(spec).to_string()), slots(spec), "{spec}");
        }
        assert!(slots("").is_empty());
        assert!(slots("none").is_empty());
    }

    #[test]
    fn a_bad_spec_names_the_word_it_could_not_read() {
        assert_eq!(
            "mon-fry 09:00".parse::<WeeklySlots>(),
            Err(SlotsError::Day("mon-fry".into()))
        );
        assert_eq!(
            "mon 25:00".parse::<WeeklySlots>(),
            Err(SlotsError::Time("25:00".into()))
        );
        assert_eq!(
            "mon 9".parse::<WeeklySlots>(),
            Err(SlotsError::Time("9".into()))
        );
        assert_eq!(
            "mon 09:00 tue".parse::<WeeklySlots>(),
            Err(SlotsError::Time("tue".into()))
        );
        assert_eq!(
            "mon-fri".parse::<WeeklySlots>(),
            Err(SlotsError::NoTimes("mon-fri".into()))
        );
        assert_eq!(
            "t 09:00".parse::<WeeklySlots>(),
            Err(SlotsError::Day("t".into()))
        );
    }

    #[test]
    fn slots_come_in_order_from_the_given_instant_including_it() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        // Fri 2026-11-27 12:30 CET is 11:30 UTC.
        assert_eq!(
            next(
                "mon-fri 09:00,12:30,17:00; sat 10:00",
                "2026-11-27T11:30:00Z",
                tz,
                5
            ),
            [
                "Fri 2026-11-27 12:30 CET",
                "Fri 2026-11-27 17:00 CET",
                "Sat 2026-11-28 10:00 CET",
                "Mon 2026-11-30 09:00 CET",
                "Mon 2026-11-30 12:30 CET",
            ]
        );
        assert_eq!(
            slots("none").from(utc("2026-11-27T11:30:00Z"), tz).count(),
            0
        );
    }

    #[test]
    fn spring_forward_keeps_wall_clock_times_and_moves_a_skipped_slot_to_the_first_minute_after() {
        // Berlin skips 02:00-03:00 on Sun 2027-03-28.
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            next("daily 02:30,09:00", "2027-03-27T00:00:00Z", tz, 6),
            [
                "Sat 2027-03-27 02:30 CET",
                "Sat 2027-03-27 09:00 CET",
                "Sun 2027-03-28 03:00 CEST",
                "Sun 2027-03-28 09:00 CEST",
                "Mon 2027-03-29 02:30 CEST",
                "Mon 2027-03-29 09:00 CEST",
            ]
        );
        // Two slots in the gap and one at its end are one slot, at 03:00.
        assert_eq!(
            next("sun 02:15,02:45,03:00,03:01", "2027-03-27T00:00:00Z", tz, 2),
            ["Sun 2027-03-28 03:00 CEST", "Sun 2027-03-28 03:01 CEST"]
        );
        // 09:00 stays 09:00: 08:00 UTC the day before, 07:00 UTC after.
        let s = slots("daily 09:00");
        let utc_times: Vec<String> = s
            .from(utc("2027-03-27T00:00:00Z"), tz)
            .take(2)
            .map(|t| t.format("%H:%M").to_string())
            .collect();
        assert_eq!(utc_times, ["08:00", "07:00"]);
    }

    #[test]
    fn fall_back_uses_a_repeated_slot_once_the_first_time_round() {
        // Berlin repeats 02:00-03:00 on Sun 2027-10-31 (CEST, then CET).
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let got: Vec<DateTime<Utc>> = slots("sun 02:30,09:00")
            .from(utc("2027-10-30T00:00:00Z"), tz)
            .take(3)
            .collect();
        assert_eq!(
            got.iter().map(|t| local(*t, tz)).collect::<Vec<_>>(),
            [
                "Sun 2027-10-31 02:30 CEST",
                "Sun 2027-10-31 09:00 CET",
                "Sun 2027-11-07 02:30 CET",
            ]
        );
        assert_eq!(got[0], utc("2027-10-31T00:30:00Z"));
        assert_eq!(got[1], utc("2027-10-31T08:00:00Z"));
        // From inside the repeated hour, after its first 02:30: not used a second time.
        assert_eq!(
            next("sun 02:30,09:00", "2027-10-31T01:00:00Z", tz, 1),
            ["Sun 2027-10-31 09:00 CET"]
        );
    }

    #[test]
    fn new_york_changes_on_other_days_and_at_other_hours() {
        // New York: 2027-03-14 02:00→03:00, 2027-11-07 02:00→01:00.
        let tz: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            next("sun 02:00,12:00", "2027-03-13T00:00:00Z", tz, 2),
            ["Sun 2027-03-14 03:00 EDT", "Sun 2027-03-14 12:00 EDT"]
        );
        assert_eq!(
            next("sun 01:30,12:00", "2027-11-06T00:00:00Z", tz, 2),
            ["Sun 2027-11-07 01:30 EDT", "Sun 2027-11-07 12:00 EST"]
        );
    }
}
