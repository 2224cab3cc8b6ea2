//! The OpenAI-compatible front end (`/v1/chat/completions`, `/v1/embeddings`, and the shared
//! `/v1/models`) driven by the real `openai` Python SDK (tests/py/openai_client.py, one
//! scenario per run, one JSON line out) and, where the wire itself matters, by reqwest. Each
//! test also checks what the fake Bedrock received: the operation, the model id and the
//! Converse (or InvokeModel) body the proxy built.

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::fake::{
    embedding, even_pieces, Behavior, ConverseScript, FakeBedrock, Recorded, StreamScript,
    TINY_PNG_BASE64, TOOL_INPUT_PIECES,
};
use support::py;

const SONNET_US: &str = "us.anthropic.claude-sonnet-4-20250514-v1:0";
const NOVA_US: &str = "us.amazon.nova-lite-v1:0";
const NOVA: &str = "amazon.nova-lite-v1:0";
const LLAMA: &str = "meta.llama3-8b-instruct-v1:0";
const TITAN: &str = "amazon.titan-embed-text-v2:0";
const COHERE: &str = "cohere.embed-english-v3";
/// One attempt per call, so a scripted error reaches the client as it is.
const NO_RETRIES: &str = "[retry]\nmax_attempts = 1\n";

async fn openai(url: &str, scenario: &str, opts: &[&str]) -> Value {
    py("openai_client.py", url, scenario, opts).await
}

async fn anthropic(url: &str, scenario: &str, opts: &[&str]) -> Value {
    py("anthropic_client.py", url, scenario, opts).await
}

fn assert_ok(out: &Value) {
    assert_eq!(out["ok"], true, "the client raised: {out}");
}

/// The last request the fake received, which must be `operation` on `model`; its JSON body.
fn last_call(fake: &FakeBedrock, operation: &str, model: &str) -> (Recorded, Value) {
    let rec = fake.last().expect("Bedrock was called");
    assert_eq!(rec.operation, operation);
    assert_eq!(rec.model_id.as_deref(), Some(model));
    let body = rec.json.clone().expect("a JSON body");
    (rec, body)
}

/// `arguments` (a JSON string) parsed.
fn args(call: &Value) -> Value {
    serde_json::from_str(call["arguments"].as_str().expect("arguments is a string"))
        .expect("arguments is JSON")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("a vector")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

// ---------------------------------------------------------------------------
// Chat completions
// ---------------------------------------------------------------------------

#[tokio::test]
async fn chat_create_answers_from_converse() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, NO_RETRIES).await;
    let out = openai(
        &proxy.url,
        "create",
        &["text=Hello there", "system=be brief", "max_tokens=50"],
    )
    .await;
    assert_ok(&out);
    assert_eq!(out["text"], "echo: Hello there");
    assert_eq!(out["role"], "assistant");
    assert_eq!(out["finish_reason"], "stop");
    assert_eq!(out["object"], "chat.completion");
    assert_eq!(
        out["model"], "us",
        "the model is echoed as the client named it"
    );
    assert!(
        out["id"].as_str().unwrap().starts_with("chatcmpl-"),
        "{out}"
    );
    // Words, like every count of the fake: "be brief" + "Hello there" in, "echo: Hello there" out.
    assert_eq!(out["usage"]["prompt_tokens"], 4, "{out}");
    assert_eq!(out["usage"]["completion_tokens"], 3);
    assert_eq!(out["usage"]["total_tokens"], 7);
    assert_eq!(out["cached_tokens"], 0);
    assert_eq!(out["reasoning_content"], Value::Null);
    assert_eq!(out["tool_calls"], json!([]));

    let (rec, body) = last_call(&fake, "converse", SONNET_US);
    assert_eq!(rec.sig.as_ref().expect("signed").region, "us-east-1");
    assert_eq!(body["system"], json!([{"text": "be brief"}]), "hoisted");
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"text": "Hello there"}]}])
    );
    assert_eq!(body["inferenceConfig"], json!({"maxTokens": 50}));
    assert!(body.get("toolConfig").is_none(), "{body}");
    assert!(body.get("additionalModelRequestFields").is_none(), "{body}");
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn chat_stream_with_include_usage_ends_with_a_usage_chunk() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, NO_RETRIES).await;
    let out = openai(
        &proxy.url,
        "stream",
        &["text=Hello there", "include_usage=true"],
    )
    .await;
    assert_ok(&out);
    assert_eq!(out["raised"], false);
    assert_eq!(out["text"], "echo: Hello there");
    assert_eq!(out["role"], "assistant");
    assert_eq!(out["finish_reason"], "stop");
    assert_eq!(out["objects"], json!(["chat.completion.chunk"]));
    assert_eq!(out["usage_chunks"], 1, "{out}");
    assert_eq!(
        out["usage_chunk_choices"], 0,
        "the usage chunk has choices []"
    );
    let usage = &out["usage"];
    assert_eq!(usage["prompt_tokens"], 2, "{out}");
    assert_eq!(usage["completion_tokens"], 3);
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
    );
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 0);
    let (_, body) = last_call(&fake, "converse-stream", SONNET_US);
    assert_eq!(
        body["messages"][0]["content"],
        json!([{"text": "Hello there"}])
    );

    // Without include_usage there is no usage chunk.
    let out = openai(&proxy.url, "stream", &["text=Hello there"]).await;
    assert_ok(&out);
    assert_eq!(out["text"], "echo: Hello there");
    assert_eq!(out["usage_chunks"], 0, "{out}");
    assert_eq!(out["usage"], Value::Null);
}

