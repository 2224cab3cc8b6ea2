//! The Bedrock side: credentials, SigV4 signing, the runtime client and its error format.
//!
//! Nothing here knows about the proxy's HTTP surface: callers get typed results and
//! `ProxyError`s, never poem types.

pub mod client;
pub mod control;
pub mod credentials;
pub mod eventstream;
mod read;
pub mod signing;
mod target;
pub mod types;

pub use client::{
    AttemptNumber, BedrockClient, ExtraHeaders, InvokeOutput, Operation, RawOutput, StreamOutput,
};
pub use credentials::CredentialStore;
pub use target::{ModelUrls, Target};
