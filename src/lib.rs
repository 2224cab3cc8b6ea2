//! bedrock-proxy: an HTTP proxy in front of AWS Bedrock that signs requests with SigV4.
//!
//! Module map (one request flows top to bottom):
//! - [`api`]: the poem-openapi HTTP surface, Swagger UI, request ids and error rendering.
//! - [`pipeline`]: one request end to end without HTTP: profile, body checks, transformers.
//! - [`profiles`]: named profiles and the router that picks one per request.
//! - [`transform`]: the request/response transformer traits (the plugin surface) and built-ins.
//! - [`bedrock`]: credentials, SigV4 signing and the Bedrock runtime client.
//! - [`config`]: layered configuration (defaults < proxy.toml < .env < environment).
//! - [`error`]: every error type and the one place errors become HTTP.
//!
//! Embedding: build a [`config::Config`], then [`ProxyBuilder`] → [`App`] → serve.

pub mod api;
pub mod bedrock;
pub mod config;
pub mod error;
pub mod pipeline;
pub mod profiles;
pub mod transform;

use std::net::SocketAddr;
use std::sync::Arc;

use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};

use bedrock::{BedrockClient, CredentialStore};
use config::Config;
use pipeline::Pipeline;
use profiles::{Profile, Profiles};
use transform::{RequestChain, RequestTransformer, ResponseChain, ResponseTransformer};

/// Assembles a proxy from a checked configuration.
pub struct ProxyBuilder {
    config: Config,
    credentials: Option<CredentialStore>,
    extra_request: Vec<(Option<String>, Arc<dyn RequestTransformer>)>,
    extra_response: Vec<(Option<String>, Arc<dyn ResponseTransformer>)>,
}

/// A proxy ready to serve.
pub struct App {
    pub config: Config,
    pipeline: Arc<Pipeline>,
}

/// Something went wrong while assembling or starting the proxy.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Setup(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

impl ProxyBuilder {
    pub fn new(config: Config) -> Self {
        ProxyBuilder {
            config,
            credentials: None,
            extra_request: Vec::new(),
            extra_response: Vec::new(),
        }
    }

    /// Append a request transformer to one profile's chain (`Some(name)`) or to every
    /// profile's (`None`). It runs after the built-ins.
    pub fn request_transformer(
        mut self,
        profile: Option<&str>,
        transformer: Arc<dyn RequestTransformer>,
    ) -> Self {
        self.extra_request
            .push((profile.map(str::to_string), transformer));
        self
    }

    /// Append a response transformer to one profile's chain (`Some(name)`) or to every
    /// profile's (`None`). It sees whole JSON answers and each stream event.
    pub fn response_transformer(
        mut self,
        profile: Option<&str>,
        transformer: Arc<dyn ResponseTransformer>,
    ) -> Self {
        self.extra_response
            .push((profile.map(str::to_string), transformer));
        self
    }

    /// Use these credentials instead of the standard AWS chain.
    pub fn credentials(mut self, store: CredentialStore) -> Self {
        self.credentials = Some(store);
        self
    }

    pub async fn build(self) -> Result<App, StartError> {
        let config = self.config;
        let credentials = match self.credentials {
            Some(c) => c,
            None => {
                let names: Vec<Option<String>> = config
                    .profiles
                    .iter()
                    .map(|p| p.aws_profile.clone())
                    .collect();
                let region = config
                    .profiles
                    .iter()
                    .find(|p| p.name == config.default_profile)
                    .map(|p| p.region.clone())
                    .unwrap_or_else(|| "us-east-1".to_string());
                CredentialStore::from_default_chain(&names, &region).await
            }
        };
        let bedrock = BedrockClient::new(
            credentials,
            config.profiles.iter().map(|p| p.timeouts.connect),
        )
        .map_err(|e| StartError::Setup(e.to_string()))?;
        for name in self
            .extra_request
            .iter()
            .map(|(n, _)| n)
            .chain(self.extra_response.iter().map(|(n, _)| n))
            .flatten()
        {
            if !config.profiles.iter().any(|p| &p.name == name) {
                return Err(StartError::Setup(format!(
                    "a transformer was added to profile '{name}', which is not configured"
                )));
            }
        }
        let profiles = config
            .profiles
            .iter()
            .map(|p| Profile {
                settings: p.clone(),
                request_chain: RequestChain::builtin_default()
                    .then(for_profile(&self.extra_request, &p.name)),
                response_chain: ResponseChain::new(for_profile(&self.extra_response, &p.name)),
            })
            .collect();
        let profiles =
            Profiles::new(profiles, &config.default_profile).map_err(StartError::Setup)?;
        Ok(App {
            config,
            pipeline: Arc::new(Pipeline { profiles, bedrock }),
        })
    }
}

/// The transformers added for every profile or for `name`, in the order they were added.
fn for_profile<T: ?Sized>(extra: &[(Option<String>, Arc<T>)], name: &str) -> Vec<Arc<T>> {
    extra
        .iter()
        .filter(|(target, _)| target.as_deref().is_none_or(|t| t == name))
        .map(|(_, t)| t.clone())
        .collect()
}

impl App {
    /// The whole HTTP application as a poem endpoint (for embedding in a larger poem app).
    pub fn endpoint(&self) -> impl poem::Endpoint {
        api::app(self.pipeline.clone(), self.config.server.stream_keepalive)
    }

    /// The OpenAPI document as JSON.
    pub fn openapi_json(&self) -> String {
        api::openapi(self.pipeline.clone(), self.config.server.stream_keepalive).spec()
    }

    /// Bind the configured address (or `addr`) and return the bound address with a future
    /// that serves until `shutdown` resolves; then in-flight requests and streams get
    /// `grace` to finish before the future completes.
    pub async fn bind(
        self,
        addr: Option<SocketAddr>,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
        grace: std::time::Duration,
    ) -> Result<
        (
            SocketAddr,
            impl std::future::Future<Output = Result<(), StartError>>,
        ),
        StartError,
    > {
        let addr = addr.unwrap_or(self.config.server.addr);
        let acceptor = NoDelay(
            TcpListener::bind(addr)
                .into_acceptor()
                .await
                .map_err(|source| StartError::Bind { addr, source })?,
        );
        let local = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .unwrap_or(addr);
        let endpoint = self.endpoint();
        let serve = async move {
            poem::Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(endpoint, shutdown, Some(grace))
                .await
                .map_err(StartError::Serve)
        };
        Ok((local, serve))
    }
}

/// Accepts connections with `TCP_NODELAY` set. Without it, Nagle's algorithm holds each small
/// write (an SSE event, a short answer's last bytes) until the client acknowledges the
/// previous one, and clients delay acknowledgements by up to 40 ms.
struct NoDelay(TcpAcceptor);

impl Acceptor for NoDelay {
    type Io = tokio::net::TcpStream;

    fn local_addr(&self) -> Vec<poem::web::LocalAddr> {
        self.0.local_addr()
    }

    async fn accept(
        &mut self,
    ) -> std::io::Result<(
        Self::Io,
        poem::web::LocalAddr,
        poem::web::RemoteAddr,
        http::uri::Scheme,
    )> {
        let accepted = self.0.accept().await?;
        // Best effort: a socket that refuses the option still works, only slower.
        let _ = accepted.0.set_nodelay(true);
        Ok(accepted)
    }
}
