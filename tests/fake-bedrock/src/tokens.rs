//! The tokens the fake reported, by type: every successful JSON answer's `usage` and every
//! usage-carrying stream event it wrote, so a test can hold a proxy's accounting against what
//! "Bedrock" said. A stream counts each type once (its reports grow as it goes:
//! `message_delta` repeats the output so far), and only the events actually written.

use serde_json::Value;

/// Tokens by type. Bedrock's `input` excludes prompt-cache reads and writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

fn n(v: &Value, keys: &[&str]) -> u64 {
    keys.iter().find_map(|k| v.get(*k)?.as_u64()).unwrap_or(0)
}

impl Tokens {
    /// A `usage` object of either API (InvokeModel's snake case, Converse's camel case).
    pub fn of_usage(u: &Value) -> Tokens {
        Tokens {
            input: n(u, &["input_tokens", "inputTokens"]),
            output: n(u, &["output_tokens", "outputTokens"]),
            cache_read: n(u, &["cache_read_input_tokens", "cacheReadInputTokens"]),
            cache_write: n(u, &["cache_creation_input_tokens", "cacheWriteInputTokens"]),
        }
    }

    /// What one stream event reports: `message_start`'s message usage, `message_delta`'s
    /// usage, ConverseStream's `metadata` usage.
    pub(crate) fn of_event(e: &Value) -> Tokens {
        let usage = e
            .pointer("/message/usage")
            .or_else(|| e.get("usage"))
            .or_else(|| e.pointer("/metadata/usage"));
        usage.map(Tokens::of_usage).unwrap_or_default()
    }

    pub(crate) fn max(self, o: Tokens) -> Tokens {
        Tokens {
            input: self.input.max(o.input),
            output: self.output.max(o.output),
            cache_read: self.cache_read.max(o.cache_read),
            cache_write: self.cache_write.max(o.cache_write),
        }
    }

    /// `self - earlier`, type by type (for growing reports).
    pub(crate) fn since(self, earlier: Tokens) -> Tokens {
        Tokens {
            input: self.input - earlier.input,
            output: self.output - earlier.output,
            cache_read: self.cache_read - earlier.cache_read,
            cache_write: self.cache_write - earlier.cache_write,
        }
    }

    pub(crate) fn add(&mut self, o: Tokens) {
        self.input += o.input;
        self.output += o.output;
        self.cache_read += o.cache_read;
        self.cache_write += o.cache_write;
    }
}
