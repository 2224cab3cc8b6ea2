//! Pre-resolved series: the counters and histograms of each label combination seen, found
//! again by the addresses of their shared label values (one fast hash of a few integers)
//! instead of hashing the label strings on every request.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;

use super::labels::TokenType;
use super::labels::{AttemptLabels, CostLabels, RequestLabels, RouteLabels, TokenLabels};
use super::usage::Usage;
use super::Metrics;

type Fx = BuildHasherDefault<rustc_hash::FxHasher>;

/// A label value's identity: every value is one shared allocation, so its address is enough.
fn id(label: &Arc<str>) -> usize {
    Arc::as_ptr(label) as *const u8 as usize
}

fn id_of(label: &Option<Arc<str>>) -> usize {
    label.as_ref().map_or(0, id)
}

/// Series by key; a key is created once, then only read.
pub struct Cache<K, V>(RwLock<HashMap<K, V, Fx>>);

impl<K, V> Default for Cache<K, V> {
    fn default() -> Self {
        Cache(RwLock::new(HashMap::default()))
    }
}

impl<K: Hash + Eq, V> Cache<K, V> {
    fn with<R>(&self, key: K, make: impl FnOnce() -> V, f: impl FnOnce(&V) -> R) -> R {
        {
            let map = self
                .0
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(v) = map.get(&key) {
                return f(v);
            }
        }
        let mut map = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(map.entry(key).or_insert_with(make))
    }
}

/// The series of one (route, profile, status, key).
pub struct RequestSeries {
    requests: Counter,
    duration: Histogram,
    /// Created on a stream's first time to first token (so non-streams show none).
    ttft: OnceLock<Histogram>,
}

/// The series of one (profile, model, key); each created on its first non-zero count.
#[derive(Default)]
pub struct UsageSeries {
    tokens: [OnceLock<Counter>; 4],
    cost: OnceLock<Counter<f64, AtomicU64>>,
}

const TYPES: [TokenType; 4] = [
    TokenType::Input,
    TokenType::Output,
    TokenType::CacheRead,
    TokenType::CacheWrite,
];

/// Keys of the caches: label identities and the status.
pub type RequestKey = (usize, usize, u16, usize);
pub type UsageKey = (usize, usize, usize);
pub type AttemptKey = (usize, usize, u16);

impl Metrics {
    /// A finished request: its count, duration and (streams) time to first token.
    pub(super) fn record_request(
        &self,
        labels: &RequestLabels,
        elapsed: Duration,
        ttft: Option<Duration>,
    ) {
        let key = (
            labels.route.as_ptr() as usize,
            id(&labels.profile),
            labels.status,
            id_of(&labels.key),
        );
        let route = || RouteLabels {
            route: labels.route,
            profile: labels.profile.clone(),
        };
        let make = || RequestSeries {
            requests: self.requests.get_or_create(labels).clone(),
            duration: self.duration.get_or_create(&route()).clone(),
            ttft: OnceLock::new(),
        };
        self.request_series.with(key, make, |s| {
            s.requests.inc();
            s.duration.observe(elapsed.as_secs_f64());
            if let Some(t) = ttft {
                s.ttft
                    .get_or_init(|| self.ttft.get_or_create(&route()).clone())
                    .observe(t.as_secs_f64());
            }
        });
    }

    /// A finished request's tokens and cost.
    pub(super) fn record_usage(
        &self,
        profile: &Arc<str>,
        model: &Arc<str>,
        key: &Option<Arc<str>>,
        usage: &Usage,
        cost: Option<f64>,
    ) {
        let counts = [
            usage.input,
            usage.output,
            usage.cache_read,
            usage.cache_write,
        ];
        let cache_key = (id(profile), id(model), id_of(key));
        self.usage_series
            .with(cache_key, UsageSeries::default, |s| {
                for ((n, kind), slot) in counts.iter().zip(TYPES).zip(&s.tokens) {
                    if *n == 0 {
                        continue;
                    }
                    let make = || {
                        let labels = TokenLabels {
                            profile: profile.clone(),
                            model: model.clone(),
                            kind,
                            key: key.clone(),
                        };
                        self.tokens.get_or_create(&labels).clone()
                    };
                    slot.get_or_init(make).inc_by(*n);
                }
                if let Some(usd) = cost {
                    let make = || {
                        let labels = CostLabels {
                            profile: profile.clone(),
                            model: model.clone(),
                            key: key.clone(),
                        };
                        self.cost.get_or_create(&labels).clone()
                    };
                    s.cost.get_or_init(make).inc_by(usd);
                }
            });
    }

    /// One call to Bedrock (an attempt) and its status.
    pub fn attempt(&self, profile: &str, region: &str, status: u16) {
        let profile = self.profiles.get(profile);
        let region = self.regions.get(region);
        let key = (id(&profile), id(&region), status);
        let make = || {
            let labels = AttemptLabels {
                profile: profile.clone(),
                region: region.clone(),
                status,
            };
            self.upstream.get_or_create(&labels).clone()
        };
        self.attempt_series.with(key, make, Counter::inc);
    }
}
