//! Independent AWS Signature Version 4 implementation used by the fake Bedrock
//! server to verify what the proxy sends (and by tests to sign requests).
//!
//! It deliberately does not use the `aws-sigv4` crate, so a bug shared by the
//! proxy's signer and this verifier is unlikely. It follows the non-S3 rules:
//! the canonical URI is the raw request path URI-encoded a second time per
//! segment, query parameters are decoded, re-encoded and sorted, and header
//! values are trimmed with inner runs of spaces collapsed.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

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

/// Hex-encoded SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC-SHA256 accepts any key length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// AWS `UriEncode`: every byte except unreserved ones becomes `%XX`
/// (upper-case hex). `/` is kept when `keep_slash`.
pub fn uri_encode(input: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(input.len());
    for &b in input {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decode `%XX` escapes (only those; `+` stays a literal plus).
pub fn percent_decode(input: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(input).collect()
}

/// Canonical URI for non-S3 services: the raw path, each segment URI-encoded
/// again (so `%3A` becomes `%253A`). An empty path is `/`.
pub fn canonical_uri(raw_path: &str) -> String {
    if raw_path.is_empty() {
        return "/".to_string();
    }
    raw_path
        .split('/')
        .map(|seg| uri_encode(seg.as_bytes(), false))
        .collect::<Vec<_>>()
        .join("/")
}

/// Canonical query string: parameters decoded, re-encoded with `UriEncode`,
/// sorted by encoded key then encoded value; `k` without `=` becomes `k=`.
pub fn canonical_query(raw_query: &str) -> String {
    let mut params: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k), false),
                uri_encode(&percent_decode(v), false),
            )
        })
        .collect();
    params.sort();
    params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Trim a header value and collapse inner runs of spaces to one space.
pub fn normalize_header_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut prev_space = false;
    for c in value.trim_matches(' ').chars() {
        if c == ' ' {
            if !prev_space {
                out.push(' ');
            }
            prev_space = true;
        } else {
            out.push(c);
            prev_space = false;
        }
    }
    out
}

/// Build the canonical request. `headers` are all request headers (any name
/// case, in order); only those named in `signed_headers` (lower-case) are
/// used, multiple values of one name are joined with `,`.
pub fn canonical_request(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &[(String, String)],
    signed_headers: &[String],
    payload_hash: &str,
) -> String {
    let mut out = String::new();
    out.push_str(method);
    out.push('\n');
    out.push_str(&canonical_uri(raw_path));
    out.push('\n');
    out.push_str(&canonical_query(raw_query));
    out.push('\n');
    for name in signed_headers {
        let values: Vec<String> = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| normalize_header_value(v))
            .collect();
        out.push_str(&name.to_ascii_lowercase());
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    out
}

/// `date/region/service/aws4_request`.
pub fn scope(date: &str, region: &str, service: &str) -> String {
    format!("{date}/{region}/{service}/aws4_request")
}

