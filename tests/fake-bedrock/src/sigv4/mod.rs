//! Independent AWS Signature Version 4 implementation used by the fake Bedrock
//! server to verify what the proxy sends (and by tests to sign requests).
//!
//! It deliberately does not use the `aws-sigv4` crate, so a bug shared by the
//! proxy's signer and this verifier is unlikely. It follows the non-S3 rules:
//! the canonical URI is the raw request path URI-encoded a second time per
//! segment, query parameters are decoded, re-encoded and sorted, and header
//! values are trimmed with inner runs of spaces collapsed.

mod canonical;
mod date;
#[cfg(test)]
mod vectors;

pub use canonical::{
    canonical_query, canonical_request, canonical_uri, normalize_header_value, percent_decode,
    scope, sha256_hex, signature, signing_key, string_to_sign, uri_encode,
};
pub use date::{amz_date, parse_amz_date};

use std::fmt;
use std::time::{Duration, SystemTime};

/// The only service name the fake accepts in a credential scope.
pub const SERVICE: &str = "bedrock";
/// Maximum tolerated clock skew between `x-amz-date` and the verifier's clock.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// SHA-256 of the empty string.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Credentials the fake server knows about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeCreds {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

impl FakeCreds {
    pub fn new(access_key: &str, secret_key: &str, session_token: Option<&str>) -> Self {
        FakeCreds {
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            session_token: session_token.map(str::to_string),
        }
    }
}

impl Default for FakeCreds {
    fn default() -> Self {
        FakeCreds::new("AKIDFAKEEXAMPLE", "fake/secret+key", None)
    }
}

/// What a successfully verified signature said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigInfo {
    pub access_key: String,
    pub region: String,
    pub service: String,
    /// The `YYYYMMDD` date of the credential scope.
    pub date: String,
    pub signed_headers: Vec<String>,
}

/// Why a request was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigError {
    /// No `Authorization` header at all.
    Missing,
    /// The `Authorization` header is malformed or lacks required parts.
    Incomplete(String),
    /// The access key id is not the one the fake knows.
    UnknownAccessKey(String),
    /// Session token missing, unsigned or different from the expected one.
    BadSessionToken(String),
    /// Credential scope is wrong (service, date) or `x-amz-date` is bad.
    WrongScope(String),
    /// `x-amz-date` is more than 15 minutes away from now.
    Expired(String),
    /// The signature does not match the one computed here.
    Mismatch {
        canonical_request: String,
        string_to_sign: String,
        expected: String,
        provided: String,
    },
}

impl SigError {
    /// The AWS error type (`x-amzn-ErrorType` prefix).
    pub fn aws_error_type(&self) -> &'static str {
        match self {
            SigError::Missing => "MissingAuthenticationTokenException",
            SigError::Incomplete(_) => "IncompleteSignatureException",
            SigError::UnknownAccessKey(_) | SigError::BadSessionToken(_) => {
                "UnrecognizedClientException"
            }
            SigError::WrongScope(_) | SigError::Expired(_) | SigError::Mismatch { .. } => {
                "InvalidSignatureException"
            }
        }
    }

    /// The message AWS would put in the error body.
    pub fn message(&self) -> String {
        match self {
            SigError::Missing => "Missing Authentication Token".to_string(),
            SigError::Incomplete(m) | SigError::WrongScope(m) | SigError::Expired(m) => m.clone(),
            SigError::UnknownAccessKey(_) | SigError::BadSessionToken(_) => {
                "The security token included in the request is invalid.".to_string()
            }
            SigError::Mismatch { .. } => "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".to_string(),
        }
    }

    /// HTTP status AWS uses for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            SigError::Incomplete(_) => 400,
            _ => 403,
        }
    }
}

