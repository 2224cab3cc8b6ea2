//! The control plane: canned foundation models and system-defined inference profiles
//! (`ListFoundationModels`, `GetFoundationModel`, `ListInferenceProfiles` with pagination,
//! `GetInferenceProfile`).

use serde_json::{json, Value};

use crate::claude::NEWER_CLAUDE;
use crate::dispatch::{error_reply, validation, Reply};
use crate::route::query_params;
use crate::{ACCOUNT_ID, BEDROCK_ERROR_NS, DEFAULT_PROFILE_PAGE_SIZE};

/// One canned foundation model: id, name, provider, input and output modalities, response
/// streaming, customizations, inference types.
struct ModelRow {
    id: &'static str,
    name: &'static str,
    provider: &'static str,
    input: &'static [&'static str],
    output: &'static [&'static str],
    streaming: bool,
    customizations: &'static [&'static str],
    inference: &'static [&'static str],
}

const MODELS: &[ModelRow] = &[
    ModelRow {
        id: "anthropic.claude-sonnet-4-20250514-v1:0",
        name: "Claude Sonnet 4",
        provider: "Anthropic",
        input: &["TEXT", "IMAGE"],
        output: &["TEXT"],
        streaming: true,
        customizations: &[],
        inference: &["INFERENCE_PROFILE"],
    },
    ModelRow {
        id: "anthropic.claude-3-haiku-20240307-v1:0",
        name: "Claude 3 Haiku",
        provider: "Anthropic",
        input: &["TEXT", "IMAGE"],
        output: &["TEXT"],
        streaming: true,
        customizations: &[],
        inference: &["ON_DEMAND"],
    },
    ModelRow {
        id: "amazon.titan-text-express-v1",
        name: "Titan Text G1 - Express",
        provider: "Amazon",
        input: &["TEXT"],
        output: &["TEXT"],
        streaming: true,
        customizations: &["FINE_TUNING", "CONTINUED_PRE_TRAINING"],
        inference: &["ON_DEMAND"],
    },
    ModelRow {
        id: "amazon.titan-embed-text-v2:0",
        name: "Titan Text Embeddings V2",
        provider: "Amazon",
        input: &["TEXT"],
        output: &["EMBEDDING"],
        streaming: false,
        customizations: &[],
        inference: &["ON_DEMAND"],
    },
    ModelRow {
        id: "meta.llama3-8b-instruct-v1:0",
        name: "Llama 3 8B Instruct",
        provider: "Meta",
        input: &["TEXT"],
        output: &["TEXT"],
        streaming: true,
        customizations: &[],
        inference: &["ON_DEMAND"],
    },
    ModelRow {
        id: "amazon.nova-lite-v1:0",
        name: "Nova Lite",
        provider: "Amazon",
        input: &["TEXT", "IMAGE", "VIDEO"],
        output: &["TEXT"],
        streaming: true,
        customizations: &["FINE_TUNING", "DISTILLATION"],
        inference: &["ON_DEMAND", "INFERENCE_PROFILE"],
    },
    ModelRow {
        id: "cohere.embed-english-v3",
        name: "Embed English",
        provider: "Cohere",
        input: &["TEXT"],
        output: &["EMBEDDING"],
        streaming: false,
        customizations: &[],
        inference: &["ON_DEMAND"],
    },
    ModelRow {
        id: "cohere.embed-multilingual-v3",
        name: "Embed Multilingual",
        provider: "Cohere",
        input: &["TEXT"],
        output: &["EMBEDDING"],
        streaming: false,
        customizations: &[],
        inference: &["ON_DEMAND"],
    },
];

/// The canned foundation models (as `ListFoundationModels` summaries): the table, the newer
/// Claude models (profile only), then the models added at start-up.
pub fn foundation_models(region: &str) -> Vec<Value> {
    foundation_models_with(region, &[])
}

/// A model added with `FakeBedrock::add_model`.
#[derive(Clone, Debug)]
pub(crate) struct ExtraModel {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) profile_only: bool,
}

/// The newer Claude models and the added ones, as (id, name, profile only).
fn more_models(extras: &[ExtraModel]) -> Vec<(String, String, bool)> {
    NEWER_CLAUDE
        .iter()
        .map(|(id, name, p)| (id.to_string(), name.to_string(), *p))
        .chain(
            extras
                .iter()
                .map(|e| (e.id.clone(), e.name.clone(), e.profile_only)),
        )
        .collect()
}

/// Whether `model_id` is a model the catalogue lists without on-demand throughput.
pub(crate) fn profile_only(model_id: &str, extras: &[ExtraModel]) -> bool {
    more_models(extras)
        .iter()
        .any(|(id, _, only)| *only && id == model_id)
}