/// Text, then two tool uses: Converse numbers the blocks 0, 1, 2; OpenAI's tool-call index
/// counts tool calls only (0, 1).
fn text_then_two_tools() -> (ConverseScript, Value, Value) {
    let weather = json!({"city": "Paris"});
    let time = json!({"tz": "Europe/Paris"});
    let script = ConverseScript::text("Let me check.")
        .then_tool_use("tooluse_weather", "get_weather", weather.clone())
        .then_tool_use("tooluse_time", "get_time", time.clone());
    (script, weather, time)
}

#[tokio::test]
async fn chat_stream_two_tool_calls_reassemble_by_index() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, NO_RETRIES).await;
    let (script, weather, time) = text_then_two_tools();
    fake.push(Behavior::converse(script));
    let out = openai(
        &proxy.url,
        "tools",
        &[
            "stream=true",
            "include_usage=true",
            "text=Weather and time in Paris?",
        ],
    )
    .await;
    assert_ok(&out);
    assert_eq!(out["text"], "Let me check.");
    assert_eq!(out["finish_reason"], "tool_calls");
    let calls = out["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "{out}");
    assert_eq!(calls[0]["index"], 0);
    assert_eq!(calls[0]["id"], "tooluse_weather");
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(calls[0]["name"], "get_weather");
    assert_eq!(args(&calls[0]), weather);
    assert_eq!(calls[1]["index"], 1);
    assert_eq!(calls[1]["id"], "tooluse_time");
    assert_eq!(calls[1]["name"], "get_time");
    assert_eq!(args(&calls[1]), time);
    // One delta for the start (id, name), then one per input piece, tool 0 before tool 1.
    let deltas = |input: &Value| 1 + even_pieces(&input.to_string(), TOOL_INPUT_PIECES).len();
    let mut expected = vec![0; deltas(&weather)];
    expected.extend(vec![1; deltas(&time)]);
    assert_eq!(out["index_sequence"], json!(expected), "{out}");
    assert_eq!(out["usage_chunks"], 1);

    let (_, body) = last_call(&fake, "converse-stream", SONNET_US);
    let names: Vec<&str> = body["toolConfig"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["toolSpec"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["get_weather", "get_time"]);
    assert_eq!(
        body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]["required"],
        json!(["city"])
    );
    assert!(body["toolConfig"].get("toolChoice").is_none(), "{body}");

    // The same answer without streaming: tool_calls on the message, content kept.
    let (script, weather, time) = text_then_two_tools();
    fake.push(Behavior::converse(script));
    let out = openai(&proxy.url, "tools", &["text=Weather and time in Paris?"]).await;
    assert_ok(&out);
    assert_eq!(out["finish_reason"], "tool_calls");
    assert_eq!(out["text"], "Let me check.");
    let calls = out["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "{out}");
    assert_eq!(
        (calls[0]["id"].as_str(), calls[0]["name"].as_str()),
        (Some("tooluse_weather"), Some("get_weather"))
    );
    assert_eq!(args(&calls[0]), weather);
    assert_eq!(
        (calls[1]["id"].as_str(), calls[1]["name"].as_str()),
        (Some("tooluse_time"), Some("get_time"))
    );
    assert_eq!(args(&calls[1]), time);
    last_call(&fake, "converse", SONNET_US);
}

#[tokio::test]
async fn chat_tool_results_go_back_as_one_user_turn() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, NO_RETRIES).await;
    fake.push(Behavior::converse(ConverseScript::text(
        "It is 18C and sunny, and 14:05.",
    )));
    let out = openai(
        &proxy.url,
        "tool_roundtrip",
        &["text=Weather and time in Paris?", "system=use the tools"],
    )
    .await;
    assert_ok(&out);
    assert_eq!(out["text"], "It is 18C and sunny, and 14:05.");
    assert_eq!(out["finish_reason"], "stop");
    assert_eq!(out["tool_calls"], json!([]));

    let (_, body) = last_call(&fake, "converse", SONNET_US);
    assert_eq!(body["system"], json!([{"text": "use the tools"}]));
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "user, assistant, user: {body}");
    assert_eq!(
        messages[0],
        json!({"role": "user", "content": [{"text": "Weather and time in Paris?"}]})
    );
    assert_eq!(
        messages[1],
        json!({"role": "assistant", "content": [
            {"toolUse": {"toolUseId": "call_weather", "name": "get_weather",
                         "input": {"city": "Paris"}}},
            {"toolUse": {"toolUseId": "call_time", "name": "get_time",
                         "input": {"tz": "Europe/Paris"}}}
        ]})
    );
    assert_eq!(
        messages[2],
        json!({"role": "user", "content": [
            {"toolResult": {"toolUseId": "call_weather", "content": [{"text": "18C and sunny"}]}},
            {"toolResult": {"toolUseId": "call_time", "content": [{"text": "14:05"}]}}
        ]}),
        "both tool results merged into one user turn"
    );
    assert_eq!(body["toolConfig"]["tools"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn chat_data_url_image_becomes_an_image_block() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, NO_RETRIES).await;
    let out = openai(&proxy.url, "image", &["text=What is this?"]).await;
    assert_ok(&out);
    assert_eq!(out["text"], "echo: What is this?");
    let (_, body) = last_call(&fake, "converse", SONNET_US);
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            {"text": "What is this?"},
            {"image": {"format": "png", "source": {"bytes": TINY_PNG_BASE64}}}
        ])
    );
}

