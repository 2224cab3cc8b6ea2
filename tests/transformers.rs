//! Transformers: chains from `proxy.toml` (per profile and default), the built-ins as Bedrock
//! sees their output, transformers registered or added by an embedding program, startup
//! errors for bad chains (through the binary), `legacy_completion`, `/profiles`, and serving on
//! a caller's listener.

use crate::support;

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use bedrock_proxy::config::{Config, Sources};
use bedrock_proxy::transform::{
    EventAction, OptionsError, RequestContext, RequestTransformer, ResponseTransformer,
    TransformError,
};
use bedrock_proxy::{ProxyBuilder, StartError};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use support::{
    command, hi, parse_sse, scratch_dir, sse_text, start_proxy, start_proxy_custom, Behavior,
    FakeBedrock, StreamScript,
};

/// Tags requests with a cost centre from a client header; refuses a forbidden word.
struct CostCentre;

impl RequestTransformer for CostCentre {
    fn name(&self) -> &str {
        "cost_centre"
    }
    fn transform(
        &self,
        ctx: &RequestContext<'_>,
        body: &mut Map<String, Value>,
    ) -> Result<(), TransformError> {
        if body.to_string_lossy().contains("forbidden") {
            return Err(TransformError("the word 'forbidden' is not allowed".into()));
        }
        let centre = ctx
            .headers
            .get("x-cost-centre")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none");
        body.insert(
            "metadata".into(),
            json!({ "user_id": format!("{}:{centre}", ctx.profile) }),
        );
        Ok(())
    }
}

trait Lossy {
    fn to_string_lossy(&self) -> String;
}
impl Lossy for Map<String, Value> {
    fn to_string_lossy(&self) -> String {
        Value::Object(self.clone()).to_string()
    }
}

/// Upper-cases answer text and drops `content_block_stop` events.
struct Shout;

impl ResponseTransformer for Shout {
    fn name(&self) -> &str {
        "shout"
    }
    fn transform_response(
        &self,
        _ctx: &RequestContext<'_>,
        body: &mut Value,
    ) -> Result<(), TransformError> {
        if let Some(t) = body.pointer_mut("/content/0/text") {
            *t = Value::String(t.as_str().unwrap_or_default().to_uppercase());
        }
        Ok(())
    }
    fn transform_event(
        &self,
        _ctx: &RequestContext<'_>,
        event: &mut Value,
    ) -> Result<EventAction, TransformError> {
        if event["type"] == "content_block_stop" {
            return Ok(EventAction::Drop);
        }
        if let Some(t) = event.pointer_mut("/delta/text") {
            *t = Value::String(t.as_str().unwrap_or_default().to_uppercase());
        }
        Ok(EventAction::Keep)
    }
}

/// Fails on every answer.
struct Broken;

impl ResponseTransformer for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn transform_response(
        &self,
        _ctx: &RequestContext<'_>,
        _body: &mut Value,
    ) -> Result<(), TransformError> {
        Err(TransformError("cannot read this answer".into()))
    }
    fn transform_event(
        &self,
        _ctx: &RequestContext<'_>,
        event: &mut Value,
    ) -> Result<EventAction, TransformError> {
        if event["type"] == "content_block_delta" {
            return Err(TransformError("cannot read this event".into()));
        }
        Ok(EventAction::Keep)
    }
}

#[tokio::test]
async fn request_and_response_transformers_apply_per_profile() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy_custom(&fake, "", &[], |b| {
        b.request_transformer(None, Arc::new(CostCentre))
            .response_transformer(Some("eu"), Arc::new(Shout))
            .response_transformer(Some("us"), Arc::new(Broken))
    })
    .await;

    let resp = proxy
        .http
        .post(format!("{}/invoke?profile=eu", proxy.url))
        .header("x-cost-centre", "R&D-42")
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["content"][0]["text"], "ECHO: HI");
    assert_eq!(
        fake.last().unwrap().json.unwrap()["metadata"]["user_id"],
        "eu:R&D-42"
    );

    // Other profiles keep Bedrock's answer as it came.
    let body: Value = proxy
        .post_json("/invoke?profile=apac", &hi())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["content"][0]["text"], "echo: Hi");

    // Streams: every event goes through the chain, and dropped events disappear.
    fake.push(Behavior::stream(StreamScript {
        chunks: Some(vec!["ab".into(), "cd".into()]),
        ..Default::default()
    }));
    let text = proxy
        .post_json("/invoke_stream?profile=eu", &hi())
        .await
        .text()
        .await
        .unwrap();
    let (events, _) = parse_sse(&text);
    assert_eq!(sse_text(&events), "ABCD");
    assert!(!events.iter().any(|(n, _)| n == "content_block_stop"));
    assert_eq!(events.last().unwrap().0, "message_stop");
}

