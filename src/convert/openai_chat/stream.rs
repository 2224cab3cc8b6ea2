//! ConverseStream events → OpenAI `chat.completion.chunk` objects.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::response::{finish_reason, usage_of, Usage};

/// The SSE payload that ends a successful stream (`data: [DONE]`).
pub const DONE: &str = "[DONE]";

/// A mid-stream error object, sent as the last `data:` line (no `[DONE]` after it).
/// OpenAI SDKs raise when a chunk has an `error` key.
pub fn error_chunk(message: &str, kind: &str, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// A regular tool call with its dense OpenAI `index`.
    Tool(usize),
    /// The forced `json_schema` tool: its input is streamed as `content`.
    ForcedJson,
}

/// Turns ConverseStream events into OpenAI chunks, one call per event.
///
/// - The first chunk (`role: assistant`, `content: ""`) goes out on
///   `messageStart`, or before the first content chunk if that never came.
/// - Tool calls get dense 0-based indices in order of appearance.
/// - `messageStop` yields the finish chunk; with `include_usage` the usage
///   chunk (`choices: []`) follows once `metadata` arrives. Every other chunk
///   then carries `"usage": null`, as OpenAI does.
/// - [`ChunkStream::finish`] flushes: a finish chunk (`stop`) if `messageStop`
///   never came, and a usage chunk only if usage is known but unsent.
/// - Events after `finish`, unknown event types and toolUse deltas for a
///   block that never started are ignored.
#[derive(Debug, Clone)]
pub struct ChunkStream {
    model: String,
    id: String,
    created: u64,
    include_usage: bool,
    forced_json_tool: Option<String>,
    started: bool,
    blocks: HashMap<u64, Block>,
    next_tool: usize,
    finish: Option<&'static str>,
    usage: Option<Usage>,
    usage_sent: bool,
    signature: String,
    done: bool,
}

impl ChunkStream {
    pub fn new(
        model: &str,
        id: &str,
        created: u64,
        include_usage: bool,
        forced_json_tool: Option<String>,
    ) -> Self {
        Self {
            model: model.to_string(),
            id: id.to_string(),
            created,
            include_usage,
            forced_json_tool,
            started: false,
            blocks: HashMap::new(),
            next_tool: 0,
            finish: None,
            usage: None,
            usage_sent: false,
            signature: String::new(),
            done: false,
        }
    }

    /// Feeds one event. `payload` is the event body; a body wrapped as
    /// `{"<eventType>": {...}}` is unwrapped.
    pub fn on_event(&mut self, event_type: &str, payload: &Value) -> Vec<Value> {
        if self.done {
            return Vec::new();
        }
        let payload = payload.get(event_type).unwrap_or(payload);
        match event_type {
            "messageStart" => self.start(),
            "contentBlockStart" => self.block_start(payload),
            "contentBlockDelta" => self.block_delta(payload),
            "messageStop" => self.message_stop(payload),
            "metadata" => self.metadata(payload),
            _ => Vec::new(),
        }
    }

    /// End of the upstream stream; call once, then send [`DONE`].
    pub fn finish(&mut self) -> Vec<Value> {
        if self.done {
            return Vec::new();
        }
        let mut out = self.start();
        if self.finish.is_none() {
            self.finish = Some("stop");
            out.push(self.chunk(json!({}), Some("stop")));
        }
        out.extend(self.usage_chunk());
        self.done = true;
        out
    }

    /// Converse usage from `metadata`, once received.
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    /// The finish_reason sent, once `messageStop` (or `finish`) happened.
    pub fn finish_reason(&self) -> Option<&'static str> {
        self.finish
    }

    /// Concatenated reasoning signature deltas (not sent to the client).
    pub fn reasoning_signature(&self) -> Option<&str> {
        (!self.signature.is_empty()).then_some(self.signature.as_str())
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        let choice = json!({"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null});
        let mut chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [choice],
        });
        if self.include_usage {
            chunk["usage"] = Value::Null;
        }
        chunk
    }

    /// The role chunk, the first time only.
    fn start(&mut self) -> Vec<Value> {
        if self.started {
            return Vec::new();
        }
        self.started = true;
        vec![self.chunk(json!({"role": "assistant", "content": ""}), None)]
    }

    fn with_start(&mut self, delta: Value) -> Vec<Value> {
        let mut out = self.start();
        out.push(self.chunk(delta, None));
        out
    }

    fn block_start(&mut self, payload: &Value) -> Vec<Value> {
        let index = block_index(payload);
        let Some(tool) = payload.pointer("/start/toolUse") else {
            return Vec::new();
        };
        let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
        if self.forced_json_tool.as_deref() == Some(name) {
            self.blocks.insert(index, Block::ForcedJson);
            return self.start();
        }
        let k = self.next_tool;
        self.next_tool += 1;
        self.blocks.insert(index, Block::Tool(k));
        let id = tool
            .get("toolUseId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let call = json!({"index": k, "id": id, "type": "function",
                          "function": {"name": name, "arguments": ""}});
        self.with_start(json!({ "tool_calls": [call] }))
    }

    fn block_delta(&mut self, payload: &Value) -> Vec<Value> {
        let index = block_index(payload);
        let Some(delta) = payload.get("delta") else {
            return Vec::new();
        };
        let str_at = |p: &str| delta.pointer(p).and_then(Value::as_str);
        if let Some(text) = str_at("/text") {
            if text.is_empty() {
                return Vec::new();
            }
            return self.with_start(json!({ "content": text }));
        }
        if let Some(piece) = str_at("/toolUse/input") {
            return match self.blocks.get(&index).copied() {
                Some(Block::ForcedJson) if !piece.is_empty() => {
                    self.with_start(json!({ "content": piece }))
                }
                Some(Block::Tool(k)) => {
                    let call = json!({"index": k, "function": {"arguments": piece}});
                    self.with_start(json!({ "tool_calls": [call] }))
                }
                _ => Vec::new(),
            };
        }
        if let Some(text) = str_at("/reasoningContent/text") {
            return self.with_start(json!({ "reasoning_content": text }));
        }
        if let Some(sig) = str_at("/reasoningContent/signature") {
            self.signature.push_str(sig);
        }
        Vec::new()
    }

    fn message_stop(&mut self, payload: &Value) -> Vec<Value> {
        if self.finish.is_some() {
            return Vec::new();
        }
        let stop = payload
            .get("stopReason")
            .and_then(Value::as_str)
            .unwrap_or("end_turn");
        let reason = finish_reason(stop, self.forced_json_tool.is_some());
        self.finish = Some(reason);
        let mut out = self.start();
        out.push(self.chunk(json!({}), Some(reason)));
        out.extend(self.usage_chunk());
        out
    }

    fn metadata(&mut self, payload: &Value) -> Vec<Value> {
        if let Some(usage) = payload.get("usage") {
            self.usage = Some(usage_of(usage));
        }
        if self.finish.is_none() {
            return Vec::new();
        }
        self.usage_chunk().into_iter().collect()
    }

    /// The `choices: []` usage chunk, if wanted, known and not yet sent.
    fn usage_chunk(&mut self) -> Option<Value> {
        let usage = self
            .usage
            .filter(|_| self.include_usage && !self.usage_sent)?;
        self.usage_sent = true;
        Some(json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": super::response::to_openai(&usage),
        }))
    }
}

fn block_index(payload: &Value) -> u64 {
    payload
        .get("contentBlockIndex")
        .and_then(Value::as_u64)
        .unwrap_or(0)
}
