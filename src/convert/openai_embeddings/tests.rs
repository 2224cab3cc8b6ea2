use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use super::*;

fn parse(v: Value) -> Result<EmbeddingsRequest, ConvertError> {
    EmbeddingsRequest::parse(v.to_string().as_bytes())
}

fn req(v: Value) -> EmbeddingsRequest {
    parse(v).unwrap()
}

fn decode(b64: &str) -> Vec<f32> {
    STANDARD
        .decode(b64)
        .unwrap()
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[test]
fn parse_inputs() {
    assert_eq!(
        req(json!({"model": "e", "input": "a"})).texts().unwrap(),
        vec!["a"]
    );
    let r = req(json!({"model": "e", "input": ["a", "b"], "seed": 1, "user": "u"}));
    assert_eq!(r.texts().unwrap(), vec!["a", "b"]);
    assert_eq!(r.unknown_parameters(), vec!["seed"]);
    assert!(!r.wants_base64().unwrap());
    assert!(
        req(json!({"model": "e", "input": "a", "encoding_format": "base64"}))
            .wants_base64()
            .unwrap()
    );
}

#[test]
fn bad_inputs_are_400() {
    for input in [
        json!([1, 2, 3]),
        json!([[1, 2]]),
        json!(""),
        json!([]),
        json!(["a", ""]),
    ] {
        let e = parse(json!({"model": "e", "input": input})).unwrap_err();
        assert_eq!(
            (e.status, e.param.as_deref()),
            (400, Some("input")),
            "{input}"
        );
    }
    let e = parse(json!({"model": "e", "input": "a", "encoding_format": "int8"})).unwrap_err();
    assert_eq!(e.param.as_deref(), Some("encoding_format"));
    let e = parse(json!({"model": "e"})).unwrap_err();
    assert!(
        e.message.starts_with("Invalid request body"),
        "{}",
        e.message
    );
}

#[test]
fn families() {
    assert_eq!(
        family_of("amazon.titan-embed-text-v2:0"),
        Some(EmbedFamily::Titan)
    );
    assert_eq!(
        family_of("us.amazon.titan-embed-text-v2:0"),
        Some(EmbedFamily::Titan)
    );
    assert_eq!(
        family_of("arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"),
        Some(EmbedFamily::Titan)
    );
    assert_eq!(
        family_of("cohere.embed-english-v3"),
        Some(EmbedFamily::Cohere)
    );
    assert_eq!(
        family_of("eu.cohere.embed-multilingual-v3"),
        Some(EmbedFamily::Cohere)
    );
    assert_eq!(family_of("amazon.titan-embed-text-v1"), None);
    assert_eq!(family_of("anthropic.claude-3-haiku"), None);
    assert_eq!(family_of("us.meta.llama3"), None);
}

#[test]
fn titan_bodies_per_input() {
    let r = req(json!({"model": "e", "input": ["a", "b"], "dimensions": 512}));
    assert_eq!(
        titan_bodies(&r).unwrap(),
        vec![
            json!({"inputText": "a", "dimensions": 512, "normalize": true}),
            json!({"inputText": "b", "dimensions": 512, "normalize": true})
        ]
    );
    let r = req(json!({"model": "e", "input": "a"}));
    assert_eq!(
        titan_bodies(&r).unwrap(),
        vec![json!({"inputText": "a", "normalize": true})]
    );
    let e = titan_bodies(&req(json!({"model": "e", "input": "a", "dimensions": 300}))).unwrap_err();
    assert_eq!((e.status, e.param.as_deref()), (400, Some("dimensions")));
}

#[test]
fn cohere_bodies_chunk_at_96() {
    let texts: Vec<String> = (0..200).map(|i| format!("t{i}")).collect();
    let bodies = cohere_bodies(&req(json!({"model": "e", "input": texts}))).unwrap();
    let sizes: Vec<usize> = bodies
        .iter()
        .map(|b| b["texts"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![96, 96, 8]);
    assert_eq!(bodies[1]["texts"][0], "t96");
    assert_eq!(bodies[2]["texts"][7], "t199");
    assert!(bodies.iter().all(|b| b["input_type"] == "search_document"));
    let one = cohere_bodies(&req(json!({"model": "e", "input": "x"}))).unwrap();
    assert_eq!(
        one,
        vec![json!({"texts": ["x"], "input_type": "search_document"})]
    );
    let e = cohere_bodies(&req(
        json!({"model": "e", "input": "x", "dimensions": 1024}),
    ))
    .unwrap_err();
    assert_eq!(e.param.as_deref(), Some("dimensions"));
}

#[test]
fn titan_response_floats_and_usage() {
    let rs = [
        json!({"embedding": [0.5, -0.25], "inputTextTokenCount": 3}),
        json!({"embedding": [0.125, 1.0], "inputTextTokenCount": 4}),
    ];
    let out =
        serde_json::to_value(from_titan(&rs, "text-embedding-3-small", false).unwrap()).unwrap();
    assert_eq!(
        out,
        json!({"object": "list", "model": "text-embedding-3-small",
               "data": [{"object": "embedding", "index": 0, "embedding": [0.5, -0.25]},
                        {"object": "embedding", "index": 1, "embedding": [0.125, 1.0]}],
               "usage": {"prompt_tokens": 7, "total_tokens": 7}})
    );
}

#[test]
fn base64_round_trips_to_same_f32() {
    let values = [0.1f64, -0.333_333_34, 1e-7, 42.5];
    let rs = [json!({"embedding": values, "inputTextTokenCount": 1})];
    let out = from_titan(&rs, "m", true).unwrap();
    let EmbeddingVector::Base64(b64) = &out.data[0].embedding else {
        panic!("expected base64");
    };
    let want: Vec<f32> = values.iter().map(|v| *v as f32).collect();
    assert_eq!(decode(b64), want);
    assert_eq!(STANDARD.decode(b64).unwrap().len(), 16);
}

#[test]
fn cohere_responses_both_shapes_concatenate() {
    let rs = [
        json!({"id": "x", "embeddings": [[1.0, 2.0], [3.0, 4.0]], "texts": ["a", "b"],
               "meta": {"billed_units": {"input_tokens": 5}}}),
        json!({"embeddings": {"float": [[5.0, 6.0]]}, "response_type": "embeddings_by_type"}),
    ];
    let out = from_cohere(&rs, "m", false).unwrap();
    assert_eq!(out.data.len(), 3);
    assert_eq!(out.data[2].index, 2);
    assert_eq!(
        out.data[2].embedding,
        EmbeddingVector::Float(vec![5.0, 6.0])
    );
    assert_eq!(
        out.usage,
        EmbeddingsUsage {
            prompt_tokens: 5,
            total_tokens: 5
        }
    );
    let out = from_cohere(&rs[..1], "m", true).unwrap();
    let EmbeddingVector::Base64(b64) = &out.data[1].embedding else {
        panic!("expected base64");
    };
    assert_eq!(decode(b64), vec![3.0f32, 4.0]);
}

#[test]
fn malformed_responses_are_502() {
    assert_eq!(
        from_titan(&[json!({"embedding": "x"})], "m", false)
            .unwrap_err()
            .status,
        502
    );
    assert_eq!(
        from_titan(&[json!({})], "m", false).unwrap_err().status,
        502
    );
    assert_eq!(
        from_cohere(&[json!({"embeddings": {"int8": [[1]]}})], "m", false)
            .unwrap_err()
            .status,
        502
    );
    assert_eq!(
        from_cohere(&[json!({"embeddings": [["a"]]})], "m", false)
            .unwrap_err()
            .status,
        502
    );
}
