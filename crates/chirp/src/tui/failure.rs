//! A failure as the TUI shows it. Answers carry the error's kind beside its words, so a screen
//! says a database fault as the database's (the text typed is kept, and chirp reconnects), a
//! refusal as the person's (what to change, with the key that does it), and a bug as chirp's,
//! instead of one red line for everything.

use std::fmt;

use chirp_core::{HasKind, Kind};
use chirp_store::{Refusal, StoreError};
use ratatui::style::Color;

/// What went wrong, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: Kind,
    /// What went wrong, in the error's own words.
    pub text: String,
}

impl Failure {
    pub fn new(kind: Kind, text: impl Into<String>) -> Self {
        Failure {
            kind,
            text: text.into(),
        }
    }

    /// Any error that knows its kind.
    pub fn of<E: HasKind + fmt::Display + ?Sized>(e: &E) -> Self {
        Failure::new(e.kind(), e.to_string())
    }

    /// The same failure with words in front ("cannot unpublish post 3: …").
    pub fn context(self, before: impl fmt::Display) -> Self {
        Failure {
            text: format!("{before}: {}", self.text),
            ..self
        }
    }
}

/// The colour a failure of `kind` is shown in: red for what the person can put right, yellow
/// for the world or the database failing (it passes), magenta for chirp's own fault.
pub fn color_of(kind: Kind) -> Color {
    match kind {
        Kind::BadInput | Kind::NotFound | Kind::Conflict => Color::Red,
        Kind::Network | Kind::Database => Color::Yellow,
        Kind::Bug => Color::Magenta,
    }
}

/// The words shown: the error's, and around them what its kind means here.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::BadInput | Kind::NotFound | Kind::Conflict | Kind::Network => {
                f.write_str(&self.text)
            }
            // The database's words name it already ("database unavailable: …").
            Kind::Database => write!(
                f,
                "{} (nothing typed is lost: try again once db ok)",
                self.text
            ),
            Kind::Bug => write!(f, "chirp bug: {} (see chirp.log)", self.text),
        }
    }
}

/// A store error as the TUI says it: a refusal with the key that helps, where there is one.
impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        let kind = e.kind();
        let text = match e.refusal() {
            Some(Refusal::UnknownAccount { handle, known }) if known.is_empty() => {
                format!("no connected account @{handle}: press C to connect one")
            }
            Some(Refusal::NoQueue(h)) => {
                format!("@{h} has no queue slots: set them with `chirp queue set @{h} …`")
            }
            _ => e.to_string(),
        };
        Failure { kind, text }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chirp_store::DbError;

    #[test]
    fn a_database_fault_says_the_text_is_kept_and_a_refusal_says_what_to_do() {
        let down = Failure::from(StoreError::from(DbError::Pool("timed out".into())));
        assert_eq!(down.kind, Kind::Database);
        assert_eq!(color_of(down.kind), Color::Yellow);
        let said = down.to_string();
        assert!(
            said.starts_with("database unavailable: timed out"),
            "{said}"
        );
        assert!(said.contains("nothing typed is lost"), "{said}");

        let nobody = Failure::from(StoreError::Refused(Refusal::UnknownAccount {
            handle: "me".into(),
            known: vec![],
        }));
        assert_eq!(nobody.kind, Kind::NotFound);
        assert_eq!(color_of(nobody.kind), Color::Red);
        assert_eq!(
            nobody.to_string(),
            "no connected account @me: press C to connect one"
        );
    }

    #[test]
    fn a_bug_is_said_as_chirps_and_context_keeps_the_kind() {
        let bug = Failure::new(Kind::Bug, "saving the new post panicked").context("post 3");
        assert_eq!(bug.kind, Kind::Bug);
        assert_eq!(color_of(bug.kind), Color::Magenta);
        assert_eq!(
            bug.to_string(),
            "chirp bug: post 3: saving the new post panicked (see chirp.log)"
        );
    }
}
