//! Retries, fallback profiles, timeouts and the concurrency cap, against the fake Bedrock.
//! Retry delays are a few milliseconds here (`FAST`), so the suite stays quick.

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bedrock_proxy::error::ProxyError;
use bedrock_proxy::transform::{RequestContext, RequestTransformer};
use futures_util::StreamExt;
use serde_json::{Map, Value};
use support::{
    hi, parse_sse, sse_text, start_proxy, start_proxy_custom, Behavior, FakeBedrock, StreamScript,
};

/// Standard retries (3 attempts) with millisecond backoff.
const FAST: &str = "[retry]\nbase_delay_secs = 0.005\nmax_delay_secs = 0.02\n\n";
const EU: &str = "eu.anthropic.claude-sonnet-4-20250514-v1:0";

fn attempts(resp: &reqwest::Response) -> u32 {
    resp.headers()["x-proxy-attempts"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn throttled_once_then_answered_with_two_freshly_signed_attempts() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, FAST).await;
    fake.push(Behavior::throttling());
    let resp = proxy.post_json("/invoke?profile=eu", &hi()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(attempts(&resp), 2);
    assert_eq!(resp.headers()["x-proxy-profile"], "eu");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["content"][0]["text"], "echo: Hi");

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert!(
            r.sig.is_ok(),
            "every attempt is validly signed: {:?}",
            r.sig
        );
        assert_eq!(r.model_id.as_deref(), Some(EU));
    }
    assert_ne!(
        reqs[0].header("authorization"),
        reqs[1].header("authorization"),
        "each attempt has its own signature"
    );
    assert_eq!(reqs[0].header("amz-sdk-request"), Some("attempt=1; max=3"));
    assert_eq!(reqs[1].header("amz-sdk-request"), Some("attempt=2; max=3"));
    assert_eq!(
        reqs[0].header("amz-sdk-invocation-id"),
        reqs[1].header("amz-sdk-invocation-id")
    );
    assert_eq!(reqs[0].json, reqs[1].json, "the same body is sent again");
}

#[tokio::test]
async fn every_retryable_fault_is_retried_until_it_succeeds() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(
        &fake,
        &format!("{FAST}[upstream]\nfirst_byte_timeout_secs = 0.3\n"),
    )
    .await;
    let faults = [
        Behavior::error(429, "ModelNotReadyException", "warming up"),
        Behavior::error(500, "InternalServerException", "oops"),
        Behavior::error(503, "ServiceUnavailableException", "busy"),
        Behavior::error(502, "BadGateway", "gateway"),
        // A connection cut before any response byte, and a first-byte timeout.
        Behavior::CloseWithoutResponse,
        Behavior::Hang,
    ];
    for fault in faults {
        let before = fake.request_count();
        fake.push(fault.clone());
        let resp = proxy.post_json("/invoke", &hi()).await;
        assert_eq!(resp.status(), 200, "{fault:?}");
        assert_eq!(attempts(&resp), 2, "{fault:?}");
        assert_eq!(fake.request_count() - before, 2, "{fault:?}");
    }
}

#[tokio::test]
async fn throttled_forever_is_429_after_the_configured_attempts() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(
        &fake,
        "[retry]\nmax_attempts = 4\nbase_delay_secs = 0.005\nmax_delay_secs = 0.01\n",
    )
    .await;
    fake.push_n(10, Behavior::throttling());
    let resp = proxy.post_json("/invoke", &hi()).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(attempts(&resp), 4);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["type"], "ThrottlingException");
    assert_eq!(err["error"]["profile"], "apac");
    assert_eq!(fake.request_count(), 4);
    fake.clear_queues();
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, FAST).await;
    for (status, kind) in [
        (400, "ValidationException"),
        (403, "AccessDeniedException"),
        (404, "ResourceNotFoundException"),
        (408, "ModelTimeoutException"),
        (424, "ModelErrorException"),
    ] {
        let before = fake.request_count();
        fake.push(Behavior::error(status, kind, "no"));
        let resp = proxy.post_json("/invoke", &hi()).await;
        assert_eq!(resp.status(), status, "{kind}");
        assert_eq!(attempts(&resp), 1, "{kind}");
        assert_eq!(fake.request_count() - before, 1, "{kind}");
    }
    // Refused by the proxy itself: nothing is sent, and the header says so.
    let resp = proxy
        .post_raw("/invoke", "application/json", "{\"messages\":5}")
        .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(attempts(&resp), 0);
    let resp = proxy.post_json("/invoke?profile=mars", &hi()).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(attempts(&resp), 0);
}

