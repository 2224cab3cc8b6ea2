//! `max_tokens_limit`: caps `max_tokens`.
//!
//! ```toml
//! [[profiles.eu.request_transformers]]
//! name = "max_tokens_limit"
//! max = 4096        # required, at least 1
//! default = 512     # optional, 1..=max: used when the client sent no max_tokens
//! ```
//!
//! A larger `max_tokens` is lowered to `max`. When the client sent none, `default` is used, else
//! the smaller of `max` and the proxy's usual default (1024), so `anthropic_defaults`, which
//! runs later, never fills in more than the cap. A request whose extended-thinking budget
//! (`thinking.budget_tokens`) no longer fits below the capped `max_tokens` is refused with a
//! 400 that says so, instead of being sent for Bedrock to reject.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    OnConverse, OptionsError, RequestContext, RequestTransformer, TransformError,
    DEFAULT_MAX_TOKENS,
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxTokensLimitOptions {
    pub max: u64,
    #[serde(default)]
    pub default: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct MaxTokensLimit {
    max: u64,
    default: u64,
}

impl MaxTokensLimit {
    pub fn new(options: MaxTokensLimitOptions) -> Result<Self, OptionsError> {
        let max = options.max;
        if max == 0 {
            return Err(OptionsError::new("`max` must be at least 1, got 0"));
        }
        let default = match options.default {
            Some(d) if d == 0 || d > max => {
                return Err(OptionsError::new(format!(
                    "`default` must be between 1 and `max` ({max}), got {d}"
                )))
            }
            Some(d) => d,
            None => max.min(DEFAULT_MAX_TOKENS),
        };
        Ok(MaxTokensLimit { max, default })
    }
}

impl RequestTransformer for MaxTokensLimit {
    fn name(&self) -> &str {
        "max_tokens_limit"
    }

    fn on_converse(&self) -> OnConverse {
        OnConverse::Run
    }

    /// On a Converse body the limit is `inferenceConfig.maxTokens` and the thinking budget
    /// `additionalModelRequestFields.thinking.budget_tokens`.
    fn transform(
        &self,
        ctx: &RequestContext<'_>,
        body: &mut Map<String, Value>,
    ) -> Result<(), TransformError> {
        let converse = ctx.endpoint.is_converse();
        let thinking = if converse {
            body.get("additionalModelRequestFields")
                .and_then(|f| f.get("thinking"))
        } else {
            body.get("thinking")
        };
        let budget = thinking
            .and_then(|t| t.get("budget_tokens"))
            .and_then(Value::as_u64);
        let (fields, key) = if converse {
            let config = body
                .entry("inferenceConfig")
                .or_insert_with(|| Value::Object(Map::new()));
            let Some(config) = config.as_object_mut() else {
                return Err(TransformError("`inferenceConfig` must be an object".into()));
            };
            (config, "maxTokens")
        } else {
            (body, "max_tokens")
        };
        let capped = match fields.get(key) {
            None | Some(Value::Null) => self.default,
            Some(v) => match v.as_u64() {
                Some(n) => n.min(self.max),
                None => {
                    return Err(TransformError(format!(
                        "`{key}` must be a positive integer, not {v}"
                    )))
                }
            },
        };
        fields.insert(key.into(), Value::from(capped));
        if let Some(budget) = budget {
            if budget >= capped {
                let what = if converse {
                    "the thinking budget that `reasoning_effort` asks for"
                } else {
                    "`thinking.budget_tokens`"
                };
                return Err(TransformError(format!(
                    "{what} ({budget}) must be less than `max_tokens`, which this profile limits to {capped}; lower the thinking budget"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::run_builtin;
    use serde_json::json;

    fn run(options: Value, body: Value) -> Result<Value, String> {
        run_builtin("max_tokens_limit", options, body)
    }

    #[test]
    fn caps_and_keeps() {
        assert_eq!(
            run(json!({"max": 4096}), json!({"max_tokens": 10000})).unwrap()["max_tokens"],
            4096
        );
        assert_eq!(
            run(json!({"max": 4096}), json!({"max_tokens": 100})).unwrap()["max_tokens"],
            100
        );
        assert_eq!(
            run(json!({"max": 4096}), json!({"max_tokens": 4096})).unwrap()["max_tokens"],
            4096
        );
    }

    #[test]
    fn converse_caps_inference_config_and_checks_the_reasoning_budget() {
        let run = |body| {
            crate::transform::run_builtin_on(
                crate::transform::EndpointKind::Converse,
                "max_tokens_limit",
                json!({"max": 4096}),
                body,
            )
        };
        let out =
            run(json!({"inferenceConfig": {"maxTokens": 10000, "temperature": 0.5}})).unwrap();
        assert_eq!(
            out["inferenceConfig"],
            json!({"maxTokens": 4096, "temperature": 0.5})
        );
        assert!(out.get("max_tokens").is_none());
        let out = run(json!({"messages": []})).unwrap();
        assert_eq!(out["inferenceConfig"]["maxTokens"], 1024);
        let e = run(json!({"inferenceConfig": {"maxTokens": 8000},
            "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 8000}}}))
        .unwrap_err();
        assert!(e.contains("reasoning_effort") && e.contains("4096"), "{e}");
    }

    #[test]
    fn missing_max_tokens_gets_a_default_within_the_cap() {
        assert_eq!(
            run(json!({"max": 4096}), json!({})).unwrap()["max_tokens"],
            1024
        );
        assert_eq!(
            run(json!({"max": 300}), json!({})).unwrap()["max_tokens"],
            300
        );
        assert_eq!(
            run(json!({"max": 4096, "default": 2000}), json!({})).unwrap()["max_tokens"],
            2000
        );
    }

    #[test]
    fn options_out_of_range() {
        let e = run(json!({"max": 0}), json!({})).unwrap_err();
        assert!(e.contains("`max` must be at least 1, got 0"), "{e}");
        let e = run(json!({"max": -5}), json!({})).unwrap_err();
        assert!(e.contains("invalid value: integer `-5`"), "{e}");
        let e = run(json!({"max": 10, "default": 11}), json!({})).unwrap_err();
        assert!(e.contains("between 1 and `max` (10), got 11"), "{e}");
        let e = run(json!({"max": 10, "default": 0}), json!({})).unwrap_err();
        assert!(e.contains("got 0"), "{e}");
        let e = run(json!({}), json!({})).unwrap_err();
        assert!(e.contains("missing option `max`"), "{e}");
        let e = run(json!({"max": "many"}), json!({})).unwrap_err();
        assert!(e.contains("invalid type"), "{e}");
    }

    #[test]
    fn thinking_budget_that_no_longer_fits_is_refused() {
        let body =
            json!({"max_tokens": 20000, "thinking": {"type": "enabled", "budget_tokens": 8000}});
        let e = run(json!({"max": 4096}), body).unwrap_err();
        assert!(e.contains("thinking.budget_tokens` (8000)"), "{e}");
        assert!(e.contains("4096"), "{e}");
        let body =
            json!({"max_tokens": 20000, "thinking": {"type": "enabled", "budget_tokens": 2000}});
        assert_eq!(run(json!({"max": 4096}), body).unwrap()["max_tokens"], 4096);
    }

    #[test]
    fn non_integer_max_tokens_is_refused() {
        let e = run(json!({"max": 10}), json!({"max_tokens": "lots"})).unwrap_err();
        assert!(e.contains("positive integer"), "{e}");
    }
}
