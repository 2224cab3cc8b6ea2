//! The configuration as written: what figment deserializes the merged layers into. Unknown
//! keys are errors (`deny_unknown_fields`); the `Default`s are the built-in layer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::BUILTIN_PROFILES;

/// The configuration as written, before validation. Field docs are the reference.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub upstream: RawUpstream,
    #[serde(default)]
    pub models: RawModels,
    #[serde(default)]
    pub routing: RawRouting,
    #[serde(default)]
    pub retry: RawRetry,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub auth: RawAuth,
    #[serde(default)]
    pub metrics: RawMetrics,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub profiles: BTreeMap<String, RawProfile>,
    /// The default request chain (`[[request_transformers]]`); see [`RawChain`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_transformers: Option<RawChain>,
    /// The default response chain (`[[response_transformers]]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_transformers: Option<RawChain>,
}

/// A transformer chain as written: each entry a table with `name` and the transformer's
/// options. Not written (`None`) differs from written empty (`request_transformers = []`).
pub type RawChain = Vec<serde_json::Map<String, serde_json::Value>>;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    /// Address to bind; loopback by default.
    pub host: String,
    /// 0 picks a free port (the log says which).
    pub port: u16,
    /// Profile used when a request names none.
    pub default_profile: String,
    /// Seconds of silence on an SSE stream after which a keep-alive comment is sent.
    pub stream_keepalive_secs: f64,
    /// Seconds in-flight requests and streams get to finish after SIGTERM / Ctrl-C.
    pub shutdown_grace_secs: f64,
    /// Origins (`https://app.example`) browsers may call the proxy from; none by default.
    pub cors_allowed_origins: Vec<String>,
}

/// Timeouts for every profile that does not set its own.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawUpstream {
    pub connect_timeout_secs: f64,
    pub first_byte_timeout_secs: f64,
    pub idle_timeout_secs: f64,
}

/// How models named by clients (`/model/{id}/…`, `/v1/messages`' `model`) are routed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRouting {
    /// Model name → profile name or Bedrock model id.
    pub aliases: BTreeMap<String, String>,
    /// Geography prefix (`eu`, `us`, …) → region for direct calls to ids with that prefix.
    pub prefix_regions: BTreeMap<String, String>,
    /// The betas `/v1/messages` forwards to Bedrock, replacing the built-in list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anthropic_betas: Option<Vec<String>>,
}

/// The cache of control-plane answers (`GET /models`, `/foundation-models`, …).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawModels {
    /// How long an answer is served from the cache before it is fetched again.
    pub ttl_secs: f64,
    /// How long after `ttl_secs` an expired answer may still be served (marked stale) when
    /// fetching a fresh one fails.
    pub stale_secs: f64,
    /// Most answers kept (one per region, filter set or id).
    pub max_entries: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawProfile {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub model_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_endpoint_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_timeout_secs: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_byte_timeout_secs: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout_secs: Option<f64>,
    /// This profile's request chain; replaces the default chain when written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_transformers: Option<RawChain>,
    /// This profile's response chain; replaces the default chain when written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_transformers: Option<RawChain>,
    /// This profile's own retry settings (each key overrides `[retry]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<RawRetryOverride>,
    /// Profiles tried in order when this one's attempts are exhausted on throttling or 5xx.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fallback: Vec<String>,
    /// Prompt caching for OpenAI clients: a Converse `cachePoint` after the system prompt
    /// and after the tools of `/v1/chat/completions` requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_cache: Option<bool>,
}

/// Retries of throttled and failed Bedrock calls, for every profile that does not set its own.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRetry {
    /// Attempts per profile, the first included (1: no retries).
    pub max_attempts: u32,
    /// Backoff base: the n-th retry waits a random time below `base * 2^(n-1)`.
    pub base_delay_secs: f64,
    /// Upper bound of one backoff.
    pub max_delay_secs: f64,
    /// No retry or fallback attempt starts later than this after the first attempt.
    pub max_elapsed_secs: f64,
}

/// `[profiles.NAME.retry]`: any of `[retry]`'s keys, for one profile.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRetryOverride {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_delay_secs: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_delay_secs: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_elapsed_secs: Option<f64>,
}

