//! Client API keys: kept only as SHA-256 digests and checked in constant time.
//!
//! Comparing digests instead of the keys makes every comparison the same length, and `subtle`
//! compares without an early exit; every configured key is compared each time, so the time
//! taken does not depend on which key (if any) matched. Each key has a name (`name:secret`
//! entries, else `key1`, `key2`, … by position) so metrics and logs can say which key was
//! used without ever showing it.

use std::net::SocketAddr;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

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

/// The configured client API keys and their names. `Debug` shows how many there are, never
/// a key.
#[derive(Clone, Default)]
pub struct ApiKeys {
    digests: Vec<[u8; 32]>,
    names: Vec<Arc<str>>,
}

fn digest(key: &[u8]) -> [u8; 32] {
    Sha256::digest(key).into()
}

/// The name of the key at `index` (0-based) when its entry gave none.
pub fn positional_name(index: usize) -> String {
    format!("key{}", index + 1)
}

impl ApiKeys {
    /// Unnamed keys, named `key1`, `key2`, … by position.
    pub fn new<S: AsRef<str>>(keys: &[S]) -> ApiKeys {
        let named: Vec<(String, &str)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (positional_name(i), k.as_ref()))
            .collect();
        ApiKeys::named(&named)
    }

    /// Keys with their names (`(name, secret)`).
    pub fn named<N: AsRef<str>, S: AsRef<str>>(keys: &[(N, S)]) -> ApiKeys {
        ApiKeys {
            digests: keys
                .iter()
                .map(|(_, k)| digest(k.as_ref().as_bytes()))
                .collect(),
            names: keys.iter().map(|(n, _)| Arc::from(n.as_ref())).collect(),
        }
    }

    /// No keys configured: authentication is off.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// The keys' names, in the order they were configured.
    pub fn names(&self) -> &[Arc<str>] {
        &self.names
    }

    /// Whether `candidate` is one of the keys, in time independent of which one.
    pub fn accepts(&self, candidate: &[u8]) -> bool {
        self.matched(candidate).is_some()
    }

    /// The index of the key `candidate` is, in time independent of which one: every key is
    /// compared and the index is picked without a branch.
    pub fn matched(&self, candidate: &[u8]) -> Option<usize> {
        let probe = digest(candidate);
        let mut found = Choice::from(0);
        let mut index = 0u32;
        for (i, d) in self.digests.iter().enumerate() {
            let eq = d.ct_eq(&probe);
            index = u32::conditional_select(&index, &(i as u32), eq);
            found |= eq;
        }
        bool::from(found).then_some(index as usize)
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

    #[test]
    fn reports_which_key_matched_by_name() {
        let keys = ApiKeys::named(&[("ci", "s3cret-one"), ("alice", "s3cret-two")]);
        assert_eq!(keys.matched(b"s3cret-two"), Some(1));
        assert_eq!(keys.matched(b"s3cret-one"), Some(0));
        assert_eq!(keys.matched(b"s3cret-three"), None);
        assert_eq!(&*keys.names()[1], "alice");
        let plain = ApiKeys::new(&["a", "b", "c"]);
        assert_eq!(plain.matched(b"c"), Some(2));
        let names: Vec<&str> = plain.names().iter().map(|n| &**n).collect();
        assert_eq!(names, ["key1", "key2", "key3"]);
    }
}
