use serde_json::{json, Value};

use super::*;

fn feed(s: &mut ChunkStream, events: &[(&str, Value)]) -> Vec<Value> {
    let mut out = Vec::new();
    for (t, p) in events {
        out.extend(s.on_event(t, p));
    }
    out
}

fn delta(c: &Value) -> &Value {
    &c["choices"][0]["delta"]
}

fn text_delta(i: u64, text: &str) -> (&'static str, Value) {
    (
        "contentBlockDelta",
        json!({"contentBlockIndex": i, "delta": {"text": text}}),
    )
}

fn tool_start(i: u64, id: &str, name: &str) -> (&'static str, Value) {
    (
        "contentBlockStart",
        json!({"contentBlockIndex": i, "start": {"toolUse": {"toolUseId": id, "name": name}}}),
    )
}

fn tool_delta(i: u64, piece: &str) -> (&'static str, Value) {
    (
        "contentBlockDelta",
        json!({"contentBlockIndex": i, "delta": {"toolUse": {"input": piece}}}),
    )
}

fn stop(i: u64) -> (&'static str, Value) {
    ("contentBlockStop", json!({"contentBlockIndex": i}))
}

fn usage_event() -> (&'static str, Value) {
    (
        "metadata",
        json!({"usage": {"inputTokens": 3, "outputTokens": 4, "totalTokens": 57,
                                  "cacheReadInputTokens": 50}, "metrics": {"latencyMs": 9}}),
    )
}

#[test]
fn role_chunk_first_with_envelope() {
    let mut s = ChunkStream::new("gpt-4o", "chatcmpl-9", 42, false, None);
    let out = s.on_event("messageStart", &json!({"role": "assistant"}));
    assert_eq!(
        out,
        vec![
            json!({"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 42,
                    "model": "gpt-4o",
                    "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                 "finish_reason": null, "logprobs": null}]})
        ]
    );
    assert!(s
        .on_event("messageStart", &json!({"role": "assistant"}))
        .is_empty());
}

#[test]
fn text_then_two_tool_calls_get_dense_indices() {
    let mut s = ChunkStream::new("m", "id", 1, false, None);
    let out = feed(
        &mut s,
        &[
            ("messageStart", json!({"role": "assistant"})),
            text_delta(0, "Let me check."),
            stop(0),
            tool_start(1, "tu_a", "weather"),
            tool_delta(1, "{\"city\":"),
            tool_delta(1, "\"Paris\"}"),
            stop(1),
            tool_start(2, "tu_b", "time"),
            tool_delta(2, "{\"tz\":\"CET\""),
            tool_delta(2, "}"),
            stop(2),
            ("messageStop", json!({"stopReason": "tool_use"})),
        ],
    );
    assert_eq!(delta(&out[1]), &json!({"content": "Let me check."}));
    assert_eq!(
        delta(&out[2]),
        &json!({"tool_calls": [{"index": 0, "id": "tu_a", "type": "function",
                                "function": {"name": "weather", "arguments": ""}}]})
    );
    assert_eq!(
        delta(&out[3]),
        &json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]})
    );
    let mut args = [String::new(), String::new()];
    for c in &out {
        for call in delta(c)["tool_calls"].as_array().into_iter().flatten() {
            let k = call["index"].as_u64().unwrap() as usize;
            args[k].push_str(call["function"]["arguments"].as_str().unwrap());
        }
    }
    let a: Value = serde_json::from_str(&args[0]).unwrap();
    let b: Value = serde_json::from_str(&args[1]).unwrap();
    assert_eq!((a, b), (json!({"city": "Paris"}), json!({"tz": "CET"})));
    assert_eq!(delta(&out[5])["tool_calls"][0]["id"], "tu_b");
    assert_eq!(delta(&out[5])["tool_calls"][0]["index"], 1);
    let last = out.last().unwrap();
    assert_eq!(
        (delta(last), &last["choices"][0]["finish_reason"]),
        (&json!({}), &json!("tool_calls"))
    );
    assert_eq!(out.len(), 9);
}

#[test]
fn reasoning_deltas_and_signature() {
    let mut s = ChunkStream::new("m", "id", 1, false, None);
    let out = feed(
        &mut s,
        &[
            ("messageStart", json!({"role": "assistant"})),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "Hmm"}}}),
            ),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "abc"}}}),
            ),
            (
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"reasoningContent": {"redactedContent": "eA=="}}}),
            ),
            text_delta(1, "Answer"),
        ],
    );
    assert_eq!(out.len(), 3);
    assert_eq!(delta(&out[1]), &json!({"reasoning_content": "Hmm"}));
    assert_eq!(delta(&out[2]), &json!({"content": "Answer"}));
    assert_eq!(s.reasoning_signature(), Some("abc"));
}

