//! The real Claude Code CLI (`@anthropic-ai/claude-code`, pinned in
//! scripts/install-claude-code, which scripts/test runs and which exports `CLAUDE_CODE_BIN`)
//! through the proxy against the fake Bedrock, in both of its modes: the Anthropic API
//! (`ANTHROPIC_BASE_URL`) and Bedrock (`CLAUDE_CODE_USE_BEDROCK=1`,
//! `ANTHROPIC_BEDROCK_BASE_URL`). It runs offline: an empty environment plus `PATH`, a fresh
//! `HOME` and working directory, telemetry, updates and error reports off, stdin closed.

use crate::support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use support::{scratch_dir, start_proxy, Behavior, FakeBedrock, Proxy};

const ANSWER: &str = "The proxy answered: forty-two.";

/// The `claude` binary: `CLAUDE_CODE_BIN`, else where scripts/install-claude-code puts it.
fn claude_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("CLAUDE_CODE_BIN") {
        return PathBuf::from(bin);
    }
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let bin = PathBuf::from(target).join("claude-code/node_modules/.bin/claude");
    assert!(
        bin.exists(),
        "Claude Code is not installed: run scripts/install-claude-code (scripts/test does) or set CLAUDE_CODE_BIN"
    );
    bin
}

/// Run `claude -p PROMPT --output-format json [extra]` with `vars`; its parsed JSON output.
async fn claude(vars: &[(&str, String)], extra: &[&str]) -> Value {
    let home = scratch_dir();
    let mut cmd = tokio::process::Command::new(claude_bin());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("DISABLE_ERROR_REPORTING", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .current_dir(home.path())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .args(["-p", "Say the magic words.", "--output-format", "json"])
        .args(extra);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("claude finishes within 120 s")
        .expect("claude runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "claude printed no JSON ({e}); status {}\nstdout: {stdout}\nstderr: {stderr}",
            out.status
        )
    })
}

fn anthropic_mode(proxy: &Proxy) -> Vec<(&'static str, String)> {
    vec![
        ("ANTHROPIC_BASE_URL", proxy.url.clone()),
        ("ANTHROPIC_API_KEY", "dummy".into()),
    ]
}

/// The fake answers every runtime call with `ANSWER` (after validating it like Bedrock).
fn script(fake: &FakeBedrock) {
    fake.push_n(20, Behavior::text(ANSWER));
}

/// The model calls Claude Code's requests reached the fake with.
fn models_called(fake: &FakeBedrock) -> Vec<String> {
    fake.requests()
        .iter()
        .filter(|r| r.operation.starts_with("invoke"))
        .filter_map(|r| r.model_id.clone())
        .collect()
}

fn assert_answered(out: &Value, fake: &FakeBedrock) {
    assert_eq!(
        out["is_error"],
        false,
        "{out:#}\n{:#?}",
        fake.requests()
            .iter()
            .map(|r| (
                &r.operation,
                &r.model_id,
                r.json
                    .as_ref()
                    .map(|j| j.to_string().chars().take(300).collect::<String>())
            ))
            .collect::<Vec<_>>()
    );
    assert_eq!(out["result"], ANSWER, "{out:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn claude_code_anthropic_mode_with_its_default_model() {
    let fake = FakeBedrock::start().await;
    script(&fake);
    let proxy = start_proxy(&fake, "").await;
    let out = claude(&anthropic_mode(&proxy), &[]).await;
    assert_answered(&out, &fake);
    let called = models_called(&fake);
    // claude-opus-5-5 is profile-only in the fake (its bare id is refused): the proxy calls
    // the inference profile of the default profile's geography.
    assert!(
        called
            .iter()
            .all(|m| m.ends_with(".anthropic.claude-opus-5-5")),
        "{called:?}"
    );
    let sent = fake
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.operation.starts_with("invoke"))
        .and_then(|r| r.json)
        .unwrap();
    let betas = sent["anthropic_beta"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        betas.contains(&Value::from("tool-search-tool-2025-10-19")),
        "advanced-tool-use is renamed: {betas:?}"
    );
    assert!(
        !betas.contains(&Value::from("claude-code-20250219")),
        "{betas:?}"
    );
    assert!(sent.get("model").is_none() && sent.get("stream").is_none());
    // Their betas are forwarded, so the beta-gated fields Claude Code sends stay.
    for (field, beta) in [
        ("context_management", "context-management-2025-06-27"),
        ("output_config", "effort-2025-11-24"),
    ] {
        assert!(betas.contains(&Value::from(beta)), "{betas:?}");
        assert!(sent.get(field).is_some(), "{field}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn claude_code_anthropic_mode_with_dated_and_undated_names() {
    for name in ["claude-sonnet-4-5-20250929", "claude-sonnet-4-5"] {
        let fake = FakeBedrock::start().await;
        script(&fake);
        let proxy = start_proxy(&fake, "").await;
        let out = claude(&anthropic_mode(&proxy), &["--model", name]).await;
        assert_answered(&out, &fake);
        let called = models_called(&fake);
        assert!(
            called
                .iter()
                .any(|m| m.ends_with(".anthropic.claude-sonnet-4-5-20250929-v1:0")),
            "{name}: {called:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn claude_code_bedrock_mode() {
    let fake = FakeBedrock::start().await;
    script(&fake);
    let proxy = start_proxy(&fake, "").await;
    let vars = vec![
        ("CLAUDE_CODE_USE_BEDROCK", "1".to_string()),
        ("ANTHROPIC_BEDROCK_BASE_URL", proxy.url.clone()),
        ("CLAUDE_CODE_SKIP_BEDROCK_AUTH", "1".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
    ];
    let out = claude(&vars, &[]).await;
    assert_answered(&out, &fake);
    let called = models_called(&fake);
    assert!(
        called.iter().any(|m| m.starts_with("us.anthropic.claude-")),
        "{called:?}"
    );
}