#[tokio::test]
async fn no_retry_starts_after_max_elapsed() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(
        &fake,
        "[retry]\nbase_delay_secs = 0.005\nmax_delay_secs = 0.01\nmax_elapsed_secs = 0.3\n",
    )
    .await;
    // The first attempt alone takes longer than the budget.
    fake.push(Behavior::delay(
        Duration::from_millis(500),
        Behavior::throttling(),
    ));
    fake.push(Behavior::throttling());
    let resp = proxy.post_json("/invoke", &hi()).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(attempts(&resp), 1);
    assert_eq!(fake.request_count(), 1);
    fake.clear_queues();
}

#[tokio::test]
async fn a_stream_is_retried_only_before_its_first_event() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, FAST).await;
    // An HTTP throttle, then an exception as the first frame: both before any output.
    fake.push(Behavior::throttling());
    fake.push(Behavior::stream(StreamScript {
        exception_after: Some((0, "throttlingException".into(), "Too many tokens".into())),
        ..Default::default()
    }));
    fake.push(Behavior::stream(StreamScript {
        chunks: Some(vec!["third ".into(), "time".into()]),
        ..Default::default()
    }));
    let resp = proxy.post_json("/invoke_stream", &hi()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(attempts(&resp), 3);
    let (events, _) = parse_sse(&resp.text().await.unwrap());
    assert_eq!(sse_text(&events), "third time");
    assert_eq!(fake.request_count(), 3);

    // Once an event went out, a throttle ends the stream; it is not sent again.
    fake.push(Behavior::stream(StreamScript {
        exception_after: Some((2, "throttlingException".into(), "Too many tokens".into())),
        ..Default::default()
    }));
    let resp = proxy.post_json("/invoke_stream", &hi()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(attempts(&resp), 1);
    let (events, _) = parse_sse(&resp.text().await.unwrap());
    let last: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
    assert_eq!(last["error"]["type"], "ThrottlingException");
    assert_eq!(fake.request_count(), 4);
}

/// Marks the body so the test can see which profile's chain prepared it.
struct Mark(&'static str);

impl RequestTransformer for Mark {
    fn name(&self) -> &str {
        "mark"
    }
    fn transform(
        &self,
        ctx: &RequestContext<'_>,
        body: &mut Map<String, Value>,
    ) -> Result<(), bedrock_proxy::transform::TransformError> {
        body.insert(
            "metadata".into(),
            serde_json::json!({"user_id": format!("{}:{}", self.0, ctx.profile)}),
        );
        Ok(())
    }
}

const FALLBACK: &str = "[retry]\nmax_attempts = 2\nbase_delay_secs = 0.005\nmax_delay_secs = 0.01\n\n[profiles.primary]\nmodel_id = \"eu.anthropic.claude-sonnet-4-20250514-v1:0\"\nregion = \"eu-west-1\"\nfallback = [\"backup\"]\n\n[profiles.backup]\nmodel_id = \"us.anthropic.claude-3-5-haiku-20241022-v1:0\"\nregion = \"us-west-2\"\n";

#[tokio::test]
async fn exhausted_profile_falls_back_with_its_own_model_region_and_transformers() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy_custom(&fake, FALLBACK, &[], |b| {
        b.request_transformer(Some("primary"), Arc::new(Mark("p")))
            .request_transformer(Some("backup"), Arc::new(Mark("b")))
    })
    .await;
    fake.push_n(2, Behavior::throttling());
    let resp = proxy
        .post_json(
            "/invoke?profile=primary",
            &serde_json::json!({"messages":[{"role":"user","content":"Hi"}],"max_tokens":10}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-proxy-profile"], "backup");
    assert_eq!(attempts(&resp), 3);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["model"], "us.anthropic.claude-3-5-haiku-20241022-v1:0");

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    for r in &reqs[..2] {
        assert_eq!(r.model_id.as_deref(), Some(EU));
        assert_eq!(r.sig.as_ref().unwrap().region, "eu-west-1");
        assert_eq!(r.json.as_ref().unwrap()["metadata"]["user_id"], "p:primary");
    }
    let last = &reqs[2];
    assert_eq!(
        last.model_id.as_deref(),
        Some("us.anthropic.claude-3-5-haiku-20241022-v1:0")
    );
    assert_eq!(last.sig.as_ref().unwrap().region, "us-west-2");
    // Prepared afresh from the client's body by the backup's own chain.
    assert_eq!(
        last.json.as_ref().unwrap()["metadata"]["user_id"],
        "b:backup"
    );
    assert_eq!(
        last.json.as_ref().unwrap()["anthropic_version"],
        "bedrock-2023-05-31"
    );

    // Streams fall back too.
    fake.push_n(
        2,
        Behavior::error(503, "ServiceUnavailableException", "down"),
    );
    let resp = proxy
        .post_json("/invoke_stream?profile=primary", &hi())
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-proxy-profile"], "backup");
    let (events, _) = parse_sse(&resp.text().await.unwrap());
    assert_eq!(sse_text(&events), "echo: Hi");

    // A validation error is the client's: no fallback.
    let before = fake.request_count();
    fake.push(Behavior::error(400, "ValidationException", "bad"));
    let resp = proxy.post_json("/invoke?profile=primary", &hi()).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(fake.request_count() - before, 1);

    // Everything throttled: the last profile's error, every attempt counted.
    fake.push_n(4, Behavior::throttling());
    let resp = proxy.post_json("/invoke?profile=primary", &hi()).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(attempts(&resp), 4);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["profile"], "backup");
}

#[tokio::test]
async fn fallback_chains_follow_each_profiles_fallbacks_once() {
    let fake = FakeBedrock::start().await;
    // a → b → c → a: a cycle; each profile is tried once.
    let toml = "[retry]\nmax_attempts = 1\n\n[profiles.a]\nmodel_id = \"ma\"\nregion = \"us-east-1\"\nfallback = [\"b\"]\n\n[profiles.b]\nmodel_id = \"mb\"\nregion = \"us-east-1\"\nfallback = [\"c\", \"a\"]\n\n[profiles.c]\nmodel_id = \"mc\"\nregion = \"us-east-1\"\nfallback = [\"a\"]\n";
    let proxy = start_proxy(&fake, toml).await;
    fake.push_n(5, Behavior::throttling());
    let resp = proxy.post_json("/invoke?profile=a", &hi()).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(attempts(&resp), 3);
    let models: Vec<String> = fake
        .requests()
        .iter()
        .filter_map(|r| r.model_id.clone())
        .collect();
    assert_eq!(models, ["ma", "mb", "mc"]);
    fake.clear_queues();

    let profiles: Value = proxy.get("/profiles").await.json().await.unwrap();
    let a = profiles["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "a")
        .unwrap()
        .clone();
    assert_eq!(a["fallback"], serde_json::json!(["b", "c"]));
}

#[tokio::test]
async fn timeouts_are_configurable_globally_and_per_profile() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(
        &fake,
        "[retry]\nmax_attempts = 1\n\n[upstream]\nfirst_byte_timeout_secs = 0.3\nidle_timeout_secs = 0.3\n\n[profiles.patient]\nmodel_id = \"m\"\nregion = \"us-east-1\"\nfirst_byte_timeout_secs = 3\nidle_timeout_secs = 3\n",
    )
    .await;
    // Global first-byte timeout: 504 within the configured time.
    fake.push(Behavior::Hang);
    let started = Instant::now();
    let resp = proxy.post_json("/invoke", &hi()).await;
    assert_eq!(resp.status(), 504);
    assert!(started.elapsed() < Duration::from_secs(2));
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["type"], "UpstreamTimeout");

    // A profile's own, longer timeout lets the same delay through.
    fake.push(Behavior::delay(
        Duration::from_millis(600),
        Behavior::Default,
    ));
    let resp = proxy.post_json("/invoke?profile=patient", &hi()).await;
    assert_eq!(resp.status(), 200);

    // Global idle timeout while reading an /invoke body: 504, and not retried even with
    // retries on (Bedrock had started answering).
    let gate = Arc::new(tokio::sync::Notify::new());
    fake.push(Behavior::stream(StreamScript {
        gate_after: Some((1, gate.clone())),
        ..Default::default()
    }));
    let resp = proxy.post_json("/invoke", &hi()).await;
    assert_eq!(resp.status(), 504);
    gate.notify_one();

    // Global idle timeout on a stream: a final SSE error.
    let gate = Arc::new(tokio::sync::Notify::new());
    fake.push(Behavior::stream(StreamScript {
        gate_after: Some((2, gate.clone())),
        ..Default::default()
    }));
    let started = Instant::now();
    let resp = proxy.post_json("/invoke_stream", &hi()).await;
    assert_eq!(resp.status(), 200);
    let (events, _) = parse_sse(&resp.text().await.unwrap());
    assert!(started.elapsed() < Duration::from_secs(3));
    let last: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
    assert_eq!(last["error"]["type"], "stream_timeout");
    gate.notify_one();
}

