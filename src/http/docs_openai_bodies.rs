//! The request schemas of `/v1/chat/completions` and `/v1/embeddings`, written out to say
//! what `convert::openai_chat` and `convert::openai_embeddings` accept: field types (with
//! `null` for the optional ones, as serde reads them), enums, ranges, required fields.
//! Rules on values the schema cannot state are in each route's description.

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use serde_json::json;

use super::docs_bodies::{
    array_of, count, inline, model_name, nullable, object, one_of_strings, string, BodySchema,
};

/// OpenAI's tagged object: `{"type": kind, kind: value}`, both required.
fn tagged(kind: &'static str, value: MetaSchemaRef) -> MetaSchema {
    object(
        vec!["type", kind],
        vec![("type", inline(one_of_strings(&[kind]))), (kind, value)],
    )
}

fn text_part() -> MetaSchemaRef {
    inline(tagged("text", string()))
}

fn image_part() -> MetaSchemaRef {
    let url = object(
        vec!["url"],
        vec![
            ("url", string()),
            ("detail", nullable(MetaSchema::new("string"))),
        ],
    );
    inline(tagged("image_url", inline(url)))
}

fn refusal_part() -> MetaSchemaRef {
    inline(tagged("refusal", string()))
}

fn tool_call() -> MetaSchemaRef {
    let function = object(
        vec!["name"],
        vec![
            ("name", string()),
            (
                "arguments",
                inline(MetaSchema {
                    description: Some("A JSON object, as a string."),
                    ..MetaSchema::new("string")
                }),
            ),
        ],
    );
    inline(object(
        vec!["id", "function"],
        vec![
            ("id", string()),
            ("type", nullable(one_of_strings(&["function"]))),
            ("function", inline(function)),
        ],
    ))
}

fn chat_message() -> MetaSchemaRef {
    let content = MetaSchema {
        one_of: vec![
            string(),
            inline(array_of(inline(MetaSchema {
                one_of: vec![text_part(), image_part(), refusal_part()],
                ..MetaSchema::ANY
            }))),
        ],
        description: Some("Text, or parts: `text` (every role), `image_url` (user, with a `data:` URL), `refusal` (assistant)."),
        ..MetaSchema::ANY
    };
    inline(object(
        vec!["role"],
        vec![
            (
                "role",
                inline(one_of_strings(&[
                    "system",
                    "developer",
                    "user",
                    "assistant",
                    "tool",
                ])),
            ),
            ("content", nullable(content)),
            ("name", nullable(MetaSchema::new("string"))),
            ("tool_calls", nullable(array_of(tool_call()))),
            ("tool_call_id", nullable(MetaSchema::new("string"))),
            ("reasoning_content", nullable(MetaSchema::new("string"))),
        ],
    ))
}

fn tool() -> MetaSchemaRef {
    let function = object(
        vec!["name"],
        vec![
            ("name", string()),
            ("description", nullable(MetaSchema::new("string"))),
            ("parameters", nullable(MetaSchema::new("object"))),
            ("strict", nullable(MetaSchema::new("boolean"))),
        ],
    );
    inline(tagged("function", inline(function)))
}

fn tool_choice() -> MetaSchemaRef {
    let named = tagged(
        "function",
        inline(object(vec!["name"], vec![("name", string())])),
    );
    nullable(MetaSchema {
        one_of: vec![
            inline(one_of_strings(&["auto", "required", "none"])),
            inline(named),
        ],
        ..MetaSchema::ANY
    })
}

fn response_format() -> MetaSchemaRef {
    let json_schema = object(
        vec!["name"],
        vec![
            (
                "name",
                inline(MetaSchema {
                    description: Some("Must not be empty when `type` is `json_schema`."),
                    ..MetaSchema::new("string")
                }),
            ),
            ("description", nullable(MetaSchema::new("string"))),
            (
                "schema",
                inline(MetaSchema {
                    description: Some("The JSON Schema the answer must follow."),
                    ..MetaSchema::ANY
                }),
            ),
            ("strict", nullable(MetaSchema::new("boolean"))),
        ],
    );
    nullable(object(
        vec!["type"],
        vec![
            (
                "type",
                inline(one_of_strings(&["text", "json_object", "json_schema"])),
            ),
            ("json_schema", nullable(json_schema)),
        ],
    ))
}

fn optional_count(description: &'static str) -> MetaSchemaRef {
    nullable(count(1.0, description))
}

