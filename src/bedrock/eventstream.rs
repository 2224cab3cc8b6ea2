//! Bedrock's binary event stream (`application/vnd.amazon.eventstream`), decoded frame by frame.
//!
//! Frames are decoded with `aws-smithy-eventstream` (prelude, headers, payload, both CRC32s),
//! however the bytes are split across reads. A `chunk` event's payload is
//! `{"bytes":"<base64>","p":"…"}`; the decoded bytes are the model's own JSON event and are
//! handed on untouched. An exception frame (`:message-type: exception`) or an `error` frame
//! ends the stream with a typed error, as do a corrupt frame, a cut connection and silence
//! longer than the idle timeout.

use std::time::Duration;

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::Message;
use base64::Engine;
use bytes::{Bytes, BytesMut};
use futures_util::Stream;

use crate::error::StreamError;

/// How a stream's event frames carry the model's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// InvokeModelWithResponseStream: `chunk` frames whose payload is
    /// `{"bytes":"<base64 of the model's JSON event>"}`; other event types are skipped.
    Chunks,
    /// ConverseStream: the frame's `:event-type` names the event (`messageStart`,
    /// `contentBlockDelta`, …) and its payload is the event's JSON, handed on as
    /// `{"<eventType>": <payload>}` (the shape the AWS SDKs give such events).
    Typed,
}

/// What one frame carried.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A model event: its JSON, as bytes.
    Event(Bytes),
    /// A frame of another event type (kept for forward compatibility; callers skip it).
    Other,
}

/// Incremental frame decoder: `push` bytes as they arrive, then drain with `next`.
#[derive(Debug, Default)]
pub struct EventDecoder {
    frames: MessageFrameDecoder,
    buf: BytesMut,
    mid_frame: bool,
}

fn header<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    message
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| h.value().as_string().ok())
        .map(|s| s.as_str())
}

/// `throttlingException` → `ThrottlingException`, to match the HTTP error types.
fn pascal(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => "UnknownException".into(),
    }
}

#[derive(serde::Deserialize)]
struct ChunkPayload<'a> {
    #[serde(borrow)]
    bytes: std::borrow::Cow<'a, str>,
}

impl EventDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// True when part of a frame is buffered (a stream ending here was cut).
    pub fn has_partial_frame(&self) -> bool {
        self.mid_frame || !self.buf.is_empty()
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Decoded>, StreamError> {
        self.next_framed(Framing::Chunks)
    }

    /// The next complete frame of a stream framed as `framing`.
    pub fn next_framed(&mut self, framing: Framing) -> Result<Option<Decoded>, StreamError> {
        let message = match self.frames.decode_frame(&mut self.buf) {
            Ok(DecodedFrame::Complete(m)) => {
                self.mid_frame = false;
                m
            }
            Ok(DecodedFrame::Incomplete) => {
                self.mid_frame = !self.buf.is_empty() || self.mid_frame;
                return Ok(None);
            }
            Err(e) => {
                return Err(StreamError::interrupted(format!(
                    "corrupt event-stream frame from Bedrock: {e}"
                )))
            }
        };
        match header(&message, ":message-type") {
            Some("event") => {}
            Some("exception") => {
                let kind = header(&message, ":exception-type").unwrap_or("UnknownException");
                return Err(StreamError::exception(
                    pascal(kind),
                    payload_message(message.payload()),
                ));
            }
            Some("error") => {
                return Err(StreamError::exception(
                    pascal(header(&message, ":error-code").unwrap_or("InternalServerException")),
                    header(&message, ":error-message")
                        .unwrap_or("Bedrock reported an error in the stream"),
                ));
            }
            other => {
                return Err(StreamError::interrupted(format!(
                    "unexpected event-stream message type {other:?}"
                )))
            }
        }
        let event_type = header(&message, ":event-type");
        if framing == Framing::Typed {
            return Ok(Some(match event_type {
                Some(name) => Decoded::Event(wrap(name, message.payload())),
                None => Decoded::Other,
            }));
        }
        if event_type != Some("chunk") {
            return Ok(Some(Decoded::Other));
        }
        let payload: ChunkPayload<'_> = serde_json::from_slice(message.payload()).map_err(|e| {
            StreamError::interrupted(format!("chunk payload is not {{\"bytes\":…}}: {e}"))
        })?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(payload.bytes.as_bytes())
            .map_err(|e| StreamError::interrupted(format!("chunk bytes are not base64: {e}")))?;
        Ok(Some(Decoded::Event(Bytes::from(bytes))))
    }
}

