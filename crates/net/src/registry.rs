//! The one registry of networks: built once from the config, it hands out the adapter and the
//! token endpoint for a network. Nothing else in chirp constructs a network client, so a new
//! network is one more entry here (its module beside `x`, and its fake), not a change to the
//! publisher, the CLI or the TUI.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chirp_core::Network as Kind;

use crate::network::Network;
use crate::tokens::{TokenError, TokenSource};
use crate::x::oauth::{OAuth, OAuthError};
use crate::x::{XClient, XConfig, XNetwork};

/// What the registry is built from: each network's section of the config, and the longest
/// one request may take.
#[derive(Clone)]
pub struct NetworksConfig {
    pub x: XConfig,
    pub timeout: Duration,
}

/// A network chirp has no adapter for (yet, or in this build).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chirp cannot publish to {0} yet: its account's posts wait until it can")]
pub struct Unavailable(pub Kind);

struct Entry {
    network: Arc<dyn Network>,
    tokens: Result<Arc<dyn TokenSource>, TokenError>,
}

/// Every network chirp can reach, by kind. Cheap to clone.
#[derive(Clone, Default)]
pub struct Networks {
    entries: Arc<HashMap<Kind, Entry>>,
    x_oauth: Option<Result<OAuth, OAuthError>>,
    x_client: Option<XClient>,
}

impl std::fmt::Debug for Networks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kinds: Vec<&str> = self.entries.keys().map(|k| k.as_str()).collect();
        kinds.sort_unstable();
        // The clients hold no secret, but their Debug says nothing a reader needs.
        f.debug_struct("Networks")
            .field("kinds", &kinds)
            .finish_non_exhaustive()
    }
}

impl Networks {
    /// The one place network clients are built.
    pub fn from_config(cfg: &NetworksConfig) -> Networks {
        let oauth = OAuth::new(&cfg.x, cfg.timeout);
        let tokens = oauth
            .clone()
            .map(|o| Arc::new(o) as Arc<dyn TokenSource>)
            .map_err(TokenError::from);
        let x = Entry {
            network: Arc::new(XNetwork::new(&cfg.x.api_base_url, cfg.timeout)),
            tokens,
        };
        Networks {
            entries: Arc::new(HashMap::from([(Kind::X, x)])),
            x_oauth: Some(oauth),
            x_client: Some(XClient::new(&cfg.x.api_base_url, cfg.timeout)),
        }
    }

    /// A registry of exactly these (tests and benchmarks: a double, or one network).
    pub fn of(
        entries: impl IntoIterator<
            Item = (
                Kind,
                Arc<dyn Network>,
                Result<Arc<dyn TokenSource>, TokenError>,
            ),
        >,
    ) -> Networks {
        Networks {
            entries: Arc::new(
                entries
                    .into_iter()
                    .map(|(k, network, tokens)| (k, Entry { network, tokens }))
                    .collect(),
            ),
            x_oauth: None,
            x_client: None,
        }
    }

    /// The networks there is an adapter for.
    pub fn kinds(&self) -> Vec<Kind> {
        let mut k: Vec<Kind> = self.entries.keys().copied().collect();
        k.sort_by_key(|k| k.as_str());
        k
    }

    /// The adapter for `kind`.
    pub fn get(&self, kind: Kind) -> Result<Arc<dyn Network>, Unavailable> {
        self.entries
            .get(&kind)
            .map(|e| e.network.clone())
            .ok_or(Unavailable(kind))
    }

    /// The token endpoint for `kind`, or why tokens cannot be refreshed there.
    pub fn tokens(&self, kind: Kind) -> Result<Arc<dyn TokenSource>, TokenError> {
        match self.entries.get(&kind) {
            Some(e) => e.tokens.clone(),
            None => Err(TokenError::NotConfigured(Unavailable(kind).to_string())),
        }
    }

    /// X's API client, for connecting an account (who the new tokens belong to); None in a
    /// registry made by [`Networks::of`].
    pub fn x_client(&self) -> Option<&XClient> {
        self.x_client.as_ref()
    }

    /// X's OAuth client, for connecting an account (the browser flow is X's own).
    pub fn x_oauth(&self) -> Result<OAuth, OAuthError> {
        self.x_oauth.clone().unwrap_or(Err(OAuthError::NoClientId))
    }
}

impl chirp_core::HasKind for Unavailable {
    fn kind(&self) -> chirp_core::Kind {
        chirp_core::Kind::Conflict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(client_id: Option<&str>) -> NetworksConfig {
        NetworksConfig {
            x: XConfig {
                client_id: client_id.map(Into::into),
                ..XConfig::default()
            },
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn x_is_there_and_the_others_say_they_are_not_yet() {
        let n = Networks::from_config(&cfg(Some("abc")));
        assert_eq!(n.get(Kind::X).map(|x| x.name()).ok(), Some("X"));
        let e = n.get(Kind::Mastodon).err();
        assert_eq!(e, Some(Unavailable(Kind::Mastodon)));
        assert!(n.tokens(Kind::X).is_ok());
        assert!(matches!(
            n.tokens(Kind::Bluesky),
            Err(TokenError::NotConfigured(_))
        ));
    }

    #[test]
    fn without_a_client_id_x_still_publishes_but_cannot_refresh_and_says_what_to_set() {
        let n = Networks::from_config(&cfg(None));
        assert!(n.get(Kind::X).is_ok());
        let Err(TokenError::NotConfigured(words)) = n.tokens(Kind::X) else {
            panic!("a token source without a client id");
        };
        assert!(words.contains("x.client_id"), "{words}");
        assert_eq!(n.x_oauth().err(), Some(OAuthError::NoClientId));
    }
}
