//! Real clients — boto3 and the official `anthropic` Python SDK — run by the scripts in
//! `tests/py/` (one scenario per run, one JSON line out).
//!
//! The first tests point the clients straight at the fake Bedrock (with its credentials; it
//! verifies every signature), which pins down that the fake speaks each operation's wire
//! format the way the real clients parse it, so the proxy tests below check the proxy and not
//! the fake.

use crate::support;

use serde_json::{json, Value};
use support::fake::{eventstream, Behavior, FakeBedrock, StreamScript};
use support::py;

const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const SONNET_US: &str = "us.anthropic.claude-sonnet-4-20250514-v1:0";

async fn boto3(url: &str, scenario: &str, opts: &[&str]) -> Value {
    py("boto3_client.py", url, scenario, opts).await
}

async fn anthropic(url: &str, scenario: &str, opts: &[&str]) -> Value {
    py("anthropic_client.py", url, scenario, opts).await
}

/// Options that make a client sign with the fake's own credentials.
fn fake_creds(fake: &FakeBedrock) -> [String; 2] {
    let c = fake.creds();
    [
        format!("access_key={}", c.access_key),
        format!("secret_key={}", c.secret_key),
    ]
}

fn with<'a>(base: &'a [String], more: &[&'a str]) -> Vec<&'a str> {
    base.iter()
        .map(String::as_str)
        .chain(more.iter().copied())
        .collect()
}

fn assert_ok(out: &Value) {
    assert_eq!(out["ok"], true, "the client raised: {out}");
}

// ---------------------------------------------------------------------------
// boto3 and AnthropicBedrock straight against the fake: its wire formats are the real ones
// ---------------------------------------------------------------------------

#[tokio::test]
async fn boto3_reads_every_runtime_operation_of_the_fake() {
    let fake = FakeBedrock::start().await;
    let creds = fake_creds(&fake);
    let url = fake.url();
    let model = format!("model={SONNET_US}");
    let opts = with(&creds, &[&model, "text=Hello there", "system=be brief"]);

    let out = boto3(&url, "invoke", &opts).await;
    assert_ok(&out);
    assert_eq!(out["status"], 200);
    assert_eq!(out["text"], "echo: Hello there");
    assert_eq!(out["stop_reason"], "end_turn");
    assert_eq!(out["usage"]["input_tokens"], 4);
    assert_eq!(
        out["bedrock_headers"]["x-amzn-bedrock-input-token-count"],
        "4"
    );
    assert_eq!(out["content_type"], "application/json");
    let rec = fake.last().unwrap();
    assert_eq!(rec.operation, "invoke");
    assert_eq!(rec.model_id.as_deref(), Some(SONNET_US));
    // boto3 percent-encodes the ':' of the id on the wire.
    assert!(rec.raw_path.contains("v1%3A0"), "{}", rec.raw_path);
    assert_eq!(rec.sig.as_ref().expect("signature").region, "us-east-1");

    let out = boto3(&url, "invoke_stream", &opts).await;
    assert_ok(&out);
    assert_eq!(out["text"], "echo: Hello there");
    assert_eq!(out["events"], 8);
    assert_eq!(
        out["event_types"],
        json!({"message_start": 1, "content_block_start": 1, "content_block_delta": 3,
               "content_block_stop": 1, "message_delta": 1, "message_stop": 1})
    );
    assert_eq!(out["stop_reason"], "end_turn");
    assert_eq!(out["invocation_metrics"]["inputTokenCount"], 4);
    assert_eq!(
        fake.last().unwrap().operation,
        "invoke-with-response-stream"
    );

    let out = boto3(&url, "converse", &opts).await;
    assert_ok(&out);
    assert_eq!(out["text"], "echo: Hello there");
    assert_eq!(out["role"], "assistant");
    assert_eq!(out["stop_reason"], "end_turn");
    assert_eq!(
        out["usage"],
        json!({"inputTokens": 4, "outputTokens": 3, "totalTokens": 7})
    );
    assert_eq!(out["metrics"]["latencyMs"], 321);
    let rec = fake.last().unwrap();
    assert_eq!(rec.operation, "converse");
    let sent = rec.json.expect("JSON body");
    assert_eq!(sent["messages"][0]["content"][0]["text"], "Hello there");
    assert_eq!(sent["system"][0]["text"], "be brief");
    assert_eq!(sent["inferenceConfig"]["maxTokens"], 50);

    let out = boto3(&url, "converse_stream", &opts).await;
    assert_ok(&out);
    assert_eq!(out["text"], "echo: Hello there");
    assert_eq!(
        out["sequence"],
        json!([
            "messageStart",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata"
        ])
    );
    assert_eq!(out["role"], "assistant");
    assert_eq!(out["stop_reason"], "end_turn");
    assert_eq!(out["usage"]["totalTokens"], 7);
    assert_eq!(out["metrics"]["latencyMs"], 321);
    assert_eq!(fake.last().unwrap().operation, "converse-stream");

    // With a Bedrock API key boto3 sends it as a bearer token and does not sign (the fake,
    // like Bedrock without that key, refuses it).
    let out = boto3(&url, "converse", &["bearer=bedrock-api-key-123"]).await;
    assert_eq!(
        out["error"]["code"], "IncompleteSignatureException",
        "{out}"
    );
    let rec = fake.last().unwrap();
    assert_eq!(
        rec.header("authorization"),
        Some("Bearer bedrock-api-key-123")
    );
    assert!(rec.header("x-amz-date").is_none());

    // CountTokens takes a foundation model; both input forms count like invoke does.
    let haiku = format!("model={HAIKU}");
    for form in ["form=invoke", "form=converse"] {
        let out = boto3(
            &url,
            "count_tokens",
            &with(
                &creds,
                &[&haiku, "text=Hello there", "system=be brief", form],
            ),
        )
        .await;
        assert_ok(&out);
        assert_eq!(out["input_tokens"], 4, "{form}");
        let rec = fake.last().unwrap();
        assert_eq!(rec.operation, "count-tokens");
        assert_eq!(rec.model_id.as_deref(), Some(HAIKU));
    }
    let out = boto3(&url, "count_tokens", &opts).await;
    assert_eq!(out["error"]["code"], "ValidationException", "{out}");
    assert_eq!(out["error"]["status"], 400);
    assert_eq!(
        out["error"]["message"],
        "The provided model doesn't support counting tokens."
    );
    let unsigned: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.sig.is_err())
        .collect();
    assert_eq!(unsigned.len(), 1, "only the bearer call is unsigned");
}

