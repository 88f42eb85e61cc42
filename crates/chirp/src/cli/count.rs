//! `chirp count`: text counted by the rule of the account's network, with X's price on X.

use std::process::ExitCode;

use anyhow::Result;
use chirp_core::price::{self, Pricing};
use chirp_core::text;

use super::read_text;

pub(super) fn count(
    rule: &dyn chirp_core::TextRule,
    arg: Option<String>,
    json: bool,
    pricing: &Pricing,
) -> Result<ExitCode> {
    let text = match arg {
        Some(t) => read_text(&t)?,
        None => read_text("-")?,
    };
    // Refused before counting: no post is this long, and counting it would only take time.
    let chars = text.chars().count();
    if chars > text::MAX_CHARS {
        return Err(text::TextError::WayTooLong {
            network: rule.network(),
            chars,
            max: text::MAX_CHARS,
        }
        .into());
    }
    // Prices are X's: other networks charge nothing per post.
    let pricing = (rule.network() == chirp_core::Network::X).then_some(pricing);
    let parts = text::split_thread(&text);
    if parts.len() > 1 {
        return count_parts(rule, &parts, json, pricing);
    }
    let c = rule.count(&text);
    let valid = rule.validate(&text).is_ok();
    let price = pricing.map(|p| p.part(&text));
    let link = text::has_url(&text);
    if json {
        outln!(
            "{}",
            serde_json::json!({"weighted_length": c.weighted, "limit": rule.limit(), "valid": valid,
                "network": rule.network(),
                "price_usd": price.map(price::as_dollars), "has_url": link})
        );
    } else {
        let cost = price.map_or_else(String::new, |p| {
            format!("  {}{}", price::usd(p), link_note(link))
        });
        outln!("{}/{}{cost}", c.weighted, rule.limit());
    }
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Why a post costs more, when it does.
fn link_note(link: bool) -> &'static str {
    if link {
        " (a link makes it a URL post)"
    } else {
        ""
    }
}

/// `chirp count` of a thread: each part on a line (`2/3 41/280  $0.015`), then the thread's
/// price; exit 1 if X would refuse any part.
fn count_parts(
    rule: &dyn chirp_core::TextRule,
    parts: &[String],
    json: bool,
    pricing: Option<&Pricing>,
) -> Result<ExitCode> {
    let n = parts.len();
    let counted: Vec<(i32, bool, bool)> = parts
        .iter()
        .map(|p| {
            let ok = rule.validate(p).is_ok();
            (rule.count(p).weighted, ok, text::has_url(p))
        })
        .collect();
    let total = pricing.map(|pr| pr.post(parts));
    if json {
        let v: Vec<_> = counted
            .iter()
            .zip(parts)
            .map(|((w, ok, link), p)| {
                serde_json::json!({"weighted_length": w, "limit": rule.limit(), "valid": ok,
                    "network": rule.network(),
                    "price_usd": pricing.map(|pr| price::as_dollars(pr.part(p))), "has_url": link})
            })
            .collect();
        outln!(
            "{}",
            serde_json::json!({ "parts": v, "price_usd": total.map(price::as_dollars) })
        );
    } else {
        for (i, ((w, ok, link), p)) in counted.iter().zip(parts).enumerate() {
            let mark = if *ok { "" } else { "  refused" };
            let cost = pricing.map_or_else(String::new, |pr| {
                format!("  {}{}", price::usd(pr.part(p)), link_note(*link))
            });
            outln!("{}/{n} {w}/{}{cost}{mark}", i + 1, rule.limit());
        }
        match total {
            Some(t) => outln!("thread of {n}: {}", price::usd(t)),
            None => outln!("thread of {n}"),
        }
    }
    Ok(if counted.iter().all(|(_, ok, _)| *ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