fn chat_fields() -> Vec<(&'static str, MetaSchemaRef)> {
    vec![
        ("model", model_name("A profile name (`us`, `eu`, …), an alias, or a Bedrock model id / inference-profile id / ARN (called from the region of `?profile=` or the default profile).")),
        ("messages", inline(MetaSchema { min_items: Some(1), ..array_of(chat_message()) })),
        ("max_tokens", optional_count("The output limit.")),
        ("max_completion_tokens", optional_count("The output limit; wins over `max_tokens`.")),
        ("temperature", nullable(MetaSchema::new("number"))),
        ("top_p", nullable(MetaSchema::new("number"))),
        ("stop", nullable(MetaSchema { one_of: vec![string(), inline(array_of(string()))], ..MetaSchema::ANY })),
        ("stream", nullable(MetaSchema::new("boolean"))),
        ("stream_options", nullable(object(vec![], vec![("include_usage", nullable(MetaSchema::new("boolean")))]))),
        ("tools", nullable(array_of(tool()))),
        ("tool_choice", tool_choice()),
        ("reasoning_effort", nullable(MetaSchema {
            description: Some("Claude extended thinking with a budget of 1,024 (minimal, low) / 4,096 (medium) / 16,384 (high) tokens; the thinking text comes back as `reasoning_content`."),
            ..one_of_strings(&["minimal", "low", "medium", "high"])
        })),
        ("response_format", response_format()),
        ("user", nullable(MetaSchema { description: Some("Logged only."), ..MetaSchema::new("string") })),
        ("n", nullable(MetaSchema { maximum: Some(1.0), minimum: Some(0.0), description: Some("Only 1: Converse answers with one choice."), ..MetaSchema::new("integer") })),
        ("logprobs", nullable(MetaSchema { enum_items: vec![json!(false)], description: Some("Not supported (Converse has no token log-probabilities)."), ..MetaSchema::new("boolean") })),
        ("top_logprobs", nullable(MetaSchema { maximum: Some(0.0), minimum: Some(0.0), ..MetaSchema::new("integer") })),
        ("modalities", nullable(array_of(inline(one_of_strings(&["text"]))))),
        ("audio", inline(MetaSchema { nullable: true, description: Some("Not supported: only `null`."), enum_items: vec![json!(null)], ..MetaSchema::ANY })),
    ]
}

/// An OpenAI Chat Completions request, answered through Bedrock Converse.
pub struct ChatBody;

impl BodySchema for ChatBody {
    const NAME: &'static str = "ChatCompletionRequest";
    fn schema() -> MetaSchema {
        MetaSchema {
            description: Some("OpenAI's Chat Completions request. Rules on values the schema cannot state: `image_url` must be a `data:` URL of a PNG, JPEG, GIF or WebP image (400 otherwise); a named `tool_choice` must name one of `tools`; tool-call `arguments` must be a JSON object; `tool` messages need `tool_call_id`; `reasoning_effort` works on Claude models only and not with a forced tool; `response_format: json_schema` needs `json_schema` and cannot be combined with `tools`; Bedrock judges the rest (e.g. a model that does not take images)."),
            example: Some(json!({
                "model": "us",
                "messages": [{"role": "user", "content": "Say hello in one word."}],
                "max_tokens": 64
            })),
            ..object(vec!["model", "messages"], chat_fields())
        }
    }
}

/// An OpenAI embeddings request, answered by Titan Text Embeddings v2 or Cohere Embed.
pub struct EmbeddingsBody;

impl BodySchema for EmbeddingsBody {
    const NAME: &'static str = "EmbeddingsRequest";
    fn schema() -> MetaSchema {
        let text = || {
            inline(MetaSchema {
                min_length: Some(1),
                ..MetaSchema::new("string")
            })
        };
        let input = MetaSchema {
            one_of: vec![
                text(),
                inline(MetaSchema {
                    min_items: Some(1),
                    ..array_of(text())
                }),
            ],
            description: Some("A string or a list of strings, none empty."),
            ..MetaSchema::ANY
        };
        let properties = vec![
            ("model", model_name("`amazon.titan-embed-text-v2:0`, `cohere.embed-english-v3`, … or an alias or profile naming one; another model is a 400.")),
            ("input", inline(input)),
            ("dimensions", nullable(MetaSchema { description: Some("Titan v2: 256, 512 or 1024."), ..MetaSchema::new_with_format("integer", "uint32") })),
            ("encoding_format", nullable(one_of_strings(&["float", "base64"]))),
            ("user", nullable(MetaSchema::new("string"))),
        ];
        MetaSchema {
            description: Some("OpenAI's embeddings request. `model` must name an embedding model (Titan Text Embeddings v2 or Cohere Embed), which the schema cannot state."),
            example: Some(json!({
                "model": "amazon.titan-embed-text-v2:0",
                "input": ["Hello", "world"],
                "dimensions": 256
            })),
            ..object(vec!["model", "input"], properties)
        }
    }
}
