//! CountTokens: which models it takes and the count it answers (the `input_tokens` invoke and
//! converse report for the same input).

use serde_json::Value;

use super::converse::{constraint, validate_converse_messages, validate_system_blocks};
use super::reply::{converse_echo_source, echo_source};
use super::validate::validate_invoke_body;

/// Whether CountTokens accepts this model id: an Anthropic foundation model,
/// by id or foundation-model ARN. Inference profiles (`us.…`, `eu.…`,
/// `apac.…`, `global.…`, their ARNs) and other providers are refused.
pub fn count_tokens_supported(model_id: &str) -> bool {
    let id = match model_id.strip_prefix("arn:") {
        None => model_id,
        Some(rest) => match rest.split_once("::foundation-model/") {
            Some((_, id)) => id,
            None => return false,
        },
    };
    id.starts_with("anthropic.")
}

/// The CountTokens answer for a body: `Ok(inputTokens)` or the
/// `ValidationException` message. `input.invokeModel.body` is base64 of an
/// InvokeModel body (validated like InvokeModel's, so an Anthropic body needs
/// `anthropic_version` and `max_tokens`); `input.converse` holds Converse's
/// `messages` and `system`. The count equals the `input_tokens` that invoke /
/// converse report for the same input.
pub fn count_tokens(model_id: &str, body: &[u8]) -> Result<u64, String> {
    use base64::Engine as _;
    if !count_tokens_supported(model_id) {
        return Err("The provided model doesn't support counting tokens.".into());
    }
    let generic = "Malformed input request, please reformat your input and try again.";
    let value: Value = serde_json::from_slice(body).map_err(|_| generic.to_string())?;
    let input = match value.get("input") {
        None | Some(Value::Null) => {
            return Err(constraint(&Value::Null, "input", "Member must not be null"))
        }
        Some(Value::Object(o)) => o,
        Some(v) => return Err(constraint(v, "input", "Member must be a structure")),
    };
    if input.len() != 1 {
        return Err(
            "The CountTokensInput object at input must set exactly one of the following keys: invokeModel, converse.".into(),
        );
    }
    if let Some(invoke) = input.get("invokeModel") {
        let b64 = match &invoke["body"] {
            Value::String(s) => s,
            Value::Null => {
                return Err(constraint(
                    &Value::Null,
                    "input.invokeModel.body",
                    "Member must not be null",
                ))
            }
            v => {
                return Err(constraint(
                    v,
                    "input.invokeModel.body",
                    "Member must be a blob (base64 string)",
                ))
            }
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| generic.to_string())?;
        let body = validate_invoke_body(model_id, &raw)?;
        return Ok(echo_source(Some(&body)).1);
    }
    if let Some(converse) = input.get("converse") {
        if !converse.is_object() {
            return Err(constraint(
                converse,
                "input.converse",
                "Member must be a structure",
            ));
        }
        validate_converse_messages(converse.get("messages"), "input.converse.")?;
        validate_system_blocks(converse.get("system"), "input.converse.")?;
        return Ok(converse_echo_source(Some(converse)).1);
    }
    Err(
        "The CountTokensInput object at input must set exactly one of the following keys: invokeModel, converse.".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn count_tokens_takes_foundation_models_and_counts_like_invoke() {
        use base64::Engine as _;
        let m = "anthropic.claude-3-haiku-20240307-v1:0";
        let invoke_body = json!({
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 10,
            "system": "be brief",
            "messages": [{"role": "user", "content": "count these four words"}]
        });
        let b64 = base64::engine::general_purpose::STANDARD.encode(invoke_body.to_string());
        let invoke_req = json!({"input": {"invokeModel": {"body": b64}}}).to_string();
        assert_eq!(count_tokens(m, invoke_req.as_bytes()), Ok(6));
        assert_eq!(echo_source(Some(&invoke_body)).1, 6);
        let converse_req = json!({"input": {"converse": {
            "system": [{"text": "be brief"}],
            "messages": [{"role": "user", "content": [{"text": "count these four words"}]}]
        }}})
        .to_string();
        assert_eq!(count_tokens(m, converse_req.as_bytes()), Ok(6));
        let arn =
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0";
        assert_eq!(count_tokens(arn, converse_req.as_bytes()), Ok(6));
        for refused in [
            "us.anthropic.claude-sonnet-4-20250514-v1:0",
            "eu.anthropic.claude-sonnet-4-20250514-v1:0",
            "apac.anthropic.claude-sonnet-4-20250514-v1:0",
            "global.anthropic.claude-sonnet-4-20250514-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-x-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123",
            "amazon.nova-lite-v1:0",
            "apac",
        ] {
            assert_eq!(
                count_tokens(refused, invoke_req.as_bytes()).unwrap_err(),
                "The provided model doesn't support counting tokens.",
                "{refused}"
            );
        }
        let err = |body: Value| count_tokens(m, body.to_string().as_bytes()).unwrap_err();
        assert!(err(json!({})).contains("'input' failed to satisfy constraint"));
        assert!(err(json!({"input": {}})).contains("exactly one"));
        assert!(
            err(json!({"input": {"invokeModel": {"body": "e30="}, "converse": {}}}))
                .contains("exactly one")
        );
        assert!(err(json!({"input": {"invokeModel": {}}})).contains("input.invokeModel.body"));
        assert_eq!(
            err(json!({"input": {"invokeModel": {"body": "%%%"}}})),
            "Malformed input request, please reformat your input and try again."
        );
        // The InvokeModel body is validated as InvokeModel's: an Anthropic
        // count_tokens body without max_tokens is refused.
        let anthropic_only = json!({"anthropic_version": "bedrock-2023-05-31", "messages": [{"role": "user", "content": "x"}]});
        let b64 = base64::engine::general_purpose::STANDARD.encode(anthropic_only.to_string());
        assert!(err(json!({"input": {"invokeModel": {"body": b64}}}))
            .contains("required key [max_tokens]"));
        assert!(err(
            json!({"input": {"converse": {"messages": [{"role": "user", "content": "x"}]}}})
        )
        .contains("input.converse.messages.0.member.content"));
        assert!(count_tokens(m, b"nope").is_err());
    }
}
