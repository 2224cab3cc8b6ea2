//! Scripted Converse / ConverseStream answers ([`ConverseScript`], queued with
//! [`Behavior::converse`](crate::Behavior::converse)) and how they render: the `output` of a
//! Converse answer and the ConverseStream events, the way Bedrock sends them.

use serde_json::{json, Value};

use crate::eventstream::approx_tokens;
use crate::script::StreamScript;

/// The `latencyMs` every Converse answer reports.
pub const CONVERSE_LATENCY_MS: u64 = 321;

/// Pieces a tool's input JSON is split into on ConverseStream (fewer when it is shorter).
pub const TOOL_INPUT_PIECES: usize = 3;

/// One content block of a scripted answer.
#[derive(Clone, Debug, PartialEq)]
pub enum ReplyBlock {
    /// `{"text": …}`; streamed as one `contentBlockDelta` per word (with its trailing space).
    Text(String),
    /// `{"toolUse": {toolUseId, name, input}}`; streamed as `contentBlockStart` (id, name) and
    /// [`TOOL_INPUT_PIECES`] `contentBlockDelta`s of the input JSON.
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    /// `{"reasoningContent": {"reasoningText": {text, signature}}}`; streamed as one
    /// `reasoningContent.text` delta per word, then one `reasoningContent.signature` delta.
    Reasoning { text: String, signature: String },
}

/// Why the answer stopped (`stopReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    StopSequence,
    GuardrailIntervened,
    ContentFiltered,
}

impl StopReason {
    /// The wire value (`end_turn`, `tool_use`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::EndTurn => "end_turn",
            StopReason::ToolUse => "tool_use",
            StopReason::MaxTokens => "max_tokens",
            StopReason::StopSequence => "stop_sequence",
            StopReason::GuardrailIntervened => "guardrail_intervened",
            StopReason::ContentFiltered => "content_filtered",
        }
    }
}

/// Token usage of a Converse answer. `totalTokens` is the sum of all four; the cache
/// members appear on the wire only when one of them is non-zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConverseUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_write_input_tokens: u64,
}

impl ConverseUsage {
    /// The `usage` object.
    pub fn to_json(&self) -> Value {
        let total = self.input_tokens
            + self.output_tokens
            + self.cache_read_input_tokens
            + self.cache_write_input_tokens;
        let mut usage = json!({
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "totalTokens": total
        });
        if self.cache_read_input_tokens > 0 || self.cache_write_input_tokens > 0 {
            usage["cacheReadInputTokens"] = json!(self.cache_read_input_tokens);
            usage["cacheWriteInputTokens"] = json!(self.cache_write_input_tokens);
        }
        usage
    }
}

/// A scripted Converse / ConverseStream answer. The request is still validated first (an
/// invalid body gets its 400 and uses up the script). [`Default`] is the fake's default
/// answer: the echo text block `echo: <last user text>`, `end_turn`, computed usage.
#[derive(Clone, Debug, Default)]
pub struct ConverseScript {
    /// The answer's content blocks, in order; empty: the echo text block.
    pub blocks: Vec<ReplyBlock>,
    /// `None`: `tool_use` when a block is a tool use, else `end_turn`.
    pub stop_reason: Option<StopReason>,
    /// `None`: input tokens and prompt-cache tokens counted from the request, output tokens
    /// from the answer's text, reasoning and tool input (words, like every count of the fake).
    pub usage: Option<ConverseUsage>,
    /// ConverseStream faults (`gate_after`, `pause_between`, `split_into`, `one_write`,
    /// `exception_after`, `cut_after`, `corrupt_after`, `extra_large_event`), with event
    /// indices counting this script's events (`messageStart` is event 0). `events` and
    /// `chunks` are ignored. Converse (not streamed) ignores the faults.
    pub faults: StreamScript,
}

impl ConverseScript {
    /// An answer of one text block.
    pub fn text(text: impl Into<String>) -> ConverseScript {
        ConverseScript::default().then_text(text)
    }

    /// An answer of one tool use (stop reason `tool_use`).
    pub fn tool_use(id: &str, name: &str, input: Value) -> ConverseScript {
        ConverseScript::default().then_tool_use(id, name, input)
    }

    /// An answer starting with a reasoning block.
    pub fn reasoning(text: &str, signature: &str) -> ConverseScript {
        ConverseScript::default().then_reasoning(text, signature)
    }

    pub fn then_text(mut self, text: impl Into<String>) -> ConverseScript {
        self.blocks.push(ReplyBlock::Text(text.into()));
        self
    }

    pub fn then_tool_use(mut self, id: &str, name: &str, input: Value) -> ConverseScript {
        self.blocks.push(ReplyBlock::ToolUse {
            id: id.to_string(),
            name: name.to_string(),
            input,
        });
        self
    }

    pub fn then_reasoning(mut self, text: &str, signature: &str) -> ConverseScript {
        self.blocks.push(ReplyBlock::Reasoning {
            text: text.to_string(),
            signature: signature.to_string(),
        });
        self
    }

    pub fn stop(mut self, reason: StopReason) -> ConverseScript {
        self.stop_reason = Some(reason);
        self
    }

    pub fn with_usage(mut self, usage: ConverseUsage) -> ConverseScript {
        self.usage = Some(usage);
        self
    }

    pub fn with_faults(mut self, faults: StreamScript) -> ConverseScript {
        self.faults = faults;
        self
    }

