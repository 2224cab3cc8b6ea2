//! Client API keys, the body limit, the non-loopback refusal, secrets in logs and `Debug`, the
//! OpenAPI security schemes, and the shutdown grace period.

use crate::support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bedrock_proxy::config::{Config, Sources};
use futures_util::StreamExt;
use serde_json::Value;
use support::fake::FakeCreds;
use support::{
    command, hi, scratch_dir, spawn_binary, start_proxy, start_proxy_with, Behavior, FakeBedrock,
    StreamScript,
};

const KEYS: &str = "first-client-key,second-client-key";

async fn post_with(
    proxy: &support::Proxy,
    path: &str,
    header: Option<(&str, &str)>,
) -> reqwest::Response {
    let mut req = proxy.http.post(format!("{}{path}", proxy.url)).json(&hi());
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    req.send().await.unwrap()
}

async fn assert_unauthorized(resp: reqwest::Response) -> Value {
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert!(resp.headers().contains_key("x-request-id"));
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["type"], "Unauthorized");
    assert_eq!(err["error"]["status"], 401);
    assert!(err["error"]["request_id"].is_string());
    err
}

#[tokio::test]
async fn api_keys_none_wrong_bearer_and_x_api_key() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy_with(&fake, "", &[("PROXY_API_KEYS", KEYS)]).await;

    let err = assert_unauthorized(post_with(&proxy, "/invoke", None).await).await;
    let msg = err["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("Authorization: Bearer") && msg.contains("x-api-key"),
        "{msg}"
    );
    let err = assert_unauthorized(
        post_with(
            &proxy,
            "/invoke",
            Some(("authorization", "Bearer wrong-key")),
        )
        .await,
    )
    .await;
    assert!(
        !err.to_string().contains("wrong-key"),
        "keys are never echoed"
    );
    assert_unauthorized(post_with(&proxy, "/invoke", Some(("x-api-key", "first-client-ke"))).await)
        .await;
    assert_unauthorized(
        post_with(
            &proxy,
            "/invoke",
            Some(("authorization", "Basic first-client-key")),
        )
        .await,
    )
    .await;
    assert_unauthorized(post_with(&proxy, "/invoke_stream", None).await).await;
    assert_eq!(
        fake.request_count(),
        0,
        "nothing reaches Bedrock without a key"
    );

    let resp = post_with(
        &proxy,
        "/invoke",
        Some(("authorization", "Bearer first-client-key")),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let resp = post_with(&proxy, "/invoke", Some(("x-api-key", "second-client-key"))).await;
    assert_eq!(resp.status(), 200);
    let resp = post_with(
        &proxy,
        "/invoke_stream",
        Some(("authorization", "bearer second-client-key")),
    )
    .await;
    assert_eq!(resp.status(), 200);
    // The client's key never goes upstream.
    for r in fake.requests() {
        assert!(r.header("x-api-key").is_none());
        assert!(!r.header("authorization").unwrap().contains("client-key"));
    }

    // Open by default: health, Swagger UI, the spec. Everything else needs the key.
    for path in ["/health", "/docs", "/docs/", "/openapi.json"] {
        assert_eq!(proxy.get(path).await.status(), 200, "{path}");
    }
    assert_unauthorized(proxy.get("/profiles").await).await;
    assert_unauthorized(proxy.get("/healthz").await).await;
    assert_unauthorized(proxy.get("/nope").await).await;
    let profiles = proxy
        .http
        .get(format!("{}/profiles", proxy.url))
        .header("x-api-key", "first-client-key")
        .send()
        .await
        .unwrap();
    assert_eq!(profiles.status(), 200);
}

