//! AWS-shaped control-plane routes, so the AWS CLI and SDKs work against the proxy with
//! `--endpoint-url` / `endpoint_url`: `GET /foundation-models`, `/foundation-models/{id}`,
//! `/inference-profiles`, `/inference-profiles/{id}`, answered from the same cache as
//! `/models`, in exactly AWS's JSON shape (errors too: `{"message"}` + `x-amzn-ErrorType`).
//!
//! The region is the one the client signed for (the credential scope of its `Authorization`
//! header), unless `?profile=` names a profile; else the default profile's. The client's
//! signature is neither checked nor forwarded: the proxy signs its own call.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::OpenApi;
use serde_json::{json, Value};

use super::models::cached_json;
use crate::aws::client_credential;
use crate::aws::valid_region;
use crate::bedrock::control::{ControlTarget, ModelFilters};
use crate::catalog::{Lookup, Query as CatalogQuery};
use crate::core::Pipeline;
use crate::error::{ApiError, ProxyError};
use crate::http::docs::{
    GetFoundationModelDoc, InferenceProfileDoc, ListFoundationModelsDoc, ListInferenceProfilesDoc,
};
use crate::http::params::{CustomizationType, InferenceType, OutputModality, ProfileType};
use crate::http::payload::{Described, JsonOf, RawResponse};
use crate::http::render::Dialect;
use crate::http::ApiTags;

pub struct AwsApi {
    pub pipeline: Arc<Pipeline>,
}

impl Described for ListFoundationModelsDoc {
    const DESCRIPTION: &'static str = "AWS's ListFoundationModels answer.";
    const DIALECT: Dialect = Dialect::Aws;
}
impl Described for GetFoundationModelDoc {
    const DESCRIPTION: &'static str = "AWS's GetFoundationModel answer.";
    const DIALECT: Dialect = Dialect::Aws;
}
impl Described for ListInferenceProfilesDoc {
    const DESCRIPTION: &'static str = "AWS's ListInferenceProfiles answer (one page).";
    const DIALECT: Dialect = Dialect::Aws;
}
impl Described for InferenceProfileDoc {
    const DESCRIPTION: &'static str = "AWS's GetInferenceProfile answer.";
    const DIALECT: Dialect = Dialect::Aws;
}

/// The region of the credential scope in a SigV4 `Authorization` header
/// (`AWS4-HMAC-SHA256 Credential=AKID/20261125/eu-central-1/bedrock/aws4_request, …`).
pub fn signed_region(headers: &http::HeaderMap) -> Option<String> {
    let auth = headers.get(http::header::AUTHORIZATION)?;
    let (_access_key, region) = client_credential(auth.as_bytes())?;
    let region = std::str::from_utf8(region).ok()?;
    valid_region(region).then(|| region.to_string())
}

/// Prefix of the page tokens this proxy hands out.
const TOKEN_PREFIX: &str = "bedrock-proxy-offset-";

fn validation(message: impl Into<String>) -> poem::Error {
    ApiError::from(ProxyError::InvalidRequest(message.into())).into()
}

/// One page of `items`: (page, next token).
fn page(
    items: &[Value],
    max_results: Option<i64>,
    next_token: Option<&str>,
) -> poem::Result<(Vec<Value>, Option<String>)> {
    let size = match max_results {
        None => items.len().max(1),
        Some(n @ 1..=1000) => n as usize,
        Some(n) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000"
            )))
        }
    };
    let start = match next_token {
        None | Some("") => 0,
        Some(t) => t
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|n| n.parse::<usize>().ok())
            // A token past the end (the list shrank since it was handed out): an empty page.
            .map(|n| n.min(items.len()))
            .ok_or_else(|| validation("The pagination token is invalid."))?,
    };
    let end = start.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| format!("{TOKEN_PREFIX}{end}"));
    Ok((items[start..end].to_vec(), next))
}

impl AwsApi {
    /// Where to ask: `?profile=`, else the signed region, else the default profile.
    fn target(&self, req: &Request, profile: Option<&str>) -> poem::Result<ControlTarget> {
        let pipeline = &self.pipeline;
        if let Some(name) = profile.filter(|p| !p.is_empty()) {
            let p = pipeline
                .profiles
                .resolve(Some(name))
                .map_err(ApiError::from)?;
            return Ok(p.control_target());
        }
        Ok(match signed_region(req.headers()) {
            Some(region) => pipeline
                .profiles
                .control_target(pipeline.catalog.config(), &region),
            None => pipeline.profiles.default_profile().control_target(),
        })
    }

    async fn lookup(
        &self,
        target: &ControlTarget,
        query: CatalogQuery,
        refresh: bool,
    ) -> poem::Result<Lookup> {
        Ok(self
            .pipeline
            .catalog
            .lookup(target, query, refresh)
            .await
            .map_err(ApiError::from)?)
    }
}

fn answer<D: Send>(lookup: &Lookup, body: Value) -> RawResponse<D> {
    RawResponse::new(cached_json(
        body.to_string(),
        lookup.status,
        lookup.data.age().as_secs(),
    ))
}

