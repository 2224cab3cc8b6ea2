use serde_json::{json, Value};

use super::*;

const PNG_1PX: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
const JPEG_HEAD: &str = "/9j/4AAQSkZJRgABAQ=="; // FF D8 FF E0 ...

pub(super) fn req(v: Value) -> ChatRequest {
    ChatRequest::parse(v.to_string().as_bytes()).unwrap()
}

pub(super) fn claude() -> ConvertOptions {
    ConvertOptions {
        model_is_claude: true,
        ..ConvertOptions::default()
    }
}

pub(super) fn convert_with(v: Value, opts: &ConvertOptions) -> ConverseRequest {
    to_converse(&req(v), opts).unwrap()
}

pub(super) fn body(v: Value) -> Value {
    convert_with(v, &ConvertOptions::default()).body
}

pub(super) fn err_with(v: Value, opts: &ConvertOptions) -> ConvertError {
    to_converse(&req(v), opts).unwrap_err()
}

pub(super) fn err(v: Value) -> ConvertError {
    err_with(v, &ConvertOptions::default())
}

pub(super) fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

pub(super) fn with(extra: Value) -> Value {
    let mut base = json!({"model": "m", "messages": [user("hi")]});
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

fn image_msg(url: &str) -> Value {
    json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": url}}]}]})
}

#[test]
fn parse_bad_json_is_400_with_prefix() {
    let e = ChatRequest::parse(b"{\"model\": ").unwrap_err();
    assert_eq!(e.status, 400);
    assert!(
        e.message.starts_with("Could not parse the JSON body"),
        "{}",
        e.message
    );
}

#[test]
fn parse_wrong_type_is_400_with_prefix() {
    let e = ChatRequest::parse(br#"{"model":"m","messages":"hi"}"#).unwrap_err();
    assert_eq!(e.status, 400);
    assert!(
        e.message.starts_with("Invalid request body"),
        "{}",
        e.message
    );
    let e = ChatRequest::parse(br#"{"model":"m","messages":[],"max_tokens":"many"}"#).unwrap_err();
    assert!(e.message.contains("invalid type"), "{}", e.message);
}

#[test]
fn unknown_parameters_are_listed_sorted() {
    let r = req(with(
        json!({"seed": 1, "frequency_penalty": 0.5, "user": "u1", "stream": false}),
    ));
    assert_eq!(r.unknown_parameters(), vec!["frequency_penalty", "seed"]);
    assert_eq!(r.user.as_deref(), Some("u1"));
}

#[test]
fn minimal_request_is_exact() {
    let b = body(json!({"model": "m", "messages": [user("hi")]}));
    assert_eq!(
        b,
        json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}],
               "inferenceConfig": {"maxTokens": 4096}})
    );
}

#[test]
fn system_and_developer_are_hoisted_in_order() {
    let b = body(json!({"model": "m", "messages": [
        {"role": "system", "content": "S1"},
        user("hi"),
        {"role": "developer", "content": [{"type": "text", "text": "D1"}, {"type": "text", "text": " "}]},
        {"role": "assistant", "content": "yo"},
        {"role": "system", "content": "S2"},
        user("again")]}));
    assert_eq!(
        b["system"],
        json!([{"text": "S1"}, {"text": "D1"}, {"text": "S2"}])
    );
    assert_eq!(b["messages"].as_array().unwrap().len(), 3);
    assert_eq!(
        b["messages"][1],
        json!({"role": "assistant", "content": [{"text": "yo"}]})
    );
}

#[test]
fn system_image_part_is_rejected() {
    let e = err(
        json!({"model": "m", "messages": [{"role": "system", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}, user("x")]}),
    );
    assert_eq!(e.param.as_deref(), Some("messages[0].content[0].type"));
}

#[test]
fn inference_parameters_map() {
    let b = body(with(json!({"max_tokens": 10, "max_completion_tokens": 20,
                             "temperature": 0.7, "top_p": 0.9, "stop": "END"})));
    assert_eq!(
        b["inferenceConfig"],
        json!({"maxTokens": 20, "temperature": 0.7, "topP": 0.9, "stopSequences": ["END"]})
    );
    let b = body(with(json!({"max_tokens": 10, "stop": ["a", "", "b"]})));
    assert_eq!(
        b["inferenceConfig"],
        json!({"maxTokens": 10, "stopSequences": ["a", "b"]})
    );
    let b = body(with(json!({"temperature": 1})));
    assert_eq!(b["inferenceConfig"]["temperature"], json!(1.0));
    let opts = ConvertOptions {
        default_max_tokens: 777,
        ..ConvertOptions::default()
    };
    let b = convert_with(with(json!({"stop": []})), &opts).body;
    assert_eq!(b["inferenceConfig"], json!({"maxTokens": 777}));
}

#[test]
fn zero_max_tokens_is_400() {
    assert_eq!(
        err(with(json!({"max_tokens": 0}))).param.as_deref(),
        Some("max_tokens")
    );
    let e = err(with(json!({"max_completion_tokens": 0})));
    assert_eq!(e.param.as_deref(), Some("max_completion_tokens"));
}

#[test]
fn blank_text_dropped_and_same_roles_merged() {
    let b = body(json!({"model": "m", "messages": [
        user("one"),
        {"role": "assistant", "content": "  "},
        {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "two"}]},
        {"role": "assistant", "content": null},
        user("three")]}));
    assert_eq!(
        b["messages"],
        json!([{"role": "user", "content": [{"text": "one"}, {"text": "two"}, {"text": "three"}]}])
    );
}