#[tokio::test]
async fn boto3_surfaces_the_fakes_errors_as_bedrock_exceptions() {
    let fake = FakeBedrock::start().await;
    let creds = fake_creds(&fake);
    let url = fake.url();

    fake.push(Behavior::throttling());
    let out = boto3(&url, "throttled", &with(&creds, &[])).await;
    assert_eq!(out["ok"], false, "{out}");
    assert_eq!(out["error"]["class"], "ThrottlingException", "{out}");
    assert_eq!(out["error"]["code"], "ThrottlingException");
    assert_eq!(out["error"]["status"], 429);
    assert_eq!(
        out["error"]["message"],
        "Too many requests, please wait before trying again."
    );
    assert_eq!(
        fake.request_count(),
        1,
        "one attempt: boto3's retries are off"
    );

    fake.push(Behavior::error(424, "ModelErrorException", "model broke"));
    let out = boto3(&url, "throttled", &with(&creds, &["op=converse"])).await;
    assert_eq!(out["error"]["code"], "ModelErrorException", "{out}");
    assert_eq!(out["error"]["status"], 424);

    // A bad Converse body is refused by the fake as Bedrock would (boto3 checks types and
    // minimums, not blank text).
    let out = boto3(&url, "converse", &with(&creds, &["text=  "])).await;
    assert_eq!(out["error"]["code"], "ValidationException", "{out}");
    assert_eq!(out["error"]["status"], 400);
    assert!(out["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("The text field in the ContentBlock object at messages.0.content.0 is blank"));

    // Mid-stream exception frames: boto3 raises while iterating, after the text so far.
    fake.push(Behavior::stream(StreamScript {
        chunks: Some(vec!["par".into(), "tial".into()]),
        exception_after: Some((3, "throttlingException".into(), "slow down".into())),
        ..Default::default()
    }));
    let out = boto3(&url, "converse_stream", &with(&creds, &[])).await;
    assert_eq!(out["ok"], false);
    assert_eq!(out["text"], "partial");
    assert_eq!(out["error"]["class"], "EventStreamError", "{out}");
    assert_eq!(out["error"]["code"], "throttlingException");
    assert_eq!(out["error"]["message"], "slow down");

    fake.push(Behavior::stream(StreamScript {
        chunks: Some(vec!["par".into(), "tial".into()]),
        exception_after: Some((4, "modelStreamErrorException".into(), "boom".into())),
        ..Default::default()
    }));
    let out = boto3(&url, "invoke_stream", &with(&creds, &[])).await;
    assert_eq!(out["text"], "partial");
    assert_eq!(out["events"], 4);
    assert_eq!(out["error"]["code"], "modelStreamErrorException", "{out}");
}

#[tokio::test]
async fn boto3_parses_large_split_and_scripted_converse_streams_from_the_fake() {
    let fake = FakeBedrock::start().await;
    let creds = fake_creds(&fake);
    let opts = with(&creds, &[]);
    fake.push(Behavior::stream(StreamScript {
        chunks: Some(vec!["a".into(), "b".into()]),
        extra_large_event: true,
        split_into: Some(1000),
        ..Default::default()
    }));
    let out = boto3(&fake.url(), "converse_stream", &opts).await;
    assert_ok(&out);
    let text = out["text"].as_str().unwrap();
    assert_eq!(text.len(), 2 + eventstream::LARGE_EVENT_TEXT_LEN);
    assert!(text.starts_with("abxxx"));
    assert_eq!(out["event_types"]["contentBlockDelta"], 3);

    // A tool-use block: contentBlockStart with a toolUse start, input deltas.
    fake.push(Behavior::stream(StreamScript {
        events: Some(vec![
            json!({"messageStart": {"role": "assistant"}}),
            json!({"contentBlockStart": {"contentBlockIndex": 0,
                   "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather"}}}}),
            json!({"contentBlockDelta": {"contentBlockIndex": 0,
                   "delta": {"toolUse": {"input": "{\"city\":"}}}}),
            json!({"contentBlockDelta": {"contentBlockIndex": 0,
                   "delta": {"toolUse": {"input": "\"Paris\"}"}}}}),
            json!({"contentBlockStop": {"contentBlockIndex": 0}}),
            json!({"messageStop": {"stopReason": "tool_use"}}),
            json!({"metadata": {"usage": {"inputTokens": 5, "outputTokens": 9, "totalTokens": 14},
                   "metrics": {"latencyMs": 12}}}),
        ]),
        ..Default::default()
    }));
    let out = boto3(&fake.url(), "converse_stream", &opts).await;
    assert_ok(&out);
    assert_eq!(out["event_types"]["contentBlockStart"], 1);
    assert_eq!(out["stop_reason"], "tool_use");
    assert_eq!(out["text"], "");
    assert_eq!(out["usage"]["totalTokens"], 14);
}

