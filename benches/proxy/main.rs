//! Benchmark: what the proxy adds to a call, against a direct call to the same upstream.
//!
//! `cargo bench --bench proxy` (full, a few minutes) or `cargo bench --bench proxy -- --quick`
//! (about a minute). It starts a fast fake Bedrock (this binary with `--fake-server`, its own
//! process), the release proxy binary (its own process, configured through the environment)
//! and drives both from the load generator in this process, then prints a markdown table and,
//! in full mode, writes it to docs/performance.md. See docs/performance.md for what each figure
//! means and the targets. Nothing here runs under `cargo test`.

// Tests and benchmarks may unwrap, panic, print and run long.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::too_many_lines
)]
// rlimits, prctl and sysconf through libc.
#![allow(unsafe_code)]

mod load;
mod micro;
mod procfs;
mod report;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

// The fast fake Bedrock lives in the fake crate (tests/fake-bedrock, feature `fast`).
use fake_bedrock::fast as fake;
use load::{Framing, Samples, Target};
use report::{LatencyRow, Load, MemoryRow, Report, StreamRow};

const USAGE: &str = "\
cargo bench --bench proxy [-- OPTIONS]

  --quick             about a minute: shorter runs, fewer samples (does not write docs)
  --write / --no-write  write docs/performance.md (default: only a full run of everything)
  --only LIST         phases to run, comma-separated:
                      startup,connections,invoke,rate,stream,memory,micro
  --proxy-bin PATH    the proxy binary to measure (default: the release build cargo made)
  --log FILTER        RUST_LOG for the proxy (default: warn)
  --streams N,N       open-stream counts for the memory phase (default: 1000,10000)
  --concurrency N,N   closed-loop concurrencies of the invoke phase (default: 1,16,64)
  --seconds S         measured seconds per load run (default: 10, quick: 2), e.g. to profile
  --proxy-env K=V     extra environment variable for the proxy (repeatable), e.g.
                      TOKIO_WORKER_THREADS=1";

/// The model id of the default profile and the body the proxy sends for the bench request.
const MODEL_PATH: &str = "/model/apac.anthropic.claude-sonnet-4-20250514-v1%3A0";
const CLIENT_BODY: &str = r#"{"messages":[{"role":"user","content":"hi"}],"max_tokens":10}"#;
const BEDROCK_BODY: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"messages":[{"content":"hi","role":"user"}]}"#;

/// A long conversation, about 100 KB of JSON: 40 turns of 2.5 KB. As the client sends it, or
/// (`bedrock`) as the proxy forwards it.
pub fn large_body(bedrock: bool) -> String {
    let turns: Vec<serde_json::Value> = (0..40)
        .map(|i| {
            serde_json::json!({
                "role": if i % 2 == 0 { "user" } else { "assistant" },
                "content": format!("turn {i}: {}", "lorem ipsum dolor sit amet \"quoted\" ".repeat(80)),
            })
        })
        .collect();
    let mut body = serde_json::json!({"messages": turns, "max_tokens": 1024});
    if bedrock {
        body["anthropic_version"] = "bedrock-2023-05-31".into();
    }
    body.to_string()
}

pub struct Options {
    pub quick: bool,
    write: Option<bool>,
    only: Option<Vec<String>>,
    proxy_bin: Option<PathBuf>,
    pub log: String,
    streams: Vec<usize>,
    concurrency: Vec<usize>,
    seconds: Option<f64>,
    pub proxy_env: Vec<(String, String)>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut o = Options {
            quick: false,
            write: None,
            only: None,
            proxy_bin: None,
            log: "warn".into(),
            streams: vec![1_000, 10_000],
            concurrency: vec![1, 16, 64],
            seconds: None,
            proxy_env: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
            match a.as_str() {
                "--bench" => {}
                "--quick" => o.quick = true,
                "--write" => o.write = Some(true),
                "--no-write" => o.write = Some(false),
                "--only" => o.only = Some(value()?.split(',').map(str::to_string).collect()),
                "--proxy-bin" => o.proxy_bin = Some(PathBuf::from(value()?)),
                "--log" => o.log = value()?,
                "--streams" => o.streams = numbers(&value()?)?,
                "--concurrency" => o.concurrency = numbers(&value()?)?,
                "--seconds" => {
                    o.seconds = Some(value()?.parse().map_err(|e| format!("--seconds: {e}"))?)
                }
                "--proxy-env" => {
                    let kv = value()?;
                    let (k, v) = kv.split_once('=').ok_or("--proxy-env needs K=V")?;
                    o.proxy_env.push((k.to_string(), v.to_string()));
                }
                "-h" | "--help" => return Err(USAGE.into()),
                other => return Err(format!("unknown argument '{other}'\n\n{USAGE}")),
            }
        }
        Ok(o)
    }

    fn runs(&self, phase: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|p| p == phase))
    }

    /// Rounds per comparison, and each round's warm-up and measured window. Direct and proxy
    /// runs alternate round by round, so both see the same background load.
    pub fn slices(&self) -> (usize, Duration, Duration) {
        let (rounds, warmup, measure) = if self.quick {
            (2, 0.3, 2.0)
        } else {
            (5, 0.5, 10.0)
        };
        let measure = self.seconds.unwrap_or(measure) / rounds as f64;
        (
            rounds,
            Duration::from_secs_f64(warmup),
            Duration::from_secs_f64(measure),
        )
    }
}