pub(crate) fn foundation_models_with(region: &str, extras: &[ExtraModel]) -> Vec<Value> {
    let more = more_models(extras).into_iter().map(|(id, name, only)| {
        json!({
            "modelArn": format!("arn:aws:bedrock:{region}::foundation-model/{id}"),
            "modelId": id,
            "modelName": name,
            "providerName": "Anthropic",
            "inputModalities": ["TEXT", "IMAGE"],
            "outputModalities": ["TEXT"],
            "responseStreamingSupported": true,
            "customizationsSupported": [],
            "inferenceTypesSupported": if only { json!(["INFERENCE_PROFILE"]) } else { json!(["ON_DEMAND"]) },
            "modelLifecycle": { "status": "ACTIVE" }
        })
    });
    MODELS
        .iter()
        .map(|m| {
            json!({
                "modelArn": format!("arn:aws:bedrock:{region}::foundation-model/{}", m.id),
                "modelId": m.id,
                "modelName": m.name,
                "providerName": m.provider,
                "inputModalities": m.input,
                "outputModalities": m.output,
                "responseStreamingSupported": m.streaming,
                "customizationsSupported": m.customizations,
                "inferenceTypesSupported": m.inference,
                "modelLifecycle": { "status": "ACTIVE" }
            })
        })
        .chain(more)
        .collect()
}

fn contains_ci(list: &Value, wanted: &str) -> bool {
    list.as_array().is_some_and(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .any(|s| s.eq_ignore_ascii_case(wanted))
    })
}