#[tokio::test]
async fn body_read_timeout_is_not_retried() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(
        &fake,
        &format!("{FAST}[upstream]\nidle_timeout_secs = 0.3\n"),
    )
    .await;
    let gate = Arc::new(tokio::sync::Notify::new());
    fake.push(Behavior::stream(StreamScript {
        gate_after: Some((1, gate.clone())),
        ..Default::default()
    }));
    let resp = proxy.post_json("/invoke", &hi()).await;
    assert_eq!(resp.status(), 504);
    assert_eq!(attempts(&resp), 1);
    assert_eq!(fake.request_count(), 1);
    gate.notify_one();
}

#[tokio::test]
async fn connect_timeout_is_504_and_retried() {
    // A listener whose accept queue is full: SYNs to it are dropped, so connecting hangs.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            fillers.push(s);
        }
    }
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(
        &fake,
        &format!("{FAST}[profiles.blackhole]\nmodel_id = \"m\"\nregion = \"us-east-1\"\nendpoint_url = \"http://{addr}\"\nconnect_timeout_secs = 0.2\n"),
    )
    .await;
    let started = Instant::now();
    let resp = proxy.post_json("/invoke?profile=blackhole", &hi()).await;
    assert_eq!(resp.status(), 504);
    assert_eq!(attempts(&resp), 3);
    assert!(started.elapsed() < Duration::from_secs(3));
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["type"], "UpstreamTimeout");
    drop(listener);
}