#[tokio::test]
async fn chat_reasoning_effort_sends_a_thinking_budget_and_returns_reasoning() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, NO_RETRIES).await;
    fake.push(Behavior::converse(
        ConverseScript::reasoning("Think first.", "c2ln").then_text("Answer."),
    ));
    let out = openai(&proxy.url, "reasoning", &["effort=low", "max_tokens=50"]).await;
    assert_ok(&out);
    assert_eq!(out["reasoning_content"], "Think first.");
    assert_eq!(out["text"], "Answer.");
    assert_eq!(out["finish_reason"], "stop");
    let (_, body) = last_call(&fake, "converse", SONNET_US);
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({"thinking": {"type": "enabled", "budget_tokens": 1024}})
    );
    // max_tokens 50 is below the budget: raised to budget + the default 4096.
    assert_eq!(body["inferenceConfig"], json!({"maxTokens": 1024 + 4096}));

    // Streamed, medium effort: reasoning deltas arrive as reasoning_content.
    fake.push(Behavior::converse(
        ConverseScript::reasoning("Think first.", "c2ln").then_text("Answer."),
    ));
    let out = openai(
        &proxy.url,
        "reasoning",
        &["effort=medium", "stream=true", "max_tokens=10000"],
    )
    .await;
    assert_ok(&out);
    assert_eq!(out["reasoning_content"], "Think first.");
    assert_eq!(out["text"], "Answer.");
    let (_, body) = last_call(&fake, "converse-stream", SONNET_US);
    assert_eq!(
        body["additionalModelRequestFields"]["thinking"]["budget_tokens"],
        4096
    );
    assert_eq!(body["inferenceConfig"]["maxTokens"], 10000);
}

