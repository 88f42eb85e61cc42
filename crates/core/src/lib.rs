//! chirp's pure rules: no IO here (no tokio, no SQL, no HTTP). The store, the networks, the
//! publisher, the CLI and the TUI all call into these so that a rule is written once.

pub mod policy;
pub mod post;
pub mod send;
pub mod status;
pub mod text;
pub mod when;

pub use policy::{Next, RetryPolicy};
pub use post::{AccountId, Post, PostId, PostPart};
pub use send::{Quota, SendError};
pub use status::{Action, Status, TransitionError};
pub use text::{PartError, TextCount, TextError, TextRule};
pub use when::{WhenError, parse_when};
