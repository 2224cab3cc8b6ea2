//! `RawConfig` → `Config`: one function per section, in the order the sections are checked
//! (the first problem found is the one reported).

mod auth;
mod chains;
mod limits;
mod metrics;
mod models;
mod profiles;
mod retry;
mod routing;
mod server;
mod upstream;

use std::time::Duration;

use figment::Figment;

use super::layers::{aws_region, origin};
use super::{RawConfig, RawRetryOverride, ReadEnv};
use crate::settings::{Config, ConfigError};

/// Check every section of `raw`; `figment` says where each value came from.
pub(super) fn validate(
    raw: &RawConfig,
    figment: &Figment,
    env: ReadEnv<'_>,
) -> Result<Config, ConfigError> {
    let mut warnings = Vec::new();
    let server = server::server(figment, &raw.server)?;
    let timeouts = upstream::timeouts(figment, &raw.upstream)?;
    let retry = retry::policy(figment, "retry", &raw.retry, &RawRetryOverride::default())?;
    let endpoints = upstream::env_endpoints(env)?;
    let models = models::models(figment, &raw.models, endpoints.control.clone())?;
    let routing = routing::routing(figment, raw, endpoints.runtime.clone())?;
    let defaults = profiles::Defaults {
        region: aws_region(env),
        runtime_endpoint: endpoints.runtime,
        models: &models,
        timeouts,
        retry,
    };
    let profiles = profiles::profiles(figment, raw, &defaults, &mut warnings)?;
    let default_profile = server::default_profile(figment, raw)?;
    let limits = limits::limits(figment, &raw.limits)?;
    let auth = auth::auth(figment, &raw.auth, env)?;
    auth.check_exposure(&server.addr)
        .map_err(|problem| invalid(figment, "server.host", problem))?;
    let transformers = chains::chain_specs(
        figment,
        "",
        raw.request_transformers.as_ref(),
        raw.response_transformers.as_ref(),
    )?;
    let metrics = metrics::metrics(figment, &raw.metrics)?;
    let log = metrics::log(figment, &raw.log)?;
    Ok(Config {
        metrics,
        log,
        server,
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

/// A problem with the value at `key`, naming where it came from.
fn invalid(figment: &Figment, key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        source_name: origin(figment, key),
        problem: problem.into(),
    }
}

/// A positive, finite number of seconds.
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
