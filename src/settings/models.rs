use std::time::Duration;

/// The control-plane cache settings.
#[derive(Debug, Clone)]
pub struct ModelsConfig {
    pub ttl: Duration,
    pub stale: Duration,
    pub max_entries: u64,
    /// Control-plane base URL for regions no profile is in: `AWS_ENDPOINT_URL_BEDROCK`, then
    /// `AWS_ENDPOINT_URL`; `None` means `https://bedrock.{region}.amazonaws.com`.
    pub endpoint_override: Option<String>,
}

impl ModelsConfig {
    /// The control-plane base URL for `region` when no profile says otherwise.
    pub fn endpoint_for(&self, region: &str) -> String {
        self.endpoint_override
            .clone()
            .unwrap_or_else(|| format!("https://bedrock.{region}.amazonaws.com"))
    }
}
