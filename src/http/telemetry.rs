//! `GET /metrics`, and the route template each request is counted under (never the raw path,
//! whose model ids and identifiers a client chooses).

use std::sync::Arc;

use poem::http::StatusCode;
use poem::{Endpoint, EndpointExt, Response};

use crate::metrics::Metrics;

/// Routes whose path is their template.
const FIXED: &[&str] = &[
    "/invoke",
    "/invoke_stream",
    "/models",
    "/profiles",
    "/health",
    "/metrics",
    "/openapi.json",
    "/foundation-models",
    "/inference-profiles",
    "/v1/messages",
    "/v1/messages/count_tokens",
    "/v1/models",
    "/v1/chat/completions",
    "/v1/embeddings",
];

/// The operations under `/model/{modelId}/`.
const MODEL_OPS: &[(&str, &str)] = &[
    ("invoke", "/model/{modelId}/invoke"),
    (
        "invoke-with-response-stream",
        "/model/{modelId}/invoke-with-response-stream",
    ),
    ("converse", "/model/{modelId}/converse"),
    ("converse-stream", "/model/{modelId}/converse-stream"),
    ("count-tokens", "/model/{modelId}/count-tokens"),
];

/// The route template of `path`; `other` for a path no route serves.
pub fn route_template(path: &str) -> &'static str {
    if let Some(fixed) = FIXED.iter().find(|f| **f == path) {
        return fixed;
    }
    if let Some(rest) = path.strip_prefix("/model/") {
        if let Some((id, op)) = rest.rsplit_once('/') {
            if !id.is_empty() {
                if let Some((_, template)) = MODEL_OPS.iter().find(|(o, _)| *o == op) {
                    return template;
                }
            }
        }
        return crate::metrics::OTHER;
    }
    let one_below = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
    };
    if one_below("/foundation-models/") {
        "/foundation-models/{modelIdentifier}"
    } else if one_below("/inference-profiles/") {
        "/inference-profiles/{inferenceProfileIdentifier}"
    } else if one_below("/v1/models/") {
        "/v1/models/{model_id}"
    } else if path == "/docs" || path.starts_with("/docs/") {
        "/docs"
    } else {
        crate::metrics::OTHER
    }
}

/// `GET /metrics`: the Prometheus text format (0.0.4), every metric with `# HELP` and
/// `# TYPE`.
pub fn scrape(metrics: Arc<Metrics>) -> impl Endpoint<Output = Response> {
    poem::endpoint::make_sync(move |_req| match metrics.render() {
        Ok(text) => Response::builder()
            .content_type(crate::metrics::CONTENT_TYPE)
            .body(text),
        Err(_) => Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .body("cannot render the metrics"),
    })
    .map_to_response()
}

#[cfg(test)]
mod tests {
    use super::route_template;

    #[test]
    fn paths_become_bounded_templates() {
        for (path, template) in [
            ("/invoke", "/invoke"),
            ("/v1/chat/completions", "/v1/chat/completions"),
            ("/model/apac/invoke", "/model/{modelId}/invoke"),
            (
                "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fx/converse-stream",
                "/model/{modelId}/converse-stream",
            ),
            ("/model/x/delete", "other"),
            ("/model//invoke", "other"),
            ("/foundation-models/anthropic.claude", "/foundation-models/{modelIdentifier}"),
            ("/v1/models/claude-x", "/v1/models/{model_id}"),
            ("/v1/models/a/b", "other"),
            ("/docs/index.js", "/docs"),
            ("/anything/else", "other"),
            ("/invoke/", "other"),
        ] {
            assert_eq!(route_template(path), template, "{path}");
        }
    }
}
