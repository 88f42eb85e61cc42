//! Secrets: a string type that never shows itself in `Debug` or `Display`, and the cipher that
//! keeps OAuth tokens encrypted at rest (XChaCha20-Poly1305 with a random nonce per value).
//!
//! The key is 32 random bytes in `$XDG_CONFIG_HOME/chirp/secret.key` (mode 0600, created on
//! first use), or base64 in `CHIRP_SECRET_KEY`. Each stored value is `v1:` + base64(nonce ‖
//! ciphertext), bound by the AEAD's associated data to the column it belongs in, so a value
//! copied into another column does not decrypt.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// A secret string. Its `Debug` is `Secret(<redacted>)`; reading it takes [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "cannot decrypt tokens: reconnect the account (chirp account connect) or restore the key that encrypted them"
    )]
    Decrypt,
    #[error("secret key: {0}")]
    Key(String),
}

/// The cipher for tokens at rest.
#[derive(Clone)]
pub struct Cipher {
    aead: XChaCha20Poly1305,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(<key redacted>)")
    }
}

/// Which column a value belongs to (the associated data).
#[derive(Debug, Clone, Copy)]
pub enum Column {
    AccessToken,
    RefreshToken,
}

impl Column {
    fn aad(self) -> &'static [u8] {
        match self {
            Column::AccessToken => b"chirp x_accounts.access_token v1",
            Column::RefreshToken => b"chirp x_accounts.refresh_token v1",
        }
    }
}

impl Cipher {
    pub fn from_key(key: &[u8; 32]) -> Cipher {
        Cipher {
            aead: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// The key from `CHIRP_SECRET_KEY`, else the key file; None when neither exists.
    pub fn load_existing() -> Result<Option<Cipher>, SecretError> {
        if let Ok(v) = std::env::var("CHIRP_SECRET_KEY")
            && !v.trim().is_empty()
        {
            return Self::from_base64(v.trim())
                .map(Some)
                .map_err(|e| SecretError::Key(format!("CHIRP_SECRET_KEY: {e}")));
        }
        let path = default_key_path()
            .ok_or_else(|| SecretError::Key("no config directory (set HOME)".into()))?;
        match std::fs::read_to_string(&path) {
            Ok(s) => Self::from_base64(s.trim())
                .map(Some)
                .map_err(|e| SecretError::Key(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SecretError::Key(format!("{}: {e}", path.display()))),
        }
    }

    /// The key from `CHIRP_SECRET_KEY`, else the key file (created when absent). Only for
    /// when no stored token needs an older key: see `chirp_credentials::key`.
    pub fn load_default() -> Result<Cipher, SecretError> {
        if let Ok(v) = std::env::var("CHIRP_SECRET_KEY")
            && !v.trim().is_empty()
        {
            return Self::from_base64(v.trim())
                .map_err(|e| SecretError::Key(format!("CHIRP_SECRET_KEY: {e}")));
        }
        let path = default_key_path()
            .ok_or_else(|| SecretError::Key("no config directory (set HOME)".into()))?;
        Self::load_or_create(&path)
    }

    fn from_base64(s: &str) -> Result<Cipher, String> {
        let bytes = B64
            .decode(s)
            .map_err(|_| "not base64 (make one with `head -c32 /dev/urandom | base64`)")?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "must be 32 bytes, base64-encoded")?;
        Ok(Cipher::from_key(&key))
    }

    /// Reads the key file, or creates it with a new random key and mode 0600.
    pub fn load_or_create(path: &Path) -> Result<Cipher, SecretError> {
        let err = |e: String| SecretError::Key(format!("{}: {e}", path.display()));
        match std::fs::read_to_string(path) {
            Ok(s) => Self::from_base64(s.trim()).map_err(err),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
                }
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|e| err(e.to_string()))?;
                // create_new: two processes racing both end up reading the winner's key.
                match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                {
                    Ok(mut f) => {
                        f.write_all(format!("{}\n", B64.encode(key)).as_bytes())
                            .and_then(|()| f.sync_all())
                            .map_err(|e| err(e.to_string()))?;
                        Ok(Cipher::from_key(&key))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load_or_create(path)
                    }
                    Err(e) => Err(err(e.to_string())),
                }
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Encrypts a secret for `column`. Fails only if the OS cannot give random bytes for the
    /// nonce, which is reported rather than worked around.
    pub fn encrypt(&self, column: Column, plain: &Secret) -> Result<String, SecretError> {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce)
            .map_err(|e| SecretError::Key(format!("no random bytes from the OS: {e}")))?;
        let ct = self
            .aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain.expose().as_bytes(),
                    aad: column.aad(),
                },
            )
            // Only a message longer than the cipher allows (about 256 GiB) can fail.
            .map_err(|_| SecretError::Key("the value is too long to encrypt".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(format!("v1:{}", B64.encode(out)))
    }

    pub fn decrypt(&self, column: Column, stored: &str) -> Result<Secret, SecretError> {
        let bytes = stored
            .strip_prefix("v1:")
            .and_then(|b| B64.decode(b).ok())
            .filter(|b| b.len() > 24)
            .ok_or(SecretError::Decrypt)?;
        let (nonce, ct) = bytes.split_at(24);
        let plain = self
            .aead
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: column.aad(),
                },
            )
            .map_err(|_| SecretError::Decrypt)?;
        String::from_utf8(plain)
            .map(Secret)
            .map_err(|_| SecretError::Decrypt)
    }
}

pub fn default_key_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("chirp").join("secret.key"))
}

/// A key that does not open the tokens, or cannot be read: the person's to restore.
impl chirp_core::HasKind for SecretError {
    fn kind(&self) -> chirp_core::Kind {
        chirp_core::Kind::Conflict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trip_and_refusals() {
        let c = Cipher::from_key(&[7; 32]);
        let s = Secret::new("token-abc");
        let stored = c.encrypt(Column::AccessToken, &s).unwrap();
        assert!(!stored.contains("token-abc"));
        assert_ne!(
            stored,
            c.encrypt(Column::AccessToken, &s).unwrap(),
            "fresh nonce each time"
        );
        assert_eq!(c.decrypt(Column::AccessToken, &stored).unwrap(), s);
        // Another column, another key, or tampering: refused, never a panic.
        assert_eq!(
            c.decrypt(Column::RefreshToken, &stored),
            Err(SecretError::Decrypt)
        );
        let other = Cipher::from_key(&[8; 32]);
        assert_eq!(
            other.decrypt(Column::AccessToken, &stored),
            Err(SecretError::Decrypt)
        );
        assert_eq!(
            c.decrypt(Column::AccessToken, "plain"),
            Err(SecretError::Decrypt)
        );
        assert!(
            SecretError::Decrypt
                .to_string()
                .starts_with("cannot decrypt tokens: reconnect")
        );
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chirp/secret.key");
        let a = Cipher::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let b = Cipher::load_or_create(&path).unwrap();
        let stored = a.encrypt(Column::RefreshToken, &Secret::new("r")).unwrap();
        assert_eq!(
            b.decrypt(Column::RefreshToken, &stored).unwrap().expose(),
            "r"
        );
    }
}
