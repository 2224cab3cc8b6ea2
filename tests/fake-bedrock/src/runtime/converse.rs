//! Converse / ConverseStream body validation with Bedrock's messages (also used for
//! CountTokens' `input.converse`).

use std::collections::HashSet;

use serde_json::Value;

use super::blocks::{union_member, validate_member, BlockKind};
use super::inference::{validate_additional_fields, validate_inference_config, Family};
use super::tools::validate_tool_config;

/// Members of Converse's `ContentBlock` union.
const CONTENT_BLOCK_MEMBERS: &[&str] = &[
    "text",
    "image",
    "document",
    "video",
    "audio",
    "toolUse",
    "toolResult",
    "guardContent",
    "cachePoint",
    "reasoningContent",
    "citationsContent",
    "searchResult",
];

/// Members of Converse's `SystemContentBlock` union.
const SYSTEM_BLOCK_MEMBERS: &[&str] = &["text", "guardContent", "cachePoint"];

pub(crate) fn constraint(value: &Value, at: &str, rule: &str) -> String {
    let shown = match value {
        Value::Null => "null".to_string(),
        Value::String(s) => format!("'{s}'"),
        other => format!("'{other}'"),
    };
    format!(
        "1 validation error detected: Value {shown} at '{at}' failed to satisfy constraint: {rule}"
    )
}

/// Check one union-typed block (`ContentBlock` or `SystemContentBlock`): an object setting
/// exactly one known member, that member valid (see `blocks`).
fn validate_block<'a>(
    block: &'a Value,
    at: &str,
    cat: &str,
    kind: &str,
    members: &[&str],
) -> Result<BlockKind<'a>, String> {
    let (name, value) = union_member(block, kind, at, members)?;
    validate_member(name, value, at, cat, kind)
}

const START_WITH_USER: &str = "A conversation must start with a user message. Try again with a conversation that starts with a user message.";
const ALTERNATE: &str = "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.";

/// Check a Converse `messages` list (also used by CountTokens' `converse`). Returns whether
/// it holds `toolUse` or `toolResult` blocks.
pub(crate) fn validate_converse_messages(
    messages: Option<&Value>,
    prefix: &str,
) -> Result<bool, String> {
    let at = format!("{prefix}messages");
    let messages = match messages {
        None | Some(Value::Null) => {
            return Err(constraint(&Value::Null, &at, "Member must not be null"))
        }
        Some(Value::Array(a)) => a,
        Some(v) => return Err(constraint(v, &at, "Member must be a list")),
    };
    let mut previous: Option<&str> = None;
    let mut tools = ToolBlocks::default();
    for (i, m) in messages.iter().enumerate() {
        let (role, blocks) = message_parts(m, &format!("{prefix}messages.{i}"))?;
        for (j, block) in blocks.iter().enumerate() {
            let at = format!("{prefix}messages.{i}.content.{j}");
            let cat = format!("{prefix}messages.{i}.member.content.{j}.member");
            let kind = validate_block(block, &at, &cat, "ContentBlock", CONTENT_BLOCK_MEMBERS)?;
            tools.see(kind, role, &at)?;
        }
        if previous.is_none() && role != "user" {
            return Err(START_WITH_USER.into());
        }
        if previous == Some(role) {
            return Err(ALTERNATE.into());
        }
        previous = Some(role);
    }
    if previous.is_none() {
        return Err(START_WITH_USER.into());
    }
    Ok(tools.any)
}

/// (role, content blocks) of message `at`, or the constraint it breaks.
fn message_parts<'a>(m: &'a Value, at: &str) -> Result<(&'a str, &'a Vec<Value>), String> {
    if !m.is_object() {
        return Err(constraint(
            m,
            &format!("{at}.member"),
            "Member must be a structure",
        ));
    }
    let role = match &m["role"] {
        Value::String(r) if r == "user" || r == "assistant" => r.as_str(),
        Value::Null => {
            return Err(constraint(
                &Value::Null,
                &format!("{at}.member.role"),
                "Member must not be null",
            ))
        }
        other => {
            return Err(constraint(
                other,
                &format!("{at}.member.role"),
                "Member must satisfy enum value set: [user, assistant]",
            ))
        }
    };
    let blocks = match &m["content"] {
        Value::Array(b) => b,
        Value::Null => {
            return Err(constraint(
                &Value::Null,
                &format!("{at}.member.content"),
                "Member must not be null",
            ))
        }
        other => {
            return Err(constraint(
                other,
                &format!("{at}.member.content"),
                "Member must be a list",
            ))
        }
    };
    Ok((role, blocks))
}

