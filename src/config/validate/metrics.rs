//! `[metrics]` (the price table) and `[log]`.

use figment::Figment;

use super::invalid;
use crate::config::{RawLog, RawMetrics};
use crate::settings::{
    default_prices, ConfigError, LogConfig, LogFormat, MetricsConfig, Price, Rates,
};

pub(super) fn metrics(figment: &Figment, raw: &RawMetrics) -> Result<MetricsConfig, ConfigError> {
    let mut prices: Vec<Price> = Vec::new();
    for (i, p) in raw.prices.iter().enumerate() {
        let key = |field: &str| format!("metrics.prices.{i}.{field}");
        if p.model.trim().is_empty() {
            return Err(invalid(
                figment,
                &key("model"),
                "must name a Bedrock model id",
            ));
        }
        if prices.iter().any(|q| q.model == p.model) {
            return Err(invalid(
                figment,
                &key("model"),
                format!("'{}' is priced twice", p.model),
            ));
        }
        for (field, v) in [
            ("input", p.input),
            ("output", p.output),
            ("cache_read", p.cache_read),
            ("cache_write", p.cache_write),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(invalid(
                    figment,
                    &key(field),
                    "must be a non-negative number of US dollars per million tokens",
                ));
            }
        }
        prices.push(Price {
            model: p.model.clone(),
            rates: Rates {
                input: p.input,
                output: p.output,
                cache_read: p.cache_read,
                cache_write: p.cache_write,
            },
        });
    }
    if raw.default_prices {
        let builtin: Vec<Price> = default_prices()
            .into_iter()
            .filter(|d| !prices.iter().any(|p| p.model == d.model))
            .collect();
        prices.extend(builtin);
    }
    Ok(MetricsConfig {
        enabled: raw.enabled,
        public: raw.public,
        prices,
    })
}

pub(super) fn log(figment: &Figment, raw: &RawLog) -> Result<LogConfig, ConfigError> {
    let format = match raw.format.as_str() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            return Err(invalid(
                figment,
                "log.format",
                format!("'{other}' is not a log format (expected 'text' or 'json')"),
            ))
        }
    };
    Ok(LogConfig { format })
}
