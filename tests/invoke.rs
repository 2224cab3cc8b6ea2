//! POST /invoke over real HTTP against the fake Bedrock: routing, signing, conversion, errors.

use crate::support;

use serde_json::{json, Value};
use support::fake::FakeCreds;
use support::{hi, start_proxy, Behavior, FakeBedrock};

const APAC: &str = "apac.anthropic.claude-sonnet-4-20250514-v1:0";
const EU: &str = "eu.anthropic.claude-sonnet-4-20250514-v1:0";
/// One attempt per request: these tests look at how a single answer is passed on.
const NO_RETRIES: &str = "[retry]\nmax_attempts = 1\n\n";

#[tokio::test]
async fn default_profile_is_signed_for_its_region_and_passes_bedrock_headers_through() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let resp = proxy
        .http
        .post(format!("{}/invoke", proxy.url))
        .header("x-request-id", "req-123")
        .header("authorization", "Bearer client-secret")
        .header("cookie", "session=abc")
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["x-proxy-profile"], "apac");
    assert_eq!(h["x-request-id"], "req-123");
    assert!(h.contains_key("x-amzn-requestid"));
    assert!(h.contains_key("x-amzn-bedrock-input-token-count"));
    assert!(h.contains_key("x-amzn-bedrock-output-token-count"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["content"][0]["text"], "echo: Hi");
    assert_eq!(body["model"], APAC);

    let rec = fake.last().unwrap();
    assert_eq!(rec.model_id.as_deref(), Some(APAC));
    assert_eq!(
        rec.raw_path,
        "/model/apac.anthropic.claude-sonnet-4-20250514-v1%3A0/invoke"
    );
    let sig = rec.sig.as_ref().expect("signature verified by the fake");
    assert_eq!(sig.region, "ap-northeast-1");
    assert_eq!(sig.service, "bedrock");
    let sent = rec.json.clone().unwrap();
    assert_eq!(sent["anthropic_version"], "bedrock-2023-05-31");
    assert_eq!(sent["max_tokens"], 10);
    // The client's credentials and cookies never go upstream; the proxy signs its own.
    assert!(rec.header("cookie").is_none());
    assert!(!rec
        .header("authorization")
        .unwrap()
        .contains("client-secret"));
}

#[tokio::test]
async fn profile_query_selects_model_and_region() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let resp = proxy.post_json("/invoke?profile=eu", &hi()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-proxy-profile"], "eu");
    let rec = fake.last().unwrap();
    assert_eq!(rec.model_id.as_deref(), Some(EU));
    assert_eq!(rec.sig.as_ref().unwrap().region, "eu-central-1");
}

#[tokio::test]
async fn unknown_profile_is_404_listing_valid_names_without_calling_bedrock() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "[profiles.haiku]\nmodel_id = \"anthropic.claude-3-haiku-20240307-v1:0\"\nregion = \"us-west-2\"\n").await;
    let resp = proxy.post_json("/invoke?profile=mars", &hi()).await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "UnknownProfile");
    assert_eq!(body["error"]["status"], 404);
    assert_eq!(
        body["error"]["valid_profiles"],
        json!(["apac", "eu", "global", "haiku", "us"])
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("mars"));
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn legacy_prompt_is_converted_to_messages() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let resp = proxy
        .post_json(
            "/invoke",
            &json!({"prompt":"\n\nHuman: What is 2+2?\n\nAssistant:","max_tokens_to_sample":100,"temperature":0.2}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["content"][0]["text"], "echo: What is 2+2?");
    let sent = fake.last().unwrap().json.unwrap();
    assert_eq!(
        sent["messages"],
        json!([{"role":"user","content":"What is 2+2?"}])
    );
    assert_eq!(sent["max_tokens"], 100);
    assert_eq!(sent["temperature"], 0.2);
    assert!(sent.get("prompt").is_none());
    assert!(sent.get("max_tokens_to_sample").is_none());
}