fn enum_check(name: &str, value: &str, allowed: &[&str]) -> Result<(), Reply> {
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(value)) {
        Ok(())
    } else {
        Err(validation(&format!(
            "1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        )))
    }
}

pub(crate) fn list_foundation_models(
    region: &str,
    raw_query: &str,
    extras: &[ExtraModel],
) -> Reply {
    let mut models = foundation_models_with(region, extras);
    for (k, v) in query_params(raw_query) {
        let check = match k.as_str() {
            "byProvider" => {
                models.retain(|m| {
                    m["providerName"]
                        .as_str()
                        .is_some_and(|p| p.eq_ignore_ascii_case(&v))
                });
                Ok(())
            }
            "byOutputModality" => enum_check(&k, &v, &["TEXT", "IMAGE", "EMBEDDING"]).map(|_| {
                models.retain(|m| contains_ci(&m["outputModalities"], &v));
            }),
            "byInferenceType" => enum_check(&k, &v, &["ON_DEMAND", "PROVISIONED"]).map(|_| {
                models.retain(|m| contains_ci(&m["inferenceTypesSupported"], &v));
            }),
            "byCustomizationType" => enum_check(
                &k,
                &v,
                &["FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"],
            )
            .map(|_| {
                models.retain(|m| contains_ci(&m["customizationsSupported"], &v));
            }),
            _ => Ok(()),
        };
        if let Err(reply) = check {
            return reply;
        }
    }
    Reply {
        status: 200,
        headers: Vec::new(),
        body: json!({ "modelSummaries": models }),
    }
}

pub(crate) fn get_foundation_model(region: &str, id: &str, extras: &[ExtraModel]) -> Reply {
    match foundation_models_with(region, extras)
        .into_iter()
        .find(|m| m["modelId"] == id || m["modelArn"] == id)
    {
        Some(m) => Reply {
            status: 200,
            headers: Vec::new(),
            body: json!({ "modelDetails": m }),
        },
        None => error_reply(
            404,
            "ResourceNotFoundException",
            BEDROCK_ERROR_NS,
            "Could not resolve the foundation model from the provided model identifier.",
        ),
    }
}

/// (geography prefix, display name, regions) for a region.
fn geography(region: &str) -> (&'static str, &'static str, [&'static str; 3]) {
    if region.starts_with("eu-") {
        ("eu", "EU", ["eu-central-1", "eu-west-1", "eu-west-3"])
    } else if region.starts_with("ap-") {
        (
            "apac",
            "APAC",
            ["ap-northeast-1", "ap-southeast-1", "ap-southeast-2"],
        )
    } else {
        ("us", "US", ["us-east-1", "us-east-2", "us-west-2"])
    }
}

/// The canned system-defined inference profiles for a region's geography.
pub fn inference_profiles(region: &str) -> Vec<Value> {
    inference_profiles_with(region, &[])
}

/// The canned profiles, then a geography and a `global.` profile for each newer Claude
/// model and each added profile-only model.
pub(crate) fn inference_profiles_with(region: &str, extras: &[ExtraModel]) -> Vec<Value> {
    let (geo, geo_name, regions) = geography(region);
    let profile_in = |geo: &str, geo_name: &str, model_id: &str, name: &str, created: &str| {
        let id = format!("{geo}.{model_id}");
        json!({
            "inferenceProfileName": format!("{geo_name} {name}"),
            "description": format!(
                "Routes requests to {name} in {}, {} and {}.",
                regions[0], regions[1], regions[2]
            ),
            "createdAt": created,
            "updatedAt": created,
            "inferenceProfileArn": format!("arn:aws:bedrock:{region}:{ACCOUNT_ID}:inference-profile/{id}"),
            "models": regions
                .iter()
                .map(|r| json!({ "modelArn": format!("arn:aws:bedrock:{r}::foundation-model/{model_id}") }))
                .collect::<Vec<_>>(),
            "inferenceProfileId": id,
            "status": "ACTIVE",
            "type": "SYSTEM_DEFINED"
        })
    };
    let profile = |model_id: &str, name: &str, created: &str| {
        profile_in(geo, geo_name, model_id, name, created)
    };
    let newer = more_models(extras)
        .into_iter()
        .filter(|m| m.2)
        .flat_map(|(id, name, _)| {
            let name = format!("Anthropic {name}");
            [
                profile_in(geo, geo_name, &id, &name, "2025-09-29T00:00:00Z"),
                profile_in("global", "Global", &id, &name, "2025-09-29T00:00:00Z"),
            ]
        });
    let mut all = vec![
        profile(
            "anthropic.claude-sonnet-4-20250514-v1:0",
            "Anthropic Claude Sonnet 4",
            "2025-05-22T00:00:00Z",
        ),
        profile(
            "anthropic.claude-3-haiku-20240307-v1:0",
            "Anthropic Claude 3 Haiku",
            "2024-08-27T00:00:00Z",
        ),
        profile(
            "amazon.nova-lite-v1:0",
            "Amazon Nova Lite",
            "2024-12-03T00:00:00Z",
        ),
    ];
    all.extend(newer);
    all
}

pub(crate) fn list_inference_profiles(
    region: &str,
    raw_query: &str,
    extras: &[ExtraModel],
) -> Reply {
    let mut profiles = inference_profiles_with(region, extras);
    let mut page_size = DEFAULT_PROFILE_PAGE_SIZE;
    let mut start = 0usize;
    for (k, v) in query_params(raw_query) {
        match k.as_str() {
            "maxResults" => match v.parse::<usize>() {
                Ok(n) if (1..=1000).contains(&n) => page_size = n,
                _ => {
                    return validation(&format!(
                        "1 validation error detected: Value '{v}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000"
                    ))
                }
            },
            "nextToken" => match v.strip_prefix("fake-next-").and_then(|n| n.parse().ok()) {
                Some(n) => start = n,
                None => return validation("The pagination token is invalid."),
            },
            "typeEquals" => {
                if let Err(reply) = enum_check(&k, &v, &["SYSTEM_DEFINED", "APPLICATION"]) {
                    return reply;
                }
                profiles.retain(|p| p["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(&v)));
            }
            _ => {}
        }
    }
    if start > profiles.len() {
        return validation("The pagination token is invalid.");
    }
    let end = (start + page_size).min(profiles.len());
    let page: Vec<Value> = profiles[start..end].to_vec();
    let mut body = json!({ "inferenceProfileSummaries": page });
    if end < profiles.len() {
        body["nextToken"] = json!(format!("fake-next-{end}"));
    }
    Reply {
        status: 200,
        headers: Vec::new(),
        body,
    }
}

pub(crate) fn get_inference_profile(region: &str, id: &str, extras: &[ExtraModel]) -> Reply {
    match inference_profiles_with(region, extras)
        .into_iter()
        .find(|p| p["inferenceProfileId"] == id || p["inferenceProfileArn"] == id)
    {
        Some(p) => Reply {
            status: 200,
            headers: Vec::new(),
            body: p,
        },
        None => error_reply(
            404,
            "ResourceNotFoundException",
            BEDROCK_ERROR_NS,
            &format!("Inference profile {id} does not exist."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_follow_the_region_geography() {
        let p = inference_profiles("eu-central-1");
        assert_eq!(
            p[0]["inferenceProfileId"],
            "eu.anthropic.claude-sonnet-4-20250514-v1:0"
        );
        assert!(p[0]["inferenceProfileArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:bedrock:eu-central-1:123456789012:inference-profile/eu."));
        assert_eq!(
            inference_profiles("us-west-2")[1]["inferenceProfileId"],
            "us.anthropic.claude-3-haiku-20240307-v1:0"
        );
    }
}
