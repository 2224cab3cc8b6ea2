//! The Anthropic API surface against Bedrock's rules: model names resolved from the catalog,
//! betas and beta-gated fields, refused fields, `system` turns, the invalid-beta retry, the
//! error table, `/v1/models` with Anthropic ids — over HTTP and with the real `anthropic`
//! SDK (tests/py/anthropic_client.py, pinned in scripts/test).

use crate::support;

use serde_json::{json, Value};
use support::{fake, py, start_proxy, Behavior, FakeBedrock, StreamScript};

async fn sdk(url: &str, scenario: &str, opts: &[&str]) -> Value {
    py("anthropic_client.py", url, scenario, opts).await
}

fn invokes(fake: &FakeBedrock) -> Vec<support::fake::Recorded> {
    fake.requests()
        .into_iter()
        .filter(|r| r.operation.starts_with("invoke"))
        .collect()
}

async fn message(proxy: &support::Proxy, body: Value) -> (u16, Value) {
    let resp = proxy.post_json("/v1/messages", &body).await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// `POST path` with an `anthropic-beta` header.
async fn post_with_betas(
    proxy: &support::Proxy,
    path: &str,
    betas: &str,
    body: &Value,
) -> reqwest::Response {
    proxy
        .http
        .post(format!("{}{path}", proxy.url))
        .header("anthropic-beta", betas)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn hi(model: &str) -> Value {
    json!({"model": model, "max_tokens": 20, "messages": [{"role": "user", "content": "Hi"}]})
}

#[tokio::test]
async fn anthropic_names_resolve_from_the_catalog() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    for (name, called) in [
        (
            "claude-sonnet-4-5",
            "apac.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        (
            "claude-sonnet-4-5-20250929",
            "apac.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        (
            "claude-opus-4-1",
            "apac.anthropic.claude-opus-4-1-20250805-v1:0",
        ),
        (
            "claude-haiku-4-5",
            "apac.anthropic.claude-haiku-4-5-20251001-v1:0",
        ),
        ("claude-opus-5-5", "apac.anthropic.claude-opus-5-5"),
        ("claude-opus-4-6", "apac.anthropic.claude-opus-4-6-v1"),
        // On demand: the bare id.
        (
            "claude-3-haiku-20240307",
            "anthropic.claude-3-haiku-20240307-v1:0",
        ),
        (
            "claude-3-haiku-latest",
            "anthropic.claude-3-haiku-20240307-v1:0",
        ),
    ] {
        let (status, body) = message(&proxy, hi(name)).await;
        assert_eq!(status, 200, "{name}: {body}");
        let last = invokes(&fake).pop().unwrap();
        assert_eq!(last.model_id.as_deref(), Some(called), "{name}");
    }
    // The catalog was fetched once for all of them.
    let lists = fake
        .requests()
        .iter()
        .filter(|r| r.operation == "list-foundation-models")
        .count();
    assert_eq!(lists, 1);

    let (status, body) = message(&proxy, hi("claude-sonet-4-5")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["type"], "not_found_error");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("did you mean: claude-sonnet-4-5"), "{msg}");
}

#[tokio::test]
async fn a_model_added_to_the_catalog_is_reachable_by_its_anthropic_name() {
    let fake = FakeBedrock::start().await;
    fake.add_model(
        "anthropic.claude-nova-9-20300101-v1:0",
        "Claude Nova 9",
        true,
    );
    let proxy = start_proxy(&fake, "").await;
    let (status, body) = message(&proxy, hi("claude-nova-9")).await;
    assert_eq!(status, 200, "{body}");
    let last = invokes(&fake).pop().unwrap();
    assert_eq!(
        last.model_id.as_deref(),
        Some("apac.anthropic.claude-nova-9-20300101-v1:0")
    );
    // Its bare id is refused like Bedrock refuses it.
    let (status, body) = message(&proxy, hi("anthropic.claude-nova-9-20300101-v1:0")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("with on-demand throughput isn't supported"));
}

