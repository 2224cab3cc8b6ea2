//! The label sets of each metric, and the tables that bound label values.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};
use prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};

/// The label value of everything a table does not know.
pub const OTHER: &str = "other";
/// The `profile` of a request that reached no profile.
pub const NONE: &str = "none";

/// A closed set of label values, each shared: looking one up allocates nothing.
#[derive(Debug)]
pub struct Bounded {
    known: HashMap<Box<str>, Arc<str>, rustc_hash::FxBuildHasher>,
    other: Arc<str>,
}

impl Bounded {
    pub fn new<'a>(values: impl Iterator<Item = &'a str>) -> Bounded {
        Bounded {
            known: values.map(|v| (Box::from(v), Arc::from(v))).collect(),
            other: Arc::from(OTHER),
        }
    }

    /// `value` itself when known.
    pub fn find(&self, value: &str) -> Option<Arc<str>> {
        self.known.get(value).cloned()
    }

    /// `value` itself when known, else `other`.
    pub fn get(&self, value: &str) -> Arc<str> {
        self.find(value).unwrap_or_else(|| self.other.clone())
    }
}

/// Encode `(name, value)` pairs, leaving out a `key` that is `None`.
fn encode_all(
    encoder: &mut LabelSetEncoder,
    labels: &[(&str, &dyn EncodeLabelValue)],
) -> Result<(), std::fmt::Error> {
    for (name, value) in labels {
        (*name, Value(*value)).encode(encoder.encode_label())?;
    }
    Ok(())
}

struct Value<'a>(&'a dyn EncodeLabelValue);

impl EncodeLabelValue for Value<'_> {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }
}

/// `bedrock_proxy_requests_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestLabels {
    pub route: &'static str,
    pub profile: Arc<str>,
    pub status: u16,
    pub key: Option<Arc<str>>,
}

impl EncodeLabelSet for RequestLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        encode_all(
            encoder,
            &[
                ("route", &self.route),
                ("profile", &self.profile),
                ("status", &self.status),
            ],
        )?;
        match &self.key {
            Some(k) => encode_all(encoder, &[("key", k)]),
            None => Ok(()),
        }
    }
}

/// The request histograms.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteLabels {
    pub route: &'static str,
    pub profile: Arc<str>,
}

impl EncodeLabelSet for RouteLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        encode_all(
            encoder,
            &[("route", &self.route), ("profile", &self.profile)],
        )
    }
}

/// `bedrock_proxy_upstream_requests_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttemptLabels {
    pub profile: Arc<str>,
    pub region: Arc<str>,
    pub status: u16,
}

impl EncodeLabelSet for AttemptLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        encode_all(
            encoder,
            &[
                ("profile", &self.profile),
                ("region", &self.region),
                ("status", &self.status),
            ],
        )
    }
}

/// The four token types Bedrock reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenType {
    Input,
    Output,
    CacheRead,
    CacheWrite,
}

impl TokenType {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Input => "input",
            TokenType::Output => "output",
            TokenType::CacheRead => "cache_read",
            TokenType::CacheWrite => "cache_write",
        }
    }
}

impl EncodeLabelValue for TokenType {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

/// `bedrock_proxy_tokens_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenLabels {
    pub profile: Arc<str>,
    pub model: Arc<str>,
    pub kind: TokenType,
    pub key: Option<Arc<str>>,
}

impl EncodeLabelSet for TokenLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        encode_all(
            encoder,
            &[
                ("profile", &self.profile),
                ("model", &self.model),
                ("type", &self.kind),
            ],
        )?;
        match &self.key {
            Some(k) => encode_all(encoder, &[("key", k)]),
            None => Ok(()),
        }
    }
}

/// `bedrock_proxy_cost_usd_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CostLabels {
    pub profile: Arc<str>,
    pub model: Arc<str>,
    pub key: Option<Arc<str>>,
}

impl EncodeLabelSet for CostLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        encode_all(
            encoder,
            &[("profile", &self.profile), ("model", &self.model)],
        )?;
        match &self.key {
            Some(k) => encode_all(encoder, &[("key", k)]),
            None => Ok(()),
        }
    }
}

/// `bedrock_proxy_catalog_requests_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CatalogLabels {
    pub result: &'static str,
}

impl EncodeLabelSet for CatalogLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        encode_all(encoder, &[("result", &self.result)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_collapse_to_other() {
        let b = Bounded::new(["apac", "us"].into_iter());
        assert_eq!(&*b.get("apac"), "apac");
        assert_eq!(&*b.get("eu"), OTHER);
        assert_eq!(&*b.get(""), OTHER);
        assert!(b.find("APAC").is_none());
        // Every unknown value shares one allocation.
        assert!(Arc::ptr_eq(&b.get("x"), &b.get("y")));
    }
}
