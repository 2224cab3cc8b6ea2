//! The model catalog: control-plane answers (foundation models, inference profiles) cached
//! with moka, per control-plane scope (endpoint, region, credentials) and query.
//!
//! - A fresh entry (younger than `ttl`) is answered from memory: a hit.
//! - Concurrent misses for one key make one upstream call: moka runs computations on one key
//!   one at a time, and a waiter that finds an entry fetched after it asked takes that one.
//! - `refresh` skips the freshness check and stores the new answer.
//! - A failed call is never stored. When an older entry exists (expired, or being refreshed)
//!   and fetching fails, the older entry is answered, marked stale, for up to `stale` after
//!   its TTL ran out.

pub mod names;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use moka::future::Cache;
use moka::ops::compute::{CompResult, Op};
use serde_json::Value;

use crate::bedrock::control::{ControlTarget, ModelFilters, Scope};
use crate::bedrock::BedrockClient;
use crate::error::ProxyError;
use crate::settings::ModelsConfig;

/// What is asked of the control plane.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Query {
    /// ListFoundationModels with these filters: an array of model summaries.
    FoundationModels(ModelFilters),
    /// GetFoundationModel: the `modelDetails` object.
    FoundationModel(String),
    /// ListInferenceProfiles (all pages), optionally by `typeEquals`: an array.
    InferenceProfiles(Option<String>),
    /// GetInferenceProfile: the profile object.
    InferenceProfile(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    scope: Scope,
    query: Query,
}

/// One stored answer.
#[derive(Debug)]
pub struct Fetched {
    /// AWS's answer, as AWS shaped it.
    pub value: Value,
    /// Wall-clock time of the fetch (for display).
    pub fetched_at: SystemTime,
    /// Monotonic time of the fetch (for freshness).
    fetched: Instant,
}

impl Fetched {
    pub fn age(&self) -> Duration {
        self.fetched.elapsed()
    }
}

/// How an answer was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// From the cache, fresh.
    Hit,
    /// Fetched from AWS for this request.
    Miss,
    /// From the cache, older than the TTL, because fetching a fresh one failed.
    Stale,
}

impl CacheStatus {
    /// The value of the `x-proxy-cache` header.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "hit",
            CacheStatus::Miss => "miss",
            CacheStatus::Stale => "stale",
        }
    }

    /// The status of an answer built from several lookups: stale if any is, hit if all are.
    pub fn combine(self, other: CacheStatus) -> CacheStatus {
        use CacheStatus::*;
        match (self, other) {
            (Stale, _) | (_, Stale) => Stale,
            (Hit, Hit) => Hit,
            _ => Miss,
        }
    }
}

/// A looked-up answer.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub data: Arc<Fetched>,
    pub status: CacheStatus,
    /// Why the fresh fetch failed, when the answer is stale.
    pub refresh_error: Option<String>,
}

/// The cached control plane.
#[derive(Debug)]
pub struct Catalog {
    client: BedrockClient,
    cache: Cache<Key, Arc<Fetched>>,
    config: ModelsConfig,
}

impl Catalog {
    pub fn new(client: BedrockClient, config: ModelsConfig) -> Catalog {
        let cache = Cache::builder()
            .max_capacity(config.max_entries)
            .time_to_live(config.ttl.saturating_add(config.stale))
            .build();
        Catalog {
            client,
            cache,
            config,
        }
    }

    /// The `[models]` settings (TTL, endpoints).
    pub fn config(&self) -> &ModelsConfig {
        &self.config
    }

    /// Answer `query` from the cache or from AWS (see the module docs for the rules).
    pub async fn lookup(
        &self,
        target: &ControlTarget,
        query: Query,
        refresh: bool,
    ) -> Result<Lookup, ProxyError> {
        let key = Key {
            scope: target.scope.clone(),
            query,
        };
        let ttl = self.config.ttl;
        if !refresh {
            if let Some(data) = self.cache.get(&key).await {
                if data.age() < ttl {
                    return Ok(Lookup {
                        data,
                        status: CacheStatus::Hit,
                        refresh_error: None,
                    });
                }
            }
        }
        let asked = Instant::now();
        let mut failure: Option<ProxyError> = None;
        let failed = &mut failure;
        let query = key.query.clone();
        let query = &query;
        let result = self
            .cache
            .entry(key)
            .and_try_compute_with(|current| async move {
                if let Some(entry) = &current {
                    let data = entry.value();
                    // Fetched by a request that ran while this one waited for the key.
                    if data.fetched >= asked || (!refresh && data.age() < ttl) {
                        return Ok(Op::Nop);
                    }
                }
                match self.fetch(target, query).await {
                    Ok(value) => Ok(Op::Put(Arc::new(Fetched {
                        value,
                        fetched_at: SystemTime::now(),
                        fetched: Instant::now(),
                    }))),
                    Err(e) if current.is_some() => {
                        *failed = Some(e);
                        Ok(Op::Nop)
                    }
                    Err(e) => Err(e),
                }
            })
            .await?;
        settle(result, failure)
    }

