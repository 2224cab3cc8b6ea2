//! `toolConfig`: `tools` (`toolSpec` or `cachePoint`) and `toolChoice`.

use std::collections::HashSet;

use serde_json::Value;

use super::blocks::{cache_point, identifier, required, required_str, structure, union_member};
use super::converse::constraint;
use super::inference::Family;

/// `{"tools": [{"toolSpec": {"name", "description"?, "inputSchema": {"json": {…}}}} |
/// {"cachePoint": {…}}, …], "toolChoice"?: {"auto": {}} | {"any": {}} | {"tool": {"name"}}}`.
/// Tool names are unique; a named `toolChoice` names one of them; Llama models take no
/// forced choice (`any`, `tool`).
pub(crate) fn validate_tool_config(config: &Value, family: Family) -> Result<(), String> {
    let obj = structure(config, "toolConfig")?;
    if let Some(key) = obj
        .keys()
        .find(|k| !["tools", "toolChoice"].contains(&k.as_str()))
    {
        return Err(format!(
            "Malformed input request: extraneous key [toolConfig.{key}] is not permitted, please reformat your input and try again."
        ));
    }
    let tools = required(obj, "tools", "toolConfig")?;
    let Some(tools) = tools.as_array() else {
        return Err(constraint(
            tools,
            "toolConfig.tools",
            "Member must be a list",
        ));
    };
    if tools.is_empty() {
        return Err(constraint(
            &Value::String("[]".into()),
            "toolConfig.tools",
            "Member must have length greater than or equal to 1",
        ));
    }
    let mut names = HashSet::new();
    for (k, tool) in tools.iter().enumerate() {
        let at = format!("toolConfig.tools.{k}");
        let (member, inner) = union_member(tool, "Tool", &at, &["toolSpec", "cachePoint"])?;
        if member == "cachePoint" {
            cache_point(inner, &format!("{at}.member.cachePoint"))?;
            continue;
        }
        let name = tool_spec(inner, &format!("{at}.member.toolSpec"))?;
        if !names.insert(name) {
            return Err(format!(
                "The tool name {name} at {at} is used by more than one tool. Give each tool a unique name and try again."
            ));
        }
    }
    match obj.get("toolChoice") {
        None => Ok(()),
        Some(choice) => tool_choice(choice, &names, family),
    }
}

/// A `toolSpec`; returns its name.
fn tool_spec<'a>(value: &'a Value, cat: &str) -> Result<&'a str, String> {
    let obj = structure(value, cat)?;
    let name = required_str(obj, "name", cat)?;
    identifier(name, &format!("{cat}.name"))?;
    if let Some(d) = obj.get("description") {
        if d.as_str().is_none_or(str::is_empty) {
            return Err(constraint(
                d,
                &format!("{cat}.description"),
                "Member must have length greater than or equal to 1",
            ));
        }
    }
    let schema = required(obj, "inputSchema", cat)?;
    let at = format!("{cat}.inputSchema");
    let (_, json) = union_member(schema, "ToolInputSchema", &at, &["json"])?;
    if !json.is_object() {
        return Err(constraint(
            json,
            &format!("{at}.json"),
            "Member must be a JSON object",
        ));
    }
    Ok(name)
}

fn tool_choice(choice: &Value, names: &HashSet<&str>, family: Family) -> Result<(), String> {
    let at = "toolConfig.toolChoice";
    let (member, inner) = union_member(choice, "ToolChoice", at, &["auto", "any", "tool"])?;
    let obj = structure(inner, &format!("{at}.{member}"))?;
    if member != "auto" && family == Family::Llama {
        return Err(format!(
            "This model doesn't support the toolConfig.toolChoice.{member} field. Remove toolConfig.toolChoice.{member} and try again."
        ));
    }
    if member == "tool" {
        let cat = format!("{at}.tool");
        let name = required_str(obj, "name", &cat)?;
        if !names.contains(name) {
            return Err(format!(
                "The tool {name} named by toolConfig.toolChoice.tool is not in toolConfig.tools. Name a defined tool and try again."
            ));
        }
    }
    Ok(())
}
