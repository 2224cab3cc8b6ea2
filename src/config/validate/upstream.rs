//! `[upstream]` (every profile's default timeouts) and the AWS SDK endpoint variables.

use figment::Figment;

use super::{duration, invalid};
use crate::config::{RawUpstream, ReadEnv};
use crate::settings::{ConfigError, Timeouts};

/// `[upstream]`: the timeouts of every profile that does not set its own.
pub(super) fn timeouts(figment: &Figment, raw: &RawUpstream) -> Result<Timeouts, ConfigError> {
    let connect = duration(
        figment,
        "upstream.connect_timeout_secs",
        raw.connect_timeout_secs,
    )?;
    let first_byte = duration(
        figment,
        "upstream.first_byte_timeout_secs",
        raw.first_byte_timeout_secs,
    )?;
    let idle = duration(figment, "upstream.idle_timeout_secs", raw.idle_timeout_secs)?;
    Ok(Timeouts {
        connect,
        first_byte,
        idle,
    })
}

/// Base URLs from the AWS SDK endpoint variables, checked.
pub(super) struct EnvEndpoints {
    /// `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, else `AWS_ENDPOINT_URL`.
    pub runtime: Option<String>,
    /// `AWS_ENDPOINT_URL_BEDROCK`, else `AWS_ENDPOINT_URL`.
    pub control: Option<String>,
}

pub(super) fn env_endpoints(env: ReadEnv<'_>) -> Result<EnvEndpoints, ConfigError> {
    let runtime = env("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
        .map(|u| ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", u))
        .or_else(|| env("AWS_ENDPOINT_URL").map(|u| ("AWS_ENDPOINT_URL", u)));
    let control = env("AWS_ENDPOINT_URL_BEDROCK")
        .map(|u| ("AWS_ENDPOINT_URL_BEDROCK", u))
        .or_else(|| env("AWS_ENDPOINT_URL").map(|u| ("AWS_ENDPOINT_URL", u)));
    let env_url = |var: &str, url: &str| {
        http_url(url).map_err(|problem| ConfigError::Invalid {
            key: var.to_string(),
            source_name: format!("environment variable {var}"),
            problem,
        })
    };
    Ok(EnvEndpoints {
        runtime: runtime.map(|(v, u)| env_url(v, &u)).transpose()?,
        control: control.map(|(v, u)| env_url(v, &u)).transpose()?,
    })
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

/// The URL at `key`, checked as by [`http_url`].
pub(super) fn check_url(figment: &Figment, key: &str, url: &str) -> Result<String, ConfigError> {
    http_url(url).map_err(|problem| invalid(figment, key, problem))
}
