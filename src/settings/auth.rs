//! Client API keys: kept only as SHA-256 digests and checked in constant time.
//!
//! Comparing digests instead of the keys makes every comparison the same length, and `subtle`
//! compares without an early exit; every configured key is compared each time, so the time
//! taken does not depend on which key (if any) matched.

use std::net::SocketAddr;

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// Checked `[auth]` plus the keys from the environment or the key file. `Debug` shows how
/// many keys there are, never a key.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub keys: ApiKeys,
    pub allow_unauthenticated: bool,
    pub open_paths: Vec<String>,
}

impl AuthConfig {
    /// Whether `path` is served without a key: one of `open_paths` or below one.
    pub fn is_open(&self, path: &str) -> bool {
        self.open_paths.iter().any(|open| {
            path == open
                || (path.starts_with(open.as_str())
                    && (open.ends_with('/') || path[open.len()..].starts_with('/')))
        })
    }

    /// Refuse to serve a non-loopback address without keys unless explicitly allowed.
    pub fn check_exposure(&self, addr: &SocketAddr) -> Result<(), String> {
        if addr.ip().is_loopback() || !self.keys.is_empty() || self.allow_unauthenticated {
            return Ok(());
        }
        Err(format!(
            "refusing to listen on {} without client API keys: anyone who can reach it could use your AWS credentials. Set PROXY_API_KEYS (comma-separated keys) or PROXY_API_KEYS_FILE (one key per line), listen on 127.0.0.1, or set auth.allow_unauthenticated = true",
            addr.ip()
        ))
    }
}

/// The configured client API keys. `Debug` shows how many there are, never a key.
#[derive(Clone, Default)]
pub struct ApiKeys {
    digests: Vec<[u8; 32]>,
}

fn digest(key: &[u8]) -> [u8; 32] {
    Sha256::digest(key).into()
}

impl ApiKeys {
    pub fn new<S: AsRef<str>>(keys: &[S]) -> ApiKeys {
        ApiKeys {
            digests: keys.iter().map(|k| digest(k.as_ref().as_bytes())).collect(),
        }
    }

    /// No keys configured: authentication is off.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// Whether `candidate` is one of the keys, in time independent of which one.
    pub fn accepts(&self, candidate: &[u8]) -> bool {
        let probe = digest(candidate);
        let mut found = Choice::from(0);
        for d in &self.digests {
            found |= d.ct_eq(&probe);
        }
        found.into()
    }
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} keys, redacted)", self.digests.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_configured_keys_and_never_prints_them() {
        let keys = ApiKeys::new(&["alpha-key", "beta-key"]);
        assert!(keys.accepts(b"alpha-key"));
        assert!(keys.accepts(b"beta-key"));
        assert!(!keys.accepts(b"alpha-ke"));
        assert!(!keys.accepts(b""));
        assert!(!ApiKeys::default().accepts(b""));
        let shown = format!("{keys:?}");
        assert_eq!(shown, "ApiKeys(2 keys, redacted)");
    }
}
