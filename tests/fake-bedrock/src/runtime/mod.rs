//! Runtime operations: body validation (InvokeModel, Converse), the default answers,
//! embeddings, prompt-cache accounting and CountTokens.

mod blocks;
pub(crate) mod cache;
mod converse;
mod count_tokens;
mod embed;
mod inference;
mod reply;
mod tools;
mod validate;

pub use blocks::{IMAGE_FORMATS, TINY_PNG_BASE64};
pub use converse::{validate_converse_body, validate_converse_request};
pub use count_tokens::{count_tokens, count_tokens_supported};
pub use embed::{embedding, Embedder, COHERE_DIMENSIONS, COHERE_MAX_TEXTS, TITAN_DIMENSIONS};
pub use inference::Family;
pub use reply::{content_text, converse_content_text};
pub(crate) use validate::malformed;
pub use validate::validate_invoke_body;

pub(crate) use embed::embed_reply;
pub(crate) use reply::{converse_echo_source, echo_source, invoke_reply};