/// How a comparison drives load.
#[derive(Clone, Copy)]
enum Drive {
    /// N workers, back to back.
    Closed(usize),
    /// A fixed number of requests per second.
    Rate(f64),
}

/// The same load directly and through the proxy, alternating in rounds.
fn compare(
    runtime: &tokio::runtime::Runtime,
    opts: &Options,
    what: &str,
    drive: Drive,
    direct: &Arc<Target>,
    proxy: &Arc<Target>,
    pids: &[u32],
) -> (Samples, Samples) {
    let (rounds, warmup, measure) = opts.slices();
    let mut runs = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        for (path, target) in [("direct", direct), ("proxy", proxy)] {
            eprintln!("{what}: {path}, round {round}/{rounds}");
            pause();
            let target = target.clone();
            let s = runtime.block_on(async {
                match drive {
                    Drive::Closed(n) => {
                        load::closed_loop(target, n, warmup, measure, pids.to_vec()).await
                    }
                    Drive::Rate(r) => {
                        load::open_loop(target, r, warmup, measure, pids.to_vec()).await
                    }
                }
            });
            check(&s, path);
            if path == "direct" {
                runs.0.push(s);
            } else {
                runs.1.push(s);
            }
        }
    }
    (Samples::merge(runs.0), Samples::merge(runs.1))
}

fn numbers(list: &str) -> Result<Vec<usize>, String> {
    list.split(',')
        .map(|n| n.trim().parse().map_err(|e| format!("'{n}': {e}")))
        .collect()
}

/// Children die with the benchmark, however it ends (Ctrl-C included).
fn die_with_parent(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the child being started.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        })
    }
}

/// A child process killed when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The fake Bedrock process.
struct Fake {
    guard: Guard,
    addr: SocketAddr,
}

