//! How posts did: the numbers a network reports for one post, and when chirp asks for them.
//! Reads cost money on pay-per-use X, so each post is read a few times only: soon after it
//! went out, a day later, a week later (and whenever the user asks).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A post's numbers at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metrics {
    pub impressions: i64,
    pub likes: i64,
    pub reposts: i64,
    pub replies: i64,
    pub quotes: i64,
    pub bookmarks: i64,
    /// Private numbers, which only the author sees and only while the post is recent.
    pub url_clicks: Option<i64>,
    pub profile_clicks: Option<i64>,
    /// Everything private as the network sent it (X: `non_public_metrics`, `organic_metrics`).
    pub private: Option<serde_json::Value>,
}

impl Metrics {
    /// What people did with the post: likes, reposts, replies, quotes and bookmarks, plus
    /// link and profile clicks when the network told.
    pub fn engagements(&self) -> i64 {
        self.likes
            + self.reposts
            + self.replies
            + self.quotes
            + self.bookmarks
            + self.url_clicks.unwrap_or(0)
            + self.profile_clicks.unwrap_or(0)
    }
}

/// When a post's metrics are read, counted from when it went out.
pub const READ_AFTER: [Duration; 3] = [Duration::hours(1), Duration::hours(24), Duration::days(7)];

/// The first read of a post that just went out.
pub fn first_read(posted_at: DateTime<Utc>) -> DateTime<Utc> {
    posted_at + READ_AFTER[0]
}

/// After a read at `now`: the next one, the first scheduled moment still ahead (a read that
/// came late, after a long stop, is not followed by the ones it stood for); None when the
/// schedule is over.
pub fn next_read(posted_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    READ_AFTER.iter().map(|d| posted_at + *d).find(|t| *t > now)
}

/// X shows private metrics for posts of the last 30 days only; a margin keeps a post that
/// turns 30 days old while the request travels from failing the whole batch.
pub fn private_readable(posted_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - posted_at < Duration::days(30) - Duration::hours(1)
}

/// The most ids one metrics request carries (X: 100).
pub const BATCH: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + h * 3600, 0).unwrap()
    }

    #[test]
    fn reads_one_hour_one_day_and_one_week_after_posting() {
        let posted = t(0);
        assert_eq!(first_read(posted), t(1));
        assert_eq!(next_read(posted, t(1)), Some(t(24)));
        assert_eq!(next_read(posted, t(24)), Some(t(24 * 7)));
        assert_eq!(next_read(posted, t(24 * 7)), None);
    }

    #[test]
    fn a_late_read_skips_the_reads_it_stood_for() {
        // The collector was stopped for three days: one read, then the week's.
        assert_eq!(next_read(t(0), t(72)), Some(t(168)));
        assert_eq!(next_read(t(0), t(500)), None);
    }

    #[test]
    fn private_numbers_for_thirty_days_less_a_margin() {
        assert!(private_readable(t(0), t(24 * 29)));
        assert!(!private_readable(t(0), t(24 * 30 - 1)));
        assert!(!private_readable(t(0), t(24 * 31)));
    }

    #[test]
    fn engagements_count_clicks_only_when_known() {
        let mut m = Metrics {
            impressions: 100,
            likes: 3,
            reposts: 1,
            replies: 2,
            quotes: 0,
            bookmarks: 1,
            ..Metrics::default()
        };
        assert_eq!(m.engagements(), 7);
        m.url_clicks = Some(4);
        assert_eq!(m.engagements(), 11);
    }
}
