use super::ConfigError;

/// One entry of a configured transformer chain, before the registry builds it.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformerSpec {
    /// The registered transformer name.
    pub name: String,
    /// The entry's other keys.
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Where the entry is, for messages: `profiles.eu.request_transformers[1]`.
    pub key: String,
    /// Where it was written: the file, or an environment variable.
    pub source_name: String,
}

impl TransformerSpec {
    /// An error about this entry, in the style of every configuration error.
    pub fn invalid(&self, problem: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            key: self.key.clone(),
            source_name: self.source_name.clone(),
            problem: problem.into(),
        }
    }
}

/// Request and response chains as configured; `None` where not written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChainSpecs {
    pub request: Option<Vec<TransformerSpec>>,
    pub response: Option<Vec<TransformerSpec>>,
}
