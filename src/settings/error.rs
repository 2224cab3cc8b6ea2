/// A configuration that cannot be used. The message names the source, the key and the problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Parse(String),
    #[error("invalid configuration: {key} (from {source_name}): {problem}")]
    Invalid {
        key: String,
        source_name: String,
        problem: String,
    },
}
