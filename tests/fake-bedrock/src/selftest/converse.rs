//! Converse, ConverseStream and CountTokens over HTTP: default answers, recorded headers,
//! scripted behaviours.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{converse_body, frames, header, runtime_path};
use crate::{eventstream, Behavior, FakeBedrock, StreamScript};

#[tokio::test]
async fn converse_over_http_echoes_and_records_bedrock_headers() {
    let fake = FakeBedrock::start().await;
    let model = "us.anthropic.claude-sonnet-4-20250514-v1:0";
    let (status, headers, body) = fake
        .send_signed(
            "POST",
            &runtime_path(model, "converse"),
            "us-west-2",
            &[
                ("content-type", "application/json"),
                ("X-Amzn-Bedrock-Trace", "ENABLED"),
                ("X-Amzn-Bedrock-GuardrailIdentifier", "gr-1"),
            ],
            &converse_body("Hi"),
        )
        .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    assert!(header(&headers, "x-amzn-requestid").is_some());
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["output"]["message"]["content"][0]["text"], "echo: Hi");
    assert_eq!(v["usage"]["inputTokens"], 1);
    let rec = fake.last().unwrap();
    assert_eq!(rec.operation, "converse");
    assert_eq!(rec.model_id.as_deref(), Some(model));
    assert_eq!(rec.raw_path, runtime_path(model, "converse"));
    assert_eq!(rec.sig.as_ref().unwrap().region, "us-west-2");
    assert_eq!(rec.header("x-amzn-bedrock-trace"), Some("ENABLED"));
    assert_eq!(
        rec.header("X-Amzn-Bedrock-GuardrailIdentifier"),
        Some("gr-1")
    );
    // Bad shape: 400 ValidationException in Bedrock's error shape.
    let (status, headers, body) = fake
        .send_signed(
            "POST",
            &runtime_path(model, "converse"),
            "us-west-2",
            &[],
            br#"{"messages":[{"role":"user","content":"Hi"}]}"#,
        )
        .await;
    assert_eq!(status, 400);
    assert!(header(&headers, "x-amzn-errortype")
        .unwrap()
        .starts_with("ValidationException:"));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("Member must be a list"));
}

