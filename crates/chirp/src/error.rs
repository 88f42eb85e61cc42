//! How a failure ends a command. Every error type below the binary says its own kind
//! ([`chirp_core::HasKind`], variant by variant, where the error is defined); here the kind of
//! a failure is read off the first error in its chain that has one, and decides the exit code.

use chirp_core::{HasKind, Kind};

/// A bad argument or value the user gave; its message says what to change.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl HasKind for UsageError {
    fn kind(&self) -> Kind {
        Kind::BadInput
    }
}

impl HasKind for crate::config::ConfigError {
    fn kind(&self) -> Kind {
        Kind::BadInput
    }
}

/// The kind of a failure: that of the first error in its chain that knows it (the outermost
/// one says best what went wrong); errors chirp did not classify come from the world around
/// it (files, the OS, a network).
pub(crate) fn kind_of(e: &anyhow::Error) -> Kind {
    e.chain().find_map(kind_of_one).unwrap_or(Kind::Network)
}

/// The kind of one error, if its type is one of chirp's (or the OS's, or JSON's): each type
/// answers for all its variants, so nothing here changes when a crate adds an error.
fn kind_of_one(e: &(dyn std::error::Error + 'static)) -> Option<Kind> {
    macro_rules! first {
        ($($t:ty),* $(,)?) => {
            None$(.or_else(|| e.downcast_ref::<$t>().map(HasKind::kind)))*
        };
    }
    first!(
        UsageError,
        crate::config::ConfigError,
        chirp_store::StoreError,
        chirp_store::DbError,
        chirp_store::Refusal,
        chirp_store::cluster::ClusterError,
        chirp_credentials::AuthError,
        chirp_publisher::unpublish::UnpublishError,
        chirp_net::x::connect::ConnectError,
        chirp_net::x::oauth::OAuthError,
        chirp_net::TokenError,
        chirp_net::secret::SecretError,
        chirp_net::Unavailable,
        chirp_core::TextError,
        chirp_core::PartError,
        chirp_core::template::TemplateError,
        chirp_core::slots::SlotsError,
        chirp_core::WhenError,
        chirp_core::MediaError,
        chirp_core::TransitionError,
        chirp_core::status::Unsettled,
        chirp_core::network::UnknownNetwork,
        std::io::Error,
        serde_json::Error,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outermost_error_that_knows_its_kind_decides() {
        let typed = anyhow::Error::new(chirp_core::TextError::Empty);
        assert_eq!(kind_of(&typed).exit_code(), 2);
        // The store's refusals are the person's, its faults the database's.
        let gone = anyhow::Error::new(chirp_store::StoreError::from(
            chirp_store::Refusal::NotFound(9),
        ));
        assert_eq!(kind_of(&gone), Kind::NotFound);
        assert_eq!(kind_of(&gone).exit_code(), 2);
        let down = anyhow::Error::new(chirp_store::StoreError::from(chirp_store::DbError::Pool(
            "refused".into(),
        )));
        assert_eq!(kind_of(&down), Kind::Database);
        assert_eq!(kind_of(&down).exit_code(), 1);
        // Wrapped with words of its own, the error inside still says what it is.
        let wrapped = anyhow::Error::new(UsageError("bad".into())).context("reading the file");
        assert_eq!(kind_of(&wrapped), Kind::BadInput);
        assert_eq!(kind_of(&anyhow::anyhow!("something else")), Kind::Network);
    }
}
