//! Cross-region inference geographies (`us.`, `eu.`, `apac.`, …) and their source regions.

/// A cross-region inference geography, from the prefix of an inference-profile id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geography {
    /// The id prefix without the dot: `us`, `eu`, `apac`, `jp`, `au`, `ca`, `global`.
    pub prefix: &'static str,
    /// The source region this proxy uses when it has to pick one.
    pub default_region: &'static str,
    /// Region name prefixes that are source regions of this geography (`None`: any region).
    region_prefixes: Option<&'static [&'static str]>,
}

const GEOGRAPHIES: &[Geography] = &[
    Geography {
        prefix: "us",
        default_region: "us-east-1",
        region_prefixes: Some(&["us-"]),
    },
    Geography {
        prefix: "eu",
        default_region: "eu-central-1",
        region_prefixes: Some(&["eu-"]),
    },
    Geography {
        prefix: "apac",
        default_region: "ap-northeast-1",
        region_prefixes: Some(&["ap-"]),
    },
    Geography {
        prefix: "jp",
        default_region: "ap-northeast-1",
        region_prefixes: Some(&["ap-northeast-1", "ap-northeast-3"]),
    },
    Geography {
        prefix: "au",
        default_region: "ap-southeast-2",
        region_prefixes: Some(&["ap-southeast-2", "ap-southeast-4"]),
    },
    Geography {
        prefix: "ca",
        default_region: "ca-central-1",
        region_prefixes: Some(&["ca-"]),
    },
    Geography {
        prefix: "global",
        default_region: "us-east-1",
        region_prefixes: None,
    },
];

impl Geography {
    /// The geography of a cross-region inference-profile id (`eu.anthropic…` → eu), if any.
    pub fn of_model_id(model_id: &str) -> Option<Geography> {
        let prefix = model_id.split_once('.')?.0;
        GEOGRAPHIES.iter().copied().find(|g| g.prefix == prefix)
    }

    /// Whether `region` is a source region of this geography.
    pub fn accepts_region(&self, region: &str) -> bool {
        match self.region_prefixes {
            None => true,
            Some(prefixes) => prefixes.iter().any(|p| region.starts_with(p)),
        }
    }
}

/// CountTokens takes foundation-model ids only: `eu.anthropic.m` → `anthropic.m`. Other ids
/// (foundation models, ARNs) are kept.
pub fn foundation_model_id(id: &str) -> &str {
    match Geography::of_model_id(id) {
        Some(geo) => &id[geo.prefix.len() + 1..],
        None => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geography_from_prefix() {
        let eu = Geography::of_model_id("eu.anthropic.claude-sonnet-4-20250514-v1:0").unwrap();
        assert_eq!(eu.prefix, "eu");
        assert!(eu.accepts_region("eu-west-1"));
        assert!(!eu.accepts_region("us-east-1"));
        let apac = Geography::of_model_id("apac.anthropic.x").unwrap();
        assert!(!apac.accepts_region("us-east-1"));
        assert!(Geography::of_model_id("anthropic.claude-3-haiku-20240307-v1:0").is_none());
        assert!(Geography::of_model_id("global.x")
            .unwrap()
            .accepts_region("eu-west-3"));
    }

    #[test]
    fn count_tokens_drops_the_geography_prefix() {
        assert_eq!(
            foundation_model_id("eu.anthropic.claude-x-v1:0"),
            "anthropic.claude-x-v1:0"
        );
        assert_eq!(foundation_model_id("global.anthropic.m"), "anthropic.m");
        assert_eq!(foundation_model_id("anthropic.m"), "anthropic.m");
        let arn = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.m";
        assert_eq!(foundation_model_id(arn), arn);
    }
}
