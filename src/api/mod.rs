//! The HTTP surface: poem-openapi operations, Swagger UI, and the middleware that gives every
//! request an id, a tracing span and the one JSON error shape.
//!
//! Handlers are thin: they read the query and body, call the `Pipeline`, and map the result.

mod aws;
mod docs;
mod health;
mod invoke;
mod middleware;
mod models;
mod payload;
mod profiles;
mod sse;

use std::sync::Arc;
use std::time::Duration;

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::{OpenApiService, Tags};

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

/// The whole application as one poem endpoint.
pub fn app(state: Arc<Pipeline>, keepalive: Duration) -> impl Endpoint {
    let api = openapi(state, keepalive);
    let ui = api.swagger_ui();
    let spec = api.spec_endpoint();
    Route::new()
        .nest("/docs", ui)
        .at("/openapi.json", spec)
        .nest("/", api)
        .around(middleware::observe)
}
