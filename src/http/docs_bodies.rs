//! The request schemas of the routes whose bodies the proxy checks (`/invoke`,
//! `/invoke_stream`, `/v1/messages`, `/v1/messages/count_tokens`), written out so that they
//! say exactly what `core::prepare::check_body` and the front ends enforce: `messages` or
//! `prompt` (one, not both: a `oneOf` over `required`), roles, content types, the numeric
//! ranges. The Bedrock-native routes take the model's own body, which Bedrock judges per
//! model: their schema is an open object with a working example and no false promises.
//!
//! Turns of the same role in a row are merged by the proxy (as Anthropic's API does), so
//! alternation is not a rule a client must follow.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde_json::{json, Value};

/// What a documented body declares: its OpenAPI name, description, example and schema.
pub trait BodySchema: Send + Sync + 'static {
    const NAME: &'static str;
    fn schema() -> MetaSchema;
}

/// A request body documented by `S` (never deserialized: the handlers read the bytes).
pub struct Documented<S>(std::marker::PhantomData<S>);

impl<S: BodySchema> Type for Documented<S> {
    const IS_REQUIRED: bool = true;
    type RawValueType = ();
    type RawElementValueType = ();

    fn name() -> Cow<'static, str> {
        Cow::Borrowed(S::NAME)
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(S::NAME.to_string())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(S::NAME.to_string(), |_| MetaSchema {
            rust_typename: Some(std::any::type_name::<Self>()),
            ..S::schema()
        });
    }

    fn as_raw_value(&self) -> Option<&()> {
        None
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a ()> + 'a> {
        Box::new(std::iter::empty())
    }
}

pub(super) fn inline(schema: MetaSchema) -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(schema))
}

pub(super) fn string() -> MetaSchemaRef {
    inline(MetaSchema::new("string"))
}

pub(super) fn number() -> MetaSchemaRef {
    inline(MetaSchema::new("number"))
}

pub(super) fn array_of(items: MetaSchemaRef) -> MetaSchema {
    MetaSchema {
        items: Some(Box::new(items)),
        ..MetaSchema::new("array")
    }
}

/// `schema`, also accepting `null` (serde reads `null` as absent for optional fields).
/// OpenAPI 3.0 needs `null` among an enum's values for a nullable enum to take it.
pub(super) fn nullable(mut schema: MetaSchema) -> MetaSchemaRef {
    if !schema.enum_items.is_empty() && !schema.enum_items.contains(&Value::Null) {
        schema.enum_items.push(Value::Null);
    }
    inline(MetaSchema {
        nullable: true,
        ..schema
    })
}

/// A string that is one of `values`.
pub(super) fn one_of_strings(values: &[&str]) -> MetaSchema {
    MetaSchema {
        enum_items: values.iter().map(|v| json!(v)).collect(),
        ..MetaSchema::new("string")
    }
}

