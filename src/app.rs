//! Assembling a proxy from a checked configuration ([`ProxyBuilder`]) and serving it ([`App`]).

use std::net::SocketAddr;
use std::sync::Arc;

use std::collections::BTreeMap;

use poem::listener::{Acceptor, TcpAcceptor};
use serde::de::DeserializeOwned;

use crate::bedrock::{BedrockClient, CredentialStore};
use crate::catalog::Catalog;
use crate::core::names::ModelNames;
use crate::core::profiles::{Profile, Profiles};
use crate::core::resilience::UpstreamLimiter;
use crate::core::Pipeline;
use crate::settings::{Config, ConfigError};
use crate::transform::{
    OptionsError, ProfileChains, Registry, RequestTransformer, ResponseTransformer,
};

/// Assembles a proxy from a checked configuration.
pub struct ProxyBuilder {
    config: Config,
    credentials: Option<CredentialStore>,
    registry: Registry,
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
    /// A configured transformer chain names an unknown transformer or has bad options.
    #[error(transparent)]
    Config(#[from] ConfigError),
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
            registry: Registry::builtin(),
            extra_request: Vec::new(),
            extra_response: Vec::new(),
        }
    }

    /// Register a request transformer factory under `name`, so that configuration can list it
    /// (`[[profiles.eu.request_transformers]] name = "NAME"` plus its options). The factory gets
    /// the entry's other keys deserialized into `O`; see [`Registry::register_request`].
    pub fn register_request_transformer<O, T, F>(mut self, name: &str, factory: F) -> Self
    where
        O: DeserializeOwned + 'static,
        T: RequestTransformer + 'static,
        F: Fn(O) -> Result<T, OptionsError> + Send + Sync + 'static,
    {
        self.registry.register_request(name, factory);
        self
    }

    /// Register a response transformer factory under `name`; see
    /// [`ProxyBuilder::register_request_transformer`].
    pub fn register_response_transformer<O, T, F>(mut self, name: &str, factory: F) -> Self
    where
        O: DeserializeOwned + 'static,
        T: ResponseTransformer + 'static,
        F: Fn(O) -> Result<T, OptionsError> + Send + Sync + 'static,
    {
        self.registry.register_response(name, factory);
        self
    }

    /// Use this registry (e.g. [`Registry::empty`] plus your own) instead of the built-ins.
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = registry;
        self
    }

    /// Append a request transformer to one profile's chain (`Some(name)`) or to every
    /// profile's (`None`). It runs after the configured chain and `anthropic_defaults`.
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

    /// Every profile's chains, from the configuration, the registry and the transformers added
    /// in code, without building anything else (no credentials, no connection): what
    /// `bedrock-proxy --check` validates and prints.
    pub fn chains(&self) -> Result<BTreeMap<String, ProfileChains>, StartError> {
        let config = &self.config;
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
        let mut chains = crate::transform::assemble(config, &self.registry)?;
        // Transformers added in code run after the configured ones.
        for (name, c) in chains.iter_mut() {
            c.request = std::mem::take(&mut c.request).then(for_profile(&self.extra_request, name));
            c.response =
                std::mem::take(&mut c.response).then(for_profile(&self.extra_response, name));
        }
        Ok(chains)
    }

    pub async fn build(self) -> Result<App, StartError> {
        let mut chains = self.chains()?;
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
        let profiles = config
            .profiles
            .iter()
            .map(|p| {
                let c = chains.remove(&p.name).ok_or_else(|| {
                    StartError::Setup(format!("no transformer chains for profile '{}'", p.name))
                })?;
                Ok(Profile::new(p.clone(), c.request, c.response))
            })
            .collect::<Result<Vec<_>, StartError>>()?;
        let profiles =
            Profiles::new(profiles, &config.default_profile).map_err(StartError::Setup)?;
        let catalog = Catalog::new(bedrock.clone(), config.models.clone());
        let limiter = UpstreamLimiter::new(
            config.limits.max_concurrent_upstream,
            config.limits.queue_timeout,
        );
        let routing = config.routing.clone();
        let names = ModelNames::new(&config.models);
        let metrics = Arc::new(crate::metrics::Metrics::new(&config));
        Ok(App {
            config,
            pipeline: Arc::new(Pipeline {
                profiles,
                catalog,
                bedrock,
                limiter,
                routing,
                names,
                metrics,
            }),
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
    /// `/metrics` asks for a client key (when keys are configured) unless
    /// `metrics.public` is set; use [`App::serve`] or [`App::bind`] to have a loopback
    /// listener serve it without one.
    pub fn endpoint(&self) -> impl poem::Endpoint {
        crate::http::app(self.pipeline.clone(), &self.config, false)
    }

    /// The OpenAPI document as JSON.
    pub fn openapi_json(&self) -> String {
        crate::http::openapi(self.pipeline.clone(), self.config.server.stream_keepalive).spec()
    }

    /// Bind the configured address (or `addr`) and return the bound address with a future
    /// that serves until `shutdown` resolves; then in-flight requests and streams get
    /// `grace` (normally `config.server.shutdown_grace`) to finish before the future
    /// completes. A non-loopback address without client API keys is refused unless
    /// `auth.allow_unauthenticated` is set.
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
        self.config
            .auth
            .check_exposure(&addr)
            .map_err(StartError::Setup)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let local = listener.local_addr().unwrap_or(addr);
        Ok((local, self.serve(listener, shutdown, grace)))
    }

    /// Serve on a listener the caller bound (and may have configured) until `shutdown`
    /// resolves; then in-flight requests and streams get `grace` to finish. Like `bind`, a
    /// non-loopback listener without client API keys is refused.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
        grace: std::time::Duration,
    ) -> Result<(), StartError> {
        if let Ok(addr) = listener.local_addr() {
            self.config
                .auth
                .check_exposure(&addr)
                .map_err(StartError::Setup)?;
        }
        // On a loopback address `/metrics` needs no client key.
        let loopback = listener
            .local_addr()
            .is_ok_and(|addr| addr.ip().is_loopback());
        let acceptor = NoDelay(TcpAcceptor::from_tokio(listener).map_err(StartError::Serve)?);
        let endpoint = crate::http::app(self.pipeline.clone(), &self.config, loopback);
        poem::Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(endpoint, shutdown, Some(grace))
            .await
            .map_err(StartError::Serve)
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
