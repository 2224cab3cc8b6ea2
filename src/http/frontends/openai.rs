//! The OpenAI-compatible API over Bedrock Converse, for the `openai` SDKs and the many tools
//! built on them: `POST /v1/chat/completions` (JSON, or with `"stream": true` `data:` chunks
//! ending `data: [DONE]`) and `POST /v1/embeddings` (Titan Text Embeddings v2, Cohere Embed).
//!
//! The handlers only translate, with the pure converters in `convert::`: the request becomes
//! a Converse body routed like every other call (profile, region, retries, fallbacks, the
//! upstream limiter, the request chain's Converse-capable transformers), and Bedrock's answer
//! becomes OpenAI's. Errors are in OpenAI's shape (`{"error":{message,type,param,code}}`) with
//! Bedrock's status kept, so the SDK raises `RateLimitError` on 429 and retries as it does.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use poem::{Body, Request, Response};
use poem_openapi::param::Query;
use poem_openapi::OpenApi;
use serde_json::Value;

use crate::bedrock::Operation;
use crate::convert::openai_chat::{
    error_chunk, from_converse, to_converse, ChatRequest, ChunkStream, ConvertError,
    ConvertOptions, DONE,
};
use crate::convert::openai_embeddings::{self as embed, EmbedFamily, EmbeddingsRequest};
use crate::core::router::Routed;
use crate::core::{Answer, AnswerBody, Call, CallBody, Delivery, Pipeline, StreamItem};
use crate::error::{ApiError, ProxyError};
use crate::http::docs_bodies::Documented;
use crate::http::docs_openai::{ChatCompletionDoc, ChatStreamEventDoc, EmbeddingsResponseDoc};
use crate::http::docs_openai_bodies::{ChatBody, EmbeddingsBody};
use crate::http::guard::ClientKey;
use crate::http::payload::{Described, JsonBody, JsonOf, RawResponse, SuccessDoc};
use crate::http::render::{self, openai_error_type, with_headers, Dialect};
use crate::http::{sse, ApiTags};

pub struct OpenAiApi {
    pub pipeline: Arc<Pipeline>,
    pub keepalive: Duration,
}

/// `/v1/chat/completions`' success: a `chat.completion`, or its chunk stream.
pub struct ChatDoc;

impl SuccessDoc for ChatDoc {
    const CONTENT_TYPE: &'static str = "application/json";
    const ALSO: &'static [&'static str] = &["text/event-stream"];
    const DESCRIPTION: &'static str = "A `chat.completion`, or with `\"stream\": true` Server-Sent Events: `data: {chat.completion.chunk}` lines ending with `data: [DONE]` (a failure after the stream began is a final `data: {\"error\":…}` without `[DONE]`).";
    const DIALECT: Dialect = Dialect::OpenAi;
    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        <ChatCompletionDoc as poem_openapi::types::Type>::schema_ref()
    }
    fn also_schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        <ChatStreamEventDoc as poem_openapi::types::Type>::schema_ref()
    }
    fn register(registry: &mut poem_openapi::registry::Registry) {
        <ChatCompletionDoc as poem_openapi::types::Type>::register(registry);
        <ChatStreamEventDoc as poem_openapi::types::Type>::register(registry);
    }
}

impl Described for EmbeddingsResponseDoc {
    const DESCRIPTION: &'static str = "The embeddings, one per input, in order.";
    const DIALECT: Dialect = Dialect::OpenAi;
}

/// A converter's refusal as the proxy's error: 400 with OpenAI's `param` and `code`, or a 502
/// when Bedrock's answer could not be read.
fn converted(e: ConvertError) -> ProxyError {
    if e.status == 400 {
        ProxyError::BadParameter {
            message: e.message,
            param: e.param,
            code: e.code,
        }
    } else {
        ProxyError::Upstream {
            status: e.status,
            error_type: "InvalidUpstreamResponse".into(),
            message: e.message,
            upstream_request_id: None,
        }
    }
}

fn refused(e: ConvertError) -> poem::Error {
    ApiError::refused(converted(e)).into()
}

