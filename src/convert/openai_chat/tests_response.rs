use serde_json::{json, Value};

use super::*;

fn convert(converse: Value, forced: Option<&str>) -> Value {
    let c = from_converse(&converse, "gpt-4o", "chatcmpl-1", 1_700_000_000, forced).unwrap();
    serde_json::to_value(c).unwrap()
}

fn answer(content: Value, stop: &str) -> Value {
    json!({"output": {"message": {"role": "assistant", "content": content}},
           "stopReason": stop,
           "usage": {"inputTokens": 12, "outputTokens": 5, "totalTokens": 17},
           "metrics": {"latencyMs": 100}})
}

#[test]
fn text_response_is_exact() {
    let out = convert(
        answer(json!([{"text": "Hello"}, {"text": " world"}]), "end_turn"),
        None,
    );
    assert_eq!(
        out,
        json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000u64,
               "model": "gpt-4o",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello world",
                                                     "refusal": null},
                            "finish_reason": "stop", "logprobs": null}],
               "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17,
                         "prompt_tokens_details": {"cached_tokens": 0}}})
    );
}

#[test]
fn tool_only_response_has_null_content() {
    let content = json!([{"toolUse": {"toolUseId": "tu_1", "name": "weather",
                                      "input": {"city": "Paris", "days": 2}}}]);
    let out = convert(answer(content, "tool_use"), None);
    let choice = &out["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert!(choice["message"]["content"].is_null());
    assert_eq!(
        choice["message"]["tool_calls"],
        json!([{"id": "tu_1", "type": "function",
                "function": {"name": "weather", "arguments": "{\"city\":\"Paris\",\"days\":2}"}}])
    );
}

#[test]
fn text_and_tool_calls_and_reasoning() {
    let content = json!([
        {"reasoningContent": {"reasoningText": {"text": "Let me ", "signature": "sig"}}},
        {"reasoningContent": {"reasoningText": {"text": "think."}}},
        {"reasoningContent": {"redactedContent": "AAAA"}},
        {"text": "Checking."},
        {"toolUse": {"toolUseId": "a", "name": "f", "input": {}}},
        {"toolUse": {"toolUseId": "b", "name": "g", "input": {"x": [1]}}}]);
    let out = convert(answer(content, "tool_use"), None);
    let msg = &out["choices"][0]["message"];
    assert_eq!(msg["content"], "Checking.");
    assert_eq!(msg["reasoning_content"], "Let me think.");
    assert_eq!(msg["tool_calls"][1]["function"]["arguments"], "{\"x\":[1]}");
    assert_eq!(msg["tool_calls"].as_array().unwrap().len(), 2);
}

#[test]
fn no_reasoning_or_tools_means_keys_absent() {
    let out = convert(answer(json!([]), "max_tokens"), None);
    let msg = out["choices"][0]["message"].as_object().unwrap();
    assert_eq!(msg["content"], "");
    assert!(!msg.contains_key("tool_calls") && !msg.contains_key("reasoning_content"));
    assert_eq!(out["choices"][0]["finish_reason"], "length");
}

#[test]
fn cached_tokens_are_part_of_prompt_tokens() {
    let mut a = answer(json!([{"text": "x"}]), "end_turn");
    a["usage"] = json!({"inputTokens": 10, "outputTokens": 7, "totalTokens": 122,
                        "cacheReadInputTokens": 100, "cacheWriteInputTokens": 5});
    let out = convert(a.clone(), None);
    assert_eq!(
        out["usage"],
        json!({"prompt_tokens": 115, "completion_tokens": 7, "total_tokens": 122,
               "prompt_tokens_details": {"cached_tokens": 100}})
    );
    assert_eq!(
        usage_of(&a["usage"]),
        Usage {
            input: 10,
            output: 7,
            cache_read: 100,
            cache_write: 5
        }
    );
}

#[test]
fn usage_of_missing_fields_is_zero() {
    assert_eq!(usage_of(&Value::Null), Usage::default());
    assert_eq!(usage_of(&json!({"outputTokens": 3})).output, 3);
}

#[test]
fn forced_json_tool_becomes_content() {
    let content = json!([{"text": "Here you go"},
                         {"toolUse": {"toolUseId": "t", "name": "answer", "input": {"x": 1}}}]);
    let out = convert(answer(content, "tool_use"), Some("answer"));
    let choice = &out["choices"][0];
    assert_eq!(choice["message"]["content"], "{\"x\":1}");
    assert!(choice["message"].get("tool_calls").is_none());
    assert_eq!(choice["finish_reason"], "stop");
    // Forced tool never called (e.g. cut off): normal mapping still applies.
    let out = convert(
        answer(json!([{"text": "partial"}]), "max_tokens"),
        Some("answer"),
    );
    assert_eq!(out["choices"][0]["finish_reason"], "length");
}

#[test]
fn finish_reason_table() {
    let cases = [
        ("end_turn", false, "stop"),
        ("stop_sequence", false, "stop"),
        ("max_tokens", false, "length"),
        ("model_context_window_exceeded", false, "length"),
        ("tool_use", false, "tool_calls"),
        ("tool_use", true, "stop"),
        ("guardrail_intervened", false, "content_filter"),
        ("content_filtered", false, "content_filter"),
        ("malformed_model_output", false, "stop"),
        ("something_new", false, "stop"),
    ];
    for (stop, forced, want) in cases {
        assert_eq!(finish_reason(stop, forced), want, "{stop} forced={forced}");
    }
}

#[test]
fn malformed_converse_response_is_502() {
    let e = from_converse(&json!({"output": {}}), "m", "id", 0, None).unwrap_err();
    assert_eq!(e.status, 502);
    let bad = answer(json!([{"toolUse": {"name": "f", "input": {}}}]), "tool_use");
    assert_eq!(
        from_converse(&bad, "m", "id", 0, None).unwrap_err().status,
        502
    );
}
