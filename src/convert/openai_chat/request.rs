//! `ChatRequest` → Converse request body.

use serde_json::{json, Map, Value};

use super::messages::{convert_messages, Conversation};
use super::{ChatRequest, ConverseRequest, ConvertError, ConvertOptions, Stop, ToolChoice};

/// System line added for `response_format: {"type":"json_object"}`.
pub(super) const JSON_OBJECT_INSTRUCTION: &str = "Respond only with a single valid JSON object. \
     Do not add any text, explanation or Markdown code fences outside the JSON.";

/// Description given to the forced tool that carries a `json_schema` answer.
const JSON_SCHEMA_TOOL_DESCRIPTION: &str =
    "Return your final answer by calling this tool; its input must match the schema.";

fn cache_point() -> Value {
    json!({"cachePoint": {"type": "default"}})
}

/// Converts an OpenAI chat request into a Converse body (see the module docs for the rules).
pub fn to_converse(
    req: &ChatRequest,
    opts: &ConvertOptions,
) -> Result<ConverseRequest, ConvertError> {
    check_unsupported(req)?;
    let mut conv = convert_messages(&req.messages)?;
    let format = response_format(req)?;
    let mut body = Map::new();
    let mut system = std::mem::take(&mut conv.system);
    if matches!(format, Format::JsonObject) {
        system.push(json!({ "text": JSON_OBJECT_INSTRUCTION }));
    }
    if !system.is_empty() {
        if opts.cache_point {
            system.push(cache_point());
        }
        body.insert("system".into(), Value::Array(system));
    }
    let tools = tool_config(req, &conv, &format, opts)?;
    let forced = tools.as_ref().is_some_and(|t| t.forced);
    let mut inference = inference_config(req, opts)?;
    if let Some(budget) = thinking_budget(req, opts, &conv, forced)? {
        apply_thinking(&mut body, &mut inference, budget, opts);
    }
    body.insert("messages".into(), conv.messages_json());
    body.insert("inferenceConfig".into(), Value::Object(inference));
    if let Some(tools) = tools {
        body.insert("toolConfig".into(), tools.config);
    }
    let forced_json_tool = match format {
        Format::JsonSchema { name, .. } => Some(name),
        _ => None,
    };
    Ok(ConverseRequest {
        body: Value::Object(body),
        stream: req.stream.unwrap_or(false),
        include_usage: req.include_usage(),
        forced_json_tool,
    })
}

fn check_unsupported(req: &ChatRequest) -> Result<(), ConvertError> {
    if req.n.is_some_and(|n| n > 1) {
        return Err(ConvertError::unsupported("n", "Only n=1 is supported"));
    }
    if req.logprobs == Some(true) || req.top_logprobs.is_some_and(|n| n > 0) {
        return Err(ConvertError::unsupported(
            "logprobs",
            "logprobs / top_logprobs are not supported by this backend",
        ));
    }
    if let Some(other) = req.modalities.iter().flatten().find(|m| *m != "text") {
        return Err(ConvertError::unsupported(
            "modalities",
            format!("Output modality '{other}' is not supported by this backend: only text"),
        ));
    }
    if req.audio.as_ref().is_some_and(|a| !a.is_null()) {
        return Err(ConvertError::unsupported(
            "audio",
            "Audio output is not supported by this backend",
        ));
    }
    Ok(())
}

fn inference_config(
    req: &ChatRequest,
    opts: &ConvertOptions,
) -> Result<Map<String, Value>, ConvertError> {
    let mut cfg = Map::new();
    let max = req
        .max_completion_tokens
        .or(req.max_tokens)
        .unwrap_or(opts.default_max_tokens);
    if max == 0 {
        let param = match req.max_completion_tokens {
            Some(_) => "max_completion_tokens",
            None => "max_tokens",
        };
        return Err(ConvertError::invalid(param, "must be at least 1"));
    }
    cfg.insert("maxTokens".into(), json!(max));
    if let Some(t) = req.temperature {
        cfg.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        cfg.insert("topP".into(), json!(p));
    }
    let stops: Vec<&str> = match &req.stop {
        None => Vec::new(),
        Some(Stop::One(s)) => vec![s.as_str()],
        Some(Stop::Many(v)) => v.iter().map(String::as_str).collect(),
    };
    let stops: Vec<&str> = stops.into_iter().filter(|s| !s.is_empty()).collect();
    if !stops.is_empty() {
        cfg.insert("stopSequences".into(), json!(stops));
    }
    Ok(cfg)
}