#[tokio::test]
async fn transformer_failures_name_the_transformer() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy_custom(&fake, "", &[], |b| {
        b.request_transformer(None, Arc::new(CostCentre))
            .response_transformer(Some("us"), Arc::new(Broken))
    })
    .await;
    let refused = proxy
        .post_json(
            "/invoke",
            &json!({"messages":[{"role":"user","content":"forbidden"}]}),
        )
        .await;
    assert_eq!(refused.status(), 400);
    let err: Value = refused.json().await.unwrap();
    assert_eq!(err["error"]["type"], "TransformerError");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("cost_centre"));
    assert_eq!(fake.request_count(), 0);

    let failed = proxy.post_json("/invoke?profile=us", &hi()).await;
    assert_eq!(failed.status(), 502);
    let err: Value = failed.json().await.unwrap();
    assert!(err["error"]["message"].as_str().unwrap().contains("broken"));

    let text = proxy
        .post_json("/invoke_stream?profile=us", &hi())
        .await
        .text()
        .await
        .unwrap();
    let (events, _) = parse_sse(&text);
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error");
    let v: Value = serde_json::from_str(data).unwrap();
    assert_eq!(v["error"]["type"], "TransformerError");
    assert!(v["error"]["message"].as_str().unwrap().contains("broken"));
}

// ---------------------------------------------------------------------------------------------
// Chains from proxy.toml
// ---------------------------------------------------------------------------------------------

/// The eu scenario of the issue, a default chain, a profile that opts out, and one that shows
/// the order in which entries run.
const CHAINS: &str = r#"
[[request_transformers]]
name = "system_prompt"
text = "Default prompt."

[[profiles.eu.request_transformers]]
name = "system_prompt"
text = "You are the ACME assistant."
[[profiles.eu.request_transformers]]
name = "max_tokens_limit"
max = 4096
[[profiles.eu.request_transformers]]
name = "beta_filter"
[[profiles.eu.request_transformers]]
name = "redact"
presets = ["email", "aws_access_key"]

[profiles.us]
request_transformers = []

[profiles.ordered]
model_id = "anthropic.claude-3-haiku-20240307-v1:0"
region = "us-east-1"
[[profiles.ordered.request_transformers]]
name = "system_prompt"
text = "Call ACME."
[[profiles.ordered.request_transformers]]
name = "redact"
patterns = [{ regex = "ACME", replacement = "[CO]" }]
[[profiles.ordered.request_transformers]]
name = "system_prompt"
text = "ACME again."
position = "append"
"#;

