//! CORS for browser-based clients: off by default; with `server.cors_allowed_origins`, listed
//! origins get their preflight answered (before the client-key guard) and their answers
//! marked readable; other origins get nothing a browser would accept.

use crate::support;

use reqwest::Method;
use serde_json::json;
use support::fake::FakeBedrock;

const APP: &str = "http://app.example:8080";

async fn preflight(url: &str, path: &str, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(Method::OPTIONS, format!("{url}{path}"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap()
}

async fn post_from(url: &str, origin: &str, key: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .header("origin", origin)
        .json(&json!({"model": "us", "messages": [{"role": "user", "content": "Hi"}]}));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn cors_is_off_by_default() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, "").await;
    let resp = preflight(&proxy.url, "/v1/chat/completions", APP).await;
    assert_ne!(resp.status(), 204);
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    let resp = post_from(&proxy.url, APP, None).await;
    assert_eq!(resp.status(), 200, "the request itself is served");
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn listed_origins_get_preflights_and_readable_answers_others_do_not() {
    let fake = FakeBedrock::start().await;
    let toml = format!("[server]\ncors_allowed_origins = [\"{APP}\"]\n");
    let proxy = support::start_proxy_with(&fake, &toml, &[("PROXY_API_KEYS", "k1")]).await;

    // The preflight carries no key and is answered before the guard.
    let resp = preflight(&proxy.url, "/v1/chat/completions", APP).await;
    assert_eq!(resp.status(), 204);
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], APP);
    assert_eq!(
        h["access-control-allow-headers"],
        "authorization, content-type"
    );
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert!(h.get("access-control-allow-credentials").is_none());
    assert_eq!(fake.request_count(), 0);

    // The real request still needs the key; its refusal is readable by the page.
    let resp = post_from(&proxy.url, APP, None).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["access-control-allow-origin"], APP);
    let resp = post_from(&proxy.url, APP, Some("k1")).await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], APP);
    assert!(h["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("x-request-id"));
    assert!(h["vary"].to_str().unwrap().contains("Origin"));

    // Another origin: no preflight answer, no CORS headers (the browser blocks the page).
    let other = "https://evil.example";
    let resp = preflight(&proxy.url, "/v1/chat/completions", other).await;
    assert_ne!(resp.status(), 204);
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    let resp = post_from(&proxy.url, other, Some("k1")).await;
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}
