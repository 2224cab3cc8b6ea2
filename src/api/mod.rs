//! The HTTP surface: poem-openapi operations, Swagger UI, and the middleware that gives every
//! request an id, a tracing span and the one JSON error shape (`middleware`), and checks the
//! client API key and the body size limit (`guard`).
//!
//! Handlers are thin: they read the query and body, call the `Pipeline`, and map the result.

mod anthropic;
mod aws;
mod docs;
pub mod guard;
mod health;
mod invoke;
mod middleware;
mod models;
mod native;
mod payload;
mod profiles;
mod sse;

use std::sync::Arc;
use std::time::Duration;

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::{OpenApiService, Tags};

use crate::config::Config;
use crate::pipeline::Pipeline;

/// Swagger tags.
#[derive(Tags)]
pub enum ApiTags {
    /// Call a model through a profile.
    Invoke,
    /// The models a profile's region offers (cached).
    Models,
    /// AWS-shaped control-plane routes for the AWS CLI and SDKs (`--endpoint-url`).
    Aws,
    /// Bedrock's own runtime routes, for boto3, the AWS CLI, AnthropicBedrock and Claude Code.
    Bedrock,
    /// The Anthropic Messages API, for the anthropic SDKs and Claude Code.
    Anthropic,
    /// Configured profiles.
    Profiles,
    /// Liveness.
    Health,
}

/// The `OpenApiService` with every operation (also used to print the spec).
pub fn openapi(
    state: Arc<Pipeline>,
    keepalive: Duration,
) -> OpenApiService<impl poem_openapi::OpenApi, ()> {
    OpenApiService::new(
        (
            invoke::InvokeApi {
                pipeline: state.clone(),
                keepalive,
            },
            models::ModelsApi {
                pipeline: state.clone(),
            },
            aws::AwsApi {
                pipeline: state.clone(),
            },
            native::NativeApi {
                pipeline: state.clone(),
            },
            anthropic::AnthropicApi {
                pipeline: state.clone(),
                keepalive,
                started: models::rfc3339(std::time::SystemTime::now()),
            },
            profiles::ProfilesApi { pipeline: state },
            health::HealthApi,
        ),
        "bedrock-proxy",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "A local proxy to AWS Bedrock: send Anthropic Messages requests, the proxy picks a \
         profile (model id + region), signs with SigV4 and returns Bedrock's answer.",
    )
    .server("/")
}

/// The whole application as one poem endpoint. Every route, including any added here
/// later, is behind the guard (API key, body limit); panics become 500 JSON errors.
pub fn app(state: Arc<Pipeline>, config: &Config) -> impl Endpoint {
    let api = openapi(state, config.server.stream_keepalive);
    let ui = api.swagger_ui();
    let spec = api.spec_endpoint();
    let settings = guard::GuardSettings {
        auth: Arc::new(config.auth.clone()),
        max_body_bytes: config.limits.max_body_bytes,
    };
    Route::new()
        .nest("/docs", ui)
        .at("/openapi.json", spec)
        .nest("/", api)
        .around(move |ep, req| guard::guard(ep, req, settings.clone()))
        .around(middleware::observe)
}
