//! Converse / ConverseStream body validation with Bedrock's messages (also used for
//! CountTokens' `input.converse`).

use serde_json::Value;

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

/// Check one union-typed block (`ContentBlock` or `SystemContentBlock`):
/// an object setting exactly one known member; a `text` member is a
/// non-blank string.
fn validate_block(block: &Value, at: &str, kind: &str, members: &[&str]) -> Result<(), String> {
    let Some(obj) = block.as_object() else {
        return Err(constraint(block, at, "Member must be a structure"));
    };
    if let Some(unknown) = obj.keys().find(|k| !members.contains(&k.as_str())) {
        return Err(format!(
            "The {kind} object at {at} has an unknown field [{unknown}]. Use one of the following: {}.",
            members.join(", ")
        ));
    }
    if obj.len() != 1 {
        return Err(format!(
            "The {kind} object at {at} must set exactly one of the following keys: {}.",
            members.join(", ")
        ));
    }
    if let Some(text) = obj.get("text") {
        match text.as_str() {
            None => {
                return Err(constraint(
                    text,
                    &format!("{at}.text"),
                    "Member must be a string",
                ))
            }
            Some(t) if t.trim().is_empty() => {
                return Err(format!(
                    "The text field in the {kind} object at {at} is blank. Add text to the text field, and try again."
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

const START_WITH_USER: &str = "A conversation must start with a user message. Try again with a conversation that starts with a user message.";
const ALTERNATE: &str = "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.";

/// Check a Converse `messages` list (also used by CountTokens' `converse`).
pub(crate) fn validate_converse_messages(
    messages: Option<&Value>,
    prefix: &str,
) -> Result<(), String> {
    let at = format!("{prefix}messages");
    let messages = match messages {
        None | Some(Value::Null) => {
            return Err(constraint(&Value::Null, &at, "Member must not be null"))
        }
        Some(Value::Array(a)) => a,
        Some(v) => return Err(constraint(v, &at, "Member must be a list")),
    };
    let mut previous: Option<&str> = None;
    for (i, m) in messages.iter().enumerate() {
        let (role, blocks) = message_parts(m, &format!("{prefix}messages.{i}"))?;
        for (j, block) in blocks.iter().enumerate() {
            validate_block(
                block,
                &format!("{prefix}messages.{i}.content.{j}"),
                "ContentBlock",
                CONTENT_BLOCK_MEMBERS,
            )?;
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
    Ok(())
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

/// Validate a Converse / ConverseStream body the way Bedrock does: an object
/// with `messages` (alternating, user first; each content a list of
/// `ContentBlock`s, e.g. `{"text": "…"}` — Anthropic's string content or
/// `{"type": "text", …}` blocks are rejected), optional `system` (a list of
/// `SystemContentBlock`s) and `inferenceConfig` (`maxTokens` ≥ 1,
/// `temperature`/`topP` in 0..=1, `stopSequences` a list of strings).
/// Other top-level members are accepted, except `modelId` (a URI member) and
/// the InvokeModel keys `anthropic_version`/`max_tokens`, which Converse does
/// not have. Returns the parsed body or the `ValidationException` message.
pub fn validate_converse_body(body: &[u8]) -> Result<Value, String> {
    let generic = "Malformed input request, please reformat your input and try again.";
    let value: Value = serde_json::from_slice(body).map_err(|_| generic.to_string())?;
    let obj = value.as_object().ok_or_else(|| generic.to_string())?;
    for key in ["modelId", "anthropic_version", "max_tokens"] {
        if obj.contains_key(key) {
            return Err(format!(
                "Malformed input request: extraneous key [{key}] is not permitted, please reformat your input and try again."
            ));
        }
    }
    validate_converse_messages(obj.get("messages"), "")?;
    validate_system_blocks(obj.get("system"), "")?;
    if let Some(config) = obj.get("inferenceConfig") {
        validate_inference_config(config)?;
    }
    Ok(value)
}

/// `inferenceConfig`: `maxTokens` ≥ 1, `temperature`/`topP` in 0..=1, `stopSequences` a list
/// of strings.
fn validate_inference_config(config: &Value) -> Result<(), String> {
    let Some(config) = config.as_object() else {
        return Err(constraint(
            config,
            "inferenceConfig",
            "Member must be a structure",
        ));
    };
    if let Some(v) = config.get("maxTokens") {
        match v.as_i64() {
            Some(n) if n >= 1 => {}
            Some(_) => {
                return Err(constraint(
                    v,
                    "inferenceConfig.maxTokens",
                    "Member must have value greater than or equal to 1",
                ))
            }
            None => {
                return Err(constraint(
                    v,
                    "inferenceConfig.maxTokens",
                    "Member must be an integer",
                ))
            }
        }
    }
    for key in ["temperature", "topP"] {
        if let Some(v) = config.get(key) {
            match v.as_f64() {
                Some(x) if (0.0..=1.0).contains(&x) => {}
                _ => {
                    return Err(constraint(
                        v,
                        &format!("inferenceConfig.{key}"),
                        "Member must have value between 0 and 1",
                    ))
                }
            }
        }
    }
    if let Some(v) = config.get("stopSequences") {
        let ok = v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
        if !ok {
            return Err(constraint(
                v,
                "inferenceConfig.stopSequences",
                "Member must be a list of strings",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converse_validation_messages() {
        let v = |s: &str| validate_converse_body(s.as_bytes());
        let ok = r#"{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"system":[{"text":"Be brief"}],"inferenceConfig":{"maxTokens":5,"temperature":0.5,"stopSequences":["x"]}}"#;
        assert!(v(ok).is_ok());
        assert!(
            v(r#"{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"toolConfig":{}}"#)
                .is_ok()
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
