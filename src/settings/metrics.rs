//! Checked `[metrics]` and `[log]`: whether `/metrics` is served and to whom, the price table
//! that turns tokens into dollars, and the log format.

/// What one million tokens of each type cost on a model, in US dollars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
    pub cache_write: f64,
}

/// A model's rates; `model` is a Bedrock model id without its geography prefix
/// (`anthropic.claude-sonnet-4-20250514-v1:0`), or with one to price that inference profile
/// apart.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    pub model: String,
    pub rates: Rates,
}

/// Checked `[metrics]`.
#[derive(Debug, Clone)]
pub struct MetricsConfig {
    /// Serve `GET /metrics`.
    pub enabled: bool,
    /// Serve `/metrics` without a client key on a non-loopback address.
    pub public: bool,
    /// The price table: the configured entries, then (unless `default_prices = false`)
    /// [`DEFAULT_PRICES`] for the models not configured.
    pub prices: Vec<Price>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            public: false,
            prices: default_prices(),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Checked `[log]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogConfig {
    pub format: LogFormat,
}

/// Anthropic's list prices for Claude on Amazon Bedrock (on-demand, USD per million tokens:
/// input, output, prompt-cache read, prompt-cache write with the 5-minute TTL), as published
/// on the Amazon Bedrock and Anthropic pricing pages as of 2025-10. They cannot be checked from
/// this proxy (it never calls a pricing API): configure `[[metrics.prices]]` with the rates of
/// your account and region, which win over these.
pub const DEFAULT_PRICES: &[(&str, Rates)] = &[
    (
        "anthropic.claude-3-haiku-20240307-v1:0",
        rates(0.25, 1.25, 0.03, 0.30),
    ),
    (
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        rates(0.80, 4.0, 0.08, 1.0),
    ),
    (
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        rates(1.0, 5.0, 0.10, 1.25),
    ),
    (
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        rates(3.0, 15.0, 0.30, 3.75),
    ),
    (
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        rates(3.0, 15.0, 0.30, 3.75),
    ),
    (
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        rates(3.0, 15.0, 0.30, 3.75),
    ),
    (
        "anthropic.claude-sonnet-4-20250514-v1:0",
        rates(3.0, 15.0, 0.30, 3.75),
    ),
    (
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        rates(3.0, 15.0, 0.30, 3.75),
    ),
    (
        "anthropic.claude-3-opus-20240229-v1:0",
        rates(15.0, 75.0, 1.50, 18.75),
    ),
    (
        "anthropic.claude-opus-4-20250514-v1:0",
        rates(15.0, 75.0, 1.50, 18.75),
    ),
    (
        "anthropic.claude-opus-4-1-20250805-v1:0",
        rates(15.0, 75.0, 1.50, 18.75),
    ),
];

const fn rates(input: f64, output: f64, cache_read: f64, cache_write: f64) -> Rates {
    Rates {
        input,
        output,
        cache_read,
        cache_write,
    }
}

/// [`DEFAULT_PRICES`] as a table.
pub fn default_prices() -> Vec<Price> {
    DEFAULT_PRICES
        .iter()
        .map(|(model, rates)| Price {
            model: (*model).to_string(),
            rates: *rates,
        })
        .collect()
}
