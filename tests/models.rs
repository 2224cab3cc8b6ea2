//! GET /models and the AWS-shaped control-plane routes against the fake Bedrock's control
//! plane: filters, pagination, the cache (hits, single flight, refresh, TTL, failures, stale,
//! per region), AWS's error shape, and the real AWS CLI reading the proxy.

use crate::support;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{start_proxy, Behavior, FakeBedrock, Proxy};

const SONNET: &str = "anthropic.claude-sonnet-4-20250514-v1:0";

fn ops(fake: &FakeBedrock, op: &str) -> Vec<support::fake::Recorded> {
    fake.requests()
        .into_iter()
        .filter(|r| r.operation == op)
        .collect()
}

fn region_of(rec: &support::fake::Recorded) -> String {
    match &rec.sig {
        Ok(sig) => sig.region.clone(),
        Err(e) => panic!("the fake rejected the proxy's signature: {e}"),
    }
}

async fn get_json(proxy: &Proxy, path: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = proxy.get(path).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.expect("JSON body");
    (status, headers, body)
}

#[tokio::test]
async fn models_lists_the_profile_region_with_filters_and_inference_profiles() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let (status, h, body) = get_json(&proxy, "/models?profile=eu&provider=Anthropic").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h["x-proxy-cache"], "miss");
    assert_eq!(h["x-proxy-profile"], "eu");
    assert_eq!(body["region"], "eu-central-1");
    assert_eq!(body["profile"], "eu");
    assert_eq!(body["cached"], false);
    assert!(body["fetched_at"].as_str().unwrap().ends_with('Z'));
    let models = body["models"].as_array().unwrap();
    // Sonnet 4, Claude 3 Haiku and the five newer Claude models of the fake.
    assert_eq!(models.len(), 7, "{body}");
    assert!(models.iter().all(|m| m["provider"] == "Anthropic"));
    let sonnet = models.iter().find(|m| m["id"] == SONNET).unwrap();
    assert_eq!(
        sonnet["inference_types"],
        serde_json::json!(["INFERENCE_PROFILE"])
    );
    assert_eq!(sonnet["response_streaming_supported"], true);
    assert_eq!(sonnet["lifecycle_status"], "ACTIVE");
    assert_eq!(
        sonnet["inference_profiles"],
        serde_json::json!([format!("eu.{SONNET}")])
    );

    let lists = ops(&fake, "list-foundation-models");
    assert_eq!(lists.len(), 1);
    assert_eq!(lists[0].raw_query, "byProvider=anthropic");
    assert_eq!(region_of(&lists[0]), "eu-central-1");
    // Thirteen inference profiles (three, and a geography and a global one for each of the
    // five newer Claude models), two per page: all seven pages were read.
    let pages = ops(&fake, "list-inference-profiles");
    assert_eq!(pages.len(), 7);
    assert_eq!(pages[0].raw_query, "");
    assert_eq!(pages[1].raw_query, "nextToken=fake-next-2");
}

