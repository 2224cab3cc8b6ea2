//! Embeddings through InvokeModel (Titan v2, Cohere v3), call counts and concurrency.

use std::time::Duration;

use serde_json::{json, Value};

use super::{header, runtime_path};
use crate::{embedding, foundation_models, Behavior, FakeBedrock};

const TITAN: &str = "amazon.titan-embed-text-v2:0";
const COHERE: &str = "cohere.embed-english-v3";

async fn invoke(
    fake: &FakeBedrock,
    model: &str,
    body: &Value,
) -> (u16, Vec<(String, String)>, Value) {
    let (status, headers, bytes) = fake
        .send_signed(
            "POST",
            &runtime_path(model, "invoke"),
            "us-east-1",
            &[
                ("content-type", "application/json"),
                ("accept", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
        .await;
    (status, headers, serde_json::from_slice(&bytes).unwrap())
}

fn norm(v: &Value) -> f64 {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap().powi(2))
        .sum::<f64>()
        .sqrt()
}

#[tokio::test]
async fn titan_v2_embeds_deterministically_and_validates() {
    let fake = FakeBedrock::start().await;
    let (status, headers, v) =
        invoke(&fake, TITAN, &json!({"inputText": "hello embedding world"})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["embedding"].as_array().unwrap().len(), 1024);
    assert_eq!(
        v["embedding"],
        json!(embedding("hello embedding world", 1024, true))
    );
    assert!((norm(&v["embedding"]) - 1.0).abs() < 1e-4);
    assert_eq!(v["inputTextTokenCount"], 3);
    assert!(v.get("embeddingsByType").is_none());
    assert_eq!(
        header(&headers, "x-amzn-bedrock-input-token-count"),
        Some("3")
    );
    let body = json!({"inputText": "hi", "dimensions": 256, "normalize": false, "embeddingTypes": ["float", "binary"]});
    let (_, _, v) = invoke(&fake, TITAN, &body).await;
    assert_eq!(v["embedding"], json!(embedding("hi", 256, false)));
    assert_eq!(v["embeddingsByType"]["float"], v["embedding"]);
    let binary = v["embeddingsByType"]["binary"].as_array().unwrap();
    assert_eq!(binary.len(), 256);
    assert!(binary.iter().all(|b| b == 0 || b == 1));
    let (_, _, v) = invoke(
        &fake,
        TITAN,
        &json!({"inputText": "hi", "embeddingTypes": ["binary"]}),
    )
    .await;
    assert!(v.get("embedding").is_none());
    assert_ne!(embedding("hi", 8, true), embedding("ho", 8, true));
    for (body, message) in [
        (
            json!({"inputText": "x", "dimensions": 768}),
            "#/dimensions: 768 is not a valid enum value",
        ),
        (json!({}), "#: required key [inputText] not found"),
        (
            json!({"inputText": ""}),
            "#/inputText: expected minLength: 1, actual: 0",
        ),
        (
            json!({"inputText": "x", "texts": ["x"]}),
            "#: extraneous key [texts] is not permitted",
        ),
        (
            json!({"inputText": "x", "normalize": "yes"}),
            "#/normalize: expected type: Boolean, found: String",
        ),
        (
            json!({"inputText": "x", "embeddingTypes": ["int8"]}),
            "#/embeddingTypes/0: int8 is not a valid enum value",
        ),
    ] {
        let (status, headers, v) = invoke(&fake, TITAN, &body).await;
        assert_eq!(status, 400, "{body}");
        assert!(header(&headers, "x-amzn-errortype")
            .unwrap()
            .starts_with("ValidationException:"));
        assert_eq!(
            v["message"],
            format!(
                "Malformed input request: {message}, please reformat your input and try again."
            )
        );
    }
    assert_eq!(fake.calls("invoke", TITAN), 9);
    assert_eq!(fake.calls("invoke", COHERE), 0);
}

#[tokio::test]
async fn cohere_v3_embeds_batches_in_floats_or_by_type() {
    let fake = FakeBedrock::start().await;
    let texts = ["first doc", "second doc"];
    let (status, _, v) = invoke(
        &fake,
        COHERE,
        &json!({"texts": texts, "input_type": "search_document"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["response_type"], "embeddings_floats");
    assert_eq!(v["texts"], json!(texts));
    assert!(v["id"].is_string());
    let rows = v["embeddings"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1], json!(embedding("second doc", 1024, true)));
    let body = json!({"texts": ["q"], "input_type": "search_query", "truncate": "END", "embedding_types": ["float", "int8", "ubinary"]});
    let (_, _, v) = invoke(&fake, "cohere.embed-multilingual-v3", &body).await;
    assert_eq!(v["response_type"], "embeddings_by_type");
    assert_eq!(
        v["embeddings"]["float"][0],
        json!(embedding("q", 1024, true))
    );
    assert_eq!(v["embeddings"]["int8"][0].as_array().unwrap().len(), 1024);
    assert_eq!(v["embeddings"]["ubinary"][0].as_array().unwrap().len(), 128);
    let many: Vec<String> = (0..97).map(|i| format!("t{i}")).collect();
    for (body, message) in [
        (
            json!({"texts": ["x"]}),
            "#: required key [input_type] not found",
        ),
        (
            json!({"input_type": "clustering"}),
            "#: required key [texts] not found",
        ),
        (
            json!({"texts": [], "input_type": "clustering"}),
            "#/texts: expected minimum item count: 1, found: 0",
        ),
        (
            json!({"texts": many, "input_type": "clustering"}),
            "#/texts: expected maximum item count: 96, found: 97",
        ),
        (
            json!({"texts": ["x"], "input_type": "query"}),
            "#/input_type: query is not a valid enum value",
        ),
        (
            json!({"texts": ["x"], "input_type": "clustering", "dimensions": 3}),
            "#: extraneous key [dimensions] is not permitted",
        ),
    ] {
        let (status, _, v) = invoke(&fake, COHERE, &body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            v["message"],
            format!(
                "Malformed input request: {message}, please reformat your input and try again."
            )
        );
    }
    assert_eq!(fake.calls("invoke", COHERE), 7);
}

#[tokio::test]
async fn embedding_models_do_not_stream() {
    let fake = FakeBedrock::start().await;
    // Embedding models neither stream nor converse.
    let (status, _, bytes) = fake
        .send_signed(
            "POST",
            &runtime_path(COHERE, "invoke-with-response-stream"),
            "us-east-1",
            &[],
            b"{}",
        )
        .await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&bytes));
    let converse = json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]});
    let (status, _, v) = fake
        .send_signed(
            "POST",
            &runtime_path(TITAN, "converse"),
            "us-east-1",
            &[],
            converse.to_string().as_bytes(),
        )
        .await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&v).contains("doesn't support the model"));
    assert_eq!(fake.calls("invoke-with-response-stream", COHERE), 1);
    assert_eq!(fake.calls("converse", TITAN), 1);
}

