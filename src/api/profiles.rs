//! `GET /profiles`: what each profile routes to. Never shows a secret.

use std::sync::Arc;

use poem_openapi::{payload::Json, Object, OpenApi};

use super::guard::ClientKey;
use super::payload::Guarded;
use super::ApiTags;
use crate::pipeline::Pipeline;

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
    pub request_transformers: Vec<String>,
    pub response_transformers: Vec<String>,
    /// Profiles tried, in this order, when this one's attempts are exhausted on throttling
    /// or a 5xx.
    pub fallback: Vec<String>,
    /// Attempts per request on this profile, the first included.
    pub max_attempts: u32,
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
                    request_transformers: p.request_chain.names(),
                    response_transformers: p.response_chain.names(),
                    fallback: p.fallback.clone(),
                    max_attempts: p.retry.max_attempts,
                })
                .collect(),
            default_profile: default,
        }))
    }
}
