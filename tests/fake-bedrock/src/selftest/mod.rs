//! Self-tests that drive the fake over HTTP, signed like an AWS SDK, and helpers for them.

mod converse;
mod validation;

use serde_json::{json, Value};

use crate::{eventstream, sigv4};

pub(crate) fn runtime_path(model: &str, op: &str) -> String {
    format!("/model/{}/{op}", sigv4::uri_encode(model.as_bytes(), false))
}

pub(crate) fn converse_body(text: &str) -> Vec<u8> {
    json!({
        "messages": [{"role": "user", "content": [{"text": text}]}],
        "inferenceConfig": {"maxTokens": 20}
    })
    .to_string()
    .into_bytes()
}

/// `(eventType, payload with "p")` of every frame, plus the headers.
pub(crate) fn frames(body: &[u8]) -> Vec<(String, String, String, Value)> {
    eventstream::decode_frames(body)
        .unwrap()
        .iter()
        .map(|m| {
            (
                eventstream::header_str(m, ":message-type").unwrap_or_default(),
                eventstream::header_str(m, ":event-type")
                    .or_else(|| eventstream::header_str(m, ":exception-type"))
                    .unwrap_or_default(),
                eventstream::header_str(m, ":content-type").unwrap_or_default(),
                serde_json::from_slice(m.payload()).unwrap(),
            )
        })
        .collect()
}

pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
