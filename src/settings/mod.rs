//! The checked configuration as plain data: what `config` produces from the layered sources
//! and what the rest of the proxy reads.
//!
//! Only [`crate::aws`] is imported from the crate; no loading, no HTTP, no runtime state.

mod auth;
mod chains;
mod error;
mod limits;
mod metrics;
mod models;
mod profile;
mod retry;
mod routing;
mod server;

pub use auth::{positional_name, ApiKeys, AuthConfig};
pub use chains::{ChainSpecs, TransformerSpec};
pub use error::ConfigError;
pub use limits::LimitsConfig;
pub use metrics::{
    default_prices, LogConfig, LogFormat, MetricsConfig, Price, Rates, DEFAULT_PRICES,
};
pub use models::ModelsConfig;
pub use profile::{ProfileConfig, Timeouts};
pub use retry::RetryPolicy;
pub use routing::{RoutingConfig, BEDROCK_BETAS};
pub use server::ServerConfig;

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub models: ModelsConfig,
    pub routing: RoutingConfig,
    pub default_profile: String,
    /// Sorted by name.
    pub profiles: Vec<ProfileConfig>,
    /// Non-fatal findings (e.g. a geography prefix that does not fit the region).
    pub warnings: Vec<String>,
    pub limits: LimitsConfig,
    pub auth: AuthConfig,
    /// The default transformer chains, for profiles that do not write their own.
    pub transformers: ChainSpecs,
    /// `/metrics` and the price table.
    pub metrics: MetricsConfig,
    pub log: LogConfig,
}