/// The string to sign for `AWS4-HMAC-SHA256`.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The derived signing key.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// Hex signature of a string to sign.
pub fn signature(secret: &str, date: &str, region: &str, service: &str, sts: &str) -> String {
    hex::encode(hmac(
        &signing_key(secret, date, region, service),
        sts.as_bytes(),
    ))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Days since 1970-01-01 for a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Format a time as an ISO-8601 basic `x-amz-date` (`20150830T123600Z`).
pub fn amz_date(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Parse an `x-amz-date` value.
pub fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se;
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
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

#[cfg(test)]
mod tests {
    //! Vectors from the official AWS SigV4 test suite (`aws-sig-v4-test-suite`
    //! and the newer `aws-signing-test-suite/v4`), embedded verbatim.
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const DATE: &str = "20150830T123600Z";
    const SCOPE: &str = "20150830/us-east-1/service/aws4_request";
    const STS_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

    struct Vector {
        name: &'static str,
        method: &'static str,
        path: &'static str,
        query: &'static str,
        headers: &'static [(&'static str, &'static str)],
        body: &'static str,
        creq: &'static str,
        sts: &'static str,
        authz: &'static str,
    }

    const HOST: (&str, &str) = ("Host", "example.amazonaws.com");
    const XDATE: (&str, &str) = ("X-Amz-Date", DATE);

    const VECTORS: &[Vector] = &[
        Vector {
            name: "get-vanilla",
            method: "GET",
            path: "/",
            query: "",
            headers: &[HOST, XDATE],
            body: "",
            creq: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            sts: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        },
        Vector {
            name: "get-vanilla-query-order-key-case",
            method: "GET",
            path: "/",
            query: "Param2=value2&Param1=value1",
            headers: &[HOST, XDATE],
            body: "",
            creq: "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            sts: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        },
        Vector {
            name: "get-vanilla-query-order-value",
            method: "GET",
            path: "/",
            query: "Param1=value2&Param1=value1",
            headers: &[HOST, XDATE],
            body: "",
            creq: "GET\n/\nParam1=value1&Param1=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            sts: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nc968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694",
        },
        Vector {
            name: "get-vanilla-utf8-query",
            method: "GET",
            path: "/",
            query: "\u{1234}=bar",
            headers: &[HOST, XDATE],
            body: "",
            creq: "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            sts: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\neb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
        },
        Vector {
            name: "get-query-plus (aws-signing-test-suite/v4)",
            method: "GET",
            path: "/",
            query: "c+d",
            headers: &[HOST, XDATE],
            body: "",
            creq: "GET\n/\nc%2Bd=\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            sts: "",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=ae684ce3aadc299e3ac7d9216fcc039c7edf40dea57cf5b3005821dd2f176654",
        },
        Vector {
            name: "get-utf8",
            method: "GET",
            path: "/\u{1234}",
            query: "",
            headers: &[HOST, XDATE],
            body: "",
            creq: "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            sts: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
        },
        Vector {
            name: "get-space (normalize-path)",
            method: "GET",
            path: "/example space/",
            query: "",
            headers: &[HOST, XDATE],
            body: "",
            creq: "GET\n/example%20space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            sts: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
        },
        Vector {
            name: "get-unreserved",
            method: "GET",
            path: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            query: "",
            headers: &[HOST, XDATE],
            body: "",
            creq: "GET\n/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            sts: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
        },
        Vector {
            name: "get-header-value-trim",
            method: "GET",
            path: "/",
            query: "",
            headers: &[
                HOST,
                ("My-Header1", " value1"),
                ("My-Header2", " \"a   b   c\""),
                XDATE,
            ],
            body: "",
            creq: "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            sts: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\na726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
        },
        Vector {
            name: "post-vanilla",
            method: "POST",
            path: "/",
            query: "",
            headers: &[HOST, XDATE],
            body: "",
            creq: "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            sts: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        },
        Vector {
            name: "post-x-www-form-urlencoded",
            method: "POST",
            path: "/",
            query: "",
            headers: &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                HOST,
                XDATE,
            ],
            body: "Param1=value1",
            creq: "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
            sts: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        },
        Vector {
            name: "post-sts-token/post-sts-header-before",
            method: "POST",
            path: "/",
            query: "",
            headers: &[HOST, XDATE, ("X-Amz-Security-Token", STS_TOKEN)],
            body: "",
            creq: "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\n\nhost;x-amz-date;x-amz-security-token\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            sts: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nc237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
        },
        Vector {
            name: "get-vanilla-with-session-token (aws-signing-test-suite/v4)",
            method: "GET",
            path: "/",
            query: "",
            headers: &[
                HOST,
                XDATE,
                (
                    "X-Amz-Security-Token",
                    "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
                ),
            ],
            body: "",
            creq: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n\nhost;x-amz-date;x-amz-security-token\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            sts: "",
            authz: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
        },
    ];

    fn owned(h: &[(&str, &str)]) -> Vec<(String, String)> {
        h.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn signed_headers_of(authz: &str) -> Vec<String> {
        let s = authz.split("SignedHeaders=").nth(1).unwrap();
        let s = s.split(',').next().unwrap();
        s.split(';').map(str::to_string).collect()
    }

    fn signature_of(authz: &str) -> &str {
        authz.split("Signature=").nth(1).unwrap()
    }

    #[test]
    fn official_vectors_canonical_request_sts_and_signature() {
        for v in VECTORS {
            let headers = owned(v.headers);
            let signed = signed_headers_of(v.authz);
            let creq = canonical_request(
                v.method,
                v.path,
                v.query,
                &headers,
                &signed,
                &sha256_hex(v.body.as_bytes()),
            );
            assert_eq!(creq, v.creq, "canonical request of {}", v.name);
            let sts = string_to_sign(DATE, SCOPE, &creq);
            if !v.sts.is_empty() {
                assert_eq!(sts, v.sts, "string to sign of {}", v.name);
            }
            let sig = signature(SECRET, "20150830", "us-east-1", "service", &sts);
            assert_eq!(sig, signature_of(v.authz), "signature of {}", v.name);
        }
    }

    /// `double-url-encode` from aws-signing-test-suite/v4 (a Lambda ARN in the
    /// path): the raw path already contains `%3A`, which must be encoded a
    /// second time (`%253A`) for non-S3 services. Exactly what Bedrock model
    /// ids like `...-v1%3A0` need.
    #[test]
    fn official_double_url_encode_vector() {
        let headers = owned(&[
            ("Host", "lambda.us-east-2.amazonaws.com"),
            ("X-Amz-Date", "20210511T154045Z"),
        ]);
        let creq = canonical_request(
            "POST",
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-west-2%3A892717189312%3Afunction%3Amy-rusty-fun/invocations",
            "",
            &headers,
            &["host".to_string(), "x-amz-date".to_string()],
            EMPTY_SHA256,
        );
        assert_eq!(
            creq,
            "POST\n/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-west-2%253A892717189312%253Afunction%253Amy-rusty-fun/invocations\n\nhost:lambda.us-east-2.amazonaws.com\nx-amz-date:20210511T154045Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // `double-encode-path`: `@` is encoded once, `%3D` twice.
        assert_eq!(
            canonical_uri("/test/@connections/JBDvjfGEIAMCERw%3D"),
            "/test/%40connections/JBDvjfGEIAMCERw%253D"
        );
        assert_eq!(
            canonical_uri("/model/us.anthropic.claude-x-v1%3A0/invoke"),
            "/model/us.anthropic.claude-x-v1%253A0/invoke"
        );
    }

    fn suite_creds(token: Option<&str>) -> FakeCreds {
        FakeCreds::new("AKIDEXAMPLE", SECRET, token)
    }

    fn vector_headers(v: &Vector) -> Vec<(String, String)> {
        let mut h = owned(v.headers);
        h.push((
            "Authorization".into(),
            v.authz.replace("/service/", "/bedrock/"),
        ));
        h
    }

    #[test]
    fn verify_accepts_a_correct_signature_and_reports_scope() {
        // Re-sign get-vanilla for the `bedrock` service and verify it.
        let now = parse_amz_date(DATE).unwrap();
        let creds = suite_creds(None);
        let mut headers = owned(&[HOST]);
        sign_request(
            "POST",
            "/model/a%3Ab/invoke",
            "",
            &mut headers,
            b"{}",
            &creds,
            "eu-central-1",
            "bedrock",
            now,
        );
        let info = verify(
            "POST",
            "/model/a%3Ab/invoke",
            "",
            &headers,
            b"{}",
            &creds,
            now + Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(info.region, "eu-central-1");
        assert_eq!(info.service, "bedrock");
        assert_eq!(info.date, "20150830");
        assert!(info.signed_headers.contains(&"host".to_string()));
        // Tampered body: x-amz-content-sha256 no longer matches.
        let err = verify(
            "POST",
            "/model/a%3Ab/invoke",
            "",
            &headers,
            b"{ }",
            &creds,
            now,
        )
        .unwrap_err();
        assert_eq!(err.aws_error_type(), "InvalidSignatureException");
        // Path decoded by someone on the way: signature mismatch.
        let err = verify(
            "POST",
            "/model/a:b/invoke",
            "",
            &headers,
            b"{}",
            &creds,
            now,
        )
        .unwrap_err();
        assert!(matches!(err, SigError::Mismatch { .. }), "{err}");
    }

    #[test]
    fn verify_rejections() {
        let now = parse_amz_date(DATE).unwrap();
        let v = &VECTORS[0];
        let creds = suite_creds(None);
        // Signature computed for `service`, scope says bedrock -> mismatch.
        let err = verify("GET", "/", "", &vector_headers(v), b"", &creds, now).unwrap_err();
        assert!(matches!(err, SigError::Mismatch { .. }));
        assert_eq!(err.message(), "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");
        // Missing auth.
        let err = verify("GET", "/", "", &owned(v.headers), b"", &creds, now).unwrap_err();
        assert_eq!(err.aws_error_type(), "MissingAuthenticationTokenException");
        // Unknown key.
        let other = FakeCreds::new("AKIDOTHER", SECRET, None);
        let err = verify("GET", "/", "", &vector_headers(v), b"", &other, now).unwrap_err();
        assert_eq!(err.aws_error_type(), "UnrecognizedClientException");
        assert_eq!(
            err.message(),
            "The security token included in the request is invalid."
        );
        // Wrong service.
        let mut h = owned(v.headers);
        h.push(("Authorization".into(), v.authz.to_string()));
        let err = verify("GET", "/", "", &h, b"", &creds, now).unwrap_err();
        assert_eq!(err.aws_error_type(), "InvalidSignatureException");
        // Expired.
        let err = verify(
            "GET",
            "/",
            "",
            &vector_headers(v),
            b"",
            &creds,
            now + Duration::from_secs(16 * 60),
        )
        .unwrap_err();
        assert!(matches!(err, SigError::Expired(_)));
        assert!(err.message().starts_with("Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z (20150830T125200Z - 15 min.)"), "{}", err.message());
        assert_eq!(err.aws_error_type(), "InvalidSignatureException");
        // Future.
        let err = verify(
            "GET",
            "/",
            "",
            &vector_headers(v),
            b"",
            &creds,
            now - Duration::from_secs(16 * 60),
        )
        .unwrap_err();
        assert!(matches!(err, SigError::Expired(_)));
        // Session token required but absent.
        let with_token = suite_creds(Some("tok"));
        let err = verify("GET", "/", "", &vector_headers(v), b"", &with_token, now).unwrap_err();
        assert!(matches!(err, SigError::BadSessionToken(_)));
        // Host not signed.
        let mut h = owned(&[XDATE]);
        h.push((
            "Authorization".into(),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, SignedHeaders=x-amz-date, Signature=00".into(),
        ));
        let err = verify("GET", "/", "", &h, b"", &creds, now).unwrap_err();
        assert!(matches!(err, SigError::Incomplete(_)));
    }

    #[test]
    fn session_token_round_trip() {
        let now = SystemTime::now();
        let creds = suite_creds(Some("the-token"));
        let mut headers = owned(&[("host", "127.0.0.1:1")]);
        sign_request(
            "GET",
            "/foundation-models",
            "byProvider=anthropic",
            &mut headers,
            b"",
            &creds,
            "us-east-1",
            "bedrock",
            now,
        );
        verify(
            "GET",
            "/foundation-models",
            "byProvider=anthropic",
            &headers,
            b"",
            &creds,
            now,
        )
        .unwrap();
        let wrong = suite_creds(Some("other-token"));
        let err = verify(
            "GET",
            "/foundation-models",
            "byProvider=anthropic",
            &headers,
            b"",
            &wrong,
            now,
        )
        .unwrap_err();
        assert_eq!(err.aws_error_type(), "UnrecognizedClientException");
    }

    #[test]
    fn dates_round_trip() {
        let t = parse_amz_date(DATE).unwrap();
        assert_eq!(amz_date(t), DATE);
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_440_938_160
        );
        assert_eq!(amz_date(UNIX_EPOCH), "19700101T000000Z");
        assert!(parse_amz_date("2015-08-30T12:36:00Z").is_none());
    }
}
