//! Bedrock's token counts of one request, by type, as every surface reports them. Prompt-cache
//! reads and writes are their own types: Bedrock's `input` excludes them. Read by the
//! metrics (all surfaces) and by the OpenAI converter (its `usage` block).

/// Tokens of one request, by type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

impl Usage {
    pub fn is_empty(&self) -> bool {
        *self == Usage::default()
    }

    /// Each type the larger of the two: the counts a stream reports grow as it goes
    /// (`message_delta` repeats the output so far; the invocation metrics repeat it all).
    pub fn max(self, o: Usage) -> Usage {
        Usage {
            input: self.input.max(o.input),
            output: self.output.max(o.output),
            cache_read: self.cache_read.max(o.cache_read),
            cache_write: self.cache_write.max(o.cache_write),
        }
    }

    pub fn add(&mut self, o: Usage) {
        self.input += o.input;
        self.output += o.output;
        self.cache_read += o.cache_read;
        self.cache_write += o.cache_write;
    }
}
