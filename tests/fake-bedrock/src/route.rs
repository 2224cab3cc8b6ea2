//! Which operation a request is: method and raw path to a [`Route`], with the model id
//! percent-decoded from its single path segment.

use serde_json::Value;

use crate::runtime::{converse_echo_source, echo_source};
use crate::sigv4;
use crate::stream::StreamKind;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Route {
    Invoke(String),
    InvokeStream(String),
    Converse(String),
    ConverseStream(String),
    CountTokens(String),
    ListFoundationModels,
    GetFoundationModel(String),
    ListInferenceProfiles,
    GetInferenceProfile(String),
    Unknown,
}

impl Route {
    pub(crate) fn operation(&self) -> &'static str {
        match self {
            Route::Invoke(_) => "invoke",
            Route::InvokeStream(_) => "invoke-with-response-stream",
            Route::Converse(_) => "converse",
            Route::ConverseStream(_) => "converse-stream",
            Route::CountTokens(_) => "count-tokens",
            Route::ListFoundationModels => "list-foundation-models",
            Route::GetFoundationModel(_) => "get-foundation-model",
            Route::ListInferenceProfiles => "list-inference-profiles",
            Route::GetInferenceProfile(_) => "get-inference-profile",
            Route::Unknown => "unknown",
        }
    }

    pub(crate) fn model_id(&self) -> Option<String> {
        match self {
            Route::Invoke(m)
            | Route::InvokeStream(m)
            | Route::Converse(m)
            | Route::ConverseStream(m)
            | Route::CountTokens(m)
            | Route::GetFoundationModel(m) => Some(m.clone()),
            _ => None,
        }
    }

    pub(crate) fn is_runtime(&self) -> bool {
        matches!(
            self,
            Route::Invoke(_)
                | Route::InvokeStream(_)
                | Route::Converse(_)
                | Route::ConverseStream(_)
                | Route::CountTokens(_)
        )
    }

    /// How a scripted stream is framed on this route.
    pub(crate) fn stream_kind(&self) -> StreamKind {
        match self {
            Route::Converse(_) | Route::ConverseStream(_) => StreamKind::Converse,
            _ => StreamKind::InvokeChunks,
        }
    }

    /// (echo text, input tokens) for a runtime request body.
    pub(crate) fn echo_source(&self, body: Option<&Value>) -> (String, u64) {
        match self {
            Route::Converse(_) | Route::ConverseStream(_) => converse_echo_source(body),
            _ => echo_source(body),
        }
    }
}

/// Percent-decode one raw path segment; `None` if empty or not UTF-8.
fn decode_segment(seg: &str) -> Option<String> {
    let s = percent_encoding::percent_decode_str(seg)
        .decode_utf8()
        .ok()?
        .into_owned();
    (!s.is_empty()).then_some(s)
}

pub(crate) fn route(method: &str, raw_path: &str) -> Route {
    let segs: Vec<&str> = raw_path.split('/').collect();
    let decoded = |s: &str, f: fn(String) -> Route| decode_segment(s).map_or(Route::Unknown, f);
    match (method, segs.as_slice()) {
        ("POST", ["", "model", id, "invoke"]) => decoded(id, Route::Invoke),
        ("POST", ["", "model", id, "invoke-with-response-stream"]) => {
            decoded(id, Route::InvokeStream)
        }
        ("POST", ["", "model", id, "converse"]) => decoded(id, Route::Converse),
        ("POST", ["", "model", id, "converse-stream"]) => decoded(id, Route::ConverseStream),
        ("POST", ["", "model", id, "count-tokens"]) => decoded(id, Route::CountTokens),
        ("GET", ["", "foundation-models"]) => Route::ListFoundationModels,
        ("GET", ["", "foundation-models", id]) => decoded(id, Route::GetFoundationModel),
        ("GET", ["", "inference-profiles"]) => Route::ListInferenceProfiles,
        ("GET", ["", "inference-profiles", id]) => decoded(id, Route::GetInferenceProfile),
        _ => Route::Unknown,
    }
}

pub(crate) fn query_params(raw_query: &str) -> Vec<(String, String)> {
    raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| {
                String::from_utf8_lossy(&sigv4::percent_decode(&s.replace('+', " "))).into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_decode_the_raw_path() {
        assert_eq!(
            route("POST", "/model/us.anthropic.claude-x-v1%3A0/invoke"),
            Route::Invoke("us.anthropic.claude-x-v1:0".into())
        );
        assert_eq!(
            route(
                "POST",
                "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc123/invoke-with-response-stream"
            ),
            Route::InvokeStream(
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
                    .into()
            )
        );
        assert_eq!(
            route(
                "POST",
                "/model/arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123/invoke"
            ),
            Route::Unknown
        );
        assert_eq!(route("GET", "/model/x/invoke"), Route::Unknown);
        assert_eq!(route("POST", "/model//invoke"), Route::Unknown);
        assert_eq!(
            route("GET", "/foundation-models"),
            Route::ListFoundationModels
        );
        assert_eq!(
            route("GET", "/inference-profiles/eu.x%3A0"),
            Route::GetInferenceProfile("eu.x:0".into())
        );
    }

    #[test]
    fn runtime_routes_name_their_operation() {
        let cases = [
            (
                "converse",
                Route::Converse("eu.anthropic.claude-x-v1:0".into()),
            ),
            (
                "converse-stream",
                Route::ConverseStream("eu.anthropic.claude-x-v1:0".into()),
            ),
            (
                "count-tokens",
                Route::CountTokens("eu.anthropic.claude-x-v1:0".into()),
            ),
        ];
        for (op, expected) in cases {
            let r = route("POST", &format!("/model/eu.anthropic.claude-x-v1%3A0/{op}"));
            assert_eq!(r, expected);
            assert_eq!(r.operation(), op);
            assert_eq!(r.model_id().as_deref(), Some("eu.anthropic.claude-x-v1:0"));
            assert!(r.is_runtime());
        }
        assert_eq!(route("GET", "/model/x/converse"), Route::Unknown);
        assert_eq!(route("POST", "/model/x/converse/extra"), Route::Unknown);
        assert_eq!(
            route("POST", "/model/x/converse").stream_kind(),
            StreamKind::Converse
        );
        assert_eq!(
            route("POST", "/model/x/invoke-with-response-stream").stream_kind(),
            StreamKind::InvokeChunks
        );
    }
}
