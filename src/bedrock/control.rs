//! The Bedrock control plane (`bedrock.{region}.amazonaws.com`): ListFoundationModels,
//! GetFoundationModel, ListInferenceProfiles (every page), GetInferenceProfile.
//!
//! Answers are kept as `serde_json::Value`, exactly as AWS sent them: AWS's enums are open
//! (new values such as `INFERENCE_PROFILE` appear without notice), and the AWS-shaped routes
//! hand the same objects back to AWS SDKs, whose field names must survive untouched.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use serde_json::Value;

use super::client::{path_segment, BedrockClient, Signed};
use super::read::read_body;
use crate::error::ProxyError;
use crate::settings::Timeouts;

/// Where a control-plane call goes and whose credentials sign it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// Base URL of the control plane, without a trailing slash.
    pub endpoint: String,
    pub region: String,
    /// Named AWS profile for credentials, if any.
    pub aws_profile: Option<String>,
}

/// Where a control-plane call goes, and with which timeouts.
#[derive(Debug, Clone)]
pub struct ControlTarget {
    pub scope: Scope,
    pub timeouts: Timeouts,
}

/// ListFoundationModels filters, already normalised (see [`ModelFilters::new`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ModelFilters {
    pub provider: Option<String>,
    pub output_modality: Option<String>,
    pub inference_type: Option<String>,
    pub customization_type: Option<String>,
}

impl ModelFilters {
    /// Normalise filter values so that equal filters share a cache entry: the provider is
    /// lower-cased (AWS matches it case-insensitively), the enum-like values upper-cased with
    /// `-` as `_` (`on-demand` → `ON_DEMAND`). Unknown values are passed on for AWS to judge.
    pub fn new(
        provider: Option<&str>,
        output_modality: Option<&str>,
        inference_type: Option<&str>,
        customization_type: Option<&str>,
    ) -> ModelFilters {
        fn clean(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        let upper = |v: Option<&str>| clean(v).map(|v| v.to_ascii_uppercase().replace('-', "_"));
        ModelFilters {
            provider: clean(provider).map(str::to_ascii_lowercase),
            output_modality: upper(output_modality),
            inference_type: upper(inference_type),
            customization_type: upper(customization_type),
        }
    }

    /// AWS's query parameters for these filters.
    pub fn query(&self) -> Vec<(&'static str, &str)> {
        [
            ("byProvider", &self.provider),
            ("byOutputModality", &self.output_modality),
            ("byInferenceType", &self.inference_type),
            ("byCustomizationType", &self.customization_type),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
    }
}

/// At most this many ListInferenceProfiles pages are followed (a guard against a loop).
const MAX_PAGES: usize = 100;

impl BedrockClient {
    /// A signed GET to the control plane, answering the JSON body.
    async fn control_get(
        &self,
        scope: &Scope,
        timeouts: &Timeouts,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, ProxyError> {
        let mut url = reqwest::Url::parse(&format!("{}{path}", scope.endpoint))
            .map_err(|e| ProxyError::Internal(format!("bad control-plane URL: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        let target = Signed {
            aws_profile: scope.aws_profile.as_deref(),
            region: &scope.region,
            timeouts,
        };
        let mut response = self
            .signed_send(http::Method::GET, url, headers, Bytes::new(), &target)
            .await
            .map_err(|e| e.error)?;
        let headers = response.headers().clone();
        let body = read_body(&mut response, timeouts.idle).await?;
        serde_json::from_slice(&body).map_err(|e| ProxyError::Upstream {
            status: 502,
            error_type: "InvalidUpstreamResponse".into(),
            message: format!("Bedrock's control plane sent a body that is not JSON: {e}"),
            upstream_request_id: super::types::request_id(&headers),
        })
    }

    /// ListFoundationModels: the `modelSummaries` array.
    pub async fn list_foundation_models(
        &self,
        scope: &Scope,
        timeouts: &Timeouts,
        filters: &ModelFilters,
    ) -> Result<Vec<Value>, ProxyError> {
        let body = self
            .control_get(scope, timeouts, "/foundation-models", &filters.query())
            .await?;
        Ok(array_field(body, "modelSummaries"))
    }

    /// GetFoundationModel: the `modelDetails` object.
    pub async fn get_foundation_model(
        &self,
        scope: &Scope,
        timeouts: &Timeouts,
        id: &str,
    ) -> Result<Value, ProxyError> {
        let path = format!("/foundation-models/{}", path_segment(id));
        let mut body = self.control_get(scope, timeouts, &path, &[]).await?;
        Ok(body
            .get_mut("modelDetails")
            .map(Value::take)
            .unwrap_or(Value::Null))
    }

    /// ListInferenceProfiles, every page followed: all `inferenceProfileSummaries`.
    pub async fn list_inference_profiles(
        &self,
        scope: &Scope,
        timeouts: &Timeouts,
        type_equals: Option<&str>,
    ) -> Result<Vec<Value>, ProxyError> {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = Vec::new();
            if let Some(t) = type_equals {
                query.push(("typeEquals", t));
            }
            if let Some(t) = &token {
                query.push(("nextToken", t));
            }
            let mut body = self
                .control_get(scope, timeouts, "/inference-profiles", &query)
                .await?;
            token = body
                .get("nextToken")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            all.extend(array_field(body.take(), "inferenceProfileSummaries"));
            if token.is_none() {
                return Ok(all);
            }
        }
        Err(ProxyError::Upstream {
            status: 502,
            error_type: "InvalidUpstreamResponse".into(),
            message: format!("ListInferenceProfiles still had more pages after {MAX_PAGES}"),
            upstream_request_id: None,
        })
    }

    /// GetInferenceProfile: the profile object.
    pub async fn get_inference_profile(
        &self,
        scope: &Scope,
        timeouts: &Timeouts,
        id: &str,
    ) -> Result<Value, ProxyError> {
        let path = format!("/inference-profiles/{}", path_segment(id));
        self.control_get(scope, timeouts, &path, &[]).await
    }
}

/// `body[field]` as a vector; missing or not an array is an empty list.
fn array_field(mut body: Value, field: &str) -> Vec<Value> {
    match body.get_mut(field).map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_normalised_and_become_aws_query_parameters() {
        let f = ModelFilters::new(Some(" Anthropic "), Some("text"), Some("on-demand"), None);
        assert_eq!(
            f.query(),
            vec![
                ("byProvider", "anthropic"),
                ("byOutputModality", "TEXT"),
                ("byInferenceType", "ON_DEMAND"),
            ]
        );
        assert_eq!(
            f,
            ModelFilters::new(Some("ANTHROPIC"), Some("TEXT"), Some("ON_DEMAND"), Some(""))
        );
        assert!(ModelFilters::new(None, Some(" "), None, None)
            .query()
            .is_empty());
    }
}
