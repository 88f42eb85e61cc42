//! chirp's pure rules: no IO here (no tokio, no SQL, no HTTP). The store, the networks, the
//! publisher, the CLI and the TUI all call into these so that a rule is written once.

pub mod error;
pub mod media;
pub mod metrics;
pub mod network;
pub mod policy;
pub mod post;
pub mod price;
pub mod send;
pub mod slots;
pub mod status;
pub mod template;
pub mod text;
pub mod when;

pub use error::{HasKind, Kind};
pub use media::{MediaError, MediaKind};
pub use metrics::Metrics;
pub use network::Network;
pub use policy::{Next, RetryPolicy};
pub use post::{AccountId, Post, PostId, PostPart};
pub use price::Pricing;
pub use send::{Quota, SendError};
pub use status::{Action, Status, TransitionError};
pub use text::{PartError, TextCount, TextError, TextRule, rule_for};
pub use when::{WhenError, parse_when};

/// Generated inputs for the "no input makes it panic" tests: random sequences of pieces a
/// parser treats specially, from a fixed seed (so a failure can be replayed).
#[cfg(test)]
pub(crate) mod generated {
    /// `count` inputs of 1..=`max_pieces` of `pieces`, each followed by a space when
    /// `space(r)` says so for a fresh random `r`.
    pub(crate) fn inputs(
        mut seed: u64,
        count: usize,
        max_pieces: u64,
        pieces: &'static [&'static str],
        space: fn(u64) -> bool,
    ) -> impl Iterator<Item = String> {
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        (0..count).map(move |_| {
            let n = (next() % max_pieces) as usize + 1;
            let mut input = String::new();
            for _ in 0..n {
                input.push_str(pieces[(next() % pieces.len() as u64) as usize]);
                if space(next()) {
                    input.push(' ');
                }
            }
            input
        })
    }
}
