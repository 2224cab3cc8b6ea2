//! Bedrock's own token counts, read from every shape an answer comes in:
//!
//! - InvokeModel (Anthropic Messages): `usage` {`input_tokens`, `output_tokens`,
//!   `cache_read_input_tokens`, `cache_creation_input_tokens`};
//! - its stream: `message_start`'s `message.usage`, `message_delta`'s `usage` (output so
//!   far) and the `amazon-bedrock-invocationMetrics` of the last chunk;
//! - Converse: `usage` {`inputTokens`, `outputTokens`, `cacheReadInputTokens`,
//!   `cacheWriteInputTokens`}; ConverseStream: the `metadata` event's `usage`.
//!
//! Prompt-cache reads and writes are their own types: Bedrock's `input` excludes them.

use serde::Deserialize;

pub use crate::aws::Usage;

impl Usage {
    /// The usage of a whole JSON answer (InvokeModel or Converse), if it reports one.
    pub fn of_answer(body: &[u8]) -> Option<Usage> {
        // Most of a body is content: skip the parse when no `usage` key can be in it.
        memchr::memmem::find(body, b"usage\"")?;
        let wire: Wire = serde_json::from_slice(body).ok()?;
        wire.usage.map(Usage::from)
    }
}

/// The usage a stream has reported so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamUsage(pub Usage);

impl StreamUsage {
    /// Whether an event named `name` may carry usage (the others are not parsed).
    pub fn may_carry(name: &str, data: &[u8]) -> bool {
        match name {
            "message_start" | "message_delta" | "message_stop" | "metadata" => true,
            // Legacy text completions: the last chunk carries the invocation metrics.
            "completion" => memchr::memmem::find(data, b"invocationMetrics").is_some(),
            _ => false,
        }
    }

    /// Take in one model event (its JSON), as a stream or a relay decoded it.
    pub fn observe(&mut self, name: &str, data: &[u8]) {
        if !Self::may_carry(name, data) {
            return;
        }
        // The invocation metrics repeat what `message_start` and `message_delta` reported.
        if name == "message_stop" && self.0.input > 0 && self.0.output > 0 {
            return;
        }
        let Ok(wire) = serde_json::from_slice::<Wire>(data) else {
            return;
        };
        let mut seen = Usage::default();
        if let Some(u) = wire.usage {
            seen = seen.max(u.into());
        }
        if let Some(u) = wire.message.and_then(|m| m.usage) {
            seen = seen.max(u.into());
        }
        if let Some(u) = wire.metadata.and_then(|m| m.usage) {
            seen = seen.max(u.into());
        }
        if let Some(m) = wire.invocation_metrics {
            seen = seen.max(m.into());
        }
        self.0 = self.0.max(seen);
    }
}

/// The fields of an answer or event that carry usage; everything else is skipped.
#[derive(Deserialize)]
struct Wire {
    usage: Option<WireUsage>,
    message: Option<Nested>,
    metadata: Option<Nested>,
    #[serde(rename = "amazon-bedrock-invocationMetrics")]
    invocation_metrics: Option<InvocationMetrics>,
}

#[derive(Deserialize)]
struct Nested {
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(alias = "inputTokens", default)]
    input_tokens: u64,
    #[serde(alias = "outputTokens", default)]
    output_tokens: u64,
    #[serde(alias = "cacheReadInputTokens", default)]
    cache_read_input_tokens: u64,
    #[serde(alias = "cacheWriteInputTokens", default)]
    cache_creation_input_tokens: u64,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Usage {
        Usage {
            input: u.input_tokens,
            output: u.output_tokens,
            cache_read: u.cache_read_input_tokens,
            cache_write: u.cache_creation_input_tokens,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvocationMetrics {
    #[serde(default)]
    input_token_count: u64,
    #[serde(default)]
    output_token_count: u64,
    #[serde(default)]
    cache_read_input_token_count: u64,
    #[serde(default)]
    cache_write_input_token_count: u64,
}

impl From<InvocationMetrics> for Usage {
    fn from(m: InvocationMetrics) -> Usage {
        Usage {
            input: m.input_token_count,
            output: m.output_token_count,
            cache_read: m.cache_read_input_token_count,
            cache_write: m.cache_write_input_token_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64, cache_read: u64, cache_write: u64) -> Usage {
        Usage {
            input,
            output,
            cache_read,
            cache_write,
        }
    }

    #[test]
    fn whole_answers_of_both_apis() {
        let invoke = br#"{"id":"m","content":[{"type":"text","text":"usage"}],"usage":{"input_tokens":12,"output_tokens":5,"cache_read_input_tokens":100,"cache_creation_input_tokens":7}}"#;
        assert_eq!(Usage::of_answer(invoke), Some(usage(12, 5, 100, 7)));
        let converse = br#"{"output":{},"usage":{"inputTokens":3,"outputTokens":4,"totalTokens":7,"cacheReadInputTokens":2,"cacheWriteInputTokens":1}}"#;
        assert_eq!(Usage::of_answer(converse), Some(usage(3, 4, 2, 1)));
        assert_eq!(Usage::of_answer(br#"{"inputTokens":9}"#), None);
        assert_eq!(Usage::of_answer(b"not json \"usage\""), None);
    }

    #[test]
    fn a_stream_counts_each_type_once() {
        let mut s = StreamUsage::default();
        let start = br#"{"type":"message_start","message":{"usage":{"input_tokens":10,"output_tokens":1,"cache_read_input_tokens":50}}}"#;
        s.observe("message_start", start);
        s.observe(
            "content_block_delta",
            br#"{"type":"content_block_delta","usage":{"output_tokens":999}}"#,
        );
        s.observe(
            "message_delta",
            br#"{"type":"message_delta","usage":{"output_tokens":6}}"#,
        );
        assert_eq!(s.0, usage(10, 6, 50, 0));
        let stop = br#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":10,"outputTokenCount":6,"invocationLatency":5,"firstByteLatency":2}}"#;
        s.observe("message_stop", stop);
        assert_eq!(s.0, usage(10, 6, 50, 0));
        let mut c = StreamUsage::default();
        let meta = br#"{"metadata":{"usage":{"inputTokens":4,"outputTokens":2,"totalTokens":6,"cacheWriteInputTokens":8},"metrics":{"latencyMs":1}}}"#;
        c.observe("metadata", meta);
        assert_eq!(c.0, usage(4, 2, 0, 8));
    }
}