enum Format {
    Text,
    JsonObject,
    JsonSchema { name: String, spec: Value },
}

fn response_format(req: &ChatRequest) -> Result<Format, ConvertError> {
    let Some(rf) = &req.response_format else {
        return Ok(Format::Text);
    };
    match rf.kind.as_str() {
        "text" => Ok(Format::Text),
        "json_object" => Ok(Format::JsonObject),
        "json_schema" => {
            let Some(js) = &rf.json_schema else {
                return Err(ConvertError::invalid(
                    "response_format.json_schema",
                    "response_format of type json_schema needs a `json_schema` object",
                ));
            };
            if req.tools.as_ref().is_some_and(|t| !t.is_empty()) {
                return Err(ConvertError::unsupported(
                    "response_format",
                    "response_format json_schema cannot be combined with tools on this backend",
                ));
            }
            if js.name.is_empty() {
                return Err(ConvertError::invalid(
                    "response_format.json_schema.name",
                    "json_schema.name must not be empty",
                ));
            }
            let schema = js
                .schema
                .clone()
                .unwrap_or_else(|| json!({"type": "object"}));
            let description = js
                .description
                .as_deref()
                .unwrap_or(JSON_SCHEMA_TOOL_DESCRIPTION);
            let spec = json!({"name": js.name, "description": description,
                              "inputSchema": {"json": schema}});
            Ok(Format::JsonSchema {
                name: js.name.clone(),
                spec,
            })
        }
        other => Err(ConvertError::invalid(
            "response_format.type",
            format!(
                "Unsupported response_format type '{other}'; expected text, json_object or json_schema"
            ),
        )),
    }
}

struct ToolSetup {
    config: Value,
    /// toolChoice forces a tool (`any` or `tool`).
    forced: bool,
}

/// `{"toolSpec"}` entries for tool names used in the history but not in `known`.
fn synthesized_tools(conv: &Conversation, known: &[&str]) -> Vec<Value> {
    conv.tool_names()
        .into_iter()
        .filter(|n| !known.contains(n))
        .map(|n| json!({"toolSpec": {"name": n, "inputSchema": {"json": {"type": "object"}}}}))
        .collect()
}

fn tool_config(
    req: &ChatRequest,
    conv: &Conversation,
    format: &Format,
    opts: &ConvertOptions,
) -> Result<Option<ToolSetup>, ConvertError> {
    if let Format::JsonSchema { name, spec } = format {
        let mut tools = vec![json!({ "toolSpec": spec })];
        tools.extend(synthesized_tools(conv, &[name.as_str()]));
        let config = json!({"tools": tools, "toolChoice": {"tool": {"name": name}}});
        return Ok(Some(ToolSetup {
            config,
            forced: true,
        }));
    }
    let declared = declared_tools(req)?;
    let names: Vec<&str> = declared.iter().map(|(n, _)| n.as_str()).collect();
    let synthesized = synthesized_tools(conv, &names);
    if declared.is_empty() {
        // Still checked, so a malformed `tool_choice` is a 400 with or without `tools`.
        tool_choice(req, &names, opts.model_is_claude)?;
        let config = json!({ "tools": synthesized });
        return Ok((!synthesized.is_empty()).then_some(ToolSetup {
            config,
            forced: false,
        }));
    }
    let choice = tool_choice(req, &names, opts.model_is_claude)?;
    if choice == Choice::NoTools && !conv.has_tool_blocks() {
        return Ok(None);
    }
    let mut tools: Vec<Value> = declared.into_iter().map(|(_, spec)| spec).collect();
    tools.extend(synthesized);
    if opts.cache_point {
        tools.push(cache_point());
    }
    let mut config = json!({ "tools": tools });
    if let Choice::Json(tc) = choice {
        config["toolChoice"] = tc;
    }
    let forced = config
        .get("toolChoice")
        .is_some_and(|tc| tc.get("auto").is_none());
    Ok(Some(ToolSetup { config, forced }))
}