#[tokio::test]
async fn profile_chain_from_config_changes_what_bedrock_receives() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, CHAINS).await;
    let resp = proxy
        .post_json(
            "/invoke?profile=eu",
            &json!({
                "system": "Client prompt.",
                "max_tokens": 10000,
                "anthropic_beta": ["claude-code-20250219", "context-1m-2025-08-07"],
                "messages": [{"role": "user", "content": [
                    {"type": "text", "text": "Mail bob@acme.com, key AKIAIOSFODNN7EXAMPLE"}
                ]}]
            }),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let rec = fake.last().unwrap();
    assert!(rec.sig.is_ok(), "{:?}", rec.sig);
    let sent = rec.json.unwrap();
    assert_eq!(
        sent["system"],
        "You are the ACME assistant.\n\nClient prompt."
    );
    assert_eq!(sent["max_tokens"], 4096);
    assert_eq!(sent["anthropic_beta"], json!(["context-1m-2025-08-07"]));
    assert_eq!(
        sent["messages"][0]["content"][0]["text"],
        "Mail [EMAIL], key [AWS_ACCESS_KEY]"
    );
    assert_eq!(sent["anthropic_version"], "bedrock-2023-05-31");

    // A legacy prompt is converted first, so the configured chain sees Messages.
    let resp = proxy
        .post_json(
            "/invoke?profile=eu",
            &json!({"prompt": "\n\nHuman: I am eve@acme.com\n\nAssistant:", "max_tokens_to_sample": 9000}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let sent = fake.last().unwrap().json.unwrap();
    assert_eq!(sent["system"], "You are the ACME assistant.");
    assert_eq!(sent["max_tokens"], 4096);
    assert_eq!(
        sent["messages"],
        json!([{"role": "user", "content": "I am [EMAIL]"}])
    );
    assert!(sent.get("prompt").is_none() && sent.get("max_tokens_to_sample").is_none());

    // Streams run the same chain.
    let resp = proxy
        .post_json(
            "/invoke_stream?profile=eu",
            &json!({"messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let _ = resp.text().await.unwrap();
    let sent = fake.last().unwrap().json.unwrap();
    assert_eq!(sent["system"], "You are the ACME assistant.");
    assert_eq!(
        sent["max_tokens"], 1024,
        "the usual default is below the cap"
    );
}

#[tokio::test]
async fn chain_entries_run_in_written_order() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, CHAINS).await;
    let resp = proxy.post_json("/invoke?profile=ordered", &hi()).await;
    assert_eq!(resp.status(), 200);
    let sent = fake.last().unwrap().json.unwrap();
    // The redaction ran after the first system_prompt and before the second.
    assert_eq!(sent["system"], "Call [CO].\n\nACME again.");
}

#[tokio::test]
async fn default_chain_applies_where_a_profile_has_none_and_an_empty_list_opts_out() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, CHAINS).await;
    let resp = proxy.post_json("/invoke?profile=apac", &hi()).await;
    assert_eq!(resp.status(), 200);
    let sent = fake.last().unwrap().json.unwrap();
    assert_eq!(sent["system"], "Default prompt.");
    // eu's own chain replaces the default one: no "Default prompt." there.
    proxy.post_json("/invoke?profile=eu", &hi()).await;
    let sent = fake.last().unwrap().json.unwrap();
    assert_eq!(sent["system"], "You are the ACME assistant.");
    // us wrote `request_transformers = []`.
    proxy.post_json("/invoke?profile=us", &hi()).await;
    let sent = fake.last().unwrap().json.unwrap();
    assert!(sent.get("system").is_none(), "{sent}");
    assert_eq!(sent["anthropic_version"], "bedrock-2023-05-31");
}

#[tokio::test]
async fn profiles_shows_each_chain_with_origins_and_options() {
    let fake = FakeBedrock::start().await;
    let long = "x".repeat(200);
    let toml = format!(
        "{CHAINS}\n[[profiles.global.request_transformers]]\nname = \"system_prompt\"\ntext = \"{long}\"\n[[profiles.global.response_transformers]]\nname = \"legacy_completion\"\n"
    );
    let proxy = start_proxy_custom(&fake, &toml, &[], |b| {
        b.request_transformer(Some("apac"), Arc::new(CostCentre))
    })
    .await;
    let list: Value = proxy.get("/profiles").await.json().await.unwrap();
    let profile = |name: &str| {
        list["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        profile("eu")["request_transformers"],
        json!([
            {"name": "legacy_prompt", "origin": "built-in"},
            {"name": "system_prompt", "origin": "profile", "options": {"text": "You are the ACME assistant."}},
            {"name": "max_tokens_limit", "origin": "profile", "options": {"max": 4096}},
            {"name": "beta_filter", "origin": "profile", "options": {}},
            {"name": "redact", "origin": "profile", "options": {"presets": ["email", "aws_access_key"]}},
            {"name": "anthropic_defaults", "origin": "built-in"}
        ])
    );
    assert_eq!(
        profile("apac")["request_transformers"],
        json!([
            {"name": "legacy_prompt", "origin": "built-in"},
            {"name": "system_prompt", "origin": "default", "options": {"text": "Default prompt."}},
            {"name": "anthropic_defaults", "origin": "built-in"},
            {"name": "cost_centre", "origin": "code"}
        ])
    );
    let us: Vec<Value> = profile("us")["request_transformers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(us, [json!("legacy_prompt"), json!("anthropic_defaults")]);
    let global = profile("global");
    let text = global["request_transformers"][1]["options"]["text"]
        .as_str()
        .unwrap();
    assert_eq!(text.chars().count(), 80);
    assert!(text.ends_with('…'));
    assert_eq!(
        global["response_transformers"],
        json!([{"name": "legacy_completion", "origin": "profile", "options": {}}])
    );
}

// ---------------------------------------------------------------------------------------------
// Transformers registered by an embedding program and named in proxy.toml
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TagOptions {
    centre: String,
}

/// Tags requests with a fixed cost centre (built from config options).
struct ConfiguredCentre(String);

impl RequestTransformer for ConfiguredCentre {
    fn name(&self) -> &str {
        "cost_centre"
    }
    fn transform(
        &self,
        _ctx: &RequestContext<'_>,
        body: &mut Map<String, Value>,
    ) -> Result<(), TransformError> {
        body.insert(
            "metadata".into(),
            json!({ "user_id": format!("cc:{}", self.0) }),
        );
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuffixOptions {
    suffix: String,
}

/// Appends a suffix to the answer text, and drops `content_block_stop` events.
struct Suffix(String);

impl ResponseTransformer for Suffix {
    fn name(&self) -> &str {
        "suffix"
    }
    fn transform_response(
        &self,
        _ctx: &RequestContext<'_>,
        body: &mut Value,
    ) -> Result<(), TransformError> {
        if let Some(Value::String(t)) = body.pointer_mut("/content/0/text") {
            t.push_str(&self.0);
        }
        Ok(())
    }
    fn transform_event(
        &self,
        _ctx: &RequestContext<'_>,
        event: &mut Value,
    ) -> Result<EventAction, TransformError> {
        if event["type"] == "content_block_stop" {
            return Ok(EventAction::Drop);
        }
        if let Some(Value::String(t)) = event.pointer_mut("/delta/text") {
            t.push_str(&self.0);
        }
        Ok(EventAction::Keep)
    }
}

fn register(b: ProxyBuilder) -> ProxyBuilder {
    b.register_request_transformer("cost_centre", |o: TagOptions| {
        if o.centre.is_empty() {
            return Err(OptionsError::new("`centre` must not be empty"));
        }
        Ok(ConfiguredCentre(o.centre))
    })
    .register_response_transformer("suffix", |o: SuffixOptions| Ok(Suffix(o.suffix)))
}

#[tokio::test]
async fn registered_transformers_are_used_from_config_on_answers_and_streams() {
    let fake = FakeBedrock::start().await;
    let toml = r#"
[[profiles.eu.request_transformers]]
name = "cost_centre"
centre = "R&D-42"
[[profiles.eu.response_transformers]]
name = "suffix"
suffix = "!"
"#;
    let proxy = start_proxy_custom(&fake, toml, &[], register).await;
    let body: Value = proxy
        .post_json("/invoke?profile=eu", &hi())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["content"][0]["text"], "echo: Hi!");
    assert_eq!(
        fake.last().unwrap().json.unwrap()["metadata"]["user_id"],
        "cc:R&D-42"
    );

    fake.push(Behavior::stream(StreamScript {
        chunks: Some(vec!["ab".into(), "cd".into()]),
        ..Default::default()
    }));
    let text = proxy
        .post_json("/invoke_stream?profile=eu", &hi())
        .await
        .text()
        .await
        .unwrap();
    let (events, _) = parse_sse(&text);
    assert_eq!(sse_text(&events), "ab!cd!");
    assert!(!events.iter().any(|(n, _)| n == "content_block_stop"));
    assert_eq!(events.last().unwrap().0, "message_stop");

    // Profiles without the chain are untouched.
    let body: Value = proxy
        .post_json("/invoke?profile=us", &hi())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["content"][0]["text"], "echo: Hi");
    assert!(fake.last().unwrap().json.unwrap().get("metadata").is_none());
}

/// Load `toml` as the configuration and build the proxy with the test's registrations.
async fn build_with(toml: &str) -> Result<(), StartError> {
    let dir = scratch_dir();
    let path = dir.path().join("proxy.toml");
    std::fs::write(&path, toml).unwrap();
    let config = Config::load(&Sources {
        config_path: Some(path),
        env: &|_| None,
    })
    .expect("the file itself is valid");
    register(ProxyBuilder::new(config))
        .build()
        .await
        .map(|_| ())
}

#[tokio::test]
async fn registered_factories_report_bad_options_like_the_built_ins() {
    let e =
        build_with("[[profiles.eu.request_transformers]]\nname = \"cost_centre\"\ncentre = \"\"\n")
            .await
            .unwrap_err()
            .to_string();
    assert!(
        e.starts_with("invalid configuration: profiles.eu.request_transformers[0] (from ")
            && e.ends_with("proxy.toml): transformer 'cost_centre': `centre` must not be empty"),
        "{e}"
    );
    let e = build_with("[[response_transformers]]\nname = \"suffix\"\n")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("response_transformers[0]") && e.contains("missing option `suffix`"),
        "{e}"
    );
    let e = build_with("[[request_transformers]]\nname = \"suffix\"\n")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("'suffix' is a response transformer"), "{e}");
    // Without registering it, the name is unknown, and the message lists what is known.
    let dir = scratch_dir();
    let path = dir.path().join("proxy.toml");
    std::fs::write(
        &path,
        "[[request_transformers]]\nname = \"cost_centre\"\ncentre = \"x\"\n",
    )
    .unwrap();
    let config = Config::load(&Sources {
        config_path: Some(path),
        env: &|_| None,
    })
    .unwrap();
    let e = ProxyBuilder::new(config)
        .build()
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("unknown request transformer 'cost_centre'; known request transformers: beta_filter, max_tokens_limit, redact, system_prompt"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// Startup errors, through the binary
// ---------------------------------------------------------------------------------------------

fn run_binary(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut all = vec![("PROXY_SERVER__PORT", "0")];
    all.extend_from_slice(vars);
    command(dir, &all).args(args).output().expect("run binary")
}

#[test]
fn bad_chains_stop_the_start_with_one_clear_line() {
    // (what, proxy.toml, environment, expected parts of the message)
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "unknown name",
            "[[profiles.eu.request_transformers]]\nname = \"sytem_prompt\"\ntext = \"x\"\n",
            vec![],
            vec![
                "invalid configuration: profiles.eu.request_transformers[0] (from ",
                "proxy.toml): unknown request transformer 'sytem_prompt'; known request transformers: beta_filter, max_tokens_limit, redact, system_prompt",
            ],
        ),
        (
            "option out of range, second entry",
            "[[profiles.eu.request_transformers]]\nname = \"system_prompt\"\ntext = \"x\"\n[[profiles.eu.request_transformers]]\nname = \"max_tokens_limit\"\nmax = 0\n",
            vec![],
            vec![
                "profiles.eu.request_transformers[1]",
                "transformer 'max_tokens_limit': `max` must be at least 1, got 0",
            ],
        ),
        (
            "misspelt option",
            "[[profiles.eu.request_transformers]]\nname = \"max_tokens_limit\"\nmaximum = 10\n",
            vec![],
            vec!["unknown option `maximum`, expected `max` or `default`"],
        ),
        (
            "wrong option type",
            "[[profiles.eu.request_transformers]]\nname = \"beta_filter\"\nallow = \"context-1m-2025-08-07\"\n",
            vec![],
            vec!["transformer 'beta_filter'", "invalid type"],
        ),
        (
            "bad regex",
            "[[profiles.eu.request_transformers]]\nname = \"redact\"\npatterns = [{ regex = \"(oops\" }]\n",
            vec![],
            vec!["transformer 'redact': invalid regex '(oops': unclosed group"],
        ),
        (
            "unknown preset",
            "[[profiles.eu.request_transformers]]\nname = \"redact\"\npresets = [\"phone\"]\n",
            vec![],
            vec!["unknown preset 'phone'"],
        ),
        (
            "missing name",
            "[[profiles.eu.request_transformers]]\ntext = \"x\"\n",
            vec![],
            vec!["profiles.eu.request_transformers[0]", "missing `name`"],
        ),
        (
            "entry not a table",
            "[profiles.eu]\nrequest_transformers = [\"system_prompt\"]\n",
            vec![],
            vec!["profiles.eu.request_transformers[0]", "expected a map"],
        ),
        (
            "response transformer in a request chain",
            "[[request_transformers]]\nname = \"legacy_completion\"\n",
            vec![],
            vec![
                "request_transformers[0]",
                "'legacy_completion' is a response transformer; list it under response_transformers",
            ],
        ),
        (
            "fixed built-in listed",
            "[[profiles.us.request_transformers]]\nname = \"anthropic_defaults\"\n",
            vec![],
            vec!["profiles.us.request_transformers[0]", "always runs"],
        ),
        (
            "default chain",
            "[[request_transformers]]\nname = \"redact\"\n",
            vec![],
            vec!["invalid configuration: request_transformers[0] (from ", "nothing to redact"],
        ),
        (
            "from the environment",
            "",
            vec![(
                "PROXY_PROFILES__EU__RESPONSE_TRANSFORMERS",
                "[{name = \"legacy_completion\", always = \"yes\"}]",
            )],
            vec![
                "profiles.eu.response_transformers[0] (from environment variable PROXY_PROFILES__EU__RESPONSE_TRANSFORMERS)",
                "invalid type",
            ],
        ),
    ];
    for (what, toml, vars, expect) in cases {
        let dir = scratch_dir();
        std::fs::write(dir.path().join("proxy.toml"), toml).unwrap();
        for args in [&["--check"][..], &[][..]] {
            let out = run_binary(dir.path(), args, &vars);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{what} {args:?}: must fail: {err}"
            );
            assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
            assert!(
                err.starts_with("error: invalid configuration: "),
                "{what}: {err}"
            );
            for needle in &expect {
                assert!(err.contains(needle), "{what}: '{needle}' missing in: {err}");
            }
        }
    }
}

