//! Types that exist only to document bodies in OpenAPI (with examples that work when tried).
//! The proxy itself passes bodies through as JSON; these describe the common fields.

use poem_openapi::types::Example;
use poem_openapi::Object;
use serde_json::Value;

/// An Anthropic Messages response as Bedrock returns it.
#[derive(Object)]
#[oai(rename = "InvokeResponse")]
pub struct InvokeResponseDoc {
    pub id: String,
    #[oai(rename = "type")]
    pub kind: String,
    pub role: String,
    #[oai(nullable)]
    pub model: Option<String>,
    /// Content blocks, e.g. `{"type":"text","text":"Hello"}`.
    pub content: Vec<Value>,
    #[oai(nullable)]
    pub stop_reason: Option<String>,
    #[oai(nullable)]
    pub stop_sequence: Option<String>,
    /// `{"input_tokens": …, "output_tokens": …}`.
    pub usage: Value,
}

/// A foundation model, with AWS's field names (ListFoundationModels / GetFoundationModel).
/// AWS adds enum values over time; every value is passed on as AWS sent it.
#[derive(Object)]
#[oai(rename = "FoundationModelSummary", rename_all = "camelCase")]
pub struct ModelSummaryDoc {
    pub model_arn: String,
    pub model_id: String,
    pub model_name: Option<String>,
    pub provider_name: Option<String>,
    /// `TEXT`, `IMAGE`, `EMBEDDING`, …
    pub input_modalities: Vec<String>,
    pub output_modalities: Vec<String>,
    pub response_streaming_supported: Option<bool>,
    pub customizations_supported: Vec<String>,
    /// `ON_DEMAND`, `PROVISIONED`, `INFERENCE_PROFILE`, …
    pub inference_types_supported: Vec<String>,
    /// `{"status": "ACTIVE" | "LEGACY"}`.
    pub model_lifecycle: Option<Value>,
}

impl Example for ModelSummaryDoc {
    fn example() -> Self {
        ModelSummaryDoc {
            model_arn: "arn:aws:bedrock:eu-central-1::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0".into(),
            model_id: "anthropic.claude-sonnet-4-20250514-v1:0".into(),
            model_name: Some("Claude Sonnet 4".into()),
            provider_name: Some("Anthropic".into()),
            input_modalities: vec!["TEXT".into(), "IMAGE".into()],
            output_modalities: vec!["TEXT".into()],
            response_streaming_supported: Some(true),
            customizations_supported: vec![],
            inference_types_supported: vec!["INFERENCE_PROFILE".into()],
            model_lifecycle: Some(serde_json::json!({"status": "ACTIVE"})),
        }
    }
}

/// `GET /foundation-models`: AWS's ListFoundationModels answer.
#[derive(Object)]
#[oai(
    rename = "ListFoundationModelsResponse",
    rename_all = "camelCase",
    example
)]
pub struct ListFoundationModelsDoc {
    pub model_summaries: Vec<ModelSummaryDoc>,
}

impl Example for ListFoundationModelsDoc {
    fn example() -> Self {
        ListFoundationModelsDoc {
            model_summaries: vec![ModelSummaryDoc::example()],
        }
    }
}

/// `GET /foundation-models/{id}`: AWS's GetFoundationModel answer.
#[derive(Object)]
#[oai(
    rename = "GetFoundationModelResponse",
    rename_all = "camelCase",
    example
)]
pub struct GetFoundationModelDoc {
    pub model_details: ModelSummaryDoc,
}

impl Example for GetFoundationModelDoc {
    fn example() -> Self {
        GetFoundationModelDoc {
            model_details: ModelSummaryDoc::example(),
        }
    }
}

/// An inference profile, with AWS's field names (ListInferenceProfiles / GetInferenceProfile).
#[derive(Object)]
#[oai(rename = "InferenceProfile", rename_all = "camelCase", example)]
pub struct InferenceProfileDoc {
    pub inference_profile_id: String,
    pub inference_profile_name: String,
    pub inference_profile_arn: String,
    pub description: Option<String>,
    /// The foundation models it routes to: `[{"modelArn": …}]`, one per region.
    pub models: Vec<Value>,
    /// `ACTIVE`.
    pub status: String,
    /// `SYSTEM_DEFINED` or `APPLICATION`.
    #[oai(rename = "type")]
    pub kind: String,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl Example for InferenceProfileDoc {
    fn example() -> Self {
        let model = "anthropic.claude-sonnet-4-20250514-v1:0";
        InferenceProfileDoc {
            inference_profile_id: format!("eu.{model}"),
            inference_profile_name: "EU Anthropic Claude Sonnet 4".into(),
            inference_profile_arn: format!(
                "arn:aws:bedrock:eu-central-1:123456789012:inference-profile/eu.{model}"
            ),
            description: Some("Routes requests to Claude Sonnet 4 in EU regions.".into()),
            models: ["eu-central-1", "eu-west-1"]
                .iter()
                .map(|r| {
                    serde_json::json!({"modelArn": format!("arn:aws:bedrock:{r}::foundation-model/{model}")})
                })
                .collect(),
            status: "ACTIVE".into(),
            kind: "SYSTEM_DEFINED".into(),
            created_at: Some("2025-05-22T00:00:00Z".into()),
            updated_at: Some("2025-05-22T00:00:00Z".into()),
        }
    }
}

/// `GET /inference-profiles`: AWS's ListInferenceProfiles answer (one page).
#[derive(Object)]
#[oai(
    rename = "ListInferenceProfilesResponse",
    rename_all = "camelCase",
    example
)]
pub struct ListInferenceProfilesDoc {
    pub inference_profile_summaries: Vec<InferenceProfileDoc>,
    /// Pass as `nextToken` to get the next page; absent on the last page.
    pub next_token: Option<String>,
}

impl Example for ListInferenceProfilesDoc {
    fn example() -> Self {
        ListInferenceProfilesDoc {
            inference_profile_summaries: vec![InferenceProfileDoc::example()],
            next_token: None,
        }
    }
}

/// One Server-Sent Event of `/invoke_stream`, as an SSE client parses it.
#[derive(Object)]
#[oai(rename = "StreamEvent")]
pub struct StreamEventDoc {
    /// The model event's `type` (`message_start`, `content_block_delta`, …, `message_stop`),
    /// `completion` for legacy text-completion chunks, or `error` for the final error event.
    pub event: String,
    /// The event's JSON, e.g. `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`,
    /// or `{"type":"error","error":{"type":…,"message":…}}`.
    pub data: String,
}
