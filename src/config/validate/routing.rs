//! `[routing]`: aliases and the regions of geography prefixes.

use std::collections::BTreeMap;

use figment::Figment;

use super::invalid;
use crate::aws::{valid_region, Geography};
use crate::config::{RawConfig, BUILTIN_ALIASES, BUILTIN_MODEL_ALIASES};
use crate::settings::{ConfigError, RoutingConfig};

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
    })
}

/// The built-in aliases, then `[routing.aliases]` (which override them).
fn aliases(figment: &Figment, raw: &RawConfig) -> Result<BTreeMap<String, String>, ConfigError> {
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
