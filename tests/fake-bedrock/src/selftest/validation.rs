//! Converse request validation: content blocks, tools, inference settings, extended
//! thinking, per model family.

use serde_json::{json, Value};

use crate::{validate_converse_request, TINY_PNG_BASE64};

const CLAUDE: &str = "us.anthropic.claude-sonnet-4-20250514-v1:0";
const NOVA: &str = "us.amazon.nova-lite-v1:0";
const LLAMA: &str = "meta.llama3-8b-instruct-v1:0";

fn check(model: &str, body: Value) -> Result<Value, String> {
    validate_converse_request(model, body.to_string().as_bytes())
}

fn err(model: &str, body: Value) -> String {
    check(model, body).expect_err("a 400")
}

fn user(content: Value) -> Value {
    json!({"role": "user", "content": content})
}

fn one(content: Value) -> Value {
    json!({"messages": [user(content)]})
}

fn weather_tools() -> Value {
    json!({"tools": [{"toolSpec": {
        "name": "get_weather",
        "description": "Weather of a city",
        "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}}
    }}]})
}

/// user → assistant toolUse → user toolResult.
fn tool_turns(result_id: &str) -> Value {
    json!([
        user(json!([{"text": "Weather in Paris?"}])),
        {"role": "assistant", "content": [
            {"text": "Checking."},
            {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}}
        ]},
        user(json!([{"toolResult": {
            "toolUseId": result_id,
            "content": [{"text": "18 °C"}, {"json": {"celsius": 18}}],
            "status": "success"
        }}]))
    ])
}

#[test]
fn roles_and_content_blocks() {
    assert!(err(
        CLAUDE,
        json!({"messages": [{"role": "assistant", "content": [{"text": "a"}]}]})
    )
    .starts_with("A conversation must start with a user message. Try again"));
    assert!(err(
        CLAUDE,
        json!({"messages": [user(json!([{"text": "a"}])), user(json!([{"text": "b"}]))]})
    )
    .starts_with("A conversation must alternate between user and assistant roles."));
    let image = |format: &str, bytes: &str| {
        one(json!([{"image": {"format": format, "source": {"bytes": bytes}}}]))
    };
    assert!(check(CLAUDE, image("png", TINY_PNG_BASE64)).is_ok());
    assert_eq!(
        err(CLAUDE, image("bmp", TINY_PNG_BASE64)),
        "1 validation error detected: Value 'bmp' at 'messages.0.member.content.0.member.image.format' failed to satisfy constraint: Member must satisfy enum value set: [png, jpeg, gif, webp]"
    );
    assert!(err(CLAUDE, image("png", "%%not base64")).contains("not valid base64"));
    assert!(err(CLAUDE, image("jpeg", TINY_PNG_BASE64)).contains("is not a valid jpeg image"));
    assert!(err(CLAUDE, one(json!([{"image": {"format": "png"}}])))
        .contains("'messages.0.member.content.0.member.image.source' failed to satisfy constraint: Member must not be null"));
    let reasoning = json!({"messages": [
        user(json!([{"text": "Think"}])),
        {"role": "assistant", "content": [
            {"reasoningContent": {"reasoningText": {"text": "Hmm.", "signature": "sig"}}},
            {"reasoningContent": {"redactedContent": "cmVkYWN0ZWQ="}},
            {"text": "Done."}
        ]},
        user(json!([{"text": "Again"}, {"cachePoint": {"type": "default"}}]))
    ]});
    assert!(check(CLAUDE, reasoning).is_ok());
    assert!(err(CLAUDE, one(json!([{"reasoningContent": {"reasoningText": {"signature": "s"}}}])))
        .contains("reasoningContent.reasoningText.text' failed to satisfy constraint: Member must not be null"));
    assert!(err(CLAUDE, one(json!([{"reasoningContent": {}}])))
        .contains("The ReasoningContentBlock object at messages.0.content.0.reasoningContent must set exactly one"));
    assert!(err(CLAUDE, one(json!([{"text": "a"}, {"cachePoint": {"type": "ephemeral"}}])))
        .contains("cachePoint.type' failed to satisfy constraint: Member must satisfy enum value set: [default]"));
    let system = json!({"messages": [user(json!([{"text": "a"}]))], "system": [{"text": "Be brief"}, {"cachePoint": {"type": "default"}}]});
    assert!(check(CLAUDE, system).is_ok());
    assert!(err(
        CLAUDE,
        json!({"messages": [user(json!([{"text": "a"}]))], "system": [{"image": {}}]})
    )
    .contains("unknown field [image]"));
    assert_eq!(
        err(CLAUDE, json!({"messages": [user(json!([{"text": "a"}]))], "stream": true})),
        "Malformed input request: extraneous key [stream] is not permitted, please reformat your input and try again."
    );
    assert!(err(
        CLAUDE,
        json!({"messages": [user(json!([{"text": "a"}]))], "inferenceConfig": {"max_tokens": 5}})
    )
    .contains("extraneous key [inferenceConfig.max_tokens]"));
    assert!(err(
        CLAUDE,
        json!({"messages": [user(json!([{"text": "a"}]))], "inferenceConfig": {"topP": -0.1}})
    )
    .contains("inferenceConfig.topP"));
    assert_eq!(
        err("amazon.titan-embed-text-v2:0", one(json!([{"text": "a"}]))),
        "This action doesn't support the model that you provided. Try again with a supported text or chat model."
    );
}

