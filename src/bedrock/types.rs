//! Bedrock's wire conventions: its error format and the response headers worth passing on.

use http::HeaderMap;

use crate::error::ProxyError;

/// Read Bedrock's error answer into a `ProxyError::Upstream`, keeping status, type and message.
///
/// The type comes from `x-amzn-ErrorType` (`ThrottlingException:http://internal…`), since 400
/// and 429 each cover several exceptions; a `__type` body field or the status are fallbacks.
pub fn upstream_error(status: u16, headers: &HeaderMap, body: &[u8]) -> ProxyError {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let header_type = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(':').next())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let body_type = json
        .as_ref()
        .and_then(|j| j.get("__type"))
        .and_then(|t| t.as_str())
        .map(|t| t.rsplit('#').next().unwrap_or(t).to_string());
    let error_type = header_type
        .or(body_type)
        .unwrap_or_else(|| default_type(status).to_string());
    let message = json
        .as_ref()
        .and_then(|j| j.get("message").or_else(|| j.get("Message")))
        .and_then(|m| m.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                format!("Bedrock answered HTTP {status} without a message")
            } else {
                text.chars().take(1000).collect()
            }
        });
    ProxyError::Upstream {
        status,
        error_type,
        message,
        upstream_request_id: request_id(headers),
    }
}

fn default_type(status: u16) -> &'static str {
    match status {
        400 => "ValidationException",
        403 => "AccessDeniedException",
        404 => "ResourceNotFoundException",
        408 => "ModelTimeoutException",
        424 => "ModelErrorException",
        429 => "ThrottlingException",
        503 => "ServiceUnavailableException",
        _ if status >= 500 => "InternalServerException",
        _ => "UpstreamError",
    }
}

/// Bedrock's request id.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-amzn-requestid")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The response headers a client of the proxy gets back: Bedrock's `x-amzn-*` headers
/// (request id, token counts, latency). Content type and length are set by the proxy.
pub fn passthrough_headers(headers: &HeaderMap) -> Vec<(http::HeaderName, http::HeaderValue)> {
    headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-amzn-"))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_type_from_header_then_body_then_status() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-amzn-errortype",
            "ModelNotReadyException:http://internal.amazon.com/coral/com.amazonaws.bedrock/"
                .parse()
                .unwrap(),
        );
        let e = upstream_error(429, &h, br#"{"message":"warming up"}"#);
        assert_eq!(e.error_type(), "ModelNotReadyException");
        assert_eq!(e.to_string(), "warming up");
        assert_eq!(e.status(), 429);

        let e = upstream_error(
            400,
            &HeaderMap::new(),
            br#"{"__type":"a.b#ValidationException","Message":"bad"}"#,
        );
        assert_eq!(e.error_type(), "ValidationException");
        assert_eq!(e.to_string(), "bad");

        let e = upstream_error(503, &HeaderMap::new(), b"");
        assert_eq!(e.error_type(), "ServiceUnavailableException");
    }
}
