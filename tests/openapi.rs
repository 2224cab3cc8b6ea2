//! What Swagger UI's "Try it out" sends works: every POST operation of `/openapi.json`,
//! called with its documented example body and example path parameters, answers 2xx against
//! the fake Bedrock.

use crate::support;

use serde_json::Value;
use support::fake::FakeBedrock;

/// The example of a request body: the schema's own, following a `$ref`.
fn body_example<'a>(spec: &'a Value, op: &'a Value) -> &'a Value {
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    let schema = match schema["$ref"].as_str() {
        Some(r) => spec
            .pointer(&r.replacen("#", "", 1))
            .unwrap_or_else(|| panic!("dangling {r}")),
        None => schema,
    };
    &schema["example"]
}

/// `path` with each `{param}` replaced by its documented example.
fn with_path_examples(path: &str, op: &Value) -> String {
    let mut url = path.to_string();
    for p in op["parameters"].as_array().into_iter().flatten() {
        if p["in"] == "path" {
            let name = p["name"].as_str().unwrap();
            let example = p["schema"]["example"]
                .as_str()
                .unwrap_or_else(|| panic!("path parameter {name} of {path} has no example"));
            url = url.replace(&format!("{{{name}}}"), example);
        }
    }
    url
}

#[tokio::test]
async fn every_post_example_answers_2xx() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, "").await;
    let spec: Value = proxy.get("/openapi.json").await.json().await.unwrap();
    let mut tried = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let Some(op) = item.get("post") else { continue };
        let example = body_example(&spec, op);
        assert!(example.is_object(), "POST {path} has no body example");
        let url = with_path_examples(path, op);
        let resp = proxy.post_json(&url, example).await;
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(
            status.is_success(),
            "POST {url} with {example}: {status} {text}"
        );
        tried.push(path.clone());
    }
    assert!(tried.len() >= 10, "POST operations tried: {tried:?}");
    assert!(fake.request_count() >= tried.len(), "each reached Bedrock");
}
