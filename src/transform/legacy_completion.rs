//! `legacy_completion` (response transformer): answers a legacy `{"prompt": …}` request in the
//! legacy text-completion shape, `{"completion": …, "stop_reason": …}`, instead of the Messages
//! shape Bedrock returns.
//!
//! ```toml
//! [[response_transformers]]       # or [[profiles.NAME.response_transformers]]
//! name = "legacy_completion"
//! # always = true                 # convert without the client asking (see below)
//! ```
//!
//! It only ever touches answers to requests the client sent in the legacy form (which
//! `legacy_prompt` turned into a Messages request); Messages requests are never converted. Of
//! those, it converts when the client asks with the header `x-legacy-completion: true` (also
//! `1` or `yes`), or every one when `always = true` (for a profile dedicated to old clients
//! that cannot send a header).
//!
//! `/invoke`: `{"type":"completion","id","model","completion","stop_reason","stop","usage"}`;
//! `completion` is the text of all text blocks. `stop_reason`: `end_turn` becomes
//! `stop_sequence` with `stop` `"\n\nHuman:"` (what the legacy API reported for a finished
//! turn), `stop_sequence` keeps its `stop_sequence` as `stop`, `max_tokens` stays; any other
//! reason is passed on as it is.
//!
//! `/invoke_stream`: each text delta becomes an event `completion` with
//! `{"type":"completion","completion":"<text>","stop_reason":null,"stop":null}`; `message_delta`
//! becomes the final `completion` event with `completion: ""` and the stop reason as above.
//! `message_start`, `content_block_start`/`stop`, non-text deltas, `ping` and `message_stop`
//! are dropped (so Bedrock's invocation metrics, carried by `message_stop`, are not sent);
//! `error` and unknown events pass unchanged.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{EventAction, OptionsError, RequestContext, ResponseTransformer, TransformError};

/// The request header with which a legacy client asks for legacy answers.
pub const LEGACY_COMPLETION_HEADER: &str = "x-legacy-completion";

