//! `GET /metrics` scraped by a real Prometheus (Debian's package, installed by `scripts/test`)
//! while a known mix of calls goes through the proxy to the fake Bedrock; what Prometheus
//! stored must equal what the fake counted: requests, attempts, tokens by type. Also:
//! `promtool check metrics` is clean, keys are named never shown, the cost header.

use crate::support;

use serde_json::{json, Value};
use support::fake::{ConverseScript, ConverseUsage};
use support::prometheus::{promtool_check, Prometheus};
use support::{hi, start_proxy_with, Behavior, FakeBedrock, Proxy};

const FAST: &str = "[retry]\nbase_delay_secs = 0.005\nmax_delay_secs = 0.02\n\n";
const KEYS: &str = "ci:secret-ci-key,plain-secret-key";
const SONNET: &str = "apac.anthropic.claude-sonnet-4-20250514-v1:0";
const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";

async fn post(proxy: &Proxy, key: &str, path: &str, body: &Value) -> reqwest::Response {
    proxy
        .http
        .post(format!("{}{path}", proxy.url))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .expect("proxy answers")
}

/// The known mix: 8 client requests, 9 calls to Bedrock.
async fn send_mix(fake: &FakeBedrock, proxy: &Proxy) -> String {
    let ci = "secret-ci-key";
    // JSON invoke.
    let r = post(proxy, ci, "/invoke", &hi()).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-proxy-cost-usd"), "priced model");
    r.bytes().await.unwrap();
    // SSE stream.
    let r = post(proxy, ci, "/invoke_stream", &hi()).await;
    assert_eq!(r.status(), 200);
    assert!(!r.headers().contains_key("x-proxy-cost-usd"), "a stream");
    assert!(r.text().await.unwrap().contains("message_stop"));
    // OpenAI stream (Converse underneath).
    let chat = json!({"model": "apac", "stream": true,
                      "messages": [{"role": "user", "content": "Hi there"}]});
    let r = post(proxy, ci, "/v1/chat/completions", &chat).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("[DONE]"));
    // A 429 retried once.
    fake.push(Behavior::throttling());
    let r = post(proxy, ci, "/invoke", &hi()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-proxy-attempts"], "2");
    r.bytes().await.unwrap();
    // A failed call, with the other key.
    fake.push(Behavior::error(400, "ValidationException", "bad input"));
    let r = post(proxy, "plain-secret-key", "/invoke", &hi()).await;
    assert_eq!(r.status(), 400);
    r.bytes().await.unwrap();
    // OpenAI, whole, with prompt-cache reads and writes.
    fake.push(Behavior::converse(ConverseScript {
        usage: Some(ConverseUsage {
            input_tokens: 20,
            output_tokens: 10,
            cache_read_input_tokens: 1000,
            cache_write_input_tokens: 200,
        }),
        ..ConverseScript::text("cached answer")
    }));
    let chat = json!({"model": "apac", "messages": [{"role": "user", "content": "Hi"}]});
    let r = post(proxy, ci, "/v1/chat/completions", &chat).await;
    assert_eq!(r.status(), 200);
    let cost = r.headers()["x-proxy-cost-usd"]
        .to_str()
        .unwrap()
        .to_string();
    r.bytes().await.unwrap();
    // A model called directly (not a profile): relayed, read on the side.
    let native = json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10,
                        "messages": [{"role": "user", "content": "Hello"}]});
    let r = post(proxy, ci, &format!("/model/{HAIKU}/invoke"), &native).await;
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();
    let path = format!("/model/{HAIKU}/invoke-with-response-stream");
    let r = post(proxy, ci, &path, &native).await;
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();
    cost
}