#[tokio::test]
async fn chat_reaches_nova_and_llama_through_converse() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, NO_RETRIES).await;
    let model = format!("model={NOVA_US}");
    let out = openai(&proxy.url, "create", &[&model, "text=Hello there"]).await;
    assert_ok(&out);
    assert_eq!(out["text"], "echo: Hello there");
    assert_eq!(out["model"], NOVA_US);
    let (rec, body) = last_call(&fake, "converse", NOVA_US);
    assert_eq!(
        rec.sig.unwrap().region,
        "us-east-1",
        "the us. prefix's region"
    );
    assert_eq!(
        body["messages"][0]["content"],
        json!([{"text": "Hello there"}])
    );

    let out = openai(&proxy.url, "stream", &[&model, "text=Hello there"]).await;
    assert_ok(&out);
    assert_eq!(out["text"], "echo: Hello there");
    last_call(&fake, "converse-stream", NOVA_US);

    // Tools on Nova: no explicit toolChoice for `auto` (only Claude gets one).
    let (script, weather, _) = text_then_two_tools();
    fake.push(Behavior::converse(script));
    let out = openai(&proxy.url, "tools", &[&model]).await;
    assert_ok(&out);
    assert_eq!(out["tool_calls"].as_array().unwrap().len(), 2, "{out}");
    assert_eq!(args(&out["tool_calls"][0]), weather);
    let (_, body) = last_call(&fake, "converse", NOVA_US);
    assert!(body["toolConfig"].get("toolChoice").is_none(), "{body}");

    // A foundation-model id with ?profile=eu is called in eu's region.
    let model = format!("model={NOVA}");
    let out = openai(&proxy.url, "create", &[&model, "profile=eu"]).await;
    assert_ok(&out);
    let (rec, _) = last_call(&fake, "converse", NOVA);
    assert_eq!(rec.sig.unwrap().region, "eu-central-1");

    let model = format!("model={LLAMA}");
    let out = openai(&proxy.url, "create", &[&model, "text=Hello llama"]).await;
    assert_ok(&out);
    assert_eq!(out["text"], "echo: Hello llama");
    assert_eq!(out["usage"]["prompt_tokens"], 2);
    last_call(&fake, "converse", LLAMA);
    let out = openai(
        &proxy.url,
        "stream",
        &[&model, "text=Hello llama", "include_usage=true"],
    )
    .await;
    assert_ok(&out);
    assert_eq!(out["text"], "echo: Hello llama");
    assert_eq!(out["usage"]["total_tokens"], 5, "{out}");
    last_call(&fake, "converse-stream", LLAMA);
}

#[tokio::test]
async fn chat_refuses_what_the_model_cannot_do_without_calling_bedrock() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, NO_RETRIES).await;
    let model = format!("model={NOVA_US}");
    let out = openai(&proxy.url, "reasoning", &[&model, "effort=low"]).await;
    assert_eq!(out["ok"], false);
    let err = &out["error"];
    assert_eq!(err["class"], "BadRequestError", "{out}");
    assert_eq!(err["status"], 400);
    assert_eq!(err["type"], "invalid_request_error");
    assert_eq!(err["param"], "reasoning_effort");
    assert_eq!(err["code"], "unsupported_parameter");

    let out = openai(&proxy.url, "bad_n", &["n=2"]).await;
    let err = &out["error"];
    assert_eq!(err["class"], "BadRequestError", "{out}");
    assert_eq!(err["status"], 400);
    assert_eq!(err["param"], "n");
    assert_eq!(err["code"], "unsupported_parameter");
    assert!(err["message"].as_str().unwrap().contains("n=1"), "{out}");
    assert_eq!(fake.request_count(), 0, "Bedrock is not called");
}

// ---------------------------------------------------------------------------
// Embeddings
// ---------------------------------------------------------------------------

const INPUTS: [&str; 3] = ["alpha", "beta gamma", "delta"];

