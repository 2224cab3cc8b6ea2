//! In-process timings of the proxy's own per-request work, without any I/O: what SigV4
//! signing, building the URL and the JSON round trip of the body cost, against the whole
//! per-request CPU time measured through the network.

use std::time::{Duration, Instant, SystemTime};

use bedrock_proxy::bedrock::client::{model_url, Operation};
use bedrock_proxy::bedrock::signing::sign_request;

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
    vec![
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
