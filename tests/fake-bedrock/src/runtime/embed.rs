//! Embeddings through InvokeModel: Titan Text Embeddings v2 (`amazon.titan-embed-text-v2:0`)
//! and Cohere Embed v3 (`cohere.embed-english-v3`, `cohere.embed-multilingual-v3`), bodies
//! validated with Bedrock's JSON-schema messages. Vectors are deterministic: [`embedding`]
//! of the text, so tests can compute what to expect.

use serde_json::{json, Map, Value};

use super::validate::{json_type_name, malformed};
use crate::dispatch::Reply;
use crate::eventstream::approx_tokens;

/// Dimensions Titan v2 takes (`dimensions`, default 1024).
pub const TITAN_DIMENSIONS: &[u64] = &[256, 512, 1024];
/// Dimensions of Cohere Embed v3 vectors.
pub const COHERE_DIMENSIONS: usize = 1024;
/// Most texts one Cohere request takes.
pub const COHERE_MAX_TEXTS: usize = 96;

const COHERE_INPUT_TYPES: &[&str] = &[
    "search_document",
    "search_query",
    "classification",
    "clustering",
];
const COHERE_TYPES: &[&str] = &["float", "int8", "uint8", "binary", "ubinary"];

/// Which embedding API a model id speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Embedder {
    TitanV2,
    CohereV3,
}

impl Embedder {
    /// The embedder for a model id (or foundation-model ARN); `None` for other models.
    pub fn of(model_id: &str) -> Option<Embedder> {
        let id = model_id.rsplit('/').next().unwrap_or(model_id);
        match id {
            "amazon.titan-embed-text-v2:0" => Some(Embedder::TitanV2),
            "cohere.embed-english-v3" | "cohere.embed-multilingual-v3" => Some(Embedder::CohereV3),
            _ => None,
        }
    }
}

/// The deterministic vector of `text`: `dims` values in [-1, 1] seeded by an FNV-1a hash of
/// the text, scaled to unit length when `normalize`, rounded to six decimals.
pub fn embedding(text: &str, dims: usize, normalize: bool) -> Vec<f64> {
    let mut state = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    let mut values: Vec<f64> = (0..dims)
        .map(|_| {
            // splitmix64
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect();
    if normalize {
        let norm = values.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            values.iter_mut().for_each(|v| *v /= norm);
        }
    }
    // Six decimals: short on the wire, and parsed back exactly by any JSON parser.
    values
        .iter_mut()
        .for_each(|v| *v = (*v * 1e6).round() / 1e6);
    values
}

/// The answer to an embedding InvokeModel body, or the `ValidationException` message.
pub(crate) fn embed_reply(
    embedder: Embedder,
    body: &[u8],
    request_id: &str,
) -> Result<Reply, String> {
    let generic = "Malformed input request, please reformat your input and try again.";
    let value: Value = serde_json::from_slice(body).map_err(|_| generic.to_string())?;
    let obj = value.as_object().ok_or_else(|| generic.to_string())?;
    let (body, tokens) = match embedder {
        Embedder::TitanV2 => titan(obj)?,
        Embedder::CohereV3 => cohere(obj, request_id)?,
    };
    Ok(Reply {
        status: 200,
        headers: vec![
            (
                "X-Amzn-Bedrock-Input-Token-Count".into(),
                tokens.to_string(),
            ),
            ("X-Amzn-Bedrock-Invocation-Latency".into(), "45".into()),
        ],
        body,
    })
}

fn extraneous(obj: &Map<String, Value>, known: &[&str]) -> Result<(), String> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(malformed(&format!(
            "#: extraneous key [{k}] is not permitted"
        ))),
        None => Ok(()),
    }
}

/// A list of enum strings (at least one) at `#/{key}`, or `default` when absent.
fn enum_list(
    obj: &Map<String, Value>,
    key: &str,
    allowed: &[&str],
) -> Result<Option<Vec<String>>, String> {
    let Some(v) = obj.get(key) else {
        return Ok(None);
    };
    let Some(items) = v.as_array() else {
        return Err(malformed(&format!(
            "#/{key}: expected type: JSONArray, found: {}",
            json_type_name(v)
        )));
    };
    if items.is_empty() {
        return Err(malformed(&format!(
            "#/{key}: expected minimum item count: 1, found: 0"
        )));
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(s) if allowed.contains(&s) => out.push(s.to_string()),
            _ => {
                return Err(malformed(&format!(
                    "#/{key}/{i}: {} is not a valid enum value",
                    shown(item)
                )))
            }
        }
    }
    Ok(Some(out))
}

