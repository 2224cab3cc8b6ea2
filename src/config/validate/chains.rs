//! `request_transformers` / `response_transformers`, top level and per profile.

use figment::Figment;

use crate::config::layers::origin;
use crate::config::RawChain;
use crate::settings::{ChainSpecs, ConfigError, TransformerSpec};

/// The chains under `prefix` (`""` or `profiles.NAME.`): each entry's `name` and options,
/// with the key and source to name in messages. Whether a name and its options are valid is
/// up to the transformer registry, when the proxy is built.
pub(super) fn chain_specs(
    figment: &Figment,
    prefix: &str,
    request: Option<&RawChain>,
    response: Option<&RawChain>,
) -> Result<ChainSpecs, ConfigError> {
    let specs = |field: &str, raw: Option<&RawChain>| -> Result<_, ConfigError> {
        let Some(entries) = raw else {
            return Ok(None);
        };
        let chain_key = format!("{prefix}{field}");
        let source_name = origin(figment, &chain_key);
        let out = entries
            .iter()
            .enumerate()
            .map(|(i, entry)| spec(entry, format!("{chain_key}[{i}]"), &source_name))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(out))
    };
    Ok(ChainSpecs {
        request: specs("request_transformers", request)?,
        response: specs("response_transformers", response)?,
    })
}

/// One chain entry: its `name`, and the other keys as options.
fn spec(
    entry: &serde_json::Map<String, serde_json::Value>,
    key: String,
    source_name: &str,
) -> Result<TransformerSpec, ConfigError> {
    let fail = |problem: &str| ConfigError::Invalid {
        key: key.clone(),
        source_name: source_name.to_string(),
        problem: problem.to_string(),
    };
    let mut options = entry.clone();
    let name = match options.remove("name") {
        Some(serde_json::Value::String(n)) if !n.trim().is_empty() => n.trim().to_string(),
        Some(serde_json::Value::String(_)) => return Err(fail("`name` must not be empty")),
        Some(_) => return Err(fail("`name` must be a string")),
        None => {
            return Err(fail(
                "missing `name`: each entry names a transformer, e.g. name = \"system_prompt\"",
            ))
        }
    };
    Ok(TransformerSpec {
        name,
        options,
        key,
        source_name: source_name.to_string(),
    })
}