#[tokio::test]
async fn anthropic_bedrock_reads_the_fake() {
    let fake = FakeBedrock::start().await;
    let creds = fake_creds(&fake);
    let url = fake.url();
    let model = format!("model={SONNET_US}");
    let opts = with(
        &creds,
        &[&model, "text=Hello there", "beta=context-1m-2025-08-07"],
    );

    let out = anthropic(&url, "bedrock_create", &opts).await;
    assert_ok(&out);
    assert_eq!(out["text"], "echo: Hello there");
    assert_eq!(out["type"], "message");
    assert_eq!(out["stop_reason"], "end_turn");
    assert_eq!(out["usage"]["input_tokens"], 2);
    let rec = fake.last().unwrap();
    assert_eq!(rec.operation, "invoke");
    assert_eq!(rec.model_id.as_deref(), Some(SONNET_US));
    // AnthropicBedrock leaves ':' unencoded in the path (boto3 encodes it).
    assert_eq!(rec.raw_path, format!("/model/{SONNET_US}/invoke"));
    let sent = rec.json.expect("JSON body");
    // The SDK sets its own API version here (not `bedrock-2023-05-31`).
    assert!(sent["anthropic_version"]
        .as_str()
        .is_some_and(|v| !v.is_empty()));
    assert_eq!(sent["anthropic_beta"], json!(["context-1m-2025-08-07"]));
    assert!(sent.get("model").is_none() && sent.get("stream").is_none());

    let out = anthropic(&url, "bedrock_stream", &opts).await;
    assert_ok(&out);
    assert_eq!(out["text"], "echo: Hello there");
    assert_eq!(out["final_text"], "echo: Hello there");
    assert_eq!(out["stop_reason"], "end_turn");
    assert_eq!(
        fake.last().unwrap().operation,
        "invoke-with-response-stream"
    );

    // An ARN's '/' is percent-encoded by the SDK, and the fake decodes it.
    let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
    let model = format!("model={arn}");
    let out = anthropic(&url, "bedrock_create", &with(&creds, &[&model])).await;
    assert_ok(&out);
    let rec = fake.last().unwrap();
    assert_eq!(rec.model_id.as_deref(), Some(arn));
    assert!(rec.raw_path.contains("%2Fabc123"), "{}", rec.raw_path);

    fake.push(Behavior::throttling());
    let out = anthropic(&url, "bedrock_create", &opts).await;
    assert_eq!(out["error"]["class"], "RateLimitError", "{out}");
    assert_eq!(out["error"]["status"], 429);
    assert!(fake.requests().iter().all(|r| r.sig.is_ok()));
}

// ---------------------------------------------------------------------------
// Through the proxy (issue 7's routes)
// ---------------------------------------------------------------------------

/// One attempt per call, so a scripted error reaches the client as it is.
const NO_RETRIES: &str = "[retry]\nmax_attempts = 1\n";

