//! The Bedrock-native routes (`/model/{id}/…`) and the Anthropic Messages API (`/v1/…`) over
//! real HTTP against the fake Bedrock: routing by profile, alias, raw id and ARN; which
//! client headers reach Bedrock; byte-exact relay of event streams; each front end's error
//! shape; API keys on both.

use crate::support;

use serde_json::{json, Value};
use support::fake::{eventstream, Behavior, FakeBedrock, StreamScript};
use support::{hi, start_proxy, start_proxy_with};

const SONNET: &str = "anthropic.claude-sonnet-4-20250514-v1:0";

fn region(rec: &support::fake::Recorded) -> String {
    rec.sig
        .as_ref()
        .map(|s| s.region.clone())
        .unwrap_or_else(|e| panic!("the fake rejected the proxy's signature: {e}"))
}

#[tokio::test]
async fn model_ids_route_by_profile_alias_raw_id_and_arn() {
    let fake = FakeBedrock::start().await;
    let toml = "[retry]\nmax_attempts = 1\n[routing.aliases]\nteam-model = \"eu\"\nhaiku = \"anthropic.claude-3-haiku-20240307-v1:0\"\n[routing.prefix_regions]\nus = \"us-west-2\"\n";
    let proxy = start_proxy(&fake, toml).await;
    let cases = [
        // (model in the URL, model id Bedrock sees, region signed for, x-proxy-profile)
        (
            "eu",
            format!("eu.{SONNET}"),
            "eu-central-1",
            "eu".to_string(),
        ),
        (
            "team-model",
            format!("eu.{SONNET}"),
            "eu-central-1",
            "eu".into(),
        ),
        (
            "haiku",
            "anthropic.claude-3-haiku-20240307-v1:0".into(),
            "ap-northeast-1",
            "anthropic.claude-3-haiku-20240307-v1:0".into(),
        ),
        // A geography the default region (ap-northeast-1) is not in: the configured region.
        (
            "us.anthropic.claude-3-5-haiku-20241022-v1:0",
            "us.anthropic.claude-3-5-haiku-20241022-v1:0".into(),
            "us-west-2",
            "us.anthropic.claude-3-5-haiku-20241022-v1:0".into(),
        ),
        (
            "arn:aws:bedrock:eu-west-3:123456789012:application-inference-profile/abc",
            "arn:aws:bedrock:eu-west-3:123456789012:application-inference-profile/abc".into(),
            "eu-west-3",
            "arn:aws:bedrock:eu-west-3:123456789012:application-inference-profile/abc".into(),
        ),
    ];
    for (model, expect_id, expect_region, expect_profile) in cases {
        let path = model.replace(':', "%3A").replace('/', "%2F");
        let resp = proxy
            .post_json(
                &format!("/model/{path}/converse"),
                &json!({
                    "messages": [{"role": "user", "content": [{"text": "Hi"}]}]
                }),
            )
            .await;
        assert_eq!(resp.status(), 200, "{model}");
        assert_eq!(resp.headers()["x-proxy-profile"], expect_profile.as_str());
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["output"]["message"]["content"][0]["text"], "echo: Hi");
        let rec = fake.last().unwrap();
        assert_eq!(rec.model_id.as_deref(), Some(expect_id.as_str()), "{model}");
        assert_eq!(region(&rec), expect_region, "{model}");
    }
    // A name that is no profile, alias or Bedrock id: 404 in AWS's shape.
    let resp = proxy.post_json("/model/mars/invoke", &hi()).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(
        resp.headers()["x-amzn-errortype"],
        "ResourceNotFoundException"
    );
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("team-model"),
        "{body}"
    );
}