#[tokio::test]
async fn every_filter_reaches_aws_as_its_query_parameter() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let (status, _, body) = get_json(
        &proxy,
        "/models?output_modality=EMBEDDING&inference_type=ON_DEMAND&provider=AMAZON",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> = body["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["amazon.titan-embed-text-v2:0"]);
    let (_, _, body) = get_json(&proxy, "/models?customization_type=FINE_TUNING").await;
    assert_eq!(body["models"][0]["id"], "amazon.titan-text-express-v1");
    let queries: Vec<String> = ops(&fake, "list-foundation-models")
        .into_iter()
        .map(|r| r.raw_query)
        .collect();
    assert_eq!(
        queries,
        vec![
            "byProvider=amazon&byOutputModality=EMBEDDING&byInferenceType=ON_DEMAND",
            "byCustomizationType=FINE_TUNING",
        ]
    );
    // Values outside AWS's enums (declared in the OpenAPI document) are refused here.
    let calls = fake.request_count();
    for query in [
        "/models?output_modality=smell",
        "/models?inference_type=on-demand",
        "/foundation-models?byCustomizationType=fine_tuning",
        "/inference-profiles?typeEquals=everything",
        "/inference-profiles?maxResults=0",
    ] {
        let (status, _, body) = get_json(&proxy, query).await;
        assert_eq!(status, 400, "{query}: {body}");
    }
    assert_eq!(fake.request_count(), calls, "refused before AWS is asked");
    let spec: serde_json::Value = proxy.get("/openapi.json").await.json().await.unwrap();
    let text = spec.to_string();
    for value in [
        "CONTINUED_PRE_TRAINING",
        "SYSTEM_DEFINED",
        "EMBEDDING",
        "PROVISIONED",
    ] {
        assert!(text.contains(value), "{value} declared in the schema");
    }
}

#[tokio::test]
async fn second_call_is_a_cache_hit_and_equal_filters_share_an_entry() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let (_, h1, first) = get_json(&proxy, "/models?provider=anthropic").await;
    assert_eq!(h1["x-proxy-cache"], "miss");
    let calls = fake.request_count();
    let (status, h2, second) = get_json(&proxy, "/models?provider=ANTHROPIC").await;
    assert_eq!(status, 200);
    assert_eq!(h2["x-proxy-cache"], "hit");
    assert_eq!(second["cached"], true);
    assert_eq!(second["models"], first["models"]);
    assert_eq!(second["fetched_at"], first["fetched_at"]);
    assert_eq!(fake.request_count(), calls, "a hit must not call AWS");
}

#[tokio::test]
async fn fifty_concurrent_cold_requests_make_one_upstream_call() {
    let fake = FakeBedrock::start().await;
    // Slow answers, so every request arrives while the first call is in flight.
    for _ in 0..2 {
        fake.push_control(Behavior::delay(
            Duration::from_millis(300),
            Behavior::Default,
        ));
    }
    let proxy = start_proxy(&fake, "").await;
    let calls = (0..50).map(|_| proxy.get("/models?profile=us"));
    let responses = futures_util::future::join_all(calls).await;
    let mut misses = 0;
    for r in responses {
        assert_eq!(r.status(), 200);
        if r.headers()["x-proxy-cache"] == "miss" {
            misses += 1;
        }
    }
    assert_eq!(misses, 1);
    assert_eq!(ops(&fake, "list-foundation-models").len(), 1);
    // 13 profiles at 2 per page: one listing is 7 calls.
    assert_eq!(ops(&fake, "list-inference-profiles").len(), 7);
}

#[tokio::test]
async fn refresh_calls_again_and_stores_the_fresh_answer() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let (_, _, first) = get_json(&proxy, "/models").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, h, fresh) = get_json(&proxy, "/models?refresh=true").await;
    assert_eq!(status, 200);
    assert_eq!(h["x-proxy-cache"], "miss");
    assert_eq!(ops(&fake, "list-foundation-models").len(), 2);
    assert_ne!(fresh["fetched_at"], first["fetched_at"]);
    let (_, h, after) = get_json(&proxy, "/models").await;
    assert_eq!(h["x-proxy-cache"], "hit");
    assert_eq!(after["fetched_at"], fresh["fetched_at"]);
    assert_eq!(ops(&fake, "list-foundation-models").len(), 2);
}

#[tokio::test]
async fn entries_expire_after_the_ttl() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "[models]\nttl_secs = 0.3\n").await;
    get_json(&proxy, "/models").await;
    let (_, h, _) = get_json(&proxy, "/models").await;
    assert_eq!(h["x-proxy-cache"], "hit");
    tokio::time::sleep(Duration::from_millis(450)).await;
    let (status, h, _) = get_json(&proxy, "/models").await;
    assert_eq!(status, 200);
    assert_eq!(h["x-proxy-cache"], "miss");
    assert_eq!(ops(&fake, "list-foundation-models").len(), 2);
}

