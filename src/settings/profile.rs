use std::time::Duration;

use super::{ChainSpecs, RetryPolicy};

/// A profile's checked settings.
#[derive(Debug, Clone)]
pub struct ProfileConfig {
    pub name: String,
    /// Bedrock model id, inference-profile id or ARN.
    pub model_id: String,
    /// Region requests are signed for and sent to.
    pub region: String,
    /// Base URL of bedrock-runtime (no trailing slash).
    pub runtime_endpoint: String,
    /// Base URL of the bedrock control plane (no trailing slash).
    pub control_endpoint: String,
    /// Named profile of the AWS shared config files used for credentials, if any.
    pub aws_profile: Option<String>,
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
    /// Profiles to try, in order, when this one's attempts are exhausted on throttling or a
    /// 5xx: its `fallback` list with their own fallbacks expanded after each, each profile once.
    pub fallback: Vec<String>,
    /// The profile's own transformer chains, where written.
    pub transformers: ChainSpecs,
    /// `/v1/chat/completions` requests get Converse `cachePoint`s after the system prompt
    /// and the tools (`prompt_cache = true`), so Bedrock can cache that prefix.
    pub prompt_cache: bool,
}

/// Timeouts for calls to Bedrock. There is deliberately no whole-request timeout: a long
/// answer that keeps producing bytes is never cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeouts {
    /// TCP + TLS connect.
    pub connect: Duration,
    /// From sending the request to receiving the response headers.
    pub first_byte: Duration,
    /// Longest silence allowed while reading a response body or an event stream.
    pub idle: Duration,
}