#[tokio::test]
async fn prometheus_scrapes_what_the_fake_counted() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy_with(&fake, FAST, &[("PROXY_API_KEYS", KEYS)]).await;
    let prom = Prometheus::scraping(proxy.url.trim_start_matches("http://")).await;
    let cost = send_mix(&fake, &proxy).await;
    // Sonnet 4: $3 input, $15 output, $0.30 cache reads, $3.75 cache writes per million.
    assert_eq!(
        cost, "0.00126",
        "cache reads and writes priced at their own rates"
    );

    let q = |promql: &'static str, want: f64| {
        let prom = &prom;
        async move { (prom.eventually(promql, want).await, promql) }
    };
    let (got, e) = q(
        r#"sum(bedrock_proxy_requests_total{route!="/metrics"})"#,
        8.0,
    )
    .await;
    assert_eq!(got, 8.0, "{e}");
    let calls = fake.request_count() as f64;
    assert_eq!(calls, 9.0, "the fake answered 9 calls");
    let (got, e) = q("sum(bedrock_proxy_upstream_requests_total)", 9.0).await;
    assert_eq!(got, calls, "{e}");
    for (promql, want) in [
        (
            r#"sum(bedrock_proxy_upstream_requests_total{status="429"})"#,
            1.0,
        ),
        (
            r#"sum(bedrock_proxy_upstream_requests_total{status="400"})"#,
            1.0,
        ),
        (
            r#"sum(bedrock_proxy_upstream_requests_total{profile="apac",region="ap-northeast-1"})"#,
            7.0,
        ),
        (r#"sum(bedrock_proxy_requests_total{route="/invoke"})"#, 3.0),
        (
            r#"sum(bedrock_proxy_requests_total{route="/invoke",status="400"})"#,
            1.0,
        ),
        (
            r#"sum(bedrock_proxy_requests_total{route="/v1/chat/completions"})"#,
            2.0,
        ),
        (
            r#"sum(bedrock_proxy_requests_total{route="/model/{modelId}/invoke-with-response-stream",profile="other"})"#,
            1.0,
        ),
        (r#"sum(bedrock_proxy_requests_total{key="ci"})"#, 7.0),
        (
            r#"sum(bedrock_proxy_requests_total{key="key2",status="400"})"#,
            1.0,
        ),
        // Prometheus's own scrapes carry no key.
        (
            r#"sum(bedrock_proxy_requests_total{key="none"}) > bool 0"#,
            1.0,
        ),
        ("sum(bedrock_proxy_time_to_first_token_seconds_count)", 3.0),
        (
            r#"sum(bedrock_proxy_request_duration_seconds_count{route!="/metrics"})"#,
            8.0,
        ),
        ("bedrock_proxy_active_streams", 0.0),
    ] {
        let got = prom.eventually(promql, want).await;
        assert_eq!(got, want, "{promql}");
    }
    let reported = fake.reported_tokens();
    assert_eq!(reported.cache_read, 1000, "{reported:?}");
    assert_eq!(reported.cache_write, 200, "{reported:?}");
    assert!(reported.input > 20 && reported.output > 10, "{reported:?}");
    for (kind, want) in [
        ("input", reported.input),
        ("output", reported.output),
        ("cache_read", reported.cache_read),
        ("cache_write", reported.cache_write),
    ] {
        let promql = format!(r#"sum(bedrock_proxy_tokens_total{{type="{kind}"}})"#);
        let got = prom.eventually(&promql, want as f64).await;
        assert_eq!(got, want as f64, "{kind} tokens: Prometheus vs the fake");
    }
    // The cost of each model is its tokens at its rates.
    for (model, rates) in [
        (SONNET, [3.0, 15.0, 0.30, 3.75]),
        (HAIKU, [0.25, 1.25, 0.03, 0.30]),
    ] {
        let tokens = prom
            .query(&format!(
                r#"sum by (type) (bedrock_proxy_tokens_total{{model="{model}"}})"#
            ))
            .await;
        assert!(!tokens.is_empty(), "{model} has tokens");
        let want: f64 = tokens
            .iter()
            .map(|(labels, n)| {
                let i = ["input", "output", "cache_read", "cache_write"]
                    .iter()
                    .position(|t| labels["type"] == *t)
                    .unwrap();
                n * rates[i] / 1e6
            })
            .sum();
        let promql = format!(r#"sum(bedrock_proxy_cost_usd_total{{model="{model}"}})"#);
        let got = prom.query(&promql).await[0].1;
        assert!((got - want).abs() < 1e-9, "{model}: cost {got} vs {want}");
    }

    // The scrape itself: no key needed on loopback, promtool-clean, never a secret.
    let text = proxy.get("/metrics").await.text().await.unwrap();
    let (ok, printed) = promtool_check(&text);
    assert!(
        ok && printed.trim().is_empty(),
        "promtool: {printed}\n{text}"
    );
    assert!(!text.contains("secret"), "{text}");
    for name in [
        "requests_total",
        "request_duration_seconds",
        "time_to_first_token_seconds",
        "upstream_requests_total",
        "tokens_total",
        "cost_usd_total",
        "active_streams",
    ] {
        assert!(
            text.contains(&format!("# HELP bedrock_proxy_{name} ")),
            "{name}: {text}"
        );
    }
}

#[tokio::test]
async fn catalog_lookups_and_unknown_labels_are_bounded() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy_with(&fake, FAST, &[]).await;
    for _ in 0..2 {
        let r = proxy.get("/models").await;
        assert_eq!(r.status(), 200);
    }
    // Many unknown paths and direct model ids: one `other` series each, however many.
    for i in 0..20 {
        proxy.get(&format!("/nothing/{i}")).await;
        let body = json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5,
                          "messages": [{"role": "user", "content": "x"}]});
        proxy
            .post_json(
                &format!("/model/anthropic.claude-made-up-{i}-v1:0/invoke"),
                &body,
            )
            .await;
    }
    let text = proxy.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(r#"bedrock_proxy_catalog_requests_total{result="miss"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"bedrock_proxy_catalog_requests_total{result="hit"} 1"#),
        "{text}"
    );
    assert!(!text.contains("made-up"), "{text}");
    assert!(!text.contains("/nothing"), "{text}");
    let other_routes = text
        .lines()
        .filter(|l| l.starts_with("bedrock_proxy_requests_total{route=\"other\""))
        .count();
    assert_eq!(other_routes, 1, "{text}");
    // Without client keys there is no `key` label.
    assert!(!text.contains("key=\""), "{text}");
}

