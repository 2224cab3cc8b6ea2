//! Prompt caching, deterministically: each `cachePoint` in `system` or `messages` marks a
//! prefix (the text before it, counted in words like every count of the fake). Per fake and
//! model, the first request with a prefix writes it (`cacheWriteInputTokens`), later ones read
//! it (`cacheReadInputTokens`); those tokens leave `inputTokens`. There is no minimum prefix
//! length and no expiry; a `cachePoint` in `toolConfig.tools` is accepted but caches nothing
//! (the fake does not count tool definitions).

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::Value;

/// (words before it, key of its prefix) for each `cachePoint`, in order.
pub(crate) fn checkpoints(model: &str, body: &Value) -> Vec<(u64, u64)> {
    let mut prefix = String::new();
    let mut points = Vec::new();
    let mut mark = |prefix: &str| {
        let mut h = DefaultHasher::new();
        (model, prefix).hash(&mut h);
        let words = prefix.split_whitespace().count() as u64;
        points.push((words, h.finish()));
    };
    for block in body["system"].as_array().into_iter().flatten() {
        if let Some(t) = block["text"].as_str() {
            prefix.push_str(t);
        } else if block.get("cachePoint").is_some() {
            mark(&prefix);
        }
    }
    for message in body["messages"].as_array().into_iter().flatten() {
        prefix.push(' ');
        for block in message["content"].as_array().into_iter().flatten() {
            if let Some(t) = block["text"].as_str() {
                prefix.push_str(t);
            } else if block.get("cachePoint").is_some() {
                mark(&prefix);
            }
        }
    }
    points
}

/// (read, write) tokens for `points` against the prefixes `seen` so far, which learns them:
/// the longest known prefix is read, the rest up to the last `cachePoint` is written.
pub(crate) fn account(seen: &mut HashSet<u64>, points: &[(u64, u64)]) -> (u64, u64) {
    let Some(&(last_words, last_key)) = points.last() else {
        return (0, 0);
    };
    let read = points
        .iter()
        .filter(|(_, key)| seen.contains(key))
        .map(|(words, _)| *words)
        .max()
        .unwrap_or(0);
    let write = if seen.contains(&last_key) {
        0
    } else {
        last_words.saturating_sub(read)
    };
    seen.extend(points.iter().map(|(_, key)| *key));
    (read, write)
}

/// Input tokens left once `read` and `write` are taken out of `total`.
pub(crate) fn uncached(total: u64, read: u64, write: u64) -> u64 {
    total.saturating_sub(read + write)
}
