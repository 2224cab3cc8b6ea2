//! Client API keys: kept only as SHA-256 digests and checked in constant time.
//!
//! The keys come from `PROXY_API_KEYS` or a key file (see `config`); this module never sees
//! where. Comparing digests instead of the keys makes every comparison the same length, and
//! `subtle` compares without an early exit; every configured key is compared each time, so the
//! time taken does not depend on which key (if any) matched.

use crate::bedrock::signing::client_credential;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

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

/// The keys a request presents: `x-api-key: KEY`, `Authorization: Bearer KEY`, and the access
/// key id of a SigV4 `Authorization` header (any may be the right one).
pub fn presented_keys(headers: &http::HeaderMap) -> Vec<&[u8]> {
    let mut keys = Vec::new();
    for v in headers.get_all("x-api-key") {
        keys.push(v.as_bytes().trim_ascii());
    }
    for v in headers.get_all(http::header::AUTHORIZATION) {
        let v = v.as_bytes();
        let (scheme, rest) = v.split_at(v.len().min(7));
        if scheme.eq_ignore_ascii_case(b"bearer ") {
            keys.push(rest.trim_ascii());
        }
    }
    // SigV4 clients that cannot send a bearer token (the AWS CLI) may use the key as their
    // access key id: `Authorization: AWS4-HMAC-SHA256 Credential=KEY/…`. The signature is not
    // checked (the proxy does not know the secret), so this is as strong as a bearer token.
    for v in headers.get_all(http::header::AUTHORIZATION) {
        if let Some((access_key, _region)) = client_credential(v.as_bytes()) {
            keys.push(access_key);
        }
    }
    keys.retain(|k| !k.is_empty());
    keys
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
    fn key_from_either_header() {
        let mut h = http::HeaderMap::new();
        assert!(presented_keys(&h).is_empty());
        h.insert("authorization", "bearer  k1 ".parse().unwrap());
        assert_eq!(presented_keys(&h), vec![&b"k1"[..]]);
        h.insert("authorization", "Basic k1".parse().unwrap());
        assert!(presented_keys(&h).is_empty());
        h.insert("x-api-key", "k2".parse().unwrap());
        h.insert("authorization", "Bearer k3".parse().unwrap());
        assert_eq!(presented_keys(&h), vec![&b"k2"[..], &b"k3"[..]]);
    }
}
