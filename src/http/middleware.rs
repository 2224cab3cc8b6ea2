//! Per-request middleware. `observe` wraps the whole tree: request id, tracing span, access
//! log, and the last word on any error no route group rendered.
//! `Speak` wraps each route group: it renders that group's errors (its own, poem-openapi's
//! parse errors, the guard's refusals, unknown paths under its prefix, panics) in its dialect.
//!
//! The request id comes from `x-request-id` when the client sent a sane one, else it is
//! generated; it is returned in `x-request-id` and in every error body. Headers are never
//! logged (they may hold credentials or API keys).

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tracing::Instrument;

use super::render::{Dialect, PROFILE_HEADER};
use crate::error::{ApiError, ProxyError};

pub const REQUEST_ID: &str = "x-request-id";

/// This request's id, for error bodies (set by `observe`).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

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

/// Renders a route group's errors in its dialect.
#[derive(Debug, Clone, Copy)]
pub struct Speak {
    pub dialect: Dialect,
    /// Bedrock's runtime routes default the body's type to JSON (`contentType` is optional
    /// in InvokeModel; the AWS CLI sends no `Content-Type` without `--content-type`).
    pub default_json: bool,
}

impl Speak {
    pub fn new(dialect: Dialect) -> Speak {
        Speak {
            dialect,
            default_json: false,
        }
    }
}

impl<E: Endpoint> Middleware<E> for Speak {
    type Output = Spoken<E>;
    fn transform(&self, ep: E) -> Spoken<E> {
        Spoken { ep, speak: *self }
    }
}

pub struct Spoken<E> {
    ep: E,
    speak: Speak,
}

impl<E: Endpoint> Endpoint for Spoken<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        if self.speak.default_json && !req.headers().contains_key(http::header::CONTENT_TYPE) {
            req.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        let id = req
            .data::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        // A panic in a handler is answered like any other internal error; the server goes on.
        let result = match AssertUnwindSafe(self.ep.call(req)).catch_unwind().await {
            Ok(result) => result.map(IntoResponse::into_response),
            Err(_panic) => {
                tracing::error!("request handler panicked");
                Err(ApiError::from(ProxyError::Internal(
                    "the request failed unexpectedly (a bug in the proxy or a plugin); the proxy keeps serving".into(),
                ))
                .into())
            }
        };
        match result {
            Ok(r) => Ok(r),
            Err(err) => {
                if let Some(p) = err
                    .downcast_ref::<ApiError>()
                    .and_then(|a| a.profile.as_deref())
                {
                    tracing::Span::current().record("profile", p);
                }
                Ok(self.speak.dialect.error_response(&err, &id))
            }
        }
    }
}

pub async fn observe<E: Endpoint>(ep: std::sync::Arc<E>, mut req: Request) -> Result<Response> {
    let id = request_id(&req);
    req.set_data(RequestId(id.clone()));
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
    // Route groups render their own errors; this catches what falls outside every group.
    let mut response = match ep.call(req).instrument(span.clone()).await {
        Ok(r) => r.into_response(),
        Err(err) => Dialect::Proxy.error_response(&err, &id),
    };
    finish(&span, &response, started);
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    Ok(response)
}

/// The access log line: profile, status, latency.
fn finish(span: &tracing::Span, response: &Response, started: Instant) {
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
}