#[tokio::test]
async fn concurrency_per_model_is_observable() {
    let fake = FakeBedrock::start().await;
    fake.push_n(
        3,
        Behavior::delay(Duration::from_millis(150), Behavior::Default),
    );
    let body = json!({"inputText": "x"});
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let (fake, body) = (fake.clone(), body.clone());
            tokio::spawn(async move { invoke(&fake, TITAN, &body).await.0 })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), 200);
    }
    assert_eq!(fake.max_in_flight(TITAN), 3);
    invoke(&fake, TITAN, &body).await;
    assert_eq!(
        fake.max_in_flight(TITAN),
        3,
        "a maximum, not the current count"
    );
    assert_eq!(fake.max_in_flight(COHERE), 0);
    // The catalogue lists the embedders with EMBEDDING output and no streaming.
    let models = foundation_models("us-east-1");
    for id in [TITAN, COHERE, "cohere.embed-multilingual-v3"] {
        let m = models.iter().find(|m| m["modelId"] == id).unwrap();
        assert_eq!(m["outputModalities"], json!(["EMBEDDING"]), "{id}");
        assert_eq!(m["responseStreamingSupported"], false, "{id}");
    }
    let nova = models
        .iter()
        .find(|m| m["modelId"] == "amazon.nova-lite-v1:0")
        .unwrap();
    assert_eq!(
        nova["inferenceTypesSupported"],
        json!(["ON_DEMAND", "INFERENCE_PROFILE"])
    );
}
