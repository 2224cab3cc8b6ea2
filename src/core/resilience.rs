//! What makes a Bedrock call survive throttling and transient faults: retries with
//! exponential backoff and full jitter, fallback profiles, and the cap on concurrent upstream
//! calls.
//!
//! [`run`] is the one loop every call goes through (from `Pipeline::execute`): it takes the
//! profile a request was routed to and an [`Attempts`]: what prepares the Bedrock body for a
//! profile from the client's request, and what makes one attempt. It holds a slot of the [`UpstreamLimiter`] for the whole request, retries what
//! [`retryable`] allows with the profile's [`RetryPolicy`], then moves down the profile's
//! fallback chain. Each attempt is a new signed request (the client signs afresh and numbers
//! the attempt in `amz-sdk-request`, as the AWS SDKs do).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::bedrock::AttemptNumber;
use crate::core::prepare::Prepared;
use crate::core::profiles::{Profile, Profiles};
use crate::error::{ApiError, AttemptError, ProxyError};

/// Bedrock exceptions that say "try again".
const RETRYABLE_TYPES: &[&str] = &[
    "ThrottlingException",
    "ModelNotReadyException",
    "InternalServerException",
    "ServiceUnavailableException",
];

/// Statuses that say "try again" whatever the exception name.
const RETRYABLE_STATUSES: &[u16] = &[429, 500, 502, 503, 504];

/// Whether an attempt may be repeated (and, once a profile's attempts are exhausted, whether
/// its fallback profiles may be tried). Validation, access and not-found errors never are.
pub fn retryable(e: &AttemptError) -> bool {
    match &e.error {
        ProxyError::Upstream {
            status, error_type, ..
        } => retryable_exception(*status, error_type),
        // A stream cut or silent before its first event: the transport rule applies.
        ProxyError::Stream { error, .. } if error.kind.is_transport() => !e.response_started,
        ProxyError::Stream { error, .. } => retryable_exception(error.status(), error.kind.name()),
        ProxyError::Unreachable(_) | ProxyError::Timeout(_) => !e.response_started,
        _ => false,
    }
}

fn retryable_exception(status: u16, error_type: &str) -> bool {
    if (400..500).contains(&status) && status != 429 {
        return false;
    }
    RETRYABLE_TYPES.contains(&error_type) || RETRYABLE_STATUSES.contains(&status)
}

/// The cap on requests calling Bedrock at the same time.
#[derive(Debug, Clone)]
pub struct UpstreamLimiter {
    slots: Option<(Arc<Semaphore>, usize)>,
    queue_timeout: Duration,
}