#[tokio::test]
async fn boto3_through_the_proxy_is_resigned_and_routed() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, NO_RETRIES).await;
    let url = proxy.url.as_str();
    for scenario in ["invoke", "invoke_stream", "converse", "converse_stream"] {
        let out = boto3(
            url,
            scenario,
            &["model=us", "text=Hello there", "trace=ENABLED"],
        )
        .await;
        assert_ok(&out);
        assert_eq!(out["text"], "echo: Hello there", "{scenario}");
        let rec = fake.last().unwrap();
        assert_eq!(rec.model_id.as_deref(), Some(SONNET_US), "{scenario}");
        let sig = rec.sig.as_ref().expect("signed by the proxy");
        assert_eq!(sig.access_key, fake.creds().access_key);
        assert_eq!(sig.region, "us-east-1");
        if scenario.starts_with("invoke") {
            assert_eq!(rec.header("x-amzn-bedrock-trace"), Some("ENABLED"));
        }
    }
    assert_eq!(
        fake.requests()
            .iter()
            .map(|r| r.operation.as_str())
            .collect::<Vec<_>>(),
        [
            "invoke",
            "invoke-with-response-stream",
            "converse",
            "converse-stream"
        ]
    );
    let out = boto3(url, "invoke", &["model=us"]).await;
    assert_eq!(
        out["bedrock_headers"]["x-amzn-bedrock-input-token-count"], "1",
        "{out}"
    );

    // A raw id and an ARN are called as they are, in their own region.
    let arn = "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/xyz";
    let model = format!("model={arn}");
    assert_ok(&boto3(url, "converse", &[&model]).await);
    let rec = fake.last().unwrap();
    assert_eq!(rec.model_id.as_deref(), Some(arn));
    assert_eq!(rec.sig.unwrap().region, "eu-west-1");

    // CountTokens reaches Bedrock with the profile's foundation model.
    let out = boto3(
        url,
        "count_tokens",
        &["model=us", "form=converse", "text=a b c"],
    )
    .await;
    assert_ok(&out);
    assert_eq!(out["input_tokens"], 3);
    let rec = fake.last().unwrap();
    assert_eq!(rec.operation, "count-tokens");
    assert_eq!(
        rec.model_id.as_deref(),
        Some("anthropic.claude-sonnet-4-20250514-v1:0")
    );

    fake.push(Behavior::throttling());
    let out = boto3(url, "throttled", &["model=us", "op=converse"]).await;
    assert_eq!(out["error"]["class"], "ThrottlingException", "{out}");
    assert_eq!(out["error"]["status"], 429);
}

#[tokio::test]
async fn anthropic_sdk_through_the_proxy() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, NO_RETRIES).await;
    let url = proxy.url.as_str();

    let out = anthropic(url, "create", &["model=us", "text=Hello there"]).await;
    assert_ok(&out);
    assert_eq!(out["text"], "echo: Hello there");
    assert_eq!(out["type"], "message");
    let rec = fake.last().unwrap();
    assert_eq!(rec.operation, "invoke");
    assert_eq!(rec.model_id.as_deref(), Some(SONNET_US));

    let out = anthropic(url, "stream", &["model=us", "text=Hello there"]).await;
    assert_ok(&out);
    assert_eq!(out["text"], "echo: Hello there");
    assert_eq!(out["final_text"], "echo: Hello there");
    assert_eq!(out["stop_reason"], "end_turn");

    let out = anthropic(url, "stream_raw", &["model=us"]).await;
    assert_ok(&out);
    assert_eq!(out["content_type"], "text/event-stream");
    assert!(out["event_types"]["ping"].as_u64() >= Some(1), "{out}");
    assert_eq!(out["sequence"][0], "message_start");
    assert_eq!(out["text"], "echo: Hi");

    let out = anthropic(url, "count_tokens", &["model=us", "text=a b c"]).await;
    assert_ok(&out);
    assert_eq!(out["input_tokens"], 3);
    assert_eq!(fake.last().unwrap().operation, "count-tokens");

    let out = anthropic(url, "models_list", &[]).await;
    assert_ok(&out);
    assert!(out["count"].as_u64() > Some(0), "{out}");
    assert!(out["types"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t == "model"));

    fake.push(Behavior::throttling());
    let out = anthropic(url, "rate_limited", &["model=us"]).await;
    assert_eq!(out["error"]["class"], "RateLimitError", "{out}");
    assert_eq!(out["error"]["status"], 429);
    assert_eq!(out["error"]["type"], "rate_limit_error");

    for scenario in ["bedrock_create", "bedrock_stream"] {
        let out = anthropic(url, scenario, &["model=us", "text=Hello there"]).await;
        assert_ok(&out);
        assert_eq!(out["text"], "echo: Hello there", "{scenario}");
        let rec = fake.last().unwrap();
        assert_eq!(rec.model_id.as_deref(), Some(SONNET_US));
        assert_eq!(rec.sig.unwrap().access_key, fake.creds().access_key);
    }
}
