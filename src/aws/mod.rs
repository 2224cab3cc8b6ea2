//! AWS naming rules, as plain functions of strings: region names, Bedrock ARNs, cross-region
//! inference geographies and the credential of a client's SigV4 `Authorization` header; and
//! Bedrock's token `Usage`, the one plain type every surface's counts come in.
//!
//! The bottom of the crate: nothing here imports another module of it.

mod geography;
mod usage;

pub use geography::{foundation_model_id, Geography};
pub use usage::Usage;

/// `xx-name-N`, e.g. `eu-central-1`, `us-gov-west-1`.
pub fn valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// The region of a Bedrock ARN (`arn:aws:bedrock:REGION:…`).
pub fn arn_region(id: &str) -> Option<&str> {
    let mut parts = id.split(':');
    (parts.next()? == "arn").then_some(())?;
    let region = parts.nth(2)?;
    valid_region(region).then_some(region)
}

/// The credential of a client's SigV4 `Authorization` header
/// (`AWS4-HMAC-SHA256 Credential=AKID/20261125/eu-central-1/bedrock/aws4_request, …`) split
/// into its parts: `(access key id, region)`. The signature is not checked.
pub fn client_credential(authorization: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = authorization.strip_prefix(b"AWS4-HMAC-SHA256")?;
    let credential = rest
        .split(|b| *b == b',')
        .map(<[u8]>::trim_ascii)
        .find_map(|part| part.strip_prefix(b"Credential="))?;
    let mut parts = credential.split(|b| *b == b'/');
    let access_key = parts.next()?;
    let region = parts.nth(1)?;
    Some((access_key, region))
}