pub(crate) fn validate_system_blocks(system: Option<&Value>, prefix: &str) -> Result<(), String> {
    match system {
        None => Ok(()),
        Some(Value::Array(blocks)) => {
            for (i, block) in blocks.iter().enumerate() {
                validate_block(
                    block,
                    &format!("{prefix}system.{i}"),
                    &format!("{prefix}system.{i}.member"),
                    "SystemContentBlock",
                    SYSTEM_BLOCK_MEMBERS,
                )?;
            }
            Ok(())
        }
        Some(v) => Err(constraint(
            v,
            &format!("{prefix}system"),
            "Member must be a list",
        )),
    }
}

/// Top-level members of a Converse request body (`modelId` is a URI member, not one of them).
const BODY_MEMBERS: &[&str] = &[
    "messages",
    "system",
    "inferenceConfig",
    "toolConfig",
    "guardrailConfig",
    "additionalModelRequestFields",
    "additionalModelResponseFieldPaths",
    "promptVariables",
    "requestMetadata",
    "performanceConfig",
];

/// Validate a Converse / ConverseStream body the way Bedrock does, for any model: see
/// [`validate_converse_request`], without the checks that depend on the model.
pub fn validate_converse_body(body: &[u8]) -> Result<Value, String> {
    validate_converse_request("", body)
}

/// Validate a Converse / ConverseStream body for `model_id` the way Bedrock does. Returns the
/// parsed body or the `ValidationException` message.
///
/// - Only Converse's top-level members (`messages`, `system`, `inferenceConfig`, `toolConfig`,
///   `guardrailConfig`, `additionalModelRequestFields`, …); anything else, e.g. `modelId` or
///   the InvokeModel keys `anthropic_version`/`max_tokens`, is an extraneous key.
/// - `messages`: user first, alternating; each content a list of `ContentBlock`s
///   (`{"text": "…"}`, `image`, `toolUse`, `toolResult`, `reasoningContent`, `cachePoint`, …;
///   Anthropic's string content or `{"type": "text", …}` blocks are rejected); `toolUse` only
///   in assistant turns, `toolResult` only in user turns and naming an earlier `toolUse`.
/// - `system`: a list of `SystemContentBlock`s (`text`, `cachePoint`, `guardContent`).
/// - `inferenceConfig`: `maxTokens` ≥ 1, `temperature`/`topP` in 0..=1, `stopSequences` a
///   list of strings, nothing else.
/// - `toolConfig`: required when messages hold `toolUse`/`toolResult`; `tools` (`toolSpec`
///   with `name`, `description`, `inputSchema.json`, or `cachePoint`), `toolChoice`.
/// - `additionalModelRequestFields.thinking`: Claude models only, `type` `enabled` with
///   `budget_tokens` ≥ 1024 and < `maxTokens`, no `temperature` other than 1, no forced tool.
///   Model families are told from the id (after an ARN's last `/` and a geography prefix):
///   `anthropic.`, `amazon.nova`, `meta.llama`, …; an id the fake cannot place (an
///   application inference profile ARN, `""`) gets no model-specific checks.
pub fn validate_converse_request(model_id: &str, body: &[u8]) -> Result<Value, String> {
    let generic = "Malformed input request, please reformat your input and try again.";
    let value: Value = serde_json::from_slice(body).map_err(|_| generic.to_string())?;
    let obj = value.as_object().ok_or_else(|| generic.to_string())?;
    if let Some(key) = obj.keys().find(|k| !BODY_MEMBERS.contains(&k.as_str())) {
        return Err(format!(
            "Malformed input request: extraneous key [{key}] is not permitted, please reformat your input and try again."
        ));
    }
    let family = Family::of(model_id);
    if family == Family::Embedding {
        return Err("This action doesn't support the model that you provided. Try again with a supported text or chat model.".into());
    }
    let tool_blocks = validate_converse_messages(obj.get("messages"), "")?;
    validate_system_blocks(obj.get("system"), "")?;
    if let Some(config) = obj.get("inferenceConfig") {
        validate_inference_config(config)?;
    }
    match obj.get("toolConfig") {
        Some(config) => validate_tool_config(config, family)?,
        None if tool_blocks => {
            return Err("The toolConfig field must be defined when using toolUse and toolResult content blocks.".into())
        }
        None => {}
    }
    if let Some(fields) = obj.get("additionalModelRequestFields") {
        validate_additional_fields(fields, obj, family)?;
    }
    Ok(value)
}

/// The `toolUse` ids seen so far, and whether any tool block was seen.
#[derive(Default)]
struct ToolBlocks {
    ids: HashSet<String>,
    any: bool,
}

