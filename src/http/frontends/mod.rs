//! The front ends: one thin adapter per client dialect.
//!
//! - `seed`: the proxy's original `/invoke` and `/invoke_stream`.
//! - `native`: Bedrock's runtime routes `/model/{id}/…` (boto3, the AWS CLI, Claude Code in
//!   Bedrock mode).
//! - `anthropic`: the Anthropic Messages API under `/v1` (anthropic SDKs, Claude Code).
//! - `openai`: the OpenAI-compatible `/v1/chat/completions` and `/v1/embeddings` (over
//!   Converse and the embedding models).
//! - `aws_control`: AWS-shaped control-plane routes (`/foundation-models`, …).
//! - `models`: the cached `GET /models`; `profiles`: `GET /profiles`; `ops`: `GET /health`.

pub mod anthropic;
pub mod aws_control;
pub mod models;
pub mod native;
pub mod openai;
pub mod ops;
pub mod profiles;
pub mod seed;
pub mod v1_models;
