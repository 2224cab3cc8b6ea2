//! `inferenceConfig`, `additionalModelRequestFields` (Claude's extended thinking) and the
//! model families whose rules differ.

use serde_json::{Map, Value};

use super::converse::constraint;

/// Members of `inferenceConfig`.
const INFERENCE_MEMBERS: &[&str] = &["maxTokens", "temperature", "topP", "stopSequences"];

/// Prefix of the messages Bedrock relays from the model provider.
const MODEL_ERRORS: &str = "The model returned the following errors: ";

/// Which rules apply to a model id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `anthropic.*`: extended thinking, every tool choice.
    Claude,
    /// `amazon.nova*`.
    Nova,
    /// `meta.llama*`: no forced tool choice.
    Llama,
    /// Embedding models (`amazon.titan-embed*`, `cohere.embed*`): no Converse.
    Embedding,
    /// Another known provider (`amazon.titan-text*`, `mistral.*`, `cohere.command*`, `ai21.*`, …).
    OtherKnown,
    /// An id the fake cannot place (an application inference profile ARN, `""`): no
    /// model-specific checks.
    Unknown,
}

impl Family {
    /// The family of a model id, inference profile id or ARN.
    pub fn of(model_id: &str) -> Family {
        let id = model_id.rsplit('/').next().unwrap_or(model_id);
        let id = [
            "us.", "eu.", "apac.", "global.", "us-gov.", "ca.", "jp.", "au.",
        ]
        .iter()
        .find_map(|geo| id.strip_prefix(geo))
        .unwrap_or(id);
        if id.starts_with("anthropic.") {
            Family::Claude
        } else if id.starts_with("amazon.nova") {
            Family::Nova
        } else if id.starts_with("meta.llama") {
            Family::Llama
        } else if id.starts_with("amazon.titan-embed") || id.starts_with("cohere.embed") {
            Family::Embedding
        } else if [
            "amazon.",
            "mistral.",
            "cohere.",
            "ai21.",
            "deepseek.",
            "writer.",
        ]
        .iter()
        .any(|p| id.starts_with(p))
        {
            Family::OtherKnown
        } else {
            Family::Unknown
        }
    }
}

/// `inferenceConfig`: `maxTokens` ≥ 1, `temperature`/`topP` in 0..=1, `stopSequences` a list
/// of strings; no other member.
pub(crate) fn validate_inference_config(config: &Value) -> Result<(), String> {
    let Some(config) = config.as_object() else {
        return Err(constraint(
            config,
            "inferenceConfig",
            "Member must be a structure",
        ));
    };
    if let Some(key) = config
        .keys()
        .find(|k| !INFERENCE_MEMBERS.contains(&k.as_str()))
    {
        return Err(format!(
            "Malformed input request: extraneous key [inferenceConfig.{key}] is not permitted, please reformat your input and try again."
        ));
    }
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

/// `additionalModelRequestFields`: an object; its `thinking` only for Claude, and then as
/// Anthropic requires it (a model the fake cannot place takes anything).
pub(crate) fn validate_additional_fields(
    fields: &Value,
    body: &Map<String, Value>,
    family: Family,
) -> Result<(), String> {
    let Some(fields) = fields.as_object() else {
        return Err(constraint(
            fields,
            "additionalModelRequestFields",
            "Member must be a structure",
        ));
    };
    let Some(thinking) = fields.get("thinking") else {
        return Ok(());
    };
    match family {
        Family::Claude => validate_thinking(thinking, body),
        Family::Unknown => Ok(()),
        _ => Err(format!(
            "{MODEL_ERRORS}Malformed input request: #: extraneous key [thinking] is not permitted, please reformat your input and try again."
        )),
    }
}

/// Claude's `thinking`: `{"type": "disabled"}` or `{"type": "enabled", "budget_tokens": n}`
/// with 1024 ≤ n < `maxTokens`, `temperature` unset or 1, no forced tool choice.
fn validate_thinking(thinking: &Value, body: &Map<String, Value>) -> Result<(), String> {
    match thinking.get("type").and_then(Value::as_str) {
        Some("disabled") => return Ok(()),
        Some("enabled") => {}
        _ => {
            return Err(format!(
                "{MODEL_ERRORS}thinking.type: Input should be 'enabled' or 'disabled'"
            ))
        }
    }
    let budget = match thinking.get("budget_tokens") {
        None => {
            return Err(format!(
                "{MODEL_ERRORS}thinking.enabled.budget_tokens: Field required"
            ))
        }
        Some(v) => v.as_i64().ok_or_else(|| {
            format!("{MODEL_ERRORS}thinking.enabled.budget_tokens: Input should be a valid integer")
        })?,
    };
    if budget < 1024 {
        return Err(format!(
            "{MODEL_ERRORS}thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
        ));
    }
    let config = &body.get("inferenceConfig");
    let setting = |key: &str| config.and_then(|c| c.get(key));
    if let Some(max) = setting("maxTokens").and_then(Value::as_i64) {
        if max <= budget {
            return Err(format!(
                "{MODEL_ERRORS}`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
            ));
        }
    }
    if setting("temperature")
        .and_then(Value::as_f64)
        .is_some_and(|t| t != 1.0)
    {
        return Err(format!(
            "{MODEL_ERRORS}`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#feature-compatibility"
        ));
    }
    let choice = body.get("toolConfig").and_then(|t| t.get("toolChoice"));
    if choice.is_some_and(|c| c.get("any").is_some() || c.get("tool").is_some()) {
        return Err(format!(
            "{MODEL_ERRORS}Thinking may not be enabled when tool_choice forces tool use."
        ));
    }
    Ok(())
}