#[tokio::test]
async fn concurrency_cap_answers_503_with_retry_after() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(
        &fake,
        "[limits]\nmax_concurrent_upstream = 1\nqueue_timeout_secs = 0.3\n",
    )
    .await;
    // A stream holds the only slot until it ends.
    let gate = Arc::new(tokio::sync::Notify::new());
    fake.push(Behavior::stream(StreamScript {
        gate_after: Some((2, gate.clone())),
        ..Default::default()
    }));
    let first = proxy.post_json("/invoke_stream", &hi()).await;
    assert_eq!(first.status(), 200);
    let mut first_body = first.bytes_stream();
    assert!(first_body.next().await.is_some());

    let started = Instant::now();
    let resp = proxy.post_json("/invoke", &hi()).await;
    assert_eq!(resp.status(), 503);
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(resp.headers()["retry-after"], "1");
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["type"], "ProxyOverloaded");
    assert_eq!(err["error"]["status"], 503);
    assert_eq!(
        fake.request_count(),
        1,
        "the refused request never reached Bedrock"
    );

    // When the stream ends, its slot is free again.
    gate.notify_one();
    while first_body.next().await.is_some() {}
    let resp = proxy.post_json("/invoke", &hi()).await;
    assert_eq!(resp.status(), 200);

    // A client that hangs up mid-stream frees its slot too.
    let gate = Arc::new(tokio::sync::Notify::new());
    fake.push(Behavior::stream(StreamScript {
        gate_after: Some((2, gate.clone())),
        ..Default::default()
    }));
    let hung_up = proxy.post_json("/invoke_stream", &hi()).await;
    assert_eq!(hung_up.status(), 200);
    let mut hung_up = hung_up.bytes_stream();
    assert!(hung_up.next().await.is_some());
    drop(hung_up);
    assert!(
        fake.wait_for_stream_disconnect(Duration::from_secs(3))
            .await
    );
    let resp = proxy.post_json("/invoke", &hi()).await;
    assert_eq!(resp.status(), 200, "the slot was released");

    // A request that finds the slot busy waits its turn within the queue timeout.
    fake.push(Behavior::delay(
        Duration::from_millis(100),
        Behavior::Default,
    ));
    let body = hi();
    let (a, b) = tokio::join!(
        proxy.post_json("/invoke", &body),
        proxy.post_json("/invoke", &body)
    );
    assert_eq!(a.status(), 200);
    assert_eq!(b.status(), 200);
}

/// Panics on every request of its profile.
struct Explode;

impl RequestTransformer for Explode {
    fn name(&self) -> &str {
        "explode"
    }
    fn transform(
        &self,
        _ctx: &RequestContext<'_>,
        _body: &mut Map<String, Value>,
    ) -> Result<(), bedrock_proxy::transform::TransformError> {
        panic!("a plugin bug");
    }
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_and_the_proxy_keeps_serving() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy_custom(&fake, "", &[], |b| {
        b.request_transformer(Some("us"), Arc::new(Explode))
    })
    .await;
    let resp = proxy
        .http
        .post(format!("{}/invoke?profile=us", proxy.url))
        .header("x-request-id", "boom-1")
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["type"], "InternalError");
    assert_eq!(err["error"]["status"], 500);
    assert_eq!(err["error"]["request_id"], "boom-1");
    assert_eq!(fake.request_count(), 0);
    let resp = proxy.post_json("/invoke", &hi()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(proxy.get("/health").await.status(), 200);
}

#[test]
fn proxy_error_statuses() {
    assert_eq!(ProxyError::PayloadTooLarge { limit: 1 }.status(), 413);
    assert_eq!(ProxyError::Unauthorized("x".into()).status(), 401);
}