impl Fake {
    fn spawn() -> Fake {
        let exe = std::env::current_exe().expect("path of this benchmark binary");
        let mut child = die_with_parent(&mut Command::new(exe))
            .arg("--fake-server")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the fake Bedrock");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("fake stdout"))
            .read_line(&mut line)
            .expect("read the fake's port");
        let port: u16 = line.trim().parse().expect("the fake printed its port");
        Fake {
            guard: Guard(child),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    fn pid(&self) -> u32 {
        self.guard.0.id()
    }

    /// (TCP connections that carried a model request so far, streams held now).
    fn stats(&self) -> (u64, u64) {
        let body = http_get(self.addr, "/bench/stats").expect("fake stats");
        let mut it = body.split_whitespace().map(|n| n.parse().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    }

    fn release(&self) {
        http_get(self.addr, "/bench/release").expect("release held streams");
    }
}

/// A running proxy.
struct Proxy {
    guard: Guard,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Proxy {
    fn pid(&self) -> u32 {
        self.guard.0.id()
    }

    /// Start the proxy against the fake; answers it with the time from spawn to the first 200
    /// on `/health`.
    fn spawn(bin: &Path, fake: SocketAddr, opts: &Options) -> (Proxy, Duration) {
        let dir = tempfile::tempdir().expect("scratch directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log_path = dir.path().join("proxy.log");
        let log_file = std::fs::File::create(&log_path).expect("proxy log file");
        let endpoint = format!("http://{fake}");
        let started = Instant::now();
        let child = die_with_parent(&mut Command::new(bin))
            .current_dir(dir.path())
            .env_clear()
            .env("HOME", dir.path())
            .env("PROXY_SERVER__PORT", port.to_string())
            // A profile whose streams the fake holds open (memory per open stream).
            .env(
                "PROXY_PROFILES__HOLD__MODEL_ID",
                "anthropic.bench-hold-v1:0",
            )
            .env("PROXY_PROFILES__HOLD__REGION", "us-east-1")
            // No cap on concurrent Bedrock calls: the open-stream phase holds thousands, and
            // the cap (64 by default) would refuse all but the first 64.
            .env("PROXY_LIMITS__MAX_CONCURRENT_UPSTREAM", "0")
            .env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &endpoint)
            .env("AWS_ENDPOINT_URL_BEDROCK", &endpoint)
            .env("AWS_ACCESS_KEY_ID", "AKIDBENCHMARK0000000")
            .env(
                "AWS_SECRET_ACCESS_KEY",
                "bench/secret/key/not/a/real/one/000000000",
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", &opts.log)
            .envs(opts.proxy_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        let mut guard = Guard(child);
        loop {
            if http_get(addr, "/health").is_ok() {
                break;
            }
            let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
            if let Ok(Some(status)) = guard.0.try_wait() {
                panic!(
                    "the proxy exited ({status}) before answering /health:\n{}",
                    log()
                );
            }
            if started.elapsed() > Duration::from_secs(20) {
                panic!("the proxy did not answer /health within 20 s:\n{}", log());
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let startup = started.elapsed();
        (
            Proxy {
                guard,
                addr,
                _dir: dir,
            },
            startup,
        )
    }
}

/// A tiny blocking HTTP/1.1 GET (`Connection: close`); the body of a 200, else an error.
fn http_get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_millis(500)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    if !answer.starts_with("HTTP/1.1 200") {
        return Err(answer.lines().next().unwrap_or("no answer").to_string());
    }
    Ok(answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string())
}

/// The proxy binary to measure, copied to a private place: the shared target directory's
/// `release/bedrock-proxy` may be rebuilt from another worktree while the benchmark runs.
fn proxy_binary(opts: &Options, keep: &Path) -> PathBuf {
    let source = opts
        .proxy_bin
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_bedrock-proxy")));
    let copy = keep.join("bedrock-proxy");
    std::fs::copy(&source, &copy).unwrap_or_else(|e| panic!("copy {}: {e}", source.display()));
    eprintln!(
        "proxy binary: {} (copied to {})",
        source.display(),
        copy.display()
    );
    copy
}

fn git_describe() -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let run = |args: &[&str]| {
        Command::new("git")
            .args(["-C", dir])
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let commit = run(&["rev-parse", "--short", "HEAD"]);
    let dirty = !run(&["status", "--porcelain", "--untracked-files=no"]).is_empty();
    format!(
        "{commit}{}",
        if dirty { " (with local changes)" } else { "" }
    )
}

fn pause() {
    std::thread::sleep(Duration::from_millis(300));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--fake-server") {
        fake::main();
        return;
    }
    // `cargo bench` passes --bench; anything else (e.g. `cargo test --benches`) only checks
    // that this target builds.
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("benchmark not run: use `cargo bench --bench proxy [-- --quick]`");
        return;
    }
    let opts = match Options::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    // Only a full, complete run replaces the figures in docs/performance.md by default.
    let partial = opts.only.is_some()
        || opts.seconds.is_some()
        || opts.concurrency != [1, 16, 64]
        || opts.streams != [1_000, 10_000];
    let write = opts.write.unwrap_or(!opts.quick && !partial);

    // Two descriptors in the proxy per open stream (client and upstream), one here, one in the
    // fake; children inherit the limit.
    let max_streams = opts.streams.iter().copied().max().unwrap_or(0) as u64;
    let fd_limit = procfs::raise_fd_limit((2 * max_streams + 1024).max(4096));

    let keep = tempfile::tempdir().expect("scratch directory");
    let bin = proxy_binary(&opts, keep.path());
    let fake = Fake::spawn();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("load generator runtime");
    let mut report = Report::new(&opts, procfs::machine(), git_describe(), fd_limit);
    let me = std::process::id();

    // Start-up: spawn to the first 200 on /health; the last one stays up and is measured.
    let starts = if opts.runs("startup") {
        if opts.quick {
            3
        } else {
            10
        }
    } else {
        1
    };
    let mut startup = Vec::new();
    let mut proxy = None;
    for _ in 0..starts {
        drop(proxy.take());
        let (p, t) = Proxy::spawn(&bin, fake.addr, &opts);
        startup.push(t);
        proxy = Some(p);
    }
    let proxy = proxy.expect("a proxy is running");
    if opts.runs("startup") {
        report.startup = startup;
    }
    std::thread::sleep(Duration::from_millis(200));
    report.idle_rss_kb = Some(procfs::rss_kb(proxy.pid()));
    eprintln!(
        "proxy pid {} on {}; fake pid {} on {}",
        proxy.pid(),
        proxy.addr,
        fake.pid(),
        fake.addr
    );

    let via_proxy = Arc::new(Target::new(proxy.addr, "/invoke", CLIENT_BODY));
    let direct = Arc::new(
        Target::new(fake.addr, &format!("{MODEL_PATH}/invoke"), BEDROCK_BODY)
            .with_headers(&[("accept", "application/json")]),
    );
    let stream_via_proxy = Arc::new(Target::new(proxy.addr, "/invoke_stream", CLIENT_BODY));
    let stream_direct = Arc::new(
        Target::new(
            fake.addr,
            &format!("{MODEL_PATH}/invoke-with-response-stream"),
            BEDROCK_BODY,
        )
        .with_headers(&[
            ("accept", "application/vnd.amazon.eventstream"),
            ("x-amzn-bedrock-accept", "application/json"),
        ]),
    );
    let pids = vec![proxy.pid(), fake.pid(), me];

    if opts.runs("connections") {
        eprintln!("connections: 1,000 sequential /invoke through the proxy");
        let (before, _) = fake.stats();
        runtime.block_on(async {
            let mut conn = load::Conn::connect(proxy.addr)
                .await
                .expect("connect to the proxy");
            for _ in 0..1_000 {
                conn.invoke(&via_proxy)
                    .await
                    .expect("/invoke through the proxy");
            }
        });
        let (after, _) = fake.stats();
        report.upstream_connections = Some(after - before);
    }

    if opts.runs("invoke") {
        for &concurrency in &opts.concurrency {
            let (d, p) = compare(
                &runtime,
                &opts,
                &format!("/invoke, concurrency {concurrency}"),
                Drive::Closed(concurrency),
                &direct,
                &via_proxy,
                &pids,
            );
            report.latency.push(LatencyRow {
                kind: Load::Closed,
                load: format!("concurrency {concurrency}"),
                direct: d,
                proxy: p,
            });
        }
        // Long conversations are common: the body is parsed, checked, transformed,
        // serialized and hashed for the signature.
        let large_proxy = Arc::new(Target::new(proxy.addr, "/invoke", &large_body(false)));
        let large_direct = Arc::new(
            Target::new(
                fake.addr,
                &format!("{MODEL_PATH}/invoke"),
                &large_body(true),
            )
            .with_headers(&[("accept", "application/json")]),
        );
        let (d, p) = compare(
            &runtime,
            &opts,
            "/invoke, concurrency 1, 100 KB body",
            Drive::Closed(1),
            &large_direct,
            &large_proxy,
            &pids,
        );
        report.latency.push(LatencyRow {
            kind: Load::LargeBody,
            load: "concurrency 1, 100 KB body".into(),
            direct: d,
            proxy: p,
        });
    }

    if opts.runs("rate") {
        let (d, p) = compare(
            &runtime,
            &opts,
            "/invoke, fixed 1,000 req/s",
            Drive::Rate(1_000.0),
            &direct,
            &via_proxy,
            &pids,
        );
        report.latency.push(LatencyRow {
            kind: Load::Rate,
            load: "1,000 req/s (open loop)".into(),
            direct: d,
            proxy: p,
        });
    }

    if opts.runs("stream") {
        let n = if opts.quick { 300 } else { 2_000 };
        eprintln!(
            "/invoke_stream: {n} answers of {} events, direct and through the proxy in turn",
            fake::STREAM_EVENTS
        );
        pause();
        report.stream = Some(runtime.block_on(async {
            let mut to_fake = load::Conn::connect(fake.addr).await.expect("connect");
            let mut to_proxy = load::Conn::connect(proxy.addr).await.expect("connect");
            let mut row = StreamRow::default();
            // The first tenth warms up.
            for i in 0..n + n / 10 {
                let d = load::stream_once(&mut to_fake, &stream_direct, Framing::EventStream)
                    .await
                    .unwrap_or_else(|e| panic!("direct stream: {e}"));
                let p = load::stream_once(&mut to_proxy, &stream_via_proxy, Framing::Sse)
                    .await
                    .unwrap_or_else(|e| panic!("stream through the proxy: {e}"));
                assert_eq!(d.events, fake::STREAM_EVENTS, "events of a direct stream");
                assert_eq!(p.events, fake::STREAM_EVENTS, "events through the proxy");
                if i >= n / 10 {
                    row.direct_first.push(d.first.as_nanos() as u64);
                    row.direct_last.push(d.last.as_nanos() as u64);
                    row.proxy_first.push(p.first.as_nanos() as u64);
                    row.proxy_last.push(p.last.as_nanos() as u64);
                }
            }
            for v in [
                &mut row.direct_first,
                &mut row.direct_last,
                &mut row.proxy_first,
                &mut row.proxy_last,
            ] {
                v.sort_unstable();
            }
            row
        }));
    }
    report.rss_after_load_kb = Some(procfs::rss_kb(proxy.pid()));
    drop(proxy);

    if opts.runs("memory") {
        for &n in &opts.streams {
            report
                .memory
                .push(open_streams(&runtime, &bin, &fake, &opts, n));
        }
    }

    if opts.runs("micro") {
        eprintln!("micro: the proxy's own per-request work, in process");
        report.micro = micro::run(CLIENT_BODY);
    }

    let table = report.markdown();
    println!("\n{table}");
    if write {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/performance.md");
        match report::write_docs(&path, &table) {
            Ok(()) => eprintln!("wrote {}", path.display()),
            Err(e) => eprintln!("could not write {}: {e}", path.display()),
        }
    } else {
        eprintln!("(docs/performance.md not written: pass --write)");
    }
}

/// Every request of a load run must have succeeded.
fn check(s: &Samples, path: &str) {
    if s.errors > 0 {
        panic!(
            "{path}: {} failed requests, the first: {}",
            s.errors,
            s.first_error.as_deref().unwrap_or("?")
        );
    }
    if s.requests() == 0 {
        panic!("{path}: no request completed in the measured window");
    }
}

/// A fresh proxy, one warm-up stream, then `n` streams held open by the fake after their first
/// event: the proxy's resident set before and with them open.
fn open_streams(
    runtime: &tokio::runtime::Runtime,
    bin: &Path,
    fake: &Fake,
    opts: &Options,
    n: usize,
) -> MemoryRow {
    eprintln!("memory: {n} open streams (fresh proxy)");
    let (proxy, _) = Proxy::spawn(bin, fake.addr, opts);
    std::thread::sleep(Duration::from_millis(200));
    let fresh_kb = procfs::rss_kb(proxy.pid());
    let held = Arc::new(Target::new(
        proxy.addr,
        "/invoke_stream?profile=hold",
        CLIENT_BODY,
    ));
    let mut row = MemoryRow {
        streams: n,
        fresh_kb,
        ..MemoryRow::default()
    };
    runtime.block_on(async {
        // Warm-up: one held stream, released, so lazily built state is not counted per stream.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sem = Arc::new(tokio::sync::Semaphore::new(256));
        let permit = sem.clone().acquire_owned().await.expect("semaphore");
        let warm = tokio::spawn(load::held_stream(held.clone(), tx.clone(), permit));
        rx.recv()
            .await
            .expect("warm-up stream")
            .expect("warm-up stream opened");
        fake.release();
        let _ = warm.await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        row.before_kb = procfs::rss_kb(proxy.pid());

        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..n {
            let permit = sem.clone().acquire_owned().await.expect("semaphore");
            tasks.spawn(load::held_stream(held.clone(), tx.clone(), permit));
        }
        for _ in 0..n {
            match tokio::time::timeout(Duration::from_secs(120), rx.recv()).await {
                Ok(Some(Ok(()))) => row.opened += 1,
                Ok(Some(Err(e))) => {
                    row.failed += 1;
                    row.first_error.get_or_insert(e);
                }
                Ok(None) | Err(_) => break,
            }
        }
        row.open_secs = started.elapsed().as_secs_f64();
        // Let every stream settle (keep-alive timers armed, buffers in place), then see what
        // holding them costs: each gets a keep-alive comment every second.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let cpu = procfs::cpu_time(proxy.pid());
        tokio::time::sleep(Duration::from_secs(2)).await;
        row.hold_cpu_pct = (procfs::cpu_time(proxy.pid()) - cpu).as_secs_f64() / 2.0 * 100.0;
        row.open_kb = procfs::rss_kb(proxy.pid());
        row.proxy_fds = procfs::open_fds(proxy.pid());
        row.fake_held = fake.stats().1;
        fake.release();
        while let Some(r) = tasks.join_next().await {
            if let Ok(Ok(events)) = r {
                if events == fake::STREAM_EVENTS {
                    row.completed += 1;
                }
            }
        }
    });
    row
}