    async fn fetch(&self, target: &ControlTarget, query: &Query) -> Result<Value, ProxyError> {
        let (scope, timeouts) = (&target.scope, &target.timeouts);
        let c = &self.client;
        Ok(match query {
            Query::FoundationModels(filters) => {
                Value::Array(c.list_foundation_models(scope, timeouts, filters).await?)
            }
            Query::FoundationModel(id) => c.get_foundation_model(scope, timeouts, id).await?,
            Query::InferenceProfiles(type_equals) => Value::Array(
                c.list_inference_profiles(scope, timeouts, type_equals.as_deref())
                    .await?,
            ),
            Query::InferenceProfile(id) => c.get_inference_profile(scope, timeouts, id).await?,
        })
    }
}

/// The lookup a cache computation ended in: a fresh fetch is a miss; an entry left unchanged
/// is a hit, or stale when the fetch that should have replaced it failed.
fn settle(
    result: CompResult<Key, Arc<Fetched>>,
    failure: Option<ProxyError>,
) -> Result<Lookup, ProxyError> {
    match result {
        CompResult::Inserted(entry) | CompResult::ReplacedWith(entry) => Ok(Lookup {
            data: entry.into_value(),
            status: CacheStatus::Miss,
            refresh_error: None,
        }),
        CompResult::Unchanged(entry) => {
            if let Some(e) = &failure {
                tracing::warn!(error = %e, "control-plane refresh failed; serving the older answer");
            }
            Ok(Lookup {
                data: entry.into_value(),
                status: if failure.is_some() {
                    CacheStatus::Stale
                } else {
                    CacheStatus::Hit
                },
                refresh_error: failure.map(|e| e.to_string()),
            })
        }
        CompResult::StillNone(_) | CompResult::Removed(_) => Err(ProxyError::Internal(
            "control-plane cache lost an entry it was computing".into(),
        )),
    }
}

/// Foundation-model id → the inference-profile ids that route it, from ListInferenceProfiles
/// summaries (each lists the foundation-model ARNs it routes to, one per region).
pub fn profiles_by_model(profiles: &[Value]) -> std::collections::HashMap<String, Vec<String>> {
    let mut map: std::collections::HashMap<String, Vec<String>> = Default::default();
    for p in profiles {
        let Some(id) = p.get("inferenceProfileId").and_then(Value::as_str) else {
            continue;
        };
        let arns = p.get("models").and_then(Value::as_array);
        for arn in arns.into_iter().flatten() {
            let model = arn
                .get("modelArn")
                .and_then(Value::as_str)
                .and_then(|a| a.rsplit_once("foundation-model/"))
                .map(|(_, m)| m);
            if let Some(model) = model {
                let ids = map.entry(model.to_string()).or_default();
                if !ids.iter().any(|i| i == id) {
                    ids.push(id.to_string());
                }
            }
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn profiles_are_grouped_by_the_models_they_route() {
        let summaries = vec![
            json!({"inferenceProfileId": "eu.m:0", "models": [
                {"modelArn": "arn:aws:bedrock:eu-central-1::foundation-model/m:0"},
                {"modelArn": "arn:aws:bedrock:eu-west-1::foundation-model/m:0"}]}),
            json!({"inferenceProfileId": "global.m:0", "models": [
                {"modelArn": "arn:aws:bedrock:us-east-1::foundation-model/m:0"}]}),
            json!({"inferenceProfileId": "broken"}),
        ];
        let map = profiles_by_model(&summaries);
        assert_eq!(map["m:0"], vec!["eu.m:0", "global.m:0"]);
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn cache_status_combines_to_the_weakest() {
        use CacheStatus::*;
        assert_eq!(Hit.combine(Hit), Hit);
        assert_eq!(Hit.combine(Miss), Miss);
        assert_eq!(Miss.combine(Stale), Stale);
    }
}
