//! `beta_filter`: keeps only the `anthropic_beta` values Bedrock accepts.
//!
//! ```toml
//! [[profiles.eu.request_transformers]]
//! name = "beta_filter"
//! # allow = ["context-1m-2025-08-07"]        # replaces the built-in list
//! # also_allow = ["some-new-beta-2026-01-01"] # added to the list (built-in or `allow`)
//! ```
//!
//! Bedrock takes beta flags in the body as `"anthropic_beta": ["…", …]` and rejects the whole
//! request when one of them is unknown to it. This transformer removes every value not on the
//! list; when none is left, the key is removed. A comma-separated string (the form of
//! Anthropic's `anthropic-beta` header) is accepted and sent as an array. Anything else
//! (a number, an array with a non-string) is refused with a 400.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{OnConverse, OptionsError, RequestContext, RequestTransformer, TransformError};

pub use crate::settings::BEDROCK_BETAS;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BetaFilterOptions {
    /// The allowed values, replacing [`BEDROCK_BETAS`].
    #[serde(default)]
    pub allow: Option<Vec<String>>,
    /// Values allowed in addition.
    #[serde(default)]
    pub also_allow: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct BetaFilter {
    allowed: BTreeSet<String>,
}

impl BetaFilter {
    pub fn new(options: BetaFilterOptions) -> Result<Self, OptionsError> {
        let base: Vec<String> = match options.allow {
            Some(list) => list,
            None => BEDROCK_BETAS.iter().map(|s| s.to_string()).collect(),
        };
        let mut allowed = BTreeSet::new();
        for value in base.into_iter().chain(options.also_allow) {
            let trimmed = value.trim();
            if trimmed.is_empty() || trimmed.contains(',') {
                return Err(OptionsError::new(format!(
                    "'{value}' is not a beta flag name (one name per list item, e.g. \"context-1m-2025-08-07\")"
                )));
            }
            allowed.insert(trimmed.to_string());
        }
        Ok(BetaFilter { allowed })
    }

    pub fn allowed(&self) -> impl Iterator<Item = &str> {
        self.allowed.iter().map(String::as_str)
    }
}

impl RequestTransformer for BetaFilter {
    fn name(&self) -> &str {
        "beta_filter"
    }

    /// Converse bodies carry no `anthropic_beta`: nothing to filter.
    fn on_converse(&self) -> OnConverse {
        OnConverse::Skip
    }

    fn transform(
        &self,
        ctx: &RequestContext<'_>,
        body: &mut Map<String, Value>,
    ) -> Result<(), TransformError> {
        let values: Vec<String> = match body.remove("anthropic_beta") {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    other => Err(TransformError(format!(
                        "`anthropic_beta` must be an array of strings, found {other}"
                    ))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(TransformError(format!(
                    "`anthropic_beta` must be an array of strings, not {other}"
                )))
            }
        };
        let (kept, dropped): (Vec<String>, Vec<String>) = values
            .into_iter()
            .partition(|v| self.allowed.contains(v.as_str()));
        if !dropped.is_empty() {
            tracing::debug!(profile = ctx.profile, dropped = ?dropped, "beta_filter removed beta flags");
        }
        if !kept.is_empty() {
            body.insert(
                "anthropic_beta".into(),
                Value::Array(kept.into_iter().map(Value::String).collect()),
            );
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
        run_builtin("beta_filter", options, body)
    }

    #[test]
    fn keeps_known_drops_unknown_in_order() {
        let out = run(
            json!({}),
            json!({"anthropic_beta": ["prompt-caching-scope-2026-01-05", "context-1m-2025-08-07", "claude-code-20250219", "interleaved-thinking-2025-05-14"]}),
        )
        .unwrap();
        assert_eq!(
            out["anthropic_beta"],
            json!(["context-1m-2025-08-07", "interleaved-thinking-2025-05-14"])
        );
    }

    #[test]
    fn nothing_left_removes_the_key_and_absent_stays_absent() {
        let out = run(
            json!({}),
            json!({"anthropic_beta": ["claude-code-20250219"]}),
        )
        .unwrap();
        assert!(out.get("anthropic_beta").is_none(), "{out}");
        let out = run(json!({}), json!({"anthropic_beta": []})).unwrap();
        assert!(out.get("anthropic_beta").is_none(), "{out}");
        let out = run(json!({}), json!({"messages": []})).unwrap();
        assert_eq!(out, json!({"messages": []}));
    }

    #[test]
    fn header_style_string_becomes_an_array() {
        let out = run(
            json!({}),
            json!({"anthropic_beta": "claude-code-20250219, context-1m-2025-08-07"}),
        )
        .unwrap();
        assert_eq!(out["anthropic_beta"], json!(["context-1m-2025-08-07"]));
    }

    #[test]
    fn allow_replaces_also_allow_extends() {
        let body = json!({"anthropic_beta": ["context-1m-2025-08-07", "new-2026-01-01"]});
        let out = run(json!({"allow": ["new-2026-01-01"]}), body.clone()).unwrap();
        assert_eq!(out["anthropic_beta"], json!(["new-2026-01-01"]));
        let out = run(json!({"also_allow": ["new-2026-01-01"]}), body).unwrap();
        assert_eq!(
            out["anthropic_beta"],
            json!(["context-1m-2025-08-07", "new-2026-01-01"])
        );
    }

    #[test]
    fn bad_values_and_options_are_refused() {
        assert!(run(json!({}), json!({"anthropic_beta": [1]}))
            .unwrap_err()
            .contains("array of strings"));
        assert!(run(json!({}), json!({"anthropic_beta": true}))
            .unwrap_err()
            .contains("array of strings"));
        let e = run(json!({"allow": ["a,b"]}), json!({})).unwrap_err();
        assert!(e.contains("not a beta flag name"), "{e}");
        let e = run(json!({"allow": "a"}), json!({})).unwrap_err();
        assert!(e.contains("invalid type"), "{e}");
        let e = run(json!({"alow": []}), json!({})).unwrap_err();
        assert!(e.contains("unknown option `alow`"), "{e}");
    }
}