#[test]
fn check_prints_each_profiles_chains() {
    let dir = scratch_dir();
    std::fs::write(dir.path().join("proxy.toml"), CHAINS).unwrap();
    let out = run_binary(dir.path(), &["--check"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let after = |profile: &str| {
        let mut lines = text
            .lines()
            .skip_while(|l| !l.starts_with(&format!("profile {profile}:")));
        lines.next();
        (
            lines.next().unwrap_or("").to_string(),
            lines.next().unwrap_or("").to_string(),
        )
    };
    assert_eq!(
        after("eu"),
        (
            "  request transformers: legacy_prompt, system_prompt, max_tokens_limit, beta_filter, redact, anthropic_defaults".to_string(),
            "  response transformers: none".to_string()
        )
    );
    assert_eq!(
        after("apac").0,
        "  request transformers: legacy_prompt, system_prompt, anthropic_defaults"
    );
    assert_eq!(
        after("us").0,
        "  request transformers: legacy_prompt, anthropic_defaults"
    );
}

// ---------------------------------------------------------------------------------------------
// legacy_completion
// ---------------------------------------------------------------------------------------------

const LEGACY: &str = r#"
[[response_transformers]]
name = "legacy_completion"

[[profiles.us.response_transformers]]
name = "legacy_completion"
always = true
"#;

fn legacy_prompt() -> Value {
    json!({"prompt": "\n\nHuman: Hi\n\nAssistant:", "max_tokens_to_sample": 50})
}

#[tokio::test]
async fn legacy_completion_on_invoke_when_asked() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, LEGACY).await;
    let ask = |path: &str, body: Value| {
        proxy
            .http
            .post(format!("{}{}", proxy.url, path))
            .header("x-legacy-completion", "true")
            .json(&body)
            .send()
    };
    let resp = ask("/invoke", legacy_prompt()).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "completion");
    assert_eq!(body["completion"], "echo: Hi");
    assert_eq!(body["stop_reason"], "stop_sequence");
    assert_eq!(body["stop"], "\n\nHuman:");
    assert!(body.get("content").is_none(), "{body}");

    // Not asked: the Messages answer as Bedrock sent it.
    let body: Value = proxy
        .post_json("/invoke", &legacy_prompt())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["type"], "message");
    assert_eq!(body["content"][0]["text"], "echo: Hi");
    // A Messages request is never converted, header or not.
    let body: Value = ask("/invoke", hi()).await.unwrap().json().await.unwrap();
    assert_eq!(body["type"], "message");
    // `always = true` converts without the header.
    let body: Value = proxy
        .post_json("/invoke?profile=us", &legacy_prompt())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["completion"], "echo: Hi");
    // max_tokens reached.
    fake.push(Behavior::json(
        200,
        json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
               "content": [{"type": "text", "text": "cut"}],
               "stop_reason": "max_tokens", "stop_sequence": null,
               "usage": {"input_tokens": 1, "output_tokens": 50}}),
    ));
    let body: Value = ask("/invoke", legacy_prompt())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            body["completion"].clone(),
            body["stop_reason"].clone(),
            body["stop"].clone()
        ),
        (json!("cut"), json!("max_tokens"), Value::Null)
    );
}

