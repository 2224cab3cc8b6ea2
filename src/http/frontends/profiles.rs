//! `GET /profiles`: what each profile routes to. Never shows a secret.

use std::sync::Arc;

use poem_openapi::{payload::Json, Object, OpenApi};

use crate::core::Pipeline;
use crate::http::guard::ClientKey;
use crate::http::payload::Guarded;
use crate::http::ApiTags;
use crate::transform::{Options, Origin, Step};

pub struct ProfilesApi {
    pub pipeline: Arc<Pipeline>,
}

#[derive(Object)]
pub struct ProfileInfo {
    pub name: String,
    /// Bedrock model id, inference-profile id or ARN.
    pub model_id: String,
    /// AWS region requests are signed for and sent to.
    pub region: String,
    /// Used when a request names no profile.
    pub default: bool,
    /// bedrock-runtime base URL.
    pub endpoint_url: String,
    /// Named AWS profile used for credentials, if any.
    #[oai(nullable)]
    pub aws_profile: Option<String>,
    /// The request chain in the order it runs.
    pub request_transformers: Vec<TransformerInfo>,
    /// The response chain in the order it runs.
    pub response_transformers: Vec<TransformerInfo>,
    /// Profiles tried, in this order, when this one's attempts are exhausted on throttling
    /// or a 5xx.
    pub fallback: Vec<String>,
    /// Attempts per request on this profile, the first included.
    pub max_attempts: u32,
}

/// One transformer of a chain.
#[derive(Object)]
pub struct TransformerInfo {
    pub name: String,
    /// `built-in` (legacy_prompt, anthropic_defaults), `default` (the top-level chain in the
    /// configuration), `profile` (the profile's own chain) or `code` (added by an embedding
    /// program).
    pub origin: String,
    /// The options as configured (strings longer than 80 characters are shortened); absent
    /// for built-ins and transformers added in code.
    #[oai(skip_serializing_if_is_none)]
    pub options: Option<serde_json::Value>,
}

/// Longest option string shown whole.
const SHOWN_CHARS: usize = 80;

fn shorten(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) if s.chars().count() > SHOWN_CHARS => {
            let head: String = s.chars().take(SHOWN_CHARS - 1).collect();
            Value::String(format!("{head}…"))
        }
        Value::Array(items) => Value::Array(items.iter().map(shorten).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shorten(v))).collect())
        }
        other => other.clone(),
    }
}

fn describe<T: ?Sized>(steps: &[Step<T>], name: impl Fn(&T) -> String) -> Vec<TransformerInfo> {
    steps
        .iter()
        .map(|s| TransformerInfo {
            name: name(&s.transformer),
            origin: s.origin.as_str().to_string(),
            options: match (&s.options, s.origin) {
                (Some(o), Origin::Default | Origin::Profile) => {
                    Some(shorten(&serde_json::Value::Object(Options::clone(o))))
                }
                _ => None,
            },
        })
        .collect()
}

#[derive(Object)]
pub struct ProfileList {
    pub default_profile: String,
    pub profiles: Vec<ProfileInfo>,
}

#[OpenApi]
impl ProfilesApi {
    /// List profiles
    ///
    /// Each profile's name, model id, region, endpoint and transformer chains.
    #[oai(path = "/profiles", method = "get", tag = "ApiTags::Profiles")]
    async fn profiles(&self, _key: ClientKey) -> Guarded<Json<ProfileList>> {
        let profiles = &self.pipeline.profiles;
        let default = profiles.default_profile().name.clone();
        Guarded(Json(ProfileList {
            profiles: profiles
                .iter()
                .map(|p| ProfileInfo {
                    name: p.name.clone(),
                    model_id: p.model_id.clone(),
                    region: p.region.clone(),
                    default: p.name == default,
                    endpoint_url: p.runtime_endpoint.clone(),
                    aws_profile: p.aws_profile.clone(),
                    request_transformers: describe(p.request_chain.steps(), |t| {
                        t.name().to_string()
                    }),
                    response_transformers: describe(p.response_chain.steps(), |t| {
                        t.name().to_string()
                    }),
                    fallback: p.fallback.clone(),
                    max_attempts: p.retry.max_attempts,
                })
                .collect(),
            default_profile: default,
        }))
    }
}
