//! Self-tests that drive the fake over HTTP, signed like an AWS SDK, and helpers for them.

mod converse;
mod embeddings;
mod scripts;
mod validation;

use std::time::SystemTime;

use serde_json::{json, Value};

use crate::{eventstream, sigv4, FakeBedrock};

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

/// POST `body` to `path`, signed, reading the answer chunk by chunk: (status, the bytes that
/// arrived, how the body ended).
pub(crate) async fn signed_stream(
    fake: &FakeBedrock,
    path: &str,
    body: &Value,
) -> (u16, Vec<u8>, Result<(), String>) {
    let body = body.to_string().into_bytes();
    let mut headers = vec![("host".to_string(), fake.addr().to_string())];
    let creds = fake.creds();
    let now = SystemTime::now();
    sigv4::sign_request(
        "POST",
        path,
        "",
        &mut headers,
        &body,
        &creds,
        "us-east-1",
        sigv4::SERVICE,
        now,
    );
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", fake.url()))
        .body(body);
    for (n, v) in headers.iter().filter(|(n, _)| n != "host") {
        request = request.header(n, v);
    }
    let mut response = request.send().await.expect("the fake answers");
    let status = response.status().as_u16();
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => return (status, bytes, Ok(())),
            Err(e) => return (status, bytes, Err(e.to_string())),
        }
    }
}