#[tokio::test]
async fn legacy_completion_on_invoke_stream() {
    let fake = FakeBedrock::start().await;
    let proxy = start_proxy(&fake, LEGACY).await;
    fake.push(Behavior::stream(StreamScript {
        chunks: Some(vec!["Hel".into(), "lo".into()]),
        ..Default::default()
    }));
    let text = proxy
        .http
        .post(format!("{}/invoke_stream", proxy.url))
        .header("x-legacy-completion", "1")
        .json(&legacy_prompt())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (events, _) = parse_sse(&text);
    assert!(events.iter().all(|(n, _)| n == "completion"), "{text}");
    let data: Vec<Value> = events
        .iter()
        .map(|(_, d)| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(
        data,
        [
            json!({"type": "completion", "completion": "Hel", "stop_reason": null, "stop": null}),
            json!({"type": "completion", "completion": "lo", "stop_reason": null, "stop": null}),
            json!({"type": "completion", "completion": "", "stop_reason": "stop_sequence", "stop": "\n\nHuman:"}),
        ]
    );

    // Without the header, the Messages events.
    fake.push(Behavior::stream(StreamScript {
        chunks: Some(vec!["Hel".into(), "lo".into()]),
        ..Default::default()
    }));
    let text = proxy
        .post_json("/invoke_stream", &legacy_prompt())
        .await
        .text()
        .await
        .unwrap();
    let (events, _) = parse_sse(&text);
    assert_eq!(events.first().unwrap().0, "message_start");
    assert_eq!(sse_text(&events), "Hello");
}

// ---------------------------------------------------------------------------------------------
// Serving on the caller's listener
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn serves_on_a_callers_listener_until_its_shutdown_future() {
    let dir = scratch_dir();
    let path = dir.path().join("proxy.toml");
    std::fs::write(&path, "[server]\nport = 1\n").unwrap();
    let config = Config::load(&Sources {
        config_path: Some(path),
        env: &|_| None,
    })
    .unwrap();
    let app = ProxyBuilder::new(config).build().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(
        listener,
        async {
            let _ = stopped.await;
        },
        Duration::from_secs(1),
    ));
    let health = reqwest::get(format!("http://{addr}/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve returns after shutdown")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert!(reqwest::get(format!("http://{addr}/health")).await.is_err());
}
