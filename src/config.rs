//! Layered configuration: built-in defaults < `proxy.toml` < `.env` < the environment.
//!
//! figment merges the layers into `RawConfig` (unknown keys are errors), then `validate` turns
//! it into the checked `Config` the rest of the program uses. Every error names where the bad
//! value came from (file or variable), the key, and what is wrong. `.env` is loaded by `main`
//! with dotenvy before this runs, so it sits just under the real environment (dotenvy never
//! overrides a variable that is already set).
//!
//! Besides the `PROXY_…` variables, the variables of the original proxy keep working:
//! `AWS_REGION` (region of any profile that names none), `INFERENCE_PROFILE` (model id, or
//! profile name, of the default profile) and the AWS SDK endpoint variables
//! `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, `AWS_ENDPOINT_URL_BEDROCK`, `AWS_ENDPOINT_URL`.
//! Secrets are never read from here: credentials come from the AWS credential chain.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

pub use crate::aws::valid_region;
use crate::aws::Geography;
use crate::settings::{ApiKeys, RetryPolicy, RoutingConfig, Timeouts};
pub use crate::settings::{
    AuthConfig, ChainSpecs, Config, ConfigError, LimitsConfig, ModelsConfig, ProfileConfig,
    ServerConfig, TransformerSpec,
};

/// Default path of the configuration file, relative to the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "proxy.toml";
/// Prefix of the environment variables that set configuration keys.
pub const ENV_PREFIX: &str = "PROXY_";

/// The built-in profiles: one per geography, each called from a source region of its own.
const BUILTIN_PROFILES: &[(&str, &str, &str)] = &[
    (
        "apac",
        "apac.anthropic.claude-sonnet-4-20250514-v1:0",
        "ap-northeast-1",
    ),
    (
        "us",
        "us.anthropic.claude-sonnet-4-20250514-v1:0",
        "us-east-1",
    ),
    (
        "eu",
        "eu.anthropic.claude-sonnet-4-20250514-v1:0",
        "eu-central-1",
    ),
    (
        "global",
        "global.anthropic.claude-sonnet-4-20250514-v1:0",
        "us-east-1",
    ),
];

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
}

/// Anthropic model names routed to the default profile unless `[routing.aliases]` says
/// otherwise (the built-in profiles all serve this model).
pub const BUILTIN_ALIASES: &[&str] = &[
    "claude-sonnet-4-20250514",
    "claude-sonnet-4-0",
    "claude-sonnet-4",
];

/// Other Anthropic model names and the Bedrock ids they are called as (US cross-region
/// profiles, where Bedrock offers every one of them); `[routing.aliases]` overrides any.
pub const BUILTIN_MODEL_ALIASES: &[(&str, &str)] = &[
    (
        "claude-opus-4-20250514",
        "us.anthropic.claude-opus-4-20250514-v1:0",
    ),
    (
        "claude-opus-4-0",
        "us.anthropic.claude-opus-4-20250514-v1:0",
    ),
    (
        "claude-3-7-sonnet-20250219",
        "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
    ),
    (
        "claude-3-7-sonnet-latest",
        "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
    ),
    (
        "claude-3-5-haiku-20241022",
        "us.anthropic.claude-3-5-haiku-20241022-v1:0",
    ),
    (
        "claude-3-5-haiku-latest",
        "us.anthropic.claude-3-5-haiku-20241022-v1:0",
    ),
];

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

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            host: "127.0.0.1".into(),
            port: 3000,
            default_profile: "apac".into(),
            stream_keepalive_secs: 1.0,
            shutdown_grace_secs: 30.0,
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
            profiles,
            request_transformers: None,
            response_transformers: None,
        }
    }
}

