//! The checks every request passes before routing: the client API key and the body size
//! limit. `http::app` puts them around every route group, so a route added later is covered
//! without doing anything; only `auth.open_paths` (by default `/health`, `/docs`, `/openapi.json`) are served
//! without a key.
//!
//! The body limit is checked twice: on `Content-Length` before anything is read, and while the
//! body streams in (chunked uploads), so a body is never buffered beyond the limit.
//!
//! `ClientKey` only documents the two ways of sending a key in OpenAPI (Swagger UI's Authorize
//! button); the check itself is the middleware here.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures_util::StreamExt;
use poem::{Body, Endpoint, IntoResponse, Request, Response, Result};
use poem_openapi::auth::{ApiKey, Bearer};
use poem_openapi::SecurityScheme;

use crate::auth::presented_keys;
use crate::error::{ApiError, ProxyError};
use crate::settings::AuthConfig;

/// What the guard enforces.
#[derive(Debug, Clone)]
pub struct GuardSettings {
    pub auth: Arc<AuthConfig>,
    pub max_body_bytes: u64,
}

/// `Authorization: Bearer <key>`: one of the proxy's client API keys (`PROXY_API_KEYS`).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", rename = "bearer")]
pub struct BearerKey(#[allow(dead_code)] Bearer);

/// `x-api-key: <key>`: one of the proxy's client API keys (`PROXY_API_KEYS`).
#[derive(SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "x-api-key",
    key_in = "header",
    rename = "x-api-key"
)]
pub struct HeaderKey(#[allow(dead_code)] ApiKey);

/// A client API key in either header, or none (the proxy may run without keys). Add it as a
/// parameter of an operation so the OpenAPI document and Swagger UI show how to authorize;
/// checking is done by the guard middleware, never by this extractor.
#[derive(SecurityScheme)]
pub enum ClientKey {
    Bearer(#[allow(dead_code)] BearerKey),
    Header(#[allow(dead_code)] HeaderKey),
    #[oai(fallback)]
    NoKey,
}

fn check_key(settings: &GuardSettings, req: &Request) -> Result<(), ProxyError> {
    let keys = &settings.auth.keys;
    if keys.is_empty() || settings.auth.is_open(req.uri().path()) {
        return Ok(());
    }
    let presented = presented_keys(req.headers());
    if presented.is_empty() {
        return Err(ProxyError::Unauthorized(
            "this proxy requires an API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'"
                .into(),
        ));
    }
    // Check every presented key, without stopping at the first match.
    let matched = presented
        .iter()
        .fold(None, |found, key| keys.matched(key).or(found));
    if let Some(index) = matched {
        // Metrics and the access log name the key that was used (never the key itself).
        crate::metrics::with_current(|t| t.set_key(index));
        Ok(())
    } else {
        Err(ProxyError::Unauthorized("the API key is not valid".into()))
    }
}

/// Refuse a declared `Content-Length` over the limit; cap a body of undeclared length
/// (chunked) at the limit as it streams. The returned flag is set if the stream went over it.
fn limit_body(req: &mut Request, limit: u64) -> Result<Arc<AtomicBool>, ProxyError> {
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let exceeded = Arc::new(AtomicBool::new(false));
    match declared {
        Some(n) if n > limit => return Err(ProxyError::PayloadTooLarge { limit }),
        // hyper reads exactly the declared length: nothing to count.
        Some(_) => return Ok(exceeded),
        None => {}
    }
    let flag = exceeded.clone();
    let mut seen: u64 = 0;
    let limited = req.take_body().into_bytes_stream().map(move |chunk| {
        let chunk = chunk?;
        seen = seen.saturating_add(chunk.len() as u64);
        if seen > limit {
            flag.store(true, Ordering::SeqCst);
            return Err(std::io::Error::other(ProxyError::PayloadTooLarge { limit }));
        }
        Ok(chunk)
    });
    req.set_body(Body::from_bytes_stream(limited));
    Ok(exceeded)
}

/// The middleware: key check, then body limit, then the route.
pub async fn guard<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    settings: GuardSettings,
) -> Result<Response> {
    check_key(&settings, &req).map_err(ApiError::from)?;
    let exceeded = limit_body(&mut req, settings.max_body_bytes).map_err(ApiError::from)?;
    let result = ep.call(req).await;
    // However the route reported the failed read, the answer is the 413.
    if exceeded.load(Ordering::SeqCst) {
        return Err(ApiError::from(ProxyError::PayloadTooLarge {
            limit: settings.max_body_bytes,
        })
        .into());
    }
    result.map(IntoResponse::into_response)
}
