//! Tools, tool_choice, reasoning, response_format and parameter checks.

use serde_json::{json, Value};

use super::request::JSON_OBJECT_INSTRUCTION;
use super::tests_request::{
    body, claude, convert_with, err, err_with, req, tool_conversation, user, with,
};
use super::*;

fn tool_request(choice: Value) -> Value {
    with(json!({"tools": [
        {"type": "function", "function": {"name": "a"}},
        {"type": "function", "function": {"name": "b", "description": ""}}],
        "tool_choice": choice}))
}

#[test]
fn tool_defaults_and_choice_mapping() {
    let b = convert_with(tool_request(json!("auto")), &claude()).body;
    assert_eq!(
        b["toolConfig"]["tools"][0],
        json!({"toolSpec": {"name": "a",
        "inputSchema": {"json": {"type": "object", "properties": {}}}}})
    );
    assert!(b["toolConfig"]["tools"][1]["toolSpec"]
        .get("description")
        .is_none());
    assert_eq!(b["toolConfig"]["toolChoice"], json!({"auto": {}}));
    let b = body(tool_request(json!("auto")));
    assert!(
        b["toolConfig"].get("toolChoice").is_none(),
        "non-Claude: auto is implicit"
    );
    let b = body(tool_request(json!("required")));
    assert_eq!(b["toolConfig"]["toolChoice"], json!({"any": {}}));
    let b = body(tool_request(
        json!({"type": "function", "function": {"name": "b"}}),
    ));
    assert_eq!(
        b["toolConfig"]["toolChoice"],
        json!({"tool": {"name": "b"}})
    );
}

#[test]
fn bad_tool_choice_and_types_are_400() {
    let e = err(tool_request(
        json!({"type": "function", "function": {"name": "zzz"}}),
    ));
    assert_eq!(e.param.as_deref(), Some("tool_choice.function.name"));
    assert_eq!(
        err(tool_request(json!("sometimes"))).param.as_deref(),
        Some("tool_choice")
    );
    let e = err(with(json!({"tools": [{"type": "code_interpreter"}]})));
    assert_eq!(e.param.as_deref(), Some("tools[0].type"));
    // Without `tools`, a malformed tool_choice is still refused; a plain mode is harmless.
    let e = err(with(
        json!({"tool_choice": {"type": "AAA", "function": {"name": "a"}}}),
    ));
    assert_eq!(e.param.as_deref(), Some("tool_choice.type"));
    assert!(body(with(json!({"tool_choice": "auto"})))
        .get("toolConfig")
        .is_none());
}

#[test]
fn tool_choice_none_drops_tools_unless_history_has_tool_blocks() {
    let b = body(tool_request(json!("none")));
    assert!(b.get("toolConfig").is_none());
    let mut v = tool_conversation();
    v["tool_choice"] = json!("none");
    let b = body(v);
    assert_eq!(b["toolConfig"]["tools"][0]["toolSpec"]["name"], "weather");
    assert!(b["toolConfig"].get("toolChoice").is_none());
}

#[test]
fn history_tool_names_missing_from_tools_are_added() {
    let mut v = tool_conversation();
    v["tools"][0]["function"]["name"] = json!("other");
    let b = body(v);
    let names: Vec<&str> = b["toolConfig"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["toolSpec"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["other", "weather"]);
}

#[test]
fn cache_points_after_system_and_tools() {
    let opts = ConvertOptions {
        cache_point: true,
        ..claude()
    };
    let mut v = tool_request(json!("auto"));
    v["messages"] = json!([{"role": "system", "content": "sys"}, user("hi")]);
    let b = convert_with(v, &opts).body;
    assert_eq!(
        b["system"],
        json!([{"text": "sys"}, {"cachePoint": {"type": "default"}}])
    );
    let tools = b["toolConfig"]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 3);
    assert_eq!(tools[2], json!({"cachePoint": {"type": "default"}}));
    let b = convert_with(with(json!({})), &opts).body;
    assert!(b.get("system").is_none() && b.get("toolConfig").is_none());
}

#[test]
fn reasoning_effort_enables_claude_thinking() {
    let r = convert_with(
        with(json!({"reasoning_effort": "medium", "max_tokens": 1000,
                                     "temperature": 0.2, "top_p": 0.5})),
        &claude(),
    );
    assert_eq!(
        r.body["additionalModelRequestFields"],
        json!({"thinking": {"type": "enabled", "budget_tokens": 4096}})
    );
    assert_eq!(r.body["inferenceConfig"], json!({"maxTokens": 8192}));
    let r = convert_with(
        with(json!({"reasoning_effort": "high", "max_tokens": 50000})),
        &claude(),
    );
    assert_eq!(
        r.body["additionalModelRequestFields"]["thinking"]["budget_tokens"],
        16384
    );
    assert_eq!(r.body["inferenceConfig"]["maxTokens"], 50000);
    let r = convert_with(with(json!({"reasoning_effort": "minimal"})), &claude());
    assert_eq!(
        r.body["additionalModelRequestFields"]["thinking"]["budget_tokens"],
        1024
    );
    let r = convert_with(
        with(json!({"reasoning_effort": "none", "temperature": 0.3})),
        &claude(),
    );
    assert!(r.body.get("additionalModelRequestFields").is_none());
    assert_eq!(r.body["inferenceConfig"]["temperature"], 0.3);
}