#[test]
fn tool_use_and_results_need_a_tool_config_and_matching_ids() {
    let ok = json!({"messages": tool_turns("tooluse_1"), "toolConfig": weather_tools()});
    assert!(check(CLAUDE, ok).is_ok());
    assert_eq!(
        err(CLAUDE, json!({"messages": tool_turns("tooluse_1")})),
        "The toolConfig field must be defined when using toolUse and toolResult content blocks."
    );
    assert!(err(CLAUDE, json!({"messages": tool_turns("tooluse_9"), "toolConfig": weather_tools()}))
        .contains("The toolUseId tooluse_9 of the toolResult block at messages.2.content.0 doesn't match any toolUse block"));
    let mut turns = tool_turns("tooluse_1");
    turns[1]["content"][1]["toolUse"]["input"] = json!("Paris");
    assert!(err(CLAUDE, json!({"messages": turns, "toolConfig": weather_tools()}))
        .contains("'messages.1.member.content.1.member.toolUse.input' failed to satisfy constraint: Member must be a JSON object"));
    let mut turns = tool_turns("tooluse_1");
    turns[2]["content"][0]["toolResult"]["status"] = json!("ok");
    assert!(err(CLAUDE, json!({"messages": turns, "toolConfig": weather_tools()}))
        .contains("toolResult.status' failed to satisfy constraint: Member must satisfy enum value set: [success, error]"));
    let in_user =
        one(json!([{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {}}}]));
    assert!(err(CLAUDE, in_user).contains("only valid in an assistant message"));
    let mut body = one(json!([{"text": "a"}]));
    body["toolConfig"] = json!({});
    assert_eq!(
        err(CLAUDE, body.clone()),
        "1 validation error detected: Value null at 'toolConfig.tools' failed to satisfy constraint: Member must not be null"
    );
    body["toolConfig"] =
        json!({"tools": [{"toolSpec": {"name": "bad name", "inputSchema": {"json": {}}}}]});
    assert!(err(CLAUDE, body.clone())
        .contains("Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+"));
    body["toolConfig"] = json!({"tools": [{"toolSpec": {"name": "f"}}]});
    assert!(err(CLAUDE, body.clone())
        .contains("toolSpec.inputSchema' failed to satisfy constraint: Member must not be null"));
    let mut tools = weather_tools();
    tools["toolChoice"] = json!({"tool": {"name": "get_weather"}});
    body["toolConfig"] = tools.clone();
    assert!(check(CLAUDE, body.clone()).is_ok());
    assert!(check(NOVA, body.clone()).is_ok());
    assert_eq!(
        err(LLAMA, body.clone()),
        "This model doesn't support the toolConfig.toolChoice.tool field. Remove toolConfig.toolChoice.tool and try again."
    );
    tools["toolChoice"] = json!({"tool": {"name": "nope"}});
    body["toolConfig"] = tools.clone();
    assert!(err(CLAUDE, body.clone())
        .contains("The tool nope named by toolConfig.toolChoice.tool is not in toolConfig.tools"));
    tools["toolChoice"] = json!({"auto": {}, "any": {}});
    body["toolConfig"] = tools;
    assert!(err(CLAUDE, body).contains("The ToolChoice object at toolConfig.toolChoice must set exactly one of the following keys: auto, any, tool."));
}

#[test]
fn extended_thinking_is_claude_only_and_checked_like_anthropic() {
    let body = |thinking: Value, config: Value| {
        json!({
            "messages": [user(json!([{"text": "Think"}]))],
            "inferenceConfig": config,
            "additionalModelRequestFields": {"thinking": thinking}
        })
    };
    let enabled = json!({"type": "enabled", "budget_tokens": 1024});
    assert!(check(CLAUDE, body(enabled.clone(), json!({"maxTokens": 2048}))).is_ok());
    assert!(check(
        CLAUDE,
        body(
            enabled.clone(),
            json!({"maxTokens": 2048, "temperature": 1})
        )
    )
    .is_ok());
    assert!(check(
        CLAUDE,
        body(json!({"type": "disabled"}), json!({"temperature": 0.2}))
    )
    .is_ok());
    assert_eq!(
        err(CLAUDE, body(json!({"type": "enabled", "budget_tokens": 1000}), json!({}))),
        "The model returned the following errors: thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
    );
    assert!(
        err(CLAUDE, body(enabled.clone(), json!({"maxTokens": 1024})))
            .contains("`max_tokens` must be greater than `thinking.budget_tokens`")
    );
    assert!(err(
        CLAUDE,
        body(
            enabled.clone(),
            json!({"maxTokens": 4096, "temperature": 0.5})
        )
    )
    .contains("`temperature` may only be set to 1 when thinking is enabled"));
    assert!(err(CLAUDE, body(json!({"type": "on"}), json!({}))).contains("thinking.type"));
    let mut forced = body(enabled.clone(), json!({"maxTokens": 4096}));
    let mut tools = weather_tools();
    tools["toolChoice"] = json!({"any": {}});
    forced["toolConfig"] = tools;
    assert!(err(CLAUDE, forced)
        .contains("Thinking may not be enabled when tool_choice forces tool use."));
    for model in [
        NOVA,
        "amazon.nova-pro-v1:0",
        LLAMA,
        "us.meta.llama3-3-70b-instruct-v1:0",
    ] {
        assert_eq!(
            err(model, body(enabled.clone(), json!({"maxTokens": 2048}))),
            "The model returned the following errors: Malformed input request: #: extraneous key [thinking] is not permitted, please reformat your input and try again.",
            "{model}"
        );
    }
    // Models the fake cannot place get no model-specific checks; other fields pass through.
    let app = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc";
    assert!(check(app, body(enabled, json!({"maxTokens": 2048}))).is_ok());
    let other = json!({"messages": [user(json!([{"text": "a"}]))], "additionalModelRequestFields": {"top_k": 5}});
    assert!(check(NOVA, other).is_ok());
}
