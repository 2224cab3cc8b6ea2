//! `[routing]`: aliases and the regions of geography prefixes.

use std::collections::BTreeMap;

use figment::Figment;

use super::invalid;
use crate::aws::{valid_region, Geography};
use crate::config::{RawConfig, BUILTIN_ALIASES};
use crate::settings::{ConfigError, RoutingConfig, BEDROCK_BETAS};

/// `[routing]`, checked, with the built-in aliases added.
pub(super) fn routing(
    figment: &Figment,
    raw: &RawConfig,
    runtime_endpoint_override: Option<String>,
) -> Result<RoutingConfig, ConfigError> {
    Ok(RoutingConfig {
        aliases: aliases(figment, raw)?,
        prefix_regions: prefix_regions(figment, &raw.routing.prefix_regions)?,
        runtime_endpoint_override,
        anthropic_betas: anthropic_betas(figment, raw)?,
    })
}

/// `anthropic_betas`: beta names, one per item; the built-in list when not set.
fn anthropic_betas(figment: &Figment, raw: &RawConfig) -> Result<Vec<String>, ConfigError> {
    let Some(list) = &raw.routing.anthropic_betas else {
        return Ok(BEDROCK_BETAS.iter().map(|b| b.to_string()).collect());
    };
    let mut out = Vec::new();
    for beta in list {
        let beta = beta.trim();
        if beta.is_empty() || beta.contains(',') || beta.contains(char::is_whitespace) {
            return Err(invalid(
                figment,
                "routing.anthropic_betas",
                format!(
                    "'{beta}' is not a beta name (one per item, e.g. \"context-1m-2025-08-07\")"
                ),
            ));
        }
        out.push(beta.to_string());
    }
    Ok(out)
}

/// The built-in aliases of the default profile, then `[routing.aliases]` (which override
/// them). Other Anthropic names are resolved from the catalog (`core::names`).
fn aliases(figment: &Figment, raw: &RawConfig) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut aliases: BTreeMap<String, String> = BUILTIN_ALIASES
        .iter()
        .map(|a| (a.to_string(), raw.server.default_profile.clone()))
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
    Ok(aliases)
}

/// `[routing.prefix_regions]`: a known geography prefix → a region name.
fn prefix_regions(
    figment: &Figment,
    raw: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut prefix_regions = BTreeMap::new();
    for (prefix, region) in raw {
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
    Ok(prefix_regions)
}