#[test]
fn reasoning_effort_errors() {
    let e = err_with(with(json!({"reasoning_effort": "extreme"})), &claude());
    assert_eq!(
        (e.param.as_deref(), e.code),
        (Some("reasoning_effort"), Some("invalid_value"))
    );
    let e = err(with(json!({"reasoning_effort": "low"})));
    assert_eq!(e.param.as_deref(), Some("reasoning_effort"));
    assert!(e.message.contains("not supported for this model"));
    let mut v = tool_request(json!("required"));
    v["reasoning_effort"] = json!("low");
    assert_eq!(
        err_with(v, &claude()).param.as_deref(),
        Some("reasoning_effort")
    );
}

#[test]
fn thinking_skipped_when_continuing_a_tool_loop() {
    let mut v = tool_conversation();
    v["messages"].as_array_mut().unwrap().pop(); // ends with tool results
    v["reasoning_effort"] = json!("high");
    let b = convert_with(v.clone(), &claude()).body;
    assert!(b.get("additionalModelRequestFields").is_none());
    v["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "assistant", "content": "ok"}));
    v["messages"]
        .as_array_mut()
        .unwrap()
        .push(user("next question"));
    let b = convert_with(v, &claude()).body;
    assert!(b.get("additionalModelRequestFields").is_some());
}

#[test]
fn json_object_adds_system_line() {
    let b = body(with(json!({"response_format": {"type": "json_object"}})));
    assert_eq!(b["system"], json!([{"text": JSON_OBJECT_INSTRUCTION}]));
    let b = body(with(json!({"response_format": {"type": "text"}})));
    assert!(b.get("system").is_none() && b.get("toolConfig").is_none());
}

#[test]
fn json_schema_becomes_forced_tool() {
    let schema = json!({"type": "object", "properties": {"x": {"type": "integer"}}});
    let r = convert_with(
        with(json!({"response_format": {"type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": true}}})),
        &claude(),
    );
    assert_eq!(r.forced_json_tool.as_deref(), Some("answer"));
    let tc = &r.body["toolConfig"];
    assert_eq!(tc["toolChoice"], json!({"tool": {"name": "answer"}}));
    assert_eq!(tc["tools"][0]["toolSpec"]["name"], "answer");
    assert_eq!(tc["tools"][0]["toolSpec"]["inputSchema"]["json"], schema);
    assert_eq!(tc["tools"].as_array().unwrap().len(), 1);
}

#[test]
fn json_schema_errors() {
    let mut v = tool_request(json!("auto"));
    v["response_format"] =
        json!({"type": "json_schema", "json_schema": {"name": "a", "schema": {}}});
    assert_eq!(err(v).param.as_deref(), Some("response_format"));
    let e = err(with(json!({"response_format": {"type": "json_schema"}})));
    assert_eq!(e.param.as_deref(), Some("response_format.json_schema"));
    let e = err(with(json!({"response_format": {"type": "yaml"}})));
    assert_eq!(e.param.as_deref(), Some("response_format.type"));
    let e = err_with(
        with(json!({"reasoning_effort": "low", "response_format":
        {"type": "json_schema", "json_schema": {"name": "a"}}})),
        &claude(),
    );
    assert_eq!(e.param.as_deref(), Some("reasoning_effort"));
}

#[test]
fn unsupported_parameters_are_400() {
    assert_eq!(err(with(json!({"n": 2}))).param.as_deref(), Some("n"));
    assert!(to_converse(&req(with(json!({"n": 1}))), &ConvertOptions::default()).is_ok());
    assert_eq!(
        err(with(json!({"logprobs": true}))).param.as_deref(),
        Some("logprobs")
    );
    assert_eq!(
        err(with(json!({"top_logprobs": 3}))).param.as_deref(),
        Some("logprobs")
    );
    assert!(to_converse(
        &req(with(json!({"logprobs": false}))),
        &ConvertOptions::default()
    )
    .is_ok());
    let e = err(with(json!({"modalities": ["text", "audio"]})));
    assert_eq!(
        (e.param.as_deref(), e.code),
        (Some("modalities"), Some("unsupported_parameter"))
    );
    assert!(e.message.contains("'audio'"), "{}", e.message);
    assert!(to_converse(
        &req(with(json!({"modalities": ["text"]}))),
        &ConvertOptions::default()
    )
    .is_ok());
    assert_eq!(
        err(with(json!({"audio": {"voice": "alloy"}})))
            .param
            .as_deref(),
        Some("audio")
    );
}

#[test]
fn stream_flags_are_reported() {
    let r = convert_with(
        with(json!({"stream": true, "stream_options": {"include_usage": true}})),
        &ConvertOptions::default(),
    );
    assert!(r.stream && r.include_usage && r.forced_json_tool.is_none());
    let r = convert_with(with(json!({})), &ConvertOptions::default());
    assert!(!r.stream && !r.include_usage);
    assert!(r.body.get("stream").is_none());
}

#[test]
fn bad_roles_and_empty_messages_are_400() {
    let e = err(json!({"model": "m", "messages": [{"role": "function", "content": "x"}]}));
    assert_eq!(e.param.as_deref(), Some("messages[0].role"));
    assert_eq!(
        err(json!({"model": "m", "messages": []})).param.as_deref(),
        Some("messages")
    );
}

#[test]
fn trailing_assistant_prefill_is_trimmed_and_refusal_is_text() {
    let b = body(json!({"model": "m", "messages": [user("hi"),
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"},
                                          {"type": "text", "text": "Sure: \n"}]}]}));
    assert_eq!(
        b["messages"][1]["content"],
        json!([{"text": "no"}, {"text": "Sure:"}])
    );
}