pub(super) fn tool_conversation() -> Value {
    json!({"model": "m", "messages": [
        user("weather in Paris and Rome?"),
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "call_2", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "rain"}]},
        user("thanks")],
      "tools": [{"type": "function", "function": {"name": "weather", "description": "Get weather",
                 "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]})
}

#[test]
fn tool_calls_and_results_map_and_merge() {
    let b = body(tool_conversation());
    let msgs = b["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(
        msgs[1]["content"],
        json!([{"text": "Checking."},
               {"toolUse": {"toolUseId": "call_1", "name": "weather", "input": {"city": "Paris"}}},
               {"toolUse": {"toolUseId": "call_2", "name": "weather", "input": {"city": "Rome"}}}])
    );
    assert_eq!(
        msgs[2],
        json!({"role": "user", "content": [
            {"toolResult": {"toolUseId": "call_1", "content": [{"text": "sunny"}]}},
            {"toolResult": {"toolUseId": "call_2", "content": [{"text": "rain"}]}},
            {"text": "thanks"}]})
    );
    assert_eq!(
        b["toolConfig"],
        json!({"tools": [{"toolSpec": {"name": "weather", "description": "Get weather",
            "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}}}}]})
    );
}

#[test]
fn invalid_tool_arguments_are_400() {
    let mut v = tool_conversation();
    v["messages"][1]["tool_calls"][1]["function"]["arguments"] = json!("{\"city\":");
    let e = err(v.clone());
    assert_eq!(e.status, 400);
    assert_eq!(
        e.param.as_deref(),
        Some("messages[1].tool_calls[1].function.arguments")
    );
    v["messages"][1]["tool_calls"][1]["function"]["arguments"] = json!("[1,2]");
    assert!(err(v).message.contains("JSON object"));
}

#[test]
fn empty_or_object_arguments_are_accepted() {
    let mut v = tool_conversation();
    v["messages"][1]["tool_calls"][0]["function"]["arguments"] = json!("");
    v["messages"][1]["tool_calls"][1]["function"]["arguments"] = json!({"city": "Rome"});
    let b = body(v);
    assert_eq!(
        b["messages"][1]["content"][1]["toolUse"]["input"],
        json!({})
    );
    assert_eq!(
        b["messages"][1]["content"][2]["toolUse"]["input"],
        json!({"city": "Rome"})
    );
}

#[test]
fn tool_message_needs_id_and_empty_content_is_empty_list() {
    let mut v = tool_conversation();
    v["messages"][2]["tool_call_id"] = Value::Null;
    assert_eq!(err(v).param.as_deref(), Some("messages[2].tool_call_id"));
    let mut v = tool_conversation();
    v["messages"][2]["content"] = json!("");
    let b = body(v);
    assert_eq!(
        b["messages"][2]["content"][0]["toolResult"]["content"],
        json!([])
    );
}

#[test]
fn tool_history_without_tools_synthesizes_tool_config() {
    let mut v = tool_conversation();
    v.as_object_mut().unwrap().remove("tools");
    let b = body(v);
    assert_eq!(
        b["toolConfig"],
        json!({"tools": [{"toolSpec": {"name": "weather", "inputSchema": {"json": {"type": "object"}}}}]})
    );
}

#[test]
fn png_data_url_becomes_image_block() {
    let b = body(image_msg(&format!("data:image/png;base64,{PNG_1PX}")));
    assert_eq!(
        b["messages"][0]["content"],
        json!([{"text": "what is this?"},
               {"image": {"format": "png", "source": {"bytes": PNG_1PX}}}])
    );
}

#[test]
fn image_format_from_mime_and_magic() {
    let b = body(image_msg(&format!("data:image/jpg;base64,{JPEG_HEAD}")));
    assert_eq!(b["messages"][0]["content"][1]["image"]["format"], "jpeg");
    // Declared png, bytes are JPEG: the bytes win.
    let b = body(image_msg(&format!("data:image/png;base64,{JPEG_HEAD}")));
    assert_eq!(b["messages"][0]["content"][1]["image"]["format"], "jpeg");
    // Unknown magic: the declared type is used.
    let b = body(image_msg("data:image/webp;base64,AAAA"));
    assert_eq!(b["messages"][0]["content"][1]["image"]["format"], "webp");
    // Unpadded base64 is accepted and re-padded.
    let unpadded = PNG_1PX.trim_end_matches('=');
    let b = body(image_msg(&format!("data:image/png;base64,{unpadded}")));
    assert_eq!(
        b["messages"][0]["content"][1]["image"]["source"]["bytes"],
        PNG_1PX
    );
}

#[test]
fn bad_images_are_400_with_param() {
    let param = Some("messages[0].content[1].image_url".to_string());
    let e = err(image_msg("data:image/png;base64,@@not-base64@@"));
    assert_eq!((e.status, &e.param), (400, &param));
    assert!(e.message.contains("base64"));
    let e = err(image_msg("data:image/svg+xml;base64,PHN2Zz4="));
    assert_eq!(
        (e.param.clone(), e.code),
        (param.clone(), Some("invalid_image_format"))
    );
    let e = err(image_msg("data:image/png,rawbytes"));
    assert_eq!(e.param, param);
    let e = err(image_msg("https://example.com/cat.png"));
    assert_eq!((e.status, &e.param), (400, &param));
    assert!(
        e.message.contains("openai.fetch_image_urls"),
        "{}",
        e.message
    );
    let e = err(image_msg("HTTP://example.com/cat.png"));
    assert!(e.message.contains("Remote image URLs"));
}

#[test]
fn unsupported_user_part_type_is_400() {
    let e = err(
        json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]}]}),
    );
    assert_eq!(e.param.as_deref(), Some("messages[0].content[0].type"));
}