impl ToolBlocks {
    fn see(&mut self, kind: BlockKind<'_>, role: &str, at: &str) -> Result<(), String> {
        match kind {
            BlockKind::ToolUse(id) => {
                if role != "assistant" {
                    return Err(format!("The toolUse block at {at} is only valid in an assistant message. Move it to an assistant message and try again."));
                }
                self.ids.insert(id.to_string());
                self.any = true;
            }
            BlockKind::ToolResult(id) => {
                if role != "user" {
                    return Err(format!("The toolResult block at {at} is only valid in a user message. Move it to a user message and try again."));
                }
                if !self.ids.contains(id) {
                    return Err(format!("The toolUseId {id} of the toolResult block at {at} doesn't match any toolUse block in an earlier assistant message."));
                }
                self.any = true;
            }
            BlockKind::Other => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converse_validation_messages() {
        let v = |s: &str| validate_converse_body(s.as_bytes());
        let ok = r#"{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"system":[{"text":"Be brief"}],"inferenceConfig":{"maxTokens":5,"temperature":0.5,"stopSequences":["x"]}}"#;
        assert!(v(ok).is_ok());
        // A toolConfig needs its tools (see selftest::validation for the rest).
        assert!(
            v(r#"{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"toolConfig":{}}"#)
                .unwrap_err()
                .contains(
                    "'toolConfig.tools' failed to satisfy constraint: Member must not be null"
                )
        );
        assert_eq!(
            v("nope").unwrap_err(),
            "Malformed input request, please reformat your input and try again."
        );
        assert_eq!(
            v("{}").unwrap_err(),
            "1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null"
        );
        assert!(v(r#"{"messages":[]}"#)
            .unwrap_err()
            .starts_with("A conversation must start with a user message."));
        assert!(
            v(r#"{"messages":[{"role":"assistant","content":[{"text":"a"}]}]}"#)
                .unwrap_err()
                .starts_with("A conversation must start with a user message.")
        );
        assert!(v(r#"{"messages":[{"role":"user","content":[{"text":"a"}]},{"role":"user","content":[{"text":"b"}]}]}"#)
            .unwrap_err()
            .starts_with("A conversation must alternate between user and assistant roles."));
        assert_eq!(
            v(r#"{"messages":[{"role":"system","content":[{"text":"a"}]}]}"#).unwrap_err(),
            "1 validation error detected: Value 'system' at 'messages.0.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]"
        );
        // Anthropic-style content is not Converse content.
        assert!(v(r#"{"messages":[{"role":"user","content":"Hi"}]}"#)
            .unwrap_err()
            .contains(
                "'messages.0.member.content' failed to satisfy constraint: Member must be a list"
            ));
        assert!(
            v(r#"{"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}"#)
                .unwrap_err()
                .contains("unknown field [type]")
        );
        assert!(v(r#"{"messages":[{"role":"user","content":[{}]}]}"#)
            .unwrap_err()
            .contains("must set exactly one"));
        assert_eq!(
            v(r#"{"messages":[{"role":"user","content":[{"text":"  "}]}]}"#).unwrap_err(),
            "The text field in the ContentBlock object at messages.0.content.0 is blank. Add text to the text field, and try again."
        );
        assert!(
            v(r#"{"messages":[{"role":"user","content":[{"text":"a"}]}],"system":"x"}"#)
                .unwrap_err()
                .contains("'system'")
        );
        assert!(v(r#"{"messages":[{"role":"user","content":[{"text":"a"}]}],"system":[{"text":"a","cachePoint":{}}]}"#)
            .unwrap_err()
            .contains("SystemContentBlock object at system.0 must set exactly one"));
        assert!(v(r#"{"messages":[{"role":"user","content":[{"text":"a"}]}],"inferenceConfig":{"maxTokens":0}}"#)
            .unwrap_err()
            .contains("Value '0' at 'inferenceConfig.maxTokens'"));
        assert!(v(r#"{"messages":[{"role":"user","content":[{"text":"a"}]}],"inferenceConfig":{"temperature":1.5}}"#)
            .unwrap_err()
            .contains("inferenceConfig.temperature"));
        extraneous_keys(v);
    }

    /// The InvokeModel keys and `modelId` are not Converse body members.
    fn extraneous_keys(v: impl Fn(&str) -> Result<Value, String>) {
        for key in ["modelId", "anthropic_version", "max_tokens"] {
            let body = format!(
                r#"{{"messages":[{{"role":"user","content":[{{"text":"a"}}]}}],"{key}":1}}"#
            );
            assert!(v(&body)
                .unwrap_err()
                .contains(&format!("extraneous key [{key}]")));
        }
    }
}
