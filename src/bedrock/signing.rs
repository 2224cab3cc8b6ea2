//! SigV4 signing of one outgoing request with `aws-sigv4`.
//!
//! The URL passed in is exactly the one sent: its path already has the model id
//! percent-encoded (`%3A`), and `aws-sigv4` encodes it once more for the canonical URI
//! (`%253A`), as every AWS service but S3 expects. Signed headers: `host`, `x-amz-date`,
//! `content-type`, `accept`, Bedrock's `x-amzn-bedrock-*` headers and, with temporary
//! credentials, `x-amz-security-token`. Nothing hop-by-hop is signed.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::ProxyError;

/// Signing name of both Bedrock hosts (runtime and control plane).
pub const SIGNING_NAME: &str = "bedrock";

/// The `host` header value reqwest will send for `url`.
pub fn host_header(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

/// Add the SigV4 headers (`authorization`, `x-amz-date`, maybe `x-amz-security-token`) to
/// `headers`, which must already hold every other header that is to be signed.
pub fn sign_request(
    method: &str,
    url: &reqwest::Url,
    headers: &mut HeaderMap,
    body: &[u8],
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<(), ProxyError> {
    let host = host_header(url)
        .ok_or_else(|| ProxyError::Internal(format!("endpoint URL has no host: {url}")))?;
    let identity: Identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SIGNING_NAME)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| ProxyError::Internal(format!("signing parameters: {e}")))?
        .into();
    let mut signed: Vec<(&str, &str)> = vec![("host", host.as_str())];
    for (name, value) in headers.iter() {
        if let Ok(v) = value.to_str() {
            signed.push((name.as_str(), v));
        }
    }
    let request = SignableRequest::new(
        method,
        url.as_str(),
        signed.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| ProxyError::Internal(format!("request cannot be signed: {e}")))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| ProxyError::Internal(format!("signing failed: {e}")))?
        .into_parts();
    let (new_headers, _params) = instructions.into_parts();
    for h in new_headers {
        let name = HeaderName::from_static(h.name());
        let mut value = HeaderValue::from_str(h.value())
            .map_err(|e| ProxyError::Internal(format!("signature header: {e}")))?;
        value.set_sensitive(h.sensitive());
        headers.insert(name, value);
    }
    Ok(())
}