impl fmt::Display for SigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.aws_error_type(), self.message())?;
        match self {
            SigError::UnknownAccessKey(d) | SigError::BadSessionToken(d) => write!(f, " ({d})"),
            SigError::Mismatch {
                canonical_request,
                string_to_sign,
                expected,
                provided,
            } => write!(
                f,
                " (expected {expected}, provided {provided})\n--- canonical request ---\n{canonical_request}\n--- string to sign ---\n{string_to_sign}"
            ),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for SigError {}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

struct ParsedAuth {
    access_key: String,
    date: String,
    region: String,
    service: String,
    signed_headers: Vec<String>,
    signature: String,
}

fn parse_authorization(auth: &str) -> Result<ParsedAuth, SigError> {
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ").ok_or_else(|| {
        SigError::Incomplete(format!(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={auth}"
        ))
    })?;
    let mut credential = None;
    let mut signed = None;
    let mut sig = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some((k, v)) = part.split_once('=') {
            match k {
                "Credential" => credential = Some(v.to_string()),
                "SignedHeaders" => signed = Some(v.to_string()),
                "Signature" => sig = Some(v.to_string()),
                _ => {}
            }
        }
    }
    let missing = |what: &str| {
        SigError::Incomplete(format!(
            "Authorization header requires '{what}' parameter. Authorization={auth}"
        ))
    };
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = sig.ok_or_else(|| missing("Signature"))?;
    let parts: Vec<&str> = credential.split('/').collect();
    if parts.len() != 5 || parts[4] != "aws4_request" || parts.iter().any(|p| p.is_empty()) {
        return Err(SigError::Incomplete(format!(
            "Credential should be scoped to a valid region. Credential={credential}"
        )));
    }
    Ok(ParsedAuth {
        access_key: parts[0].to_string(),
        date: parts[1].to_string(),
        region: parts[2].to_string(),
        service: parts[3].to_string(),
        signed_headers: signed.split(';').map(str::to_string).collect(),
        signature,
    })
}

/// Verify a request's SigV4 `Authorization` header.
pub fn verify(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &[(String, String)],
    body: &[u8],
    creds: &FakeCreds,
    now: SystemTime,
) -> Result<SigInfo, SigError> {
    let auth = header(headers, "authorization").ok_or(SigError::Missing)?;
    let p = parse_authorization(auth)?;
    check_scope(&p, creds)?;
    let amz = check_date(headers, &p, auth, now)?;
    check_session_token(headers, &p, creds)?;
    let payload_hash = payload_hash(headers, body)?;
    let creq = canonical_request(
        method,
        raw_path,
        raw_query,
        headers,
        &p.signed_headers,
        &payload_hash,
    );
    let sts = string_to_sign(amz.trim(), &scope(&p.date, &p.region, &p.service), &creq);
    let expected = signature(&creds.secret_key, &p.date, &p.region, &p.service, &sts);
    if expected != p.signature {
        return Err(SigError::Mismatch {
            canonical_request: creq,
            string_to_sign: sts,
            expected,
            provided: p.signature,
        });
    }
    Ok(SigInfo {
        access_key: p.access_key,
        region: p.region,
        service: p.service,
        date: p.date,
        signed_headers: p.signed_headers,
    })
}

/// The access key, the service and the headers that must be signed.
fn check_scope(p: &ParsedAuth, creds: &FakeCreds) -> Result<(), SigError> {
    if p.access_key != creds.access_key {
        return Err(SigError::UnknownAccessKey(format!(
            "unknown access key id {:?}",
            p.access_key
        )));
    }
    if p.service != SERVICE {
        return Err(SigError::WrongScope(format!(
            "Credential should be scoped to correct service: '{SERVICE}'. "
        )));
    }
    for required in ["host", "x-amz-date"] {
        if !p.signed_headers.iter().any(|h| h == required) {
            return Err(SigError::Incomplete(format!(
                "'{required}' must be a 'SignedHeader' in the AWS Authorization."
            )));
        }
    }
    Ok(())
}

/// `x-amz-date`: present, parseable, matching the scope's date, within the skew of `now`.
fn check_date<'a>(
    headers: &'a [(String, String)],
    p: &ParsedAuth,
    auth: &str,
    now: SystemTime,
) -> Result<&'a str, SigError> {
    let amz = header(headers, "x-amz-date").unwrap_or("");
    let when = parse_amz_date(amz.trim()).ok_or_else(|| {
        SigError::Incomplete(format!(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={auth}"
        ))
    })?;
    if !amz.starts_with(&p.date) {
        return Err(SigError::WrongScope(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz}'.",
            p.date,
            amz.get(..8).unwrap_or(amz)
        )));
    }
    if now > when + MAX_SKEW {
        return Err(SigError::Expired(format!(
            "Signature expired: {amz} is now earlier than {} ({} - 15 min.)",
            amz_date(now - MAX_SKEW),
            amz_date(now)
        )));
    }
    if when > now + MAX_SKEW {
        return Err(SigError::Expired(format!(
            "Signature not yet current: {amz} is still later than {} ({} + 15 min.)",
            amz_date(now + MAX_SKEW),
            amz_date(now)
        )));
    }
    Ok(amz)
}

