//! The client's body, checked and made into Bedrock's: parse, the checks the proxy relies on,
//! the profile's request chain. Runs once per profile a request is tried on.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::bedrock::Operation;
use crate::core::profiles::Profile;
use crate::error::ProxyError;
use crate::transform::{EndpointKind, RequestContext};

/// A body ready to send to one profile, and what preparing it found out about the request.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub body: Bytes,
    /// The client sent the legacy `prompt` form (response transformers such as
    /// `legacy_completion` need to know).
    pub legacy_form: bool,
}

impl Prepared {
    /// A body sent as it is.
    pub fn verbatim(body: Bytes) -> Prepared {
        Prepared {
            body,
            legacy_form: false,
        }
    }
}

/// The kind of call transformers are told about for `op`.
pub fn endpoint(op: Operation) -> EndpointKind {
    match op {
        Operation::Invoke | Operation::CountTokens => EndpointKind::Invoke,
        Operation::InvokeStream => EndpointKind::InvokeStream,
        Operation::Converse => EndpointKind::Converse,
        Operation::ConverseStream => EndpointKind::ConverseStream,
    }
}

/// What transformers see of a request on `profile`.
pub fn context<'a>(
    profile: &'a Profile,
    endpoint: EndpointKind,
    headers: &'a http::HeaderMap,
    legacy_form: bool,
) -> RequestContext<'a> {
    RequestContext {
        profile: &profile.name,
        model_id: &profile.model_id,
        endpoint,
        headers,
        legacy_form,
    }
}

/// Check `body`, run the profile's request chain on it, serialize it.
pub fn transform(
    profile: &Profile,
    endpoint: EndpointKind,
    headers: &http::HeaderMap,
    mut body: Map<String, Value>,
) -> Result<Prepared, ProxyError> {
    check_body(&body)?;
    crate::transform::anthropic_api::merge_turns(&mut body);
    // check_body allows `prompt` only without `messages`.
    let legacy_form = body.contains_key("prompt");
    profile
        .request_chain
        .apply(&context(profile, endpoint, headers, legacy_form), &mut body)?;
    let body = serde_json::to_vec(&body)
        .map_err(|e| ProxyError::Internal(format!("serialize body: {e}")))?;
    Ok(Prepared {
        body: Bytes::from(body),
        legacy_form,
    })
}

/// A Converse body for `profile`, through the request chain's steps that handle Converse
/// bodies (a profile with a step that refuses them is refused: see `OnConverse`).
pub fn converse(
    profile: &Profile,
    endpoint: EndpointKind,
    headers: &http::HeaderMap,
    body: &Map<String, Value>,
) -> Result<Prepared, ProxyError> {
    let mut body = body.clone();
    profile
        .request_chain
        .apply(&context(profile, endpoint, headers, false), &mut body)?;
    let body = serde_json::to_vec(&body)
        .map_err(|e| ProxyError::Internal(format!("serialize body: {e}")))?;
    Ok(Prepared::verbatim(Bytes::from(body)))
}

/// Parse the client's body into a JSON object, or say what is wrong with it.
pub fn parse_body(raw: &[u8]) -> Result<Map<String, Value>, ProxyError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ProxyError::InvalidRequest(
            "request body is empty; send a JSON object such as {\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":256}".into(),
        ));
    }
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ProxyError::InvalidRequest(format!(
            "request body must be a JSON object, not {}",
            json_kind(&other)
        ))),
        Err(e) => Err(ProxyError::InvalidRequest(format!(
            "request body is not valid JSON: {e}"
        ))),
    }
}

/// "a string", "an array", … for messages about a JSON value.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn bad(msg: String) -> ProxyError {
    ProxyError::InvalidRequest(msg)
}

/// Check the fields the proxy relies on, so obvious mistakes get a 400 without a Bedrock call.
/// Everything else passes through for Bedrock to judge.
pub fn check_body(body: &Map<String, Value>) -> Result<(), ProxyError> {
    match (body.get("messages"), body.get("prompt")) {
        (None, None) => Err(bad(
            "request body needs `messages` (Anthropic Messages API) or `prompt` (legacy text completion), e.g. {\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":256}".into(),
        )),
        (Some(_), Some(_)) => Err(bad(
            "send either `messages` (Messages API) or `prompt` (legacy text completion), not both".into(),
        )),
        (Some(Value::Array(messages)), _) => check_messages(messages),
        (Some(other), _) => Err(bad(format!(
            "`messages` must be an array of {{role, content}} objects, not {}",
            json_kind(other)
        ))),
        (None, Some(Value::String(_))) => Ok(()),
        (None, Some(other)) => Err(bad(format!(
            "`prompt` must be a string, not {}",
            json_kind(other)
        ))),
    }?;
    check_parameters(body)
}

