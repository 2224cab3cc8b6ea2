//! `FakeBedrock`: a scriptable fake of the AWS Bedrock runtime and control
//! plane for integration tests, written on a raw tokio `TcpListener` (HTTP/1.1
//! with keep-alive) so that faults — hangs, cut connections, corrupted
//! event-stream frames, split writes — are fully under the test's control.
//!
//! Every request is SigV4-verified by the independent verifier in `sigv4.rs`
//! and recorded. Runtime requests (`/model/{id}/invoke`,
//! `/invoke-with-response-stream`, `/converse`, `/converse-stream`,
//! `/count-tokens`) pop scripted [`Behavior`]s from a FIFO queue (`push`);
//! control-plane requests (`/foundation-models`, `/inference-profiles`) use a separate queue
//! (`push_control`). An empty queue means realistic default answers.
#![allow(dead_code)]

pub mod eventstream;
pub mod sigv4;

#[allow(unused_imports)] // not every test names every re-export
pub use sigv4::{FakeCreds, SigError, SigInfo};

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// `x-amzn-ErrorType` namespace for Bedrock service errors.
pub const BEDROCK_ERROR_NS: &str = "http://internal.amazon.com/coral/com.amazonaws.bedrock/";
/// `x-amzn-ErrorType` namespace for framework errors (auth, unknown operation).
pub const CORAL_ERROR_NS: &str = "http://internal.amazon.com/coral/com.amazon.coral.service/";
/// Fake AWS account id used in ARNs.
pub const ACCOUNT_ID: &str = "123456789012";
/// Default page size of `ListInferenceProfiles` in the fake (forces pagination).
pub const DEFAULT_PROFILE_PAGE_SIZE: usize = 2;

const MAX_HEAD: usize = 1 << 20;
const MAX_BODY: usize = 64 << 20;

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

    pub fn stream(script: StreamScript) -> Behavior {
        Behavior::Stream(script)
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

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub raw_path: String,
    pub raw_query: String,
    /// Percent-decoded model id for runtime operations and
    /// `get-foundation-model`.
    pub model_id: Option<String>,
    /// `invoke`, `invoke-with-response-stream`, `converse`, `converse-stream`,
    /// `count-tokens`, `list-foundation-models`, `get-foundation-model`,
    /// `list-inference-profiles`, `get-inference-profile` or `unknown`.
    pub operation: String,
    /// Every header received (names lower-cased, values as sent, in received
    /// order; nothing filtered, so `x-amzn-bedrock-*` headers are here too).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub json: Option<Value>,
    /// Signature verification result (`Err` holds the full explanation).
    pub sig: Result<SigInfo, String>,
}

impl Recorded {
    /// First value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Shared {
    addr: SocketAddr,
    creds: FakeCreds,
    runtime_queue: Mutex<VecDeque<Behavior>>,
    control_queue: Mutex<VecDeque<Behavior>>,
    requests: Mutex<Vec<Recorded>>,
    connections: AtomicUsize,
    stream_disconnects: AtomicUsize,
    counter: AtomicU64,
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The fake server. Cheap to clone; the listener stops when the last clone
/// is dropped (connections already open finish their current work).
#[derive(Clone)]
pub struct FakeBedrock {
    shared: Arc<Shared>,
    _accept: Arc<AbortOnDrop>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeBedrock {
    /// Start with the default credentials
    /// (`AKIDFAKEEXAMPLE` / `fake/secret+key`, no session token).
    pub async fn start() -> FakeBedrock {
        FakeBedrock::start_with(FakeCreds::default()).await
    }

    pub async fn start_with(creds: FakeCreds) -> FakeBedrock {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake bedrock listener");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            addr,
            creds,
            runtime_queue: Mutex::new(VecDeque::new()),
            control_queue: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
            stream_disconnects: AtomicUsize::new(0),
            counter: AtomicU64::new(0),
        });
        let accept_shared = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        accept_shared.connections.fetch_add(1, Ordering::SeqCst);
                        let _ = stream.set_nodelay(true);
                        tokio::spawn(handle_connection(accept_shared.clone(), stream));
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            }
        });
        FakeBedrock {
            shared,
            _accept: Arc::new(AbortOnDrop(task)),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    pub fn creds(&self) -> FakeCreds {
        self.shared.creds.clone()
    }

    /// Queue a behaviour for the next runtime request.
    pub fn push(&self, behavior: Behavior) {
        lock(&self.shared.runtime_queue).push_back(behavior);
    }

    /// Queue the same behaviour for the next `n` runtime requests.
    pub fn push_n(&self, n: usize, behavior: Behavior) {
        let mut q = lock(&self.shared.runtime_queue);
        for _ in 0..n {
            q.push_back(behavior.clone());
        }
    }

    /// Queue a behaviour for the next control-plane request.
    pub fn push_control(&self, behavior: Behavior) {
        lock(&self.shared.control_queue).push_back(behavior);
    }

    /// Behaviours still queued (runtime, control).
    pub fn queued(&self) -> (usize, usize) {
        (
            lock(&self.shared.runtime_queue).len(),
            lock(&self.shared.control_queue).len(),
        )
    }

    pub fn clear_queues(&self) {
        lock(&self.shared.runtime_queue).clear();
        lock(&self.shared.control_queue).clear();
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.requests).clone()
    }

    pub fn last(&self) -> Option<Recorded> {
        lock(&self.shared.requests).last().cloned()
    }

    pub fn request_count(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// TCP connections accepted so far.
    pub fn connections_opened(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Responses (streams, hangs, delays) abandoned because the peer went away.
    pub fn stream_disconnects(&self) -> usize {
        self.shared.stream_disconnects.load(Ordering::SeqCst)
    }

    /// Wait until at least one peer disconnect was recorded.
    pub async fn wait_for_stream_disconnect(&self, timeout: Duration) -> bool {
        self.wait_for_stream_disconnects(1, timeout).await
    }

    /// Wait until at least `n` peer disconnects were recorded.
    pub async fn wait_for_stream_disconnects(&self, n: usize, timeout: Duration) -> bool {
        wait_until(timeout, || self.stream_disconnects() >= n).await
    }

    /// Wait until at least `n` requests were recorded.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        wait_until(timeout, || self.request_count() >= n).await
    }

    /// Send a request straight to the fake, SigV4-signed with its credentials
    /// for `region` the way an AWS SDK would (every given header is signed).
    /// `raw_path` goes on the wire as written (percent-encode ids yourself).
    /// Returns (status, headers with lower-cased names, body).
    pub async fn send_signed(
        &self,
        method: &str,
        raw_path: &str,
        region: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let host = self.addr().to_string();
        let mut all: Vec<(String, String)> = vec![("host".into(), host.clone())];
        all.extend(
            headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string())),
        );
        let (path, query) = raw_path.split_once('?').unwrap_or((raw_path, ""));
        sigv4::sign_request(
            method,
            path,
            query,
            &mut all,
            body,
            &self.creds(),
            region,
            sigv4::SERVICE,
            SystemTime::now(),
        );
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = reqwest::Client::new()
            .request(method, format!("http://{host}{raw_path}"))
            .body(body.to_vec());
        for (n, v) in all.iter().filter(|(n, _)| n != "host") {
            request = request.header(n, v);
        }
        let response = request.send().await.expect("the fake answers");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let body = response.bytes().await.expect("body").to_vec();
        (status, headers, body)
    }
}