#[tokio::test]
async fn json_access_line_names_the_key_and_counts_tokens_but_never_shows_a_secret() {
    let fake = FakeBedrock::start().await;
    let creds = fake.creds();
    let dir = support::scratch_dir();
    std::fs::write(
        dir.path().join(".env"),
        format!(
            "AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\nAWS_ENDPOINT_URL_BEDROCK_RUNTIME={}\n",
            creds.access_key,
            creds.secret_key,
            fake.url()
        ),
    )
    .unwrap();
    let vars = [
        ("PROXY_LOG__FORMAT", "json"),
        ("PROXY_API_KEYS", "team-a:key-must-not-be-logged"),
    ];
    let bin = support::spawn_binary(dir.path(), &vars);
    let resp = reqwest::Client::new()
        .post(format!("{}/invoke", bin.url))
        .header("x-request-id", "req-metrics-1")
        .bearer_auth("key-must-not-be-logged")
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let usage: Value = resp.json().await.unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = bin.log.lock().unwrap().clone();
    let line: Value = log
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["fields"]["request_id"] == "req-metrics-1")
        .unwrap_or_else(|| panic!("no JSON access line: {log:?}"));
    let f = &line["fields"];
    assert_eq!(f["message"], "request done", "{line}");
    assert_eq!(f["route"], "/invoke");
    assert_eq!(f["profile"], "apac");
    assert_eq!(f["model"], SONNET);
    assert_eq!(f["key"], "team-a");
    assert_eq!(f["status"], 200);
    assert_eq!(f["attempts"], 1);
    assert_eq!(f["input_tokens"], usage["usage"]["input_tokens"]);
    assert_eq!(f["output_tokens"], usage["usage"]["output_tokens"]);
    assert!(f["cost_usd"].as_f64().unwrap() > 0.0, "{line}");
    let all = log.join("\n");
    for secret in ["key-must-not-be-logged", creds.secret_key.as_str()] {
        assert!(!all.contains(secret), "a secret reached the log");
    }
}

/// The value of the one sample of `metrics` text that starts with `series`, 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(series))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

#[tokio::test]
async fn a_stream_cut_short_still_counts_what_it_reported() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy_with(&fake, FAST, &[]).await;
    // message_start, content_block_start, one delta, then an exception.
    fake.push(Behavior::stream(support::StreamScript {
        exception_after: Some((3, "modelStreamErrorException".into(), "boom".into())),
        ..Default::default()
    }));
    let r = proxy.post_json("/invoke_stream", &hi()).await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("event: error"), "{body}");
    let reported = fake.reported_tokens();
    assert!(
        reported.input > 0,
        "message_start reported input: {reported:?}"
    );
    let text = proxy.get("/metrics").await.text().await.unwrap();
    let tokens = |kind: &str| {
        sample(
            &text,
            &format!(
                r#"bedrock_proxy_tokens_total{{profile="apac",model="{SONNET}",type="{kind}"}}"#
            ),
        )
    };
    assert_eq!(tokens("input"), reported.input as f64, "{text}");
    assert_eq!(tokens("output"), reported.output as f64, "{text}");
    assert_eq!(sample(&text, "bedrock_proxy_active_streams"), 0.0, "{text}");
    assert_eq!(
        sample(&text, "bedrock_proxy_time_to_first_token_seconds_count{"),
        1.0,
        "{text}"
    );
}
