//! The HTTP surface: the poem route tree, one group per front end, each nested with its own
//! dialect (error shape and SSE flavour) and behind the guard (client API key, body limit).
//!
//! Front ends (`frontends/`) are thin adapters: they read their wire format, name a profile or
//! model, hand a `Call` to `Pipeline::execute` (runtime calls) or ask the catalog (control
//! plane, model lists), and render the answer with `render`.

mod allow;
mod cors;
mod docs;
mod docs_bodies;
mod docs_openai;
mod docs_openai_bodies;
mod frontends;
pub mod guard;
mod middleware;
mod params;
mod payload;
pub mod render;
mod sse;
mod telemetry;

use std::sync::Arc;
use std::time::Duration;

use poem::{Endpoint, EndpointExt, IntoEndpoint, Route};
use poem_openapi::{OpenApi, OpenApiService, Tags};

use crate::core::Pipeline;
use crate::settings::Config;
use frontends::{anthropic, aws_control, models, native, openai, ops, profiles, seed, v1_models};
use middleware::Speak;
use render::Dialect;

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
    /// The OpenAI API (Chat Completions over Converse, embeddings), for the openai SDKs and
    /// the tools built on them.
    OpenAi,
    /// Configured profiles.
    Profiles,
    /// Liveness.
    Health,
}

/// Every front end's operations, built from the shared pipeline.
struct FrontEnds {
    pipeline: Arc<Pipeline>,
    keepalive: Duration,
    started: std::time::SystemTime,
}

impl FrontEnds {
    fn new(pipeline: Arc<Pipeline>, keepalive: Duration) -> FrontEnds {
        FrontEnds {
            pipeline,
            keepalive,
            started: std::time::SystemTime::now(),
        }
    }

    /// The proxy's own routes: `/invoke`, `/invoke_stream`, `/models`, `/profiles`, `/health`.
    fn own(&self) -> impl OpenApi {
        let pipeline = self.pipeline.clone();
        (
            seed::InvokeApi {
                pipeline: pipeline.clone(),
                keepalive: self.keepalive,
            },
            models::ModelsApi {
                pipeline: pipeline.clone(),
            },
            profiles::ProfilesApi { pipeline },
            ops::HealthApi,
        )
    }

    fn aws_control(&self) -> impl OpenApi {
        aws_control::AwsApi {
            pipeline: self.pipeline.clone(),
        }
    }

    fn native(&self) -> impl OpenApi {
        native::NativeApi {
            pipeline: self.pipeline.clone(),
        }
    }

    fn openai(&self) -> impl OpenApi {
        openai::OpenAiApi {
            pipeline: self.pipeline.clone(),
            keepalive: self.keepalive,
        }
    }

    /// Everything under `/v1` but the OpenAI calls: the Messages API and the model list.
    fn anthropic(&self) -> impl OpenApi {
        (
            anthropic::AnthropicApi {
                pipeline: self.pipeline.clone(),
                keepalive: self.keepalive,
            },
            v1_models::ModelsV1Api {
                pipeline: self.pipeline.clone(),
                started: self.started,
            },
        )
    }
}

fn service<T: OpenApi>(apis: T) -> OpenApiService<T, ()> {
    OpenApiService::new(apis, "bedrock-proxy", env!("CARGO_PKG_VERSION"))
        .description(
            "A local proxy to AWS Bedrock: send Anthropic Messages requests, the proxy picks a \
             profile (model id + region), signs with SigV4 and returns Bedrock's answer.",
        )
        .server("/")
}

/// The `OpenApiService` with every operation: the one document (`/openapi.json`, Swagger UI).
pub fn openapi(
    state: Arc<Pipeline>,
    keepalive: Duration,
) -> OpenApiService<impl poem_openapi::OpenApi, ()> {
    let f = FrontEnds::new(state, keepalive);
    service((
        f.own(),
        f.aws_control(),
        f.native(),
        f.anthropic(),
        f.openai(),
    ))
}

/// The whole application as one poem endpoint. Each group is behind the guard and renders
/// its errors in its dialect; what matches no group is the proxy's own. `GET /metrics`
/// (when enabled) asks for a client key unless served on `loopback` or `metrics.public`.
pub fn app(state: Arc<Pipeline>, config: &Config, loopback: bool) -> impl Endpoint {
    let keepalive = config.server.stream_keepalive;
    let metrics = state.metrics.clone();
    let f = FrontEnds::new(state.clone(), keepalive);
    let settings = guard::GuardSettings {
        auth: Arc::new(config.auth.clone()),
        max_body_bytes: config.limits.max_body_bytes,
    };
    let group = |ep: poem::endpoint::BoxEndpoint<'static>, speak: Speak| {
        let settings = settings.clone();
        Arc::new(
            ep.around(move |ep, req| guard::guard(ep, req, settings.clone()))
                .with(speak)
                .boxed(),
        )
    };
    let docs = openapi(state, keepalive);
    let allow = allow::AllowTable::from_spec(
        &serde_json::from_str(&docs.spec()).unwrap_or(serde_json::Value::Null),
    );
    let own = Route::new()
        .nest("/docs", docs.swagger_ui())
        .at("/openapi.json", docs.spec_endpoint())
        .nest("/", service(f.own()));
    let aws = group(boxed(service(f.aws_control())), Speak::new(Dialect::Aws));
    let native = Speak {
        dialect: Dialect::Aws,
        default_json: true,
    };
    let openai = group(boxed(service(f.openai())), Speak::new(Dialect::OpenAi));
    let scrape = boxed(poem::get(telemetry::scrape(metrics.clone())));
    let scrape = if loopback || config.metrics.public {
        Arc::new(scrape.with(Speak::new(Dialect::Proxy)).boxed())
    } else {
        group(scrape, Speak::new(Dialect::Proxy))
    };
    let mut routes = Route::new();
    if config.metrics.enabled {
        routes = routes.at("/metrics", scrape);
    }
    routes
        .nest_no_strip("/v1/chat", openai.clone())
        .nest_no_strip("/v1/embeddings", openai)
        .nest_no_strip(
            "/v1",
            group(
                boxed(service(f.anthropic())),
                Speak::new(Dialect::Anthropic),
            ),
        )
        .nest_no_strip("/model", group(boxed(service(f.native())), native))
        .nest_no_strip("/foundation-models", aws.clone())
        .nest_no_strip("/inference-profiles", aws)
        .nest("/", group(boxed(own), Speak::new(Dialect::Proxy)))
        .with(allow)
        .with(cors::Cors::new(&config.server.cors_allowed_origins))
        .around(move |ep, req| middleware::observe(ep, req, metrics.clone()))
}

fn boxed(ep: impl IntoEndpoint<Endpoint: 'static>) -> poem::endpoint::BoxEndpoint<'static> {
    ep.into_endpoint().map_to_response().boxed()
}