#[tokio::test]
async fn a_failed_call_is_not_cached() {
    let fake = FakeBedrock::start().await;
    // Both calls of /models (models and inference profiles) fail.
    for _ in 0..2 {
        fake.push_control(Behavior::error(
            403,
            "AccessDeniedException",
            "User is not authorized to perform: bedrock:ListFoundationModels",
        ));
    }
    let proxy = start_proxy(&fake, "").await;
    let (status, _, body) = get_json(&proxy, "/models").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["type"], "AccessDeniedException");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("bedrock:ListFoundationModels"));
    let (status, h, _) = get_json(&proxy, "/models").await;
    assert_eq!(status, 200);
    assert_eq!(h["x-proxy-cache"], "miss");
    assert_eq!(ops(&fake, "list-foundation-models").len(), 2);
}

#[tokio::test]
async fn a_failed_refresh_serves_the_older_entry_marked_stale() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "[models]\nttl_secs = 0.2\n").await;
    let (_, _, first) = get_json(&proxy, "/models").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..2 {
        fake.push_control(Behavior::error(
            503,
            "ServiceUnavailableException",
            "Bedrock is unavailable",
        ));
    }
    // Expired: the proxy asks again, AWS fails, the older answer is served.
    let (status, h, body) = get_json(&proxy, "/models").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h["x-proxy-cache"], "stale");
    assert!(h["warning"].to_str().unwrap().starts_with("110 "));
    assert_eq!(body["stale"], true);
    assert!(body["refresh_error"]
        .as_str()
        .unwrap()
        .contains("Bedrock is unavailable"));
    assert_eq!(body["models"], first["models"]);
    assert_eq!(body["fetched_at"], first["fetched_at"]);
    // The same with an explicit refresh.
    for _ in 0..2 {
        fake.push_control(Behavior::throttling());
    }
    let (status, h, _) = get_json(&proxy, "/models?refresh=true").await;
    assert_eq!(status, 200);
    assert_eq!(h["x-proxy-cache"], "stale");
}

#[tokio::test]
async fn regions_are_cached_apart() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    for _ in 0..2 {
        let (_, _, eu) = get_json(&proxy, "/models?profile=eu").await;
        let (_, _, us) = get_json(&proxy, "/models?profile=us").await;
        assert_eq!(eu["region"], "eu-central-1");
        assert_eq!(us["region"], "us-east-1");
        assert_eq!(
            eu["models"][0]["arn"],
            format!("arn:aws:bedrock:eu-central-1::foundation-model/{SONNET}")
        );
        assert_eq!(
            us["models"][0]["inference_profiles"][0],
            format!("us.{SONNET}")
        );
    }
    let regions: Vec<String> = ops(&fake, "list-foundation-models")
        .iter()
        .map(region_of)
        .collect();
    assert_eq!(regions, vec!["eu-central-1", "us-east-1"]);
}

