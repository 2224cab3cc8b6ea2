//! Anthropic API model names (`claude-sonnet-4-5`, `claude-sonnet-4-5-20250929`,
//! `claude-3-5-haiku-latest`, `claude-opus-5-5`) matched against the control plane's answers
//! (ListFoundationModels summaries, ListInferenceProfiles summaries) of one region.
//!
//! A Bedrock model `anthropic.claude-sonnet-4-5-20250929-v1:0` has the Anthropic id
//! `claude-sonnet-4-5-20250929` (the `anthropic.` prefix and the `-vN[:M]` suffix removed) and
//! the undated alias `claude-sonnet-4-5`. A name matches a model when it is either (after
//! `-latest` is removed; `claude-sonnet-4-0` also matches as `claude-sonnet-4`); of several
//! matches the newest wins (latest date, then highest version). The model is then called as
//! its bare id when it lists the `ON_DEMAND` inference type, else through a system inference
//! profile of the calling region's geography (`us.`, `eu.`, `apac.`, …), or `global.` first
//! when the calling profile prefers it.

use serde_json::Value;

use crate::aws::Geography;

/// The Anthropic API id of a Bedrock Anthropic model id:
/// `anthropic.claude-sonnet-4-5-20250929-v1:0` → `claude-sonnet-4-5-20250929`,
/// `anthropic.claude-opus-5-5` → `claude-opus-5-5`. `None` for other providers.
pub fn anthropic_id(bedrock_id: &str) -> Option<String> {
    let rest = bedrock_id.strip_prefix("anthropic.")?;
    if !rest.starts_with("claude") {
        return None;
    }
    let rest = rest.split_once(':').map_or(rest, |(r, _)| r);
    let stem = match rest.rsplit_once("-v") {
        Some((stem, v)) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => stem,
        _ => rest,
    };
    Some(stem.to_string())
}

/// `claude-sonnet-4-5-20250929` → (`claude-sonnet-4-5`, `20250929`); `None` without a date.
fn split_date(id: &str) -> Option<(&str, &str)> {
    id.rsplit_once('-')
        .filter(|(_, date)| date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()))
}

/// `claude-sonnet-4-5-20250929` → `claude-sonnet-4-5` (the date removed), or the id itself.
fn undated(id: &str) -> &str {
    split_date(id).map_or(id, |(stem, _)| stem)
}

/// The forms of a client's name to compare: as written, without `-latest`, without `-0`.
fn wanted_forms(name: &str) -> Vec<String> {
    let name = name.trim().to_ascii_lowercase();
    let name = name.strip_prefix("anthropic.").unwrap_or(&name).to_string();
    let base = name.strip_suffix("-latest").unwrap_or(&name).to_string();
    let mut forms = vec![name.clone(), base.clone()];
    if let Some(short) = base.strip_suffix("-0") {
        forms.push(short.to_string());
    }
    forms
}

/// Newest first: by date in the id, then by the Bedrock version suffix.
fn newness(bedrock_id: &str) -> (String, String) {
    let id = anthropic_id(bedrock_id).unwrap_or_default();
    let date = split_date(&id)
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    (date, bedrock_id.to_string())
}

/// The Bedrock foundation model a client's name stands for, from ListFoundationModels
/// summaries: the newest Anthropic model whose Anthropic id or undated alias matches.
pub fn matching_model<'a>(name: &str, models: &'a [Value]) -> Option<&'a Value> {
    let forms = wanted_forms(name);
    models
        .iter()
        .filter(|m| {
            let Some(id) = m.get("modelId").and_then(Value::as_str) else {
                return false;
            };
            let Some(anthropic) = anthropic_id(id) else {
                return false;
            };
            let short = undated(&anthropic);
            forms.iter().any(|f| *f == anthropic || f == short)
        })
        .max_by_key(|m| newness(m.get("modelId").and_then(Value::as_str).unwrap_or("")))
}