#[tokio::test]
async fn embeddings_titan_one_call_per_input_cohere_batched() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, NO_RETRIES).await;
    let inputs = format!("inputs={}", INPUTS.join("|"));
    let expected: Vec<Vec<f64>> = INPUTS.iter().map(|t| embedding(t, 256, true)).collect();

    let out = openai(
        &proxy.url,
        "embeddings",
        &[&inputs, "dimensions=256", "encoding_format=float"],
    )
    .await;
    assert_ok(&out);
    assert_eq!(out["object"], "list");
    assert_eq!(out["model"], TITAN);
    assert_eq!(out["indices"], json!([0, 1, 2]));
    assert_eq!(out["raw_types"], json!(["list", "list", "list"]));
    assert_eq!(out["dims"], json!([256, 256, 256]));
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(&floats(&out["embeddings"][i]), want, "input {i}");
    }
    assert_eq!(out["usage"]["prompt_tokens"], 4, "{}", out["usage"]);
    assert_eq!(fake.calls("invoke", TITAN), 3, "one InvokeModel per input");
    let mut texts: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| {
            let body = r.json.as_ref().unwrap();
            assert_eq!(body["dimensions"], 256);
            assert_eq!(body["normalize"], true);
            body["inputText"].as_str().unwrap().to_string()
        })
        .collect();
    texts.sort();
    assert_eq!(texts, INPUTS);

    // base64: little-endian f32, the same values to f32 precision: each decodes to the f32
    // nearest the float (compared as f32: serde_json may read the printed f64 one ulp off).
    for format in ["base64", "default"] {
        let encoding = format!("encoding_format={format}");
        let out = openai(
            &proxy.url,
            "embeddings",
            &[&inputs, "dimensions=256", &encoding],
        )
        .await;
        assert_ok(&out);
        let kind = if format == "base64" { "str" } else { "list" };
        assert_eq!(out["raw_types"], json!([kind, kind, kind]), "{format}");
        for (i, want) in expected.iter().enumerate() {
            let got = floats(&out["embeddings"][i]);
            assert_eq!(got.len(), 256);
            for (g, w) in got.iter().zip(want) {
                assert_eq!(*g as f32, *w as f32, "{format} input {i}");
                assert!((g - w).abs() < 1e-7, "{format} input {i}: {g} vs {w}");
            }
        }
    }
    assert_eq!(fake.calls("invoke", TITAN), 9);

    let model = format!("model={COHERE}");
    let out = openai(
        &proxy.url,
        "embeddings",
        &[&model, &inputs, "encoding_format=float"],
    )
    .await;
    assert_ok(&out);
    assert_eq!(out["dims"], json!([1024, 1024, 1024]));
    for (i, text) in INPUTS.iter().enumerate() {
        assert_eq!(floats(&out["embeddings"][i]), embedding(text, 1024, true));
    }
    assert_eq!(fake.calls("invoke", COHERE), 1, "one batched call");
    let (_, body) = last_call(&fake, "invoke", COHERE);
    assert_eq!(
        body,
        json!({"texts": INPUTS, "input_type": "search_document"})
    );
}

// ---------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------

#[tokio::test]
async fn models_list_serves_the_openai_and_the_anthropic_sdk() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, NO_RETRIES).await;
    let out = openai(&proxy.url, "models_list", &[]).await;
    assert_ok(&out);
    let ids: Vec<&str> = out["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for profile in ["us", "eu", "apac", "global"] {
        assert!(ids.contains(&profile), "{profile} in {ids:?}");
    }

    let out = anthropic(&proxy.url, "models_list", &[]).await;
    assert_ok(&out);
    assert!(out["count"].as_u64() > Some(0), "{out}");
    assert!(out["types"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t == "model"));
    assert!(out["ids"].as_array().unwrap().contains(&json!("us")));
}

/// OpenAI's `Model` has `object: "model"`, `created` and `owned_by`, and its list
/// `object: "list"`; the SDK only reads them lazily, so `models_list_serves_…` passes without.
#[tokio::test]
async fn models_list_items_have_openais_fields() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, NO_RETRIES).await;
    let out = openai(&proxy.url, "models_list", &[]).await;
    assert_ok(&out);
    assert_eq!(out["object"], "list", "{out}");
    let count = out["count"].as_u64().unwrap() as usize;
    assert!(count > 0);
    assert_eq!(out["objects"], json!(vec!["model"; count]), "{out}");
    assert!(
        out["owned_by"]
            .as_array()
            .unwrap()
            .iter()
            .all(Value::is_string),
        "{out}"
    );
    assert!(
        out["created"].as_array().unwrap().iter().all(Value::is_u64),
        "{out}"
    );
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

