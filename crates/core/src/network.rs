//! The networks chirp publishes to, and the forms their handles take.

use serde::Serialize;

/// A network an account lives on (`x_accounts.network`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    X,
    Mastodon,
    Bluesky,
}

impl Network {
    pub const ALL: [Network; 3] = [Network::X, Network::Mastodon, Network::Bluesky];

    /// The name the database and the command line use.
    pub fn as_str(self) -> &'static str {
        match self {
            Network::X => "x",
            Network::Mastodon => "mastodon",
            Network::Bluesky => "bluesky",
        }
    }

    /// The name people read.
    pub fn title(self) -> &'static str {
        match self {
            Network::X => "X",
            Network::Mastodon => "Mastodon",
            Network::Bluesky => "Bluesky",
        }
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.title())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown network {0:?}: chirp knows x, mastodon and bluesky")]
pub struct UnknownNetwork(pub String);

impl std::str::FromStr for Network {
    type Err = UnknownNetwork;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Network::ALL
            .into_iter()
            .find(|n| n.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownNetwork(s.to_string()))
    }
}

/// The stored forms a handle someone typed may stand for, lowercased: `name` and `@name` are
/// X's `@name`; `@name@instance` is Mastodon's; `name.bsky.social` (or `@name.bsky.social`) is
/// Bluesky's. Handles are compared without case on every network.
pub fn handle_forms(typed: &str) -> Vec<String> {
    let t = typed.trim().to_lowercase();
    let bare = t.trim_start_matches('@');
    let mut forms = vec![t.clone(), format!("@{bare}"), bare.to_string()];
    forms.sort();
    forms.dedup();
    forms
}

/// An X handle in its stored form (`@name`) from X's username (`name`).
pub fn x_handle(username: &str) -> String {
    if username.is_empty() {
        String::new()
    } else {
        format!("@{}", username.trim_start_matches('@'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for n in Network::ALL {
            assert_eq!(n.as_str().parse::<Network>(), Ok(n));
        }
        assert_eq!("Mastodon".parse::<Network>(), Ok(Network::Mastodon));
        assert!("threads".parse::<Network>().is_err());
    }

    #[test]
    fn a_typed_handle_stands_for_the_stored_forms() {
        assert!(handle_forms("Me").contains(&"@me".to_string()));
        assert!(handle_forms("@me").contains(&"@me".to_string()));
        assert!(handle_forms("@Me@Mastodon.Social").contains(&"@me@mastodon.social".to_string()));
        assert!(handle_forms("@me.bsky.social").contains(&"me.bsky.social".to_string()));
        assert_eq!(x_handle("me"), "@me");
        assert_eq!(x_handle(""), "");
    }
}
