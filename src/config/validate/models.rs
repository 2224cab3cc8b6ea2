//! `[models]`: the control-plane cache.

use std::time::Duration;

use figment::Figment;

use super::{duration, invalid};
use crate::config::RawModels;
use crate::settings::{ConfigError, ModelsConfig};

/// `[models]`; `endpoint_override` is the control-plane URL from the environment, if any.
pub(super) fn models(
    figment: &Figment,
    raw: &RawModels,
    endpoint_override: Option<String>,
) -> Result<ModelsConfig, ConfigError> {
    Ok(ModelsConfig {
        ttl: duration(figment, "models.ttl_secs", raw.ttl_secs)?,
        stale: match raw.stale_secs {
            0.0 => Duration::ZERO,
            s => duration(figment, "models.stale_secs", s)?,
        },
        max_entries: match raw.max_entries {
            0 => return Err(invalid(figment, "models.max_entries", "must be at least 1")),
            n => n,
        },
        endpoint_override,
    })
}
