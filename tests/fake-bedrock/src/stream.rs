//! Event-stream answers (`InvokeModelWithResponseStream`, `ConverseStream`): the events a
//! [`StreamScript`] asks for, framed and written with its faults (gates, pauses, split or
//! single writes, exception frames, cut connections, corrupted CRCs).

use std::io;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::eventstream;
use crate::http::Conn;
use crate::script::StreamScript;
use crate::server::Shared;
use crate::tokens::Tokens;

/// How the events of a stream are framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamKind {
    /// `InvokeModelWithResponseStream`: Anthropic events in `chunk` frames.
    InvokeChunks,
    /// `ConverseStream`: one frame per event, `:event-type` = its name.
    Converse,
}

/// The events a script sends: its own `events`, or the echo sequence for `kind` built from
/// its `chunks` (default `["echo", ": ", echo_text]`), plus the oversized delta when asked.
pub(crate) fn script_events(
    script: &StreamScript,
    kind: StreamKind,
    model: &str,
    echo_text: &str,
    input_tokens: u64,
) -> Vec<Value> {
    let default_chunks = ["echo", ": ", echo_text];
    let chunks: Vec<&str> = match &script.chunks {
        Some(chunks) => chunks.iter().map(String::as_str).collect(),
        None => default_chunks.to_vec(),
    };
    let mut events = match (&script.events, kind) {
        (Some(events), _) => events.clone(),
        (None, StreamKind::InvokeChunks) => {
            eventstream::messages_stream_events_with_usage(model, &chunks, input_tokens)
        }
        (None, StreamKind::Converse) => eventstream::converse_stream_events(&chunks, input_tokens),
    };
    if script.extra_large_event {
        insert_large_event(&mut events, kind);
    }
    events
}

/// Insert a `LARGE_EVENT_TEXT_LEN` text delta before the (first) block stop.
pub(crate) fn insert_large_event(events: &mut Vec<Value>, kind: StreamKind) {
    let text = "x".repeat(eventstream::LARGE_EVENT_TEXT_LEN);
    let (stop, delta) = match kind {
        StreamKind::InvokeChunks => (
            events
                .iter()
                .position(|e| e["type"] == "content_block_stop"),
            eventstream::text_delta(&text),
        ),
        StreamKind::Converse => (
            events
                .iter()
                .position(|e| e.get("contentBlockStop").is_some()),
            eventstream::converse_text_delta(&text),
        ),
    };
    events.insert(stop.unwrap_or(events.len()), delta);
}

/// Bytes framed but not written yet, and how many split pieces went out.
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    pieces: usize,
}

impl Shared {
    /// Send `events` as a 200 event stream, applying `script`'s faults. Returns whether the
    /// connection may be reused.
    pub(crate) async fn stream(
        &self,
        conn: &mut Conn,
        script: &StreamScript,
        events: Vec<Value>,
        kind: StreamKind,
        request_id: &str,
        close: bool,
    ) -> bool {
        if write_stream_head(conn, kind, request_id, close)
            .await
            .is_err()
        {
            self.disconnect();
            return false;
        }
        let mut pending = Pending::default();
        let mut reported = Tokens::default();
        for i in 0..=events.len() {
            if let Some(done) = self
                .before_event(conn, script, &mut pending, i, close)
                .await
            {
                return done;
            }
            let Some(event) = events.get(i) else { break };
            if send_event(conn, script, kind, event, i, &mut pending)
                .await
                .is_err()
            {
                self.disconnect();
                return false;
            }
            let seen = reported.max(Tokens::of_event(event));
            self.report(seen.since(reported));
            reported = seen;
            if !script.pause_between.is_zero()
                && i + 1 < events.len()
                && (flush_pending(conn, &mut pending.bytes).await.is_err()
                    || conn.sleep_or_peer_gone(script.pause_between).await)
            {
                self.disconnect();
                return false;
            }
        }
        if conn.write_chunk(&pending.bytes, true).await.is_err() {
            self.disconnect();
            return false;
        }
        !close
    }

