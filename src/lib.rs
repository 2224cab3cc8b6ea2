//! bedrock-proxy: an HTTP proxy in front of AWS Bedrock that signs requests with SigV4.
//!
//! The crate is a stack; each layer imports only those below it (bottom first; enforced by
//! `tests/architecture.rs`):
//! 0. [`aws`]: AWS naming rules (regions, geographies, ARNs, a client's SigV4 header).
//! 1. [`settings`]: the checked configuration as plain data.
//! 2. [`config`]: layered configuration (defaults < proxy.toml < .env < environment), the
//!    only figment user; validates raw input into settings. [`error`]: the domain's errors,
//!    without any web framework.
//! 3. [`bedrock`]: the outbound adapter on a plain `Target` (credentials, SigV4, runtime and
//!    control-plane clients, event streams); [`transform`]: the plugin traits, chains,
//!    registry and built-ins; `auth`: reading client API keys from headers.
//! 4. `catalog`: the moka cache of control-plane answers; [`convert`]: pure dialect
//!    converters (OpenAI Chat Completions and embeddings ⇄ Bedrock); [`metrics`]: the
//!    Prometheus registry, usage and cost accounting, the per-request tally.
//! 5. `core`: profiles, router, resilience and the one pipeline (`Pipeline::execute`).
//! 6. `http`: the poem route tree, one group per front end with its own dialect.
//! 7. `app`: [`ProxyBuilder`] and [`App`], for `main` and for embedding.
//!
//! Embedding: build a [`config::Config`], then [`ProxyBuilder`] (add transformers, or register
//! factories that `proxy.toml` can name) → [`App`] → [`App::bind`] or [`App::serve`].

#![forbid(unsafe_code)]

mod app;
pub(crate) mod auth;
pub mod aws;
pub mod bedrock;
pub(crate) mod catalog;
pub mod config;
pub mod convert;
pub(crate) mod core;
pub mod error;
pub(crate) mod http;
pub mod metrics;
pub mod settings;
pub mod transform;

pub use app::{App, ProxyBuilder, StartError};