#[tokio::test]
async fn only_bedrock_headers_reach_bedrock_and_the_proxy_signs() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let resp = proxy
        .http
        .post(format!("{}/model/us/invoke", proxy.url))
        .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIDCLIENT/20261125/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=abc")
        .header("x-amz-date", "20200101T000000Z")
        .header("x-amz-security-token", "client-session-token")
        .header("x-amzn-bedrock-guardrailidentifier", "gr-123")
        .header("x-amzn-bedrock-guardrailversion", "1")
        .header("cookie", "session=1")
        .header("x-forwarded-for", "10.0.0.1")
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let rec = fake.last().unwrap();
    let sig = rec.sig.as_ref().expect("valid signature");
    assert_eq!(sig.access_key, fake.creds().access_key);
    assert_eq!(sig.region, "us-east-1");
    assert_eq!(
        rec.header("x-amzn-bedrock-guardrailidentifier"),
        Some("gr-123")
    );
    assert_eq!(rec.header("x-amzn-bedrock-guardrailversion"), Some("1"));
    assert!(sig
        .signed_headers
        .iter()
        .any(|h| h == "x-amzn-bedrock-guardrailidentifier"));
    assert_ne!(rec.header("x-amz-date"), Some("20200101T000000Z"));
    assert_ne!(
        rec.header("x-amz-security-token"),
        Some("client-session-token")
    );
    assert_eq!(rec.header("cookie"), None);
    assert_eq!(rec.header("x-forwarded-for"), None);
    assert!(!rec.header("authorization").unwrap().contains("AKIDCLIENT"));
}

#[tokio::test]
async fn event_streams_are_relayed_byte_for_byte() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let events = eventstream::messages_stream_events(&format!("us.{SONNET}"), &["Hel", "lo"]);
    fake.push(Behavior::stream(StreamScript {
        events: Some(events.clone()),
        split_into: Some(7),
        ..StreamScript::default()
    }));
    let resp = proxy
        .post_json("/model/us/invoke-with-response-stream", &hi())
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.amazon.eventstream"
    );
    let bytes = resp.bytes().await.unwrap();
    let expected: Vec<u8> = events.iter().flat_map(eventstream::chunk_frame).collect();
    assert_eq!(bytes.len(), expected.len());
    assert!(
        bytes[..] == expected[..],
        "the relayed stream differs from Bedrock's"
    );

    let converse = eventstream::converse_stream_events(&["a", "b"], 3);
    fake.push(Behavior::stream(StreamScript {
        events: Some(converse.clone()),
        ..StreamScript::default()
    }));
    let resp = proxy
        .post_json(
            "/model/us/converse-stream",
            &json!({"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let bytes = resp.bytes().await.unwrap();
    let expected: Vec<u8> = converse
        .iter()
        .flat_map(eventstream::converse_frame)
        .collect();
    assert!(
        bytes[..] == expected[..],
        "the relayed converse stream differs"
    );
}

#[tokio::test]
async fn a_raw_model_id_gets_the_body_exactly_as_sent() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let raw = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,  "messages":[{"role":"user","content":"Hi"}]}"#;
    let resp = proxy
        .post_raw(
            "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke",
            "application/json",
            raw,
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(fake.last().unwrap().body, raw.as_bytes());
    // Through a profile name the body runs through the profile's chain (defaults added).
    let resp = proxy
        .post_json(
            "/model/eu/invoke",
            &json!({"messages":[{"role":"user","content":"Hi"}]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let sent = fake.last().unwrap().json.unwrap();
    assert_eq!(sent["anthropic_version"], "bedrock-2023-05-31");
    assert_eq!(sent["max_tokens"], 1024);
}

#[tokio::test]
async fn native_errors_keep_bedrocks_status_and_exception() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "[retry]\nmax_attempts = 1\n").await;
    fake.push(Behavior::error(
        400,
        "ValidationException",
        "Malformed input request",
    ));
    let resp = proxy.post_json("/model/us/invoke", &hi()).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["x-amzn-errortype"], "ValidationException");
    assert_eq!(resp.headers()["x-proxy-attempts"], "1");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["message"], "Malformed input request");
}