#[tokio::test]
async fn model_and_stream_keys_are_stripped_and_other_fields_pass_through() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let body = json!({
        "model": "claude-sonnet-4", "stream": false, "max_tokens": 20,
        "system": [{"type":"text","text":"Be brief."}],
        "messages": [{"role":"user","content":[{"type":"text","text":"Look"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}],
        "temperature": 0.5, "top_p": 0.9, "top_k": 5, "stop_sequences": ["END"],
        "tools": [{"name":"get_weather","description":"w","input_schema":{"type":"object"}}],
        "tool_choice": {"type":"auto"}, "anthropic_beta": ["token-efficient-tools-2025-02-19"],
        "thinking": {"type":"enabled","budget_tokens":1024}, "metadata": {"user_id":"u1"}
    });
    let resp = proxy.post_json("/invoke?profile=us", &body).await;
    assert_eq!(resp.status(), 200);
    let sent = fake.last().unwrap().json.unwrap();
    for key in [
        "system",
        "messages",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "tools",
        "tool_choice",
        "anthropic_beta",
        "thinking",
        "metadata",
        "max_tokens",
    ] {
        assert_eq!(sent[key], body[key], "{key} must pass through unchanged");
    }
    assert!(sent.get("model").is_none() && sent.get("stream").is_none());
}

#[tokio::test]
async fn session_token_is_signed() {
    let creds = FakeCreds {
        access_key: "ASIAFAKETEMP".into(),
        secret_key: "temp/secret".into(),
        session_token: Some("FwoGZXIvYXdzEFAKE//token==".into()),
    };
    let fake = FakeBedrock::start_with(creds).await;
    let proxy = start_proxy(&fake, "").await;
    let resp = proxy.post_json("/invoke", &hi()).await;
    assert_eq!(resp.status(), 200);
    let rec = fake.last().unwrap();
    assert_eq!(
        rec.header("x-amz-security-token"),
        Some("FwoGZXIvYXdzEFAKE//token==")
    );
    let sig = rec.sig.unwrap();
    assert!(sig
        .signed_headers
        .iter()
        .any(|h| h == "x-amz-security-token"));
}

#[tokio::test]
async fn arn_model_ids_with_slash_and_colon_are_encoded_and_signed() {
    let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(
        &fake,
        &format!("[profiles.mine]\nmodel_id = \"{arn}\"\nregion = \"us-east-1\"\n"),
    )
    .await;
    let resp = proxy.post_json("/invoke?profile=mine", &hi()).await;
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    let rec = fake.last().unwrap();
    assert_eq!(rec.model_id.as_deref(), Some(arn));
    assert!(rec.raw_path.contains("%3A") && rec.raw_path.contains("%2F"));
    assert!(rec.sig.is_ok(), "{:?}", rec.sig);
}

#[tokio::test]
async fn every_bedrock_error_keeps_its_status_type_and_message() {
    let fake = FakeBedrock::start().await;
    // Without retries, so each scripted error is the answer (retries: tests/resilience.rs).
    let proxy = start_proxy(&fake, NO_RETRIES).await;
    let cases = [
        (400, "ValidationException", "Malformed input request"),
        (
            403,
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
        ),
        (
            404,
            "ResourceNotFoundException",
            "Could not resolve the foundation model",
        ),
        (
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        ),
        (429, "ModelNotReadyException", "Model is not ready"),
        (424, "ModelErrorException", "The model failed"),
        (408, "ModelTimeoutException", "Model timed out"),
        (500, "InternalServerException", "Internal server error"),
        (503, "ServiceUnavailableException", "Service unavailable"),
        (400, "ServiceQuotaExceededException", "Quota exceeded"),
    ];
    for (status, kind, message) in cases {
        fake.push(Behavior::error(status, kind, message));
        let resp = proxy.post_json("/invoke?profile=eu", &hi()).await;
        assert_eq!(resp.status().as_u16(), status, "{kind}");
        let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["type"], kind);
        assert_eq!(body["error"]["message"], message);
        assert_eq!(body["error"]["status"], status);
        assert_eq!(body["error"]["profile"], "eu");
        assert_eq!(body["error"]["request_id"], request_id.as_str());
        assert!(body["error"]["upstream_request_id"].is_string());
    }
}

#[tokio::test]
async fn malformed_bodies_are_400_without_calling_bedrock() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let cases = [
        ("{not json", "not valid JSON"),
        ("[1,2]", "must be a JSON object"),
        ("", "empty"),
        (r#"{"max_tokens":5}"#, "`messages`"),
        (r#"{"messages":"Hi"}"#, "must be an array"),
        (r#"{"messages":[]}"#, "must not be empty"),
        (
            r#"{"messages":[{"role":"user","content":"x"}],"max_tokens":"ten"}"#,
            "max_tokens",
        ),
        (r#"{"prompt":42}"#, "`prompt` must be a string"),
        (
            r#"{"prompt":"x","messages":[{"role":"user","content":"y"}]}"#,
            "not both",
        ),
    ];
    for (body, expect) in cases {
        let resp = proxy.post_raw("/invoke", "application/json", body).await;
        assert_eq!(resp.status(), 400, "{body}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"]["type"], "InvalidRequest", "{body}");
        let msg = err["error"]["message"].as_str().unwrap();
        assert!(msg.contains(expect), "{body}: {msg}");
    }
    let resp = proxy.post_raw("/invoke", "text/plain", "{}").await;
    assert_eq!(resp.status(), 415);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["type"], "UnsupportedMediaType");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("application/json"));
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn unreachable_upstream_is_502_and_silent_upstream_is_504() {
    let fake = FakeBedrock::start().await;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let proxy = start_proxy(
        &fake,
        &format!("{NO_RETRIES}[profiles.dead]\nmodel_id = \"m\"\nregion = \"us-east-1\"\nendpoint_url = \"{dead}\"\n\n[profiles.slow]\nmodel_id = \"m\"\nregion = \"us-east-1\"\nfirst_byte_timeout_secs = 0.5\n"),
    )
    .await;
    let resp = proxy.post_json("/invoke?profile=dead", &hi()).await;
    assert_eq!(resp.status(), 502);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["type"], "UpstreamUnreachable");

    fake.push(Behavior::Hang);
    let started = std::time::Instant::now();
    let resp = proxy.post_json("/invoke?profile=slow", &hi()).await;
    assert_eq!(resp.status(), 504);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["type"], "UpstreamTimeout");
}