#[tokio::test]
async fn converse_stream_sends_one_frame_per_event() {
    let fake = FakeBedrock::start().await;
    let model = "anthropic.claude-3-haiku-20240307-v1:0";
    let path = runtime_path(model, "converse-stream");
    let (status, headers, body) = fake
        .send_signed(
            "POST",
            &path,
            "us-east-1",
            &[],
            &converse_body("Hello world"),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/vnd.amazon.eventstream")
    );
    assert_eq!(header(&headers, "x-amzn-bedrock-content-type"), None);
    let got = frames(&body);
    let types: Vec<&str> = got.iter().map(|f| f.1.as_str()).collect();
    assert_eq!(
        types,
        [
            "messageStart",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata"
        ]
    );
    for (message_type, _, content_type, payload) in &got {
        assert_eq!(message_type, "event");
        assert_eq!(content_type, "application/json");
        assert!(
            payload["p"].is_string(),
            "padding like Bedrock's: {payload}"
        );
        assert!(payload.get("bytes").is_none());
    }
    assert_eq!(got[0].3["role"], "assistant");
    let text: String = got
        .iter()
        .filter_map(|f| f.3["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "echo: Hello world");
    assert_eq!(got[1].3["contentBlockIndex"], 0);
    assert_eq!(got[4].3["contentBlockIndex"], 0);
    assert_eq!(got[5].3["stopReason"], "end_turn");
    assert_eq!(got[6].3["usage"]["inputTokens"], 2);
    assert_eq!(got[6].3["usage"]["outputTokens"], 3);
    assert_eq!(got[6].3["usage"]["totalTokens"], 5);
    assert!(got[6].3["metrics"]["latencyMs"].is_u64());
    let decoded: Vec<Value> = eventstream::decode_frames(&body)
        .unwrap()
        .iter()
        .filter_map(eventstream::converse_event)
        .collect();
    assert_eq!(
        decoded,
        eventstream::converse_stream_events(&["echo", ": ", "Hello world"], 2)
    );
    assert_eq!(fake.last().unwrap().operation, "converse-stream");
}

#[tokio::test]
async fn behaviors_apply_to_converse_and_count_tokens() {
    let fake = FakeBedrock::start().await;
    let model = "anthropic.claude-3-haiku-20240307-v1:0";
    scripted_errors(&fake, model).await;
    scripted_converse_streams(&fake, model).await;
    delays_then_profiles_refused(&fake, model).await;
    assert_eq!(fake.queued(), (0, 0));
    let ops: Vec<String> = fake.requests().into_iter().map(|r| r.operation).collect();
    assert_eq!(
        ops,
        [
            "converse",
            "count-tokens",
            "converse-stream",
            "converse-stream",
            "count-tokens",
            "count-tokens"
        ]
    );
}

/// Scripted errors on Converse and CountTokens.
async fn scripted_errors(fake: &FakeBedrock, model: &str) {
    // Errors.
    fake.push(Behavior::throttling());
    let (status, headers, body) = fake
        .send_signed(
            "POST",
            &runtime_path(model, "converse"),
            "us-east-1",
            &[],
            &converse_body("Hi"),
        )
        .await;
    assert_eq!(status, 429);
    assert!(header(&headers, "x-amzn-errortype")
        .unwrap()
        .starts_with("ThrottlingException:"));
    assert!(String::from_utf8_lossy(&body).contains("Too many requests"));
    fake.push(Behavior::error(400, "ValidationException", "bad count"));
    let (status, _, _) = fake
        .send_signed(
            "POST",
            &runtime_path(model, "count-tokens"),
            "us-east-1",
            &[],
            b"{}",
        )
        .await;
    assert_eq!(status, 400);
}

/// Scripted ConverseStream answers: chunks then an exception, events plus an oversized delta.
async fn scripted_converse_streams(fake: &FakeBedrock, model: &str) {
    // A scripted converse stream: chunks, then an exception frame.
    fake.push(Behavior::stream(StreamScript {
        chunks: Some(vec!["a".into(), "b".into()]),
        exception_after: Some((2, "throttlingException".into(), "slow down".into())),
        ..Default::default()
    }));
    let (status, _, body) = fake
        .send_signed(
            "POST",
            &runtime_path(model, "converse-stream"),
            "us-east-1",
            &[],
            &converse_body("Hi"),
        )
        .await;
    assert_eq!(status, 200);
    let got = frames(&body);
    assert_eq!(got.len(), 3);
    assert_eq!(got[1].1, "contentBlockDelta");
    assert_eq!(got[1].3["delta"]["text"], "a");
    assert_eq!(got[2].0, "exception");
    assert_eq!(got[2].1, "throttlingException");
    assert_eq!(got[2].3["message"], "slow down");
    // Scripted events and an oversized delta.
    fake.push(Behavior::stream(StreamScript {
        events: Some(vec![
            json!({"messageStart": {"role": "assistant"}}),
            eventstream::converse_text_delta("only"),
            json!({"contentBlockStop": {"contentBlockIndex": 0}}),
        ]),
        extra_large_event: true,
        ..Default::default()
    }));
    let (_, _, body) = fake
        .send_signed(
            "POST",
            &runtime_path(model, "converse-stream"),
            "us-east-1",
            &[],
            &converse_body("Hi"),
        )
        .await;
    let got = frames(&body);
    assert_eq!(got.len(), 4);
    assert_eq!(got[1].3["delta"]["text"], "only");
    assert_eq!(
        got[2].3["delta"]["text"].as_str().unwrap().len(),
        eventstream::LARGE_EVENT_TEXT_LEN
    );
    assert_eq!(got[3].1, "contentBlockStop");
}

/// A delay before the default CountTokens answer; inference profiles refused by CountTokens.
async fn delays_then_profiles_refused(fake: &FakeBedrock, model: &str) {
    // Delays apply before the default answer.
    fake.push(Behavior::delay(
        Duration::from_millis(150),
        Behavior::Default,
    ));
    let started = Instant::now();
    let req = json!({"input": {"converse": {"messages": [{"role": "user", "content": [{"text": "three words here"}]}]}}});
    let (status, _, body) = fake
        .send_signed(
            "POST",
            &runtime_path(model, "count-tokens"),
            "us-east-1",
            &[],
            req.to_string().as_bytes(),
        )
        .await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"inputTokens": 3})
    );
    // Inference profiles are refused by CountTokens.
    let (status, headers, body) = fake
        .send_signed(
            "POST",
            &runtime_path("us.anthropic.claude-sonnet-4-20250514-v1:0", "count-tokens"),
            "us-east-1",
            &[],
            req.to_string().as_bytes(),
        )
        .await;
    assert_eq!(status, 400);
    assert!(header(&headers, "x-amzn-errortype")
        .unwrap()
        .starts_with("ValidationException:"));
    assert!(String::from_utf8_lossy(&body).contains("doesn't support counting tokens"));
}
