//! The load generator: hyper HTTP/1.1 client connections (one per worker, kept alive), closed
//! loops of N workers, an open loop at a fixed rate timed from each request's scheduled send
//! time, and stream readers for SSE (proxy) and the binary event stream (direct).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::http::{HeaderValue, Request, Response, Uri};
use hyper_util::rt::TokioIo;

use crate::procfs;

/// What one request sends.
pub struct Target {
    pub addr: SocketAddr,
    pub uri: Uri,
    pub body: Bytes,
    host: HeaderValue,
    extra: Vec<(&'static str, &'static str)>,
}

impl Target {
    pub fn new(addr: SocketAddr, path: &str, body: &str) -> Target {
        Target {
            addr,
            uri: path.parse().expect("a valid request path"),
            body: Bytes::copy_from_slice(body.as_bytes()),
            host: HeaderValue::from_str(&addr.to_string()).expect("host header"),
            extra: Vec::new(),
        }
    }

    /// Also send these headers (the direct path sends what the proxy sends to Bedrock).
    pub fn with_headers(mut self, headers: &[(&'static str, &'static str)]) -> Target {
        self.extra.extend_from_slice(headers);
        self
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let mut builder = Request::post(self.uri.clone())
            .header("host", self.host.clone())
            .header("content-type", "application/json");
        for (name, value) in &self.extra {
            builder = builder.header(*name, *value);
        }
        builder
            .body(Full::new(self.body.clone()))
            .expect("a valid request")
    }
}

/// One kept-alive client connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> Result<Conn, String> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Conn { sender })
    }

    /// Send and wait for the response headers; the status must be 200.
    pub async fn send(&mut self, target: &Target) -> Result<Response<Incoming>, String> {
        self.sender
            .ready()
            .await
            .map_err(|e| format!("connection not ready: {e}"))?;
        let response = self
            .sender
            .send_request(target.request())
            .await
            .map_err(|e| format!("send: {e}"))?;
        if response.status() != 200 {
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            return Err(format!(
                "status {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        Ok(response)
    }

    /// One whole request: send, read the answer to its end.
    pub async fn invoke(&mut self, target: &Target) -> Result<(), String> {
        let response = self.send(target).await?;
        response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?;
        Ok(())
    }
}

/// Latencies measured in a window, with the CPU time the watched processes spent in it.
pub struct Samples {
    pub lat_ns: Vec<u64>,
    pub window: Duration,
    pub errors: u64,
    pub first_error: Option<String>,
    /// CPU time of each watched process over the window, in the order given.
    pub cpu: Vec<Duration>,
}

impl Samples {
    fn new(
        mut lat_ns: Vec<u64>,
        window: Duration,
        errors: Vec<String>,
        cpu: Vec<Duration>,
    ) -> Self {
        lat_ns.sort_unstable();
        Samples {
            lat_ns,
            window,
            errors: errors.len() as u64,
            first_error: errors.into_iter().next(),
            cpu,
        }
    }

    /// Several runs as one: all latencies, windows and CPU times added up.
    pub fn merge(runs: Vec<Samples>) -> Samples {
        let mut lat = Vec::new();
        let mut window = Duration::ZERO;
        let mut errors = Vec::new();
        let mut cpu: Vec<Duration> = Vec::new();
        for r in runs {
            lat.extend(r.lat_ns);
            window += r.window;
            errors.extend(r.first_error);
            errors.extend((1..r.errors).map(|_| String::new()));
            if cpu.len() < r.cpu.len() {
                cpu.resize(r.cpu.len(), Duration::ZERO);
            }
            for (total, c) in cpu.iter_mut().zip(r.cpu) {
                *total += c;
            }
        }
        Samples::new(lat, window, errors, cpu)
    }

    /// The `p`-th percentile (0–100) in milliseconds.
    pub fn pct_ms(&self, p: f64) -> f64 {
        percentile_ms(&self.lat_ns, p)
    }

    pub fn requests(&self) -> usize {
        self.lat_ns.len()
    }

    pub fn rps(&self) -> f64 {
        self.lat_ns.len() as f64 / self.window.as_secs_f64()
    }

    /// CPU time per request of watched process `i`, in microseconds.
    pub fn cpu_us_per_request(&self, i: usize) -> f64 {
        self.cpu[i].as_secs_f64() * 1e6 / self.lat_ns.len().max(1) as f64
    }
}

/// Percentile of sorted nanoseconds, in milliseconds (nearest rank).
pub fn percentile_ms(sorted_ns: &[u64], p: f64) -> f64 {
    if sorted_ns.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted_ns.len() as f64).ceil() as usize;
    sorted_ns[rank.clamp(1, sorted_ns.len()) - 1] as f64 / 1e6
}

/// Reads the CPU time of `pids` at `from` and at `to`.
async fn cpu_over(pids: Vec<u32>, from: Instant, to: Instant) -> (Vec<Duration>, Duration) {
    tokio::time::sleep_until(from.into()).await;
    let before: Vec<Duration> = pids.iter().map(|&p| procfs::cpu_time(p)).collect();
    let t0 = Instant::now();
    tokio::time::sleep_until(to.into()).await;
    let after: Vec<Duration> = pids.iter().map(|&p| procfs::cpu_time(p)).collect();
    let window = t0.elapsed();
    let delta = after
        .iter()
        .zip(&before)
        .map(|(a, b)| a.saturating_sub(*b))
        .collect();
    (delta, window)
}

/// `concurrency` workers, each on its own connection, sending back to back. Latencies and CPU
/// are taken from requests that complete inside the measured window (after `warmup`).
pub async fn closed_loop(
    target: Arc<Target>,
    concurrency: usize,
    warmup: Duration,
    measure: Duration,
    pids: Vec<u32>,
) -> Samples {
    let begin = Instant::now();
    let from = begin + warmup;
    let to = from + measure;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let target = target.clone();
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = Vec::new();
            let mut conn = None;
            loop {
                let start = Instant::now();
                if start >= to {
                    break;
                }
                let c = match conn.as_mut() {
                    Some(c) => c,
                    None => match Conn::connect(target.addr).await {
                        Ok(c) => conn.insert(c),
                        Err(e) => {
                            errors.push(e);
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    },
                };
                match c.invoke(&target).await {
                    Ok(()) => {
                        let end = Instant::now();
                        if end >= from && end < to {
                            lat.push((end - start).as_nanos() as u64);
                        }
                    }
                    Err(e) => {
                        errors.push(e);
                        conn = None;
                    }
                }
            }
            (lat, errors)
        }));
    }
    let (cpu, window) = cpu_over(pids, from, to).await;
    let mut lat = Vec::new();
    let mut errors = Vec::new();
    for w in workers {
        let (l, e) = w.await.expect("a load worker panicked");
        lat.extend(l);
        errors.extend(e);
    }
    Samples::new(lat, window, errors, cpu)
}

