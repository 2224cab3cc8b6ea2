//! `FakeBedrock`: a scriptable fake of the AWS Bedrock runtime and control
//! plane for integration tests, written on a raw tokio `TcpListener` (HTTP/1.1
//! with keep-alive) so that faults — hangs, cut connections, corrupted
//! event-stream frames, split writes — are fully under the test's control.
//!
//! Every request is SigV4-verified by the independent verifier in [`sigv4`]
//! and recorded. Runtime requests (`/model/{id}/invoke`,
//! `/invoke-with-response-stream`, `/converse`, `/converse-stream`,
//! `/count-tokens`) pop scripted [`Behavior`]s from a FIFO queue (`push`);
//! control-plane requests (`/foundation-models`, `/inference-profiles`) use a separate queue
//! (`push_control`). An empty queue means realistic default answers.
//!
//! # What the runtime answers by default
//!
//! - InvokeModel / InvokeModelWithResponseStream: Anthropic bodies validated like Bedrock
//!   ([`validate_invoke_body`]), answered `echo: <last user text>`. Embedding models
//!   ([`Embedder`]): `amazon.titan-embed-text-v2:0` (`inputText`, `dimensions`
//!   256/512/1024, `normalize`, `embeddingTypes`) and `cohere.embed-english-v3` /
//!   `cohere.embed-multilingual-v3` (`texts` 1–96, `input_type`, `truncate`,
//!   `embedding_types`), validated with Bedrock's messages, answered with [`embedding`] of
//!   each text (deterministic, so tests can compute the expected vectors); they do not
//!   stream and do not take Converse.
//! - Converse / ConverseStream: validated for the model ([`validate_converse_request`]:
//!   roles, content blocks, tools, inference settings, Claude-only extended thinking),
//!   answered with the echo text block, or with a [`ConverseScript`] queued as
//!   [`Behavior::converse`]. ConverseStream sends one event-stream frame per event
//!   (`messageStart`, `contentBlockStart` for tool uses, `contentBlockDelta`,
//!   `contentBlockStop`, `messageStop`, `metadata`); `contentBlockIndex` counts every block.
//! - Prompt caching: a `cachePoint` in `system` or `messages` makes the first request with
//!   that prefix report `cacheWriteInputTokens` and later ones (same fake, same model)
//!   `cacheReadInputTokens`, taken out of `inputTokens` (see [`ConverseUsage`];
//!   `FakeBedrock::clear_prompt_cache` forgets).
//! - CountTokens ([`count_tokens`]), counted like invoke and converse count input.
//! - Claude on InvokeModel is judged like Bedrock judges it (`claude`): an `anthropic_beta`
//!   value not in [`BEDROCK_BETAS`] is `400 invalid beta flag`; a beta-gated field without its
//!   beta ([`GATED`]) and an extraneous key ([`EXTRANEOUS`]: `model`, `stream`,
//!   `service_tier`, …) are 400s; a `thinking` block sent back must carry
//!   [`thinking_signature`] of its text byte for byte. The newer Claude models of the
//!   catalogue (Opus 4.1, Sonnet 4.5, Haiku 4.5, `anthropic.claude-opus-4-6-v1`,
//!   `anthropic.claude-opus-5-5`) and those added with `FakeBedrock::add_model(…, true)` are
//!   profile-only: a geography and a `global.` system inference profile each, and their bare
//!   ids refused with Bedrock's on-demand message ([`on_demand_refusal`]).
//! - [`Behavior::text`] answers like the default (validation included) with a given text;
//!   [`Behavior::validated`] validates first, then behaves as scripted.
//!
//! Every count is in words (whitespace-separated, at least 1): see
//! [`eventstream::approx_tokens`]. [`FakeBedrock::calls`] counts requests per operation and
//! model, [`FakeBedrock::max_in_flight`] the most answered at once (for batching and
//! concurrency limits).
//!
//! # Scripting a Converse answer
//!
//! ```no_run
//! # async fn demo() {
//! use fake_bedrock::{Behavior, ConverseScript, FakeBedrock, StopReason, StreamScript};
//! use serde_json::json;
//!
//! let fake = FakeBedrock::start().await;
//! // Text, then two tool calls (stop reason `tool_use`), on Converse or ConverseStream:
//! fake.push(Behavior::converse(
//!     ConverseScript::text("Let me check.")
//!         .then_tool_use("tooluse_1", "get_weather", json!({"city": "Paris"}))
//!         .then_tool_use("tooluse_2", "get_time", json!({"tz": "Europe/Paris"})),
//! ));
//! // Reasoning (text and signature), then text, cut short:
//! fake.push(Behavior::converse(
//!     ConverseScript::reasoning("Think first.", "c2ln")
//!         .then_text("Answer.")
//!         .stop(StopReason::MaxTokens),
//! ));
//! // A stream that fails after three events:
//! fake.push(Behavior::converse(ConverseScript::text("partial").with_faults(StreamScript {
//!     exception_after: Some((3, "modelStreamErrorException".into(), "boom".into())),
//!     ..Default::default()
//! })));
//! # }
//! ```
//!
//! With the `fast` feature, [`fast`] is the benchmark's fast fake instead: hyper, canned
//! answers, no signature checks.
//!
//! Layout: `server` (listener, shared state, the public handle), `http`
//! (HTTP/1.1 reader and writer), `route`, `dispatch` (one request: verify, record, pick the
//! behaviour), `stream` (event-stream answers), `script` ([`Behavior`], [`StreamScript`]),
//! `runtime` (body validation, default replies, CountTokens), `claude` (Bedrock's Claude
//! rules, the newer Claude models), `control` (the control-plane catalogue), [`eventstream`] (frames and event sequences) and [`sigv4`].

pub mod eventstream;
#[cfg(feature = "fast")]
pub mod fast;
pub mod sigv4;

mod claude;
mod control;
mod converse_answer;
mod converse_script;
mod dispatch;
mod http;
mod route;
mod runtime;
mod script;
mod server;
mod stream;
mod tokens;

#[cfg(test)]
mod selftest;

pub use claude::{on_demand_refusal, thinking_signature, BEDROCK_BETAS, EXTRANEOUS, GATED};
pub use control::{foundation_models, inference_profiles};
pub use converse_script::{
    even_pieces, word_pieces, ConverseScript, ConverseUsage, ReplyBlock, StopReason,
    CONVERSE_LATENCY_MS, TOOL_INPUT_PIECES,
};
pub use runtime::{
    content_text, converse_content_text, count_tokens, count_tokens_supported, embedding,
    validate_converse_body, validate_converse_request, validate_invoke_body, Embedder, Family,
    COHERE_DIMENSIONS, COHERE_MAX_TEXTS, IMAGE_FORMATS, TINY_PNG_BASE64, TITAN_DIMENSIONS,
};
pub use script::{Behavior, StreamScript};
pub use server::{FakeBedrock, Recorded};
pub use sigv4::{FakeCreds, SigError, SigInfo};
pub use tokens::Tokens;

/// `x-amzn-ErrorType` namespace for Bedrock service errors.
pub const BEDROCK_ERROR_NS: &str = "http://internal.amazon.com/coral/com.amazonaws.bedrock/";
/// `x-amzn-ErrorType` namespace for framework errors (auth, unknown operation).
pub const CORAL_ERROR_NS: &str = "http://internal.amazon.com/coral/com.amazon.coral.service/";
/// Fake AWS account id used in ARNs.
pub const ACCOUNT_ID: &str = "123456789012";
/// Default page size of `ListInferenceProfiles` in the fake (forces pagination).
pub const DEFAULT_PROFILE_PAGE_SIZE: usize = 2;
