//! chirp's networks: one HTTP client for everything, OAuth 2.0, token encryption, the
//! [`Network`](network::Network) trait the publisher drives, and X's adapter. A Mastodon or
//! Bluesky adapter is another module beside `x`, not a change to the publisher.

mod http;
pub mod network;
pub mod registry;
pub mod secret;
pub mod tokens;
pub mod x;

pub use http::{DEFAULT_TIMEOUT, init_tls};
pub use network::{
    Capabilities, Chunks, Lookup, MediaKind, MetricsRead, Network, Part, RemoteAccount, Sent,
    Upload, Uploaded,
};
pub use registry::{Networks, NetworksConfig, Unavailable};
pub use secret::{Cipher, Secret};
pub use tokens::{TokenError, TokenSource, Tokens};
