//! Client API keys: the keys a request presents. The configured keys ([`ApiKeys`], SHA-256
//! digests checked in constant time) are in `settings`; they come from `PROXY_API_KEYS` or a
//! key file (see `config`), and this module never sees where.

use crate::aws::client_credential;

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
