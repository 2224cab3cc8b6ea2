use std::collections::BTreeMap;

use crate::aws::{arn_region, Geography};

/// The beta flags documented for Anthropic Claude on Bedrock's InvokeModel at the time of
/// writing (plus `thinking-token-count-2026-05-13`, which Claude Code sends to Bedrock itself).
/// Which of them a given model accepts differs; Bedrock still judges that. Also the default
/// allowlist of `/v1/messages` (`[routing] anthropic_betas`).
pub const BEDROCK_BETAS: &[&str] = &[
    "computer-use-2024-10-22",
    "computer-use-2025-01-24",
    "context-1m-2025-08-07",
    "context-management-2025-06-27",
    "dev-full-thinking-2025-05-14",
    "effort-2025-11-24",
    "fine-grained-tool-streaming-2025-05-14",
    "interleaved-thinking-2025-05-14",
    "output-128k-2025-02-19",
    "thinking-token-count-2026-05-13",
    "token-efficient-tools-2025-02-19",
    "tool-examples-2025-10-29",
    "tool-search-tool-2025-10-19",
];

/// The checked `[routing]` settings. Routing a request (`route`) is in `crate::core::router`.
#[derive(Debug, Clone, Default)]
pub struct RoutingConfig {
    /// Model name → profile name or Bedrock id.
    pub aliases: BTreeMap<String, String>,
    /// Geography prefix (`eu`) → region for direct calls with that prefix.
    pub prefix_regions: BTreeMap<String, String>,
    /// bedrock-runtime base URL for regions no profile is in (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`,
    /// then `AWS_ENDPOINT_URL`); `None`: `https://bedrock-runtime.{region}.amazonaws.com`.
    pub runtime_endpoint_override: Option<String>,
    /// The betas `/v1/messages` forwards to Bedrock (`anthropic_betas`; default
    /// `transform::BEDROCK_BETAS`).
    pub anthropic_betas: Vec<String>,
}

impl RoutingConfig {
    /// The region a direct call to `id` is made from.
    pub fn region_for(&self, id: &str, default_region: &str) -> String {
        if let Some(region) = arn_region(id) {
            return region.to_string();
        }
        match Geography::of_model_id(id) {
            Some(geo) if geo.accepts_region(default_region) => default_region.to_string(),
            Some(geo) => self
                .prefix_regions
                .get(geo.prefix)
                .cloned()
                .unwrap_or_else(|| geo.default_region.to_string()),
            None => default_region.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_regions_follow_the_arn_then_the_geography() {
        let mut cfg = RoutingConfig::default();
        let arn = "arn:aws:bedrock:eu-west-3:123456789012:application-inference-profile/x";
        assert_eq!(cfg.region_for(arn, "us-east-1"), "eu-west-3");
        assert_eq!(cfg.region_for("eu.anthropic.m", "eu-west-1"), "eu-west-1");
        assert_eq!(
            cfg.region_for("eu.anthropic.m", "us-east-1"),
            "eu-central-1"
        );
        cfg.prefix_regions.insert("eu".into(), "eu-north-1".into());
        assert_eq!(cfg.region_for("eu.anthropic.m", "us-east-1"), "eu-north-1");
        assert_eq!(
            cfg.region_for("global.anthropic.m", "ap-south-1"),
            "ap-south-1"
        );
        assert_eq!(cfg.region_for("anthropic.m", "ap-south-1"), "ap-south-1");
        assert_eq!(
            cfg.region_for("arn:aws:bedrock:bogus", "us-west-2"),
            "us-west-2"
        );
    }
}
