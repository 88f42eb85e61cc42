//! What kind of failure an error is. Each error type of chirp says its own kind, variant by
//! variant, where the error is defined; the kind decides the exit code and how a screen shows
//! it, so no caller keeps a list of which errors are the user's.

/// The kinds of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// What the person gave is wrong (an argument, a config value, a text a network would
    /// refuse, a file that is not what it says): the words say what to change.
    BadInput,
    /// What the person named is not there (a post id, a handle, a template).
    NotFound,
    /// The state of things refuses it (a posted post cannot be edited, an account needs
    /// reconnecting): the words say what to do first.
    Conflict,
    /// The world beyond chirp failed or refused (a network, the OS, a file system).
    Network,
    /// The database failed (down, refusing, a query that broke).
    Database,
    /// chirp found what it should have made impossible.
    Bug,
}

impl Kind {
    /// The exit code a command ends with: 2 for what the person typed (bad input, or a name
    /// that names nothing), 1 for the rest.
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::BadInput | Kind::NotFound => 2,
            Kind::Conflict | Kind::Network | Kind::Database | Kind::Bug => 1,
        }
    }

    /// Whether the person can put it right by changing what they gave.
    pub fn is_theirs(self) -> bool {
        matches!(self, Kind::BadInput | Kind::NotFound)
    }
}

/// An error that knows its kind.
pub trait HasKind {
    fn kind(&self) -> Kind;
}

macro_rules! all_bad_input {
    ($($t:ty),*) => {
        $(impl HasKind for $t {
            fn kind(&self) -> Kind {
                Kind::BadInput
            }
        })*
    };
}

all_bad_input!(
    crate::TextError,
    crate::PartError,
    crate::template::TemplateError,
    crate::slots::SlotsError,
    crate::when::WhenError,
    crate::media::MediaError,
    crate::network::UnknownNetwork
);

impl HasKind for crate::status::TransitionError {
    fn kind(&self) -> Kind {
        Kind::Conflict
    }
}

impl HasKind for crate::status::Unsettled {
    fn kind(&self) -> Kind {
        Kind::Conflict
    }
}

impl HasKind for crate::SendError {
    fn kind(&self) -> Kind {
        Kind::Network
    }
}

/// A file or directory the person named that is not there is theirs to fix; anything else
/// the OS says is the world's.
impl HasKind for std::io::Error {
    fn kind(&self) -> Kind {
        use std::io::ErrorKind as E;
        match std::io::Error::kind(self) {
            E::NotFound => Kind::NotFound,
            E::InvalidInput | E::InvalidData | E::PermissionDenied | E::AlreadyExists => {
                Kind::BadInput
            }
            _ => Kind::Network,
        }
    }
}

/// JSON chirp reads is the person's file (an import, a config); JSON it writes cannot fail.
impl HasKind for serde_json::Error {
    fn kind(&self) -> Kind {
        Kind::BadInput
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_person_typed_exits_2_the_world_1() {
        assert_eq!(crate::TextError::Empty.kind().exit_code(), 2);
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        assert_eq!(HasKind::kind(&io), Kind::NotFound);
        let cut = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(HasKind::kind(&cut).exit_code(), 1);
        let t = crate::status::transition(crate::Status::Posted, crate::Action::Edit).unwrap_err();
        assert_eq!(t.kind(), Kind::Conflict);
        assert!(!t.kind().is_theirs());
    }
}
