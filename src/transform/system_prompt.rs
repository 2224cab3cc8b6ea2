//! `system_prompt`: adds a fixed text to the request's `system` prompt.
//!
//! ```toml
//! [[profiles.eu.request_transformers]]
//! name = "system_prompt"
//! text = "You are the ACME assistant."
//! position = "prepend"          # or "append"; default "prepend"
//! ```
//!
//! - no `system`: it becomes `text`;
//! - `system` a string: `text` and the client's prompt joined with a blank line (`text` first
//!   for `prepend`, last for `append`); an empty string is replaced;
//! - `system` an array of blocks: a `{"type":"text","text":…}` block is inserted first or last,
//!   so the client's blocks (and their `cache_control`) stay as they are.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{OnConverse, OptionsError, RequestContext, RequestTransformer, TransformError};

/// Where the text goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    #[default]
    Prepend,
    Append,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemPromptOptions {
    pub text: String,
    #[serde(default)]
    pub position: Position,
}

#[derive(Debug, Clone)]
pub struct SystemPrompt {
    text: String,
    position: Position,
}

impl SystemPrompt {
    pub fn new(options: SystemPromptOptions) -> Result<Self, OptionsError> {
        if options.text.trim().is_empty() {
            return Err(OptionsError::new("`text` must not be empty"));
        }
        Ok(SystemPrompt {
            text: options.text,
            position: options.position,
        })
    }
}

impl SystemPrompt {
    /// Converse's `system` is a list of `{"text": …}` (and `cachePoint`) blocks. Appended text
    /// goes before a trailing `cachePoint`, so the cached prefix still covers the whole prompt.
    fn converse(&self, body: &mut Map<String, Value>) -> Result<(), TransformError> {
        let block = json!({ "text": self.text });
        let blocks = match body
            .entry("system")
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(blocks) => blocks,
            _ => {
                return Err(TransformError(
                    "Converse `system` must be an array of blocks".into(),
                ))
            }
        };
        match self.position {
            Position::Prepend => blocks.insert(0, block),
            Position::Append => {
                let at = blocks
                    .iter()
                    .rposition(|b| b.get("cachePoint").is_none())
                    .map_or(0, |i| i + 1);
                blocks.insert(at, block);
            }
        }
        Ok(())
    }
}

impl RequestTransformer for SystemPrompt {
    fn name(&self) -> &str {
        "system_prompt"
    }

    fn on_converse(&self) -> OnConverse {
        OnConverse::Run
    }

    fn transform(
        &self,
        ctx: &RequestContext<'_>,
        body: &mut Map<String, Value>,
    ) -> Result<(), TransformError> {
        if ctx.endpoint.is_converse() {
            return self.converse(body);
        }
        let text = self.text.as_str();
        let new = match body.remove("system") {
            None | Some(Value::Null) => Value::String(text.to_string()),
            Some(Value::String(s)) if s.trim().is_empty() => Value::String(text.to_string()),
            Some(Value::String(s)) => Value::String(match self.position {
                Position::Prepend => format!("{text}\n\n{s}"),
                Position::Append => format!("{s}\n\n{text}"),
            }),
            Some(Value::Array(mut blocks)) => {
                let block = json!({ "type": "text", "text": text });
                match self.position {
                    Position::Prepend => blocks.insert(0, block),
                    Position::Append => blocks.push(block),
                }
                Value::Array(blocks)
            }
            Some(_) => {
                return Err(TransformError(
                    "`system` must be a string or an array of text blocks".into(),
                ))
            }
        };
        body.insert("system".into(), new);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::{run_builtin, run_builtin_on, EndpointKind};

    fn run(options: Value, body: Value) -> Result<Value, String> {
        run_builtin("system_prompt", options, body)
    }

    #[test]
    fn absent_system_becomes_the_text() {
        let out = run(json!({"text": "Be brief."}), json!({"messages": []})).unwrap();
        assert_eq!(out["system"], "Be brief.");
        let out = run(json!({"text": "Be brief."}), json!({"system": ""})).unwrap();
        assert_eq!(out["system"], "Be brief.");
    }

    #[test]
    fn string_system_prepend_and_append() {
        let out = run(json!({"text": "Company."}), json!({"system": "Client."})).unwrap();
        assert_eq!(out["system"], "Company.\n\nClient.");
        let out = run(
            json!({"text": "Company.", "position": "append"}),
            json!({"system": "Client."}),
        )
        .unwrap();
        assert_eq!(out["system"], "Client.\n\nCompany.");
    }

    #[test]
    fn block_system_gets_a_block_and_keeps_cache_control() {
        let client = json!([{"type":"text","text":"Client.","cache_control":{"type":"ephemeral"}}]);
        let out = run(
            json!({"text": "Company."}),
            json!({"system": client.clone()}),
        )
        .unwrap();
        assert_eq!(
            out["system"],
            json!([{"type":"text","text":"Company."}, client[0].clone()])
        );
        let out = run(
            json!({"text": "Company.", "position": "append"}),
            json!({"system": client.clone()}),
        )
        .unwrap();
        assert_eq!(out["system"][1], json!({"type":"text","text":"Company."}));
        assert_eq!(out["system"][0], client[0]);
    }

    fn run_converse(options: Value, body: Value) -> Value {
        run_builtin_on(EndpointKind::Converse, "system_prompt", options, body).unwrap()
    }

    #[test]
    fn converse_system_blocks_get_the_text_before_a_trailing_cache_point() {
        let out = run_converse(json!({"text": "Company."}), json!({"messages": []}));
        assert_eq!(out["system"], json!([{"text": "Company."}]));
        let client = json!([{"text": "Client."}, {"cachePoint": {"type": "default"}}]);
        let out = run_converse(json!({"text": "Company."}), json!({"system": client}));
        assert_eq!(
            out["system"],
            json!([{"text": "Company."}, {"text": "Client."}, {"cachePoint": {"type": "default"}}])
        );
        let out = run_converse(
            json!({"text": "Company.", "position": "append"}),
            json!({"system": client}),
        );
        assert_eq!(
            out["system"],
            json!([{"text": "Client."}, {"text": "Company."}, {"cachePoint": {"type": "default"}}])
        );
    }

    #[test]
    fn bad_options_and_bad_system() {
        assert!(run(json!({}), json!({}))
            .unwrap_err()
            .contains("missing option `text`"));
        assert!(run(json!({"text": "  "}), json!({}))
            .unwrap_err()
            .contains("must not be empty"));
        let e = run(json!({"text": "x", "position": "middle"}), json!({})).unwrap_err();
        assert!(e.contains("unknown variant `middle`"), "{e}");
        let e = run(json!({"text": "x", "txt": "y"}), json!({})).unwrap_err();
        assert!(e.contains("unknown option `txt`"), "{e}");
        assert!(run(json!({"text": "x"}), json!({"system": 5}))
            .unwrap_err()
            .contains("`system` must be"));
    }
}
