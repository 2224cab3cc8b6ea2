//! `redact`: replaces text matching regular expressions before the request leaves the proxy.
//!
//! ```toml
//! [[profiles.eu.request_transformers]]
//! name = "redact"
//! presets = ["email", "aws_access_key"]
//! patterns = [
//!   { regex = "ACME-[0-9]{6}", replacement = "[TICKET]" },
//!   { regex = "(?i)password:\\s*\\S+" },                # replacement "[REDACTED]"
//! ]
//! ```
//!
//! It looks at the text the model reads: `system` (string or text blocks) and every message's
//! `content` (a string; `text` blocks; the string or text blocks inside `tool_result` blocks;
//! `document` blocks with a plain-text source). On a Converse body (`/v1/chat/completions`) it
//! reads the `{"text": …}` blocks of `system`, of each message and inside `toolResult`. Other
//! blocks (images, `tool_use`/`toolUse` input, `json` tool results, `thinking`, whose
//! signature must not change) are left alone, as are all other fields. Rules
//! run in order: presets first, as listed, then patterns. A replacement may refer to groups of
//! its pattern (`$1`, `${name}`; `$$` for a literal `$`). The syntax is that of the Rust `regex`
//! crate (no look-around or back-references); Unicode classes such as `\p{L}` are not enabled.

use std::borrow::Cow;

use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

mod presets;

use presets::luhn;
pub use presets::PRESETS;

use super::{OnConverse, OptionsError, RequestContext, RequestTransformer, TransformError};

/// Replacement of custom patterns that name none.
const DEFAULT_REPLACEMENT: &str = "[REDACTED]";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactOptions {
    /// Names from [`PRESETS`].
    #[serde(default)]
    pub presets: Vec<String>,
    #[serde(default)]
    pub patterns: Vec<RedactPattern>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactPattern {
    pub regex: String,
    #[serde(default)]
    pub replacement: Option<String>,
}

#[derive(Debug, Clone)]
struct Rule {
    regex: Regex,
    replacement: String,
    /// An extra check on each match (the Luhn checksum for card numbers).
    check: Option<fn(&str) -> bool>,
}

#[derive(Debug, Clone)]
pub struct Redact {
    rules: Vec<Rule>,
}

/// A regex error on one line: the crate's message without the multi-line pointer.
fn regex_problem(pattern: &str, e: &regex::Error) -> OptionsError {
    let detail = match e {
        regex::Error::Syntax(s) => s
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error: "))
            .unwrap_or("syntax error")
            .to_string(),
        other => other.to_string(),
    };
    OptionsError::new(format!("invalid regex '{pattern}': {detail}"))
}

impl Redact {
    pub fn new(options: RedactOptions) -> Result<Self, OptionsError> {
        let mut rules = Vec::new();
        for name in &options.presets {
            let Some((_, pattern, replacement, _)) = PRESETS.iter().find(|p| p.0 == name) else {
                let known: Vec<&str> = PRESETS.iter().map(|p| p.0).collect();
                return Err(OptionsError::new(format!(
                    "unknown preset '{name}'; presets: {}",
                    known.join(", ")
                )));
            };
            rules.push(Rule {
                regex: Regex::new(pattern).map_err(|e| regex_problem(pattern, &e))?,
                replacement: replacement.to_string(),
                check: (*name == "credit_card").then_some(luhn as fn(&str) -> bool),
            });
        }
        for p in &options.patterns {
            if p.regex.is_empty() {
                return Err(OptionsError::new("a pattern's `regex` must not be empty"));
            }
            let regex = Regex::new(&p.regex).map_err(|e| regex_problem(&p.regex, &e))?;
            if regex.is_match("") {
                return Err(OptionsError::new(format!(
                    "regex '{}' matches the empty string, so it would insert its replacement everywhere",
                    p.regex
                )));
            }
            rules.push(Rule {
                regex,
                replacement: p
                    .replacement
                    .clone()
                    .unwrap_or_else(|| DEFAULT_REPLACEMENT.to_string()),
                check: None,
            });
        }
        if rules.is_empty() {
            return Err(OptionsError::new(
                "nothing to redact: list `presets` (e.g. [\"email\", \"aws_access_key\"]) or `patterns`",
            ));
        }
        Ok(Redact { rules })
    }

    /// `text` with every rule applied; `None` when nothing changed.
    pub fn redact_text(&self, text: &str) -> Option<String> {
        let mut current: Cow<'_, str> = Cow::Borrowed(text);
        for rule in &self.rules {
            let replaced = match rule.check {
                None => rule.regex.replace_all(&current, rule.replacement.as_str()),
                Some(check) => rule
                    .regex
                    .replace_all(&current, |caps: &regex::Captures<'_>| {
                        if check(&caps[0]) {
                            rule.replacement.clone()
                        } else {
                            caps[0].to_string()
                        }
                    }),
            };
            if let Cow::Owned(s) = replaced {
                current = Cow::Owned(s);
            }
        }
        match current {
            Cow::Owned(s) if s != text => Some(s),
            _ => None,
        }
    }

    fn string(&self, v: &mut Value) {
        if let Value::String(s) = v {
            if let Some(new) = self.redact_text(s) {
                *s = new;
            }
        }
    }

    /// A `content` or `system` value: a string or an array of blocks.
    fn content(&self, v: &mut Value) {
        match v {
            Value::String(_) => self.string(v),
            Value::Array(blocks) => {
                for block in blocks {
                    self.block(block);
                }
            }
            _ => {}
        }
    }

    fn block(&self, block: &mut Value) {
        let Some(obj) = block.as_object_mut() else {
            return;
        };
        match obj.get("type").and_then(Value::as_str) {
            Some("text") => {
                if let Some(t) = obj.get_mut("text") {
                    self.string(t);
                }
            }
            Some("tool_result") => {
                if let Some(c) = obj.get_mut("content") {
                    self.content(c);
                }
            }
            Some("document") => {
                if let Some(source) = obj.get_mut("source").and_then(Value::as_object_mut) {
                    if source.get("type").and_then(Value::as_str) == Some("text") {
                        if let Some(data) = source.get_mut("data") {
                            self.string(data);
                        }
                    }
                }
            }
            // A Converse block names its kind by its one key: `{"text": …}`,
            // `{"toolResult": {"content": [blocks]}}`.
            None => {
                if let Some(t) = obj.get_mut("text") {
                    self.string(t);
                }
                if let Some(c) = obj.get_mut("toolResult").and_then(|r| r.get_mut("content")) {
                    self.content(c);
                }
            }
            _ => {}
        }
    }
}

