//! `legacy_prompt`: converts the legacy Text Completions body to the Messages API.
//!
//! `{"prompt": "\n\nHuman: Hi\n\nAssistant:", "max_tokens_to_sample": 100}` becomes
//! `{"messages": [{"role":"user","content":"Hi"}], "max_tokens": 100}`. A transcript becomes
//! alternating user/assistant messages (consecutive turns of one role are joined), text before
//! the first `Human:` becomes `system`, the trailing empty `Assistant:` is dropped and a
//! non-empty last assistant turn is kept as a prefill. A prompt without markers becomes one
//! user message. `stop_sequences`, `temperature`, `top_p` and `top_k` pass through.

use serde_json::{json, Map, Value};

use super::{OnConverse, RequestContext, RequestTransformer, TransformError};

#[derive(Debug, Clone, Copy, Default)]
pub struct LegacyPrompt;

const HUMAN: &str = "Human:";
const ASSISTANT: &str = "Assistant:";

/// Split a legacy transcript into (system, [(role, text)]).
pub fn parse_transcript(prompt: &str) -> (Option<String>, Vec<(&'static str, String)>) {
    // Find every "\n\nHuman:" / "\n\nAssistant:" marker (also at the very start).
    let mut marks: Vec<(usize, usize, &'static str)> = Vec::new();
    for (marker, role) in [(HUMAN, "user"), (ASSISTANT, "assistant")] {
        if prompt.starts_with(marker) {
            marks.push((0, marker.len(), role));
        }
        let needle = format!("\n\n{marker}");
        marks.extend(
            prompt
                .match_indices(&needle)
                .map(|(i, _)| (i, needle.len(), role)),
        );
    }
    marks.sort_by_key(|m| m.0);
    if marks.is_empty() {
        return (None, vec![("user", prompt.to_string())]);
    }
    let preamble = prompt[..marks[0].0].trim();
    let system = (!preamble.is_empty()).then(|| preamble.to_string());
    let mut raw: Vec<(&'static str, String)> = marks
        .iter()
        .enumerate()
        .map(|(i, (start, len, role))| {
            let end = marks.get(i + 1).map_or(prompt.len(), |m| m.0);
            (*role, prompt[start + len..end].trim().to_string())
        })
        .collect();
    // The trailing empty "Assistant:" only asks for an answer.
    if matches!(raw.last(), Some(("assistant", t)) if t.is_empty()) {
        raw.pop();
    }
    // Drop empty turns first, then join what is left of one role, so roles alternate.
    let mut turns: Vec<(&'static str, String)> = Vec::new();
    for (role, text) in raw.into_iter().filter(|(_, t)| !t.is_empty()) {
        match turns.last_mut() {
            Some((last_role, last_text)) if *last_role == role => {
                last_text.push_str("\n\n");
                last_text.push_str(&text);
            }
            _ => turns.push((role, text)),
        }
    }
    (system, turns)
}

impl RequestTransformer for LegacyPrompt {
    fn name(&self) -> &str {
        "legacy_prompt"
    }

    /// A Converse body has no legacy `prompt`.
    fn on_converse(&self) -> OnConverse {
        OnConverse::Skip
    }

    fn transform(
        &self,
        _ctx: &RequestContext<'_>,
        body: &mut Map<String, Value>,
    ) -> Result<(), TransformError> {
        if body.contains_key("messages") {
            return Ok(());
        }
        let prompt = match body.remove("prompt") {
            None => return Ok(()),
            Some(Value::String(p)) => p,
            Some(_) => return Err(TransformError("`prompt` must be a string".into())),
        };
        let (system, turns) = parse_transcript(&prompt);
        if turns.is_empty() {
            return Err(TransformError(
                "`prompt` has no text to send (only empty Human:/Assistant: turns)".into(),
            ));
        }
        let messages: Vec<Value> = turns
            .into_iter()
            .map(|(role, text)| json!({ "role": role, "content": text }))
            .collect();
        body.insert("messages".into(), Value::Array(messages));
        if let Some(system) = system {
            body.entry("system").or_insert(Value::String(system));
        }
        if let Some(max) = body.remove("max_tokens_to_sample") {
            body.entry("max_tokens").or_insert(max);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::EndpointKind;

    fn run(body: Value) -> Result<Value, TransformError> {
        let headers = http::HeaderMap::new();
        let ctx = crate::transform::test_context(&headers, EndpointKind::Invoke, true);
        let mut map = body.as_object().cloned().unwrap();
        LegacyPrompt.transform(&ctx, &mut map)?;
        Ok(Value::Object(map))
    }

    #[test]
    fn plain_prompt_is_one_user_message() {
        let out = run(json!({"prompt":"Hello there","max_tokens_to_sample":100,"temperature":0.5}))
            .unwrap();
        assert_eq!(
            out,
            json!({"messages":[{"role":"user","content":"Hello there"}],"max_tokens":100,"temperature":0.5})
        );
    }

    #[test]
    fn transcript_alternates_and_drops_trailing_assistant() {
        let out = run(json!({"prompt":"You are terse.\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: How are you?\n\nAssistant:","max_tokens_to_sample":10,"stop_sequences":["\n\nHuman:"]})).unwrap();
        assert_eq!(out["system"], "You are terse.");
        assert_eq!(
            out["messages"],
            json!([
                {"role":"user","content":"Hi"},
                {"role":"assistant","content":"Hello!"},
                {"role":"user","content":"How are you?"}
            ])
        );
        assert_eq!(out["stop_sequences"], json!(["\n\nHuman:"]));
        assert!(out.get("prompt").is_none() && out.get("max_tokens_to_sample").is_none());
    }

    #[test]
    fn prefill_is_kept_and_same_roles_merge() {
        let (_, turns) = parse_transcript("Human: a\n\nHuman: b\n\nAssistant: {");
        assert_eq!(
            turns,
            vec![
                ("user", "a\n\nb".to_string()),
                ("assistant", "{".to_string())
            ]
        );
    }

    #[test]
    fn empty_turns_never_leave_two_turns_of_one_role() {
        let (_, turns) = parse_transcript("\n\nHuman: a\n\nAssistant:\n\nHuman: b\n\nAssistant:");
        assert_eq!(turns, vec![("user", "a\n\nb".to_string())]);
    }

    #[test]
    fn messages_win_and_bad_prompt_is_refused() {
        let out = run(json!({"messages":[],"prompt":"x"})).unwrap();
        assert_eq!(out["prompt"], "x");
        assert!(run(json!({"prompt": 5})).is_err());
        assert!(run(json!({"prompt": "\n\nHuman: \n\nAssistant:"})).is_err());
    }
}