#[tokio::test]
async fn unknown_profile_is_404() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let (status, _, body) = get_json(&proxy, "/models?profile=mars").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["type"], "UnknownProfile");
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn aws_routes_use_the_signed_region_and_aws_shapes() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let signed = |region: &str| {
        format!("AWS4-HMAC-SHA256 Credential=AKIDCLIENT/20261125/{region}/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123")
    };
    let resp = proxy
        .http
        .get(format!("{}/foundation-models?byProvider=meta", proxy.url))
        .header("authorization", signed("eu-west-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let summaries = body["modelSummaries"].as_array().unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0]["modelId"], "meta.llama3-8b-instruct-v1:0");
    assert_eq!(summaries[0]["providerName"], "Meta");
    let rec = fake.last().unwrap();
    assert_eq!(region_of(&rec), "eu-west-1");
    // The proxy signed with its own credentials, not the client's.
    assert_ne!(rec.sig.as_ref().unwrap().access_key, "AKIDCLIENT");
    assert!(rec.header("authorization").unwrap().contains("Signature="));
    assert!(!rec.header("authorization").unwrap().contains("0123"));

    // Unsigned: the default profile's region; ?profile= picks one.
    let (_, _, _) = get_json(&proxy, "/foundation-models").await;
    assert_eq!(region_of(&fake.last().unwrap()), "ap-northeast-1");
    let (status, _, one) = get_json(
        &proxy,
        "/foundation-models/anthropic.claude-3-haiku-20240307-v1%3A0?profile=us",
    )
    .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(
        one["modelDetails"]["modelArn"],
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    );
    let rec = fake.last().unwrap();
    assert_eq!(rec.operation, "get-foundation-model");
    assert_eq!(
        rec.model_id.as_deref(),
        Some("anthropic.claude-3-haiku-20240307-v1:0")
    );

    // An ARN as the id: its `/` travels as %2F within the one path segment.
    let arn = "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0";
    let encoded = arn.replace(':', "%3A").replace('/', "%2F");
    let (status, _, by_arn) =
        get_json(&proxy, &format!("/foundation-models/{encoded}?profile=us")).await;
    assert_eq!(status, 200, "{by_arn}");
    assert_eq!(
        by_arn["modelDetails"]["modelId"],
        "meta.llama3-8b-instruct-v1:0"
    );
    assert_eq!(fake.last().unwrap().model_id.as_deref(), Some(arn));

    // Paging through the cached inference profiles with AWS's parameters.
    let (_, _, p1) = get_json(&proxy, "/inference-profiles?profile=eu&maxResults=2").await;
    assert_eq!(p1["inferenceProfileSummaries"].as_array().unwrap().len(), 2);
    let token = p1["nextToken"].as_str().unwrap().to_string();
    let (_, h, p2) = get_json(
        &proxy,
        &format!("/inference-profiles?profile=eu&maxResults=2&nextToken={token}"),
    )
    .await;
    assert_eq!(h["x-proxy-cache"], "hit");
    assert_eq!(p2["inferenceProfileSummaries"].as_array().unwrap().len(), 2);
    assert!(p2["nextToken"].is_string(), "{p2}");
    let (status, _, profile) = get_json(
        &proxy,
        &format!(
            "/inference-profiles/eu.{}?profile=eu",
            SONNET.replace(':', "%3A")
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(profile["inferenceProfileId"], format!("eu.{SONNET}"));
    assert_eq!(profile["type"], "SYSTEM_DEFINED");
}

#[tokio::test]
async fn aws_routes_answer_errors_in_aws_shape() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let resp = proxy.get("/foundation-models/no.such-model").await;
    assert_eq!(resp.status(), 404);
    let h = resp.headers().clone();
    assert_eq!(h["x-amzn-errortype"], "ResourceNotFoundException");
    assert!(h.contains_key("x-amzn-requestid"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["message"],
        "Could not resolve the foundation model from the provided model identifier."
    );
    let resp = proxy.get("/inference-profiles?maxResults=0").await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["x-amzn-errortype"], "ValidationException");
    let body: Value = resp.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("maxResults"));
}

/// The real AWS CLI (`python3 -m awscli`, installed by scripts/test) with dummy credentials.
fn aws_cli(url: &str, args: &[&str]) -> std::process::Output {
    aws_cli_for("bedrock", url, args)
}

fn aws_cli_for(service: &str, url: &str, args: &[&str]) -> std::process::Output {
    let dir = support::scratch_dir();
    Command::new("python3")
        .args(["-m", "awscli", service])
        .args(args)
        .args(["--endpoint-url", url, "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", "AKIDCLIENTDUMMY")
        .env("AWS_SECRET_ACCESS_KEY", "client-dummy-secret")
        .env("AWS_CONFIG_FILE", dir.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_BEDROCK")
        .output()
        .expect("python3 runs (scripts/test installs awscli)")
}

fn cli_json(url: &str, args: &[&str]) -> Value {
    let out = aws_cli(url, args);
    assert!(
        out.status.success(),
        "aws {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the AWS CLI printed JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_aws_cli_reads_the_proxy_unmodified() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let (list, one, profiles, profile, missing) = tokio::task::spawn_blocking({
        let url = proxy.url.clone();
        move || {
            let proxy = url.as_str();
            (
                cli_json(
                    proxy,
                    &[
                        "list-foundation-models",
                        "--region",
                        "eu-central-1",
                        "--by-provider",
                        "anthropic",
                    ],
                ),
                cli_json(
                    proxy,
                    &[
                        "get-foundation-model",
                        "--region",
                        "eu-central-1",
                        "--model-identifier",
                        "anthropic.claude-3-haiku-20240307-v1:0",
                    ],
                ),
                // --page-size 1: the CLI follows the proxy's own nextToken through 13 pages.
                cli_json(
                    proxy,
                    &[
                        "list-inference-profiles",
                        "--region",
                        "us-east-1",
                        "--page-size",
                        "1",
                    ],
                ),
                cli_json(
                    proxy,
                    &[
                        "get-inference-profile",
                        "--region",
                        "us-east-1",
                        "--inference-profile-identifier",
                        &format!("us.{SONNET}"),
                    ],
                ),
                aws_cli(
                    proxy,
                    &[
                        "get-foundation-model",
                        "--region",
                        "eu-central-1",
                        "--model-identifier",
                        "no.such-model",
                    ],
                ),
            )
        }
    })
    .await
    .unwrap();
    let ids: Vec<&str> = list["modelSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["modelId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            SONNET,
            "anthropic.claude-3-haiku-20240307-v1:0",
            "anthropic.claude-opus-4-1-20250805-v1:0",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-haiku-4-5-20251001-v1:0",
            "anthropic.claude-opus-4-6-v1",
            "anthropic.claude-opus-5-5",
        ]
    );
    assert_eq!(
        list["modelSummaries"][0]["modelArn"],
        format!("arn:aws:bedrock:eu-central-1::foundation-model/{SONNET}")
    );
    assert_eq!(one["modelDetails"]["modelName"], "Claude 3 Haiku");
    let summaries = profiles["inferenceProfileSummaries"].as_array().unwrap();
    assert_eq!(summaries.len(), 13);
    assert!(summaries.iter().all(|s| {
        let id = s["inferenceProfileId"].as_str().unwrap();
        id.starts_with("us.") || id.starts_with("global.")
    }));
    assert_eq!(profile["inferenceProfileId"], format!("us.{SONNET}"));
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("ResourceNotFoundException"), "{stderr}");
    assert!(
        stderr.contains("Could not resolve the foundation model"),
        "{stderr}"
    );
    // Each CLI call was answered for the region it signed for.
    let regions: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.operation == "list-foundation-models")
        .map(region_of)
        .collect();
    assert_eq!(regions, vec!["eu-central-1"]);
    let profile_regions: Vec<String> = ops(&fake, "list-inference-profiles")
        .iter()
        .map(region_of)
        .collect();
    assert!(profile_regions.iter().all(|r| r == "us-east-1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_aws_cli_calls_the_runtime_through_the_proxy() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let dir = support::scratch_dir();
    let outfile = dir.path().join("answer.json");
    let url = proxy.url.clone();
    let out_path = outfile.to_string_lossy().to_string();
    let (invoke, converse) = tokio::task::spawn_blocking(move || {
        let body = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":20,"messages":[{"role":"user","content":"Hello CLI"}]}"#;
        let invoke = aws_cli_for(
            "bedrock-runtime",
            &url,
            &["invoke-model", "--region", "eu-central-1", "--model-id", "eu", "--body", body, &out_path],
        );
        let converse = aws_cli_for(
            "bedrock-runtime",
            &url,
            &["converse", "--region", "eu-central-1", "--model-id", "eu", "--messages", r#"[{"role":"user","content":[{"text":"Hi converse"}]}]"#],
        );
        (invoke, converse)
    })
    .await
    .unwrap();
    assert!(
        invoke.status.success(),
        "{}",
        String::from_utf8_lossy(&invoke.stderr)
    );
    let answer: Value = serde_json::from_slice(&std::fs::read(&outfile).unwrap()).unwrap();
    assert_eq!(answer["content"][0]["text"], "echo: Hello CLI");
    assert!(
        converse.status.success(),
        "{}",
        String::from_utf8_lossy(&converse.stderr)
    );
    let converse: Value = serde_json::from_slice(&converse.stdout).unwrap();
    assert_eq!(
        converse["output"]["message"]["content"][0]["text"],
        "echo: Hi converse"
    );
    let ops: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r.operation.clone())
        .collect();
    assert_eq!(ops, vec!["invoke", "converse"]);
    assert!(fake.requests().iter().all(|r| r.model_id.as_deref()
        == Some(format!("eu.{SONNET}").as_str())
        && region_of(r) == "eu-central-1"));
}
