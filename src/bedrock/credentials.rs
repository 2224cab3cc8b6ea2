//! AWS credentials from the standard chain, cached and refreshed before they expire.
//!
//! The default chain (environment — which `.env` fills —, shared config and credentials files
//! with an optional named profile, SSO, web identity, ECS/EKS container and EC2 instance roles)
//! is built once per distinct `aws_profile`. Credentials are cached until five minutes before
//! their expiry; concurrent requests that find the cache stale wait for one refresh. The server
//! starts without any credentials: the first call that needs them gets a clear error.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::error::ProxyError;

/// Refresh credentials this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// One provider with its cache.
struct Cached {
    provider: SharedCredentialsProvider,
    current: RwLock<Option<Credentials>>,
    refresh: tokio::sync::Mutex<()>,
}

impl Cached {
    fn new(provider: SharedCredentialsProvider) -> Self {
        Cached {
            provider,
            current: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self) -> Option<Credentials> {
        let guard = self.current.read().ok()?;
        let creds = guard.as_ref()?;
        match creds.expiry() {
            Some(exp) if exp <= SystemTime::now() + REFRESH_BEFORE_EXPIRY => None,
            _ => Some(creds.clone()),
        }
    }

    async fn get(&self) -> Result<Credentials, ProxyError> {
        if let Some(c) = self.fresh() {
            return Ok(c);
        }
        let _one_refresh = self.refresh.lock().await;
        if let Some(c) = self.fresh() {
            return Ok(c);
        }
        let creds =
            self.provider
                .provide_credentials()
                .await
                .map_err(|e| ProxyError::Credentials {
                    detail: DisplayErrorContext(&e).to_string(),
                })?;
        if let Ok(mut slot) = self.current.write() {
            *slot = Some(creds.clone());
        }
        Ok(creds)
    }
}

/// Credentials for every `aws_profile` the configuration uses (`None`: the default chain).
#[derive(Clone)]
pub struct CredentialStore {
    by_profile: Arc<HashMap<Option<String>, Arc<Cached>>>,
    fallback: Arc<Cached>,
}

impl CredentialStore {
    /// The standard AWS chain, once per named AWS profile (`None`: the default one, which
    /// also serves any profile not listed).
    pub async fn from_default_chain(aws_profiles: &[Option<String>], region: &str) -> Self {
        async fn chain(name: Option<&str>, region: &str) -> Arc<Cached> {
            let mut builder = DefaultCredentialsChain::builder()
                .region(aws_config::Region::new(region.to_string()));
            if let Some(n) = name {
                builder = builder.profile_name(n);
            }
            Arc::new(Cached::new(SharedCredentialsProvider::new(
                builder.build().await,
            )))
        }
        let mut map = HashMap::new();
        for name in aws_profiles.iter().chain(std::iter::once(&None)) {
            if !map.contains_key(name) {
                map.insert(name.clone(), chain(name.as_deref(), region).await);
            }
        }
        let fallback = map[&None].clone();
        CredentialStore {
            by_profile: Arc::new(map),
            fallback,
        }
    }

    /// One provider for everything: for embedding programs and tests
    /// (`Credentials::new(…)` is itself a provider).
    pub fn from_provider(provider: impl ProvideCredentials + 'static) -> Self {
        CredentialStore {
            by_profile: Arc::new(HashMap::new()),
            fallback: Arc::new(Cached::new(SharedCredentialsProvider::new(provider))),
        }
    }

    /// Current credentials for a profile's `aws_profile`.
    pub async fn get(&self, aws_profile: Option<&str>) -> Result<Credentials, ProxyError> {
        let key = aws_profile.map(str::to_string);
        match self.by_profile.get(&key) {
            Some(c) => c.get().await,
            None => self.fallback.get().await,
        }
    }
}

impl std::fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialStore")
            .field("aws_profiles", &self.by_profile.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