impl RequestTransformer for Redact {
    fn name(&self) -> &str {
        "redact"
    }

    fn on_converse(&self) -> OnConverse {
        OnConverse::Run
    }

    fn transform(
        &self,
        _ctx: &RequestContext<'_>,
        body: &mut Map<String, Value>,
    ) -> Result<(), TransformError> {
        if let Some(system) = body.get_mut("system") {
            self.content(system);
        }
        if let Some(Value::Array(messages)) = body.get_mut("messages") {
            for m in messages {
                if let Some(c) = m.get_mut("content") {
                    self.content(c);
                }
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
        run_builtin("redact", options, body)
    }

    fn redact(options: Value) -> Redact {
        Redact::new(serde_json::from_value(options).unwrap()).unwrap()
    }

    #[test]
    fn presets_match_what_they_say() {
        let r = redact(json!({"presets": ["email", "aws_access_key", "ipv4", "credit_card"]}));
        assert_eq!(
            r.redact_text("mail jane.doe+x@mail.example.co.uk now")
                .unwrap(),
            "mail [EMAIL] now"
        );
        assert_eq!(
            r.redact_text("key AKIAIOSFODNN7EXAMPLE and ASIAY34FZKBOKMUTVV7A")
                .unwrap(),
            "key [AWS_ACCESS_KEY] and [AWS_ACCESS_KEY]"
        );
        assert_eq!(
            r.redact_text("from 10.0.0.255 to 192.168.1.1").unwrap(),
            "from [IPV4] to [IPV4]"
        );
        // 4111 1111 1111 1111 passes the Luhn check; 4111 1111 1111 1112 does not.
        assert_eq!(
            r.redact_text("card 4111 1111 1111 1111, order 4111-1111-1111-1112")
                .unwrap(),
            "card [CARD_NUMBER], order 4111-1111-1111-1112"
        );
        assert_eq!(r.redact_text("nothing here, 999.1.1.1 or a@b"), None);
    }

    #[test]
    fn string_and_block_forms_everywhere_text_is_read() {
        let body = json!({
            "system": [{"type": "text", "text": "Ops: ops@acme.com"}],
            "messages": [
                {"role": "user", "content": "I am bob@acme.com"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "bob@acme.com", "signature": "sig"},
                    {"type": "text", "text": "Hi bob@acme.com"},
                    {"type": "tool_use", "id": "t1", "name": "lookup", "input": {"q": "bob@acme.com"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "owner: eve@acme.com"},
                    {"type": "tool_result", "tool_use_id": "t2", "content": [{"type": "text", "text": "eve@acme.com"}]},
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "cc eve@acme.com"}},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "eve@acme.com"}}
                ]}
            ],
            "metadata": {"user_id": "bob@acme.com"}
        });
        let out = run(json!({"presets": ["email"]}), body).unwrap();
        assert_eq!(out["system"][0]["text"], "Ops: [EMAIL]");
        assert_eq!(out["messages"][0]["content"], "I am [EMAIL]");
        let a = &out["messages"][1]["content"];
        assert_eq!(a[0]["thinking"], "bob@acme.com", "thinking is signed");
        assert_eq!(a[1]["text"], "Hi [EMAIL]");
        assert_eq!(a[2]["input"]["q"], "bob@acme.com");
        let u = &out["messages"][2]["content"];
        assert_eq!(u[0]["content"], "owner: [EMAIL]");
        assert_eq!(u[1]["content"][0]["text"], "[EMAIL]");
        assert_eq!(u[2]["source"]["data"], "cc [EMAIL]");
        assert_eq!(u[3]["source"]["data"], "eve@acme.com");
        assert_eq!(out["metadata"]["user_id"], "bob@acme.com");

        let out = run(json!({"presets": ["email"]}), json!({"system": "x@y.io"})).unwrap();
        assert_eq!(out["system"], "[EMAIL]");
    }

    #[test]
    fn custom_patterns_in_order_with_groups() {
        let out = run(
            json!({"patterns": [
                {"regex": "ACME-([0-9]{6})", "replacement": "[TICKET-$1]"},
                {"regex": "(?i)password:\\s*\\S+"},
            ]}),
            json!({"messages": [{"role": "user", "content": "ACME-123456 Password: hunter2"}]}),
        )
        .unwrap();
        assert_eq!(out["messages"][0]["content"], "[TICKET-123456] [REDACTED]");
    }

    #[test]
    fn converse_text_system_and_tool_results_are_redacted() {
        let body = json!({
            "system": [{"text": "ops: a@b.co"}, {"cachePoint": {"type": "default"}}],
            "messages": [
                {"role": "user", "content": [{"text": "mail a@b.co"}, {"image": {"format": "png", "source": {"bytes": "a@b.co"}}}]},
                {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "f", "input": {"to": "a@b.co"}}}]},
                {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "sent to a@b.co"}, {"json": {"to": "a@b.co"}}]}}]}
            ]
        });
        let out = crate::transform::run_builtin_on(
            crate::transform::EndpointKind::Converse,
            "redact",
            json!({"presets": ["email"]}),
            body,
        )
        .unwrap();
        assert_eq!(out["system"][0]["text"], "ops: [EMAIL]");
        assert_eq!(out["messages"][0]["content"][0]["text"], "mail [EMAIL]");
        assert_eq!(
            out["messages"][0]["content"][1]["image"]["source"]["bytes"],
            "a@b.co"
        );
        assert_eq!(
            out["messages"][1]["content"][0]["toolUse"]["input"]["to"],
            "a@b.co"
        );
        let result = &out["messages"][2]["content"][0]["toolResult"]["content"];
        assert_eq!(result[0]["text"], "sent to [EMAIL]");
        assert_eq!(
            result[1]["json"]["to"], "a@b.co",
            "structured tool input/output is left alone"
        );
    }

    #[test]
    fn missing_fields_are_fine() {
        let out = run(json!({"presets": ["email"]}), json!({"prompt": "a@b.co"})).unwrap();
        assert_eq!(out["prompt"], "a@b.co", "only Messages fields are read");
        let out = run(
            json!({"presets": ["email"]}),
            json!({"messages": [{"role": "user"}, {"role": "user", "content": 5}]}),
        )
        .unwrap();
        assert_eq!(out["messages"][1]["content"], 5);
    }

    #[test]
    fn bad_options() {
        let e = run(json!({}), json!({})).unwrap_err();
        assert!(e.contains("nothing to redact"), "{e}");
        let e = run(json!({"presets": ["phone"]}), json!({})).unwrap_err();
        assert!(
            e.contains("unknown preset 'phone'; presets: email, aws_access_key"),
            "{e}"
        );
        let e = run(json!({"patterns": [{"regex": "(unclosed"}]}), json!({})).unwrap_err();
        assert!(
            e.contains("invalid regex '(unclosed': unclosed group"),
            "{e}"
        );
        assert!(!e.contains('\n'), "one line: {e}");
        let e = run(json!({"patterns": [{"regex": "x*"}]}), json!({})).unwrap_err();
        assert!(e.contains("matches the empty string"), "{e}");
        let e = run(json!({"patterns": ["x"]}), json!({})).unwrap_err();
        assert!(e.contains("invalid type"), "{e}");
        let e = run(json!({"patterns": [{"regx": "x"}]}), json!({})).unwrap_err();
        assert!(e.contains("unknown option `regx`"), "{e}");
    }
}