#[tokio::test]
async fn keys_from_a_file_and_nothing_open_when_configured() {
    let fake = FakeBedrock::start().await;
    let dir = scratch_dir();
    let file = dir.path().join("keys");
    std::fs::write(&file, "# team keys\nfile-key-one\n\n  file-key-two  \n").unwrap();
    let path = file.to_str().unwrap();
    let proxy = start_proxy_with(
        &fake,
        "[auth]\nopen_paths = []\n",
        &[("PROXY_API_KEYS_FILE", path)],
    )
    .await;
    assert_unauthorized(proxy.get("/health").await).await;
    assert_unauthorized(proxy.get("/openapi.json").await).await;
    let ok = proxy
        .http
        .get(format!("{}/health", proxy.url))
        .header("authorization", "Bearer file-key-two")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_unauthorized(post_with(&proxy, "/invoke", Some(("x-api-key", "# team keys"))).await)
        .await;
}

#[tokio::test]
async fn without_keys_everything_is_open_on_loopback() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let resp = post_with(
        &proxy,
        "/invoke",
        Some(("authorization", "Bearer anything")),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(proxy.get("/profiles").await.status(), 200);
}

#[tokio::test]
async fn oversized_bodies_are_413_without_calling_bedrock() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    // 33 MiB with a Content-Length: refused from the header, before the body is read.
    let big = format!(
        "{{\"messages\":[{{\"role\":\"user\",\"content\":\"{}\"}}]}}",
        "x".repeat(33 * 1024 * 1024)
    );
    let started = Instant::now();
    let resp = proxy.post_raw("/invoke", "application/json", &big).await;
    assert_eq!(resp.status(), 413);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["type"], "PayloadTooLarge");
    assert_eq!(err["error"]["status"], 413);
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("33554432"));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(fake.request_count(), 0);
}

/// A chunked body (no Content-Length) of `total` bytes in 1 KiB pieces.
fn chunked(total: usize) -> reqwest::Body {
    let mut text = String::from("{\"messages\":[{\"role\":\"user\",\"content\":\"");
    text.push_str(&"y".repeat(total.saturating_sub(text.len() + 5)));
    text.push_str("\"}]}");
    let bytes = bytes::Bytes::from(text);
    let pieces: Vec<Result<bytes::Bytes, std::io::Error>> = (0..bytes.len())
        .step_by(1024)
        .map(|i| Ok(bytes.slice(i..(i + 1024).min(bytes.len()))))
        .collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(pieces))
}

#[tokio::test]
async fn chunked_uploads_are_cut_at_the_limit() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "[limits]\nmax_body_bytes = 10000\n").await;
    let resp = proxy
        .http
        .post(format!("{}/invoke_stream", proxy.url))
        .header("content-type", "application/json")
        .body(chunked(50_000))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["type"], "PayloadTooLarge");
    assert_eq!(fake.request_count(), 0);

    // Under the limit, chunked is fine.
    let resp = proxy
        .http
        .post(format!("{}/invoke", proxy.url))
        .header("content-type", "application/json")
        .body(chunked(9_000))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

fn check(dir: &std::path::Path, vars: &[(&str, &str)]) -> std::process::Output {
    command(dir, vars).arg("--check").output().unwrap()
}

