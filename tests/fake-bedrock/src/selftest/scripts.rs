//! Scripted Converse answers over HTTP: tool uses, reasoning, stop reasons, prompt-cache
//! usage, stream faults.

use serde_json::{json, Value};

use super::{frames, runtime_path, signed_stream};
use crate::{
    eventstream, Behavior, ConverseScript, ConverseUsage, FakeBedrock, StopReason, StreamScript,
};

const MODEL: &str = "us.anthropic.claude-sonnet-4-20250514-v1:0";

fn tools() -> Value {
    json!({"tools": [
        {"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}},
        {"toolSpec": {"name": "get_time", "inputSchema": {"json": {"type": "object"}}}}
    ]})
}

async fn post(fake: &FakeBedrock, op: &str, body: &Value) -> (u16, Vec<u8>) {
    let (status, _, bytes) = fake
        .send_signed(
            "POST",
            &runtime_path(MODEL, op),
            "us-east-1",
            &[("content-type", "application/json")],
            body.to_string().as_bytes(),
        )
        .await;
    (status, bytes)
}

fn ask(text: &str) -> Value {
    json!({"messages": [{"role": "user", "content": [{"text": text}]}], "toolConfig": tools()})
}

fn two_tools() -> ConverseScript {
    ConverseScript::text("Let me check both.")
        .then_tool_use(
            "tooluse_a",
            "get_weather",
            json!({"city": "Paris", "unit": "celsius"}),
        )
        .then_tool_use("tooluse_b", "get_time", json!({"tz": "Europe/Paris"}))
}

#[tokio::test]
async fn converse_stream_of_two_tool_calls_frames_like_bedrock() {
    let fake = FakeBedrock::start().await;
    fake.push(Behavior::converse(two_tools()));
    let (status, body) = post(&fake, "converse-stream", &ask("Weather and time in Paris")).await;
    assert_eq!(status, 200);
    let got = frames(&body);
    let types: Vec<&str> = got.iter().map(|f| f.1.as_str()).collect();
    let mut expected = vec!["messageStart"];
    expected.extend(["contentBlockDelta"; 4]); // "Let ", "me ", "check ", "both."
    expected.push("contentBlockStop");
    for _ in 0..2 {
        expected.push("contentBlockStart");
        expected.extend(["contentBlockDelta"; 3]);
        expected.push("contentBlockStop");
    }
    expected.extend(["messageStop", "metadata"]);
    assert_eq!(types, expected);
    assert!(got
        .iter()
        .all(|f| f.0 == "event" && f.2 == "application/json"));
    let events: Vec<Value> = eventstream::decode_frames(&body)
        .unwrap()
        .iter()
        .filter_map(eventstream::converse_event)
        .collect();
    assert_eq!(events[1]["contentBlockDelta"]["delta"]["text"], "Let ");
    assert_eq!(events[6]["contentBlockStart"]["contentBlockIndex"], 1);
    assert_eq!(
        events[6]["contentBlockStart"]["start"],
        json!({"toolUse": {"toolUseId": "tooluse_a", "name": "get_weather"}})
    );
    let input = |index: u64| -> String {
        events
            .iter()
            .filter(|e| e["contentBlockDelta"]["contentBlockIndex"] == index)
            .filter_map(|e| e["contentBlockDelta"]["delta"]["toolUse"]["input"].as_str())
            .collect()
    };
    let first: Value = serde_json::from_str(&input(1)).unwrap();
    assert_eq!(first, json!({"city": "Paris", "unit": "celsius"}));
    assert_eq!(
        serde_json::from_str::<Value>(&input(2)).unwrap(),
        json!({"tz": "Europe/Paris"})
    );
    assert_eq!(events[11]["contentBlockStart"]["contentBlockIndex"], 2);
    assert_eq!(events[15]["contentBlockStop"]["contentBlockIndex"], 2);
    assert_eq!(events[16]["messageStop"]["stopReason"], "tool_use");
    let usage = &events[17]["metadata"]["usage"];
    assert_eq!(usage["inputTokens"], 5);
    assert_eq!(
        usage["totalTokens"],
        usage["inputTokens"].as_u64().unwrap() + usage["outputTokens"].as_u64().unwrap()
    );
    assert!(usage.get("cacheReadInputTokens").is_none());
    assert_eq!(
        events,
        two_tools().stream_events(
            "",
            ConverseUsage {
                input_tokens: 5,
                output_tokens: two_tools().output_tokens(""),
                ..Default::default()
            }
        )
    );
}

#[tokio::test]
async fn converse_answer_of_two_tool_calls() {
    let fake = FakeBedrock::start().await;
    // The same script, not streamed.
    fake.push(Behavior::converse(two_tools()));
    let (status, body) = post(&fake, "converse", &ask("Weather and time in Paris")).await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["stopReason"], "tool_use");
    assert_eq!(
        v["output"]["message"]["content"],
        json!([
            {"text": "Let me check both."},
            {"toolUse": {"toolUseId": "tooluse_a", "name": "get_weather", "input": {"city": "Paris", "unit": "celsius"}}},
            {"toolUse": {"toolUseId": "tooluse_b", "name": "get_time", "input": {"tz": "Europe/Paris"}}}
        ])
    );
}

