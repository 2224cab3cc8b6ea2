//! `[limits]`.

use figment::Figment;

use super::{duration, invalid};
use crate::config::RawLimits;
use crate::settings::{ConfigError, LimitsConfig};

pub(super) fn limits(figment: &Figment, raw: &RawLimits) -> Result<LimitsConfig, ConfigError> {
    if raw.max_body_bytes == 0 {
        return Err(invalid(
            figment,
            "limits.max_body_bytes",
            "must be a positive number of bytes",
        ));
    }
    Ok(LimitsConfig {
        max_body_bytes: raw.max_body_bytes,
        max_concurrent_upstream: match raw.max_concurrent_upstream {
            0 => None,
            n => Some(n as usize),
        },
        queue_timeout: duration(figment, "limits.queue_timeout_secs", raw.queue_timeout_secs)?,
    })
}
