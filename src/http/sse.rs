//! Server-Sent Events framing for proxied streams, with keep-alive comments during silences.
//!
//! Each model event becomes `event: <type>` + `data: <json>`; the error that ends a stream
//! becomes a final `event: error` with `{"type":"error","error":{"type":…,"message":…}}`.
//! While nothing arrives for `keepalive`, a comment line (`: keep-alive`) keeps idle
//! intermediaries from closing the connection; SSE clients ignore it. The Anthropic flavor
//! (`/v1/messages`) sends `event: ping` instead, as Anthropic's API does.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};

use super::render::{anthropic_error_type, Dialect};
use crate::core::StreamItem;

const KEEPALIVE_COMMENT: &[u8] = b": keep-alive\n\n";
const PING: &[u8] = b"event: ping\ndata: {\"type\": \"ping\"}\n\n";

/// One SSE frame for an item.
pub fn frame(item: &StreamItem, dialect: Dialect) -> Bytes {
    match item {
        StreamItem::Event { name, data } => {
            let mut out = BytesMut::with_capacity(name.len() + data.len() + 16);
            out.put_slice(b"event: ");
            out.put_slice(name.as_bytes());
            out.put_u8(b'\n');
            // JSON from Bedrock is one line; split defensively so no line can escape `data:`.
            for line in data.split(|b| *b == b'\n') {
                out.put_slice(b"data: ");
                out.put_slice(line.strip_suffix(b"\r").unwrap_or(line));
                out.put_u8(b'\n');
            }
            out.put_u8(b'\n');
            out.freeze()
        }
        StreamItem::Error(e) => {
            let kind = match dialect {
                Dialect::Anthropic => anthropic_error_type(e.kind.name(), e.status()),
                Dialect::Proxy | Dialect::Aws | Dialect::OpenAi => e.kind.name(),
            };
            let body = serde_json::json!({
                "type": "error",
                "error": { "type": kind, "message": e.message }
            });
            Bytes::from(format!("event: error\ndata: {body}\n\n"))
        }
    }
}

/// The SSE body: frames as they come, keep-alive comments in between.
pub fn body(
    items: BoxStream<'static, StreamItem>,
    keepalive: Duration,
    dialect: Dialect,
) -> KeepAlive {
    let span = tracing::Span::current();
    let frames = items
        .map(move |item| {
            if let StreamItem::Error(e) = &item {
                span.in_scope(|| tracing::warn!(kind = e.kind.name(), message = %e.message, "stream ended with an error"));
            }
            let mut out = frame(&item, dialect);
            if dialect == Dialect::Anthropic
                && matches!(&item, StreamItem::Event { name, .. } if name == "message_start")
            {
                let mut both = BytesMut::from(&out[..]);
                both.put_slice(PING);
                out = both.freeze();
            }
            out
        })
        .boxed();
    keep_alive(frames, keepalive, dialect)
}

/// `frames` with the dialect's idle frame (`ping` event, else a comment) after each silence
/// of `period`.
pub fn keep_alive(
    frames: BoxStream<'static, Bytes>,
    period: Duration,
    dialect: Dialect,
) -> KeepAlive {
    KeepAlive {
        inner: frames,
        period,
        sleep: Box::pin(tokio::time::sleep(period)),
        idle_frame: match dialect {
            Dialect::Anthropic => PING,
            Dialect::Proxy | Dialect::Aws | Dialect::OpenAi => KEEPALIVE_COMMENT,
        },
    }
}

/// Adds a comment frame whenever the inner stream is silent for `period`.
pub struct KeepAlive {
    inner: BoxStream<'static, Bytes>,
    period: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
    idle_frame: &'static [u8],
}

impl Stream for KeepAlive {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(frame)) => {
                let next = tokio::time::Instant::now() + self.period;
                self.sleep.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    let next = tokio::time::Instant::now() + self.period;
                    self.sleep.as_mut().reset(next);
                    Poll::Ready(Some(Ok(Bytes::from_static(self.idle_frame))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::StreamError;

    #[test]
    fn frames() {
        let ev = StreamItem::Event {
            name: "content_block_delta".into(),
            data: Bytes::from_static(br#"{"type":"content_block_delta"}"#),
        };
        assert_eq!(
            frame(&ev, Dialect::Proxy),
            Bytes::from_static(
                b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\"}\n\n"
            )
        );
        let throttled =
            StreamItem::Error(StreamError::exception("ThrottlingException", "slow down"));
        assert_eq!(
            frame(&throttled, Dialect::Anthropic),
            Bytes::from_static(b"event: error\ndata: {\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\"},\"type\":\"error\"}\n\n")
        );
        let err = StreamItem::Error(StreamError::interrupted("cut"));
        assert_eq!(
            frame(&err, Dialect::Proxy),
            Bytes::from_static(b"event: error\ndata: {\"error\":{\"message\":\"cut\",\"type\":\"stream_interrupted\"},\"type\":\"error\"}\n\n")
        );
    }
}