#[tokio::test]
async fn reasoning_stop_reasons_and_usage_overrides() {
    let fake = FakeBedrock::start().await;
    let script = ConverseScript::reasoning("First think hard.", "c2lnbmF0dXJl")
        .then_text("Answer.")
        .stop(StopReason::MaxTokens);
    fake.push(Behavior::converse(script.clone()));
    let (_, body) = post(&fake, "converse", &ask("Why?")).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["stopReason"], "max_tokens");
    assert_eq!(
        v["output"]["message"]["content"][0],
        json!({"reasoningContent": {"reasoningText": {"text": "First think hard.", "signature": "c2lnbmF0dXJl"}}})
    );
    fake.push(Behavior::converse(script));
    let (_, body) = post(&fake, "converse-stream", &ask("Why?")).await;
    let events: Vec<Value> = eventstream::decode_frames(&body)
        .unwrap()
        .iter()
        .filter_map(eventstream::converse_event)
        .collect();
    let deltas: Vec<&Value> = events
        .iter()
        .filter_map(|e| e.get("contentBlockDelta"))
        .collect();
    assert_eq!(
        deltas[0]["delta"],
        json!({"reasoningContent": {"text": "First "}})
    );
    assert_eq!(
        deltas[3]["delta"],
        json!({"reasoningContent": {"signature": "c2lnbmF0dXJl"}})
    );
    assert_eq!(
        deltas[4],
        &json!({"contentBlockIndex": 1, "delta": {"text": "Answer."}})
    );
    assert!(
        events.iter().all(|e| e.get("contentBlockStart").is_none()),
        "no start for text or reasoning"
    );
    for (reason, wire) in [
        (StopReason::EndTurn, "end_turn"),
        (StopReason::StopSequence, "stop_sequence"),
        (StopReason::GuardrailIntervened, "guardrail_intervened"),
        (StopReason::ContentFiltered, "content_filtered"),
    ] {
        let usage = ConverseUsage {
            input_tokens: 7,
            output_tokens: 2,
            cache_read_input_tokens: 3,
            cache_write_input_tokens: 0,
        };
        fake.push(Behavior::converse(
            ConverseScript::text("x").stop(reason).with_usage(usage),
        ));
        let (_, body) = post(&fake, "converse", &ask("stop")).await;
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["stopReason"], wire);
        assert_eq!(
            v["usage"],
            json!({"inputTokens": 7, "outputTokens": 2, "totalTokens": 12, "cacheReadInputTokens": 3, "cacheWriteInputTokens": 0})
        );
    }
}

#[tokio::test]
async fn misqueued_and_invalid_requests_use_up_the_script() {
    let fake = FakeBedrock::start().await;
    // Queued for the wrong operation: a loud 500. Invalid bodies still get their 400.
    fake.push(Behavior::converse(ConverseScript::text("x")));
    let (status, body) = post(&fake, "invoke", &ask("x")).await;
    assert_eq!(status, 500, "{}", String::from_utf8_lossy(&body));
    fake.push(Behavior::converse(ConverseScript::text("x")));
    let (status, _) = post(&fake, "converse", &json!({"messages": []})).await;
    assert_eq!(status, 400);
    assert_eq!(fake.queued(), (0, 0));
}

#[tokio::test]
async fn cache_points_write_then_read_deterministically() {
    let fake = FakeBedrock::start().await;
    let body = |question: &str| {
        json!({
            "system": [{"text": "You are a very careful assistant"}, {"cachePoint": {"type": "default"}}],
            "messages": [{"role": "user", "content": [{"text": question}]}]
        })
    };
    let usage = |v: &Value| v["usage"].clone();
    let (_, first) = post(&fake, "converse", &body("Hi there")).await;
    let first: Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(
        usage(&first),
        json!({"inputTokens": 2, "outputTokens": 3, "totalTokens": 11, "cacheReadInputTokens": 0, "cacheWriteInputTokens": 6})
    );
    assert_eq!(
        first["output"]["message"]["content"][0]["text"],
        "echo: Hi there"
    );
    let (_, second) = post(&fake, "converse-stream", &body("Another question now")).await;
    let events: Vec<Value> = eventstream::decode_frames(&second)
        .unwrap()
        .iter()
        .filter_map(eventstream::converse_event)
        .collect();
    let meta = &events.last().unwrap()["metadata"]["usage"];
    assert_eq!(
        meta,
        &json!({"inputTokens": 3, "outputTokens": 4, "totalTokens": 13, "cacheReadInputTokens": 6, "cacheWriteInputTokens": 0})
    );
    // Another model, or a cleared cache, writes again.
    fake.clear_prompt_cache();
    let (_, third) = post(&fake, "converse", &body("Hi there")).await;
    let third: Value = serde_json::from_slice(&third).unwrap();
    assert_eq!(third["usage"]["cacheWriteInputTokens"], 6);
}

#[tokio::test]
async fn scripted_streams_fail_mid_way_or_get_cut() {
    let fake = FakeBedrock::start().await;
    let faults = StreamScript {
        exception_after: Some((
            3,
            "modelStreamErrorException".into(),
            "The model stopped.".into(),
        )),
        ..Default::default()
    };
    fake.push(Behavior::converse(two_tools().with_faults(faults)));
    let (status, body) = post(&fake, "converse-stream", &ask("x")).await;
    assert_eq!(status, 200);
    let got = frames(&body);
    assert_eq!(got.len(), 4);
    assert_eq!(got[3].0, "exception");
    assert_eq!(got[3].1, "modelStreamErrorException");
    assert_eq!(got[3].3["message"], "The model stopped.");
    let faults = StreamScript {
        cut_after: Some(2),
        ..Default::default()
    };
    fake.push(Behavior::converse(two_tools().with_faults(faults)));
    let (status, bytes, end) =
        signed_stream(&fake, &runtime_path(MODEL, "converse-stream"), &ask("x")).await;
    assert_eq!(status, 200);
    assert!(end.is_err(), "the body ends without its terminating chunk");
    let got = frames(&bytes);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].3["delta"]["text"], "Let ");
}