/// Where the configuration comes from: the file path, and a way to read the environment
/// (the process environment in production; a map in unit tests).
pub struct Sources<'a> {
    /// `--config PATH`; `None` falls back to `PROXY_CONFIG`, then `./proxy.toml`.
    pub config_path: Option<PathBuf>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// Read the process environment, treating empty values as unset.
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// Load and validate the configuration from all layers.
    pub fn load(sources: &Sources<'_>) -> Result<Config, ConfigError> {
        let env = sources.env;
        let (path, explicit) = match sources
            .config_path
            .clone()
            .or_else(|| env("PROXY_CONFIG").map(PathBuf::from))
        {
            Some(p) => (p, true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        if explicit && !path.exists() {
            return Err(ConfigError::Parse(format!(
                "config file {} does not exist",
                path.display()
            )));
        }
        let proxy_env = || {
            Env::prefixed(ENV_PREFIX)
                .split("__")
                // Not configuration keys: the file path and the client API keys.
                .ignore(&["config", "api_keys", "api_keys_file"])
                .filter(|k| !k.as_str().is_empty())
        };
        // Only the named file (no search in parent directories); a missing default is fine.
        let with_file = || {
            let defaults = Figment::from(Serialized::defaults(RawConfig::default()));
            if path.exists() {
                defaults.merge(Toml::file_exact(&path))
            } else {
                defaults
            }
        };
        let base = with_file().merge(proxy_env());
        // The legacy variables sit between the file and the PROXY_ variables.
        let default_name: String = base
            .extract_inner("server.default_profile")
            .map_err(|e| ConfigError::Parse(figment_message(&e)))?;
        let current_region: Option<String> = base
            .extract_inner(&format!("profiles.{default_name}.region"))
            .ok();
        let figment = match legacy_layer(env, &default_name, current_region.as_deref()) {
            Some(layer) => with_file().merge(layer).merge(proxy_env()),
            None => base,
        };
        let raw: RawConfig = figment
            .extract()
            .map_err(|e| ConfigError::Parse(figment_message(&e)))?;
        validate(raw, &figment, env)
    }
}

/// `INFERENCE_PROFILE` as a configuration layer. A profile name selects the default profile;
/// anything else is the default profile's model id. Its region: the profile's own when that is
/// a source region of the id's geography (`eu.`, `us.`, …), else `AWS_REGION` when that is one,
/// else the geography's usual source region. An id without a geography prefix uses
/// `AWS_REGION` when set, else keeps the profile's region.
fn legacy_layer(
    env: &dyn Fn(&str) -> Option<String>,
    default_name: &str,
    current_region: Option<&str>,
) -> Option<Figment> {
    let value = env("INFERENCE_PROFILE")?;
    let value = value.trim().to_string();
    let mut layer = serde_json::Map::new();
    // Model ids always contain a `.` (`anthropic.…`) or a `:` (ARNs); profile names need not.
    let is_profile_name = !value.contains('.') && !value.contains(':');
    if is_profile_name {
        layer.insert(
            "server".into(),
            serde_json::json!({ "default_profile": value }),
        );
    } else {
        let mut profile = serde_json::json!({ "model_id": value });
        let region = match Geography::of_model_id(&value) {
            Some(geo) if current_region.is_some_and(|r| geo.accepts_region(r)) => None,
            Some(geo) => Some(
                aws_region(env)
                    .filter(|r| geo.accepts_region(r))
                    .unwrap_or_else(|| geo.default_region.to_string()),
            ),
            None => aws_region(env),
        };
        if let Some(region) = region {
            profile["region"] = serde_json::Value::String(region);
        }
        layer.insert(
            "profiles".into(),
            serde_json::json!({ default_name: profile }),
        );
    }
    Some(Figment::from(Named {
        inner: Serialized::defaults(serde_json::Value::Object(layer)),
        name: LEGACY_LAYER,
    }))
}

/// Name of the `INFERENCE_PROFILE` layer in messages.
const LEGACY_LAYER: &str = "environment variable INFERENCE_PROFILE";

/// A serialized layer with a name of its own, so errors and `--check` say where it came from.
struct Named {
    inner: Serialized<serde_json::Value>,
    name: &'static str,
}

impl figment::Provider for Named {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named(self.name)
    }
    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        self.inner.data()
    }
}