#[test]
fn include_usage_sends_final_usage_chunk() {
    let mut s = ChunkStream::new("m", "id", 1, true, None);
    let out = feed(
        &mut s,
        &[
            ("messageStart", json!({"role": "assistant"})),
            text_delta(0, "hi"),
            ("messageStop", json!({"stopReason": "end_turn"})),
        ],
    );
    assert_eq!(out.len(), 3);
    assert!(out.iter().all(|c| c.get("usage") == Some(&Value::Null)));
    assert_eq!(out[2]["choices"][0]["finish_reason"], "stop");
    let tail = feed(&mut s, &[usage_event()]);
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0]["choices"], json!([]));
    assert_eq!(
        tail[0]["usage"],
        json!({"prompt_tokens": 53, "completion_tokens": 4, "total_tokens": 57,
               "prompt_tokens_details": {"cached_tokens": 50}})
    );
    assert_eq!(s.usage().map(|u| u.cache_read), Some(50));
    assert!(s.finish().is_empty());
}

#[test]
fn usage_without_include_usage_is_kept_not_sent() {
    let mut s = ChunkStream::new("m", "id", 1, false, None);
    let out = feed(
        &mut s,
        &[
            ("messageStop", json!({"stopReason": "max_tokens"})),
            usage_event(),
        ],
    );
    assert_eq!(out.len(), 2, "role chunk + finish chunk only");
    assert_eq!(out[1]["choices"][0]["finish_reason"], "length");
    assert!(out.iter().all(|c| c.get("usage").is_none()));
    assert_eq!(s.usage().map(|u| u.output), Some(4));
}

#[test]
fn missing_metadata_means_no_usage_chunk() {
    let mut s = ChunkStream::new("m", "id", 1, true, None);
    feed(
        &mut s,
        &[
            ("messageStart", json!({})),
            ("messageStop", json!({"stopReason": "end_turn"})),
        ],
    );
    assert!(s.finish().is_empty());
    assert!(s.usage().is_none());
}

#[test]
fn metadata_before_message_stop_keeps_order() {
    let mut s = ChunkStream::new("m", "id", 1, true, None);
    let out = feed(
        &mut s,
        &[
            ("messageStart", json!({})),
            usage_event(),
            ("messageStop", json!({"stopReason": "end_turn"})),
        ],
    );
    assert_eq!(out.len(), 3);
    assert_eq!(out[1]["choices"][0]["finish_reason"], "stop");
    assert_eq!(out[2]["choices"], json!([]));
}

#[test]
fn forced_json_tool_streams_as_content() {
    let mut s = ChunkStream::new("m", "id", 1, false, Some("answer".into()));
    let out = feed(
        &mut s,
        &[
            ("messageStart", json!({"role": "assistant"})),
            tool_start(0, "t", "answer"),
            tool_delta(0, ""),
            tool_delta(0, "{\"x\":"),
            tool_delta(0, "1}"),
            stop(0),
            ("messageStop", json!({"stopReason": "tool_use"})),
        ],
    );
    assert!(out.iter().all(|c| delta(c).get("tool_calls").is_none()));
    let content: String = out
        .iter()
        .filter_map(|c| delta(c)["content"].as_str())
        .collect();
    assert_eq!(content, "{\"x\":1}");
    assert_eq!(out.last().unwrap()["choices"][0]["finish_reason"], "stop");
    assert_eq!(out.len(), 4);
}

#[test]
fn finish_without_message_stop_closes_stream() {
    let mut s = ChunkStream::new("m", "id", 1, false, None);
    let out = s.finish();
    assert_eq!(out.len(), 2);
    assert_eq!(delta(&out[0])["role"], "assistant");
    assert_eq!(out[1]["choices"][0]["finish_reason"], "stop");
    assert_eq!(s.finish_reason(), Some("stop"));
    assert!(s
        .on_event("contentBlockDelta", &json!({"delta": {"text": "late"}}))
        .is_empty());
}

#[test]
fn role_chunk_emitted_lazily_and_wrapped_payloads_accepted() {
    let mut s = ChunkStream::new("m", "id", 1, false, None);
    let out = s.on_event(
        "contentBlockDelta",
        &json!({"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "x"}}}),
    );
    assert_eq!(out.len(), 2);
    assert_eq!(delta(&out[0])["role"], "assistant");
    assert_eq!(delta(&out[1])["content"], "x");
    assert!(s.on_event("somethingElse", &json!({})).is_empty());
    assert!(s
        .on_event(
            "contentBlockDelta",
            &json!({"delta": {"toolUse": {"input": "{}"}}})
        )
        .is_empty());
}

#[test]
fn error_chunk_and_done() {
    assert_eq!(
        error_chunk("upstream throttled", "server_error", Some("throttled")),
        json!({"error": {"message": "upstream throttled", "type": "server_error",
                         "param": null, "code": "throttled"}})
    );
    assert_eq!(
        error_chunk("x", "api_error", None)["error"]["code"],
        Value::Null
    );
    assert_eq!(DONE, "[DONE]");
}
