//! Cross-origin access for browser-based clients, off unless `server.cors_allowed_origins`
//! lists origins. A request whose `Origin` is listed gets `Access-Control-Allow-Origin` (that
//! origin, never `*` with a list) and `Vary: Origin`; its preflight (`OPTIONS` with
//! `Access-Control-Request-Method`) is answered `204` here, before the client-key guard,
//! since browsers send preflights without credentials. Any other request passes through
//! untouched: no CORS headers, so the browser keeps the answer from the page. Cookies are never
//! allowed (`Access-Control-Allow-Credentials` is not sent): the proxy authenticates by header.

use std::sync::Arc;

use poem::http::{header, HeaderValue, Method, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

/// The response headers a page may read: the request id and the proxy's routing headers.
const EXPOSED: &str =
    "x-request-id, x-proxy-profile, x-proxy-attempts, x-proxy-cost-usd, x-amzn-requestid, retry-after";
/// The methods the API's routes answer.
const METHODS: &str = "GET, POST, OPTIONS";
/// How long a browser may cache a preflight answer (seconds).
const MAX_AGE: &str = "600";

/// Which origins may call the proxy from a browser.
#[derive(Debug, Clone, Default)]
pub struct Cors {
    origins: Arc<[HeaderValue]>,
    any: bool,
}

impl Cors {
    /// From the checked configuration: origins as `scheme://host[:port]`, or `*` for any.
    pub fn new(origins: &[String]) -> Cors {
        Cors {
            any: origins.iter().any(|o| o == "*"),
            origins: origins
                .iter()
                .filter(|o| *o != "*")
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect(),
        }
    }

    fn allowed(&self, req: &Request) -> Option<HeaderValue> {
        if !self.any && self.origins.is_empty() {
            return None;
        }
        let origin = req.headers().get(header::ORIGIN)?;
        let listed = self
            .origins
            .iter()
            .any(|o| o.as_bytes().eq_ignore_ascii_case(origin.as_bytes()));
        (self.any || listed).then(|| {
            if self.any {
                HeaderValue::from_static("*")
            } else {
                origin.clone()
            }
        })
    }
}

impl<E: Endpoint> Middleware<E> for Cors {
    type Output = CorsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        CorsEndpoint {
            inner,
            cors: self.clone(),
        }
    }
}

pub struct CorsEndpoint<E> {
    inner: E,
    cors: Cors,
}

fn preflight(req: &Request, allow_origin: HeaderValue) -> Response {
    let requested = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned();
    let mut resp = Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin)
        .header(header::ACCESS_CONTROL_ALLOW_METHODS, METHODS)
        .header(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE)
        .header(header::VARY, "Origin")
        .finish();
    if let Some(requested) = requested {
        resp.headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
    }
    resp
}

impl<E: Endpoint> Endpoint for CorsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let Some(allow_origin) = self.cors.allowed(&req) else {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        };
        if req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return Ok(preflight(&req, allow_origin));
        }
        let mut resp = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
        let headers = resp.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED),
        );
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        Ok(resp)
    }
}
