//! Runtime operations: body validation (InvokeModel, Converse), the default answers, and
//! CountTokens.

mod converse;
mod count_tokens;
mod reply;
mod validate;

pub use converse::validate_converse_body;
pub use count_tokens::{count_tokens, count_tokens_supported};
pub use reply::{content_text, converse_content_text};
pub use validate::validate_invoke_body;

pub(crate) use reply::{converse_echo_source, converse_reply, echo_source, invoke_reply};
