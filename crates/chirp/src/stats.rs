//! How an account's posts did and what its use of X cost: gathered once, shown by
//! `chirp stats` and the TUI's stats screen alike.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use chirp_core::AccountId;
use chirp_core::price::{self, Micros, Pricing, usd};
use chirp_store::analytics::{self, Day, PostStats, Usage};
use chirp_store::{Db, StoreError, accounts};

/// How many best posts are shown.
pub const BEST: usize = 5;

/// One account's numbers over a period, and its spend this month.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountStats {
    pub account: AccountId,
    pub handle: String,
    pub since: DateTime<Utc>,
    /// Day by day, oldest first, every day of the period present.
    pub days: Vec<Day>,
    pub posts: i64,
    pub impressions: i64,
    pub engagements: i64,
    /// Posts with no numbers read yet.
    pub unread: i64,
    pub best: Vec<PostStats>,
    pub spend: Spend,
}

/// What an account's use of X cost since the start of the month.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Spend {
    pub month_start: DateTime<Utc>,
    /// Parts sent (each thread part is a post to X), and how many held a link.
    pub posts: u64,
    pub url_posts: u64,
    pub posts_usd: Micros,
    pub reads: u64,
    pub reads_usd: Micros,
    pub deletes: u64,
    pub deletes_usd: Micros,
    pub metadata: u64,
    pub metadata_usd: Micros,
    pub total_usd: Micros,
}

impl Spend {
    fn of(u: &Usage, pricing: &Pricing, month_start: DateTime<Utc>) -> Spend {
        let posts_usd = pricing.post(&u.parts);
        let reads_usd = pricing.reads(u.reads);
        let deletes_usd = pricing.deletes(u.deletes);
        let metadata_usd = pricing.metadata(u.metadata);
        Spend {
            month_start,
            posts: u.parts.len() as u64,
            url_posts: price::url_parts(&u.parts) as u64,
            posts_usd,
            reads: u.reads,
            reads_usd,
            deletes: u.deletes,
            deletes_usd,
            metadata: u.metadata,
            metadata_usd,
            total_usd: posts_usd + reads_usd + deletes_usd + metadata_usd,
        }
    }
}

impl Spend {
    /// "2 post(s) sent $0.215 (1 with a link) · 2 metric read(s) $0.002 · 1 delete(s) $0.01":
    /// what the money went on, in the words `sent` and `reads` name posts and reads with.
    pub fn breakdown(&self, sent: &str, reads: &str) -> String {
        let mut s = format!("{} {sent} {}", self.posts, usd(self.posts_usd));
        if self.url_posts > 0 {
            s.push_str(&format!(" ({} with a link)", self.url_posts));
        }
        s.push_str(&format!(
            " · {} {reads} {}",
            self.reads,
            usd(self.reads_usd)
        ));
        if self.deletes > 0 {
            s.push_str(&format!(
                " · {} delete(s) {}",
                self.deletes,
                usd(self.deletes_usd)
            ));
        }
        if self.metadata > 0 {
            s.push_str(&format!(
                " · {} alt text(s) {}",
                self.metadata,
                usd(self.metadata_usd)
            ));
        }
        s
    }
}

/// The first moment of this month in `tz`.
pub fn month_start(now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let local = now.with_timezone(&tz).date_naive();
    let first = NaiveDate::from_ymd_opt(local.year(), local.month(), 1).unwrap_or(local);
    // Midnight may not exist (a DST jump at midnight): the earliest moment of the day that does.
    (0..3)
        .find_map(|h| {
            tz.from_local_datetime(&first.and_hms_opt(h, 0, 0)?)
                .earliest()
        })
        .map_or(now, |t| t.with_timezone(&Utc))
}