/// Whether a model summary lists on-demand throughput.
fn on_demand(model: &Value) -> bool {
    model
        .get("inferenceTypesSupported")
        .and_then(Value::as_array)
        .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("ON_DEMAND")))
}

/// The id to call `model` (a ListFoundationModels summary) by from `region`: its bare id when
/// it takes on-demand throughput, else the system inference profile for `region`'s geography
/// (`global.` first when `prefer_global`), else the bare id (Bedrock will say why not).
pub fn invocation_id(
    model: &Value,
    profiles: &[Value],
    region: &str,
    prefer_global: bool,
) -> String {
    let id = model
        .get("modelId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if on_demand(model) {
        return id;
    }
    let by_model = super::profiles_by_model(profiles);
    let Some(candidates) = by_model.get(&id) else {
        return id;
    };
    let is_global = |p: &&String| p.starts_with("global.");
    let regional = candidates.iter().find(|p| {
        !is_global(p) && Geography::of_model_id(p).is_some_and(|g| g.accepts_region(region))
    });
    let global = candidates.iter().find(is_global);
    let chosen = if prefer_global {
        global.or(regional)
    } else {
        regional.or(global)
    };
    chosen.cloned().unwrap_or(id)
}

/// Every Anthropic API name the catalog's models answer to: each model's Anthropic id and
/// its undated alias, sorted, each once.
pub fn anthropic_names(models: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = models
        .iter()
        .filter_map(|m| m.get("modelId").and_then(Value::as_str))
        .filter_map(anthropic_id)
        .flat_map(|id| [undated(&id).to_string(), id])
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The names of `known` close to `name` (shared prefix of most of it, or few edits), best
/// first, at most five.
pub fn close_matches(name: &str, known: &[String]) -> Vec<String> {
    let name = name.to_ascii_lowercase();
    let mut scored: Vec<(usize, &String)> = known
        .iter()
        .filter_map(|k| {
            let distance = edit_distance(&name, &k.to_ascii_lowercase());
            let prefix = name
                .bytes()
                .zip(k.to_ascii_lowercase().bytes())
                .take_while(|(a, b)| a == b)
                .count();
            let close =
                distance <= name.len().max(3) / 3 || prefix >= name.len().min(k.len()) * 2 / 3;
            close.then_some((distance, k))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(5).map(|(_, k)| k.clone()).collect()
}

/// Levenshtein distance over bytes.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb {
                previous
            } else {
                1 + previous.min(current).min(row[j])
            };
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model(id: &str, types: &[&str]) -> Value {
        json!({"modelId": id, "inferenceTypesSupported": types})
    }

    fn catalog() -> Vec<Value> {
        vec![
            model(
                "anthropic.claude-sonnet-4-5-20250929-v1:0",
                &["INFERENCE_PROFILE"],
            ),
            model("anthropic.claude-3-5-haiku-20241022-v1:0", &["ON_DEMAND"]),
            model(
                "anthropic.claude-opus-4-1-20250805-v1:0",
                &["INFERENCE_PROFILE"],
            ),
            model("anthropic.claude-opus-5-5", &["INFERENCE_PROFILE"]),
            model("anthropic.claude-opus-4-6-v1", &["INFERENCE_PROFILE"]),
            model("anthropic.claude-sonnet-4-20250514-v1:0", &["ON_DEMAND"]),
            model("amazon.nova-lite-v1:0", &["ON_DEMAND"]),
        ]
    }

    fn found(name: &str) -> Option<String> {
        let models = catalog();
        matching_model(name, &models).map(|m| m["modelId"].as_str().unwrap().to_string())
    }

    #[test]
    fn anthropic_ids_drop_prefix_and_version() {
        assert_eq!(
            anthropic_id("anthropic.claude-sonnet-4-5-20250929-v1:0").as_deref(),
            Some("claude-sonnet-4-5-20250929")
        );
        assert_eq!(
            anthropic_id("anthropic.claude-opus-5-5").as_deref(),
            Some("claude-opus-5-5")
        );
        assert_eq!(
            anthropic_id("anthropic.claude-opus-4-6-v1").as_deref(),
            Some("claude-opus-4-6")
        );
        assert_eq!(anthropic_id("amazon.nova-lite-v1:0"), None);
    }

    #[test]
    fn names_match_dated_undated_latest_and_zero_forms() {
        let sonnet = Some("anthropic.claude-sonnet-4-5-20250929-v1:0".to_string());
        assert_eq!(found("claude-sonnet-4-5"), sonnet);
        assert_eq!(found("claude-sonnet-4-5-20250929"), sonnet);
        assert_eq!(found("claude-sonnet-4-5-latest"), sonnet);
        assert_eq!(
            found("claude-3-5-haiku-latest").as_deref(),
            Some("anthropic.claude-3-5-haiku-20241022-v1:0")
        );
        assert_eq!(
            found("claude-opus-5-5").as_deref(),
            Some("anthropic.claude-opus-5-5")
        );
        assert_eq!(
            found("claude-opus-4-6").as_deref(),
            Some("anthropic.claude-opus-4-6-v1")
        );
        assert_eq!(
            found("claude-sonnet-4-0").as_deref(),
            Some("anthropic.claude-sonnet-4-20250514-v1:0")
        );
        assert_eq!(found("claude-sonnet-4-5-20990101"), None);
        assert_eq!(found("claude-opus-4"), None, "4 is not 4-1");
    }

    #[test]
    fn the_newest_version_wins() {
        let models = vec![
            model("anthropic.claude-x-1-20250101-v1:0", &["ON_DEMAND"]),
            model("anthropic.claude-x-1-20250601-v1:0", &["ON_DEMAND"]),
            model("anthropic.claude-x-1-20250601-v2:0", &["ON_DEMAND"]),
        ];
        let m = matching_model("claude-x-1", &models).unwrap();
        assert_eq!(m["modelId"], "anthropic.claude-x-1-20250601-v2:0");
    }

    #[test]
    fn profile_only_models_go_through_the_regions_profile() {
        let arn = |r: &str, m: &str| json!({"modelArn": format!("arn:aws:bedrock:{r}::foundation-model/{m}")});
        let m = "anthropic.claude-opus-5-5";
        let profiles = vec![
            json!({"inferenceProfileId": format!("global.{m}"), "models": [arn("us-east-1", m)]}),
            json!({"inferenceProfileId": format!("us.{m}"), "models": [arn("us-east-1", m)]}),
            json!({"inferenceProfileId": format!("eu.{m}"), "models": [arn("eu-west-1", m)]}),
        ];
        let summary = model(m, &["INFERENCE_PROFILE"]);
        assert_eq!(
            invocation_id(&summary, &profiles, "us-west-2", false),
            format!("us.{m}")
        );
        assert_eq!(
            invocation_id(&summary, &profiles, "eu-central-1", false),
            format!("eu.{m}")
        );
        assert_eq!(
            invocation_id(&summary, &profiles, "us-east-1", true),
            format!("global.{m}")
        );
        assert_eq!(
            invocation_id(&summary, &profiles, "ap-south-1", false),
            format!("global.{m}")
        );
        let on_demand = model("anthropic.claude-3-5-haiku-20241022-v1:0", &["ON_DEMAND"]);
        assert_eq!(
            invocation_id(&on_demand, &profiles, "us-east-1", false),
            "anthropic.claude-3-5-haiku-20241022-v1:0"
        );
    }

    #[test]
    fn close_matches_and_names() {
        let names = anthropic_names(&catalog());
        assert!(names.contains(&"claude-sonnet-4-5".to_string()));
        assert!(names.contains(&"claude-sonnet-4-5-20250929".to_string()));
        let close = close_matches("claude-sonet-4-5", &names);
        assert_eq!(
            close.first().map(String::as_str),
            Some("claude-sonnet-4-5"),
            "{close:?}"
        );
        assert!(close_matches("gpt-4o", &names).is_empty());
    }
}
