//! POST /invoke_stream: Bedrock's binary event stream becomes SSE, event by event, and every
//! fault ends in one clear error.

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use support::{hi, parse_sse, sse_text, start_proxy, Behavior, FakeBedrock, StreamScript};

const ANTHROPIC_SEQUENCE: [&str; 6] = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
];

fn names(events: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (n, _) in events {
        if out.last() != Some(n) || n != "content_block_delta" {
            out.push(n.clone());
        }
    }
    out
}

async fn stream_text(
    proxy: &support::Proxy,
    path: &str,
    body: &Value,
) -> (u16, String, reqwest::header::HeaderMap) {
    let resp = proxy.post_json(path, body).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, resp.text().await.unwrap(), headers)
}

#[tokio::test]
async fn streams_anthropic_events_in_order_with_metrics() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    fake.push(Behavior::stream(StreamScript {
        chunks: Some(vec!["Hel".into(), "lo".into(), ", world".into()]),
        ..Default::default()
    }));
    let (status, text, headers) = stream_text(&proxy, "/invoke_stream?profile=eu", &hi()).await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    assert_eq!(headers["x-proxy-profile"], "eu");
    let (events, _) = parse_sse(&text);
    assert_eq!(names(&events), ANTHROPIC_SEQUENCE);
    assert_eq!(sse_text(&events), "Hello, world");
    for (name, data) in &events {
        let v: Value = serde_json::from_str(data).unwrap();
        assert_eq!(&v["type"], name.as_str());
    }
    let stop: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
    assert!(stop["amazon-bedrock-invocationMetrics"]["outputTokenCount"].is_number());
    let rec = fake.last().unwrap();
    assert_eq!(rec.operation, "invoke-with-response-stream");
    assert_eq!(rec.sig.as_ref().unwrap().region, "eu-central-1");
    assert_eq!(
        rec.header("x-amzn-bedrock-accept"),
        Some("application/json")
    );
    let sent = rec.json.unwrap();
    assert!(sent.get("stream").is_none());
}

#[tokio::test]
async fn legacy_prompt_streams_too() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let (status, text, _) = stream_text(
        &proxy,
        "/invoke_stream",
        &json!({"prompt":"\n\nHuman: ping\n\nAssistant:","max_tokens_to_sample":20}),
    )
    .await;
    assert_eq!(status, 200);
    let (events, _) = parse_sse(&text);
    assert_eq!(sse_text(&events), "echo: ping");
}

#[tokio::test]
async fn legacy_completion_chunks_are_forwarded() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    fake.push(Behavior::stream(StreamScript {
        events: Some(vec![
            json!({"completion":" Hello","stop_reason":null,"stop":null}),
            json!({"completion":"!","stop_reason":"stop_sequence","stop":"\n\nHuman:"}),
        ]),
        ..Default::default()
    }));
    let (_, text, _) = stream_text(&proxy, "/invoke_stream", &hi()).await;
    let (events, _) = parse_sse(&text);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].0, "completion");
    let v: Value = serde_json::from_str(&events[1].1).unwrap();
    assert_eq!(v["completion"], "!");
}

#[tokio::test]
async fn frames_split_across_writes_coalesced_and_large_all_decode() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let chunks: Vec<String> = vec!["Grüß ".into(), "Gott 🎉".into(), " 日本語".into()];
    for script in [
        StreamScript {
            chunks: Some(chunks.clone()),
            split_into: Some(7),
            ..Default::default()
        },
        StreamScript {
            chunks: Some(chunks.clone()),
            one_write: true,
            ..Default::default()
        },
        StreamScript {
            chunks: Some(chunks.clone()),
            extra_large_event: true,
            split_into: Some(4096),
            ..Default::default()
        },
    ] {
        let large = script.extra_large_event;
        fake.push(Behavior::stream(script));
        let (status, text, _) = stream_text(&proxy, "/invoke_stream", &hi()).await;
        assert_eq!(status, 200);
        let (events, _) = parse_sse(&text);
        assert_eq!(names(&events), ANTHROPIC_SEQUENCE);
        let got = sse_text(&events);
        if large {
            assert_eq!(got.len(), "Grüß Gott 🎉 日本語".len() + 70_000);
            assert!(got.starts_with("Grüß Gott 🎉 日本語"));
        } else {
            assert_eq!(got, "Grüß Gott 🎉 日本語");
        }
    }
}

#[tokio::test]
async fn first_event_arrives_while_bedrock_still_holds_the_rest() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let gate = Arc::new(tokio::sync::Notify::new());
    fake.push(Behavior::stream(StreamScript {
        chunks: Some(vec!["one".into(), "two".into()]),
        gate_after: Some((3, gate.clone())),
        ..Default::default()
    }));
    let resp = proxy.post_json("/invoke_stream", &hi()).await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !seen.contains("\"text\":\"one\"") {
        let chunk = tokio::time::timeout_at(deadline.into(), body.next())
            .await
            .expect("the first events must arrive before the fake releases the rest")
            .expect("stream open")
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!seen.contains("message_stop"));
    gate.notify_one();
    while let Some(chunk) = body.next().await {
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    let (events, _) = parse_sse(&seen);
    assert_eq!(sse_text(&events), "onetwo");
    assert_eq!(events.last().unwrap().0, "message_stop");
}