#[tokio::test]
async fn bedrock_errors_become_the_sdks_exceptions() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, NO_RETRIES).await;
    for op in ["create", "stream", "embeddings"] {
        fake.push(Behavior::throttling());
        let before = fake.request_count();
        // One input, so embeddings make one call too.
        let opts = [format!("op={op}"), "inputs=alpha".to_string()];
        let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
        let out = openai(&proxy.url, "rate_limited", &opts).await;
        assert_eq!(out["ok"], false, "{op}: {out}");
        let err = &out["error"];
        assert_eq!(err["class"], "RateLimitError", "{op}: {out}");
        assert_eq!(err["status"], 429);
        assert_eq!(err["type"], "rate_limit_error");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("Too many requests"),
            "{op}: {out}"
        );
        assert_eq!(fake.request_count(), before + 1, "{op}: one attempt");
    }

    // Bedrock's "model identifier is invalid" for an id the client sent: 404 model_not_found.
    let invalid = || {
        Behavior::error(
            400,
            "ValidationException",
            "The provided model identifier is invalid.",
        )
    };
    fake.push(invalid());
    let bogus = "anthropic.claude-bogus-v9:0";
    let model = format!("model={bogus}");
    let out = openai(&proxy.url, "model_not_found", &[&model]).await;
    let err = &out["error"];
    assert_eq!(err["class"], "NotFoundError", "{out}");
    assert_eq!(err["status"], 404);
    assert_eq!(err["code"], "model_not_found");
    assert_eq!(err["param"], "model");
    assert!(err["message"].as_str().unwrap().contains(bogus), "{out}");
    last_call(&fake, "converse", bogus);

    // The same on a configured profile is the profile's problem, not the client's: 400.
    fake.push(invalid());
    let out = openai(&proxy.url, "create", &[]).await;
    assert_eq!(out["error"]["class"], "BadRequestError", "{out}");
    assert_eq!(out["error"]["status"], 400);

    // A name that is neither a profile, an alias nor a Bedrock id: 404 without calling Bedrock.
    let before = fake.request_count();
    let out = openai(&proxy.url, "model_not_found", &["model=gpt-4o"]).await;
    assert_eq!(out["error"]["class"], "NotFoundError", "{out}");
    assert_eq!(out["error"]["code"], "model_not_found");
    assert_eq!(out["error"]["param"], "model");
    assert_eq!(fake.request_count(), before);
}

/// A stream that Bedrock fails after "partial answer ".
fn failing_stream() -> Behavior {
    Behavior::converse(
        ConverseScript::text("partial answer here").with_faults(StreamScript {
            exception_after: Some((3, "modelStreamErrorException".into(), "boom".into())),
            ..Default::default()
        }),
    )
}

