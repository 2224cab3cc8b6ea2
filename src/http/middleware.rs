//! Per-request middleware. `observe` wraps the whole tree: request id, tracing span, the
//! request's metrics tally (whose end is the access-log line), `x-proxy-cost-usd`, and the
//! last word on any error no route group rendered.
//! `Speak` wraps each route group: it renders that group's errors (its own, poem-openapi's
//! parse errors, the guard's refusals, unknown paths under its prefix, panics) in its dialect.
//!
//! The request id comes from `x-request-id` when the client sent a sane one, else it is
//! generated; it is returned in `x-request-id` and in every error body. Headers are never
//! logged (they may hold credentials or API keys).

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tracing::Instrument;

use super::frontends::models::CACHE_HEADER;
use super::render::Dialect;
use super::telemetry::route_template;
use crate::error::{ApiError, ProxyError};
use crate::metrics::{self, Metrics, Tally};

pub const REQUEST_ID: &str = "x-request-id";
/// Response header of a whole answer whose model is priced: what it cost, in US dollars.
pub const COST_HEADER: &str = "x-proxy-cost-usd";

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
                    metrics::with_current(|t| t.routed(p, None, 0));
                }
                Ok(self.speak.dialect.error_response(&err, &id))
            }
        }
    }
}

pub async fn observe<E: Endpoint>(
    ep: std::sync::Arc<E>,
    mut req: Request,
    metrics: std::sync::Arc<Metrics>,
) -> Result<Response> {
    let id = request_id(&req);
    let route = route_template(req.uri().path());
    let tally = Tally::new(metrics, &id, route);
    req.set_data(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        route = route,
    );
    // Route groups render their own errors; this catches what falls outside every group.
    let call = metrics::scope(tally.clone(), ep.call(req).instrument(span));
    let mut response = match call.await {
        Ok(r) => r.into_response(),
        Err(err) => Dialect::Proxy.error_response(&err, &id),
    };
    finish(&tally, &mut response);
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    // The access-log line is written when the tally is let go: here, or when a stream ends.
    Ok(response)
}

/// What the response tells the tally: the status, a catalog lookup; and the cost header when
/// the whole answer's usage is known.
fn finish(tally: &Tally, response: &mut Response) {
    tally.set_status(response.status().as_u16());
    if let Some(result) = response
        .headers()
        .get(CACHE_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        tally.metrics().catalog(result);
    }
    if tally.is_deferred() {
        return;
    }
    if let Some(usd) = tally.cost_usd() {
        if let Ok(v) = HeaderValue::from_str(&format_usd(usd)) {
            response.headers_mut().insert(COST_HEADER, v);
        }
    }
}

/// Dollars with at most nine decimals, trailing zeros dropped (`0.000123`).
fn format_usd(usd: f64) -> String {
    let fixed = format!("{usd:.9}");
    let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
    if trimmed.is_empty() {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::format_usd;

    #[test]
    fn costs_are_short_decimals() {
        assert_eq!(format_usd(0.000123), "0.000123");
        assert_eq!(format_usd(0.0000450000000001), "0.000045");
        assert_eq!(format_usd(1.5), "1.5");
        assert_eq!(format_usd(0.0), "0");
        assert_eq!(format_usd(2.0), "2");
    }
}
