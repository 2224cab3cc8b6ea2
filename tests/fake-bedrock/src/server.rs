//! The listener, the shared state behind every clone of [`FakeBedrock`], the connection loop,
//! and the handle tests use (queue behaviours, read what was recorded, send signed requests).

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::control::ExtraModel;
use crate::http::{write_response, Conn};
use crate::script::Behavior;
use crate::sigv4::{self, FakeCreds, SigInfo};
use crate::tokens::Tokens;

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

/// State shared by the accept loop, every connection and every clone of the handle.
pub(crate) struct Shared {
    pub(crate) addr: SocketAddr,
    pub(crate) creds: FakeCreds,
    pub(crate) runtime_queue: Mutex<VecDeque<Behavior>>,
    pub(crate) control_queue: Mutex<VecDeque<Behavior>>,
    pub(crate) requests: Mutex<Vec<Recorded>>,
    /// Prompt-cache prefixes written so far (see `runtime::cache`).
    pub(crate) prompt_cache: Mutex<HashSet<u64>>,
    /// Models added to the catalogue (`FakeBedrock::add_model`).
    pub(crate) extra_models: Mutex<Vec<ExtraModel>>,
    /// Per model id: (requests being answered now, most at once so far).
    in_flight: Mutex<HashMap<String, (usize, usize)>>,
    connections: AtomicUsize,
    stream_disconnects: AtomicUsize,
    counter: AtomicU64,
    /// Tokens reported in answers so far (see `tokens`).
    reported: Mutex<Tokens>,
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

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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
            prompt_cache: Mutex::new(HashSet::new()),
            extra_models: Mutex::new(Vec::new()),
            in_flight: Mutex::new(HashMap::new()),
            connections: AtomicUsize::new(0),
            stream_disconnects: AtomicUsize::new(0),
            counter: AtomicU64::new(0),
            reported: Mutex::new(Tokens::default()),
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

    /// Add an Anthropic model to the catalogue (ListFoundationModels, GetFoundationModel;
    /// with `profile_only`, no `ON_DEMAND` but a geography and a `global.` system inference
    /// profile, and its bare id refused on InvokeModel like Bedrock does).
    pub fn add_model(&self, id: &str, name: &str, profile_only: bool) {
        lock(&self.shared.extra_models).push(ExtraModel {
            id: id.to_string(),
            name: name.to_string(),
            profile_only,
        });
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

    /// The tokens reported so far, by type, in every successful JSON answer's `usage` and
    /// every stream event written (see [`Tokens`]).
    pub fn reported_tokens(&self) -> Tokens {
        *lock(&self.shared.reported)
    }

    pub fn request_count(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// Requests recorded for `operation` (e.g. `invoke`, `converse-stream`) on `model_id`
    /// (as sent, percent-decoded), e.g. to assert how embeddings were batched.
    pub fn calls(&self, operation: &str, model_id: &str) -> usize {
        lock(&self.shared.requests)
            .iter()
            .filter(|r| r.operation == operation && r.model_id.as_deref() == Some(model_id))
            .count()
    }

    /// The most requests for `model_id` that were being answered at the same time (from
    /// the request read to the last byte of the answer). Pair with `Behavior::delay` to make
    /// overlapping requests observable.
    pub fn max_in_flight(&self, model_id: &str) -> usize {
        lock(&self.shared.in_flight)
            .get(model_id)
            .map_or(0, |(_, max)| *max)
    }

    /// Forget the prompt-cache prefixes seen so far (the next request with a `cachePoint`
    /// writes again).
    pub fn clear_prompt_cache(&self) {
        lock(&self.shared.prompt_cache).clear();
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

impl Shared {
    pub(crate) fn next_request_id(&self) -> String {
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

    /// Count a request for `model` as being answered until the guard drops.
    pub(crate) fn enter(&self, model: Option<String>) -> InFlight<'_> {
        if let Some(m) = &model {
            let mut map = lock(&self.in_flight);
            let (now, max) = map.entry(m.clone()).or_insert((0, 0));
            *now += 1;
            *max = (*max).max(*now);
        }
        InFlight {
            shared: self,
            model,
        }
    }

    /// Count tokens the fake reported in an answer.
    pub(crate) fn report(&self, tokens: Tokens) {
        lock(&self.reported).add(tokens);
    }

    /// Count a response abandoned because the peer went away.
    pub(crate) fn disconnect(&self) {
        self.stream_disconnects.fetch_add(1, Ordering::SeqCst);
    }
}

async fn handle_connection(shared: Arc<Shared>, stream: TcpStream) {
    let mut conn = Conn::new(stream);
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

/// A request being answered (see `Shared::enter`).
pub(crate) struct InFlight<'a> {
    shared: &'a Shared,
    model: Option<String>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(m) = &self.model {
            if let Some((now, _)) = lock(&self.shared.in_flight).get_mut(m) {
                *now = now.saturating_sub(1);
            }
        }
    }
}