/// Request size and upstream concurrency limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLimits {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: u64,
    /// Requests calling Bedrock at the same time (0: no cap).
    pub max_concurrent_upstream: u32,
    /// How long a request waits for a free slot before it gets 503.
    pub queue_timeout_secs: f64,
}

/// Client authentication. The keys themselves never live here: they come from
/// `PROXY_API_KEYS` or a file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAuth {
    /// File with one client API key per line (`PROXY_API_KEYS_FILE` wins over it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_keys_file: Option<String>,
    /// Allow listening on a non-loopback address without any key.
    pub allow_unauthenticated: bool,
    /// Paths served without a key (a path also opens everything below it).
    pub open_paths: Vec<String>,
}

/// `GET /metrics` and the price table behind `bedrock_proxy_cost_usd_total`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMetrics {
    /// Serve `GET /metrics`.
    pub enabled: bool,
    /// Serve `/metrics` without a client key on a non-loopback address.
    pub public: bool,
    /// Add the built-in Claude price table for the models `prices` does not name.
    pub default_prices: bool,
    /// `[[metrics.prices]]`: one model's USD per million tokens of each type.
    pub prices: Vec<RawPrice>,
}

/// One model's prices, USD per million tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrice {
    pub model: String,
    pub input: f64,
    pub output: f64,
    /// Prompt-cache reads; 0 when not written.
    #[serde(default)]
    pub cache_read: f64,
    /// Prompt-cache writes; 0 when not written.
    #[serde(default)]
    pub cache_write: f64,
}

/// Log output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLog {
    /// `text` or `json`.
    pub format: String,
}

impl Default for RawMetrics {
    fn default() -> Self {
        RawMetrics {
            enabled: true,
            public: false,
            default_prices: true,
            prices: Vec::new(),
        }
    }
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog {
            format: "text".into(),
        }
    }
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            host: "127.0.0.1".into(),
            port: 3000,
            default_profile: "apac".into(),
            stream_keepalive_secs: 1.0,
            shutdown_grace_secs: 30.0,
            cors_allowed_origins: Vec::new(),
        }
    }
}

impl Default for RawRetry {
    fn default() -> Self {
        // AWS SDK "standard" retry mode: 3 attempts, full-jitter backoff from 1 s, at most 20 s.
        RawRetry {
            max_attempts: 3,
            base_delay_secs: 1.0,
            max_delay_secs: 20.0,
            max_elapsed_secs: 30.0,
        }
    }
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits {
            max_body_bytes: 32 * 1024 * 1024,
            max_concurrent_upstream: 10_000,
            queue_timeout_secs: 10.0,
        }
    }
}

impl Default for RawAuth {
    fn default() -> Self {
        RawAuth {
            api_keys_file: None,
            allow_unauthenticated: false,
            open_paths: vec!["/health".into(), "/docs".into(), "/openapi.json".into()],
        }
    }
}

impl Default for RawUpstream {
    fn default() -> Self {
        RawUpstream {
            connect_timeout_secs: 10.0,
            first_byte_timeout_secs: 300.0,
            idle_timeout_secs: 120.0,
        }
    }
}

impl Default for RawModels {
    fn default() -> Self {
        RawModels {
            ttl_secs: 3600.0,
            stale_secs: 86400.0,
            max_entries: 1000,
        }
    }
}

impl Default for RawConfig {
    fn default() -> Self {
        let profiles = BUILTIN_PROFILES
            .iter()
            .map(|(name, model_id, region)| {
                let profile = RawProfile {
                    model_id: model_id.to_string(),
                    region: Some(region.to_string()),
                    ..RawProfile::default()
                };
                (name.to_string(), profile)
            })
            .collect();
        RawConfig {
            server: RawServer::default(),
            upstream: RawUpstream::default(),
            models: RawModels::default(),
            routing: RawRouting::default(),
            retry: RawRetry::default(),
            limits: RawLimits::default(),
            auth: RawAuth::default(),
            metrics: RawMetrics::default(),
            log: RawLog::default(),
            profiles,
            request_transformers: None,
            response_transformers: None,
        }
    }
}
