//! An Anthropic API Messages body (`POST /v1/messages`, `/v1/messages/count_tokens`) made into
//! one Bedrock's InvokeModel accepts, before the profile's request chain runs. The rules, each
//! in one table here (docs/claude-code.md shows them):
//!
//! - Betas: the `anthropic-beta` header values and the body's `anthropic_beta` are merged,
//!   renamed where Bedrock names a beta differently ([`BETA_RENAMES`]), and only those on the
//!   allowlist (`[routing] anthropic_betas`, default [`crate::settings::BEDROCK_BETAS`]) are sent,
//!   as the body's `anthropic_beta` list; the rest are dropped (logged at debug).
//! - Beta-gated fields ([`GATED_FIELDS`]) are sent only when their beta is.
//! - Fields Bedrock refuses ([`REFUSED_FIELDS`]) are removed; `metadata` keeps only `user_id`.
//! - A message with role `system` inside `messages` (Claude Code sends some) is folded into
//!   the top-level `system`; turns of one role that end up next to each other are merged.

use serde_json::{Map, Value};

/// Anthropic API beta names → the names Bedrock takes for the same feature.
pub const BETA_RENAMES: &[(&str, &str)] = &[(
    "advanced-tool-use-2025-11-20",
    "tool-search-tool-2025-10-19",
)];

/// Body fields Bedrock accepts only with a beta: (field, beta).
pub const GATED_FIELDS: &[(&str, &str)] = &[
    ("context_management", "context-management-2025-06-27"),
    ("output_config", "effort-2025-11-24"),
];

/// Body fields Bedrock's InvokeModel refuses ("extraneous key"), with why they can go.
pub const REFUSED_FIELDS: &[(&str, &str)] = &[
    ("model", "the model is in the URL"),
    (
        "stream",
        "streaming is the endpoint (InvokeModelWithResponseStream)",
    ),
    ("service_tier", "Bedrock has no service tiers in the body"),
    ("container", "no code-execution containers on Bedrock"),
    ("mcp_servers", "no MCP connector on Bedrock"),
];

/// What [`prepare`] did with the betas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Betas {
    /// Sent to Bedrock, in the client's order (after renaming).
    pub sent: Vec<String>,
    /// Not on the allowlist.
    pub dropped: Vec<String>,
}

/// The beta names in `value` (a list, or a comma-separated string).
fn beta_list(value: Option<Value>) -> Result<Vec<String>, String> {
    let split = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_string)
            .collect()
    };
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(split(&s)),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.trim().to_string()),
                _ => Err("anthropic_beta: must be an array of strings".to_string()),
            })
            .collect(),
        Some(_) => Err("anthropic_beta: must be an array of strings".to_string()),
    }
}

/// Make `body` acceptable to Bedrock (see the module docs). `header_betas` are the
/// `anthropic-beta` header values; `allow` is the allowlist. A malformed `anthropic_beta` is
/// the only refusal.
pub fn prepare(
    body: &mut Map<String, Value>,
    header_betas: Vec<String>,
    allow: &[String],
) -> Result<Betas, String> {
    let mut betas = Betas::default();
    let asked = beta_list(body.remove("anthropic_beta"))?;
    for beta in asked.into_iter().chain(header_betas) {
        let beta = BETA_RENAMES
            .iter()
            .find(|(from, _)| *from == beta)
            .map_or(beta.clone(), |(_, to)| to.to_string());
        if betas.sent.contains(&beta) || betas.dropped.contains(&beta) {
            continue;
        }
        if allow.contains(&beta) {
            betas.sent.push(beta);
        } else {
            betas.dropped.push(beta);
        }
    }
    if !betas.dropped.is_empty() {
        tracing::debug!(dropped = ?betas.dropped, "betas Bedrock does not take were dropped");
    }
    if !betas.sent.is_empty() {
        let list = betas.sent.iter().cloned().map(Value::String).collect();
        body.insert("anthropic_beta".into(), Value::Array(list));
    }
    for (field, beta) in GATED_FIELDS {
        if !betas.sent.iter().any(|b| b == beta) && body.remove(*field).is_some() {
            tracing::debug!(field, beta, "dropped a field whose beta is not sent");
        }
    }
    for (field, _) in REFUSED_FIELDS {
        body.remove(*field);
    }
    if let Some(Value::Object(metadata)) = body.get_mut("metadata") {
        metadata.retain(|k, _| k == "user_id");
    }
    fold_system_messages(body);
    Ok(betas)
}

/// Remove every beta and every beta-gated field (the retry after Bedrock refused a beta).
pub fn without_betas(body: &mut Map<String, Value>) {
    body.remove("anthropic_beta");
    for (field, _) in GATED_FIELDS {
        body.remove(*field);
    }
}