#[tokio::test]
async fn an_unreachable_control_plane_falls_back_to_the_static_table() {
    let fake = FakeBedrock::start().await;
    fake.push_control(Behavior::error(500, "InternalServerException", "down"));
    let proxy = start_proxy(&fake, "").await;
    let (status, body) = message(&proxy, hi("claude-sonnet-4-5")).await;
    assert_eq!(status, 200, "{body}");
    let last = invokes(&fake).pop().unwrap();
    assert_eq!(
        last.model_id.as_deref(),
        Some("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    );
}

#[tokio::test]
async fn betas_are_filtered_gated_fields_follow_and_system_turns_fold() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let body = json!({
        "model": "claude-sonnet-4-5", "max_tokens": 20, "stream": false,
        "service_tier": "auto", "metadata": {"user_id": "u1", "trace": "x"},
        "anthropic_beta": ["interleaved-thinking-2025-05-14", "prompt-caching-scope-2026-01-05"],
        "context_management": {"edits": []}, "output_config": {"effort": "high"},
        "messages": [{"role": "user", "content": "Hi"}, {"role": "system", "content": "Be kind."},
                     {"role": "user", "content": "again"}]
    });
    let betas = "claude-code-20250219,context-management-2025-06-27";
    let resp = post_with_betas(&proxy, "/v1/messages?beta=true", betas, &body).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let sent = invokes(&fake).pop().unwrap().json.unwrap();
    assert_eq!(
        sent["anthropic_beta"],
        json!([
            "interleaved-thinking-2025-05-14",
            "context-management-2025-06-27"
        ])
    );
    assert!(sent.get("context_management").is_some());
    assert!(
        sent.get("output_config").is_none(),
        "no effort beta: {sent}"
    );
    assert!(sent.get("service_tier").is_none());
    assert_eq!(sent["metadata"], json!({"user_id": "u1"}));
    assert_eq!(
        sent["system"],
        json!([{"type": "text", "text": "Be kind."}])
    );
    assert_eq!(sent["messages"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_refused_beta_is_retried_without_betas_and_remembered() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "[routing]\nanthropic_betas = [\"not-on-bedrock-2099-01-01\", \"context-management-2025-06-27\"]\n").await;
    let mut body = hi("claude-sonnet-4-5");
    body["context_management"] = json!({"edits": []});
    let betas = "not-on-bedrock-2099-01-01,context-management-2025-06-27";
    let resp = post_with_betas(&proxy, "/v1/messages", betas, &body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-proxy-attempts"], "2");
    let calls = invokes(&fake);
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0].json.as_ref().unwrap()["anthropic_beta"][0],
        "not-on-bedrock-2099-01-01"
    );
    let retried = calls[1].json.clone().unwrap();
    assert!(
        retried.get("anthropic_beta").is_none() && retried.get("context_management").is_none(),
        "{retried}"
    );
    // Remembered: the next call goes without betas at once.
    let resp = post_with_betas(&proxy, "/v1/messages", betas, &body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-proxy-attempts"], "1");
    assert_eq!(invokes(&fake).len(), 3);
}

#[tokio::test]
async fn every_bedrock_exception_has_its_status_and_types() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "[retry]\nmax_attempts = 1\n").await;
    for row in bedrock_proxy::error::BEDROCK_EXCEPTIONS {
        fake.push(Behavior::error(row.status, row.name, "boom"));
        let (status, body) = message(&proxy, hi("claude-3-haiku-20240307")).await;
        assert_eq!(status, row.status, "{}: {body}", row.name);
        assert_eq!(body["error"]["type"], row.anthropic, "{}", row.name);
        fake.push(Behavior::error(row.status, row.name, "boom"));
        let resp = proxy
            .post_json(
                "/v1/chat/completions",
                &json!({"model": "anthropic.claude-3-haiku-20240307-v1:0", "messages": [{"role": "user", "content": "Hi"}]}),
            )
            .await;
        assert_eq!(resp.status().as_u16(), row.status, "{}", row.name);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["type"], row.openai, "{}", row.name);
    }
    let table = bedrock_proxy::error::BEDROCK_EXCEPTIONS;
    let typed = |name: &str| table.iter().find(|r| r.name == name).unwrap().anthropic;
    assert_ne!(typed("ModelStreamErrorException"), "invalid_request_error");
    assert_ne!(typed("ModelTimeoutException"), "invalid_request_error");
    assert_eq!(typed("ThrottlingException"), "rate_limit_error");
    assert_eq!(typed("ServiceUnavailableException"), "overloaded_error");
}