    /// The blocks answered: the script's, or the echo of `echo_text`.
    pub fn answer_blocks(&self, echo_text: &str) -> Vec<ReplyBlock> {
        if self.blocks.is_empty() {
            vec![ReplyBlock::Text(format!("echo: {echo_text}"))]
        } else {
            self.blocks.clone()
        }
    }

    /// The stop reason answered.
    pub fn answer_stop_reason(&self) -> StopReason {
        self.stop_reason.unwrap_or_else(|| {
            let tool = self
                .blocks
                .iter()
                .any(|b| matches!(b, ReplyBlock::ToolUse { .. }));
            if tool {
                StopReason::ToolUse
            } else {
                StopReason::EndTurn
            }
        })
    }

    /// Output tokens of the answer: words of its text, reasoning and tool input JSON.
    pub fn output_tokens(&self, echo_text: &str) -> u64 {
        let text: Vec<String> = self
            .answer_blocks(echo_text)
            .iter()
            .map(|b| match b {
                ReplyBlock::Text(t) => t.clone(),
                ReplyBlock::ToolUse { input, .. } => input.to_string(),
                ReplyBlock::Reasoning { text, .. } => text.clone(),
            })
            .collect();
        approx_tokens(&text.join(" "))
    }

    /// The Converse answer body for `usage`.
    pub fn converse_body(&self, echo_text: &str, usage: ConverseUsage) -> Value {
        let content: Vec<Value> = self
            .answer_blocks(echo_text)
            .iter()
            .map(block_json)
            .collect();
        json!({
            "output": { "message": { "role": "assistant", "content": content } },
            "stopReason": self.answer_stop_reason().as_str(),
            "usage": usage.to_json(),
            "metrics": { "latencyMs": CONVERSE_LATENCY_MS }
        })
    }

    /// The ConverseStream events (`{"<eventType>": {payload}}`) for `usage`.
    pub fn stream_events(&self, echo_text: &str, usage: ConverseUsage) -> Vec<Value> {
        let mut events = vec![json!({ "messageStart": { "role": "assistant" } })];
        if self.blocks.is_empty() {
            // The default answer streams like `eventstream::converse_stream_events`.
            for chunk in ["echo", ": ", echo_text] {
                events.push(delta(0, json!({ "text": chunk })));
            }
            events.push(json!({ "contentBlockStop": { "contentBlockIndex": 0 } }));
        }
        for (index, block) in self.blocks.iter().enumerate() {
            block_events(&mut events, index, block);
        }
        events.push(json!({ "messageStop": { "stopReason": self.answer_stop_reason().as_str() } }));
        events.push(json!({
            "metadata": {
                "usage": usage.to_json(),
                "metrics": { "latencyMs": CONVERSE_LATENCY_MS }
            }
        }));
        events
    }
}

/// A content block of a Converse answer.
fn block_json(block: &ReplyBlock) -> Value {
    match block {
        ReplyBlock::Text(text) => json!({ "text": text }),
        ReplyBlock::ToolUse { id, name, input } => {
            json!({ "toolUse": { "toolUseId": id, "name": name, "input": input } })
        }
        ReplyBlock::Reasoning { text, signature } => json!({
            "reasoningContent": { "reasoningText": { "text": text, "signature": signature } }
        }),
    }
}

fn delta(index: usize, delta: Value) -> Value {
    json!({ "contentBlockDelta": { "contentBlockIndex": index, "delta": delta } })
}

/// The events of block `index`: its start (tool use only), deltas and stop.
fn block_events(events: &mut Vec<Value>, index: usize, block: &ReplyBlock) {
    match block {
        ReplyBlock::Text(text) => {
            for piece in word_pieces(text) {
                events.push(delta(index, json!({ "text": piece })));
            }
        }
        ReplyBlock::ToolUse { id, name, input } => {
            events.push(json!({ "contentBlockStart": {
                "contentBlockIndex": index,
                "start": { "toolUse": { "toolUseId": id, "name": name } }
            }}));
            for piece in even_pieces(&input.to_string(), TOOL_INPUT_PIECES) {
                events.push(delta(index, json!({ "toolUse": { "input": piece } })));
            }
        }
        ReplyBlock::Reasoning { text, signature } => {
            for piece in word_pieces(text) {
                events.push(delta(
                    index,
                    json!({ "reasoningContent": { "text": piece } }),
                ));
            }
            let signature = json!({ "reasoningContent": { "signature": signature } });
            events.push(delta(index, signature));
        }
    }
    events.push(json!({ "contentBlockStop": { "contentBlockIndex": index } }));
}

/// `text` cut after each run of whitespace: `"a b  c"` → `["a ", "b  ", "c"]` (one piece,
/// possibly empty, for text without words).
pub fn word_pieces(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut in_space = false;
    for c in text.chars() {
        if in_space && !c.is_whitespace() {
            pieces.push(std::mem::take(&mut current));
        }
        in_space = c.is_whitespace();
        current.push(c);
    }
    if !current.is_empty() || pieces.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// `s` cut into `n` pieces of about equal length (fewer when `s` has fewer chars).
pub fn even_pieces(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let n = n.clamp(1, chars.len().max(1));
    let size = chars.len().div_ceil(n).max(1);
    let pieces: Vec<String> = chars.chunks(size).map(|c| c.iter().collect()).collect();
    if pieces.is_empty() {
        vec![String::new()]
    } else {
        pieces
    }
}