async fn wait_until(timeout: Duration, cond: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------
// HTTP/1.1 connection handling
// ---------------------------------------------------------------------------

struct Request {
    method: String,
    raw_path: String,
    raw_query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    close: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Conn {
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    buf: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

async fn fill(rd: &mut OwnedReadHalf, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.reserve(16 * 1024);
    rd.read_buf(buf).await
}

/// Completes when the peer closes (EOF or error); incoming data is buffered.
async fn peer_gone(rd: &mut OwnedReadHalf, buf: &mut Vec<u8>) {
    loop {
        match fill(rd, buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if buf.len() > MAX_BODY {
                    return;
                }
            }
        }
    }
}

impl Conn {
    async fn fill(&mut self) -> io::Result<usize> {
        fill(&mut self.rd, &mut self.buf).await
    }

    async fn read_line(&mut self) -> io::Result<String> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.drain(..i + 2);
                return Ok(line);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(bad("line too long"));
            }
            if self.fill().await? == 0 {
                return Err(bad("eof in line"));
            }
        }
    }

    async fn read_exact(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if self.fill().await? == 0 {
                return Err(bad("eof in body"));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// `Ok(None)`: clean EOF between requests.
    async fn read_request(&mut self) -> io::Result<Option<Request>> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(bad("header too large"));
            }
            if self.fill().await? == 0 {
                if self.buf.iter().all(|b| b.is_ascii_whitespace()) {
                    return Ok(None);
                }
                return Err(bad("eof in head"));
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        self.buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let mut parts = request_line.split(' ');
        let (method, target, version) = match (parts.next(), parts.next(), parts.next()) {
            (Some(m), Some(t), Some(v)) if !m.is_empty() && t.starts_with('/') => {
                (m.to_string(), t.to_string(), v.to_string())
            }
            _ => return Err(bad("bad request line")),
        };
        let mut headers = Vec::new();
        for line in lines {
            let (name, value) = line.split_once(':').ok_or_else(|| bad("bad header"))?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        let (raw_path, raw_query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (target.clone(), String::new()),
        };
        let mut req = Request {
            method,
            raw_path,
            raw_query,
            headers,
            body: Vec::new(),
            close: false,
        };
        let connection = req.header("connection").unwrap_or("").to_ascii_lowercase();
        req.close = connection.contains("close")
            || (version == "HTTP/1.0" && !connection.contains("keep-alive"));
        if req
            .header("expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
        {
            self.wr.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        let chunked = req
            .header("transfer-encoding")
            .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
        if chunked {
            loop {
                let line = self.read_line().await?;
                let size_str = line.split(';').next().unwrap_or("").trim();
                let size =
                    usize::from_str_radix(size_str, 16).map_err(|_| bad("bad chunk size"))?;
                if size == 0 {
                    // Trailers until an empty line.
                    while !self.read_line().await?.is_empty() {}
                    break;
                }
                if req.body.len() + size > MAX_BODY {
                    return Err(bad("body too large"));
                }
                let data = self.read_exact(size).await?;
                req.body.extend_from_slice(&data);
                if !self.read_line().await?.is_empty() {
                    return Err(bad("missing CRLF after chunk"));
                }
            }
        } else if let Some(cl) = req.header("content-length") {
            let n: usize = cl.trim().parse().map_err(|_| bad("bad content-length"))?;
            if n > MAX_BODY {
                return Err(bad("body too large"));
            }
            req.body = self.read_exact(n).await?;
        }
        Ok(Some(req))
    }

    /// Sleep for `d`; returns true if the peer went away meanwhile.
    async fn sleep_or_peer_gone(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => false,
            _ = peer_gone(&mut self.rd, &mut self.buf) => true,
        }
    }

    /// Wait for the gate; returns true if the peer went away meanwhile.
    async fn gate_or_peer_gone(&mut self, gate: &Notify) -> bool {
        tokio::select! {
            _ = gate.notified() => false,
            _ = peer_gone(&mut self.rd, &mut self.buf) => true,
        }
    }

    async fn write_chunk(&mut self, data: &[u8], terminate: bool) -> io::Result<()> {
        let mut out = Vec::with_capacity(data.len() + 16);
        if !data.is_empty() {
            out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        if terminate {
            out.extend_from_slice(b"0\r\n\r\n");
        }
        self.wr.write_all(&out).await?;
        self.wr.flush().await
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        424 => "Failed Dependency",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

async fn handle_connection(shared: Arc<Shared>, stream: TcpStream) {
    let (rd, wr) = stream.into_split();
    let mut conn = Conn {
        rd,
        wr,
        buf: Vec::new(),
    };
    loop {
        let req = match conn.read_request().await {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                if e.kind() == io::ErrorKind::InvalidData {
                    let body = json!({ "message": format!("Bad request: {e}") }).to_string();
                    let _ = write_response(
                        &mut conn,
                        400,
                        &[("Content-Type".into(), "application/json".into())],
                        body.as_bytes(),
                        true,
                    )
                    .await;
                }
                break;
            }
        };
        if !shared.handle(&mut conn, req).await {
            break;
        }
    }
    let _ = conn.wr.shutdown().await;
}

/// Write a complete response with Content-Length. Returns whether the
/// connection may be reused.
async fn write_response(
    conn: &mut Conn,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    close: bool,
) -> bool {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    if close {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    let ok = conn.wr.write_all(&bytes).await.is_ok() && conn.wr.flush().await.is_ok();
    ok && !close
}

#[derive(Clone, Debug, PartialEq)]
enum Route {
    Invoke(String),
    InvokeStream(String),
    Converse(String),
    ConverseStream(String),
    CountTokens(String),
    ListFoundationModels,
    GetFoundationModel(String),
    ListInferenceProfiles,
    GetInferenceProfile(String),
    Unknown,
}

impl Route {
    fn operation(&self) -> &'static str {
        match self {
            Route::Invoke(_) => "invoke",
            Route::InvokeStream(_) => "invoke-with-response-stream",
            Route::Converse(_) => "converse",
            Route::ConverseStream(_) => "converse-stream",
            Route::CountTokens(_) => "count-tokens",
            Route::ListFoundationModels => "list-foundation-models",
            Route::GetFoundationModel(_) => "get-foundation-model",
            Route::ListInferenceProfiles => "list-inference-profiles",
            Route::GetInferenceProfile(_) => "get-inference-profile",
            Route::Unknown => "unknown",
        }
    }

    fn model_id(&self) -> Option<String> {
        match self {
            Route::Invoke(m)
            | Route::InvokeStream(m)
            | Route::Converse(m)
            | Route::ConverseStream(m)
            | Route::CountTokens(m)
            | Route::GetFoundationModel(m) => Some(m.clone()),
            _ => None,
        }
    }

    fn is_runtime(&self) -> bool {
        matches!(
            self,
            Route::Invoke(_)
                | Route::InvokeStream(_)
                | Route::Converse(_)
                | Route::ConverseStream(_)
                | Route::CountTokens(_)
        )
    }

    /// How a scripted stream is framed on this route.
    fn stream_kind(&self) -> StreamKind {
        match self {
            Route::Converse(_) | Route::ConverseStream(_) => StreamKind::Converse,
            _ => StreamKind::InvokeChunks,
        }
    }

    /// (echo text, input tokens) for a runtime request body.
    fn echo_source(&self, body: Option<&Value>) -> (String, u64) {
        match self {
            Route::Converse(_) | Route::ConverseStream(_) => converse_echo_source(body),
            _ => echo_source(body),
        }
    }
}

/// Percent-decode one raw path segment; `None` if empty or not UTF-8.
fn decode_segment(seg: &str) -> Option<String> {
    let s = percent_encoding::percent_decode_str(seg)
        .decode_utf8()
        .ok()?
        .into_owned();
    (!s.is_empty()).then_some(s)
}

fn route(method: &str, raw_path: &str) -> Route {
    let segs: Vec<&str> = raw_path.split('/').collect();
    let decoded = |s: &str, f: fn(String) -> Route| decode_segment(s).map_or(Route::Unknown, f);
    match (method, segs.as_slice()) {
        ("POST", ["", "model", id, "invoke"]) => decoded(id, Route::Invoke),
        ("POST", ["", "model", id, "invoke-with-response-stream"]) => {
            decoded(id, Route::InvokeStream)
        }
        ("POST", ["", "model", id, "converse"]) => decoded(id, Route::Converse),
        ("POST", ["", "model", id, "converse-stream"]) => decoded(id, Route::ConverseStream),
        ("POST", ["", "model", id, "count-tokens"]) => decoded(id, Route::CountTokens),
        ("GET", ["", "foundation-models"]) => Route::ListFoundationModels,
        ("GET", ["", "foundation-models", id]) => decoded(id, Route::GetFoundationModel),
        ("GET", ["", "inference-profiles"]) => Route::ListInferenceProfiles,
        ("GET", ["", "inference-profiles", id]) => decoded(id, Route::GetInferenceProfile),
        _ => Route::Unknown,
    }
}

fn query_params(raw_query: &str) -> Vec<(String, String)> {
    raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| {
                String::from_utf8_lossy(&sigv4::percent_decode(&s.replace('+', " "))).into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

/// A JSON response to send.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

fn error_reply(status: u16, error_type: &str, ns: &str, message: &str) -> Reply {
    Reply {
        status,
        headers: vec![("x-amzn-ErrorType".into(), format!("{error_type}:{ns}"))],
        body: json!({ "message": message }),
    }
}

fn validation(message: &str) -> Reply {
    error_reply(400, "ValidationException", BEDROCK_ERROR_NS, message)
}

impl Shared {
    fn next_request_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (nanos >> 16) as u32,
            self.addr.port(),
            (n >> 12) & 0xfff,
            n & 0xfff,
            nanos & 0xffff_ffff_ffff
        )
    }

    fn disconnect(&self) {
        self.stream_disconnects.fetch_add(1, Ordering::SeqCst);
    }

    /// Handle one request; returns whether the connection may be reused.
    async fn handle(&self, conn: &mut Conn, req: Request) -> bool {
        let sig = sigv4::verify(
            &req.method,
            &req.raw_path,
            &req.raw_query,
            &req.headers,
            &req.body,
            &self.creds,
            SystemTime::now(),
        );
        let route = route(&req.method, &req.raw_path);
        let json: Option<Value> = serde_json::from_slice(&req.body).ok();
        lock(&self.requests).push(Recorded {
            method: req.method.clone(),
            raw_path: req.raw_path.clone(),
            raw_query: req.raw_query.clone(),
            model_id: route.model_id(),
            operation: route.operation().to_string(),
            headers: req.headers.clone(),
            body: req.body.clone(),
            json: json.clone(),
            sig: sig.clone().map_err(|e| e.to_string()),
        });
        let request_id = self.next_request_id();
        let info = match sig {
            Ok(info) => info,
            Err(e) => {
                let reply = error_reply(
                    e.http_status(),
                    e.aws_error_type(),
                    CORAL_ERROR_NS,
                    &e.message(),
                );
                return self.send(conn, reply, &request_id, req.close).await;
            }
        };
        if route == Route::Unknown {
            let reply = error_reply(
                404,
                "UnknownOperationException",
                CORAL_ERROR_NS,
                "Unknown operation",
            );
            return self.send(conn, reply, &request_id, req.close).await;
        }
        let queue = if route.is_runtime() {
            &self.runtime_queue
        } else {
            &self.control_queue
        };
        let mut behavior = lock(queue).pop_front().unwrap_or(Behavior::Default);
        while let Behavior::Delay(d, inner) = behavior {
            if conn.sleep_or_peer_gone(d).await {
                self.disconnect();
                return false;
            }
            behavior = *inner;
        }
        match behavior {
            Behavior::Default | Behavior::Delay(..) => {
                self.default_answer(conn, &route, &req, &info, &request_id)
                    .await
            }
            Behavior::Error {
                status,
                error_type,
                message,
            } => {
                let reply = error_reply(status, &error_type, BEDROCK_ERROR_NS, &message);
                self.send(conn, reply, &request_id, req.close).await
            }
            Behavior::Json {
                status,
                body,
                headers,
            } => {
                let reply = Reply {
                    status,
                    headers,
                    body,
                };
                self.send(conn, reply, &request_id, req.close).await
            }
            Behavior::Hang => {
                peer_gone(&mut conn.rd, &mut conn.buf).await;
                self.disconnect();
                false
            }
            Behavior::CloseWithoutResponse => false,
            Behavior::Stream(script) => {
                let model = route.model_id().unwrap_or_default();
                let (text, input_tokens) = route.echo_source(json.as_ref());
                self.stream(
                    conn,
                    &script,
                    route.stream_kind(),
                    &model,
                    &text,
                    input_tokens,
                    &request_id,
                    req.close,
                )
                .await
            }
        }
    }

    async fn send(&self, conn: &mut Conn, reply: Reply, request_id: &str, close: bool) -> bool {
        let mut headers = Vec::new();
        if !reply
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            headers.push(("Content-Type".to_string(), "application/json".to_string()));
        }
        if !reply
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("x-amzn-requestid"))
        {
            headers.push(("x-amzn-RequestId".to_string(), request_id.to_string()));
        }
        headers.extend(reply.headers);
        let body = reply.body.to_string();
        write_response(conn, reply.status, &headers, body.as_bytes(), close).await
    }

    async fn default_answer(
        &self,
        conn: &mut Conn,
        route: &Route,
        req: &Request,
        info: &SigInfo,
        request_id: &str,
    ) -> bool {
        let reply = match route {
            Route::Invoke(model) => match validate_invoke_body(model, &req.body) {
                Err(msg) => validation(&msg),
                Ok(body) => invoke_reply(model, &body, request_id),
            },
            Route::InvokeStream(model) => match validate_invoke_body(model, &req.body) {
                Err(msg) => validation(&msg),
                Ok(body) => {
                    let (text, input_tokens) = echo_source(Some(&body));
                    let script = StreamScript::default();
                    return self
                        .stream(
                            conn,
                            &script,
                            StreamKind::InvokeChunks,
                            model,
                            &text,
                            input_tokens,
                            request_id,
                            req.close,
                        )
                        .await;
                }
            },
            Route::Converse(_) => match validate_converse_body(&req.body) {
                Err(msg) => validation(&msg),
                Ok(body) => converse_reply(&body),
            },
            Route::ConverseStream(model) => match validate_converse_body(&req.body) {
                Err(msg) => validation(&msg),
                Ok(body) => {
                    let (text, input_tokens) = converse_echo_source(Some(&body));
                    let script = StreamScript::default();
                    return self
                        .stream(
                            conn,
                            &script,
                            StreamKind::Converse,
                            model,
                            &text,
                            input_tokens,
                            request_id,
                            req.close,
                        )
                        .await;
                }
            },
            Route::CountTokens(model) => match count_tokens(model, &req.body) {
                Err(msg) => validation(&msg),
                Ok(n) => Reply {
                    status: 200,
                    headers: Vec::new(),
                    body: json!({ "inputTokens": n }),
                },
            },
            Route::ListFoundationModels => list_foundation_models(&info.region, &req.raw_query),
            Route::GetFoundationModel(id) => get_foundation_model(&info.region, id),
            Route::ListInferenceProfiles => list_inference_profiles(&info.region, &req.raw_query),
            Route::GetInferenceProfile(id) => get_inference_profile(&info.region, id),
            Route::Unknown => error_reply(
                404,
                "UnknownOperationException",
                CORAL_ERROR_NS,
                "Unknown operation",
            ),
        };
        self.send(conn, reply, request_id, req.close).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn stream(
        &self,
        conn: &mut Conn,
        script: &StreamScript,
        kind: StreamKind,
        model: &str,
        echo_text: &str,
        input_tokens: u64,
        request_id: &str,
        close: bool,
    ) -> bool {
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
            (None, StreamKind::Converse) => {
                eventstream::converse_stream_events(&chunks, input_tokens)
            }
        };
        if script.extra_large_event {
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
        if conn.wr.write_all(head.as_bytes()).await.is_err() || conn.wr.flush().await.is_err() {
            self.disconnect();
            return false;
        }
        let mut pending: Vec<u8> = Vec::new();
        let mut pieces = 0usize;
        for i in 0..=events.len() {
            if let Some((n, gate)) = &script.gate_after {
                if *n == i
                    && (flush_pending(conn, &mut pending).await.is_err()
                        || conn.gate_or_peer_gone(gate).await)
                {
                    self.disconnect();
                    return false;
                }
            }
            if script.cut_after == Some(i) {
                let _ = flush_pending(conn, &mut pending).await;
                return false;
            }
            if let Some((n, kind, message)) = &script.exception_after {
                if *n == i {
                    pending.extend_from_slice(&eventstream::exception_frame(kind, message));
                    let ok = conn.write_chunk(&pending, true).await.is_ok();
                    if !ok {
                        self.disconnect();
                    }
                    return ok && !close;
                }
            }
            let Some(event) = events.get(i) else { break };
            let mut frame = match kind {
                StreamKind::InvokeChunks => eventstream::chunk_frame(event),
                StreamKind::Converse => eventstream::converse_frame(event),
            };
            if script.corrupt_after == Some(i) {
                eventstream::corrupt_crc(&mut frame);
            }
            let written = if script.one_write {
                pending.extend_from_slice(&frame);
                Ok(())
            } else if let Some(size) = script.split_into.filter(|s| *s > 0) {
                pending.extend_from_slice(&frame);
                write_pieces(conn, &mut pending, size, &mut pieces).await
            } else {
                conn.write_chunk(&frame, false).await
            };
            if written.is_err() {
                self.disconnect();
                return false;
            }
            if !script.pause_between.is_zero()
                && i + 1 < events.len()
                && (flush_pending(conn, &mut pending).await.is_err()
                    || conn.sleep_or_peer_gone(script.pause_between).await)
            {
                self.disconnect();
                return false;
            }
        }
        if conn.write_chunk(&pending, true).await.is_err() {
            self.disconnect();
            return false;
        }
        !close
    }
}

/// How the events of a stream are framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StreamKind {
    /// `InvokeModelWithResponseStream`: Anthropic events in `chunk` frames.
    InvokeChunks,
    /// `ConverseStream`: one frame per event, `:event-type` = its name.
    Converse,
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

// ---------------------------------------------------------------------------
// Runtime: body validation and default answers
// ---------------------------------------------------------------------------

fn malformed(detail: &str) -> String {
    format!("Malformed input request: {detail}, please reformat your input and try again.")
}

fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "BigDecimal",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

/// Validate an InvokeModel body the way Bedrock does for Anthropic models
/// (other models only need a JSON object). Returns the parsed body or the
/// `ValidationException` message.
pub fn validate_invoke_body(model_id: &str, body: &[u8]) -> Result<Value, String> {
    let generic = "Malformed input request, please reformat your input and try again.";
    let value: Value = serde_json::from_slice(body).map_err(|_| generic.to_string())?;
    let obj = value.as_object().ok_or_else(|| generic.to_string())?;
    if !model_id.contains("anthropic") {
        return Ok(value);
    }
    if !obj.contains_key("anthropic_version") {
        return Err(malformed("#: required key [anthropic_version] not found"));
    }
    for key in ["model", "stream"] {
        if obj.contains_key(key) {
            return Err(malformed(&format!(
                "#: extraneous key [{key}] is not permitted"
            )));
        }
    }
    match obj.get("max_tokens") {
        None => return Err(malformed("#: required key [max_tokens] not found")),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 1 => {}
            Some(n) => {
                return Err(malformed(&format!(
                    "#/max_tokens: {n} is not greater or equal to 1"
                )))
            }
            None => {
                return Err(malformed(&format!(
                    "#/max_tokens: expected type: Integer, found: {}",
                    json_type_name(v)
                )))
            }
        },
    }
    let messages = match obj.get("messages") {
        None => return Err(malformed("#: required key [messages] not found")),
        Some(Value::Array(a)) => a,
        Some(v) => {
            return Err(malformed(&format!(
                "#/messages: expected type: JSONArray, found: {}",
                json_type_name(v)
            )))
        }
    };
    if messages.is_empty() {
        return Err(malformed(
            "#/messages: expected minimum item count: 1, found: 0",
        ));
    }
    let mut previous: Option<&str> = None;
    for (i, m) in messages.iter().enumerate() {
        let role = match m.get("role") {
            None => {
                return Err(malformed(&format!(
                    "#/messages/{i}: required key [role] not found"
                )))
            }
            Some(Value::String(r)) => r.as_str(),
            Some(v) => {
                return Err(malformed(&format!(
                    "#/messages/{i}/role: expected type: String, found: {}",
                    json_type_name(v)
                )))
            }
        };
        if role != "user" && role != "assistant" {
            return Err(malformed(&format!(
                "#/messages/{i}/role: {role} is not a valid enum value"
            )));
        }
        if m.get("content").is_none() {
            return Err(malformed(&format!(
                "#/messages/{i}: required key [content] not found"
            )));
        }
        if previous == Some(role) {
            return Err(format!(
                "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"{role}\" roles in a row"
            ));
        }
        previous = Some(role);
    }
    Ok(value)
}

/// Text of a message's content: the string, or its text blocks concatenated.
pub fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b["type"] == "text")
            .filter_map(|b| b["text"].as_str())
            .collect(),
        _ => String::new(),
    }
}