/// Requests sent at a fixed `rate` (per second) regardless of how fast answers come (open
/// loop); each latency runs from the request's scheduled send time, so queueing counts.
/// Connections come from a pool that grows when every one is busy.
pub async fn open_loop(
    target: Arc<Target>,
    rate: f64,
    warmup: Duration,
    measure: Duration,
    pids: Vec<u32>,
) -> Samples {
    let begin = Instant::now() + Duration::from_millis(20);
    let from = begin + warmup;
    let to = from + measure;
    let total = ((warmup + measure).as_secs_f64() * rate) as u64;
    // The schedule runs on its own thread with a 1 µs timer slack: tokio's timer wheel has
    // 1 ms granularity, which would bunch requests.
    let (tick_tx, mut ticks) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    std::thread::spawn(move || {
        // SAFETY: prctl(PR_SET_TIMERSLACK) only changes this thread's timer slack.
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong, 0, 0, 0);
        }
        for i in 0..total {
            let at = begin + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
            if tick_tx.send(at).is_err() {
                break;
            }
        }
    });
    let pool: Arc<Mutex<Vec<Conn>>> = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..4 {
        if let Ok(c) = Conn::connect(target.addr).await {
            pool.lock().expect("pool lock").push(c);
        }
    }
    let results: Arc<Mutex<(Vec<u64>, Vec<String>)>> = Arc::default();
    let cpu = tokio::spawn(cpu_over(pids, from, to));
    let mut tasks = tokio::task::JoinSet::new();
    while let Some(scheduled) = ticks.recv().await {
        let target = target.clone();
        let pool = pool.clone();
        let results = results.clone();
        tasks.spawn(async move {
            let idle = pool.lock().expect("pool lock").pop();
            let outcome = match idle {
                Some(c) => Ok(c),
                None => Conn::connect(target.addr).await,
            };
            let outcome = match outcome {
                Ok(mut c) => c.invoke(&target).await.map(|()| c),
                Err(e) => Err(e),
            };
            let end = Instant::now();
            let mut r = results.lock().expect("results lock");
            match outcome {
                Ok(c) => {
                    pool.lock().expect("pool lock").push(c);
                    if scheduled >= from && scheduled < to {
                        r.0.push((end - scheduled).as_nanos() as u64);
                    }
                }
                Err(e) => r.1.push(e),
            }
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let (cpu, window) = cpu.await.expect("cpu sampler");
    let (lat, errors) = std::mem::take(&mut *results.lock().expect("results lock"));
    Samples::new(lat, window, errors, cpu)
}

/// When the first and the last event of one streamed answer arrived, from the send.
pub struct StreamTiming {
    pub first: Duration,
    pub last: Duration,
    pub events: usize,
}

/// How a stream's bytes split into events.
#[derive(Clone, Copy)]
pub enum Framing {
    /// Server-Sent Events from the proxy: blocks ending in a blank line, `event:` ones count.
    Sse,
    /// Bedrock's binary event stream: frames whose first 4 bytes give their length.
    EventStream,
}

/// Counts complete events in a growing buffer.
struct Splitter {
    framing: Framing,
    buf: Vec<u8>,
    events: usize,
    error: Option<String>,
}

impl Splitter {
    fn new(framing: Framing) -> Self {
        Splitter {
            framing,
            buf: Vec::new(),
            events: 0,
            error: None,
        }
    }

    fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        let mut used = 0;
        loop {
            let rest = &self.buf[used..];
            match self.framing {
                Framing::Sse => match rest.windows(2).position(|w| w == b"\n\n") {
                    Some(end) => {
                        let block = &rest[..end];
                        if block.starts_with(b"event: error") {
                            self.error = Some(String::from_utf8_lossy(block).into_owned());
                        } else if block.starts_with(b"event:") {
                            self.events += 1;
                        }
                        used += end + 2;
                    }
                    None => break,
                },
                Framing::EventStream => {
                    if rest.len() < 4 {
                        break;
                    }
                    let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                    if rest.len() < len {
                        break;
                    }
                    self.events += 1;
                    used += len;
                }
            }
        }
        self.buf.drain(..used);
    }
}

/// One streamed answer read to its end.
pub async fn stream_once(
    conn: &mut Conn,
    target: &Target,
    framing: Framing,
) -> Result<StreamTiming, String> {
    let start = Instant::now();
    let response = conn.send(target).await?;
    let mut body = response.into_body();
    let mut split = Splitter::new(framing);
    let mut first = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("stream body: {e}"))?;
        if let Some(data) = frame.data_ref() {
            split.push(data);
            if first.is_none() && split.events > 0 {
                first = Some(start.elapsed());
            }
        }
    }
    let last = start.elapsed();
    if let Some(e) = split.error {
        return Err(e);
    }
    Ok(StreamTiming {
        first: first.ok_or("the stream had no event")?,
        last,
        events: split.events,
    })
}

/// A stream that stays open: `opened` is told once its first event arrived; then it is read
/// to its end. Answers the number of events.
pub async fn held_stream(
    target: Arc<Target>,
    opened: tokio::sync::mpsc::UnboundedSender<Result<(), String>>,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Result<usize, String> {
    let fail = |e: String| {
        let _ = opened.send(Err(e.clone()));
        e
    };
    let mut conn = Conn::connect(target.addr).await.map_err(fail)?;
    let response = conn.send(&target).await.map_err(fail)?;
    let mut body = response.into_body();
    let mut split = Splitter::new(Framing::Sse);
    let mut permit = Some(permit);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("stream body: {e}"))?;
        if let Some(data) = frame.data_ref() {
            split.push(data);
            if split.events > 0 && permit.is_some() {
                permit = None;
                let _ = opened.send(Ok(()));
            }
        }
    }
    if permit.is_some() {
        let _ = opened.send(Err("stream ended before its first event".into()));
    }
    match split.error {
        Some(e) => Err(e),
        None => Ok(split.events),
    }
}