/// Every connected account's stats (or one's) for the `days` days ending today in `tz`.
pub async fn gather(
    db: &Db,
    account: Option<AccountId>,
    days: u32,
    tz: Tz,
    pricing: &Pricing,
) -> Result<Vec<AccountStats>, StoreError> {
    let c = db.client().await?;
    let now = Utc::now();
    let today = now.with_timezone(&tz).date_naive();
    let first_day = today - chrono::Days::new(u64::from(days.saturating_sub(1)));
    let since = first_day
        .and_hms_opt(0, 0, 0)
        .and_then(|t| tz.from_local_datetime(&t).earliest())
        .map_or(now - chrono::Duration::days(i64::from(days)), |t| {
            t.with_timezone(&Utc)
        });
    let month = month_start(now, tz);
    let usage = analytics::usage(&c, month).await?;
    let posted = analytics::posted(&c, account, since).await?;
    let mut out = Vec::new();
    for a in accounts::list(&c).await? {
        if account.is_some_and(|id| id != a.id) {
            continue;
        }
        let mine: Vec<PostStats> = posted
            .iter()
            .filter(|p| p.account == a.id)
            .cloned()
            .collect();
        let day_list = analytics::daily(&mine, tz, today, days);
        let best = analytics::best(&mine, BEST).into_iter().cloned().collect();
        out.push(AccountStats {
            account: a.id,
            handle: a.username.clone().unwrap_or_default(),
            since,
            posts: mine.len() as i64,
            impressions: day_list.iter().map(|d| d.impressions).sum(),
            engagements: day_list.iter().map(|d| d.engagements).sum(),
            unread: mine.iter().filter(|p| p.metrics.is_none()).count() as i64,
            days: day_list,
            best,
            spend: Spend::of(
                &usage.get(&a.id).cloned().unwrap_or_default(),
                pricing,
                month,
            ),
        });
    }
    Ok(out)
}

/// Values as a row of block characters, the highest a full block (all zero: the lowest).
pub fn sparkline(values: &[i64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    values
        .iter()
        .map(|v| {
            let i = (v.max(&0) * 7 + max / 2) / max;
            BARS[usize::try_from(i).unwrap_or(0).min(7)]
        })
        .collect()
}

/// A count for people: 999, 1.2k, 34k, 1.5M.
pub fn compact(n: i64) -> String {
    let a = n.unsigned_abs();
    let sign = if n < 0 { "-" } else { "" };
    match a {
        0..1_000 => format!("{n}"),
        1_000..10_000 => format!("{sign}{:.1}k", a as f64 / 1e3),
        10_000..1_000_000 => format!("{sign}{}k", a / 1_000),
        1_000_000..10_000_000 => format!("{sign}{:.1}M", a as f64 / 1e6),
        _ => format!("{sign}{}M", a / 1_000_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_the_highest_value() {
        assert_eq!(sparkline(&[0, 1, 2, 4, 8]), "▁▂▃▅█");
        assert_eq!(sparkline(&[0, 0, 0]), "▁▁▁");
        assert_eq!(sparkline(&[]), "");
    }

    #[test]
    fn counts_read_at_a_glance() {
        assert_eq!(compact(999), "999");
        assert_eq!(compact(1234), "1.2k");
        assert_eq!(compact(34_567), "34k");
        assert_eq!(compact(1_500_000), "1.5M");
    }

    #[test]
    fn the_month_starts_at_midnight_in_the_users_zone() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let now: DateTime<Utc> = "2026-12-01T03:00:00Z".parse().unwrap();
        // Still November 30 in New York.
        assert_eq!(
            month_start(now, tz),
            "2026-11-01T04:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn spend_prices_each_part_and_each_read() {
        let u = Usage {
            parts: vec!["plain".into(), "with https://example.com/a".into()],
            deletes: 1,
            metadata: 2,
            reads: 300,
        };
        let s = Spend::of(&u, &Pricing::default(), DateTime::<Utc>::MIN_UTC);
        assert_eq!((s.posts, s.url_posts), (2, 1));
        assert_eq!(price::usd(s.posts_usd), "$0.215");
        assert_eq!(price::usd(s.reads_usd), "$0.30");
        assert_eq!(price::usd(s.total_usd), "$0.535");
    }
}
