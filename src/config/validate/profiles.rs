//! `[profiles.NAME]`: model id, region, endpoints, timeouts, retries, chains, fallbacks.

use std::collections::BTreeMap;

use figment::Figment;

use super::chains::chain_specs;
use super::upstream::check_url;
use super::{duration, invalid, retry};
use crate::aws::{valid_region, Geography};
use crate::config::{RawConfig, RawProfile};
use crate::settings::{ConfigError, ModelsConfig, ProfileConfig, RetryPolicy, Timeouts};

/// What a profile inherits when it does not say otherwise.
pub(super) struct Defaults<'a> {
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region: Option<String>,
    /// The bedrock-runtime URL from the environment.
    pub runtime_endpoint: Option<String>,
    /// For the control-plane URL of the profile's region.
    pub models: &'a ModelsConfig,
    /// `[upstream]`.
    pub timeouts: Timeouts,
    /// `[retry]`.
    pub retry: RetryPolicy,
}

/// Every profile, sorted by name; findings that are not errors go to `warnings`.
pub(super) fn profiles(
    figment: &Figment,
    raw: &RawConfig,
    defaults: &Defaults<'_>,
    warnings: &mut Vec<String>,
) -> Result<Vec<ProfileConfig>, ConfigError> {
    let mut profiles = Vec::new();
    for (name, p) in &raw.profiles {
        profiles.push(profile(figment, raw, name, p, defaults, warnings)?);
    }
    Ok(profiles)
}

fn profile(
    figment: &Figment,
    raw: &RawConfig,
    name: &str,
    p: &RawProfile,
    defaults: &Defaults<'_>,
    warnings: &mut Vec<String>,
) -> Result<ProfileConfig, ConfigError> {
    let key = |field: &str| format!("profiles.{name}.{field}");
    check_name(figment, name)?;
    let model_id = p.model_id.trim().to_string();
    if model_id.is_empty() {
        return Err(invalid(figment, &key("model_id"), "must not be empty"));
    }
    let region = region(
        figment,
        name,
        p.region.clone().or_else(|| defaults.region.clone()),
    )?;
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
        None => defaults
            .runtime_endpoint
            .clone()
            .unwrap_or_else(|| format!("https://bedrock-runtime.{region}.amazonaws.com")),
    };
    let control_endpoint = match &p.control_endpoint_url {
        Some(u) => check_url(figment, &key("control_endpoint_url"), u)?,
        None => defaults.models.endpoint_for(&region),
    };
    let timeouts = timeouts(figment, name, p, defaults.timeouts)?;
    let retry = match &p.retry {
        Some(own) => retry::policy(figment, &key("retry"), &raw.retry, own)?,
        None => defaults.retry,
    };
    let transformers = chain_specs(
        figment,
        &format!("profiles.{name}."),
        p.request_transformers.as_ref(),
        p.response_transformers.as_ref(),
    )?;
    Ok(ProfileConfig {
        name: name.to_string(),
        model_id,
        region,
        runtime_endpoint,
        control_endpoint,
        aws_profile: p.aws_profile.clone().filter(|s| !s.is_empty()),
        timeouts,
        retry,
        fallback: fallback_chain(figment, &raw.profiles, name)?,
        transformers,
        prompt_cache: p.prompt_cache.unwrap_or(false),
    })
}

fn check_name(figment: &Figment, name: &str) -> Result<(), ConfigError> {
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
    Ok(())
}

/// The profile's own region, else the one from the environment.
fn region(figment: &Figment, name: &str, region: Option<String>) -> Result<String, ConfigError> {
    let key = format!("profiles.{name}.region");
    match region {
        Some(r) if valid_region(&r) => Ok(r),
        Some(r) => Err(invalid(
            figment,
            &key,
            format!("'{r}' is not an AWS region name (e.g. eu-central-1)"),
        )),
        None => Err(invalid(
            figment,
            &key,
            "no region: set it in the profile or set AWS_REGION",
        )),
    }
}

/// The profile's own timeouts where written, else `[upstream]`'s.
fn timeouts(
    figment: &Figment,
    name: &str,
    p: &RawProfile,
    upstream: Timeouts,
) -> Result<Timeouts, ConfigError> {
    let own = |field: &str, secs: Option<f64>, inherited| match secs {
        Some(s) => duration(figment, &format!("profiles.{name}.{field}"), s),
        None => Ok(inherited),
    };
    Ok(Timeouts {
        connect: own(
            "connect_timeout_secs",
            p.connect_timeout_secs,
            upstream.connect,
        )?,
        first_byte: own(
            "first_byte_timeout_secs",
            p.first_byte_timeout_secs,
            upstream.first_byte,
        )?,
        idle: own("idle_timeout_secs", p.idle_timeout_secs, upstream.idle)?,
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