#[tokio::test]
async fn a_mid_stream_bedrock_error_raises_in_the_sdk() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, NO_RETRIES).await;
    fake.push(failing_stream());
    let out = openai(&proxy.url, "stream", &["include_usage=true"]).await;
    assert_eq!(out["ok"], false, "the stream must not end quietly: {out}");
    assert_eq!(out["raised"], true);
    assert_eq!(out["text"], "partial answer ", "what came before the error");
    assert_eq!(out["finish_reason"], Value::Null, "{out}");
    let err = &out["error"];
    assert_eq!(err["class"], "APIError", "{out}");
    assert_eq!(err["message"], "boom");
    assert_eq!(err["code"], "ModelStreamErrorException");
    last_call(&fake, "converse-stream", SONNET_US);

    // On the wire: the text, then a final `data: {"error":…}`, and no [DONE].
    fake.push(failing_stream());
    let resp = proxy
        .post_json(
            "/v1/chat/completions",
            &json!({"model": "us", "stream": true,
                    "messages": [{"role": "user", "content": "Hi"}]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let text = resp.text().await.unwrap();
    assert!(!text.contains("[DONE]"), "{text}");
    let data: Vec<Value> = text
        .split("\n\n")
        .filter_map(|frame| frame.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let content: String = data
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content, "partial answer ");
    let last = data.last().unwrap();
    assert_eq!(last["error"]["message"], "boom", "{text}");
    assert_eq!(last["error"]["code"], "ModelStreamErrorException");
    assert!(data[..data.len() - 1]
        .iter()
        .all(|c| c.get("error").is_none()));

    // A connection Bedrock cuts part-way is an error too, not a quiet end.
    fake.push(Behavior::converse(
        ConverseScript::text("partial answer here").with_faults(StreamScript {
            cut_after: Some(3),
            ..Default::default()
        }),
    ));
    let out = openai(&proxy.url, "stream", &[]).await;
    assert_eq!(out["raised"], true, "{out}");
    assert_eq!(out["text"], "partial answer ");
    assert_eq!(out["error"]["class"], "APIError", "{out}");
    assert_eq!(out["error"]["code"], "stream_interrupted", "{out}");
}

#[tokio::test]
async fn stream_chunks_are_relayed_as_they_arrive() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy(&fake, NO_RETRIES).await;
    let gate = Arc::new(tokio::sync::Notify::new());
    // messageStart and "one " go out, then the fake waits for the gate.
    fake.push(Behavior::converse(
        ConverseScript::text("one two three").with_faults(StreamScript {
            gate_after: Some((2, gate.clone())),
            ..Default::default()
        }),
    ));
    let started = Instant::now();
    let mut resp = proxy
        .post_json(
            "/v1/chat/completions",
            &json!({"model": "us", "stream": true,
                    "messages": [{"role": "user", "content": "Hi"}]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let mut seen = String::new();
    while !seen.contains("\"content\":\"one \"") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), resp.chunk())
            .await
            .expect("the first chunks arrive while the fake is gated")
            .unwrap()
            .expect("the stream is still open");
        seen.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let first = started.elapsed();
    assert!(first < Duration::from_secs(5), "{first:?}");
    assert!(!seen.contains("two"), "{seen}");
    assert!(!seen.contains("[DONE]"), "{seen}");
    assert!(seen.contains("\"role\":\"assistant\""), "{seen}");
    // Still held: nothing more than keep-alive comments meanwhile.
    if let Ok(more) = tokio::time::timeout(Duration::from_millis(300), resp.chunk()).await {
        let more = more.unwrap().expect("open");
        assert!(
            std::str::from_utf8(&more).unwrap().starts_with(':'),
            "{more:?}"
        );
    }
    gate.notify_one();
    let mut rest = String::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(10), resp.chunk())
        .await
        .expect("the rest arrives once released")
        .unwrap()
    {
        rest.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(rest.contains("\"content\":\"two \""), "{rest}");
    assert!(rest.contains("\"content\":\"three\""), "{rest}");
    assert!(rest.trim_end().ends_with("data: [DONE]"), "{rest}");
}

// ---------------------------------------------------------------------------
// The guard: client keys, body limit, prompt caching profile option
// ---------------------------------------------------------------------------

#[tokio::test]
async fn client_api_keys_guard_the_openai_routes() {
    let fake = FakeBedrock::start().await;
    let proxy = support::start_proxy_with(&fake, NO_RETRIES, &[("PROXY_API_KEYS", "k1")]).await;
    let out = openai(&proxy.url, "create", &["api_key=k1", "text=Hello there"]).await;
    assert_ok(&out);
    assert_eq!(out["text"], "echo: Hello there");
    let out = openai(&proxy.url, "embeddings", &["api_key=k1"]).await;
    assert_ok(&out);
    let calls = fake.request_count();

    for scenario in ["create", "stream", "embeddings"] {
        let out = openai(&proxy.url, scenario, &["api_key=wrong"]).await;
        let err = &out["error"];
        assert_eq!(err["class"], "AuthenticationError", "{scenario}: {out}");
        assert_eq!(err["status"], 401);
        assert_eq!(err["type"], "authentication_error");
        assert_eq!(err["code"], "invalid_api_key");
    }
    let resp = proxy
        .post_json(
            "/v1/chat/completions",
            &json!({"model": "us", "messages": [{"role": "user", "content": "Hi"}]}),
        )
        .await;
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    let error = body["error"].as_object().expect("OpenAI's error shape");
    assert_eq!(
        error.keys().collect::<Vec<_>>(),
        ["code", "message", "param", "type"]
    );
    assert_eq!(body["error"]["type"], "authentication_error");
    assert_eq!(body["error"]["param"], Value::Null);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("API key"));
    assert_eq!(fake.request_count(), calls, "refused before Bedrock");
}

#[tokio::test]
async fn prompt_cache_profiles_report_cached_tokens() {
    let fake = FakeBedrock::start().await;
    let toml = format!("{NO_RETRIES}[profiles.us]\nprompt_cache = true\n");
    let proxy = support::start_proxy(&fake, &toml).await;
    let system = "You are a careful assistant who answers briefly.";
    let system_opt = format!("system={system}");
    let opts = [system_opt.as_str(), "text=Hello there"];

    let first = openai(&proxy.url, "create", &opts).await;
    assert_ok(&first);
    assert_eq!(
        first["cached_tokens"], 0,
        "the first request writes: {first}"
    );
    let (_, body) = last_call(&fake, "converse", SONNET_US);
    assert_eq!(
        body["system"],
        json!([{"text": system}, {"cachePoint": {"type": "default"}}])
    );
    let second = openai(&proxy.url, "create", &opts).await;
    assert_ok(&second);
    assert_eq!(
        second["cached_tokens"], 8,
        "the system prompt's 8 words are read: {second}"
    );
    assert_eq!(
        second["usage"]["prompt_tokens"], first["usage"]["prompt_tokens"],
        "cached tokens still count as prompt tokens"
    );
    assert_eq!(second["usage"]["prompt_tokens"], 10);

    let streamed = openai(
        &proxy.url,
        "stream",
        &[
            system_opt.as_str(),
            "text=Hello there",
            "include_usage=true",
        ],
    )
    .await;
    assert_ok(&streamed);
    assert_eq!(
        streamed["usage"]["prompt_tokens_details"]["cached_tokens"], 8,
        "{streamed}"
    );

    // With tools, a cachePoint also closes the tool list.
    let out = openai(&proxy.url, "tools", &opts).await;
    assert_ok(&out);
    let (_, body) = last_call(&fake, "converse", SONNET_US);
    let tools = body["toolConfig"]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 3, "{body}");
    assert_eq!(tools[2], json!({"cachePoint": {"type": "default"}}));

    // Profiles without the option get no cachePoint.
    let out = openai(&proxy.url, "create", &[system_opt.as_str(), "model=eu"]).await;
    assert_ok(&out);
    let body = fake.last().unwrap().json.unwrap();
    assert_eq!(body["system"], json!([{"text": system}]));
    assert_eq!(out["cached_tokens"], 0);
}