/// An object with these properties, of which `required` must be present.
pub(super) fn object(
    required: Vec<&'static str>,
    properties: Vec<(&'static str, MetaSchemaRef)>,
) -> MetaSchema {
    MetaSchema {
        required,
        properties,
        ..MetaSchema::new("object")
    }
}

/// A model name: any string with a non-blank character.
pub(super) fn model_name(description: &'static str) -> MetaSchemaRef {
    inline(MetaSchema {
        pattern: Some(r"\S".into()),
        description: Some(description),
        ..MetaSchema::new("string")
    })
}

pub(super) fn any_object() -> MetaSchemaRef {
    inline(MetaSchema::new("object"))
}

/// An integer from `min` to 2³²−1 (what the checks accept).
pub(super) fn count(min: f64, description: &'static str) -> MetaSchema {
    MetaSchema {
        minimum: Some(min),
        maximum: Some(f64::from(u32::MAX)),
        description: Some(description),
        ..MetaSchema::new("integer")
    }
}

/// A string, or an array of content blocks.
fn text_or_blocks(description: &'static str) -> MetaSchemaRef {
    inline(MetaSchema {
        description: Some(description),
        one_of: vec![string(), inline(array_of(any_object()))],
        ..MetaSchema::ANY
    })
}

fn message() -> MetaSchemaRef {
    inline(MetaSchema {
        required: vec!["role", "content"],
        properties: vec![
            (
                "role",
                inline(MetaSchema {
                    enum_items: vec![json!("user"), json!("assistant")],
                    ..MetaSchema::new("string")
                }),
            ),
            (
                "content",
                text_or_blocks("Text, or content blocks (`text`, `image`, `tool_use`, `tool_result`, `thinking`, `document`, …)."),
            ),
        ],
        ..MetaSchema::new("object")
    })
}

/// The Messages fields the proxy checks, shared by every checked route.
fn message_fields() -> Vec<(&'static str, MetaSchemaRef)> {
    vec![
        (
            "messages",
            inline(MetaSchema {
                min_items: Some(1),
                description: Some("The conversation; turns of one role in a row are merged."),
                ..array_of(message())
            }),
        ),
        (
            "prompt",
            inline(MetaSchema {
                description: Some("Legacy text completion (`\\n\\nHuman: … \\n\\nAssistant:`), instead of `messages`."),
                ..MetaSchema::new("string")
            }),
        ),
        ("system", text_or_blocks("The system prompt: text or text blocks.")),
        ("max_tokens", inline(count(1.0, "Defaults to 1024 when absent."))),
        ("max_tokens_to_sample", inline(count(1.0, "Legacy form of `max_tokens`."))),
        ("top_k", inline(count(0.0, "Sample from the top K options."))),
        ("temperature", number()),
        ("top_p", number()),
        ("stop_sequences", inline(array_of(string()))),
        ("anthropic_version", string()),
    ]
}

/// `messages` or `prompt`, not both.
fn one_of_messages_or_prompt() -> Vec<MetaSchemaRef> {
    ["messages", "prompt"]
        .into_iter()
        .map(|field| {
            inline(MetaSchema {
                required: vec![field],
                ..MetaSchema::ANY
            })
        })
        .collect()
}

/// The body of `/invoke` and `/invoke_stream`.
pub struct InvokeBody;

impl BodySchema for InvokeBody {
    const NAME: &'static str = "InvokeRequest";
    fn schema() -> MetaSchema {
        MetaSchema {
            description: Some("An Anthropic Messages body (`messages`) or a legacy text-completion one (`prompt`), not both. Other fields pass through to Bedrock."),
            properties: message_fields(),
            one_of: one_of_messages_or_prompt(),
            example: Some(json!({
                "messages": [{"role": "user", "content": "Say hello in one word."}],
                "max_tokens": 64
            })),
            ..MetaSchema::new("object")
        }
    }
}

/// The body of `/v1/messages` and `/v1/messages/count_tokens`.
pub struct MessagesBody;

impl BodySchema for MessagesBody {
    const NAME: &'static str = "MessagesRequest";
    fn schema() -> MetaSchema {
        let mut properties = vec![
            (
                "model",
                inline(MetaSchema {
                    pattern: Some(r"\S".into()),
                    description: Some("A profile name, an alias or Anthropic model name (`GET /v1/models`), or a Bedrock model id."),
                    ..MetaSchema::new("string")
                }),
            ),
            (
                "stream",
                inline(MetaSchema {
                    nullable: true,
                    description: Some("Answer as Anthropic's Server-Sent Events."),
                    ..MetaSchema::new("boolean")
                }),
            ),
            (
                "anthropic_beta",
                inline(MetaSchema {
                    // `null` (as absent) rides on the string branch: OpenAPI 3.0's `nullable`
                    // needs a `type` beside it.
                    any_of: vec![nullable(MetaSchema::new("string")), inline(array_of(string()))],
                    description: Some("Beta flags (a list, or a comma-separated string); joined with the `anthropic-beta` header, then filtered to the ones Bedrock accepts."),
                    ..MetaSchema::ANY
                }),
            ),
        ];
        properties.extend(message_fields());
        MetaSchema {
            description: Some("Anthropic's Messages API body. `messages` or the legacy `prompt`, not both; other fields pass through to Bedrock."),
            required: vec!["model"],
            properties,
            one_of: one_of_messages_or_prompt(),
            example: Some(json!({
                "model": "us",
                "messages": [{"role": "user", "content": "Say hello in one word."}],
                "max_tokens": 64
            })),
            ..MetaSchema::new("object")
        }
    }
}

/// Bedrock's own body for a model (`/model/{modelId}/invoke…`), judged by Bedrock.
pub struct NativeInvokeBody;

impl BodySchema for NativeInvokeBody {
    const NAME: &'static str = "BedrockInvokeBody";
    fn schema() -> MetaSchema {
        open("The model's own InvokeModel body, as Bedrock documents it for that model; Bedrock judges it (a profile's Claude model gets `anthropic_version` and a default `max_tokens` added).", json!({
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "Say hello in one word."}]
        }))
    }
}

/// Bedrock's Converse body.
pub struct ConverseBody;

impl BodySchema for ConverseBody {
    const NAME: &'static str = "ConverseRequest";
    fn schema() -> MetaSchema {
        open("Bedrock's Converse body (`messages` of content blocks, `system`, `inferenceConfig`, `toolConfig`, …); Bedrock judges it.", json!({
            "messages": [{"role": "user", "content": [{"text": "Say hello in one word."}]}],
            "inferenceConfig": {"maxTokens": 64}
        }))
    }
}

/// Bedrock's CountTokens body.
pub struct CountTokensBody;

impl BodySchema for CountTokensBody {
    const NAME: &'static str = "CountTokensRequest";
    fn schema() -> MetaSchema {
        open("Bedrock's CountTokens body: `{\"input\": {\"invokeModel\": {\"body\": BASE64}}}` or `{\"input\": {\"converse\": {…}}}`; Bedrock judges it.", json!({
            "input": {"converse": {
                "messages": [{"role": "user", "content": [{"text": "Say hello in one word."}]}]
            }}
        }))
    }
}

pub(super) fn open(description: &'static str, example: Value) -> MetaSchema {
    MetaSchema {
        description: Some(description),
        example: Some(example),
        ..MetaSchema::new("object")
    }
}