fn aws_region(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION"))
}

fn figment_message(e: &figment::Error) -> String {
    e.clone()
        .into_iter()
        .map(|e| {
            // Chain entries as `[i]`: `profiles.eu.request_transformers[0]` (the only arrays;
            // a profile may well be named `0`).
            let mut key = String::new();
            for p in e.path.iter().skip_while(|p| p.as_str() == "default") {
                if key.ends_with("_transformers") && p.chars().all(|c| c.is_ascii_digit()) {
                    key.push_str(&format!("[{p}]"));
                } else {
                    if !key.is_empty() {
                        key.push('.');
                    }
                    key.push_str(p);
                }
            }
            let from = match &e.metadata {
                Some(md) if md.name.contains("environment") => {
                    let var_key = key.split('[').next().unwrap_or(&key);
                    format!("environment variable {}", env_var_name(var_key))
                }
                Some(md) => match &md.source {
                    Some(figment::Source::File(p)) => p.display().to_string(),
                    _ => md.name.to_string(),
                },
                None => "configuration".to_string(),
            };
            if key.is_empty() {
                format!("{} (from {from})", e.kind)
            } else {
                format!("{key} (from {from}): {}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `server.port` → `PROXY_SERVER__PORT`.
fn env_var_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_uppercase().replace('.', "__"))
}

/// Describe where a key's value came from, e.g. `proxy.toml` or `PROXY_SERVER__PORT`.
fn origin(figment: &Figment, key: &str) -> String {
    // A key nobody set (e.g. the region of a new profile) is described by its nearest parent.
    let mut parts: Vec<&str> = key.split('.').collect();
    let md = loop {
        if parts.is_empty() {
            return "built-in defaults".to_string();
        }
        if let Some(md) = figment.find_metadata(&parts.join(".")) {
            break md;
        }
        parts.pop();
    };
    if md.name == LEGACY_LAYER {
        return LEGACY_LAYER.to_string();
    }
    if md.name.contains("environment") {
        return format!("environment variable {}", env_var_name(key));
    }
    match &md.source {
        Some(figment::Source::File(p)) => p.display().to_string(),
        _ if md.name == "Serialized" => "built-in defaults".to_string(),
        _ => md.name.to_string(),
    }
}

fn invalid(figment: &Figment, key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        source_name: origin(figment, key),
        problem: problem.into(),
    }
}

fn duration(figment: &Figment, key: &str, secs: f64) -> Result<Duration, ConfigError> {
    if secs.is_finite() && secs > 0.0 && secs < 1e9 {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err(invalid(
            figment,
            key,
            format!("must be a positive number of seconds, got {secs}"),
        ))
    }
}

/// An http(s) URL without a trailing slash, or why it is not one.
fn http_url(url: &str) -> Result<String, String> {
    let trimmed = url.trim().trim_end_matches('/');
    match reqwest::Url::parse(trimmed) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host_str().is_some() => {
            Ok(trimmed.to_string())
        }
        Ok(_) => Err(format!("'{url}' is not an http(s) URL")),
        Err(e) => Err(format!("'{url}' is not a valid URL: {e}")),
    }
}

fn check_url(figment: &Figment, key: &str, url: &str) -> Result<String, ConfigError> {
    http_url(url).map_err(|problem| invalid(figment, key, problem))
}

fn parse_host(figment: &Figment, host: &str) -> Result<IpAddr, ConfigError> {
    if host == "localhost" {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    host.parse().map_err(|_| {
        invalid(
            figment,
            "server.host",
            format!("'{host}' is not an IP address (use e.g. 127.0.0.1, ::1 or 0.0.0.0)"),
        )
    })
}

fn validate(
    raw: RawConfig,
    figment: &Figment,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut warnings = Vec::new();
    let host = parse_host(figment, &raw.server.host)?;
    let stream_keepalive = duration(
        figment,
        "server.stream_keepalive_secs",
        raw.server.stream_keepalive_secs,
    )?;
    let up = &raw.upstream;
    let connect = duration(
        figment,
        "upstream.connect_timeout_secs",
        up.connect_timeout_secs,
    )?;
    let first_byte = duration(
        figment,
        "upstream.first_byte_timeout_secs",
        up.first_byte_timeout_secs,
    )?;
    let idle = duration(figment, "upstream.idle_timeout_secs", up.idle_timeout_secs)?;
    let shutdown_grace = duration(
        figment,
        "server.shutdown_grace_secs",
        raw.server.shutdown_grace_secs,
    )?;
    let retry = retry_policy(figment, "retry", &raw.retry, &RawRetryOverride::default())?;

    let runtime_env = env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
        .map(|u| ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", u))
        .or_else(|| env("AWS_ENDPOINT_URL").map(|u| ("AWS_ENDPOINT_URL", u)));
    let control_env = env("AWS_ENDPOINT_URL_BEDROCK")
        .map(|u| ("AWS_ENDPOINT_URL_BEDROCK", u))
        .or_else(|| env("AWS_ENDPOINT_URL").map(|u| ("AWS_ENDPOINT_URL", u)));
    let env_url = |var: &str, url: &str| {
        http_url(url).map_err(|problem| ConfigError::Invalid {
            key: var.to_string(),
            source_name: format!("environment variable {var}"),
            problem,
        })
    };
    let runtime_env = runtime_env.map(|(v, u)| env_url(v, &u)).transpose()?;
    let control_env = control_env.map(|(v, u)| env_url(v, &u)).transpose()?;
    let fallback_region = aws_region(env);
    let models = ModelsConfig {
        ttl: duration(figment, "models.ttl_secs", raw.models.ttl_secs)?,
        stale: match raw.models.stale_secs {
            0.0 => Duration::ZERO,
            s => duration(figment, "models.stale_secs", s)?,
        },
        max_entries: match raw.models.max_entries {
            0 => return Err(invalid(figment, "models.max_entries", "must be at least 1")),
            n => n,
        },
        endpoint_override: control_env.clone(),
    };
    let routing = routing(figment, &raw, runtime_env.clone())?;

    let mut profiles = Vec::new();
    for (name, p) in &raw.profiles {
        let key = |field: &str| format!("profiles.{name}.{field}");
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(invalid(
                figment,
                &format!("profiles.{name}"),
                "profile names may only contain letters, digits, '-', '_' and '.'",
            ));
        }
        let model_id = p.model_id.trim().to_string();
        if model_id.is_empty() {
            return Err(invalid(figment, &key("model_id"), "must not be empty"));
        }
        let region = match p.region.clone().or_else(|| fallback_region.clone()) {
            Some(r) if valid_region(&r) => r,
            Some(r) => {
                return Err(invalid(
                    figment,
                    &key("region"),
                    format!("'{r}' is not an AWS region name (e.g. eu-central-1)"),
                ))
            }
            None => {
                return Err(invalid(
                    figment,
                    &key("region"),
                    "no region: set it in the profile or set AWS_REGION",
                ))
            }
        };
        if let Some(geo) = Geography::of_model_id(&model_id) {
            if !geo.accepts_region(&region) {
                warnings.push(format!(
                    "profile '{name}': model id '{model_id}' is a '{}.' cross-region profile but region '{region}' is not one of its source regions (e.g. {}); Bedrock will likely reject it",
                    geo.prefix, geo.default_region
                ));
            }
        }
        let runtime_endpoint = match &p.endpoint_url {
            Some(u) => check_url(figment, &key("endpoint_url"), u)?,
            None => runtime_env
                .clone()
                .unwrap_or_else(|| format!("https://bedrock-runtime.{region}.amazonaws.com")),
        };
        let control_endpoint = match &p.control_endpoint_url {
            Some(u) => check_url(figment, &key("control_endpoint_url"), u)?,
            None => models.endpoint_for(&region),
        };
        let timeouts = Timeouts {
            connect: match p.connect_timeout_secs {
                Some(s) => duration(figment, &key("connect_timeout_secs"), s)?,
                None => connect,
            },
            first_byte: match p.first_byte_timeout_secs {
                Some(s) => duration(figment, &key("first_byte_timeout_secs"), s)?,
                None => first_byte,
            },
            idle: match p.idle_timeout_secs {
                Some(s) => duration(figment, &key("idle_timeout_secs"), s)?,
                None => idle,
            },
        };
        let retry = match &p.retry {
            Some(own) => retry_policy(figment, &key("retry"), &raw.retry, own)?,
            None => retry,
        };
        let transformers = chain_specs(
            figment,
            &format!("profiles.{name}."),
            &p.request_transformers,
            &p.response_transformers,
        )?;
        profiles.push(ProfileConfig {
            name: name.clone(),
            model_id,
            region,
            runtime_endpoint,
            control_endpoint,
            aws_profile: p.aws_profile.clone().filter(|s| !s.is_empty()),
            timeouts,
            retry,
            fallback: fallback_chain(figment, &raw.profiles, name)?,
            transformers,
        });
    }
    let default_profile = raw.server.default_profile.clone();
    if !raw.profiles.contains_key(&default_profile) {
        return Err(invalid(
            figment,
            "server.default_profile",
            format!(
                "profile '{default_profile}' is not defined; defined profiles: {}",
                raw.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let limits = limits(figment, &raw.limits)?;
    let auth = auth(figment, &raw.auth, env)?;
    let addr = SocketAddr::new(host, raw.server.port);
    auth.check_exposure(&addr)
        .map_err(|problem| invalid(figment, "server.host", problem))?;
    let transformers = chain_specs(
        figment,
        "",
        &raw.request_transformers,
        &raw.response_transformers,
    )?;
    Ok(Config {
        server: ServerConfig {
            addr,
            stream_keepalive,
            shutdown_grace,
        },
        models,
        routing,
        default_profile,
        profiles,
        warnings,
        limits,
        auth,
        transformers,
    })
}

/// `[retry]` (prefix `retry`) with a profile's overrides (prefix `profiles.NAME.retry`).
fn retry_policy(
    figment: &Figment,
    prefix: &str,
    base: &RawRetry,
    own: &RawRetryOverride,
) -> Result<RetryPolicy, ConfigError> {
    let key = |field: &str| format!("{prefix}.{field}");
    let max_attempts = own.max_attempts.unwrap_or(base.max_attempts);
    if max_attempts == 0 {
        return Err(invalid(
            figment,
            &key("max_attempts"),
            "must be at least 1 (1 means no retries)",
        ));
    }
    let secs = |field: &str, own: Option<f64>, base: f64| {
        // An inherited value was already checked under `retry.`.
        let k = if own.is_some() {
            key(field)
        } else {
            format!("retry.{field}")
        };
        duration(figment, &k, own.unwrap_or(base))
    };
    Ok(RetryPolicy {
        max_attempts,
        base_delay: secs("base_delay_secs", own.base_delay_secs, base.base_delay_secs)?,
        max_delay: secs("max_delay_secs", own.max_delay_secs, base.max_delay_secs)?,
        max_elapsed: secs(
            "max_elapsed_secs",
            own.max_elapsed_secs,
            base.max_elapsed_secs,
        )?,
    })
}

/// The profiles `name` falls back to, in the order they are tried: each entry of its
/// `fallback`, followed by that profile's own fallbacks (depth first). A profile appears at
/// most once, so cycles end by themselves. Unknown names are errors.
fn fallback_chain(
    figment: &Figment,
    profiles: &BTreeMap<String, RawProfile>,
    name: &str,
) -> Result<Vec<String>, ConfigError> {
    fn visit(
        figment: &Figment,
        profiles: &BTreeMap<String, RawProfile>,
        from: &str,
        seen: &mut Vec<String>,
    ) -> Result<(), ConfigError> {
        let Some(profile) = profiles.get(from) else {
            return Ok(());
        };
        for next in &profile.fallback {
            if !profiles.contains_key(next) {
                return Err(invalid(
                    figment,
                    &format!("profiles.{from}.fallback"),
                    format!(
                        "profile '{next}' is not defined; defined profiles: {}",
                        profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            if next == from {
                return Err(invalid(
                    figment,
                    &format!("profiles.{from}.fallback"),
                    format!("profile '{from}' cannot fall back to itself"),
                ));
            }
            if !seen.contains(next) {
                seen.push(next.clone());
                visit(figment, profiles, next, seen)?;
            }
        }
        Ok(())
    }
    let mut seen = vec![name.to_string()];
    visit(figment, profiles, name, &mut seen)?;
    seen.remove(0);
    Ok(seen)
}

fn limits(figment: &Figment, raw: &RawLimits) -> Result<LimitsConfig, ConfigError> {
    if raw.max_body_bytes == 0 {
        return Err(invalid(
            figment,
            "limits.max_body_bytes",
            "must be a positive number of bytes",
        ));
    }
    Ok(LimitsConfig {
        max_body_bytes: raw.max_body_bytes,
        max_concurrent_upstream: match raw.max_concurrent_upstream {
            0 => None,
            n => Some(n as usize),
        },
        queue_timeout: duration(figment, "limits.queue_timeout_secs", raw.queue_timeout_secs)?,
    })
}

/// `[auth]` plus the client API keys from `PROXY_API_KEYS` and the key file.
fn auth(
    figment: &Figment,
    raw: &RawAuth,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AuthConfig, ConfigError> {
    let mut keys: Vec<String> = Vec::new();
    if let Some(list) = env("PROXY_API_KEYS") {
        keys.extend(
            list.split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_string),
        );
        if keys.is_empty() {
            return Err(ConfigError::Invalid {
                key: "PROXY_API_KEYS".into(),
                source_name: "environment variable PROXY_API_KEYS".into(),
                problem: "contains no key (expected comma-separated keys)".into(),
            });
        }
    }
    let file = match env("PROXY_API_KEYS_FILE") {
        Some(path) => Some((
            path,
            "PROXY_API_KEYS_FILE",
            "environment variable PROXY_API_KEYS_FILE".to_string(),
        )),
        None => raw
            .api_keys_file
            .clone()
            .filter(|p| !p.is_empty())
            .map(|p| {
                (
                    p,
                    "auth.api_keys_file",
                    origin(figment, "auth.api_keys_file"),
                )
            }),
    };
    if let Some((path, key, source_name)) = file {
        let problem = |problem: String| ConfigError::Invalid {
            key: key.into(),
            source_name: source_name.clone(),
            problem,
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| problem(format!("cannot read API key file '{path}': {e}")))?;
        let before = keys.len();
        keys.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
        if keys.len() == before {
            return Err(problem(format!(
                "API key file '{path}' contains no key (one key per line; '#' starts a comment)"
            )));
        }
    }
    if let Some(bad) = keys
        .iter()
        .find(|k| k.chars().any(|c| c.is_whitespace() || c.is_control()) || k.len() > 4096)
    {
        // Name the problem, never the key.
        return Err(ConfigError::Parse(format!(
            "a client API key ({} characters) contains whitespace or control characters, or is longer than 4096 characters",
            bad.chars().count()
        )));
    }
    for (i, path) in raw.open_paths.iter().enumerate() {
        if !path.starts_with('/') {
            return Err(invalid(
                figment,
                &format!("auth.open_paths.{i}"),
                format!("'{path}' must start with '/'"),
            ));
        }
    }
    Ok(AuthConfig {
        keys: ApiKeys::new(&keys),
        allow_unauthenticated: raw.allow_unauthenticated,
        open_paths: raw.open_paths.clone(),
    })
}

/// The chains under `prefix` (`""` or `profiles.NAME.`): each entry's `name` and options,
/// with the key and source to name in messages. Whether a name and its options are valid is
/// up to the transformer registry, when the proxy is built.
fn chain_specs(
    figment: &Figment,
    prefix: &str,
    request: &Option<RawChain>,
    response: &Option<RawChain>,
) -> Result<ChainSpecs, ConfigError> {
    let specs = |field: &str, raw: &Option<RawChain>| -> Result<_, ConfigError> {
        let Some(entries) = raw else {
            return Ok(None);
        };
        let chain_key = format!("{prefix}{field}");
        let source_name = origin(figment, &chain_key);
        let mut out = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let key = format!("{chain_key}[{i}]");
            let fail = |problem: &str| ConfigError::Invalid {
                key: key.clone(),
                source_name: source_name.clone(),
                problem: problem.to_string(),
            };
            let mut options = entry.clone();
            let name = match options.remove("name") {
                Some(serde_json::Value::String(n)) if !n.trim().is_empty() => n.trim().to_string(),
                Some(serde_json::Value::String(_)) => return Err(fail("`name` must not be empty")),
                Some(_) => return Err(fail("`name` must be a string")),
                None => return Err(fail(
                    "missing `name`: each entry names a transformer, e.g. name = \"system_prompt\"",
                )),
            };
            out.push(TransformerSpec {
                name,
                options,
                key,
                source_name: source_name.clone(),
            });
        }
        Ok(Some(out))
    };
    Ok(ChainSpecs {
        request: specs("request_transformers", request)?,
        response: specs("response_transformers", response)?,
    })
}

/// `[routing]`, checked, with the built-in aliases added.
fn routing(
    figment: &Figment,
    raw: &RawConfig,
    runtime_endpoint_override: Option<String>,
) -> Result<RoutingConfig, ConfigError> {
    let mut aliases: BTreeMap<String, String> = BUILTIN_ALIASES
        .iter()
        .map(|a| (a.to_string(), raw.server.default_profile.clone()))
        .chain(
            BUILTIN_MODEL_ALIASES
                .iter()
                .map(|(a, id)| (a.to_string(), id.to_string())),
        )
        .collect();
    for (alias, target) in &raw.routing.aliases {
        let target = target.trim();
        let key = format!("routing.aliases.{alias}");
        if target.is_empty() {
            return Err(invalid(
                figment,
                &key,
                "must name a profile or a Bedrock model id",
            ));
        }
        let is_id = target.contains('.') || target.contains(':');
        if !is_id && !raw.profiles.contains_key(target) {
            return Err(invalid(
                figment,
                &key,
                format!(
                    "'{target}' is neither a defined profile ({}) nor a Bedrock model id",
                    raw.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        aliases.insert(alias.clone(), target.to_string());
    }
    let mut prefix_regions = BTreeMap::new();
    for (prefix, region) in &raw.routing.prefix_regions {
        let key = format!("routing.prefix_regions.{prefix}");
        if Geography::of_model_id(&format!("{prefix}.x")).is_none() {
            return Err(invalid(
                figment,
                &key,
                format!(
                    "'{prefix}' is not a cross-region prefix (us, eu, apac, jp, au, ca, global)"
                ),
            ));
        }
        if !valid_region(region) {
            return Err(invalid(
                figment,
                &key,
                format!("'{region}' is not an AWS region name (e.g. eu-central-1)"),
            ));
        }
        prefix_regions.insert(prefix.clone(), region.clone());
    }
    Ok(RoutingConfig {
        aliases,
        prefix_regions,
        runtime_endpoint_override,
    })
}