/// The session token: sent, signed and equal to the expected one iff the creds have one.
fn check_session_token(
    headers: &[(String, String)],
    p: &ParsedAuth,
    creds: &FakeCreds,
) -> Result<(), SigError> {
    let token = header(headers, "x-amz-security-token");
    match (&creds.session_token, token) {
        (Some(expected), Some(got)) => {
            if got != expected {
                return Err(SigError::BadSessionToken(
                    "x-amz-security-token differs from the expected session token".into(),
                ));
            }
            if !p.signed_headers.iter().any(|h| h == "x-amz-security-token") {
                return Err(SigError::BadSessionToken(
                    "x-amz-security-token is not a signed header".into(),
                ));
            }
        }
        (Some(_), None) => {
            return Err(SigError::BadSessionToken(
                "x-amz-security-token header missing".into(),
            ))
        }
        (None, Some(_)) => {
            return Err(SigError::BadSessionToken(
                "x-amz-security-token sent but these credentials have no session token".into(),
            ))
        }
        (None, None) => {}
    }
    Ok(())
}

/// The payload hash to sign with: `x-amz-content-sha256` (which must describe the body when
/// it is a hex digest) or the body's SHA-256.
fn payload_hash(headers: &[(String, String)], body: &[u8]) -> Result<String, SigError> {
    let body_hash = sha256_hex(body);
    let payload_hash = match header(headers, "x-amz-content-sha256") {
        Some(h) => {
            let h = h.trim();
            if h.len() == 64 && h.bytes().all(|c| c.is_ascii_hexdigit()) && h != body_hash {
                // The declared body hash does not describe the body we received.
                let creq = format!("x-amz-content-sha256 {h} != sha256(body) {body_hash}");
                return Err(SigError::Mismatch {
                    canonical_request: creq,
                    string_to_sign: String::new(),
                    expected: body_hash,
                    provided: h.to_string(),
                });
            }
            h.to_string()
        }
        None => body_hash,
    };
    Ok(payload_hash)
}

/// Sign a request the way an AWS SDK would (for tests): adds `x-amz-date`,
/// `x-amz-content-sha256`, `x-amz-security-token` (when the creds have one)
/// and `authorization` to `headers`. `headers` must already contain `host`.
/// Every header present (except `authorization`, `user-agent`,
/// `content-length` and `transfer-encoding`) is signed.
#[allow(clippy::too_many_arguments)]
pub fn sign_request(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &mut Vec<(String, String)>,
    body: &[u8],
    creds: &FakeCreds,
    region: &str,
    service: &str,
    now: SystemTime,
) {
    let amz = amz_date(now);
    let date = amz[..8].to_string();
    headers.retain(|(n, _)| {
        !["authorization", "x-amz-date", "x-amz-security-token"]
            .iter()
            .any(|x| n.eq_ignore_ascii_case(x))
    });
    headers.push(("x-amz-date".into(), amz.clone()));
    let payload_hash = sha256_hex(body);
    if header(headers, "x-amz-content-sha256").is_none() {
        headers.push(("x-amz-content-sha256".into(), payload_hash.clone()));
    }
    if let Some(t) = &creds.session_token {
        headers.push(("x-amz-security-token".into(), t.clone()));
    }
    let mut signed: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .filter(|n| !["user-agent", "content-length", "transfer-encoding"].contains(&n.as_str()))
        .collect();
    signed.sort();
    signed.dedup();
    let payload = header(headers, "x-amz-content-sha256")
        .unwrap_or(&payload_hash)
        .to_string();
    let creq = canonical_request(method, raw_path, raw_query, headers, &signed, &payload);
    let sts = string_to_sign(&amz, &scope(&date, region, service), &creq);
    let sig = signature(&creds.secret_key, &date, region, service, &sts);
    headers.push((
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={sig}",
            creds.access_key,
            scope(&date, region, service),
            signed.join(";")
        ),
    ));
}
