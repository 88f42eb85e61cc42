//! Pure rules of chirp: no IO here. The database, the publisher, the CLI and the TUI all call
//! into these functions so that a rule is written once.

pub mod post;
pub mod status;
pub mod text;
pub mod when;

pub use post::{Post, PostId};
pub use status::{Action, Status, TransitionError};
pub use text::{TextCount, TextError};
pub use when::{WhenError, parse_when};