#[OpenApi]
impl AwsApi {
    /// ListFoundationModels (AWS shape)
    ///
    /// For `aws bedrock list-foundation-models --endpoint-url http://127.0.0.1:3000` and AWS
    /// SDKs. Same query parameters and answer as AWS, from the proxy's cache.
    #[oai(path = "/foundation-models", method = "get", tag = "ApiTags::Aws")]
    #[allow(clippy::too_many_arguments)]
    async fn list_foundation_models(
        &self,
        req: &Request,
        #[oai(name = "byProvider")] by_provider: Query<Option<String>>,
        #[oai(name = "byCustomizationType")] by_customization_type: Query<
            Option<CustomizationType>,
        >,
        #[oai(name = "byOutputModality")] by_output_modality: Query<Option<OutputModality>>,
        #[oai(name = "byInferenceType")] by_inference_type: Query<Option<InferenceType>>,
        /// Profile whose region to ask (instead of the signed region).
        profile: Query<Option<String>>,
        /// Ask AWS now instead of using a cached answer.
        refresh: Query<Option<bool>>,
    ) -> poem::Result<RawResponse<JsonOf<ListFoundationModelsDoc>>> {
        let target = self.target(req, profile.0.as_deref())?;
        let filters = ModelFilters::new(
            by_provider.0.as_deref(),
            by_output_modality.0.map(OutputModality::as_str),
            by_inference_type.0.map(InferenceType::as_str),
            by_customization_type.0.map(CustomizationType::as_str),
        );
        let found = self
            .lookup(
                &target,
                CatalogQuery::FoundationModels(filters),
                refresh.0.unwrap_or(false),
            )
            .await?;
        Ok(answer(
            &found,
            json!({ "modelSummaries": found.data.value }),
        ))
    }

    /// GetFoundationModel (AWS shape)
    #[oai(
        path = "/foundation-models/:model_identifier",
        method = "get",
        tag = "ApiTags::Aws"
    )]
    async fn get_foundation_model(
        &self,
        req: &Request,
        /// Model id or ARN.
        model_identifier: Path<String>,
        profile: Query<Option<String>>,
        refresh: Query<Option<bool>>,
    ) -> poem::Result<RawResponse<JsonOf<GetFoundationModelDoc>>> {
        let target = self.target(req, profile.0.as_deref())?;
        let found = self
            .lookup(
                &target,
                CatalogQuery::FoundationModel(model_identifier.0),
                refresh.0.unwrap_or(false),
            )
            .await?;
        Ok(answer(&found, json!({ "modelDetails": found.data.value })))
    }

    /// ListInferenceProfiles (AWS shape)
    ///
    /// Every page is fetched from AWS and cached; `maxResults`/`nextToken` page through the
    /// cached list.
    #[oai(path = "/inference-profiles", method = "get", tag = "ApiTags::Aws")]
    async fn list_inference_profiles(
        &self,
        req: &Request,
        /// 1 to 1000.
        #[oai(
            name = "maxResults",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        max_results: Query<Option<i64>>,
        /// A token from a previous page's `nextToken`.
        #[oai(
            name = "nextToken",
            validator(pattern = r"^(bedrock-proxy-offset-[0-9]{1,9})?$")
        )]
        next_token: Query<Option<String>>,
        #[oai(name = "typeEquals")] type_equals: Query<Option<ProfileType>>,
        /// Profile whose region to ask (instead of the signed region).
        profile: Query<Option<String>>,
        refresh: Query<Option<bool>>,
    ) -> poem::Result<RawResponse<JsonOf<ListInferenceProfilesDoc>>> {
        let target = self.target(req, profile.0.as_deref())?;
        let type_equals = type_equals.0.map(|t| t.as_str().to_string());
        let found = self
            .lookup(
                &target,
                CatalogQuery::InferenceProfiles(type_equals),
                refresh.0.unwrap_or(false),
            )
            .await?;
        let all = found
            .data
            .value
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let (items, next) = page(all, max_results.0, next_token.0.as_deref())?;
        let mut body = json!({ "inferenceProfileSummaries": items });
        if let Some(next) = next {
            body["nextToken"] = Value::String(next);
        }
        Ok(answer(&found, body))
    }

    /// GetInferenceProfile (AWS shape)
    #[oai(
        path = "/inference-profiles/:inference_profile_identifier",
        method = "get",
        tag = "ApiTags::Aws"
    )]
    async fn get_inference_profile(
        &self,
        req: &Request,
        /// Inference-profile id or ARN.
        inference_profile_identifier: Path<String>,
        profile: Query<Option<String>>,
        refresh: Query<Option<bool>>,
    ) -> poem::Result<RawResponse<JsonOf<InferenceProfileDoc>>> {
        let target = self.target(req, profile.0.as_deref())?;
        let found = self
            .lookup(
                &target,
                CatalogQuery::InferenceProfile(inference_profile_identifier.0),
                refresh.0.unwrap_or(false),
            )
            .await?;
        Ok(answer(&found, found.data.value.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_comes_from_the_credential_scope() {
        let mut h = http::HeaderMap::new();
        assert_eq!(signed_region(&h), None);
        h.insert(
            http::header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/eu-central-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
                .parse()
                .unwrap(),
        );
        assert_eq!(signed_region(&h).as_deref(), Some("eu-central-1"));
        h.insert(http::header::AUTHORIZATION, "Bearer xyz".parse().unwrap());
        assert_eq!(signed_region(&h), None);
    }

    #[test]
    fn pages_follow_tokens_to_the_end() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let (p1, t1) = page(&items, Some(2), None).unwrap();
        assert_eq!(p1, vec![json!(0), json!(1)]);
        let (p2, t2) = page(&items, Some(2), t1.as_deref()).unwrap();
        assert_eq!(p2, vec![json!(2), json!(3)]);
        let (p3, t3) = page(&items, Some(2), t2.as_deref()).unwrap();
        assert_eq!((p3, t3), (vec![json!(4)], None));
        assert_eq!(page(&items, None, None).unwrap().0.len(), 5);
        assert!(page(&items, Some(0), None).is_err());
        assert!(page(&items, Some(2), Some("bogus")).is_err());
        // A token past the end (the list shrank): an empty last page, not an error.
        let (p, t) = page(&items, Some(2), Some("bedrock-proxy-offset-9")).unwrap();
        assert!(p.is_empty() && t.is_none());
    }
}