#[test]
fn non_loopback_bind_without_keys_is_refused() {
    let dir = scratch_dir();
    let out = check(dir.path(), &[("PROXY_SERVER__HOST", "0.0.0.0")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("server.host")
            && err.contains("0.0.0.0")
            && err.contains("PROXY_API_KEYS")
            && err.contains("allow_unauthenticated"),
        "{err}"
    );
    let out = check(
        dir.path(),
        &[("PROXY_SERVER__HOST", "0.0.0.0"), ("PROXY_API_KEYS", "k")],
    );
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("client API keys: 1"), "{text}");
    assert!(!text.contains("k\n"));
    let out = check(
        dir.path(),
        &[
            ("PROXY_SERVER__HOST", "::"),
            ("PROXY_AUTH__ALLOW_UNAUTHENTICATED", "true"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn resilience_config_errors_name_the_key() {
    /// proxy.toml, variables, what the error must mention.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case] = &[
        (
            "[profiles.eu]\nfallback = [\"mars\"]\n",
            &[],
            &["profiles.eu.fallback", "'mars' is not defined"],
        ),
        (
            "[profiles.eu]\nfallback = [\"eu\"]\n",
            &[],
            &["profiles.eu.fallback", "itself"],
        ),
        ("[retry]\nmax_attempts = 0\n", &[], &["retry.max_attempts"]),
        (
            "[profiles.us.retry]\nbase_delay_secs = -1\n",
            &[],
            &["profiles.us.retry.base_delay_secs", "positive"],
        ),
        (
            "[limits]\nmax_body_bytes = 0\n",
            &[],
            &["limits.max_body_bytes"],
        ),
        (
            "[auth]\nopen_paths = [\"health\"]\n",
            &[],
            &["auth.open_paths", "must start with '/'"],
        ),
        (
            "",
            &[("PROXY_API_KEYS_FILE", "missing-keys")],
            &["PROXY_API_KEYS_FILE", "missing-keys"],
        ),
        (
            "",
            &[("PROXY_API_KEYS", " , ")],
            &["PROXY_API_KEYS", "no key"],
        ),
        ("[auth]\napi_keys = [\"x\"]\n", &[], &["unknown field"]),
    ];
    for (toml, vars, expect) in cases {
        let dir = scratch_dir();
        std::fs::write(dir.path().join("proxy.toml"), toml).unwrap();
        let out = check(dir.path(), vars);
        assert!(!out.status.success(), "{toml} {vars:?} must fail");
        let err = String::from_utf8_lossy(&out.stderr);
        for needle in *expect {
            assert!(err.contains(needle), "'{needle}' missing in: {err}");
        }
    }
    // Valid: a fallback and a profile's own retry settings show in --check.
    let dir = scratch_dir();
    std::fs::write(
        dir.path().join("proxy.toml"),
        "[profiles.eu]\nfallback = [\"global\"]\n[profiles.eu.retry]\nmax_attempts = 5\n",
    )
    .unwrap();
    let out = check(dir.path(), &[("PROXY_PROFILES__US__FALLBACK", "[eu]")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("max_attempts=5 fallback=global"), "{text}");
    assert!(text.contains("fallback=eu,global"), "{text}");
}

#[test]
fn debug_of_the_configuration_never_shows_a_key() {
    let dir = scratch_dir();
    let path = dir.path().join("proxy.toml");
    std::fs::write(&path, "").unwrap();
    let env: HashMap<&str, &str> = [("PROXY_API_KEYS", "very-secret-client-key")].into();
    let lookup = |k: &str| env.get(k).map(|v| v.to_string());
    let config = Config::load(&Sources {
        config_path: Some(path),
        env: &lookup,
    })
    .unwrap();
    assert!(config.auth.keys.accepts(b"very-secret-client-key"));
    let shown = format!("{config:?} {config:#?}");
    assert!(!shown.contains("very-secret-client-key"));
    assert!(shown.contains("1 keys, redacted"), "{shown}");
}

#[tokio::test]
async fn openapi_offers_the_key_schemes_and_documents_guard_errors() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, "").await;
    let spec: Value = proxy.get("/openapi.json").await.json().await.unwrap();
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["x-api-key"]["type"], "apiKey");
    assert_eq!(schemes["x-api-key"]["in"], "header");
    assert_eq!(schemes["x-api-key"]["name"], "x-api-key");
    for (path, method) in [
        ("/invoke", "post"),
        ("/invoke_stream", "post"),
        ("/profiles", "get"),
    ] {
        let op = &spec["paths"][path][method];
        let security = op["security"].to_string();
        assert!(
            security.contains("bearer") && security.contains("x-api-key"),
            "{path}: {security}"
        );
        assert!(op["responses"]["401"].is_object(), "{path}: 401");
    }
    let invoke = &spec["paths"]["/invoke"]["post"]["responses"];
    for status in ["413", "503"] {
        assert!(invoke[status].is_object(), "/invoke {status}");
    }
    assert!(invoke["200"]["headers"]["x-proxy-attempts"].is_object());
    assert!(invoke["503"]["headers"]["retry-after"].is_object());
    assert!(spec["paths"]["/health"]["get"]["security"].is_null());
    let docs = proxy.get("/docs").await.text().await.unwrap();
    assert!(docs.contains("securitySchemes") || docs.contains("x-api-key"));
}

#[tokio::test]
async fn trace_logs_never_show_credentials_signatures_or_client_keys() {
    let creds = FakeCreds::new(
        "AKIDTRACETEST",
        "trace/secret+key-value",
        Some("session-token-must-stay-secret"),
    );
    let fake = FakeBedrock::start_with(creds.clone()).await;
    let dir = scratch_dir();
    let url = fake.url();
    let bin = spawn_binary(
        dir.path(),
        &[
            ("RUST_LOG", "trace"),
            ("AWS_ACCESS_KEY_ID", &creds.access_key),
            ("AWS_SECRET_ACCESS_KEY", &creds.secret_key),
            ("AWS_SESSION_TOKEN", "session-token-must-stay-secret"),
            ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &url),
            ("PROXY_API_KEYS", "client-api-key-must-stay-secret"),
            ("PROXY_RETRY__BASE_DELAY_SECS", "0.01"),
        ],
    );
    let http = reqwest::Client::new();
    // A retried call, a stream, and a refused key: every path that logs.
    fake.push(Behavior::throttling());
    let resp = http
        .post(format!("{}/invoke", bin.url))
        .header("authorization", "Bearer client-api-key-must-stay-secret")
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = http
        .post(format!("{}/invoke_stream", bin.url))
        .header("x-api-key", "client-api-key-must-stay-secret")
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let _ = resp.text().await.unwrap();
    let resp = http
        .post(format!("{}/invoke", bin.url))
        .header("authorization", "Bearer wrong-key-must-stay-secret")
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let mut secrets: Vec<String> = vec![
        creds.secret_key.clone(),
        "session-token-must-stay-secret".into(),
        "client-api-key-must-stay-secret".into(),
        "wrong-key-must-stay-secret".into(),
    ];
    for r in fake.requests() {
        let auth = r.header("authorization").unwrap();
        secrets.push(auth.to_string());
        secrets.push(auth.rsplit("Signature=").next().unwrap().to_string());
    }
    assert_eq!(fake.request_count(), 3);
    std::thread::sleep(Duration::from_millis(300));
    let log = bin.log.lock().unwrap().join("\n");
    assert!(log.contains("retrying"), "the retry is logged: {log}");
    assert!(log.contains("request done"));
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a secret reached the log");
    }
    assert!(!log.to_lowercase().contains("bearer "));
}

#[tokio::test]
async fn shutdown_grace_is_configurable_and_then_streams_are_cut() {
    let fake = FakeBedrock::start().await;
    let creds = fake.creds();
    let dir = scratch_dir();
    let url = fake.url();
    let mut bin = spawn_binary(
        dir.path(),
        &[
            ("AWS_ACCESS_KEY_ID", &creds.access_key),
            ("AWS_SECRET_ACCESS_KEY", &creds.secret_key),
            ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &url),
            ("PROXY_SERVER__SHUTDOWN_GRACE_SECS", "0.5"),
        ],
    );
    let gate = std::sync::Arc::new(tokio::sync::Notify::new());
    fake.push(Behavior::stream(StreamScript {
        gate_after: Some((2, gate.clone())),
        ..Default::default()
    }));
    let resp = reqwest::Client::new()
        .post(format!("{}/invoke_stream", bin.url))
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    assert!(body.next().await.is_some());
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &bin.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let mut status = None;
    while started.elapsed() < Duration::from_secs(10) {
        if let Some(s) = bin.child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = status.expect("the proxy exits once the grace period is over");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
    gate.notify_one();
}
