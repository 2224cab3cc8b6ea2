//! One request's account: what the middleware, the guard, the pipeline and a stream learn
//! about it. When the last holder lets go (the response sent, or its stream ended or was
//! dropped) it is recorded in the metrics and written as the one access-log line.
//!
//! The request's tally is reachable from anywhere under the middleware through a task-local
//! ([`scope`], [`current`]); a stream, which outlives the handler, keeps its own handle.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::labels::RequestLabels;
use super::usage::Usage;
use super::Metrics;

tokio::task_local! {
    static CURRENT: Arc<Tally>;
}

/// Run `f` with `tally` as the current request's.
pub async fn scope<F: std::future::Future>(tally: Arc<Tally>, f: F) -> F::Output {
    CURRENT.scope(tally, f).await
}

/// The current request's tally (none outside a request).
pub fn current() -> Option<Arc<Tally>> {
    CURRENT.try_with(Arc::clone).ok()
}

/// Do `f` with the current request's tally, if any.
pub fn with_current(f: impl FnOnce(&Tally)) {
    let _ = CURRENT.try_with(|t| f(t));
}

/// What is known about a request so far.
#[derive(Debug, Default)]
struct State {
    route: &'static str,
    status: u16,
    /// The answering profile's label and, when that is `other`, its real name (for the log).
    profile: Option<(Arc<str>, Option<Box<str>>)>,
    model: Option<(Arc<str>, Option<Box<str>>)>,
    key: Option<usize>,
    attempts: u32,
    usage: Usage,
    cost: Option<f64>,
    ttft: Option<Duration>,
    /// Part of the usage arrives after the response headers (a stream, a relayed body).
    deferred: bool,
}

/// One request's account.
#[derive(Debug)]
pub struct Tally {
    metrics: Arc<Metrics>,
    started: Instant,
    request_id: Box<str>,
    state: Mutex<State>,
}

/// A label and, when it is `other`, the real value.
fn labelled(label: Arc<str>, real: &str) -> (Arc<str>, Option<Box<str>>) {
    let raw = (&*label != real).then(|| Box::from(real));
    (label, raw)
}

impl Tally {
    pub fn new(metrics: Arc<Metrics>, request_id: &str, route: &'static str) -> Arc<Tally> {
        Arc::new(Tally {
            metrics,
            started: Instant::now(),
            request_id: Box::from(request_id),
            state: Mutex::new(State {
                route,
                ..State::default()
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The HTTP status the client got.
    pub fn set_status(&self, status: u16) {
        self.state().status = status;
    }

    /// The client key that was accepted (its index in the configured keys).
    pub fn set_key(&self, index: usize) {
        self.state().key = Some(index);
    }

    /// The profile (and model) the request ended on, and the calls made to Bedrock.
    pub fn routed(&self, profile: &str, model_id: Option<&str>, attempts: u32) {
        let p = labelled(self.metrics.profile_label(profile), profile);
        let m = model_id.map(|id| labelled(self.metrics.model_label(id), id));
        let mut s = self.state();
        s.profile = Some(p);
        if m.is_some() {
            s.model = m;
        }
        s.attempts += attempts;
    }

    /// Tokens Bedrock reported for a call on `model_id`; priced when the model has a price.
    pub fn add_usage(&self, model_id: &str, usage: Usage) {
        let cost = self.metrics.prices.cost(model_id, &usage);
        let mut s = self.state();
        s.usage.add(usage);
        if let Some(c) = cost {
            *s.cost.get_or_insert(0.0) += c;
        }
    }

    /// The request's cost so far, when its model is priced.
    pub fn cost_usd(&self) -> Option<f64> {
        self.state().cost
    }

    /// Whether part of the usage arrives after the response headers (a stream or a relayed
    /// body), so the cost is not known when they are sent.
    pub fn is_deferred(&self) -> bool {
        self.state().deferred
    }

    /// A stream's first content event reached the proxy.
    pub fn first_token(&self) {
        let mut s = self.state();
        if s.ttft.is_none() {
            s.ttft = Some(self.started.elapsed());
        }
    }

    /// The answer's usage will arrive as it is relayed; a `stream` is counted in
    /// `active_streams` until the guard drops.
    pub fn deferred(self: &Arc<Self>, model_id: &str, stream: bool) -> StreamGuard {
        self.state().deferred = true;
        if stream {
            self.metrics.stream_opened();
        }
        StreamGuard {
            tally: self.clone(),
            model: Box::from(model_id),
            usage: Usage::default(),
            stream,
        }
    }

    fn record(&self, s: &State, elapsed: Duration) {
        let m = &self.metrics;
        // A request that never reached a profile (a model list, a refused key).
        let profile = s
            .profile
            .as_ref()
            .map_or_else(|| m.none_label(), |p| p.0.clone());
        let labels = RequestLabels {
            route: s.route,
            profile,
            status: s.status,
            key: m.key_label(s.key),
        };
        m.record_request(&labels, elapsed, s.ttft);
        if let Some((model, _)) = &s.model {
            m.record_usage(&labels.profile, model, &labels.key, &s.usage, s.cost);
        }
    }

    /// The access-log line: never a key, a credential or a body.
    fn log(&self, s: &State, elapsed: Duration) {
        let name = |v: &Option<(Arc<str>, Option<Box<str>>)>| -> String {
            match v {
                Some((_, Some(real))) => real.to_string(),
                Some((label, None)) => label.to_string(),
                None => String::new(),
            }
        };
        let key = self.metrics.key_label(s.key);
        macro_rules! line {
            ($level:ident, $msg:literal) => {
                tracing::$level!(
                    request_id = %self.request_id,
                    route = s.route,
                    profile = %name(&s.profile),
                    model = %name(&s.model),
                    key = key.as_deref(),
                    status = s.status,
                    attempts = s.attempts,
                    latency_ms = elapsed.as_secs_f64() * 1000.0,
                    ttft_ms = s.ttft.map(|t| t.as_secs_f64() * 1000.0),
                    input_tokens = s.usage.input,
                    output_tokens = s.usage.output,
                    cache_read_tokens = s.usage.cache_read,
                    cache_write_tokens = s.usage.cache_write,
                    cost_usd = s.cost,
                    $msg
                )
            };
        }
        if s.status >= 500 {
            line!(warn, "request failed");
        } else {
            line!(info, "request done");
        }
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        let elapsed = self.started.elapsed();
        let s = std::mem::take(&mut *self.state());
        self.record(&s, elapsed);
        self.log(&s, elapsed);
    }
}

/// Held by a stream while it is relayed: its usage so far, committed to the request when the
/// stream ends or is dropped (a stream cut short still counts what it reported).
#[derive(Debug)]
pub struct StreamGuard {
    tally: Arc<Tally>,
    model: Box<str>,
    usage: Usage,
    stream: bool,
}

impl StreamGuard {
    /// The stream's usage so far (each report replaces the last).
    pub fn usage(&mut self, usage: Usage) {
        self.usage = usage;
    }

    pub fn first_token(&self) {
        self.tally.first_token();
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if !self.usage.is_empty() {
            self.tally.add_usage(&self.model, self.usage);
        }
        if self.stream {
            self.tally.metrics.stream_closed();
        }
    }
}
