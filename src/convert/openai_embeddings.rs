//! OpenAI Embeddings ⇄ Bedrock InvokeModel bodies for Titan Text Embeddings v2
//! and Cohere Embed.
//!
//! Decisions:
//! - Token-array inputs (`[int]`, `[[int]]`) are 400 (`input`); so are an empty
//!   string, an empty list and any empty string inside the list.
//! - Titan: one body per input, `normalize: true`; `dimensions` must be 256, 512 or 1024.
//! - Cohere: `input_type: "search_document"`, at most 96 texts per body;
//!   `dimensions` is 400 (Cohere v3 embeddings have a fixed size).
//! - Cohere usage comes from `meta.billed_units.input_tokens` when present, else 0.
//! - `encoding_format: "base64"` gives base64 of little-endian f32 values;
//!   `float` keeps the numbers exactly as Bedrock returned them.
//! - Malformed Bedrock responses give a [`ConvertError`] with status 502.
//! - [`family_of`] also accepts geography prefixes (`us.`, `eu.`, `global.`…)
//!   and ARNs (the part after the last `/`); Titan v1 is not matched.
//! - Cohere v4's `output_dimension` is not mapped: `dimensions` is 400 for all Cohere models.
//! - `float` vectors are checked only for being numbers; their count per input
//!   is not compared with the number of inputs.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::openai_chat::ConvertError;

/// Cohere Embed accepts at most this many texts per InvokeModel call.
pub const COHERE_MAX_TEXTS: usize = 96;

/// Output sizes Titan Text Embeddings v2 supports.
pub const TITAN_DIMENSIONS: [u32; 3] = [256, 512, 1024];

/// `POST /v1/embeddings` body. Unknown keys land in [`EmbeddingsRequest::other`].
#[derive(Debug, Clone, Deserialize)]
pub struct EmbeddingsRequest {
    pub model: String,
    pub input: EmbeddingInput,
    pub dimensions: Option<u32>,
    pub encoding_format: Option<String>,
    /// End-user id; for logging only.
    pub user: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `input`: a string, a list of strings, or (rejected) token arrays.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    Text(String),
    Texts(Vec<String>),
    Tokens(Vec<u64>),
    TokenBatches(Vec<Vec<u64>>),
}

impl EmbeddingsRequest {
    /// Parses and validates a body (input shape, `encoding_format`).
    pub fn parse(bytes: &[u8]) -> Result<EmbeddingsRequest, ConvertError> {
        let req: EmbeddingsRequest =
            serde_json::from_slice(bytes).map_err(|e| ConvertError::from_json(&e))?;
        req.texts()?;
        req.wants_base64()?;
        Ok(req)
    }

    /// The input texts; 400 for token arrays and empty inputs.
    pub fn texts(&self) -> Result<Vec<&str>, ConvertError> {
        let texts: Vec<&str> = match &self.input {
            EmbeddingInput::Text(s) => vec![s.as_str()],
            EmbeddingInput::Texts(v) => v.iter().map(String::as_str).collect(),
            EmbeddingInput::Tokens(_) | EmbeddingInput::TokenBatches(_) => {
                return Err(ConvertError::unsupported(
                    "input",
                    "Token-array inputs are not supported; send strings",
                ));
            }
        };
        if texts.is_empty() || texts.iter().any(|t| t.is_empty()) {
            return Err(ConvertError::invalid(
                "input",
                "`input` must be a non-empty string or a non-empty list of non-empty strings",
            ));
        }
        Ok(texts)
    }

    /// True for `encoding_format: "base64"`; 400 for values other than float/base64.
    pub fn wants_base64(&self) -> Result<bool, ConvertError> {
        match self.encoding_format.as_deref() {
            None | Some("float") => Ok(false),
            Some("base64") => Ok(true),
            Some(other) => Err(ConvertError::invalid(
                "encoding_format",
                format!("Unsupported encoding_format '{other}'; expected float or base64"),
            )),
        }
    }

    /// Names of the ignored, unknown top-level parameters (sorted).
    pub fn unknown_parameters(&self) -> Vec<&str> {
        self.other.keys().map(String::as_str).collect()
    }
}

/// The Bedrock embedding model families this module speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedFamily {
    Titan,
    Cohere,
}

/// Family of a Bedrock model id; accepts a geography prefix (`us.`, `eu.`,
/// `global.`, …) and a model or inference-profile ARN.
pub fn family_of(model_id: &str) -> Option<EmbedFamily> {
    let id = model_id.rsplit('/').next().unwrap_or(model_id);
    let matches = |id: &str| {
        if id.starts_with("amazon.titan-embed-text-v2") {
            Some(EmbedFamily::Titan)
        } else if id.starts_with("cohere.embed-") {
            Some(EmbedFamily::Cohere)
        } else {
            None
        }
    };
    matches(id).or_else(|| matches(id.split_once('.')?.1))
}