/// Bedrock's "model identifier is invalid" for an id the client sent becomes OpenAI's
/// `model_not_found` (404), as for a name the proxy does not know.
fn model_error(routed: &Routed, model: &str, e: ApiError) -> ApiError {
    let invalid_id = matches!(&e.error, ProxyError::Upstream { status: 400, message, .. }
        if message.contains("model identifier is invalid"));
    if routed.direct && invalid_id {
        let attempts = e.attempts.unwrap_or(0);
        return ApiError::from(ProxyError::UnknownModel {
            name: model.to_string(),
            valid: Vec::new(),
            close: Vec::new(),
        })
        .with_attempts(attempts);
    }
    e
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn log_request(unknown: &[&str], user: Option<&str>) {
    if !unknown.is_empty() {
        tracing::debug!(parameters = ?unknown, "ignored unknown OpenAI parameters");
    }
    if let Some(user) = user {
        tracing::debug!(user, "OpenAI `user`");
    }
}

impl OpenAiApi {
    async fn chat(
        &self,
        req: &Request,
        profile: Option<&str>,
        raw: &[u8],
    ) -> poem::Result<Response> {
        let chat = ChatRequest::parse(raw).map_err(refused)?;
        log_request(&chat.unknown_parameters(), chat.user.as_deref());
        let routed = self.pipeline.resolve(&chat.model, profile).await?;
        let options = ConvertOptions {
            model_is_claude: routed.profile.model_id.contains("anthropic.claude"),
            cache_point: routed.profile.prompt_cache,
            ..ConvertOptions::default()
        };
        let converse = to_converse(&chat, &options).map_err(refused)?;
        let Value::Object(body) = converse.body else {
            return Err(ApiError::refused(ProxyError::Internal(
                "Converse body is not an object".into(),
            ))
            .into());
        };
        let (op, delivery) = if converse.stream {
            (Operation::ConverseStream, Delivery::Events)
        } else {
            (Operation::Converse, Delivery::Whole)
        };
        let answer = self
            .pipeline
            .execute(Call {
                profile: routed.profile.clone(),
                op,
                body: CallBody::Converse(body),
                delivery,
                headers: req.headers(),
                extra: Vec::new(),
            })
            .await
            .map_err(|e| model_error(&routed, &chat.model, e))?;
        let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
        let reply = Reply {
            model: &chat.model,
            id: &id,
            created: now_secs(),
            forced: converse.forced_json_tool,
            include_usage: converse.include_usage,
        };
        reply.render(answer, self.keepalive)
    }
}

/// How Bedrock's answer becomes OpenAI's.
struct Reply<'a> {
    /// What the client sent as `model`.
    model: &'a str,
    id: &'a str,
    created: u64,
    forced: Option<String>,
    include_usage: bool,
}

impl Reply<'_> {
    fn render(self, answer: Answer, keepalive: Duration) -> poem::Result<Response> {
        let in_profile = |e: ProxyError| {
            e.in_profile(&answer.profile.name)
                .with_attempts(answer.attempts)
        };
        match answer.body {
            AnswerBody::Events(items) => {
                let chunks = ChunkStream::new(
                    self.model,
                    self.id,
                    self.created,
                    self.include_usage,
                    self.forced,
                );
                let frames =
                    sse::keep_alive(chunk_frames(items, chunks), keepalive, Dialect::OpenAi);
                let response = Response::builder()
                    .content_type("text/event-stream")
                    .header("cache-control", "no-cache")
                    .header("x-accel-buffering", "no")
                    .body(Body::from_bytes_stream(frames));
                Ok(with_headers(
                    response,
                    answer.headers,
                    &answer.profile.name,
                    answer.attempts,
                ))
            }
            AnswerBody::Whole(ref bytes) => {
                let value: Value = serde_json::from_slice(bytes).map_err(|e| {
                    in_profile(ProxyError::Internal(format!(
                        "Converse answered something that is not JSON: {e}"
                    )))
                })?;
                let completion = from_converse(
                    &value,
                    self.model,
                    self.id,
                    self.created,
                    self.forced.as_deref(),
                )
                .map_err(|e| in_profile(converted(e)))?;
                let body = serde_json::to_vec(&completion)
                    .map_err(|e| in_profile(ProxyError::Internal(e.to_string())))?;
                Ok(render::rewritten(&answer, Bytes::from(body)))
            }
            AnswerBody::Raw(_) => {
                Err(in_profile(ProxyError::Internal("Converse answered a raw body".into())).into())
            }
        }
    }
}