#[tokio::test]
async fn body_limit_holds_on_chat_completions() {
    let fake = FakeBedrock::start().await;
    let toml = format!("{NO_RETRIES}[limits]\nmax_body_bytes = 2000\n");
    let proxy = support::start_proxy(&fake, &toml).await;
    let big = "x".repeat(5000);
    let resp = proxy
        .post_json(
            "/v1/chat/completions",
            &json!({"model": "us", "messages": [{"role": "user", "content": big}]}),
        )
        .await;
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(
        body["error"].get("type").is_some(),
        "OpenAI's shape: {body}"
    );

    let text = format!("text={big}");
    let out = openai(&proxy.url, "create", &[&text]).await;
    assert_eq!(out["error"]["status"], 413, "{out}");
    assert_eq!(fake.request_count(), 0, "Bedrock is not called");

    // Below the limit all is as usual.
    let out = openai(&proxy.url, "create", &["text=Hello there"]).await;
    assert_ok(&out);
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn request_transformers_run_on_converse_bodies() {
    let fake = FakeBedrock::start().await;
    let toml = format!(
        "{NO_RETRIES}[[profiles.us.request_transformers]]\nname = \"system_prompt\"\ntext = \"Be brief.\"\n\
         [[profiles.us.request_transformers]]\nname = \"redact\"\npresets = [\"email\"]\n\
         [[profiles.us.request_transformers]]\nname = \"max_tokens_limit\"\nmax = 300\n\
         [[profiles.us.request_transformers]]\nname = \"beta_filter\"\n"
    );
    let proxy = support::start_proxy(&fake, &toml).await;
    let resp = proxy
        .post_json(
            "/v1/chat/completions",
            &json!({"model": "us", "max_tokens": 5000, "messages": [
                {"role": "system", "content": "Answer jane@example.com politely."},
                {"role": "user", "content": "Write to bob@example.org"}
            ]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let profile_model = fake.last().and_then(|r| r.model_id).unwrap();
    let (_, body) = last_call(&fake, "converse", &profile_model);
    assert_eq!(
        body["system"],
        json!([{"text": "Be brief."}, {"text": "Answer [EMAIL] politely."}]),
        "system_prompt prepends, redact cleans the client's system text"
    );
    assert_eq!(
        body["messages"][0]["content"][0]["text"],
        "Write to [EMAIL]"
    );
    assert_eq!(
        body["inferenceConfig"]["maxTokens"], 300,
        "max_tokens_limit caps"
    );
    assert!(
        body.get("anthropic_version").is_none(),
        "anthropic_defaults does not run"
    );

    // The same chain through the streaming call.
    let out = openai(&proxy.url, "stream", &["text=mail a@b.co", "model=us"]).await;
    assert_ok(&out);
    let (_, body) = last_call(&fake, "converse-stream", &profile_model);
    assert_eq!(body["messages"][0]["content"][0]["text"], "mail [EMAIL]");
    assert_eq!(body["system"][0]["text"], "Be brief.");

    // Embedding inputs are not edited by any transformer: refused, not sent unredacted.
    let calls = fake.request_count();
    let resp = proxy
        .post_json(
            "/v1/embeddings?profile=us",
            &json!({"model": TITAN, "input": "a@b.co"}),
        )
        .await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("redact"),
        "{body}"
    );
    assert_eq!(fake.request_count(), calls, "refused before Bedrock");
}
