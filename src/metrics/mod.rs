//! What the proxy counts and how it is exposed: the Prometheus registry behind `GET /metrics`
//! (text format 0.0.4, every metric with `# HELP` and `# TYPE`), the price table that turns
//! Bedrock's usage into dollars, and the per-request [`Tally`] that feeds both the metrics and
//! the access log line.
//!
//! Label values are bounded: profiles, models, regions and key names the configuration does
//! not know are counted as `other`, so no client can grow the registry. The `key` label
//! carries a key's name, never the key.
//!
//! The recording path is a few atomic adds: label values are shared `Arc<str>`s resolved from
//! tables built once, so recording allocates no string.

mod labels;
mod prices;
mod series;
mod tally;
mod usage;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use labels::OTHER;
use labels::{AttemptLabels, Bounded, CatalogLabels, CostLabels, RouteLabels};
use labels::{RequestLabels, TokenLabels};
pub use prices::Prices;
pub use tally::{current, scope, with_current, StreamGuard, Tally};
pub use usage::{StreamUsage, Usage};

use crate::settings::Config;

/// The `Content-Type` of `GET /metrics`: Prometheus's classic text format.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Seconds: from 5 ms to 5 minutes.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS.iter().copied())
}

/// The proxy's metrics and the tables that bound their labels.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Histograms<RouteLabels>,
    ttft: Histograms<RouteLabels>,
    upstream: Family<AttemptLabels, Counter>,
    tokens: Family<TokenLabels, Counter>,
    cost: Family<CostLabels, Counter<f64, AtomicU64>>,
    active_streams: Gauge,
    catalog: Family<CatalogLabels, Counter>,
    request_series: series::Cache<series::RequestKey, series::RequestSeries>,
    usage_series: series::Cache<series::UsageKey, series::UsageSeries>,
    attempt_series: series::Cache<series::AttemptKey, Counter>,
    /// The shared `none` label value.
    none: Arc<str>,
    profiles: Bounded,
    models: Bounded,
    regions: Bounded,
    keys: Vec<Arc<str>>,
    prices: Prices,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// The metrics of a proxy running `config`: its profiles, models, regions and key names
    /// are the label values it knows.
    pub fn new(config: &Config) -> Metrics {
        let prices = Prices::new(&config.metrics.prices);
        let profiles = Bounded::new(config.profiles.iter().map(|p| p.name.as_str()));
        let models = Bounded::new(
            config
                .profiles
                .iter()
                .map(|p| p.model_id.as_str())
                .chain(config.metrics.prices.iter().map(|p| p.model.as_str())),
        );
        let regions = Bounded::new(config.profiles.iter().map(|p| p.region.as_str()));
        let mut m = Metrics {
            registry: Registry::with_prefix("bedrock_proxy"),
            requests: Family::default(),
            duration: Family::new_with_constructor(latency_histogram),
            ttft: Family::new_with_constructor(latency_histogram),
            upstream: Family::default(),
            tokens: Family::default(),
            cost: Family::default(),
            active_streams: Gauge::default(),
            catalog: Family::default(),
            request_series: series::Cache::default(),
            usage_series: series::Cache::default(),
            attempt_series: series::Cache::default(),
            none: Arc::from(labels::NONE),
            profiles,
            models,
            regions,
            keys: config.auth.keys.names().to_vec(),
            prices,
        };
        m.register();
        m
    }

    fn register(&mut self) {
        let r = &mut self.registry;
        r.register(
            "requests",
            "Requests answered, by route template, profile, HTTP status (and client key name)",
            self.requests.clone(),
        );
        r.register(
            "request_duration_seconds",
            "Whole-request duration in seconds (a stream until its last byte)",
            self.duration.clone(),
        );
        r.register(
            "time_to_first_token_seconds",
            "Seconds from the request to a stream's first content event",
            self.ttft.clone(),
        );
        r.register(
            "upstream_requests",
            "Calls to Bedrock, every attempt (retries and fallbacks included), by status",
            self.upstream.clone(),
        );
        r.register(
            "tokens",
            "Tokens Bedrock reported, by type: input, output, cache_read, cache_write",
            self.tokens.clone(),
        );
        r.register(
            "cost_usd",
            "Cost in US dollars from the configured price table (priced models only)",
            self.cost.clone(),
        );
        r.register(
            "active_streams",
            "Streams being relayed to clients now",
            self.active_streams.clone(),
        );
        r.register(
            "catalog_requests",
            "Control-plane lookups by how the cache answered: hit, miss, stale",
            self.catalog.clone(),
        );
    }

    /// The text `GET /metrics` answers.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(8 * 1024);
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }

    /// The price table.
    pub fn prices(&self) -> &Prices {
        &self.prices
    }

    /// The label value of a request that reached no profile.
    fn none_label(&self) -> Arc<str> {
        self.none.clone()
    }

    /// The bounded label value of a profile name.
    pub fn profile_label(&self, name: &str) -> Arc<str> {
        self.profiles.get(name)
    }

    /// The bounded label value of a model id: itself when configured or priced, else its
    /// foundation-model id when that is, else `other`.
    pub fn model_label(&self, model_id: &str) -> Arc<str> {
        match self.models.find(model_id) {
            Some(v) => v,
            None => self.models.get(crate::aws::foundation_model_id(model_id)),
        }
    }

    /// The label value of the key at `index` (`none` for no key), if keys are configured.
    fn key_label(&self, index: Option<usize>) -> Option<Arc<str>> {
        if self.keys.is_empty() {
            return None;
        }
        // A request that presented no accepted key (an open path, a refusal).
        Some(match index.and_then(|i| self.keys.get(i)) {
            Some(name) => name.clone(),
            None => self.none.clone(),
        })
    }

    /// A control-plane lookup answered `hit`, `miss` or `stale` (anything else is ignored).
    pub fn catalog(&self, result: &str) {
        let result = match result {
            "hit" => "hit",
            "miss" => "miss",
            "stale" => "stale",
            _ => return,
        };
        self.catalog.get_or_create(&CatalogLabels { result }).inc();
    }

    /// Streams now open.
    fn stream_opened(&self) {
        self.active_streams.inc();
    }

    fn stream_closed(&self) {
        self.active_streams.dec();
    }
}