/// One Titan InvokeModel body per input text.
pub fn titan_bodies(req: &EmbeddingsRequest) -> Result<Vec<Value>, ConvertError> {
    if let Some(d) = req.dimensions.filter(|d| !TITAN_DIMENSIONS.contains(d)) {
        return Err(ConvertError::invalid(
            "dimensions",
            format!("dimensions {d} is not supported by this model; use 256, 512 or 1024"),
        ));
    }
    let texts = req.texts()?;
    let body = |text: &str| {
        let mut b = json!({"inputText": text, "normalize": true});
        if let Some(d) = req.dimensions {
            b["dimensions"] = json!(d);
        }
        b
    };
    Ok(texts.into_iter().map(body).collect())
}

/// Cohere InvokeModel bodies, at most [`COHERE_MAX_TEXTS`] texts each.
pub fn cohere_bodies(req: &EmbeddingsRequest) -> Result<Vec<Value>, ConvertError> {
    if req.dimensions.is_some() {
        return Err(ConvertError::unsupported(
            "dimensions",
            "dimensions is not supported by Cohere embedding models (their size is fixed)",
        ));
    }
    let texts = req.texts()?;
    let body = |chunk: &[&str]| json!({"texts": chunk, "input_type": "search_document"});
    Ok(texts.chunks(COHERE_MAX_TEXTS).map(body).collect())
}

/// OpenAI `/v1/embeddings` response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbeddingsResponse {
    pub object: &'static str,
    pub data: Vec<EmbeddingData>,
    pub model: String,
    pub usage: EmbeddingsUsage,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbeddingData {
    pub object: &'static str,
    pub index: usize,
    pub embedding: EmbeddingVector,
}

/// Floats, or base64 of the little-endian f32 bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EmbeddingVector {
    Float(Vec<f64>),
    Base64(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EmbeddingsUsage {
    pub prompt_tokens: u64,
    pub total_tokens: u64,
}

/// Base64 of the vector as little-endian f32, as OpenAI's `encoding_format: base64`.
pub fn encode_base64(values: &[f64]) -> String {
    let bytes: Vec<u8> = values
        .iter()
        .flat_map(|v| (*v as f32).to_le_bytes())
        .collect();
    STANDARD.encode(bytes)
}

fn floats(value: &Value, what: &str) -> Result<Vec<f64>, ConvertError> {
    let bad = || ConvertError::upstream(format!("Bedrock {what} is not an array of numbers"));
    value
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|v| v.as_f64().ok_or_else(bad))
        .collect()
}

fn build(vectors: Vec<Vec<f64>>, model: &str, base64: bool, tokens: u64) -> EmbeddingsResponse {
    let data = vectors
        .into_iter()
        .enumerate()
        .map(|(index, v)| EmbeddingData {
            object: "embedding",
            index,
            embedding: if base64 {
                EmbeddingVector::Base64(encode_base64(&v))
            } else {
                EmbeddingVector::Float(v)
            },
        })
        .collect();
    EmbeddingsResponse {
        object: "list",
        data,
        model: model.to_string(),
        usage: EmbeddingsUsage {
            prompt_tokens: tokens,
            total_tokens: tokens,
        },
    }
}

/// Titan responses (one per input, in input order) → OpenAI response.
pub fn from_titan(
    responses: &[Value],
    model: &str,
    base64: bool,
) -> Result<EmbeddingsResponse, ConvertError> {
    let mut vectors = Vec::with_capacity(responses.len());
    let mut tokens = 0;
    for r in responses {
        let embedding = r.get("embedding").unwrap_or(&Value::Null);
        vectors.push(floats(embedding, "Titan embedding")?);
        tokens += r
            .get("inputTextTokenCount")
            .and_then(Value::as_u64)
            .unwrap_or(0);
    }
    Ok(build(vectors, model, base64, tokens))
}

/// Cohere responses (one per body, in body order) → OpenAI response. Accepts
/// `embeddings` as `[[…]]` or `{"float": [[…]]}`.
pub fn from_cohere(
    responses: &[Value],
    model: &str,
    base64: bool,
) -> Result<EmbeddingsResponse, ConvertError> {
    let mut vectors = Vec::new();
    let mut tokens = 0;
    for r in responses {
        let embeddings = match r.get("embeddings") {
            Some(Value::Object(by_type)) => by_type.get("float"),
            other => other,
        };
        let Some(list) = embeddings.and_then(Value::as_array) else {
            return Err(ConvertError::upstream(
                "Bedrock Cohere response has no float embeddings",
            ));
        };
        for v in list {
            vectors.push(floats(v, "Cohere embedding")?);
        }
        let billed = r.pointer("/meta/billed_units/input_tokens");
        tokens += billed.and_then(Value::as_f64).unwrap_or(0.0) as u64;
    }
    Ok(build(vectors, model, base64, tokens))
}

#[cfg(test)]
mod tests;