async fn assert_ends_with_error(
    fake: &FakeBedrock,
    proxy: &support::Proxy,
    script: StreamScript,
    kind: &str,
) {
    fake.push(Behavior::stream(script));
    let (status, text, _) = stream_text(proxy, "/invoke_stream", &hi()).await;
    assert_eq!(status, 200);
    let (events, _) = parse_sse(&text);
    let (last_name, last_data) = events.last().unwrap();
    assert_eq!(last_name, "error", "{text}");
    let v: Value = serde_json::from_str(last_data).unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], kind, "{text}");
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert_eq!(events.iter().filter(|(n, _)| n == "error").count(), 1);
    assert!(
        !events.iter().any(|(n, _)| n == "message_stop"),
        "nothing that looks like success after an error"
    );
}

#[tokio::test]
async fn faults_mid_stream_end_with_one_error_event() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    for (exception, expected) in [
        ("throttlingException", "ThrottlingException"),
        ("modelStreamErrorException", "ModelStreamErrorException"),
        ("internalServerException", "InternalServerException"),
        ("validationException", "ValidationException"),
        ("modelTimeoutException", "ModelTimeoutException"),
        ("serviceUnavailableException", "ServiceUnavailableException"),
    ] {
        let script = StreamScript {
            exception_after: Some((3, exception.into(), "something went wrong".into())),
            ..Default::default()
        };
        assert_ends_with_error(&fake, &proxy, script, expected).await;
    }
    let cut = StreamScript {
        cut_after: Some(2),
        ..Default::default()
    };
    assert_ends_with_error(&fake, &proxy, cut, "stream_interrupted").await;
    let corrupt = StreamScript {
        corrupt_after: Some(2),
        ..Default::default()
    };
    assert_ends_with_error(&fake, &proxy, corrupt, "stream_interrupted").await;
}

#[tokio::test]
async fn errors_before_the_first_event_are_http_errors() {
    let fake = FakeBedrock::start().await;
    // One attempt, so the scripted error is the answer (retries: tests/resilience.rs).
    let proxy = start_proxy(&fake, "[retry]\nmax_attempts = 1\n").await;
    fake.push(Behavior::throttling());
    let resp = proxy.post_json("/invoke_stream", &hi()).await;
    assert_eq!(resp.status(), 429);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["type"], "ThrottlingException");

    fake.push(Behavior::stream(StreamScript {
        exception_after: Some((0, "throttlingException".into(), "Too many tokens".into())),
        ..Default::default()
    }));
    let resp = proxy.post_json("/invoke_stream", &hi()).await;
    assert_eq!(resp.status(), 429);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["message"], "Too many tokens");

    let resp = proxy
        .post_raw("/invoke_stream", "application/json", "{\"messages\":5}")
        .await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn silence_gets_keepalives_and_idle_timeout_ends_the_stream() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(
        &fake,
        "[server]\nstream_keepalive_secs = 0.1\n\n[profiles.idle]\nmodel_id = \"m\"\nregion = \"us-east-1\"\nidle_timeout_secs = 0.6\n",
    )
    .await;
    // Pauses shorter than the idle timeout: keep-alive comments, then a complete answer.
    fake.push(Behavior::stream(StreamScript {
        chunks: Some(vec!["a".into(), "b".into()]),
        pause_between: Duration::from_millis(300),
        ..Default::default()
    }));
    let (_, text, _) = stream_text(&proxy, "/invoke_stream?profile=idle", &hi()).await;
    let (events, comments) = parse_sse(&text);
    assert_eq!(sse_text(&events), "ab");
    assert!(
        comments >= 2,
        "expected keep-alive comments during pauses: {text}"
    );

    // A gate that never opens: the idle timeout ends the stream with an error event.
    let gate = Arc::new(tokio::sync::Notify::new());
    fake.push(Behavior::stream(StreamScript {
        gate_after: Some((2, gate)),
        ..Default::default()
    }));
    let started = Instant::now();
    let (_, text, _) = stream_text(&proxy, "/invoke_stream?profile=idle", &hi()).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let (events, _) = parse_sse(&text);
    let v: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
    assert_eq!(v["error"]["type"], "stream_timeout");
}

#[tokio::test]
async fn client_hangup_cancels_the_upstream_call() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let gate = Arc::new(tokio::sync::Notify::new());
    fake.push(Behavior::stream(StreamScript {
        gate_after: Some((2, gate)),
        ..Default::default()
    }));
    let resp = proxy.post_json("/invoke_stream", &hi()).await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("message_start"));
    drop(body);
    assert!(
        fake.wait_for_stream_disconnect(Duration::from_secs(3)).await,
        "the fake must see the proxy close the upstream connection promptly (default keep-alive probe: 1 s)"
    );
}