/// A slot of the [`UpstreamLimiter`]; dropping it frees the slot.
#[derive(Debug)]
pub struct UpstreamPermit(#[allow(dead_code)] Option<OwnedSemaphorePermit>);

impl UpstreamLimiter {
    /// `None`: no cap.
    pub fn new(max_concurrent: Option<usize>, queue_timeout: Duration) -> Self {
        UpstreamLimiter {
            slots: max_concurrent.map(|n| (Arc::new(Semaphore::new(n)), n)),
            queue_timeout,
        }
    }

    /// Wait up to the queue timeout for a slot.
    pub async fn acquire(&self) -> Result<UpstreamPermit, ProxyError> {
        let Some((slots, limit)) = &self.slots else {
            return Ok(UpstreamPermit(None));
        };
        let overloaded = || ProxyError::Overloaded {
            limit: *limit,
            waited: self.queue_timeout,
            retry_after_secs: self.queue_timeout.as_secs_f64().ceil().max(1.0) as u64,
        };
        match tokio::time::timeout(self.queue_timeout, slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(UpstreamPermit(Some(permit))),
            Ok(Err(_closed)) => Err(ProxyError::Internal("upstream limiter closed".into())),
            Err(_elapsed) => Err(overloaded()),
        }
    }
}

/// A successful call: the value, the profile that answered, how many attempts were made in
/// all (every profile counted), what preparing the body found, and the upstream slot, which
/// a stream keeps until it ends.
pub struct Answered<T> {
    pub value: T,
    pub profile: Arc<Profile>,
    pub attempts: u32,
    pub legacy_form: bool,
    pub permit: UpstreamPermit,
}

/// What the retry loop needs from a call: its body for each profile tried, and one attempt.
pub trait Attempts {
    type Output;
    /// The Bedrock body for `profile` from the client's request; runs once per profile tried.
    fn prepare(&self, profile: &Profile) -> Result<Prepared, ProxyError>;
    /// One signed call of `body` on `profile`.
    fn attempt(
        &self,
        profile: &Profile,
        body: Bytes,
        number: AttemptNumber,
    ) -> impl Future<Output = Result<Self::Output, AttemptError>> + Send;
}

/// The state of one request's run through its profiles.
struct Run {
    started: Instant,
    invocation_id: uuid::Uuid,
    attempts: u32,
    last: Option<(Arc<Profile>, ProxyError)>,
}

/// Call Bedrock for a request routed to `start`, with retries, fallback profiles and the
/// concurrency cap.
///
/// A failure to prepare the body for `start` is returned as is (nothing was sent); for a
/// fallback profile it is logged and that profile is skipped. Errors carry the number of
/// attempts made.
pub async fn run<A: Attempts>(
    profiles: &Profiles,
    limiter: &UpstreamLimiter,
    start: Arc<Profile>,
    call: &A,
) -> Result<Answered<A::Output>, ApiError> {
    let refused = |e: ProxyError| e.in_profile(&start.name).with_attempts(0);
    let first = call.prepare(&start).map_err(refused)?;
    let permit = limiter.acquire().await.map_err(refused)?;
    let mut run = Run {
        started: Instant::now(),
        invocation_id: uuid::Uuid::new_v4(),
        attempts: 0,
        last: None,
    };
    let fallbacks = start
        .fallback
        .iter()
        .filter_map(|name| profiles.resolve(Some(name)).ok());
    let mut first = Some(first);
    for profile in std::iter::once(start.clone()).chain(fallbacks) {
        let prepared = match first.take() {
            Some(p) => p,
            None => match prepare_fallback(call, &profile, &run) {
                Fallback::Go(p) => p,
                Fallback::Skip => continue,
                Fallback::Stop => break,
            },
        };
        match on_profile(call, &profile, &prepared, &mut run).await {
            Ok(value) => {
                return Ok(Answered {
                    value,
                    profile,
                    attempts: run.attempts,
                    legacy_form: prepared.legacy_form,
                    permit,
                })
            }
            Err(Some(fatal)) => return Err(fatal),
            Err(None) => {}
        }
    }
    Err(match run.last {
        Some((profile, e)) => e.in_profile(&profile.name).with_attempts(run.attempts),
        // Unreachable in practice: the first profile always makes at least one attempt.
        None => ProxyError::Internal("no attempt was made".into())
            .in_profile(&start.name)
            .with_attempts(run.attempts),
    })
}

enum Fallback {
    Go(Prepared),
    Skip,
    Stop,
}

/// Whether and with which body the request moves on to fallback profile `profile`.
fn prepare_fallback<A: Attempts>(call: &A, profile: &Profile, run: &Run) -> Fallback {
    if run.started.elapsed() >= profile.retry.max_elapsed {
        tracing::warn!(profile = %profile.name, "not falling back: retry.max_elapsed_secs has passed");
        return Fallback::Stop;
    }
    match call.prepare(profile) {
        Ok(p) => {
            if let Some((from, e)) = &run.last {
                tracing::warn!(from = %from.name, to = %profile.name, error_type = e.error_type(), "falling back to the next profile");
            }
            Fallback::Go(p)
        }
        Err(e) => {
            tracing::warn!(profile = %profile.name, error = %e, "fallback profile skipped: the request cannot be prepared for it");
            Fallback::Skip
        }
    }
}

/// Every attempt `profile`'s retry policy allows. `Err(None)`: exhausted with a retryable
/// error (kept in `run.last`), so the next profile may be tried; `Err(Some)`: final.
async fn on_profile<A: Attempts>(
    call: &A,
    profile: &Arc<Profile>,
    prepared: &Prepared,
    run: &mut Run,
) -> Result<A::Output, Option<ApiError>> {
    let policy = profile.retry;
    for n in 1..=policy.max_attempts {
        if n > 1 {
            let delay = policy.backoff(n - 1);
            if run.started.elapsed() + delay >= policy.max_elapsed {
                tracing::warn!(profile = %profile.name, "no more retries: retry.max_elapsed_secs would pass");
                break;
            }
            tracing::info!(profile = %profile.name, attempt = n, max_attempts = policy.max_attempts, delay_ms = delay.as_millis() as u64, "retrying");
            tokio::time::sleep(delay).await;
        }
        run.attempts += 1;
        let number = AttemptNumber {
            invocation_id: run.invocation_id,
            attempt: n,
            max_attempts: policy.max_attempts,
        };
        let result = call.attempt(profile, prepared.body.clone(), number).await;
        let status = result.as_ref().map_or_else(|e| e.error.status(), |_| 200);
        crate::metrics::with_current(|t| {
            t.metrics()
                .attempt(&profile.name, &profile.settings.region, status)
        });
        match result {
            Ok(value) => return Ok(value),
            Err(e) => {
                let again = retryable(&e);
                tracing::info!(profile = %profile.name, attempt = n, error_type = e.error.error_type(), retryable = again, "attempt failed");
                if !again {
                    return Err(Some(
                        e.error
                            .in_profile(&profile.name)
                            .with_attempts(run.attempts),
                    ));
                }
                run.last = Some((profile.clone(), e.error));
            }
        }
    }
    Err(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(status: u16, kind: &str) -> ProxyError {
        ProxyError::Upstream {
            status,
            error_type: kind.into(),
            message: String::new(),
            upstream_request_id: None,
        }
    }

    #[test]
    fn what_is_retried() {
        let before = AttemptError::before_response;
        let after = AttemptError::after_response;
        for kind in RETRYABLE_TYPES {
            assert!(retryable(&after(upstream(429, kind))), "{kind}");
        }
        assert!(retryable(&after(upstream(503, "Whatever"))));
        assert!(retryable(&after(upstream(500, "InternalServerException"))));
        for (status, kind) in [
            (400, "ValidationException"),
            (403, "AccessDeniedException"),
            (404, "ResourceNotFoundException"),
            (408, "ModelTimeoutException"),
            (424, "ModelErrorException"),
            // A client error is never retried, whatever it is called.
            (400, "ThrottlingException"),
        ] {
            assert!(
                !retryable(&after(upstream(status, kind))),
                "{status} {kind}"
            );
        }
        assert!(retryable(&before(ProxyError::Timeout("t".into()))));
        assert!(retryable(&before(ProxyError::Unreachable("u".into()))));
        assert!(!retryable(&after(ProxyError::Timeout("t".into()))));
        assert!(!retryable(&after(ProxyError::Unreachable("u".into()))));
        let cut = |e: crate::error::StreamError| e.before_output(None);
        assert!(!retryable(&after(cut(crate::error::StreamError::timeout(
            "t"
        )))));
        assert!(retryable(&after(cut(
            crate::error::StreamError::exception("ThrottlingException", "slow")
        ))));
        assert!(!retryable(&before(ProxyError::Credentials {
            detail: "none".into()
        })));
        assert!(!retryable(&before(ProxyError::InvalidRequest("x".into()))));
    }
}