#[tokio::test]
async fn messages_api_errors_use_anthropics_shape() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "[retry]\nmax_attempts = 1\n").await;
    let resp = proxy
        .post_json(
            "/v1/messages",
            &json!({"messages":[{"role":"user","content":"Hi"}], "max_tokens": 5}),
        )
        .await;
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().contains_key("request-id"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["message"].as_str().unwrap().contains("model"));

    let resp = proxy
        .post_json("/v1/messages", &json!({"model": "claude-nonexistent", "messages":[{"role":"user","content":"Hi"}], "max_tokens": 5}))
        .await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "not_found_error");
    // The catalog was asked (an Anthropic-style name), the runtime was not.
    let ops: Vec<String> = fake.requests().into_iter().map(|r| r.operation).collect();
    assert_eq!(ops, vec!["list-foundation-models"]);

    fake.push(Behavior::error(503, "ServiceUnavailableException", "busy"));
    let resp = proxy
        .post_json("/v1/messages", &json!({"model": "claude-sonnet-4-20250514", "messages":[{"role":"user","content":"Hi"}], "max_tokens": 5}))
        .await;
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "overloaded_error");
    // The built-in alias went to the default profile.
    assert_eq!(
        fake.last().unwrap().model_id.as_deref(),
        Some(format!("apac.{SONNET}").as_str())
    );
}

#[tokio::test]
async fn anthropic_beta_header_joins_the_body() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let resp = proxy
        .http
        .post(format!("{}/v1/messages", proxy.url))
        .header("anthropic-beta", "token-efficient-tools-2025-02-19, interleaved-thinking-2025-05-14")
        .json(&json!({"model": "eu", "messages":[{"role":"user","content":"Hi"}], "max_tokens": 5, "anthropic_beta": ["interleaved-thinking-2025-05-14"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let sent = fake.last().unwrap().json.unwrap();
    assert_eq!(
        sent["anthropic_beta"],
        json!([
            "interleaved-thinking-2025-05-14",
            "token-efficient-tools-2025-02-19"
        ])
    );
    assert!(sent.get("model").is_none());
    assert!(sent.get("stream").is_none());
}

#[tokio::test]
async fn api_keys_apply_to_every_front_end() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy_with(&fake, "", &[("PROXY_API_KEYS", "k-123")]).await;
    let post = |path: &str, header: Option<(&str, &str)>| {
        let mut req = proxy
            .http
            .post(format!("{}{path}", proxy.url))
            .json(&json!({
                "model": "us", "messages":[{"role":"user","content":"Hi"}], "max_tokens": 5
            }));
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        req.send()
    };
    let resp = post("/v1/messages", None).await.unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
    let resp = post("/v1/messages", Some(("x-api-key", "k-123")))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = post("/model/us/invoke", None).await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.headers()["x-amzn-errortype"],
        "UnrecognizedClientException"
    );
    let resp = post("/model/us/invoke", Some(("authorization", "Bearer k-123")))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // SigV4 clients: the key as the access key id.
    let sigv4 = |akid: &str| {
        format!("AWS4-HMAC-SHA256 Credential={akid}/20261125/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=0")
    };
    let resp = post("/model/us/invoke", Some(("authorization", &sigv4("k-123"))))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = post("/model/us/invoke", Some(("authorization", &sigv4("nope"))))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(fake.request_count(), 3);
}

#[tokio::test]
async fn v1_models_lists_aliases_and_profiles_in_anthropics_shape() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let resp = proxy.get("/v1/models?limit=2").await;
    assert_eq!(resp.status(), 200);
    let page: Value = resp.json().await.unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert_eq!(page["has_more"], true);
    assert_eq!(page["data"][0]["type"], "model");
    let last = page["last_id"].as_str().unwrap().to_string();
    let resp = proxy
        .get(&format!("/v1/models?limit=100&after_id={last}"))
        .await;
    let rest: Value = resp.json().await.unwrap();
    let ids: Vec<&str> = rest["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(rest["has_more"], false);
    for id in ["apac", "eu", "global", "us"] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    let resp = proxy.get("/v1/models/eu").await;
    let one: Value = resp.json().await.unwrap();
    assert!(one["display_name"]
        .as_str()
        .unwrap()
        .contains("eu-central-1"));
    let resp = proxy.get("/v1/models/nope").await;
    assert_eq!(resp.status(), 404);
}
