//! What a test scripts: [`Behavior`]s queued on the fake (`FakeBedrock::push`,
//! `push_control`) and the fault knobs of a scripted event stream ([`StreamScript`]).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;

use crate::converse_script::ConverseScript;

/// A scripted answer for one request.
#[derive(Clone, Debug)]
pub enum Behavior {
    /// Answer as if the queue were empty (useful inside `Delay`).
    Default,
    /// JSON error with `x-amzn-ErrorType: <error_type>:<bedrock ns>`.
    Error {
        status: u16,
        error_type: String,
        message: String,
    },
    /// Arbitrary JSON answer with extra headers.
    Json {
        status: u16,
        body: Value,
        headers: Vec<(String, String)>,
    },
    /// Wait (watching for the peer going away) before the inner behaviour.
    Delay(Duration, Box<Behavior>),
    /// Read the request and never answer, until the peer closes.
    Hang,
    /// A scripted event stream (200, `application/vnd.amazon.eventstream`).
    Stream(StreamScript),
    /// Read the request and close the socket without answering.
    CloseWithoutResponse,
    /// A scripted Converse / ConverseStream answer (text, tool uses, reasoning, stop reason,
    /// usage, stream faults), after the usual request validation. Queued for another
    /// operation it answers 500 (a test bug).
    Converse(ConverseScript),
    /// Judge the request the way the default answer does (a Claude InvokeModel body by
    /// Bedrock's rules, a profile-only model's bare id refused), answering the 400 when it
    /// fails, else behave as the inner behaviour.
    Validated(Box<Behavior>),
    /// The default answer (validation included), with this text instead of the echo: on
    /// InvokeModel, its stream, Converse and its stream alike.
    Text(String),
}

impl Behavior {
    pub fn error(status: u16, error_type: &str, message: &str) -> Behavior {
        Behavior::Error {
            status,
            error_type: error_type.to_string(),
            message: message.to_string(),
        }
    }

    /// The usual `429 ThrottlingException`.
    pub fn throttling() -> Behavior {
        Behavior::error(
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        )
    }

    pub fn json(status: u16, body: Value) -> Behavior {
        Behavior::Json {
            status,
            body,
            headers: Vec::new(),
        }
    }

    pub fn delay(d: Duration, then: Behavior) -> Behavior {
        Behavior::Delay(d, Box::new(then))
    }

    /// `then`, once the request passed the default answer's validation.
    pub fn validated(then: Behavior) -> Behavior {
        Behavior::Validated(Box::new(then))
    }

    /// The default answer, saying `text` (see [`Behavior::Text`]).
    pub fn text(text: &str) -> Behavior {
        Behavior::Text(text.to_string())
    }

    pub fn stream(script: StreamScript) -> Behavior {
        Behavior::Stream(script)
    }

    pub fn converse(script: ConverseScript) -> Behavior {
        Behavior::Converse(script)
    }
}

/// How to send an event stream. Event indices are 0-based; "after N" means
/// "once the first N events have been sent".
///
/// On `invoke-with-response-stream` (and `invoke`, `count-tokens`) events are
/// Anthropic Messages events, each wrapped in a `chunk` frame. On
/// `converse-stream` and `converse` they are `ConverseStream` events written
/// `{"<eventType>": {payload}}` (e.g. `{"contentBlockDelta": {...}}`), each
/// sent as its own frame with that `:event-type`.
#[derive(Clone, Debug, Default)]
pub struct StreamScript {
    /// Events to send. `None`: the default echo events (or `chunks` if given).
    pub events: Option<Vec<Value>>,
    /// Text chunks for `messages_stream_events` / `converse_stream_events`
    /// (alternative to `events`).
    pub chunks: Option<Vec<String>>,
    /// Sleep between events (flushing first), watching for the peer closing.
    pub pause_between: Duration,
    /// Write the byte stream in pieces of this many bytes, each its own HTTP
    /// chunk, flushing and sleeping ~1 ms between them (frames get split;
    /// after the first 64 pieces it only yields instead of sleeping).
    pub split_into: Option<usize>,
    /// Send all frames (and the terminating chunk) in a single write.
    pub one_write: bool,
    /// Send the first N events, then wait for the `Notify` (use
    /// `notify_one`, which also works if called before the fake waits).
    pub gate_after: Option<(usize, Arc<Notify>)>,
    /// After N events send an exception frame (type, message), then end the
    /// chunked body properly.
    pub exception_after: Option<(usize, String, String)>,
    /// After N events close the connection without the terminating chunk.
    pub cut_after: Option<usize>,
    /// Event number N (0-based) is sent with a corrupted message CRC; the
    /// remaining events follow normally.
    pub corrupt_after: Option<usize>,
    /// Insert, before the `content_block_stop` (`contentBlockStop`), a text delta of
    /// `eventstream::LARGE_EVENT_TEXT_LEN` (70 000) `x` chars, so one frame
    /// exceeds 64 KB.
    pub extra_large_event: bool,
}
