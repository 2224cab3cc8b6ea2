//! In-process timings of the proxy's own per-request work, without any I/O: what SigV4
//! signing, building the URL, the JSON round trip of the body and recording a request's
//! metrics cost, against the whole per-request CPU time measured through the network.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bedrock_proxy::bedrock::client::{model_url, Operation};
use bedrock_proxy::bedrock::signing::sign_request;
use bedrock_proxy::config::{Config, Sources};
use bedrock_proxy::metrics::{Metrics, StreamUsage, Tally, Usage};

/// (what, nanoseconds per call): the best of five runs of `n` calls.
pub fn run(client_body: &str) -> Vec<(&'static str, f64)> {
    let creds = aws_credential_types::Credentials::new(
        "AKIDBENCHMARK0000000",
        "bench/secret/key/not/a/real/one/000000000",
        None,
        None,
        "bench",
    );
    let endpoint = "https://bedrock-runtime.ap-northeast-1.amazonaws.com";
    let model = "apac.anthropic.claude-sonnet-4-20250514-v1:0";
    let url = model_url(endpoint, model, Operation::Invoke).expect("model URL");
    let body = crate::BEDROCK_BODY.as_bytes();
    let now = SystemTime::now();
    let large = crate::large_body(false);
    let large_map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&large).expect("JSON");
    let metrics = bench_metrics();
    vec![
        (
            "metrics: one JSON request recorded (tally, key, attempt, usage read from the answer, cost, counters)",
            time(|| record_whole(&metrics, model)),
        ),
        (
            "metrics: one stream recorded (as above, its 8 events looked at, gauge, ttft)",
            time(|| record_stream(&metrics, model)),
        ),
        (
            "SigV4 signing (`sign_request`)",
            time(|| {
                let mut headers = http::HeaderMap::new();
                headers.insert(
                    "content-type",
                    http::HeaderValue::from_static("application/json"),
                );
                headers.insert("accept", http::HeaderValue::from_static("application/json"));
                sign_request(
                    "POST",
                    &url,
                    &mut headers,
                    body,
                    &creds,
                    "ap-northeast-1",
                    now,
                )
                .expect("signing");
                headers
            }),
        ),
        (
            "model URL (`model_url`: format + parse)",
            time(|| model_url(endpoint, model, Operation::Invoke).expect("model URL")),
        ),
        (
            "JSON body (the bench's 60 bytes): parse to a map + serialize again",
            time(|| json_round_trip(client_body)),
        ),
        (
            "JSON body (a 100 KB conversation): parse to a map + serialize again",
            time(|| json_round_trip(&large)),
        ),
        (
            "… of which serializing again",
            time(|| serde_json::to_vec(&large_map).expect("serialize")),
        ),
        (
            "SigV4 signing with the 100 KB body (hashes it)",
            time(|| {
                let mut headers = http::HeaderMap::new();
                headers.insert(
                    "content-type",
                    http::HeaderValue::from_static("application/json"),
                );
                headers.insert("accept", http::HeaderValue::from_static("application/json"));
                let body = large.as_bytes();
                sign_request(
                    "POST",
                    &url,
                    &mut headers,
                    body,
                    &creds,
                    "ap-northeast-1",
                    now,
                )
                .expect("signing");
                headers
            }),
        ),
    ]
}

/// The metrics of the default profiles, with two named client keys.
fn bench_metrics() -> Arc<Metrics> {
    let env = |k: &str| (k == "PROXY_API_KEYS").then(|| "ci:bench-key-1,bench-key-2".to_string());
    // The project's proxy.toml (the bench runs in the package root), else the defaults.
    let config = Config::load(&Sources {
        config_path: None,
        env: &env,
    })
    .expect("default configuration");
    Arc::new(Metrics::new(&config))
}

/// What the middleware, the guard, the retry loop and the pipeline record for one JSON call.
fn record_whole(metrics: &Arc<Metrics>, model: &str) {
    let tally = Tally::new(metrics.clone(), "0b7c5a9e-bench-request-id", "/invoke");
    tally.set_key(0);
    metrics.attempt("apac", "ap-northeast-1", 200);
    tally.routed("apac", Some(model), 1);
    if let Some(usage) = Usage::of_answer(fake_bedrock::fast::INVOKE_ANSWER.as_bytes()) {
        tally.add_usage(model, usage);
    }
    tally.set_status(200);
    std::hint::black_box(tally.cost_usd());
}

/// The same for a stream of the fast fake's events.
fn record_stream(metrics: &Arc<Metrics>, model: &str) {
    let tally = Tally::new(
        metrics.clone(),
        "0b7c5a9e-bench-request-id",
        "/invoke_stream",
    );
    tally.set_key(1);
    metrics.attempt("apac", "ap-northeast-1", 200);
    tally.routed("apac", Some(model), 1);
    let mut guard = tally.deferred(model, true);
    let mut usage = StreamUsage::default();
    for (name, data) in STREAM_EVENTS {
        if *name == "content_block_delta" {
            guard.first_token();
        }
        if StreamUsage::may_carry(name, data.as_bytes()) {
            usage.observe(name, data.as_bytes());
            guard.usage(usage.0);
        }
    }
    tally.set_status(200);
}

/// A short Messages stream as Bedrock sends it.
const STREAM_EVENTS: &[(&str, &str)] = &[
    (
        "message_start",
        r#"{"type":"message_start","message":{"id":"msg_bdrk_01","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":8,"output_tokens":1}}}"#,
    ),
    (
        "content_block_start",
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    ),
    (
        "content_block_delta",
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
    ),
    (
        "content_block_delta",
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"! How can I help?"}}"#,
    ),
    (
        "content_block_delta",
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" Ask away."}}"#,
    ),
    (
        "content_block_stop",
        r#"{"type":"content_block_stop","index":0}"#,
    ),
    (
        "message_delta",
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":12}}"#,
    ),
    (
        "message_stop",
        r#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":8,"outputTokenCount":12,"invocationLatency":812,"firstByteLatency":201}}"#,
    ),
];

fn json_round_trip(body: &str) -> Vec<u8> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(body).expect("JSON");
    serde_json::to_vec(&map).expect("serialize")
}

fn time<T>(mut f: impl FnMut() -> T) -> f64 {
    // About 0.1 s per run, whatever the step costs.
    let start = Instant::now();
    std::hint::black_box(f());
    let once = start.elapsed().as_nanos().max(1);
    let n = (100_000_000 / once).clamp(10, 50_000) as u32;
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..n {
            std::hint::black_box(f());
        }
        best = best.min(start.elapsed());
    }
    best.as_nanos() as f64 / f64::from(n)
}
