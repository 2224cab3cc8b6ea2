//! `Allow` on 405 answers (RFC 9110 §15.5.6): the methods the path supports, read from the
//! OpenAPI document, the one place the routes are declared. The error body stays the route
//! group's own; this only adds the header.

use std::sync::Arc;

use poem::http::{header, HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

/// Path templates (`/model/{modelId}/invoke`, split into segments) and their `Allow` value.
#[derive(Debug, Clone, Default)]
pub struct AllowTable {
    paths: Arc<[(Vec<Segment>, HeaderValue)]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

impl AllowTable {
    /// From the OpenAPI document's `paths`: each path's methods, upper-cased, with `HEAD`
    /// beside `GET` (poem answers `HEAD` wherever it answers `GET`).
    pub fn from_spec(spec: &serde_json::Value) -> AllowTable {
        let Some(paths) = spec.get("paths").and_then(serde_json::Value::as_object) else {
            return AllowTable::default();
        };
        let table = paths
            .iter()
            .filter_map(|(template, item)| {
                let mut methods: Vec<String> = item
                    .as_object()?
                    .keys()
                    .map(|m| m.to_ascii_uppercase())
                    .collect();
                if methods.iter().any(|m| m == "GET") && !methods.iter().any(|m| m == "HEAD") {
                    methods.push("HEAD".into());
                }
                let value = HeaderValue::from_str(&methods.join(", ")).ok()?;
                Some((segments(template), value))
            })
            .collect();
        AllowTable { paths: table }
    }

    /// The `Allow` value for a request path, if a declared path matches it.
    pub fn allow(&self, path: &str) -> Option<&HeaderValue> {
        let parts: Vec<&str> = split(path).collect();
        let matches = |template: &[Segment]| {
            template.len() == parts.len()
                && template.iter().zip(&parts).all(|(t, p)| match t {
                    Segment::Literal(l) => l == p,
                    Segment::Param => !p.is_empty(),
                })
        };
        // A literal path wins over a template one (`/models` vs `/models/{id}` cannot clash,
        // but `/v1/models/{id}` and a literal sibling could).
        self.paths
            .iter()
            .filter(|(t, _)| matches(t))
            .min_by_key(|(t, _)| t.iter().filter(|s| **s == Segment::Param).count())
            .map(|(_, v)| v)
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.trim_end_matches('/').split('/').skip(1)
}

fn segments(template: &str) -> Vec<Segment> {
    split(template)
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                Segment::Param
            } else {
                Segment::Literal(s.to_string())
            }
        })
        .collect()
}

impl<E: Endpoint> Middleware<E> for AllowTable {
    type Output = WithAllow<E>;

    fn transform(&self, inner: E) -> Self::Output {
        WithAllow {
            inner,
            table: self.clone(),
        }
    }
}

pub struct WithAllow<E> {
    inner: E,
    table: AllowTable,
}

impl<E: Endpoint> Endpoint for WithAllow<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let uri = req.uri().clone();
        let mut resp = self.inner.call(req).await?.into_response();
        if resp.status() == StatusCode::METHOD_NOT_ALLOWED
            && !resp.headers().contains_key(header::ALLOW)
        {
            if let Some(allow) = self.table.allow(uri.path()) {
                resp.headers_mut().insert(header::ALLOW, allow.clone());
            }
        }
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn allow_lists_the_declared_methods_of_the_matching_path() {
        let table = AllowTable::from_spec(&json!({"paths": {
            "/health": {"get": {}},
            "/model/{modelId}/invoke": {"post": {}},
            "/v1/models/{id}": {"get": {}},
            "/v1/messages": {"post": {}},
        }}));
        assert_eq!(table.allow("/health").unwrap(), "GET, HEAD");
        assert_eq!(table.allow("/health/").unwrap(), "GET, HEAD");
        assert_eq!(table.allow("/model/anthropic.x:0/invoke").unwrap(), "POST");
        assert_eq!(table.allow("/v1/models/claude").unwrap(), "GET, HEAD");
        assert!(table.allow("/v1/models").is_none());
        assert!(table.allow("/model//invoke").is_none());
        assert!(table.allow("/nowhere").is_none());
    }
}