/// The stop sequence the legacy API reported when the model finished its turn.
const HUMAN_STOP: &str = "\n\nHuman:";

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyCompletionOptions {
    /// Convert every legacy-form request's answer, without the header.
    #[serde(default)]
    pub always: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct LegacyCompletion {
    always: bool,
}

impl LegacyCompletion {
    pub fn new(options: LegacyCompletionOptions) -> Result<Self, OptionsError> {
        Ok(LegacyCompletion {
            always: options.always,
        })
    }

    /// Whether this request's answer is converted.
    pub fn applies(&self, ctx: &RequestContext<'_>) -> bool {
        ctx.legacy_form && (self.always || asked(ctx.headers))
    }
}

fn asked(headers: &http::HeaderMap) -> bool {
    headers
        .get(LEGACY_COMPLETION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"))
}

/// Messages `stop_reason` (+ `stop_sequence`) → legacy `stop_reason` and `stop`.
fn legacy_stop(stop_reason: &Value, stop_sequence: &Value) -> (Value, Value) {
    match stop_reason.as_str() {
        Some("end_turn") => (json!("stop_sequence"), json!(HUMAN_STOP)),
        Some("stop_sequence") => (json!("stop_sequence"), stop_sequence.clone()),
        Some("max_tokens") => (json!("max_tokens"), Value::Null),
        _ => (stop_reason.clone(), Value::Null),
    }
}

impl ResponseTransformer for LegacyCompletion {
    fn name(&self) -> &str {
        "legacy_completion"
    }

    fn transform_response(
        &self,
        ctx: &RequestContext<'_>,
        body: &mut Value,
    ) -> Result<(), TransformError> {
        if !self.applies(ctx) || body.get("completion").is_some() {
            return Ok(());
        }
        let Some(content) = body.get("content").and_then(Value::as_array) else {
            return Err(TransformError(
                "Bedrock's answer has no `content` array to turn into a completion".into(),
            ));
        };
        let text: String = content
            .iter()
            .filter(|b| b["type"] == "text")
            .filter_map(|b| b["text"].as_str())
            .collect();
        let null = Value::Null;
        let (stop_reason, stop) = legacy_stop(
            body.get("stop_reason").unwrap_or(&null),
            body.get("stop_sequence").unwrap_or(&null),
        );
        let mut out = json!({
            "type": "completion",
            "completion": text,
            "stop_reason": stop_reason,
            "stop": stop,
        });
        for key in ["id", "model", "usage"] {
            if let Some(v) = body.get(key) {
                out[key] = v.clone();
            }
        }
        *body = out;
        Ok(())
    }

    fn transform_event(
        &self,
        ctx: &RequestContext<'_>,
        event: &mut Value,
    ) -> Result<EventAction, TransformError> {
        if !self.applies(ctx) {
            return Ok(EventAction::Keep);
        }
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "content_block_delta" => {
                let delta = &event["delta"];
                if delta["type"] != "text_delta" {
                    return Ok(EventAction::Drop);
                }
                let text = delta["text"].clone();
                *event = json!({
                    "type": "completion",
                    "completion": text,
                    "stop_reason": null,
                    "stop": null,
                });
                Ok(EventAction::Keep)
            }
            "message_delta" => {
                let (stop_reason, stop) = legacy_stop(
                    &event["delta"]["stop_reason"],
                    &event["delta"]["stop_sequence"],
                );
                *event = json!({
                    "type": "completion",
                    "completion": "",
                    "stop_reason": stop_reason,
                    "stop": stop,
                });
                Ok(EventAction::Keep)
            }
            "message_start"
            | "content_block_start"
            | "content_block_stop"
            | "message_stop"
            | "ping" => Ok(EventAction::Drop),
            _ => Ok(EventAction::Keep),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::{obj, test_context, EndpointKind, Registry};

    fn transformer(options: Value) -> std::sync::Arc<dyn ResponseTransformer> {
        Registry::builtin()
            .build_response("legacy_completion", obj(options))
            .unwrap()
    }

    fn asking() -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(LEGACY_COMPLETION_HEADER, "true".parse().unwrap());
        h
    }

    fn answer(stop_reason: &str, stop_sequence: Value) -> Value {
        json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [{"type": "text", "text": "Hello"}, {"type": "tool_use", "id": "t", "name": "x", "input": {}}, {"type": "text", "text": " there"}],
            "stop_reason": stop_reason, "stop_sequence": stop_sequence,
            "usage": {"input_tokens": 3, "output_tokens": 2}
        })
    }

    #[test]
    fn answer_becomes_a_completion() {
        let t = transformer(json!({}));
        let h = asking();
        let ctx = test_context(&h, EndpointKind::Invoke, true);
        let mut body = answer("end_turn", Value::Null);
        t.transform_response(&ctx, &mut body).unwrap();
        assert_eq!(
            body,
            json!({"type": "completion", "id": "msg_1", "model": "m", "completion": "Hello there",
                   "stop_reason": "stop_sequence", "stop": "\n\nHuman:",
                   "usage": {"input_tokens": 3, "output_tokens": 2}})
        );
        let mut body = answer("stop_sequence", json!("END"));
        t.transform_response(&ctx, &mut body).unwrap();
        assert_eq!(
            (&body["stop_reason"], &body["stop"]),
            (&json!("stop_sequence"), &json!("END"))
        );
        let mut body = answer("max_tokens", Value::Null);
        t.transform_response(&ctx, &mut body).unwrap();
        assert_eq!(
            (&body["stop_reason"], &body["stop"]),
            (&json!("max_tokens"), &Value::Null)
        );
        let mut body = answer("refusal", Value::Null);
        t.transform_response(&ctx, &mut body).unwrap();
        assert_eq!(body["stop_reason"], "refusal");
    }

    #[test]
    fn only_legacy_requests_that_ask_unless_always() {
        let t = transformer(json!({}));
        let none = http::HeaderMap::new();
        let mut no = http::HeaderMap::new();
        no.insert(LEGACY_COMPLETION_HEADER, "false".parse().unwrap());
        let h = asking();
        for ctx in [
            test_context(&h, EndpointKind::Invoke, false),
            test_context(&none, EndpointKind::Invoke, true),
            test_context(&no, EndpointKind::Invoke, true),
        ] {
            let mut body = answer("end_turn", Value::Null);
            t.transform_response(&ctx, &mut body).unwrap();
            assert_eq!(body, answer("end_turn", Value::Null));
        }
        let always = transformer(json!({"always": true}));
        let mut body = answer("end_turn", Value::Null);
        always
            .transform_response(&test_context(&none, EndpointKind::Invoke, true), &mut body)
            .unwrap();
        assert_eq!(body["completion"], "Hello there");
        let mut body = answer("end_turn", Value::Null);
        always
            .transform_response(&test_context(&none, EndpointKind::Invoke, false), &mut body)
            .unwrap();
        assert_eq!(
            body["type"], "message",
            "Messages requests are never converted"
        );
    }

    #[test]
    fn answer_without_content_fails_and_legacy_answer_is_kept() {
        let t = transformer(json!({}));
        let h = asking();
        let ctx = test_context(&h, EndpointKind::Invoke, true);
        let mut body = json!({"unexpected": true});
        let e = t.transform_response(&ctx, &mut body).unwrap_err();
        assert!(e.0.contains("no `content`"), "{e}");
        let mut body = json!({"completion": "x", "stop_reason": "stop_sequence"});
        t.transform_response(&ctx, &mut body).unwrap();
        assert_eq!(body["completion"], "x");
    }

    #[test]
    fn stream_events_become_completion_events() {
        let t = transformer(json!({}));
        let h = asking();
        let ctx = test_context(&h, EndpointKind::InvokeStream, true);
        let run = |mut e: Value| (t.transform_event(&ctx, &mut e).unwrap(), e);
        assert_eq!(
            run(json!({"type": "message_start", "message": {}})).0,
            EventAction::Drop
        );
        assert_eq!(
            run(json!({"type": "content_block_start", "index": 0})).0,
            EventAction::Drop
        );
        assert_eq!(run(json!({"type": "ping"})).0, EventAction::Drop);
        let (a, e) = run(
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
        );
        assert_eq!(a, EventAction::Keep);
        assert_eq!(
            e,
            json!({"type": "completion", "completion": "Hi", "stop_reason": null, "stop": null})
        );
        let (a, _) = run(
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{"}}),
        );
        assert_eq!(a, EventAction::Drop);
        assert_eq!(
            run(json!({"type": "content_block_stop", "index": 0})).0,
            EventAction::Drop
        );
        let (a, e) = run(
            json!({"type": "message_delta", "delta": {"stop_reason": "max_tokens", "stop_sequence": null}, "usage": {"output_tokens": 9}}),
        );
        assert_eq!(a, EventAction::Keep);
        assert_eq!(
            e,
            json!({"type": "completion", "completion": "", "stop_reason": "max_tokens", "stop": null})
        );
        assert_eq!(run(json!({"type": "message_stop"})).0, EventAction::Drop);
        let (a, e) = run(json!({"type": "error", "error": {"type": "overloaded_error"}}));
        assert_eq!((a, e["type"].clone()), (EventAction::Keep, json!("error")));
    }

    #[test]
    fn stream_of_messages_request_is_untouched() {
        let t = transformer(json!({"always": true}));
        let h = asking();
        let ctx = test_context(&h, EndpointKind::InvokeStream, false);
        let mut e = json!({"type": "message_start", "message": {}});
        assert_eq!(t.transform_event(&ctx, &mut e).unwrap(), EventAction::Keep);
        assert_eq!(e["type"], "message_start");
    }

    #[test]
    fn options() {
        let e = Registry::builtin()
            .build_response("legacy_completion", obj(json!({"always": "yes"})))
            .err()
            .unwrap();
        assert!(e.to_string().contains("invalid type"), "{e}");
        let e = Registry::builtin()
            .build_response("legacy_completion", obj(json!({"header": "x"})))
            .err()
            .unwrap();
        assert!(e.to_string().contains("unknown option `header`"), "{e}");
    }
}