/// One `data: <json>` line.
fn data_line(out: &mut BytesMut, value: &Value) {
    out.put_slice(b"data: ");
    out.put_slice(value.to_string().as_bytes());
    out.put_slice(b"\n\n");
}

/// ConverseStream events as OpenAI's `data:` chunks: `[DONE]` after the last, or a final
/// error chunk (and no `[DONE]`) when the stream fails, so the SDK raises instead of
/// returning a silently truncated answer.
fn chunk_frames(
    items: BoxStream<'static, StreamItem>,
    chunks: ChunkStream,
) -> BoxStream<'static, Bytes> {
    futures_util::stream::unfold(Some((items, chunks)), |state| async move {
        let (mut items, mut chunks) = state?;
        let mut out = BytesMut::new();
        match items.next().await {
            Some(StreamItem::Event { name, data }) => {
                let payload: Value = serde_json::from_slice(&data).unwrap_or(Value::Null);
                for chunk in chunks.on_event(&name, &payload) {
                    data_line(&mut out, &chunk);
                }
                Some((out.freeze(), Some((items, chunks))))
            }
            Some(StreamItem::Error(e)) => {
                tracing::warn!(kind = e.kind.name(), message = %e.message, "stream ended with an error");
                let chunk = error_chunk(&e.message, openai_error_type(e.kind.name(), e.status()), Some(e.kind.name()));
                data_line(&mut out, &chunk);
                Some((out.freeze(), None))
            }
            None => {
                for chunk in chunks.finish() {
                    data_line(&mut out, &chunk);
                }
                out.put_slice(b"data: ");
                out.put_slice(DONE.as_bytes());
                out.put_slice(b"\n\n");
                Some((out.freeze(), None))
            }
        }
    })
    .filter(|frame| futures_util::future::ready(!frame.is_empty()))
    .boxed()
}

impl OpenAiApi {
    async fn embeddings(
        &self,
        req: &Request,
        profile: Option<&str>,
        raw: &[u8],
    ) -> poem::Result<Response> {
        let request = EmbeddingsRequest::parse(raw).map_err(refused)?;
        log_request(&request.unknown_parameters(), request.user.as_deref());
        let base64 = request.wants_base64().map_err(refused)?;
        let routed = self.pipeline.resolve(&request.model, profile).await?;
        // Embedding bodies are Titan/Cohere InvokeModel bodies, which no request transformer
        // edits; refuse rather than send an input a redaction was configured to clean.
        let configured = routed.profile.request_chain.configured();
        if !configured.is_empty() {
            return Err(refused(ConvertError::invalid(
                "model",
                format!(
                    "profile '{}' runs request transformers ({}), which do not edit embedding inputs; /v1/embeddings refuses the request rather than skip them. Use a profile with `request_transformers = []`",
                    routed.profile.name,
                    configured.join(", ")
                ),
            )));
        }
        let family = embed::family_of(&routed.profile.model_id).ok_or_else(|| {
            refused(ConvertError::invalid(
                "model",
                format!(
                    "'{}' ({}) is not an embedding model this proxy speaks to: use Titan Text Embeddings v2 (amazon.titan-embed-text-v2:0) or Cohere Embed (cohere.embed-*)",
                    request.model, routed.profile.model_id
                ),
            ))
        })?;
        let bodies = match family {
            EmbedFamily::Titan => embed::titan_bodies(&request),
            EmbedFamily::Cohere => embed::cohere_bodies(&request),
        }
        .map_err(refused)?;
        // One call per body (Titan: per input), concurrently, each under the upstream limiter.
        let calls = bodies.into_iter().map(|body| {
            self.pipeline.execute(Call {
                profile: routed.profile.clone(),
                op: Operation::Invoke,
                body: CallBody::Verbatim(Bytes::from(body.to_string())),
                delivery: Delivery::Whole,
                headers: req.headers(),
                extra: Vec::new(),
            })
        });
        let answers = futures_util::future::try_join_all(calls)
            .await
            .map_err(|e| model_error(&routed, &request.model, e))?;
        let last = answers
            .last()
            .ok_or_else(|| refused(ConvertError::invalid("input", "no input to embed")))?;
        let in_profile = |e: ProxyError| {
            e.in_profile(&last.profile.name)
                .with_attempts(attempts(&answers))
        };
        let values = answers
            .iter()
            .map(whole_json)
            .collect::<Result<Vec<Value>, ProxyError>>()
            .map_err(in_profile)?;
        let response = match family {
            EmbedFamily::Titan => embed::from_titan(&values, &request.model, base64),
            EmbedFamily::Cohere => embed::from_cohere(&values, &request.model, base64),
        }
        .map_err(|e| in_profile(converted(e)))?;
        let body = serde_json::to_vec(&response)
            .map_err(|e| in_profile(ProxyError::Internal(e.to_string())))?;
        let mut out = render::rewritten(last, Bytes::from(body));
        out.headers_mut().insert(
            render::ATTEMPTS_HEADER,
            http::HeaderValue::from(attempts(&answers)),
        );
        Ok(out)
    }
}