/// (text of the last user message, approximate input token count).
fn echo_source(body: Option<&Value>) -> (String, u64) {
    let Some(body) = body else {
        return (String::new(), 1);
    };
    let empty = Vec::new();
    let messages = body["messages"].as_array().unwrap_or(&empty);
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(|m| content_text(&m["content"]))
        .or_else(|| body["inputText"].as_str().map(str::to_string))
        .or_else(|| body["prompt"].as_str().map(str::to_string))
        .unwrap_or_default();
    let mut all = content_text(&body["system"]);
    for m in messages {
        all.push(' ');
        all.push_str(&content_text(&m["content"]));
    }
    (last_user, eventstream::approx_tokens(&all))
}

fn invoke_reply(model: &str, body: &Value, request_id: &str) -> Reply {
    let (text, input_tokens) = echo_source(Some(body));
    let answer = format!("echo: {text}");
    let output_tokens = eventstream::approx_tokens(&answer);
    let id: String = request_id.chars().filter(|c| *c != '-').take(24).collect();
    Reply {
        status: 200,
        headers: vec![
            (
                "X-Amzn-Bedrock-Input-Token-Count".into(),
                input_tokens.to_string(),
            ),
            (
                "X-Amzn-Bedrock-Output-Token-Count".into(),
                output_tokens.to_string(),
            ),
            ("X-Amzn-Bedrock-Invocation-Latency".into(), "321".into()),
        ],
        body: json!({
            "id": format!("msg_bdrk_{id}"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{ "type": "text", "text": answer }],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": { "input_tokens": input_tokens, "output_tokens": output_tokens }
        }),
    }
}