fn check_messages(messages: &[Value]) -> Result<(), ProxyError> {
    if messages.is_empty() {
        return Err(bad("`messages` must not be empty".into()));
    }
    for (i, m) in messages.iter().enumerate() {
        let Some(m) = m.as_object() else {
            return Err(bad(format!(
                "`messages[{i}]` must be an object with `role` and `content`, not {}",
                json_kind(m)
            )));
        };
        if !matches!(
            m.get("role").and_then(Value::as_str),
            Some("user" | "assistant")
        ) {
            return Err(bad(format!(
                "`messages[{i}].role` must be \"user\" or \"assistant\""
            )));
        }
        let blocks_ok = match m.get("content") {
            Some(Value::String(_)) => true,
            Some(Value::Array(blocks)) => blocks.iter().all(Value::is_object),
            _ => false,
        };
        if !blocks_ok {
            return Err(bad(format!(
                "`messages[{i}].content` must be a string or an array of content blocks (objects)"
            )));
        }
    }
    Ok(())
}

fn check_parameters(body: &Map<String, Value>) -> Result<(), ProxyError> {
    for (key, min) in [("max_tokens", 1), ("max_tokens_to_sample", 1), ("top_k", 0)] {
        if let Some(v) = body.get(key) {
            if !v
                .as_u64()
                .is_some_and(|n| n >= min && n <= u64::from(u32::MAX))
            {
                let what = if min == 0 {
                    "a non-negative"
                } else {
                    "a positive"
                };
                return Err(bad(format!(
                    "`{key}` must be {what} integer (at most {}), not {v}",
                    u32::MAX
                )));
            }
        }
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = body.get(key) {
            if !v.is_number() {
                return Err(bad(format!(
                    "`{key}` must be a number, not {}",
                    json_kind(v)
                )));
            }
        }
    }
    if let Some(v) = body.get("stop_sequences") {
        if !v.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
            return Err(bad("`stop_sequences` must be an array of strings".into()));
        }
    }
    if let Some(v) = body.get("anthropic_version") {
        if !v.is_string() {
            return Err(bad(format!(
                "`anthropic_version` must be a string such as \"bedrock-2023-05-31\", not {}",
                json_kind(v)
            )));
        }
    }
    if let Some(v) = body.get("system") {
        let blocks_ok = v
            .as_array()
            .is_some_and(|blocks| blocks.iter().all(Value::is_object));
        if !(v.is_string() || blocks_ok) {
            return Err(bad(
                "`system` must be a string or an array of text blocks".into()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<(), ProxyError> {
        check_body(v.as_object().unwrap())
    }

    #[test]
    fn body_checks_say_what_to_fix() {
        assert!(check(json!({"messages":[{"role":"user","content":"Hi"}]})).is_ok());
        assert!(check(json!({"prompt":"Hi","max_tokens_to_sample":5})).is_ok());
        let e = check(json!({"max_tokens":5})).unwrap_err().to_string();
        assert!(e.contains("`messages`") && e.contains("`prompt`"), "{e}");
        let e = check(json!({"messages":"Hi"})).unwrap_err().to_string();
        assert!(e.contains("must be an array"), "{e}");
        let e = check(json!({"messages":[{"role":"bot","content":"x"}]}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("messages[0].role"), "{e}");
        let e = check(json!({"messages":[{"role":"user","content":"x"}],"max_tokens":"10"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_tokens"), "{e}");
        assert!(parse_body(b"[1]")
            .unwrap_err()
            .to_string()
            .contains("an array"));
        assert!(parse_body(b"{")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
        assert!(parse_body(b"  ").unwrap_err().to_string().contains("empty"));
        let e =
            check(json!({"messages":[{"role":"user","content":"x"}],"max_tokens":4294967296u64}))
                .unwrap_err()
                .to_string();
        assert!(e.contains("at most 4294967295"), "{e}");
        assert!(check(json!({"messages":[{"role":"user","content":"x"}],"top_k":0})).is_ok());
    }

    #[test]
    fn consecutive_turns_of_one_role_are_merged() {
        let mut body = json!({"messages": [
            {"role": "user", "content": "a"},
            {"role": "user", "content": [{"type": "image", "source": {}}]},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"},
            {"role": "user", "content": "d"}
        ]})
        .as_object()
        .unwrap()
        .clone();
        crate::transform::anthropic_api::merge_turns(&mut body);
        assert_eq!(
            Value::Object(body)["messages"],
            json!([
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image", "source": {}}]},
                {"role": "assistant", "content": "b"},
                {"role": "user", "content": [{"type": "text", "text": "c"}, {"type": "text", "text": "d"}]}
            ])
        );
    }
}
