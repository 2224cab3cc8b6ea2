//! Pure dialect converters: typed serde structs and functions, no HTTP, no AWS client.
//!
//! - [`openai_chat`]: OpenAI Chat Completions ⇄ Bedrock Converse / ConverseStream.
//! - [`openai_embeddings`]: OpenAI embeddings ⇄ Titan Text Embeddings v2 / Cohere Embed.

pub mod openai_chat;
pub mod openai_embeddings;
