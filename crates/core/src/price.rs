//! What X charges (pay-per-use since 2026): pure rules on the prices in the config. Money is
//! counted in millionths of a dollar, so that sums of many posts stay exact.

use serde::{Deserialize, Serialize};

use crate::text;

/// Millionths of a US dollar.
pub type Micros = u64;

/// X's prices per request, in dollars (the `[x.pricing]` section of the config).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pricing {
    /// Creating a post.
    pub create: f64,
    /// Creating a post whose text holds a URL.
    pub create_with_url: f64,
    pub delete: f64,
    /// Setting a file's metadata (alt text).
    pub media_metadata: f64,
    /// Reading one of the account's own posts (metrics), per post.
    pub owned_read: f64,
    /// A post, thread or import that would cost more than this asks first in the TUI and
    /// needs `--yes` on the command line (see [`Pricing::worth_asking`]).
    pub ask_over: f64,
}

/// A thread of more parts than this asks first, whatever it costs.
pub const PARTS_UNASKED: usize = 25;

impl Default for Pricing {
    /// X's pay-per-use prices as of 2026-04-20.
    fn default() -> Self {
        Pricing {
            create: 0.015,
            create_with_url: 0.20,
            delete: 0.010,
            media_metadata: 0.005,
            owned_read: 0.001,
            ask_over: 1.0,
        }
    }
}

/// Dollars as millionths (negative or absurd prices count as nothing).
fn micros(usd: f64) -> Micros {
    if usd.is_finite() && usd > 0.0 {
        (usd * 1e6).round() as Micros
    } else {
        0
    }
}

impl Pricing {
    /// Every price is a plain amount of dollars (what the config loader checks).
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("create", self.create),
            ("create_with_url", self.create_with_url),
            ("delete", self.delete),
            ("media_metadata", self.media_metadata),
            ("owned_read", self.owned_read),
            ("ask_over", self.ask_over),
        ] {
            if !v.is_finite() || !(0.0..1000.0).contains(&v) {
                return Err(format!(
                    "[x.pricing] {name} = {v} is not a price in dollars (like 0.015)"
                ));
            }
        }
        Ok(())
    }

    /// One part: a URL anywhere in it makes it a URL post.
    pub fn part(&self, text: &str) -> Micros {
        if text::has_url(text) {
            micros(self.create_with_url)
        } else {
            micros(self.create)
        }
    }

    /// A post or a thread: the sum of its parts.
    pub fn post<S: AsRef<str>>(&self, parts: &[S]) -> Micros {
        parts.iter().map(|p| self.part(p.as_ref())).sum()
    }

    /// Why sending `parts` parts (in all) for `cost` must be confirmed first, in words that
    /// name the count and the price; None when it may go without asking. More than
    /// [`PARTS_UNASKED`] parts, or more than `ask_over` dollars.
    pub fn worth_asking(&self, parts: usize, cost: Micros) -> Option<String> {
        let big = parts > PARTS_UNASKED;
        let dear = cost > micros(self.ask_over);
        let what = if parts == 1 {
            "1 post".to_string()
        } else {
            format!("{parts} parts")
        };
        let why = match (big, dear) {
            (false, false) => return None,
            (true, false) => format!("more than {PARTS_UNASKED} parts"),
            _ => format!(
                "more than the {} of [x.pricing] ask_over",
                usd(micros(self.ask_over))
            ),
        };
        Some(format!(
            "{what} costing {} at X's prices ({why})",
            usd(cost)
        ))
    }

    /// `ask_over` in millionths.
    pub fn ask_over_micros(&self) -> Micros {
        micros(self.ask_over)
    }

    pub fn deletes(&self, n: u64) -> Micros {
        micros(self.delete).saturating_mul(n)
    }

    pub fn metadata(&self, n: u64) -> Micros {
        micros(self.media_metadata).saturating_mul(n)
    }

    pub fn reads(&self, n: u64) -> Micros {
        micros(self.owned_read).saturating_mul(n)
    }
}

/// How many of the parts hold a URL (for saying why a post costs what it does).
pub fn url_parts<S: AsRef<str>>(parts: &[S]) -> usize {
    parts.iter().filter(|p| text::has_url(p.as_ref())).count()
}

/// As dollars for people: cents always, and as many more digits as the amount needs
/// ("$0.20", "$0.015", "$1.2345").
pub fn usd(m: Micros) -> String {
    let dollars = m / 1_000_000;
    let mut frac = format!("{:06}", m % 1_000_000);
    while frac.len() > 2 && frac.ends_with('0') {
        frac.pop();
    }
    format!("${dollars}.{frac}")
}

/// As a number of dollars for JSON (exact to the millionth).
pub fn as_dollars(m: Micros) -> f64 {
    m as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_thread_or_a_dear_post_is_worth_asking_about_and_the_words_say_why() {
        let p = Pricing::default();
        assert_eq!(p.worth_asking(25, 25 * 15_000), None);
        assert_eq!(p.worth_asking(1, 1_000_000), None, "exactly the limit goes");
        assert_eq!(
            p.worth_asking(3572, 3572 * 15_000).as_deref(),
            Some(
                "3572 parts costing $53.58 at X's prices (more than the $1.00 of [x.pricing] ask_over)"
            )
        );
        assert_eq!(
            p.worth_asking(26, 26 * 15_000).as_deref(),
            Some("26 parts costing $0.39 at X's prices (more than 25 parts)")
        );
        let cheap = Pricing {
            ask_over: 0.10,
            ..p
        };
        assert_eq!(
            cheap.worth_asking(1, 200_000).as_deref(),
            Some(
                "1 post costing $0.20 at X's prices (more than the $0.10 of [x.pricing] ask_over)"
            )
        );
    }

    #[test]
    fn a_plain_post_and_a_post_with_a_link() {
        let p = Pricing::default();
        assert_eq!(usd(p.part("hello world")), "$0.015");
        assert_eq!(usd(p.part("read https://example.com/a today")), "$0.20");
        // X counts a link without a protocol as a link: so does its price.
        assert_eq!(usd(p.part("see example.com")), "$0.20");
        assert_eq!(usd(p.part("version 1.2 is out")), "$0.015");
    }

    #[test]
    fn a_thread_costs_the_sum_of_its_parts() {
        let p = Pricing::default();
        let parts = ["one", "two https://x.com/a", "three"];
        assert_eq!(p.post(&parts), 15_000 + 200_000 + 15_000);
        assert_eq!(usd(p.post(&parts)), "$0.23");
        assert_eq!(url_parts(&parts), 1);
        let empty: [&str; 0] = [];
        assert_eq!(p.post(&empty), 0);
    }

    #[test]
    fn prices_come_from_the_config() {
        let p = Pricing {
            create: 0.01,
            create_with_url: 0.5,
            ..Pricing::default()
        };
        assert_eq!(usd(p.post(&["a", "b.com"])), "$0.51");
        assert_eq!(usd(p.reads(250)), "$0.25");
        assert_eq!(usd(p.deletes(3)), "$0.03");
        assert_eq!(usd(p.metadata(1)), "$0.005");
        assert!(Pricing { create: -1.0, ..p }.check().is_err());
        assert!(Pricing::default().check().is_ok());
    }

    #[test]
    fn dollars_read_as_people_write_them() {
        assert_eq!(usd(0), "$0.00");
        assert_eq!(usd(1_500_000), "$1.50");
        assert_eq!(usd(1_234_500), "$1.2345");
        assert_eq!(usd(1), "$0.000001");
        assert!((as_dollars(215_000) - 0.215).abs() < 1e-12);
    }
}
