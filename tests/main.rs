//! The integration tests, one binary: each file in tests/ is a module of it, and tests/support
//! is what they share. One binary links the dependency graph once, where 18 binaries linked it
//! 18 times (1.4 GB of test executables in a clean build). Run one file's tests with a filter:
//! `cargo test --test integration openai::`.

// Tests may unwrap, panic, print and run long.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::too_many_lines
)]

mod support;

mod anthropic;
mod architecture;
mod botocore_signature;
mod claude_code;
mod clients;
mod config;
mod cors;
mod invoke;
mod metrics;
mod models;
mod native;
mod openai;
mod openapi;
mod resilience;
mod schemathesis;
mod security;
mod stream;
mod transformers;
