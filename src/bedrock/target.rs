//! Where a runtime call goes: a profile's endpoint, model, region, credentials and timeouts,
//! with its URLs built once.

use std::sync::Arc;

use super::client::{model_url, Operation};
use crate::settings::Timeouts;

/// Where one runtime call goes: the endpoint, the model id, the region signed for, whose
/// credentials sign it and how long it may take. Plain data: the proxy's profiles build one
/// each, once; the client knows nothing of profiles.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// bedrock-runtime base URL, without a trailing slash.
    pub endpoint: String,
    pub model_id: String,
    pub region: String,
    /// Named AWS profile for credentials, if any.
    pub aws_profile: Option<String>,
    pub timeouts: Timeouts,
    /// The runtime URLs of `endpoint` and `model_id`, parsed once (see `ModelUrls::new`).
    pub urls: ModelUrls,
}

/// A target's five runtime URLs, built when the target is: formatting and parsing a URL on
/// every request was a measurable share of the proxy's own CPU time (docs/performance.md).
/// Empty when the endpoint does not make a valid URL; `send` then builds the URL per
/// request, which reports the error.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelUrls(Option<Arc<[reqwest::Url; 5]>>);

impl ModelUrls {
    pub fn new(endpoint: &str, model_id: &str) -> ModelUrls {
        let ops = Operation::ALL.map(|op| model_url(endpoint, model_id, op).ok());
        match ops {
            [Some(a), Some(b), Some(c), Some(d), Some(e)] => {
                ModelUrls(Some(Arc::new([a, b, c, d, e])))
            }
            _ => ModelUrls(None),
        }
    }

    pub(super) fn get(&self, op: Operation) -> Option<&reqwest::Url> {
        self.0.as_ref().map(|urls| &urls[op.index()])
    }
}
