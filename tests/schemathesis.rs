//! schemathesis (property-based API testing from the OpenAPI document) against the proxy,
//! with the fake Bedrock behind it and a client API key configured. Ignored by default: it
//! needs the `st` command from PyPI and takes a while. `scripts/schemathesis` installs it
//! into a virtualenv and runs this test.
//!
//! Fails on any 5xx and on any answer that does not match the spec: undocumented status,
//! content type or header, or a body that does not fit its schema.

use crate::support;

use std::time::Duration;

use support::{start_proxy_with, FakeBedrock};

const KEY: &str = "schemathesis-client-key";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs schemathesis (PyPI); run scripts/schemathesis"]
async fn schemathesis_finds_no_server_errors_and_no_spec_violations() {
    let st = std::env::var("SCHEMATHESIS").unwrap_or_else(|_| "st".to_string());
    let max_examples = std::env::var("SCHEMATHESIS_MAX_EXAMPLES").unwrap_or_else(|_| "150".into());
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis.toml");
    let fake = FakeBedrock::start().await;
    // Small limits so the guard's answers are exercised too; fast retries.
    let proxy = start_proxy_with(
        &fake,
        "[retry]\nbase_delay_secs = 0.001\nmax_delay_secs = 0.005\n\n[upstream]\nfirst_byte_timeout_secs = 5\n",
        &[("PROXY_API_KEYS", KEY)],
    )
    .await;
    let spec_url = format!("{}/openapi.json", proxy.url);
    let mut cmd = tokio::process::Command::new(&st);
    cmd.args([
        "--config-file",
        config,
        "run",
        &spec_url,
        "--checks",
        &std::env::var("SCHEMATHESIS_CHECKS").unwrap_or_else(|_| "all".into()),
        "--header",
        &format!("Authorization: Bearer {KEY}"),
        "--max-examples",
        &max_examples,
        // One worker: Python 3.11's ast.parse, which hypothesis calls to describe its
        // strategies, is not thread-safe ("AST constructor recursion depth mismatch").
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--suppress-health-check",
        "all",
    ])
    .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(600), cmd.output())
        .await
        .expect("schemathesis finishes within 10 minutes")
        .unwrap_or_else(|e| {
            panic!("cannot run '{st}' (set SCHEMATHESIS or use scripts/schemathesis): {e}")
        });
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "schemathesis found problems:\n{text}");
    assert!(
        fake.request_count() > 0,
        "some requests reached the fake Bedrock"
    );
}
