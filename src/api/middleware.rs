//! Per-request middleware: request id, tracing span, access log, and error rendering.
//!
//! The request id comes from `x-request-id` when the client sent a sane one, else it is
//! generated; it is returned in `x-request-id` and in every error body. Headers are never
//! logged (they may hold credentials or API keys).

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response, Result};
use tracing::Instrument;

use crate::error::{error_response, ApiError, Dialect, ProxyError};

pub const REQUEST_ID: &str = "x-request-id";
pub const PROFILE_HEADER: &str = "x-proxy-profile";

fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Bedrock's runtime routes default the body's type to JSON (`contentType` is optional in
/// InvokeModel; the AWS CLI sends no `Content-Type` without `--content-type`): so does the
/// proxy on `/model/…`.
fn default_bedrock_content_type(req: &mut Request) {
    if req.uri().path().starts_with("/model/")
        && !req.headers().contains_key(poem::http::header::CONTENT_TYPE)
    {
        req.headers_mut().insert(
            poem::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
}

pub async fn observe<E: Endpoint>(ep: std::sync::Arc<E>, mut req: Request) -> Result<Response> {
    default_bedrock_content_type(&mut req);
    let id = request_id(&req);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
        profile = tracing::field::Empty,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    let started = Instant::now();
    let dialect = Dialect::for_path(req.uri().path());
    // A panic in a handler is answered like any other internal error; the server goes on.
    let result = match AssertUnwindSafe(ep.call(req).instrument(span.clone()))
        .catch_unwind()
        .await
    {
        Ok(result) => result.map(IntoResponse::into_response),
        Err(_panic) => {
            span.in_scope(|| tracing::error!("request handler panicked"));
            Err(ApiError::from(ProxyError::Internal(
                "the request failed unexpectedly (a bug in the proxy or a plugin); the proxy keeps serving".into(),
            ))
            .into())
        }
    };
    let mut response = match result {
        Ok(r) => r.into_response(),
        Err(err) => {
            if let Some(api) = err.downcast_ref::<crate::error::ApiError>() {
                if let Some(p) = &api.profile {
                    span.record("profile", p.as_str());
                }
            }
            error_response(&err, &id, dialect)
        }
    };
    if let Some(p) = response
        .headers()
        .get(PROFILE_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        span.record("profile", p);
    }
    let status = response.status().as_u16();
    span.record("status", status);
    span.record("latency_ms", started.elapsed().as_secs_f64() * 1000.0);
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!("request failed");
        } else {
            tracing::info!("request done");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    Ok(response)
}
