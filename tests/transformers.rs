//! Transformers added by an embedding program: request edits reach Bedrock, response edits
//! reach the client for JSON answers and for every stream event, failures are clear errors.

mod support;

use std::sync::Arc;

use bedrock_proxy::transform::{
    EventAction, RequestContext, RequestTransformer, ResponseTransformer, TransformError,
};
use serde_json::{json, Map, Value};
use support::{hi, parse_sse, sse_text, start_proxy_custom, Behavior, FakeBedrock, StreamScript};

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
