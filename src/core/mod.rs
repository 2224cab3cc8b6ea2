//! The core: one pipeline every front end goes through, without HTTP.
//!
//! - [`profiles`]: named profiles (settings, target, chains) and the lookup by name.
//! - [`router`]: which profile serves a model a client names.
//! - [`names`]: Anthropic API model names resolved from the catalog.
//! - [`resilience`]: retries, fallback profiles and the cap on concurrent upstream calls.
//! - [`pipeline`]: [`Pipeline::execute`], the one way into execution.
//! - [`prepare`]: the client's body checked and run through a profile's request chain.
//! - [`stream`]: a started stream shaped for front ends (response chain, slot held, re-encoding).

mod metered;
pub mod names;
pub mod pipeline;
pub mod prepare;
pub mod profiles;
pub mod resilience;
pub mod router;
pub mod stream;

pub use pipeline::{Answer, AnswerBody, Call, CallBody, Delivery, Pipeline};
pub use stream::StreamItem;
