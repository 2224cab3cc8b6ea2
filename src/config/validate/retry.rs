//! `[retry]` and `[profiles.NAME.retry]`.

use figment::Figment;

use super::{duration, invalid};
use crate::config::{RawRetry, RawRetryOverride};
use crate::settings::{ConfigError, RetryPolicy};

/// `[retry]` (prefix `retry`) with a profile's overrides (prefix `profiles.NAME.retry`).
pub(super) fn policy(
    figment: &Figment,
    prefix: &str,
    base: &RawRetry,
    own: &RawRetryOverride,
) -> Result<RetryPolicy, ConfigError> {
    let key = |field: &str| format!("{prefix}.{field}");
    let max_attempts = own.max_attempts.unwrap_or(base.max_attempts);
    if max_attempts == 0 {
        return Err(invalid(
            figment,
            &key("max_attempts"),
            "must be at least 1 (1 means no retries)",
        ));
    }
    let secs = |field: &str, own: Option<f64>, base: f64| {
        // An inherited value was already checked under `retry.`.
        let k = if own.is_some() {
            key(field)
        } else {
            format!("retry.{field}")
        };
        duration(figment, &k, own.unwrap_or(base))
    };
    Ok(RetryPolicy {
        max_attempts,
        base_delay: secs("base_delay_secs", own.base_delay_secs, base.base_delay_secs)?,
        max_delay: secs("max_delay_secs", own.max_delay_secs, base.max_delay_secs)?,
        max_elapsed: secs(
            "max_elapsed_secs",
            own.max_elapsed_secs,
            base.max_elapsed_secs,
        )?,
    })
}