/// A content value as a list of blocks: text becomes one text block.
pub fn content_blocks(content: Value) -> Vec<Value> {
    match content {
        Value::String(text) => vec![serde_json::json!({"type": "text", "text": text})],
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// Join consecutive turns of one role into one, as Anthropic's API does ("consecutive user or
/// assistant turns … will be combined into a single turn"), so clients need not alternate.
/// Text content becomes a text block when it joins another turn.
pub fn merge_turns(body: &mut Map<String, Value>) {
    let Some(Value::Array(messages)) = body.get_mut("messages") else {
        return;
    };
    let same_role =
        |a: &Value, b: &Value| a.get("role").is_some() && a.get("role") == b.get("role");
    if !messages.windows(2).any(|w| same_role(&w[0], &w[1])) {
        return;
    }
    let mut merged: Vec<Value> = Vec::with_capacity(messages.len());
    for mut m in std::mem::take(messages) {
        match merged.last_mut() {
            Some(last) if same_role(last, &m) => {
                let more = content_blocks(m.get_mut("content").map_or(Value::Null, Value::take));
                if let Some(content) = last.get_mut("content") {
                    let mut joined = content_blocks(content.take());
                    joined.extend(more);
                    *content = Value::Array(joined);
                }
            }
            _ => merged.push(m),
        }
    }
    *messages = merged;
}

/// Messages with role `system` become text blocks at the end of the top-level `system`; the
/// turns around them then merge (`merge_turns`), since Bedrock wants them alternating.
fn fold_system_messages(body: &mut Map<String, Value>) {
    let Some(Value::Array(messages)) = body.get_mut("messages") else {
        return;
    };
    if !messages
        .iter()
        .any(|m| m.get("role").and_then(Value::as_str) == Some("system"))
    {
        return;
    }
    let mut system_blocks = Vec::new();
    messages.retain_mut(|m| {
        if m.get("role").and_then(Value::as_str) != Some("system") {
            return true;
        }
        system_blocks.extend(content_blocks(
            m.get_mut("content").map_or(Value::Null, Value::take),
        ));
        false
    });
    merge_turns(body);
    let mut system = match body.remove("system") {
        None | Some(Value::Null) => Vec::new(),
        Some(existing) => content_blocks(existing),
    };
    system.extend(system_blocks);
    body.insert("system".into(), Value::Array(system));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn allow() -> Vec<String> {
        crate::transform::BEDROCK_BETAS
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn run(body: Value, header: &[&str]) -> (Value, Betas) {
        let mut map = body.as_object().cloned().unwrap();
        let header = header.iter().map(|s| s.to_string()).collect();
        let betas = prepare(&mut map, header, &allow()).unwrap();
        (Value::Object(map), betas)
    }

    #[test]
    fn betas_are_merged_renamed_filtered_and_gated_fields_follow() {
        let (body, betas) = run(
            json!({"anthropic_beta": ["interleaved-thinking-2025-05-14"], "context_management": {"edits": []},
                   "output_config": {"effort": "high"}, "messages": [], "model": "m", "stream": true,
                   "service_tier": "auto", "metadata": {"user_id": "u", "other": 1}}),
            &[
                "claude-code-20250219",
                "advanced-tool-use-2025-11-20",
                "context-management-2025-06-27",
            ],
        );
        assert_eq!(
            body["anthropic_beta"],
            json!([
                "interleaved-thinking-2025-05-14",
                "tool-search-tool-2025-10-19",
                "context-management-2025-06-27"
            ])
        );
        assert_eq!(betas.dropped, vec!["claude-code-20250219"]);
        assert!(body.get("context_management").is_some(), "its beta is sent");
        assert!(
            body.get("output_config").is_none(),
            "effort beta not sent: {body}"
        );
        for gone in ["model", "stream", "service_tier"] {
            assert!(body.get(gone).is_none(), "{gone}: {body}");
        }
        assert_eq!(body["metadata"], json!({"user_id": "u"}));
    }

    #[test]
    fn no_accepted_beta_means_no_list_and_no_gated_fields() {
        let (body, betas) = run(
            json!({"anthropic_beta": "claude-code-20250219, x-2026-01-01", "context_management": {}, "messages": []}),
            &[],
        );
        assert!(
            body.get("anthropic_beta").is_none() && body.get("context_management").is_none(),
            "{body}"
        );
        assert_eq!(betas.dropped.len(), 2);
        let mut map = json!({"anthropic_beta": 3}).as_object().cloned().unwrap();
        assert!(prepare(&mut map, Vec::new(), &allow()).is_err());
        let mut map = json!({"anthropic_beta": ["effort-2025-11-24"], "output_config": {}})
            .as_object()
            .cloned()
            .unwrap();
        without_betas(&mut map);
        assert!(map.is_empty(), "{map:?}");
    }

    #[test]
    fn system_messages_fold_into_the_system_prompt() {
        let (body, _) = run(
            json!({"system": "Be brief.", "messages": [
                {"role": "user", "content": "one"},
                {"role": "system", "content": "Reminder."},
                {"role": "user", "content": [{"type": "text", "text": "two"}]},
                {"role": "assistant", "content": "ok"}]}),
            &[],
        );
        assert_eq!(
            body["system"],
            json!([{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Reminder."}])
        );
        assert_eq!(
            body["messages"],
            json!([{"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
                   {"role": "assistant", "content": "ok"}])
        );
        let (plain, _) = run(
            json!({"messages": [{"role": "user", "content": "hi"}]}),
            &[],
        );
        assert_eq!(
            plain,
            json!({"messages": [{"role": "user", "content": "hi"}]})
        );
    }
}
