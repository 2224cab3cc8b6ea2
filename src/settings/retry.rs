use std::time::Duration;

/// How one profile retries. Defaults follow the AWS SDKs' "standard" retry mode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts on this profile, the first included (1: no retries).
    pub max_attempts: u32,
    /// The n-th retry waits a uniformly random time in `[0, min(max_delay, base_delay * 2^(n-1)))`.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No retry or fallback attempt on this profile starts later than this after the
    /// request's first attempt; a backoff that would end later is not waited for.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(20),
            max_elapsed: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The longest the n-th retry (1-based) may wait: `min(max_delay, base_delay * 2^(n-1))`.
    pub fn backoff_cap(&self, retry: u32) -> Duration {
        let factor = 1u32 << retry.saturating_sub(1).min(30);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The wait before the n-th retry: full jitter, uniformly random below the cap.
    pub fn backoff(&self, retry: u32) -> Duration {
        self.backoff_cap(retry).mul_f64(fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_exponential_capped_and_jittered() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff_cap(1), Duration::from_secs(1));
        assert_eq!(p.backoff_cap(2), Duration::from_secs(2));
        assert_eq!(p.backoff_cap(5), Duration::from_secs(16));
        assert_eq!(p.backoff_cap(6), Duration::from_secs(20));
        assert_eq!(p.backoff_cap(1000), Duration::from_secs(20));
        let delays: Vec<Duration> = (0..50).map(|_| p.backoff(3)).collect();
        assert!(delays.iter().all(|d| *d < Duration::from_secs(4)));
        assert!(
            delays.windows(2).any(|w| w[0] != w[1]),
            "full jitter varies"
        );
    }
}
