//! A fast fake Bedrock for the benchmark (feature `fast`), run as its own process
//! (`proxy --fake-server`, see `benches/proxy/main.rs`) so that its CPU time is accounted
//! separately from the proxy's and the load generator's.
//!
//! hyper HTTP/1.1 with keep-alive; signatures are not checked and bodies are not parsed (they
//! are read to the end, so connections stay reusable). Every answer is prepared at start-up:
//! - `POST /model/{id}/invoke`: a canned Messages JSON answer with Bedrock's `x-amzn-*` headers;
//! - `POST /model/{id}/invoke-with-response-stream`: a canned event stream of
//!   [`STREAM_EVENTS`] `chunk` frames, sent as fast as the connection takes them; when the model
//!   id contains `hold`, the first event is sent and the rest wait for `POST /bench/release`
//!   (for counting memory per open stream);
//! - `GET /bench/stats`: `connections held`: TCP connections that carried a model request so
//!   far (the benchmark's own control requests are not counted), streams held now.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;

/// Events in one streamed answer: message_start, content_block_start, 95 deltas,
/// content_block_stop, message_delta, message_stop.
pub const STREAM_EVENTS: usize = 100;

/// The canned `/invoke` answer (a short Messages response, as Claude on Bedrock sends it).
pub const INVOKE_ANSWER: &str = r#"{"id":"msg_bdrk_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[{"type":"text","text":"Hello! How can I help you today?"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":8,"output_tokens":12}}"#;

type Body = UnsyncBoxBody<Bytes, Infallible>;

struct State {
    /// Connections that carried at least one `/model/…` request.
    connections: AtomicU64,
    held: AtomicU64,
    frames: Vec<Bytes>,
    release: tokio::sync::watch::Sender<u64>,
}

/// One `chunk` event frame wrapping `event` as Bedrock does:
/// payload `{"bytes":"<base64 of the event JSON>","p":"…"}`.
pub fn chunk_frame(event: &serde_json::Value) -> Bytes {
    let b64 = base64::engine::general_purpose::STANDARD.encode(event.to_string());
    let payload = json!({ "bytes": b64, "p": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ" }).to_string();
    let headers = [
        (":event-type", "chunk"),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ]
    .into_iter()
    .map(|(n, v)| Header::new(n, HeaderValue::String(v.to_string().into())))
    .collect();
    let mut out = Vec::new();
    write_message_to(&Message::new_from_parts(headers, payload), &mut out)
        .expect("encode an event-stream frame");
    Bytes::from(out)
}

/// The realistic Anthropic event sequence, [`STREAM_EVENTS`] events long.
pub fn stream_frames() -> Vec<Bytes> {
    let deltas = STREAM_EVENTS - 5;
    let mut events = vec![
        json!({"type":"message_start","message":{"id":"msg_bdrk_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":8,"output_tokens":1}}}),
        json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
    ];
    for i in 0..deltas {
        events.push(json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":format!(" word{i}")}}));
    }
    events.push(json!({"type":"content_block_stop","index":0}));
    events.push(json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":deltas}}));
    events.push(json!({"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":8,"outputTokenCount":deltas,"invocationLatency":812,"firstByteLatency":201}}));
    events.iter().map(chunk_frame).collect()
}

fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into()).boxed_unsync()
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<State>,
    counted: Arc<AtomicBool>,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    if path.starts_with("/model/") && !counted.swap(true, Ordering::Relaxed) {
        state.connections.fetch_add(1, Ordering::Relaxed);
    }
    // Read the request to its end so the connection can serve the next one.
    let _ = req.into_body().collect().await;
    let response = if path.ends_with("/invoke") {
        Response::builder()
            .header("content-type", "application/json")
            .header("x-amzn-requestid", "1f0c3b9e-6a4d-4e21-9d51-8c2b0e7f4a11")
            .header("x-amzn-bedrock-invocation-latency", "812")
            .header("x-amzn-bedrock-output-token-count", "12")
            .header("x-amzn-bedrock-input-token-count", "8")
            .body(full(INVOKE_ANSWER))
    } else if path.ends_with("/invoke-with-response-stream") {
        Response::builder()
            .header("content-type", "application/vnd.amazon.eventstream")
            .header("x-amzn-requestid", "1f0c3b9e-6a4d-4e21-9d51-8c2b0e7f4a12")
            .header("x-amzn-bedrock-content-type", "application/json")
            .body(stream_body(&state, path.contains("hold")))
    } else if path == "/bench/stats" {
        let stats = format!(
            "{} {}",
            state.connections.load(Ordering::Relaxed),
            state.held.load(Ordering::Relaxed)
        );
        Response::builder().body(full(stats))
    } else if path == "/bench/release" {
        state.release.send_modify(|n| *n += 1);
        Response::builder().body(full("released"))
    } else {
        Response::builder().status(404).body(full("not found"))
    };
    Ok(response.expect("a valid canned response"))
}

/// The canned stream: every frame at once, or (`hold`) the first frame, then the rest after
/// the next `POST /bench/release`.
fn stream_body(state: &Arc<State>, hold: bool) -> Body {
    use futures_util::StreamExt;
    let frames = state.frames.clone();
    if hold {
        let mut release = state.release.subscribe();
        let generation = *release.borrow();
        let held = state.clone();
        let first = futures_util::stream::iter(frames[..1].to_vec());
        let rest = futures_util::stream::once(async move {
            held.held.fetch_add(1, Ordering::Relaxed);
            // Wait for the next release.
            let _ = release.wait_for(|&n| n > generation).await;
            held.held.fetch_sub(1, Ordering::Relaxed);
            futures_util::stream::iter(frames[1..].to_vec())
        });
        let stream = first
            .chain(rest.flatten())
            .map(|b| Ok::<_, Infallible>(Frame::data(b)));
        StreamBody::new(stream).boxed_unsync()
    } else {
        let stream =
            futures_util::stream::iter(frames).map(|b| Ok::<_, Infallible>(Frame::data(b)));
        StreamBody::new(stream).boxed_unsync()
    }
}

/// Serve on 127.0.0.1 (port 0); print the port on stdout; run until killed.
pub fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("fake Bedrock runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fake Bedrock: bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        println!("{port}");
        let (release, _) = tokio::sync::watch::channel(0u64);
        let state = Arc::new(State {
            connections: AtomicU64::new(0),
            held: AtomicU64::new(0),
            frames: stream_frames(),
            release,
        });
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    // EMFILE and the like: back off instead of spinning.
                    eprintln!("fake Bedrock: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let state = state.clone();
            let counted = Arc::new(AtomicBool::new(false));
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    handle(req, state.clone(), counted.clone())
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