fn declared_tools(req: &ChatRequest) -> Result<Vec<(String, Value)>, ConvertError> {
    let mut out = Vec::new();
    for (i, tool) in req.tools.iter().flatten().enumerate() {
        if tool.kind != "function" {
            return Err(ConvertError::unsupported(
                format!("tools[{i}].type"),
                format!(
                    "Unsupported tool type '{}'; only 'function' tools are supported",
                    tool.kind
                ),
            ));
        }
        let Some(f) = &tool.function else {
            return Err(ConvertError::invalid(
                format!("tools[{i}].function"),
                "Function tool needs a `function` object",
            ));
        };
        let params = f
            .parameters
            .clone()
            .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
        let mut spec = json!({"name": f.name, "inputSchema": {"json": params}});
        if let Some(d) = f.description.as_deref().filter(|d| !d.trim().is_empty()) {
            spec["description"] = json!(d);
        }
        out.push((f.name.clone(), json!({ "toolSpec": spec })));
    }
    Ok(out)
}

#[derive(Debug, PartialEq)]
enum Choice {
    /// No toolChoice key (Converse defaults to auto).
    Default,
    /// `"none"`.
    NoTools,
    /// An explicit Converse toolChoice object.
    Json(Value),
}

fn tool_choice(req: &ChatRequest, names: &[&str], claude: bool) -> Result<Choice, ConvertError> {
    match &req.tool_choice {
        None => Ok(Choice::Default),
        Some(ToolChoice::Mode(mode)) => match mode.as_str() {
            // Only Claude is known to accept an explicit `auto`; it is the default anyway.
            "auto" if claude => Ok(Choice::Json(json!({"auto": {}}))),
            "auto" => Ok(Choice::Default),
            "required" => Ok(Choice::Json(json!({"any": {}}))),
            "none" => Ok(Choice::NoTools),
            other => Err(ConvertError::invalid(
                "tool_choice",
                format!(
                    "Unsupported tool_choice '{other}'; expected auto, required, none or a function"
                ),
            )),
        },
        Some(ToolChoice::Named { kind, function }) => {
            if kind != "function" {
                return Err(ConvertError::invalid(
                    "tool_choice.type",
                    "tool_choice type must be 'function'",
                ));
            }
            if !names.contains(&function.name.as_str()) {
                return Err(ConvertError::invalid(
                    "tool_choice.function.name",
                    format!(
                        "tool_choice names '{}', which is not in `tools`",
                        function.name
                    ),
                ));
            }
            Ok(Choice::Json(json!({"tool": {"name": function.name}})))
        }
    }
}

fn thinking_budget(
    req: &ChatRequest,
    opts: &ConvertOptions,
    conv: &Conversation,
    forced_tool: bool,
) -> Result<Option<u32>, ConvertError> {
    let Some(effort) = req.reasoning_effort.as_deref() else {
        return Ok(None);
    };
    let (low, medium, high) = opts.reasoning_budgets;
    let budget = match effort {
        "none" => return Ok(None),
        "minimal" | "low" => low,
        "medium" => medium,
        "high" => high,
        other => {
            return Err(ConvertError::invalid(
                "reasoning_effort",
                format!(
                    "Unsupported reasoning_effort '{other}'; expected minimal, low, medium or high"
                ),
            ));
        }
    };
    if !opts.model_is_claude {
        return Err(ConvertError::unsupported(
            "reasoning_effort",
            "reasoning_effort is not supported for this model",
        ));
    }
    if forced_tool {
        return Err(ConvertError::unsupported(
            "reasoning_effort",
            "reasoning_effort cannot be combined with a forced tool \
             (tool_choice required / a named function, or response_format json_schema)",
        ));
    }
    Ok((!conv.continues_tool_loop()).then_some(budget))
}

fn apply_thinking(
    body: &mut Map<String, Value>,
    inference: &mut Map<String, Value>,
    budget: u32,
    opts: &ConvertOptions,
) {
    let thinking = json!({"type": "enabled", "budget_tokens": budget});
    body.insert(
        "additionalModelRequestFields".into(),
        json!({ "thinking": thinking }),
    );
    let max = inference
        .get("maxTokens")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if max <= u64::from(budget) {
        let raised = u64::from(budget) + u64::from(opts.default_max_tokens);
        inference.insert("maxTokens".into(), json!(raised));
    }
    inference.remove("temperature");
    inference.remove("topP");
}
