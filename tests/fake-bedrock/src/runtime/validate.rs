//! InvokeModel body validation (Bedrock's messages for Anthropic bodies) and the
//! message helpers Converse validation shares.

use serde_json::Value;

pub(crate) fn malformed(detail: &str) -> String {
    format!("Malformed input request: {detail}, please reformat your input and try again.")
}

pub(crate) fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "BigDecimal",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

/// Validate an InvokeModel body the way Bedrock does for Anthropic models
/// (other models only need a JSON object). Returns the parsed body or the
/// `ValidationException` message.
pub fn validate_invoke_body(model_id: &str, body: &[u8]) -> Result<Value, String> {
    let generic = "Malformed input request, please reformat your input and try again.";
    let value: Value = serde_json::from_slice(body).map_err(|_| generic.to_string())?;
    let obj = value.as_object().ok_or_else(|| generic.to_string())?;
    if !model_id.contains("anthropic") {
        return Ok(value);
    }
    if !obj.contains_key("anthropic_version") {
        return Err(malformed("#: required key [anthropic_version] not found"));
    }
    crate::claude::check(obj)?;
    check_max_tokens(obj.get("max_tokens"))?;
    let messages = match obj.get("messages") {
        None => return Err(malformed("#: required key [messages] not found")),
        Some(Value::Array(a)) => a,
        Some(v) => {
            return Err(malformed(&format!(
                "#/messages: expected type: JSONArray, found: {}",
                json_type_name(v)
            )))
        }
    };
    if messages.is_empty() {
        return Err(malformed(
            "#/messages: expected minimum item count: 1, found: 0",
        ));
    }
    check_invoke_roles(messages)?;
    Ok(value)
}

/// `max_tokens`: required, an integer ≥ 1.
fn check_max_tokens(max_tokens: Option<&Value>) -> Result<(), String> {
    match max_tokens {
        None => return Err(malformed("#: required key [max_tokens] not found")),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 1 => {}
            Some(n) => {
                return Err(malformed(&format!(
                    "#/max_tokens: {n} is not greater or equal to 1"
                )))
            }
            None => {
                return Err(malformed(&format!(
                    "#/max_tokens: expected type: Integer, found: {}",
                    json_type_name(v)
                )))
            }
        },
    }
    Ok(())
}

/// Each message has a `user`/`assistant` role and `content`; roles alternate.
fn check_invoke_roles(messages: &[Value]) -> Result<(), String> {
    let mut previous: Option<&str> = None;
    for (i, m) in messages.iter().enumerate() {
        let role = match m.get("role") {
            None => {
                return Err(malformed(&format!(
                    "#/messages/{i}: required key [role] not found"
                )))
            }
            Some(Value::String(r)) => r.as_str(),
            Some(v) => {
                return Err(malformed(&format!(
                    "#/messages/{i}/role: expected type: String, found: {}",
                    json_type_name(v)
                )))
            }
        };
        if role != "user" && role != "assistant" {
            return Err(malformed(&format!(
                "#/messages/{i}/role: {role} is not a valid enum value"
            )));
        }
        if m.get("content").is_none() {
            return Err(malformed(&format!(
                "#/messages/{i}: required key [content] not found"
            )));
        }
        if previous == Some(role) {
            return Err(format!(
                "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"{role}\" roles in a row"
            ));
        }
        previous = Some(role);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_messages() {
        let m = "anthropic.claude-3-haiku-20240307-v1:0";
        let v = |s: &str| validate_invoke_body(m, s.as_bytes());
        assert_eq!(
            v("nope").unwrap_err(),
            "Malformed input request, please reformat your input and try again."
        );
        assert_eq!(
            v("[1]").unwrap_err(),
            "Malformed input request, please reformat your input and try again."
        );
        assert_eq!(v("{}").unwrap_err(), "Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again.");
        assert_eq!(v(r#"{"anthropic_version":"bedrock-2023-05-31","model":"x","max_tokens":1,"messages":[]}"#).unwrap_err(), "Malformed input request: #: extraneous key [model] is not permitted, please reformat your input and try again.");
        assert!(v(r#"{"anthropic_version":"v","stream":true}"#)
            .unwrap_err()
            .contains("extraneous key [stream]"));
        assert!(v(r#"{"anthropic_version":"v","messages":[]}"#)
            .unwrap_err()
            .contains("required key [max_tokens]"));
        assert!(
            v(r#"{"anthropic_version":"v","max_tokens":0,"messages":[]}"#)
                .unwrap_err()
                .contains("max_tokens")
        );
        assert!(
            v(r#"{"anthropic_version":"v","max_tokens":"5","messages":[]}"#)
                .unwrap_err()
                .contains("expected type: Integer, found: String")
        );
        assert!(v(r#"{"anthropic_version":"v","max_tokens":5}"#)
            .unwrap_err()
            .contains("required key [messages]"));
        assert!(
            v(r#"{"anthropic_version":"v","max_tokens":5,"messages":{}}"#)
                .unwrap_err()
                .contains("expected type: JSONArray")
        );
        assert!(
            v(r#"{"anthropic_version":"v","max_tokens":5,"messages":[]}"#)
                .unwrap_err()
                .contains("minimum item count")
        );
        assert!(v(r#"{"anthropic_version":"v","max_tokens":5,"messages":[{"role":"system","content":"x"}]}"#)
            .unwrap_err()
            .contains("not a valid enum value"));
        assert!(v(r#"{"anthropic_version":"v","max_tokens":5,"messages":[{"role":"user","content":"x"},{"role":"user","content":"y"}]}"#)
            .unwrap_err()
            .contains("roles must alternate"));
        assert!(v(
            r#"{"anthropic_version":"v","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#
        )
        .is_ok());
    }
}
