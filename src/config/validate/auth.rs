//! `[auth]` and the client API keys (`PROXY_API_KEYS`, `PROXY_API_KEYS_FILE`, the key file).

use figment::Figment;

use super::invalid;
use crate::config::layers::origin;
use crate::config::{RawAuth, ReadEnv};
use crate::settings::{positional_name, ApiKeys, AuthConfig, ConfigError};

/// `[auth]` plus the client API keys from `PROXY_API_KEYS` and the key file.
pub(super) fn auth(
    figment: &Figment,
    raw: &RawAuth,
    env: ReadEnv<'_>,
) -> Result<AuthConfig, ConfigError> {
    let mut keys = env_keys(env)?;
    if let Some(file) = key_file(figment, raw, env) {
        keys.extend(file_keys(&file)?);
    }
    let keys = named_keys(keys)?;
    let secrets: Vec<String> = keys.iter().map(|(_, k)| k.clone()).collect();
    check_keys(&secrets)?;
    for (i, path) in raw.open_paths.iter().enumerate() {
        if !path.starts_with('/') {
            return Err(invalid(
                figment,
                &format!("auth.open_paths.{i}"),
                format!("'{path}' must start with '/'"),
            ));
        }
    }
    Ok(AuthConfig {
        keys: ApiKeys::named(&keys),
        allow_unauthenticated: raw.allow_unauthenticated,
        open_paths: raw.open_paths.clone(),
    })
}

/// Whether `name` may name a key: 1–64 characters of `A–Z a–z 0–9 _ . -`.
fn valid_key_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// Each entry as `(name, secret)`: `name:secret` where the part before the first `:` is a
/// valid name, else the whole entry is the secret, named by its position (`key1`, …). Names
/// are unique; a problem is reported without showing any secret.
pub(super) fn named_keys(entries: Vec<String>) -> Result<Vec<(String, String)>, ConfigError> {
    let mut keys: Vec<(String, String)> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let key = match entry.split_once(':') {
            Some((name, secret)) if valid_key_name(name) && !secret.is_empty() => {
                (name.to_string(), secret.to_string())
            }
            _ => (positional_name(i), entry),
        };
        if keys.iter().any(|(n, _)| *n == key.0) {
            return Err(ConfigError::Parse(format!(
                "two client API keys are named '{}': give each key its own name",
                key.0
            )));
        }
        keys.push(key);
    }
    Ok(keys)
}

/// The comma-separated keys of `PROXY_API_KEYS`; set, it must hold at least one.
fn env_keys(env: ReadEnv<'_>) -> Result<Vec<String>, ConfigError> {
    let Some(list) = env("PROXY_API_KEYS") else {
        return Ok(Vec::new());
    };
    let keys: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect();
    if keys.is_empty() {
        return Err(ConfigError::Invalid {
            key: "PROXY_API_KEYS".into(),
            source_name: "environment variable PROXY_API_KEYS".into(),
            problem: "contains no key (expected comma-separated keys)".into(),
        });
    }
    Ok(keys)
}

/// The key file to read, with the key and source to name in messages.
struct KeyFile {
    path: String,
    key: &'static str,
    source_name: String,
}

/// `PROXY_API_KEYS_FILE`, else `auth.api_keys_file`.
fn key_file(figment: &Figment, raw: &RawAuth, env: ReadEnv<'_>) -> Option<KeyFile> {
    match env("PROXY_API_KEYS_FILE") {
        Some(path) => Some(KeyFile {
            path,
            key: "PROXY_API_KEYS_FILE",
            source_name: "environment variable PROXY_API_KEYS_FILE".to_string(),
        }),
        None => raw
            .api_keys_file
            .clone()
            .filter(|p| !p.is_empty())
            .map(|path| KeyFile {
                path,
                key: "auth.api_keys_file",
                source_name: origin(figment, "auth.api_keys_file"),
            }),
    }
}

/// The keys of a key file: one per line, `#` starts a comment; at least one.
fn file_keys(file: &KeyFile) -> Result<Vec<String>, ConfigError> {
    let path = &file.path;
    let problem = |problem: String| ConfigError::Invalid {
        key: file.key.into(),
        source_name: file.source_name.clone(),
        problem,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| problem(format!("cannot read API key file '{path}': {e}")))?;
    let keys: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    if keys.is_empty() {
        return Err(problem(format!(
            "API key file '{path}' contains no key (one key per line; '#' starts a comment)"
        )));
    }
    Ok(keys)
}

/// No whitespace or control characters, at most 4096 characters; the message never shows the
/// key.
fn check_keys(keys: &[String]) -> Result<(), ConfigError> {
    if let Some(bad) = keys
        .iter()
        .find(|k| k.chars().any(|c| c.is_whitespace() || c.is_control()) || k.len() > 4096)
    {
        // Name the problem, never the key.
        return Err(ConfigError::Parse(format!(
            "a client API key ({} characters) contains whitespace or control characters, or is longer than 4096 characters",
            bad.chars().count()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::named_keys;

    fn names(entries: &[&str]) -> Vec<(String, String)> {
        named_keys(entries.iter().map(|e| e.to_string()).collect()).unwrap()
    }

    #[test]
    fn keys_are_named_by_prefix_or_position() {
        let keys = names(&["ci:s3cret", "plainsecret", "alice:a:b", "bad/name:x"]);
        let got: Vec<(&str, &str)> = keys.iter().map(|(n, k)| (&**n, &**k)).collect();
        assert_eq!(
            got,
            [
                ("ci", "s3cret"),
                ("key2", "plainsecret"),
                ("alice", "a:b"),
                ("key4", "bad/name:x"),
            ]
        );
        // `name:` with nothing after it is a secret, not an empty named key.
        assert_eq!(names(&["ci:"])[0], ("key1".into(), "ci:".into()));
    }

    #[test]
    fn duplicate_names_are_refused_without_showing_a_secret() {
        let err = named_keys(vec!["ci:one-secret".into(), "ci:two-secret".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("'ci'"), "{err}");
        assert!(!err.contains("secret"), "{err}");
        // A positional name taken by an explicit one is a clash too.
        assert!(named_keys(vec!["key2:x".into(), "y".into()]).is_err());
    }
}