fn attempts(answers: &[Answer]) -> u32 {
    answers.iter().map(|a| a.attempts).sum()
}

fn whole_json(answer: &Answer) -> Result<Value, ProxyError> {
    match &answer.body {
        AnswerBody::Whole(bytes) => serde_json::from_slice(bytes).map_err(|e| {
            ProxyError::Internal(format!(
                "the embedding model answered something that is not JSON: {e}"
            ))
        }),
        _ => Err(ProxyError::Internal(
            "the embedding model answered a stream".into(),
        )),
    }
}

#[OpenApi]
impl OpenAiApi {
    /// Create a chat completion (OpenAI API)
    ///
    /// OpenAI's `POST /v1/chat/completions`, answered by Bedrock Converse (every Converse
    /// model: Claude, Nova, Llama, Mistral, …). `model` is a profile name, an alias or a
    /// Bedrock id. Tools, `data:` images, `reasoning_effort` (Claude thinking) and streaming
    /// with `stream_options.include_usage` are supported; `n` > 1, `logprobs` and audio are
    /// refused with a 400 naming the parameter. Errors are in OpenAI's shape.
    #[oai(
        path = "/v1/chat/completions",
        method = "post",
        tag = "ApiTags::OpenAi"
    )]
    async fn chat_completions(
        &self,
        req: &Request,
        _key: ClientKey,
        /// Profile whose region direct Bedrock ids are called from; default when absent.
        profile: Query<Option<String>>,
        body: JsonBody<Documented<ChatBody>>,
    ) -> poem::Result<RawResponse<ChatDoc>> {
        let response = self.chat(req, profile.0.as_deref(), &body.0).await?;
        Ok(RawResponse::new(response))
    }

    /// Create embeddings (OpenAI API)
    ///
    /// OpenAI's `POST /v1/embeddings`: Titan Text Embeddings v2 (one call per input, run
    /// concurrently) or Cohere Embed (batched, 96 per call). `encoding_format: base64` gives
    /// little-endian f32 bytes, as OpenAI does.
    #[oai(path = "/v1/embeddings", method = "post", tag = "ApiTags::OpenAi")]
    async fn embeddings_route(
        &self,
        req: &Request,
        _key: ClientKey,
        /// Profile whose region direct Bedrock ids are called from; default when absent.
        profile: Query<Option<String>>,
        body: JsonBody<Documented<EmbeddingsBody>>,
    ) -> poem::Result<RawResponse<JsonOf<EmbeddingsResponseDoc>>> {
        let response = self.embeddings(req, profile.0.as_deref(), &body.0).await?;
        Ok(RawResponse::new(response))
    }
}