fn shown(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// Titan v2: `{"inputText", "dimensions"?, "normalize"?, "embeddingTypes"?}`.
fn titan(obj: &Map<String, Value>) -> Result<(Value, u64), String> {
    extraneous(
        obj,
        &["inputText", "dimensions", "normalize", "embeddingTypes"],
    )?;
    let text = match obj.get("inputText") {
        None => return Err(malformed("#: required key [inputText] not found")),
        Some(Value::String(s)) if s.is_empty() => {
            return Err(malformed("#/inputText: expected minLength: 1, actual: 0"))
        }
        Some(Value::String(s)) => s,
        Some(v) => {
            return Err(malformed(&format!(
                "#/inputText: expected type: String, found: {}",
                json_type_name(v)
            )))
        }
    };
    let dims = match obj.get("dimensions") {
        None => 1024,
        Some(v) => match v.as_u64().filter(|d| TITAN_DIMENSIONS.contains(d)) {
            Some(d) => d as usize,
            None => {
                return Err(malformed(&format!(
                    "#/dimensions: {} is not a valid enum value",
                    shown(v)
                )))
            }
        },
    };
    let normalize = match obj.get("normalize") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(malformed(&format!(
                "#/normalize: expected type: Boolean, found: {}",
                json_type_name(v)
            )))
        }
    };
    let types = enum_list(obj, "embeddingTypes", &["float", "binary"])?;
    let vector = embedding(text, dims, normalize);
    let tokens = approx_tokens(text);
    let mut body = Map::new();
    if types
        .as_ref()
        .is_none_or(|t| t.iter().any(|t| t == "float"))
    {
        body.insert("embedding".into(), json!(vector));
    }
    if let Some(types) = &types {
        let by_type: Map<String, Value> = types
            .iter()
            .map(|t| match t.as_str() {
                "binary" => (
                    t.clone(),
                    json!(vector
                        .iter()
                        .map(|v| u8::from(*v > 0.0))
                        .collect::<Vec<_>>()),
                ),
                _ => (t.clone(), json!(vector)),
            })
            .collect();
        body.insert("embeddingsByType".into(), Value::Object(by_type));
    }
    body.insert("inputTextTokenCount".into(), json!(tokens));
    Ok((Value::Object(body), tokens))
}

/// Cohere v3: `{"texts", "input_type", "truncate"?, "embedding_types"?}`.
fn cohere(obj: &Map<String, Value>, request_id: &str) -> Result<(Value, u64), String> {
    extraneous(obj, &["texts", "input_type", "truncate", "embedding_types"])?;
    let texts = cohere_texts(obj)?;
    match obj.get("input_type") {
        None => return Err(malformed("#: required key [input_type] not found")),
        Some(v) if v.as_str().is_some_and(|s| COHERE_INPUT_TYPES.contains(&s)) => {}
        Some(v) => {
            return Err(malformed(&format!(
                "#/input_type: {} is not a valid enum value",
                shown(v)
            )))
        }
    }
    if let Some(v) = obj.get("truncate") {
        if !v
            .as_str()
            .is_some_and(|s| ["NONE", "START", "END"].contains(&s))
        {
            return Err(malformed(&format!(
                "#/truncate: {} is not a valid enum value",
                shown(v)
            )));
        }
    }
    let types = enum_list(obj, "embedding_types", COHERE_TYPES)?;
    let vectors: Vec<Vec<f64>> = texts
        .iter()
        .map(|t| embedding(t, COHERE_DIMENSIONS, true))
        .collect();
    let tokens: u64 = texts.iter().map(|t| approx_tokens(t)).sum();
    let (embeddings, response_type) = match &types {
        None => (json!(vectors), "embeddings_floats"),
        Some(types) => {
            let by_type: Map<String, Value> = types
                .iter()
                .map(|t| (t.clone(), cohere_typed(t, &vectors)))
                .collect();
            (Value::Object(by_type), "embeddings_by_type")
        }
    };
    let body = json!({
        "id": request_id,
        "embeddings": embeddings,
        "texts": texts,
        "response_type": response_type
    });
    Ok((body, tokens))
}

fn cohere_texts(obj: &Map<String, Value>) -> Result<Vec<String>, String> {
    let items = match obj.get("texts") {
        None => return Err(malformed("#: required key [texts] not found")),
        Some(Value::Array(a)) => a,
        Some(v) => {
            return Err(malformed(&format!(
                "#/texts: expected type: JSONArray, found: {}",
                json_type_name(v)
            )))
        }
    };
    if items.is_empty() {
        return Err(malformed(
            "#/texts: expected minimum item count: 1, found: 0",
        ));
    }
    if items.len() > COHERE_MAX_TEXTS {
        return Err(malformed(&format!(
            "#/texts: expected maximum item count: {COHERE_MAX_TEXTS}, found: {}",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.as_str().map(str::to_string).ok_or_else(|| {
                malformed(&format!(
                    "#/texts/{i}: expected type: String, found: {}",
                    json_type_name(t)
                ))
            })
        })
        .collect()
}

/// Cohere's quantized forms: int8/uint8 scale by each vector's largest magnitude; binary and
/// ubinary pack the signs, 8 dimensions a byte (as i8 / u8).
fn cohere_typed(kind: &str, vectors: &[Vec<f64>]) -> Value {
    let rows: Vec<Value> = vectors
        .iter()
        .map(|v| {
            let max = v
                .iter()
                .fold(0.0_f64, |m, x| m.max(x.abs()))
                .max(f64::MIN_POSITIVE);
            let packed = || {
                v.chunks(8)
                    .map(|c| c.iter().fold(0u8, |b, x| (b << 1) | u8::from(*x > 0.0)))
            };
            match kind {
                "int8" => json!(v
                    .iter()
                    .map(|x| (x / max * 127.0).round() as i64)
                    .collect::<Vec<_>>()),
                "uint8" => json!(v
                    .iter()
                    .map(|x| (x / max * 127.0).round() as i64 + 128)
                    .collect::<Vec<_>>()),
                "binary" => json!(packed().map(|b| b as i8).collect::<Vec<_>>()),
                "ubinary" => json!(packed().collect::<Vec<_>>()),
                _ => json!(v),
            }
        })
        .collect();
    Value::Array(rows)
}