// ---------------------------------------------------------------------------
// Runtime: Converse and CountTokens
// ---------------------------------------------------------------------------

/// Members of Converse's `ContentBlock` union.
const CONTENT_BLOCK_MEMBERS: &[&str] = &[
    "text",
    "image",
    "document",
    "video",
    "audio",
    "toolUse",
    "toolResult",
    "guardContent",
    "cachePoint",
    "reasoningContent",
    "citationsContent",
    "searchResult",
];

/// Members of Converse's `SystemContentBlock` union.
const SYSTEM_BLOCK_MEMBERS: &[&str] = &["text", "guardContent", "cachePoint"];

fn constraint(value: &Value, at: &str, rule: &str) -> String {
    let shown = match value {
        Value::Null => "null".to_string(),
        Value::String(s) => format!("'{s}'"),
        other => format!("'{other}'"),
    };
    format!(
        "1 validation error detected: Value {shown} at '{at}' failed to satisfy constraint: {rule}"
    )
}

/// Check one union-typed block (`ContentBlock` or `SystemContentBlock`):
/// an object setting exactly one known member; a `text` member is a
/// non-blank string.
fn validate_block(block: &Value, at: &str, kind: &str, members: &[&str]) -> Result<(), String> {
    let Some(obj) = block.as_object() else {
        return Err(constraint(block, at, "Member must be a structure"));
    };
    if let Some(unknown) = obj.keys().find(|k| !members.contains(&k.as_str())) {
        return Err(format!(
            "The {kind} object at {at} has an unknown field [{unknown}]. Use one of the following: {}.",
            members.join(", ")
        ));
    }
    if obj.len() != 1 {
        return Err(format!(
            "The {kind} object at {at} must set exactly one of the following keys: {}.",
            members.join(", ")
        ));
    }
    if let Some(text) = obj.get("text") {
        match text.as_str() {
            None => {
                return Err(constraint(
                    text,
                    &format!("{at}.text"),
                    "Member must be a string",
                ))
            }
            Some(t) if t.trim().is_empty() => {
                return Err(format!(
                    "The text field in the {kind} object at {at} is blank. Add text to the text field, and try again."
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Check a Converse `messages` list (also used by CountTokens' `converse`).
fn validate_converse_messages(messages: Option<&Value>, prefix: &str) -> Result<(), String> {
    let at = format!("{prefix}messages");
    let messages = match messages {
        None | Some(Value::Null) => {
            return Err(constraint(&Value::Null, &at, "Member must not be null"))
        }
        Some(Value::Array(a)) => a,
        Some(v) => return Err(constraint(v, &at, "Member must be a list")),
    };
    let mut previous: Option<&str> = None;
    for (i, m) in messages.iter().enumerate() {
        let at = format!("{prefix}messages.{i}");
        if !m.is_object() {
            return Err(constraint(
                m,
                &format!("{at}.member"),
                "Member must be a structure",
            ));
        }
        let role = match &m["role"] {
            Value::String(r) if r == "user" || r == "assistant" => r.as_str(),
            Value::Null => {
                return Err(constraint(
                    &Value::Null,
                    &format!("{at}.member.role"),
                    "Member must not be null",
                ))
            }
            other => {
                return Err(constraint(
                    other,
                    &format!("{at}.member.role"),
                    "Member must satisfy enum value set: [user, assistant]",
                ))
            }
        };
        let blocks = match &m["content"] {
            Value::Array(b) => b,
            Value::Null => {
                return Err(constraint(
                    &Value::Null,
                    &format!("{at}.member.content"),
                    "Member must not be null",
                ))
            }
            other => {
                return Err(constraint(
                    other,
                    &format!("{at}.member.content"),
                    "Member must be a list",
                ))
            }
        };
        for (j, block) in blocks.iter().enumerate() {
            validate_block(
                block,
                &format!("{prefix}messages.{i}.content.{j}"),
                "ContentBlock",
                CONTENT_BLOCK_MEMBERS,
            )?;
        }
        if previous.is_none() && role != "user" {
            return Err("A conversation must start with a user message. Try again with a conversation that starts with a user message.".into());
        }
        if previous == Some(role) {
            return Err("A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.".into());
        }
        previous = Some(role);
    }
    if previous.is_none() {
        return Err("A conversation must start with a user message. Try again with a conversation that starts with a user message.".into());
    }
    Ok(())
}

fn validate_system_blocks(system: Option<&Value>, prefix: &str) -> Result<(), String> {
    match system {
        None => Ok(()),
        Some(Value::Array(blocks)) => {
            for (i, block) in blocks.iter().enumerate() {
                validate_block(
                    block,
                    &format!("{prefix}system.{i}"),
                    "SystemContentBlock",
                    SYSTEM_BLOCK_MEMBERS,
                )?;
            }
            Ok(())
        }
        Some(v) => Err(constraint(
            v,
            &format!("{prefix}system"),
            "Member must be a list",
        )),
    }
}

/// Validate a Converse / ConverseStream body the way Bedrock does: an object
/// with `messages` (alternating, user first; each content a list of
/// `ContentBlock`s, e.g. `{"text": "…"}` — Anthropic's string content or
/// `{"type": "text", …}` blocks are rejected), optional `system` (a list of
/// `SystemContentBlock`s) and `inferenceConfig` (`maxTokens` ≥ 1,
/// `temperature`/`topP` in 0..=1, `stopSequences` a list of strings).
/// Other top-level members are accepted, except `modelId` (a URI member) and
/// the InvokeModel keys `anthropic_version`/`max_tokens`, which Converse does
/// not have. Returns the parsed body or the `ValidationException` message.
pub fn validate_converse_body(body: &[u8]) -> Result<Value, String> {
    let generic = "Malformed input request, please reformat your input and try again.";
    let value: Value = serde_json::from_slice(body).map_err(|_| generic.to_string())?;
    let obj = value.as_object().ok_or_else(|| generic.to_string())?;
    for key in ["modelId", "anthropic_version", "max_tokens"] {
        if obj.contains_key(key) {
            return Err(format!(
                "Malformed input request: extraneous key [{key}] is not permitted, please reformat your input and try again."
            ));
        }
    }
    validate_converse_messages(obj.get("messages"), "")?;
    validate_system_blocks(obj.get("system"), "")?;
    if let Some(config) = obj.get("inferenceConfig") {
        let Some(config) = config.as_object() else {
            return Err(constraint(
                config,
                "inferenceConfig",
                "Member must be a structure",
            ));
        };
        if let Some(v) = config.get("maxTokens") {
            match v.as_i64() {
                Some(n) if n >= 1 => {}
                Some(_) => {
                    return Err(constraint(
                        v,
                        "inferenceConfig.maxTokens",
                        "Member must have value greater than or equal to 1",
                    ))
                }
                None => {
                    return Err(constraint(
                        v,
                        "inferenceConfig.maxTokens",
                        "Member must be an integer",
                    ))
                }
            }
        }
        for key in ["temperature", "topP"] {
            if let Some(v) = config.get(key) {
                match v.as_f64() {
                    Some(x) if (0.0..=1.0).contains(&x) => {}
                    _ => {
                        return Err(constraint(
                            v,
                            &format!("inferenceConfig.{key}"),
                            "Member must have value between 0 and 1",
                        ))
                    }
                }
            }
        }
        if let Some(v) = config.get("stopSequences") {
            let ok = v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
            if !ok {
                return Err(constraint(
                    v,
                    "inferenceConfig.stopSequences",
                    "Member must be a list of strings",
                ));
            }
        }
    }
    Ok(value)
}

/// Text of a Converse message's content: its `text` blocks concatenated.
pub fn converse_content_text(content: &Value) -> String {
    content
        .as_array()
        .map(|blocks| blocks.iter().filter_map(|b| b["text"].as_str()).collect())
        .unwrap_or_default()
}

/// (text of the last user message, input token count) of a Converse body:
/// the tokens are the words of every system and message text, the same count
/// `echo_source` gives the equivalent InvokeModel body.
fn converse_echo_source(body: Option<&Value>) -> (String, u64) {
    let Some(body) = body else {
        return (String::new(), 1);
    };
    let empty = Vec::new();
    let messages = body["messages"].as_array().unwrap_or(&empty);
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(|m| converse_content_text(&m["content"]))
        .unwrap_or_default();
    let mut all = converse_content_text(&body["system"]);
    for m in messages {
        all.push(' ');
        all.push_str(&converse_content_text(&m["content"]));
    }
    (last_user, eventstream::approx_tokens(&all))
}

/// The Converse answer: `echo: <last user text>`.
fn converse_reply(body: &Value) -> Reply {
    let (text, input_tokens) = converse_echo_source(Some(body));
    let answer = format!("echo: {text}");
    let output_tokens = eventstream::approx_tokens(&answer);
    Reply {
        status: 200,
        headers: Vec::new(),
        body: json!({
            "output": {
                "message": {
                    "role": "assistant",
                    "content": [{ "text": answer }]
                }
            },
            "stopReason": "end_turn",
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": input_tokens + output_tokens
            },
            "metrics": { "latencyMs": 321 }
        }),
    }
}

/// Whether CountTokens accepts this model id: an Anthropic foundation model,
/// by id or foundation-model ARN. Inference profiles (`us.…`, `eu.…`,
/// `apac.…`, `global.…`, their ARNs) and other providers are refused.
pub fn count_tokens_supported(model_id: &str) -> bool {
    let id = match model_id.strip_prefix("arn:") {
        None => model_id,
        Some(rest) => match rest.split_once("::foundation-model/") {
            Some((_, id)) => id,
            None => return false,
        },
    };
    id.starts_with("anthropic.")
}

/// The CountTokens answer for a body: `Ok(inputTokens)` or the
/// `ValidationException` message. `input.invokeModel.body` is base64 of an
/// InvokeModel body (validated like InvokeModel's, so an Anthropic body needs
/// `anthropic_version` and `max_tokens`); `input.converse` holds Converse's
/// `messages` and `system`. The count equals the `input_tokens` that invoke /
/// converse report for the same input.
pub fn count_tokens(model_id: &str, body: &[u8]) -> Result<u64, String> {
    use base64::Engine as _;
    if !count_tokens_supported(model_id) {
        return Err("The provided model doesn't support counting tokens.".into());
    }
    let generic = "Malformed input request, please reformat your input and try again.";
    let value: Value = serde_json::from_slice(body).map_err(|_| generic.to_string())?;
    let input = match value.get("input") {
        None | Some(Value::Null) => {
            return Err(constraint(&Value::Null, "input", "Member must not be null"))
        }
        Some(Value::Object(o)) => o,
        Some(v) => return Err(constraint(v, "input", "Member must be a structure")),
    };
    if input.len() != 1 {
        return Err(
            "The CountTokensInput object at input must set exactly one of the following keys: invokeModel, converse.".into(),
        );
    }
    if let Some(invoke) = input.get("invokeModel") {
        let b64 = match &invoke["body"] {
            Value::String(s) => s,
            Value::Null => {
                return Err(constraint(
                    &Value::Null,
                    "input.invokeModel.body",
                    "Member must not be null",
                ))
            }
            v => {
                return Err(constraint(
                    v,
                    "input.invokeModel.body",
                    "Member must be a blob (base64 string)",
                ))
            }
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| generic.to_string())?;
        let body = validate_invoke_body(model_id, &raw)?;
        return Ok(echo_source(Some(&body)).1);
    }
    if let Some(converse) = input.get("converse") {
        if !converse.is_object() {
            return Err(constraint(
                converse,
                "input.converse",
                "Member must be a structure",
            ));
        }
        validate_converse_messages(converse.get("messages"), "input.converse.")?;
        validate_system_blocks(converse.get("system"), "input.converse.")?;
        return Ok(converse_echo_source(Some(converse)).1);
    }
    Err(
        "The CountTokensInput object at input must set exactly one of the following keys: invokeModel, converse.".into(),
    )
}

// ---------------------------------------------------------------------------
// Control plane: canned foundation models and inference profiles
// ---------------------------------------------------------------------------

/// The canned foundation models (as `ListFoundationModels` summaries).
pub fn foundation_models(region: &str) -> Vec<Value> {
    let model = |id: &str,
                 name: &str,
                 provider: &str,
                 input: &[&str],
                 output: &[&str],
                 streaming: bool,
                 customizations: &[&str],
                 inference: &[&str]| {
        json!({
            "modelArn": format!("arn:aws:bedrock:{region}::foundation-model/{id}"),
            "modelId": id,
            "modelName": name,
            "providerName": provider,
            "inputModalities": input,
            "outputModalities": output,
            "responseStreamingSupported": streaming,
            "customizationsSupported": customizations,
            "inferenceTypesSupported": inference,
            "modelLifecycle": { "status": "ACTIVE" }
        })
    };
    vec![
        model(
            "anthropic.claude-sonnet-4-20250514-v1:0",
            "Claude Sonnet 4",
            "Anthropic",
            &["TEXT", "IMAGE"],
            &["TEXT"],
            true,
            &[],
            &["INFERENCE_PROFILE"],
        ),
        model(
            "anthropic.claude-3-haiku-20240307-v1:0",
            "Claude 3 Haiku",
            "Anthropic",
            &["TEXT", "IMAGE"],
            &["TEXT"],
            true,
            &[],
            &["ON_DEMAND"],
        ),
        model(
            "amazon.titan-text-express-v1",
            "Titan Text G1 - Express",
            "Amazon",
            &["TEXT"],
            &["TEXT"],
            true,
            &["FINE_TUNING", "CONTINUED_PRE_TRAINING"],
            &["ON_DEMAND"],
        ),
        model(
            "amazon.titan-embed-text-v2:0",
            "Titan Text Embeddings V2",
            "Amazon",
            &["TEXT"],
            &["EMBEDDING"],
            false,
            &[],
            &["ON_DEMAND"],
        ),
        model(
            "meta.llama3-8b-instruct-v1:0",
            "Llama 3 8B Instruct",
            "Meta",
            &["TEXT"],
            &["TEXT"],
            true,
            &[],
            &["ON_DEMAND"],
        ),
    ]
}

fn contains_ci(list: &Value, wanted: &str) -> bool {
    list.as_array().is_some_and(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .any(|s| s.eq_ignore_ascii_case(wanted))
    })
}

fn enum_check(name: &str, value: &str, allowed: &[&str]) -> Result<(), Reply> {
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(value)) {
        Ok(())
    } else {
        Err(validation(&format!(
            "1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        )))
    }
}

fn list_foundation_models(region: &str, raw_query: &str) -> Reply {
    let mut models = foundation_models(region);
    for (k, v) in query_params(raw_query) {
        let check = match k.as_str() {
            "byProvider" => {
                models.retain(|m| {
                    m["providerName"]
                        .as_str()
                        .is_some_and(|p| p.eq_ignore_ascii_case(&v))
                });
                Ok(())
            }
            "byOutputModality" => enum_check(&k, &v, &["TEXT", "IMAGE", "EMBEDDING"]).map(|_| {
                models.retain(|m| contains_ci(&m["outputModalities"], &v));
            }),
            "byInferenceType" => enum_check(&k, &v, &["ON_DEMAND", "PROVISIONED"]).map(|_| {
                models.retain(|m| contains_ci(&m["inferenceTypesSupported"], &v));
            }),
            "byCustomizationType" => enum_check(
                &k,
                &v,
                &["FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"],
            )
            .map(|_| {
                models.retain(|m| contains_ci(&m["customizationsSupported"], &v));
            }),
            _ => Ok(()),
        };
        if let Err(reply) = check {
            return reply;
        }
    }
    Reply {
        status: 200,
        headers: Vec::new(),
        body: json!({ "modelSummaries": models }),
    }
}

fn get_foundation_model(region: &str, id: &str) -> Reply {
    match foundation_models(region)
        .into_iter()
        .find(|m| m["modelId"] == id || m["modelArn"] == id)
    {
        Some(m) => Reply {
            status: 200,
            headers: Vec::new(),
            body: json!({ "modelDetails": m }),
        },
        None => error_reply(
            404,
            "ResourceNotFoundException",
            BEDROCK_ERROR_NS,
            "Could not resolve the foundation model from the provided model identifier.",
        ),
    }
}

/// (geography prefix, display name, regions) for a region.
fn geography(region: &str) -> (&'static str, &'static str, [&'static str; 3]) {
    if region.starts_with("eu-") {
        ("eu", "EU", ["eu-central-1", "eu-west-1", "eu-west-3"])
    } else if region.starts_with("ap-") {
        (
            "apac",
            "APAC",
            ["ap-northeast-1", "ap-southeast-1", "ap-southeast-2"],
        )
    } else {
        ("us", "US", ["us-east-1", "us-east-2", "us-west-2"])
    }
}

/// The canned system-defined inference profiles for a region's geography.
pub fn inference_profiles(region: &str) -> Vec<Value> {
    let (geo, geo_name, regions) = geography(region);
    let profile = |model_id: &str, name: &str, created: &str| {
        let id = format!("{geo}.{model_id}");
        json!({
            "inferenceProfileName": format!("{geo_name} {name}"),
            "description": format!(
                "Routes requests to {name} in {}, {} and {}.",
                regions[0], regions[1], regions[2]
            ),
            "createdAt": created,
            "updatedAt": created,
            "inferenceProfileArn": format!("arn:aws:bedrock:{region}:{ACCOUNT_ID}:inference-profile/{id}"),
            "models": regions
                .iter()
                .map(|r| json!({ "modelArn": format!("arn:aws:bedrock:{r}::foundation-model/{model_id}") }))
                .collect::<Vec<_>>(),
            "inferenceProfileId": id,
            "status": "ACTIVE",
            "type": "SYSTEM_DEFINED"
        })
    };
    vec![
        profile(
            "anthropic.claude-sonnet-4-20250514-v1:0",
            "Anthropic Claude Sonnet 4",
            "2025-05-22T00:00:00Z",
        ),
        profile(
            "anthropic.claude-3-haiku-20240307-v1:0",
            "Anthropic Claude 3 Haiku",
            "2024-08-27T00:00:00Z",
        ),
        profile(
            "amazon.nova-lite-v1:0",
            "Amazon Nova Lite",
            "2024-12-03T00:00:00Z",
        ),
    ]
}

fn list_inference_profiles(region: &str, raw_query: &str) -> Reply {
    let mut profiles = inference_profiles(region);
    let mut page_size = DEFAULT_PROFILE_PAGE_SIZE;
    let mut start = 0usize;
    for (k, v) in query_params(raw_query) {
        match k.as_str() {
            "maxResults" => match v.parse::<usize>() {
                Ok(n) if (1..=1000).contains(&n) => page_size = n,
                _ => {
                    return validation(&format!(
                        "1 validation error detected: Value '{v}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000"
                    ))
                }
            },
            "nextToken" => match v.strip_prefix("fake-next-").and_then(|n| n.parse().ok()) {
                Some(n) => start = n,
                None => return validation("The pagination token is invalid."),
            },
            "typeEquals" => {
                if let Err(reply) = enum_check(&k, &v, &["SYSTEM_DEFINED", "APPLICATION"]) {
                    return reply;
                }
                profiles.retain(|p| p["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(&v)));
            }
            _ => {}
        }
    }
    if start > profiles.len() {
        return validation("The pagination token is invalid.");
    }
    let end = (start + page_size).min(profiles.len());
    let page: Vec<Value> = profiles[start..end].to_vec();
    let mut body = json!({ "inferenceProfileSummaries": page });
    if end < profiles.len() {
        body["nextToken"] = json!(format!("fake-next-{end}"));
    }
    Reply {
        status: 200,
        headers: Vec::new(),
        body,
    }
}

fn get_inference_profile(region: &str, id: &str) -> Reply {
    match inference_profiles(region)
        .into_iter()
        .find(|p| p["inferenceProfileId"] == id || p["inferenceProfileArn"] == id)
    {
        Some(p) => Reply {
            status: 200,
            headers: Vec::new(),
            body: p,
        },
        None => error_reply(
            404,
            "ResourceNotFoundException",
            BEDROCK_ERROR_NS,
            &format!("Inference profile {id} does not exist."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_decode_the_raw_path() {
        assert_eq!(
            route("POST", "/model/us.anthropic.claude-x-v1%3A0/invoke"),
            Route::Invoke("us.anthropic.claude-x-v1:0".into())
        );
        assert_eq!(
            route(
                "POST",
                "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc123/invoke-with-response-stream"
            ),
            Route::InvokeStream(
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
                    .into()
            )
        );
        assert_eq!(
            route(
                "POST",
                "/model/arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123/invoke"
            ),
            Route::Unknown
        );
        assert_eq!(route("GET", "/model/x/invoke"), Route::Unknown);
        assert_eq!(route("POST", "/model//invoke"), Route::Unknown);
        assert_eq!(
            route("GET", "/foundation-models"),
            Route::ListFoundationModels
        );
        assert_eq!(
            route("GET", "/inference-profiles/eu.x%3A0"),
            Route::GetInferenceProfile("eu.x:0".into())
        );
    }

    #[test]
    fn validation_messages() {
        let m = "anthropic.claude-3-haiku-20240307-v1:0";
        let v = |s: &str| validate_invoke_body(m, s.as_bytes());
        assert_eq!(
            v("nope").unwrap_err(),
            "Malformed input request, please reformat your input and try again."
        );
        assert_eq!(
            v("[1]").unwrap_err(),
            "Malformed input request, please reformat your input and try again."
        );
        assert_eq!(v("{}").unwrap_err(), "Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again.");
        assert_eq!(v(r#"{"anthropic_version":"bedrock-2023-05-31","model":"x","max_tokens":1,"messages":[]}"#).unwrap_err(), "Malformed input request: #: extraneous key [model] is not permitted, please reformat your input and try again.");
        assert!(v(r#"{"anthropic_version":"v","stream":true}"#)
            .unwrap_err()
            .contains("extraneous key [stream]"));
        assert!(v(r#"{"anthropic_version":"v","messages":[]}"#)
            .unwrap_err()
            .contains("required key [max_tokens]"));
        assert!(
            v(r#"{"anthropic_version":"v","max_tokens":0,"messages":[]}"#)
                .unwrap_err()
                .contains("max_tokens")
        );
        assert!(
            v(r#"{"anthropic_version":"v","max_tokens":"5","messages":[]}"#)
                .unwrap_err()
                .contains("expected type: Integer, found: String")
        );
        assert!(v(r#"{"anthropic_version":"v","max_tokens":5}"#)
            .unwrap_err()
            .contains("required key [messages]"));
        assert!(
            v(r#"{"anthropic_version":"v","max_tokens":5,"messages":{}}"#)
                .unwrap_err()
                .contains("expected type: JSONArray")
        );
        assert!(
            v(r#"{"anthropic_version":"v","max_tokens":5,"messages":[]}"#)
                .unwrap_err()
                .contains("minimum item count")
        );
        assert!(v(r#"{"anthropic_version":"v","max_tokens":5,"messages":[{"role":"system","content":"x"}]}"#)
            .unwrap_err()
            .contains("not a valid enum value"));
        assert!(v(r#"{"anthropic_version":"v","max_tokens":5,"messages":[{"role":"user","content":"x"},{"role":"user","content":"y"}]}"#)
            .unwrap_err()
            .contains("roles must alternate"));
        assert!(v(
            r#"{"anthropic_version":"v","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#
        )
        .is_ok());
    }

    #[test]
    fn echo_uses_last_user_message_text() {
        let body = json!({"messages":[
            {"role":"user","content":"first"},
            {"role":"assistant","content":"ok"},
            {"role":"user","content":[{"type":"text","text":"a"},{"type":"image"},{"type":"text","text":"b"}]}
        ]});
        let (text, tokens) = echo_source(Some(&body));
        assert_eq!(text, "ab");
        assert!(tokens >= 3);
    }

    #[test]
    fn profiles_follow_the_region_geography() {
        let p = inference_profiles("eu-central-1");
        assert_eq!(
            p[0]["inferenceProfileId"],
            "eu.anthropic.claude-sonnet-4-20250514-v1:0"
        );
        assert!(p[0]["inferenceProfileArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:bedrock:eu-central-1:123456789012:inference-profile/eu."));
        assert_eq!(
            inference_profiles("us-west-2")[1]["inferenceProfileId"],
            "us.anthropic.claude-3-haiku-20240307-v1:0"
        );
    }

    #[test]
    fn runtime_routes_name_their_operation() {
        let cases = [
            (
                "converse",
                Route::Converse("eu.anthropic.claude-x-v1:0".into()),
            ),
            (
                "converse-stream",
                Route::ConverseStream("eu.anthropic.claude-x-v1:0".into()),
            ),
            (
                "count-tokens",
                Route::CountTokens("eu.anthropic.claude-x-v1:0".into()),
            ),
        ];
        for (op, expected) in cases {
            let r = route("POST", &format!("/model/eu.anthropic.claude-x-v1%3A0/{op}"));
            assert_eq!(r, expected);
            assert_eq!(r.operation(), op);
            assert_eq!(r.model_id().as_deref(), Some("eu.anthropic.claude-x-v1:0"));
            assert!(r.is_runtime());
        }
        assert_eq!(route("GET", "/model/x/converse"), Route::Unknown);
        assert_eq!(route("POST", "/model/x/converse/extra"), Route::Unknown);
        assert_eq!(
            route("POST", "/model/x/converse").stream_kind(),
            StreamKind::Converse
        );
        assert_eq!(
            route("POST", "/model/x/invoke-with-response-stream").stream_kind(),
            StreamKind::InvokeChunks
        );
    }

    #[test]
    fn converse_validation_messages() {
        let v = |s: &str| validate_converse_body(s.as_bytes());
        let ok = r#"{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"system":[{"text":"Be brief"}],"inferenceConfig":{"maxTokens":5,"temperature":0.5,"stopSequences":["x"]}}"#;
        assert!(v(ok).is_ok());
        assert!(
            v(r#"{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"toolConfig":{}}"#)
                .is_ok()
        );
        assert_eq!(
            v("nope").unwrap_err(),
            "Malformed input request, please reformat your input and try again."
        );
        assert_eq!(
            v("{}").unwrap_err(),
            "1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null"
        );
        assert!(v(r#"{"messages":[]}"#)
            .unwrap_err()
            .starts_with("A conversation must start with a user message."));
        assert!(
            v(r#"{"messages":[{"role":"assistant","content":[{"text":"a"}]}]}"#)
                .unwrap_err()
                .starts_with("A conversation must start with a user message.")
        );
        assert!(v(r#"{"messages":[{"role":"user","content":[{"text":"a"}]},{"role":"user","content":[{"text":"b"}]}]}"#)
            .unwrap_err()
            .starts_with("A conversation must alternate between user and assistant roles."));
        assert_eq!(
            v(r#"{"messages":[{"role":"system","content":[{"text":"a"}]}]}"#).unwrap_err(),
            "1 validation error detected: Value 'system' at 'messages.0.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]"
        );
        // Anthropic-style content is not Converse content.
        assert!(v(r#"{"messages":[{"role":"user","content":"Hi"}]}"#)
            .unwrap_err()
            .contains(
                "'messages.0.member.content' failed to satisfy constraint: Member must be a list"
            ));
        assert!(
            v(r#"{"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}"#)
                .unwrap_err()
                .contains("unknown field [type]")
        );
        assert!(v(r#"{"messages":[{"role":"user","content":[{}]}]}"#)
            .unwrap_err()
            .contains("must set exactly one"));
        assert_eq!(
            v(r#"{"messages":[{"role":"user","content":[{"text":"  "}]}]}"#).unwrap_err(),
            "The text field in the ContentBlock object at messages.0.content.0 is blank. Add text to the text field, and try again."
        );
        assert!(
            v(r#"{"messages":[{"role":"user","content":[{"text":"a"}]}],"system":"x"}"#)
                .unwrap_err()
                .contains("'system'")
        );
        assert!(v(r#"{"messages":[{"role":"user","content":[{"text":"a"}]}],"system":[{"text":"a","cachePoint":{}}]}"#)
            .unwrap_err()
            .contains("SystemContentBlock object at system.0 must set exactly one"));
        assert!(v(r#"{"messages":[{"role":"user","content":[{"text":"a"}]}],"inferenceConfig":{"maxTokens":0}}"#)
            .unwrap_err()
            .contains("Value '0' at 'inferenceConfig.maxTokens'"));
        assert!(v(r#"{"messages":[{"role":"user","content":[{"text":"a"}]}],"inferenceConfig":{"temperature":1.5}}"#)
            .unwrap_err()
            .contains("inferenceConfig.temperature"));
        for key in ["modelId", "anthropic_version", "max_tokens"] {
            let body = format!(
                r#"{{"messages":[{{"role":"user","content":[{{"text":"a"}}]}}],"{key}":1}}"#
            );
            assert!(v(&body)
                .unwrap_err()
                .contains(&format!("extraneous key [{key}]")));
        }
    }

    #[test]
    fn converse_reply_echoes_the_last_user_text() {
        let body = json!({
            "system": [{"text": "be very brief"}],
            "messages": [
                {"role": "user", "content": [{"text": "first one"}]},
                {"role": "assistant", "content": [{"text": "ok"}]},
                {"role": "user", "content": [{"text": "Hi"}, {"image": {}}, {"text": " there"}]}
            ],
            "inferenceConfig": {"maxTokens": 10}
        });
        let reply = converse_reply(&body);
        assert_eq!(reply.status, 200);
        let b = &reply.body;
        assert_eq!(b["output"]["message"]["role"], "assistant");
        assert_eq!(
            b["output"]["message"]["content"][0]["text"],
            "echo: Hi there"
        );
        assert_eq!(b["stopReason"], "end_turn");
        // be very brief | first one | ok | Hi there
        assert_eq!(b["usage"]["inputTokens"], 8);
        assert_eq!(b["usage"]["outputTokens"], 3);
        assert_eq!(b["usage"]["totalTokens"], 11);
        assert!(b["metrics"]["latencyMs"].is_u64());
    }

    #[test]
    fn count_tokens_takes_foundation_models_and_counts_like_invoke() {
        use base64::Engine as _;
        let m = "anthropic.claude-3-haiku-20240307-v1:0";
        let invoke_body = json!({
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 10,
            "system": "be brief",
            "messages": [{"role": "user", "content": "count these four words"}]
        });
        let b64 = base64::engine::general_purpose::STANDARD.encode(invoke_body.to_string());
        let invoke_req = json!({"input": {"invokeModel": {"body": b64}}}).to_string();
        assert_eq!(count_tokens(m, invoke_req.as_bytes()), Ok(6));
        assert_eq!(echo_source(Some(&invoke_body)).1, 6);
        let converse_req = json!({"input": {"converse": {
            "system": [{"text": "be brief"}],
            "messages": [{"role": "user", "content": [{"text": "count these four words"}]}]
        }}})
        .to_string();
        assert_eq!(count_tokens(m, converse_req.as_bytes()), Ok(6));
        let arn =
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0";
        assert_eq!(count_tokens(arn, converse_req.as_bytes()), Ok(6));
        for refused in [
            "us.anthropic.claude-sonnet-4-20250514-v1:0",
            "eu.anthropic.claude-sonnet-4-20250514-v1:0",
            "apac.anthropic.claude-sonnet-4-20250514-v1:0",
            "global.anthropic.claude-sonnet-4-20250514-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-x-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123",
            "amazon.nova-lite-v1:0",
            "apac",
        ] {
            assert_eq!(
                count_tokens(refused, invoke_req.as_bytes()).unwrap_err(),
                "The provided model doesn't support counting tokens.",
                "{refused}"
            );
        }
        let err = |body: Value| count_tokens(m, body.to_string().as_bytes()).unwrap_err();
        assert!(err(json!({})).contains("'input' failed to satisfy constraint"));
        assert!(err(json!({"input": {}})).contains("exactly one"));
        assert!(
            err(json!({"input": {"invokeModel": {"body": "e30="}, "converse": {}}}))
                .contains("exactly one")
        );
        assert!(err(json!({"input": {"invokeModel": {}}})).contains("input.invokeModel.body"));
        assert_eq!(
            err(json!({"input": {"invokeModel": {"body": "%%%"}}})),
            "Malformed input request, please reformat your input and try again."
        );
        // The InvokeModel body is validated as InvokeModel's: an Anthropic
        // count_tokens body without max_tokens is refused.
        let anthropic_only = json!({"anthropic_version": "bedrock-2023-05-31", "messages": [{"role": "user", "content": "x"}]});
        let b64 = base64::engine::general_purpose::STANDARD.encode(anthropic_only.to_string());
        assert!(err(json!({"input": {"invokeModel": {"body": b64}}}))
            .contains("required key [max_tokens]"));
        assert!(err(
            json!({"input": {"converse": {"messages": [{"role": "user", "content": "x"}]}}})
        )
        .contains("input.converse.messages.0.member.content"));
        assert!(count_tokens(m, b"nope").is_err());
    }

    fn runtime_path(model: &str, op: &str) -> String {
        format!("/model/{}/{op}", sigv4::uri_encode(model.as_bytes(), false))
    }

    fn converse_body(text: &str) -> Vec<u8> {
        json!({
            "messages": [{"role": "user", "content": [{"text": text}]}],
            "inferenceConfig": {"maxTokens": 20}
        })
        .to_string()
        .into_bytes()
    }

    /// `(eventType, payload with "p")` of every frame, plus the headers.
    fn frames(body: &[u8]) -> Vec<(String, String, String, Value)> {
        eventstream::decode_frames(body)
            .unwrap()
            .iter()
            .map(|m| {
                (
                    eventstream::header_str(m, ":message-type").unwrap_or_default(),
                    eventstream::header_str(m, ":event-type")
                        .or_else(|| eventstream::header_str(m, ":exception-type"))
                        .unwrap_or_default(),
                    eventstream::header_str(m, ":content-type").unwrap_or_default(),
                    serde_json::from_slice(m.payload()).unwrap(),
                )
            })
            .collect()
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[tokio::test]
    async fn converse_over_http_echoes_and_records_bedrock_headers() {
        let fake = FakeBedrock::start().await;
        let model = "us.anthropic.claude-sonnet-4-20250514-v1:0";
        let (status, headers, body) = fake
            .send_signed(
                "POST",
                &runtime_path(model, "converse"),
                "us-west-2",
                &[
                    ("content-type", "application/json"),
                    ("X-Amzn-Bedrock-Trace", "ENABLED"),
                    ("X-Amzn-Bedrock-GuardrailIdentifier", "gr-1"),
                ],
                &converse_body("Hi"),
            )
            .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(header(&headers, "content-type"), Some("application/json"));
        assert!(header(&headers, "x-amzn-requestid").is_some());
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["output"]["message"]["content"][0]["text"], "echo: Hi");
        assert_eq!(v["usage"]["inputTokens"], 1);
        let rec = fake.last().unwrap();
        assert_eq!(rec.operation, "converse");
        assert_eq!(rec.model_id.as_deref(), Some(model));
        assert_eq!(rec.raw_path, runtime_path(model, "converse"));
        assert_eq!(rec.sig.as_ref().unwrap().region, "us-west-2");
        assert_eq!(rec.header("x-amzn-bedrock-trace"), Some("ENABLED"));
        assert_eq!(
            rec.header("X-Amzn-Bedrock-GuardrailIdentifier"),
            Some("gr-1")
        );
        // Bad shape: 400 ValidationException in Bedrock's error shape.
        let (status, headers, body) = fake
            .send_signed(
                "POST",
                &runtime_path(model, "converse"),
                "us-west-2",
                &[],
                br#"{"messages":[{"role":"user","content":"Hi"}]}"#,
            )
            .await;
        assert_eq!(status, 400);
        assert!(header(&headers, "x-amzn-errortype")
            .unwrap()
            .starts_with("ValidationException:"));
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert!(v["message"]
            .as_str()
            .unwrap()
            .contains("Member must be a list"));
    }

    #[tokio::test]
    async fn converse_stream_sends_one_frame_per_event() {
        let fake = FakeBedrock::start().await;
        let model = "anthropic.claude-3-haiku-20240307-v1:0";
        let path = runtime_path(model, "converse-stream");
        let (status, headers, body) = fake
            .send_signed(
                "POST",
                &path,
                "us-east-1",
                &[],
                &converse_body("Hello world"),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            header(&headers, "content-type"),
            Some("application/vnd.amazon.eventstream")
        );
        assert_eq!(header(&headers, "x-amzn-bedrock-content-type"), None);
        let got = frames(&body);
        let types: Vec<&str> = got.iter().map(|f| f.1.as_str()).collect();
        assert_eq!(
            types,
            [
                "messageStart",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockStop",
                "messageStop",
                "metadata"
            ]
        );
        for (message_type, _, content_type, payload) in &got {
            assert_eq!(message_type, "event");
            assert_eq!(content_type, "application/json");
            assert!(
                payload["p"].is_string(),
                "padding like Bedrock's: {payload}"
            );
            assert!(payload.get("bytes").is_none());
        }
        assert_eq!(got[0].3["role"], "assistant");
        let text: String = got
            .iter()
            .filter_map(|f| f.3["delta"]["text"].as_str())
            .collect();
        assert_eq!(text, "echo: Hello world");
        assert_eq!(got[1].3["contentBlockIndex"], 0);
        assert_eq!(got[4].3["contentBlockIndex"], 0);
        assert_eq!(got[5].3["stopReason"], "end_turn");
        assert_eq!(got[6].3["usage"]["inputTokens"], 2);
        assert_eq!(got[6].3["usage"]["outputTokens"], 3);
        assert_eq!(got[6].3["usage"]["totalTokens"], 5);
        assert!(got[6].3["metrics"]["latencyMs"].is_u64());
        let decoded: Vec<Value> = eventstream::decode_frames(&body)
            .unwrap()
            .iter()
            .filter_map(eventstream::converse_event)
            .collect();
        assert_eq!(
            decoded,
            eventstream::converse_stream_events(&["echo", ": ", "Hello world"], 2)
        );
        assert_eq!(fake.last().unwrap().operation, "converse-stream");
    }

    #[tokio::test]
    async fn behaviors_apply_to_converse_and_count_tokens() {
        let fake = FakeBedrock::start().await;
        let model = "anthropic.claude-3-haiku-20240307-v1:0";
        // Errors.
        fake.push(Behavior::throttling());
        let (status, headers, body) = fake
            .send_signed(
                "POST",
                &runtime_path(model, "converse"),
                "us-east-1",
                &[],
                &converse_body("Hi"),
            )
            .await;
        assert_eq!(status, 429);
        assert!(header(&headers, "x-amzn-errortype")
            .unwrap()
            .starts_with("ThrottlingException:"));
        assert!(String::from_utf8_lossy(&body).contains("Too many requests"));
        fake.push(Behavior::error(400, "ValidationException", "bad count"));
        let (status, _, _) = fake
            .send_signed(
                "POST",
                &runtime_path(model, "count-tokens"),
                "us-east-1",
                &[],
                b"{}",
            )
            .await;
        assert_eq!(status, 400);
        // A scripted converse stream: chunks, then an exception frame.
        fake.push(Behavior::stream(StreamScript {
            chunks: Some(vec!["a".into(), "b".into()]),
            exception_after: Some((2, "throttlingException".into(), "slow down".into())),
            ..Default::default()
        }));
        let (status, _, body) = fake
            .send_signed(
                "POST",
                &runtime_path(model, "converse-stream"),
                "us-east-1",
                &[],
                &converse_body("Hi"),
            )
            .await;
        assert_eq!(status, 200);
        let got = frames(&body);
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].1, "contentBlockDelta");
        assert_eq!(got[1].3["delta"]["text"], "a");
        assert_eq!(got[2].0, "exception");
        assert_eq!(got[2].1, "throttlingException");
        assert_eq!(got[2].3["message"], "slow down");
        // Scripted events and an oversized delta.
        fake.push(Behavior::stream(StreamScript {
            events: Some(vec![
                json!({"messageStart": {"role": "assistant"}}),
                eventstream::converse_text_delta("only"),
                json!({"contentBlockStop": {"contentBlockIndex": 0}}),
            ]),
            extra_large_event: true,
            ..Default::default()
        }));
        let (_, _, body) = fake
            .send_signed(
                "POST",
                &runtime_path(model, "converse-stream"),
                "us-east-1",
                &[],
                &converse_body("Hi"),
            )
            .await;
        let got = frames(&body);
        assert_eq!(got.len(), 4);
        assert_eq!(got[1].3["delta"]["text"], "only");
        assert_eq!(
            got[2].3["delta"]["text"].as_str().unwrap().len(),
            eventstream::LARGE_EVENT_TEXT_LEN
        );
        assert_eq!(got[3].1, "contentBlockStop");
        // Delays apply before the default answer.
        fake.push(Behavior::delay(
            Duration::from_millis(150),
            Behavior::Default,
        ));
        let started = Instant::now();
        let req = json!({"input": {"converse": {"messages": [{"role": "user", "content": [{"text": "three words here"}]}]}}});
        let (status, _, body) = fake
            .send_signed(
                "POST",
                &runtime_path(model, "count-tokens"),
                "us-east-1",
                &[],
                req.to_string().as_bytes(),
            )
            .await;
        assert!(started.elapsed() >= Duration::from_millis(150));
        assert_eq!(status, 200);
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap(),
            json!({"inputTokens": 3})
        );
        // Inference profiles are refused by CountTokens.
        let (status, headers, body) = fake
            .send_signed(
                "POST",
                &runtime_path("us.anthropic.claude-sonnet-4-20250514-v1:0", "count-tokens"),
                "us-east-1",
                &[],
                req.to_string().as_bytes(),
            )
            .await;
        assert_eq!(status, 400);
        assert!(header(&headers, "x-amzn-errortype")
            .unwrap()
            .starts_with("ValidationException:"));
        assert!(String::from_utf8_lossy(&body).contains("doesn't support counting tokens"));
        assert_eq!(fake.queued(), (0, 0));
        let ops: Vec<String> = fake.requests().into_iter().map(|r| r.operation).collect();
        assert_eq!(
            ops,
            [
                "converse",
                "count-tokens",
                "converse-stream",
                "converse-stream",
                "count-tokens",
                "count-tokens"
            ]
        );
    }
}