#[tokio::test]
async fn health_profiles_docs_and_spec() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "[server]\ndefault_profile = \"eu\"\n").await;
    let health = proxy.get("/health").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");

    let profiles: Value = proxy.get("/profiles").await.json().await.unwrap();
    assert_eq!(profiles["default_profile"], "eu");
    let eu = profiles["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "eu")
        .unwrap();
    assert_eq!(eu["model_id"], EU);
    assert_eq!(eu["region"], "eu-central-1");
    assert_eq!(eu["default"], true);
    assert_eq!(
        eu["request_transformers"],
        json!([
            {"name": "legacy_prompt", "origin": "built-in"},
            {"name": "anthropic_defaults", "origin": "built-in"}
        ])
    );
    assert_eq!(eu["response_transformers"], json!([]));
    let text = profiles.to_string();
    assert!(!text.contains(&fake.creds().secret_key));

    let docs = proxy.get("/docs").await;
    assert_eq!(docs.status(), 200);
    assert!(docs
        .text()
        .await
        .unwrap()
        .to_lowercase()
        .contains("swagger"));
    let spec: Value = proxy.get("/openapi.json").await.json().await.unwrap();
    for path in ["/invoke", "/invoke_stream", "/profiles", "/health"] {
        assert!(spec["paths"][path].is_object(), "{path} missing from spec");
    }
    assert!(
        spec["paths"]["/invoke_stream"]["post"]["responses"]["200"]["content"]["text/event-stream"]
            .is_object()
    );
    let example = &spec["components"]["schemas"]["InvokeRequest"]["example"];
    assert!(example["messages"].is_array(), "request example: {example}");
    assert_eq!(fake.request_count(), 0);

    let missing = proxy.get("/nope").await;
    assert_eq!(missing.status(), 404);
    let err: Value = missing.json().await.unwrap();
    assert_eq!(err["error"]["type"], "NotFound");
}

#[tokio::test]
async fn undeclared_methods_are_405_with_allow_in_the_routes_dialect() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let client = reqwest::Client::new();
    let send = |method: &str, path: &str| {
        client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", proxy.url),
            )
            .send()
    };
    // (method, path, Allow, a field of the dialect's error body)
    let cases = [
        ("TRACE", "/health", "GET, HEAD", "/error/type"),
        ("DELETE", "/invoke", "POST", "/error/type"),
        ("GET", "/v1/messages", "POST", "/error/type"),
        ("PUT", "/v1/chat/completions", "POST", "/error/type"),
        ("POST", "/v1/models", "GET, HEAD", "/error/type"),
        (
            "GET",
            "/model/anthropic.claude-x/invoke",
            "POST",
            "/message",
        ),
        ("PATCH", "/foundation-models", "GET, HEAD", "/message"),
    ];
    for (method, path, allow, type_at) in cases {
        let resp = send(method, path).await.unwrap();
        assert_eq!(resp.status(), 405, "{method} {path}");
        assert_eq!(resp.headers()["allow"], allow, "{method} {path}");
        let body: Value = resp.json().await.unwrap();
        assert!(body.pointer(type_at).is_some(), "{method} {path}: {body}");
    }
    // What Allow promises holds: HEAD answers where GET does.
    let head = send("HEAD", "/health").await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn cut_connections_are_502_and_slow_answers_still_arrive() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, NO_RETRIES).await;
    fake.push(Behavior::CloseWithoutResponse);
    let resp = proxy.post_json("/invoke", &hi()).await;
    assert_eq!(resp.status(), 502);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["type"], "UpstreamUnreachable");
    assert_eq!(err["error"]["profile"], "apac");

    fake.push(Behavior::delay(
        std::time::Duration::from_millis(1500),
        Behavior::Default,
    ));
    let resp = proxy.post_json("/invoke", &hi()).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["content"][0]["text"], "echo: Hi");
}