    /// The faults due once `i` events were sent: the gate, the cut, the exception frame.
    /// `Some(reusable)` ends the stream.
    async fn before_event(
        &self,
        conn: &mut Conn,
        script: &StreamScript,
        pending: &mut Pending,
        i: usize,
        close: bool,
    ) -> Option<bool> {
        if let Some((n, gate)) = &script.gate_after {
            if *n == i
                && (flush_pending(conn, &mut pending.bytes).await.is_err()
                    || conn.gate_or_peer_gone(gate).await)
            {
                self.disconnect();
                return Some(false);
            }
        }
        if script.cut_after == Some(i) {
            let _ = flush_pending(conn, &mut pending.bytes).await;
            return Some(false);
        }
        if let Some((n, kind, message)) = &script.exception_after {
            if *n == i {
                let bytes = &mut pending.bytes;
                bytes.extend_from_slice(&eventstream::exception_frame(kind, message));
                let ok = conn.write_chunk(bytes, true).await.is_ok();
                if !ok {
                    self.disconnect();
                }
                return Some(ok && !close);
            }
        }
        None
    }
}

async fn write_stream_head(
    conn: &mut Conn,
    kind: StreamKind,
    request_id: &str,
    close: bool,
) -> io::Result<()> {
    let mut head = String::from("HTTP/1.1 200 OK\r\n");
    head.push_str("Content-Type: application/vnd.amazon.eventstream\r\n");
    head.push_str("Transfer-Encoding: chunked\r\n");
    head.push_str(&format!("x-amzn-RequestId: {request_id}\r\n"));
    if kind == StreamKind::InvokeChunks {
        head.push_str("X-Amzn-Bedrock-Content-Type: application/json\r\n");
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    conn.wr.write_all(head.as_bytes()).await?;
    conn.wr.flush().await
}

/// Frame event `i` and write it (or queue it, for `one_write` and `split_into`).
async fn send_event(
    conn: &mut Conn,
    script: &StreamScript,
    kind: StreamKind,
    event: &Value,
    i: usize,
    pending: &mut Pending,
) -> io::Result<()> {
    let mut frame = match kind {
        StreamKind::InvokeChunks => eventstream::chunk_frame(event),
        StreamKind::Converse => eventstream::converse_frame(event),
    };
    if script.corrupt_after == Some(i) {
        eventstream::corrupt_crc(&mut frame);
    }
    if script.one_write {
        pending.bytes.extend_from_slice(&frame);
        Ok(())
    } else if let Some(size) = script.split_into.filter(|s| *s > 0) {
        pending.bytes.extend_from_slice(&frame);
        write_pieces(conn, &mut pending.bytes, size, &mut pending.pieces).await
    } else {
        conn.write_chunk(&frame, false).await
    }
}

async fn flush_pending(conn: &mut Conn, pending: &mut Vec<u8>) -> io::Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let data = std::mem::take(pending);
    conn.write_chunk(&data, false).await
}

/// Pieces per stream that are followed by a real ~1 ms sleep; later pieces
/// only yield, so splitting a 70 KB frame into tiny pieces stays fast.
const SLEEPY_PIECES: usize = 64;

/// Write full `size`-byte pieces of `pending` as separate chunks.
async fn write_pieces(
    conn: &mut Conn,
    pending: &mut Vec<u8>,
    size: usize,
    written: &mut usize,
) -> io::Result<()> {
    while pending.len() >= size {
        let piece: Vec<u8> = pending.drain(..size).collect();
        conn.write_chunk(&piece, false).await?;
        *written += 1;
        if *written <= SLEEPY_PIECES {
            tokio::time::sleep(Duration::from_millis(1)).await;
        } else {
            tokio::task::yield_now().await;
        }
    }
    Ok(())
}
