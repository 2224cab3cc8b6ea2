//! Layered configuration: built-in defaults < `proxy.toml` < `.env` < the environment.
//!
//! figment merges the layers (`layers.rs`) into [`RawConfig`] (`raw.rs`; unknown keys are
//! errors), then `validate/` turns it into the checked [`Config`] of [`crate::settings`], which
//! the rest of the program uses. Every error names where the bad value came from (file or
//! variable), the key, and what is wrong. `.env` is loaded by `main` with dotenvy before this
//! runs, so it sits just under the real environment (dotenvy never overrides a variable that is
//! already set). This is the only module that uses figment.
//!
//! Besides the `PROXY_…` variables, the variables of the original proxy keep working:
//! `AWS_REGION` (region of any profile that names none), `INFERENCE_PROFILE` (model id, or
//! profile name, of the default profile) and the AWS SDK endpoint variables
//! `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, `AWS_ENDPOINT_URL_BEDROCK`, `AWS_ENDPOINT_URL`.
//! Secrets are never read from here: credentials come from the AWS credential chain.

mod layers;
mod raw;
mod validate;

use std::path::PathBuf;

pub use crate::aws::valid_region;
pub use crate::settings::{
    AuthConfig, ChainSpecs, Config, ConfigError, LimitsConfig, ModelsConfig, ProfileConfig,
    ServerConfig, TransformerSpec,
};
pub use raw::{
    RawAuth, RawChain, RawConfig, RawLimits, RawLog, RawMetrics, RawModels, RawPrice, RawProfile,
    RawRetry, RawRetryOverride, RawRouting, RawServer, RawUpstream,
};

/// How the configuration reads the environment: `Some(value)` for a variable that is set.
type ReadEnv<'a> = &'a dyn Fn(&str) -> Option<String>;

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

/// Anthropic model names routed to the default profile unless `[routing.aliases]` says
/// otherwise (the built-in profiles all serve this model).
pub const BUILTIN_ALIASES: &[&str] = &[
    "claude-sonnet-4-20250514",
    "claude-sonnet-4-0",
    "claude-sonnet-4",
];

/// Anthropic model names and the Bedrock ids they are called as (US cross-region profiles,
/// where Bedrock offers every one of them): the fallback of `core::names` when the control
/// plane cannot be asked (names are otherwise resolved from the catalog); `[routing.aliases]`
/// overrides any.
pub const BUILTIN_MODEL_ALIASES: &[(&str, &str)] = &[
    ("claude-opus-5-5", "us.anthropic.claude-opus-5-5"),
    ("claude-opus-4-6", "us.anthropic.claude-opus-4-6-v1"),
    (
        "claude-sonnet-4-5",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    ),
    (
        "claude-sonnet-4-5-20250929",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    ),
    (
        "claude-haiku-4-5",
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    ),
    (
        "claude-haiku-4-5-20251001",
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    ),
    (
        "claude-opus-4-1",
        "us.anthropic.claude-opus-4-1-20250805-v1:0",
    ),
    (
        "claude-opus-4-1-20250805",
        "us.anthropic.claude-opus-4-1-20250805-v1:0",
    ),
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
        load(sources)
    }
}

/// Load and validate the configuration from all layers (also as [`Config::load`]).
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
    let figment = layers::figment(&path, env)?;
    let raw: RawConfig = figment
        .extract()
        .map_err(|e| ConfigError::Parse(layers::figment_message(&e)))?;
    validate::validate(&raw, &figment, env)
}