#[tokio::test]
async fn v1_models_lists_catalog_claude_models_under_anthropic_ids() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let body: Value = proxy
        .get("/v1/models?limit=1000")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for id in [
        "claude-sonnet-4-5-20250929",
        "claude-opus-5-5",
        "claude-haiku-4-5-20251001",
    ] {
        assert!(ids.contains(&id), "{id}: {ids:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_anthropic_sdk_streams_tool_use_keeps_thinking_signatures_and_counts() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let url = proxy.url.as_str();

    // Streamed tool use: the input arrives as input_json_delta pieces.
    let events = vec![
        json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 5, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 9}}),
        json!({"type": "message_stop"}),
    ];
    fake.push(Behavior::validated(Behavior::stream(StreamScript {
        events: Some(events),
        ..Default::default()
    })));
    let out = sdk(url, "tools_stream", &["model=claude-sonnet-4-5"]).await;
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(
        out["input_json_deltas"],
        json!(["{\"city\": ", "\"Paris\"}"])
    );
    assert_eq!(out["blocks"][0]["input"], json!({"city": "Paris"}));
    assert_eq!(out["stop_reason"], "tool_use");

    // Thinking: the signature comes back byte-exact on the next turn (the fake checks).
    let signature = fake::thinking_signature("Let me think.");
    fake.push(Behavior::validated(Behavior::json(
        200,
        json!({
        "id": "msg_2", "type": "message", "role": "assistant", "model": "m",
        "content": [{"type": "thinking", "thinking": "Let me think.", "signature": signature},
                    {"type": "text", "text": "First."}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 3, "output_tokens": 4}}),
    )));
    fake.push(Behavior::text("Second."));
    let out = sdk(
        url,
        "thinking_turns",
        &["model=claude-sonnet-4-5", "max_tokens=2048"],
    )
    .await;
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(out["first_blocks"][0]["signature"], signature.as_str());
    assert_eq!(out["text"], "Second.");

    // count_tokens through a catalog name.
    let out = sdk(
        url,
        "count_tokens",
        &["model=claude-sonnet-4-5", "text=a b c"],
    )
    .await;
    assert_eq!(out["ok"], true, "{out}");
    assert!(out["input_tokens"].as_u64().unwrap() >= 3, "{out}");

    // Accepted and unknown betas mixed, and a context_management body: 200.
    let out = sdk(
        url,
        "create",
        &[
            "model=claude-sonnet-4-5",
            "beta=claude-code-20250219,context-management-2025-06-27,made-up-2099-01-01",
            r#"extra={"context_management": {"edits": []}}"#,
        ],
    )
    .await;
    assert_eq!(out["ok"], true, "{out}");
    let sent = invokes(&fake).pop().unwrap().json.unwrap();
    assert_eq!(
        sent["anthropic_beta"],
        json!(["context-management-2025-06-27"])
    );
    assert!(sent.get("context_management").is_some());
}

#[tokio::test]
async fn the_beta_allowlist_is_configurable_and_checked() {
    let fake = FakeBedrock::start().await;
    let toml = "[routing]\nanthropic_betas = [\"context-1m-2025-08-07\"]\n";
    let proxy = start_proxy(&fake, toml).await;
    let betas = "context-1m-2025-08-07,interleaved-thinking-2025-05-14";
    let resp = post_with_betas(&proxy, "/v1/messages", betas, &hi("claude-sonnet-4-5")).await;
    assert_eq!(resp.status(), 200);
    let sent = invokes(&fake).pop().unwrap().json.unwrap();
    assert_eq!(sent["anthropic_beta"], json!(["context-1m-2025-08-07"]));

    let env = |_: &str| None;
    let dir = support::scratch_dir();
    let path = dir.path().join("proxy.toml");
    std::fs::write(&path, "[routing]\nanthropic_betas = [\"a,b\"]\n").unwrap();
    let err = bedrock_proxy::config::Config::load(&bedrock_proxy::config::Sources {
        config_path: Some(path),
        env: &env,
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("routing.anthropic_betas") && err.contains("not a beta name"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_cold_requests_fetch_the_catalog_once() {
    let fake = FakeBedrock::start().await;
    fake.push_control(Behavior::delay(
        std::time::Duration::from_millis(200),
        Behavior::Default,
    ));
    let proxy = start_proxy(&fake, "").await;
    let calls = (0..20).map(|_| message(&proxy, hi("claude-opus-5-5")));
    for (status, body) in futures_util::future::join_all(calls).await {
        assert_eq!(status, 200, "{body}");
    }
    let count = |op: &str| fake.requests().iter().filter(|r| r.operation == op).count();
    assert_eq!(count("list-foundation-models"), 1);
    // One listing of the inference profiles (13 at 2 per page).
    assert_eq!(count("list-inference-profiles"), 7);
    assert_eq!(invokes(&fake).len(), 20);
}