/// `{"<name>": <payload>}`.
fn wrap(name: &str, payload: &[u8]) -> Bytes {
    let payload: &[u8] = if payload.is_empty() { b"{}" } else { payload };
    let mut out = BytesMut::with_capacity(name.len() + payload.len() + 5);
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    out.extend_from_slice(payload);
    out.extend_from_slice(b"}");
    out.freeze()
}

fn payload_message(payload: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| {
            v.get("message")
                .or_else(|| v.get("Message"))
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(payload).into_owned())
}

/// The model events of a streaming response, in order. Ends after the last event, or with
/// one `Err` (exception frame, corrupt frame, cut connection, idle timeout) and nothing after.
pub fn model_events(
    response: reqwest::Response,
    idle: Duration,
    framing: Framing,
) -> impl Stream<Item = Result<Bytes, StreamError>> + Send + 'static {
    struct State {
        response: reqwest::Response,
        decoder: EventDecoder,
        done: bool,
    }
    let state = State {
        response,
        decoder: EventDecoder::new(),
        done: false,
    };
    futures_util::stream::unfold(state, move |mut st| async move {
        if st.done {
            return None;
        }
        loop {
            match st.decoder.next_framed(framing) {
                Ok(Some(Decoded::Event(bytes))) => return Some((Ok(bytes), st)),
                Ok(Some(Decoded::Other)) => continue,
                Ok(None) => {}
                Err(e) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
            }
            match tokio::time::timeout(idle, st.response.chunk()).await {
                Ok(Ok(Some(chunk))) => st.decoder.push(&chunk),
                Ok(Ok(None)) => {
                    st.done = true;
                    if st.decoder.has_partial_frame() {
                        return Some((
                            Err(StreamError::interrupted(
                                "Bedrock closed the stream in the middle of a frame",
                            )),
                            st,
                        ));
                    }
                    return None;
                }
                Ok(Err(e)) => {
                    st.done = true;
                    return Some((
                        Err(StreamError::interrupted(format!(
                            "connection to Bedrock failed mid-stream: {e}"
                        ))),
                        st,
                    ));
                }
                Err(_) => {
                    st.done = true;
                    return Some((
                        Err(StreamError::timeout(format!(
                            "Bedrock sent nothing for {idle:?} (idle_timeout)"
                        ))),
                        st,
                    ));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::write_message_to;
    use aws_smithy_types::event_stream::{Header, HeaderValue};

    fn frame(headers: Vec<(&'static str, &'static str)>, payload: &[u8]) -> Vec<u8> {
        let mut m = Message::new(Bytes::copy_from_slice(payload));
        for (k, v) in headers {
            m = m.add_header(Header::new(k, HeaderValue::String(v.into())));
        }
        let mut out = Vec::new();
        write_message_to(&m, &mut out).unwrap();
        out
    }

    fn chunk(json: &str) -> Vec<u8> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(json);
        frame(
            vec![
                (":event-type", "chunk"),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            format!("{{\"bytes\":\"{b64}\",\"p\":\"abc\"}}").as_bytes(),
        )
    }

    #[test]
    fn decodes_frames_split_at_every_byte() {
        let mut bytes = chunk(r#"{"type":"message_start"}"#);
        bytes.extend(chunk(r#"{"type":"message_stop"}"#));
        let mut d = EventDecoder::new();
        let mut out = Vec::new();
        for b in &bytes {
            d.push(std::slice::from_ref(b));
            while let Some(Decoded::Event(e)) = d.next_frame().unwrap() {
                out.push(String::from_utf8(e.to_vec()).unwrap());
            }
        }
        assert_eq!(
            out,
            vec![r#"{"type":"message_start"}"#, r#"{"type":"message_stop"}"#]
        );
        assert!(!d.has_partial_frame());
    }

    #[test]
    fn exception_frame_is_a_typed_error() {
        let mut d = EventDecoder::new();
        d.push(&frame(
            vec![
                (":message-type", "exception"),
                (":exception-type", "throttlingException"),
                (":content-type", "application/json"),
            ],
            br#"{"message":"slow down"}"#,
        ));
        let e = d.next_frame().unwrap_err();
        assert_eq!(e.kind.name(), "ThrottlingException");
        assert_eq!(e.message, "slow down");
    }

    #[test]
    fn corrupt_crc_is_interrupted() {
        let mut bytes = chunk(r#"{"type":"x"}"#);
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        let mut d = EventDecoder::new();
        d.push(&bytes);
        assert_eq!(
            d.next_frame().unwrap_err().kind.name(),
            "stream_interrupted"
        );
    }

    /// The byte-exact vectors published with the AWS event-stream spec
    /// (awslabs/aws-c-event-stream test vectors, also used by aws-smithy-eventstream).
    #[test]
    fn published_vectors() {
        // "all_headers" is covered by the crate itself; these two are the smallest.
        let empty_message: [u8; 16] = [
            0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98,
            0xc8, 0xff,
        ];
        let mut d = MessageFrameDecoder::new();
        match d.decode_frame(&empty_message[..]).unwrap() {
            DecodedFrame::Complete(m) => {
                assert!(m.headers().is_empty());
                assert!(m.payload().is_empty());
            }
            DecodedFrame::Incomplete => panic!("complete frame expected"),
        }
        let payload_no_headers: [u8; 29] = [
            0x00, 0x00, 0x00, 0x1d, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x52, 0x8c, 0x5a, 0x7b, 0x27,
            0x66, 0x6f, 0x6f, 0x27, 0x3a, 0x27, 0x62, 0x61, 0x72, 0x27, 0x7d, 0xc3, 0x65, 0x39,
            0x36,
        ];
        let mut d = MessageFrameDecoder::new();
        match d.decode_frame(&payload_no_headers[..]).unwrap() {
            DecodedFrame::Complete(m) => assert_eq!(m.payload().as_ref(), b"{'foo':'bar'}"),
            DecodedFrame::Incomplete => panic!("complete frame expected"),
        }
    }
}

/// One event-stream frame with string headers.
fn encode_frame(headers: &[(&'static str, &str)], payload: Vec<u8>) -> Bytes {
    use aws_smithy_types::event_stream::{Header, HeaderValue};
    let headers = headers
        .iter()
        .map(|(name, value)| Header::new(*name, HeaderValue::String(value.to_string().into())))
        .collect();
    let message = Message::new_from_parts(headers, payload);
    let mut out = Vec::new();
    match aws_smithy_eventstream::frame::write_message_to(&message, &mut out) {
        Ok(()) => Bytes::from(out),
        // Only oversized headers fail to encode; these are fixed and short.
        Err(_) => Bytes::new(),
    }
}

/// An `InvokeModelWithResponseStream` chunk frame carrying one model event (JSON), as
/// Bedrock encodes it: payload `{"bytes": "<base64 of the event>"}`.
pub fn encode_chunk(event: &[u8]) -> Bytes {
    let payload = serde_json::json!({
        "bytes": base64::engine::general_purpose::STANDARD.encode(event)
    });
    encode_frame(
        &[
            (":event-type", "chunk"),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.to_string().into_bytes(),
    )
}

/// An exception frame (`:message-type: exception`), as Bedrock ends a failed stream.
pub fn encode_exception(kind: &str, message: &str) -> Bytes {
    let payload = serde_json::json!({ "message": message });
    encode_frame(
        &[
            (":exception-type", kind),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        payload.to_string().into_bytes(),
    )
}

#[cfg(test)]
mod encode_tests {
    use super::*;

    #[test]
    fn encoded_frames_decode_back() {
        let mut decoder = EventDecoder::new();
        decoder.push(&encode_chunk(br#"{"type":"message_stop"}"#));
        decoder.push(&encode_exception("ThrottlingException", "slow down"));
        match decoder.next_frame() {
            Ok(Some(Decoded::Event(b))) => assert_eq!(&b[..], br#"{"type":"message_stop"}"#),
            other => panic!("expected the chunk back, got {other:?}"),
        }
        match decoder.next_frame() {
            Err(e) => {
                assert_eq!(e.kind.name(), "ThrottlingException");
                assert_eq!(e.message, "slow down");
            }
            other => panic!("expected the exception, got {other:?}"),
        }
    }
}
