//! AWS event-stream frame encoding for the fake Bedrock server, plus the
//! realistic Anthropic Messages streaming event sequence Bedrock emits from
//! `InvokeModelWithResponseStream` (each event base64-wrapped in a `chunk`
//! frame) and the `ConverseStream` sequence (each event its own frame whose
//! `:event-type` names it and whose payload is the event's JSON).

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use base64::Engine as _;
use serde_json::{json, Value};

/// Length of the text in the oversized delta used to exceed 64 KB per frame.
pub const LARGE_EVENT_TEXT_LEN: usize = 70_000;

fn string_header(name: &'static str, value: &str) -> Header {
    Header::new(name, HeaderValue::String(value.to_string().into()))
}

/// Encode a message with the given string headers and payload.
pub fn encode_frame(headers: &[(&'static str, &str)], payload: &[u8]) -> Vec<u8> {
    let headers = headers
        .iter()
        .map(|(n, v)| string_header(n, v))
        .collect::<Vec<_>>();
    let message = Message::new_from_parts(headers, payload.to_vec());
    let mut out = Vec::new();
    if let Err(e) = write_message_to(&message, &mut out) {
        panic!("encoding event-stream frame failed: {e}");
    }
    out
}

/// A `chunk` event wrapping `event` the way Bedrock does: the payload is
/// `{"bytes":"<base64 of the event JSON>","p":"..."}`.
pub fn chunk_frame(event: &Value) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(event.to_string());
    let payload = json!({ "bytes": b64, "p": "abcdefgh" }).to_string();
    encode_frame(
        &[
            (":event-type", "chunk"),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.as_bytes(),
    )
}

/// A `ConverseStream` event frame. `event` is `{"<eventType>": {payload}}`
/// (the shape boto3 yields); the frame has `:event-type: <eventType>`,
/// `:content-type: application/json`, `:message-type: event`, and the payload
/// is the inner object plus Bedrock's `"p"` padding field.
pub fn converse_frame(event: &Value) -> Vec<u8> {
    let (event_type, payload) = converse_event_parts(event)
        .unwrap_or_else(|| panic!("a ConverseStream event is a one-key object, got {event}"));
    let mut payload = payload.clone();
    if let Some(obj) = payload.as_object_mut() {
        obj.insert("p".into(), json!("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"));
    }
    encode_frame(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.to_string().as_bytes(),
    )
}

/// `(eventType, payload)` of a `{"<eventType>": {payload}}` value.
pub fn converse_event_parts(event: &Value) -> Option<(&str, &Value)> {
    let obj = event.as_object()?;
    if obj.len() != 1 {
        return None;
    }
    obj.iter().next().map(|(k, v)| (k.as_str(), v))
}

/// An exception frame such as `throttlingException` sent mid-stream.
pub fn exception_frame(exception_type: &str, message: &str) -> Vec<u8> {
    let payload = json!({ "message": message }).to_string();
    encode_frame(
        &[
            (":message-type", "exception"),
            (":exception-type", exception_type),
            (":content-type", "application/json"),
        ],
        payload.as_bytes(),
    )
}

/// Flip a bit in the final message CRC of an encoded frame.
pub fn corrupt_crc(frame: &mut [u8]) {
    if let Some(last) = frame.last_mut() {
        *last ^= 0x01;
    }
}

/// Rough token count used by the fake (whitespace-separated words, at least 1).
pub fn approx_tokens(text: &str) -> u64 {
    (text.split_whitespace().count() as u64).max(1)
}

/// The Anthropic Messages streaming sequence for `chunks` (input token count 10).
pub fn messages_stream_events(model_id: &str, chunks: &[&str]) -> Vec<Value> {
    messages_stream_events_with_usage(model_id, chunks, 10)
}

/// Like [`messages_stream_events`] with an explicit input token count.
pub fn messages_stream_events_with_usage(
    model_id: &str,
    chunks: &[&str],
    input_tokens: u64,
) -> Vec<Value> {
    let output_tokens = approx_tokens(&chunks.concat());
    let mut events = vec![
        json!({
            "type": "message_start",
            "message": {
                "id": "msg_bdrk_01FakeStreamMessage0001",
                "type": "message",
                "role": "assistant",
                "model": model_id,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": { "input_tokens": input_tokens, "output_tokens": 1 }
            }
        }),
        json!({
            "type": "content_block_start",
            "index": 0,
            "content_block": { "type": "text", "text": "" }
        }),
    ];
    for chunk in chunks {
        events.push(text_delta(chunk));
    }
    events.push(json!({ "type": "content_block_stop", "index": 0 }));
    events.push(json!({
        "type": "message_delta",
        "delta": { "stop_reason": "end_turn", "stop_sequence": null },
        "usage": { "output_tokens": output_tokens }
    }));
    events.push(json!({
        "type": "message_stop",
        "amazon-bedrock-invocationMetrics": {
            "inputTokenCount": input_tokens,
            "outputTokenCount": output_tokens,
            "invocationLatency": 321,
            "firstByteLatency": 123
        }
    }));
    events
}

/// The `ConverseStream` sequence for a text answer in `chunks`, the way
/// Bedrock sends it: `messageStart`, one `contentBlockDelta` per chunk,
/// `contentBlockStop`, `messageStop`, `metadata` (text blocks get no
/// `contentBlockStart`). Each value is `{"<eventType>": {payload}}`.
pub fn converse_stream_events(chunks: &[&str], input_tokens: u64) -> Vec<Value> {
    let output_tokens = approx_tokens(&chunks.concat());
    let mut events = vec![json!({ "messageStart": { "role": "assistant" } })];
    for chunk in chunks {
        events.push(converse_text_delta(chunk));
    }
    events.push(json!({ "contentBlockStop": { "contentBlockIndex": 0 } }));
    events.push(json!({ "messageStop": { "stopReason": "end_turn" } }));
    events.push(json!({
        "metadata": {
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": input_tokens + output_tokens
            },
            "metrics": { "latencyMs": 321 }
        }
    }));
    events
}

/// A `contentBlockDelta` carrying `text` for block 0.
pub fn converse_text_delta(text: &str) -> Value {
    json!({ "contentBlockDelta": { "contentBlockIndex": 0, "delta": { "text": text } } })
}

/// Concatenated text of all `contentBlockDelta`s in a list of
/// `{"<eventType>": {payload}}` events.
pub fn converse_events_text(events: &[Value]) -> String {
    events
        .iter()
        .filter_map(|e| e["contentBlockDelta"]["delta"]["text"].as_str())
        .collect()
}

/// A `content_block_delta` carrying `text` for block 0.
pub fn text_delta(text: &str) -> Value {
    json!({
        "type": "content_block_delta",
        "index": 0,
        "delta": { "type": "text_delta", "text": text }
    })
}

/// Concatenated text of all `text_delta`s in a list of events.
pub fn events_text(events: &[Value]) -> String {
    events
        .iter()
        .filter(|e| e["type"] == "content_block_delta")
        .filter_map(|e| e["delta"]["text"].as_str())
        .collect()
}

/// Decode a byte stream of frames into messages (test helper). Fails on the
/// first invalid frame; trailing partial data is an error too.
pub fn decode_frames(mut data: &[u8]) -> Result<Vec<Message>, String> {
    use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
    let mut decoder = MessageFrameDecoder::new();
    let mut out = Vec::new();
    while !data.is_empty() {
        match decoder.decode_frame(&mut data) {
            Ok(DecodedFrame::Complete(m)) => out.push(m),
            Ok(DecodedFrame::Incomplete) => return Err("truncated frame".into()),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(out)
}

/// String value of a header of a decoded message.
pub fn header_str(message: &Message, name: &str) -> Option<String> {
    message
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| h.value().as_string().ok())
        .map(|s| s.as_str().to_string())
}

/// The event JSON inside a decoded `chunk` message.
pub fn chunk_event(message: &Message) -> Option<Value> {
    let outer: Value = serde_json::from_slice(message.payload()).ok()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(outer["bytes"].as_str()?)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A decoded `ConverseStream` frame as `{"<eventType>": {payload}}` (the
/// padding field `p` removed); `None` for a frame that is not an event.
pub fn converse_event(message: &Message) -> Option<Value> {
    if header_str(message, ":message-type").as_deref() != Some("event") {
        return None;
    }
    let event_type = header_str(message, ":event-type")?;
    let mut payload: Value = serde_json::from_slice(message.payload()).ok()?;
    payload.as_object_mut()?.remove("p");
    Some(json!({ event_type: payload }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_frames_round_trip() {
        let events = messages_stream_events("anthropic.claude-x", &["Hel", "lo"]);
        assert_eq!(events.len(), 7);
        assert_eq!(events[0]["message"]["model"], "anthropic.claude-x");
        assert_eq!(events_text(&events), "Hello");
        assert!(events[6]["amazon-bedrock-invocationMetrics"]["outputTokenCount"].is_u64());
        let bytes: Vec<u8> = events.iter().flat_map(chunk_frame).collect();
        let messages = decode_frames(&bytes).unwrap();
        assert_eq!(messages.len(), events.len());
        for (m, e) in messages.iter().zip(&events) {
            assert_eq!(header_str(m, ":event-type").as_deref(), Some("chunk"));
            assert_eq!(header_str(m, ":message-type").as_deref(), Some("event"));
            assert_eq!(
                header_str(m, ":content-type").as_deref(),
                Some("application/json")
            );
            let outer: Value = serde_json::from_slice(m.payload()).unwrap();
            assert_eq!(outer["p"], "abcdefgh");
            assert_eq!(&chunk_event(m).unwrap(), e);
        }
    }

    #[test]
    fn exception_frame_decodes() {
        let f = exception_frame("throttlingException", "slow down");
        let m = &decode_frames(&f).unwrap()[0];
        assert_eq!(header_str(m, ":message-type").as_deref(), Some("exception"));
        assert_eq!(
            header_str(m, ":exception-type").as_deref(),
            Some("throttlingException")
        );
        let v: Value = serde_json::from_slice(m.payload()).unwrap();
        assert_eq!(v["message"], "slow down");
    }

    #[test]
    fn corrupted_crc_fails_to_decode() {
        let mut f = chunk_frame(&json!({"type": "ping"}));
        assert!(decode_frames(&f).is_ok());
        corrupt_crc(&mut f);
        assert!(decode_frames(&f).is_err());
    }

    #[test]
    fn large_frames_exceed_64k() {
        let f = chunk_frame(&text_delta(&"x".repeat(LARGE_EVENT_TEXT_LEN)));
        assert!(f.len() > 64 * 1024);
        let m = &decode_frames(&f).unwrap()[0];
        assert_eq!(
            chunk_event(m).unwrap()["delta"]["text"]
                .as_str()
                .unwrap()
                .len(),
            LARGE_EVENT_TEXT_LEN
        );
    }

    #[test]
    fn converse_frames_round_trip_without_chunk_wrapping() {
        let events = converse_stream_events(&["Hel", "lo"], 4);
        assert_eq!(events.len(), 6);
        assert_eq!(converse_events_text(&events), "Hello");
        let bytes: Vec<u8> = events.iter().flat_map(converse_frame).collect();
        let messages = decode_frames(&bytes).unwrap();
        let names: Vec<String> = messages
            .iter()
            .map(|m| header_str(m, ":event-type").unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "messageStart",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockStop",
                "messageStop",
                "metadata"
            ]
        );
        for (m, e) in messages.iter().zip(&events) {
            assert_eq!(header_str(m, ":message-type").as_deref(), Some("event"));
            assert_eq!(
                header_str(m, ":content-type").as_deref(),
                Some("application/json")
            );
            let raw: Value = serde_json::from_slice(m.payload()).unwrap();
            assert!(raw["p"].is_string());
            assert_eq!(&converse_event(m).unwrap(), e);
        }
        let usage = &events[5]["metadata"]["usage"];
        assert_eq!(usage["inputTokens"], 4);
        assert_eq!(usage["outputTokens"], 1);
        assert_eq!(usage["totalTokens"], 5);
        assert_eq!(
            converse_event(&decode_frames(&exception_frame("x", "y")).unwrap()[0]),
            None
        );
    }
}
