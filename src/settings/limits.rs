use std::time::Duration;

/// Checked `[limits]`.
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    pub max_body_bytes: u64,
    /// `None`: no cap.
    pub max_concurrent_upstream: Option<usize>,
    pub queue_timeout: Duration,
}
