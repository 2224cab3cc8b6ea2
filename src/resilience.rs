//! What makes a Bedrock call survive throttling and transient faults: retries with
//! exponential backoff and full jitter, fallback profiles, and the cap on concurrent upstream
//! calls.
//!
//! [`run`] is the one loop every front end goes through (via `Pipeline::call_invoke` and
//! `Pipeline::call_stream`): it takes the profile a request was routed to, a function that
//! prepares the Bedrock body for a profile from the client's request, and a function that makes
//! one attempt. It holds a slot of the [`UpstreamLimiter`] for the whole request, retries what
//! [`retryable`] allows with the profile's [`RetryPolicy`], then moves down the profile's
//! fallback chain. Each attempt is a new signed request (the client signs afresh and numbers
//! the attempt in `amz-sdk-request`, as the AWS SDKs do).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, ProxyError};
use crate::profiles::{Profile, Profiles};

pub use crate::settings::RetryPolicy;

/// A failed attempt, and whether any byte of Bedrock's response had arrived. After that a
/// transport failure (cut connection, silence) is not retried: the model may already be
/// running, and an answer may be half delivered.
#[derive(Debug)]
pub struct AttemptError {
    pub error: ProxyError,
    pub response_started: bool,
}

impl AttemptError {
    /// A failure before any response byte arrived (connect error, first-byte timeout, …).
    pub fn before_response(error: ProxyError) -> Self {
        AttemptError {
            error,
            response_started: false,
        }
    }

    /// A failure once Bedrock had started answering.
    pub fn after_response(error: ProxyError) -> Self {
        AttemptError {
            error,
            response_started: true,
        }
    }
}

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
        } => {
            if error_type.starts_with("stream_") {
                // A stream cut or silent before its first event: the transport rule applies.
                return !e.response_started;
            }
            if (400..500).contains(status) && *status != 429 {
                return false;
            }
            RETRYABLE_TYPES.contains(&error_type.as_str()) || RETRYABLE_STATUSES.contains(status)
        }
        ProxyError::Unreachable(_) | ProxyError::Timeout(_) => !e.response_started,
        _ => false,
    }
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

impl UpstreamPermit {
    /// A permit that holds no slot (a placeholder once the real one moved elsewhere).
    pub fn none() -> UpstreamPermit {
        UpstreamPermit(None)
    }
}

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
/// all (every profile counted), and the upstream slot, which a stream keeps until it ends.
pub struct Answered<T> {
    pub value: T,
    pub profile: Arc<Profile>,
    pub attempts: u32,
    pub permit: UpstreamPermit,
}

/// Call Bedrock for a request routed to `start`, with retries, fallback profiles and the
/// concurrency cap.
///
/// `prepare` builds the body for a profile from the client's original request (the profile's
/// own request transformers, model id, …); it runs once per profile tried. A failure to prepare
/// for `start` is returned as is (nothing was sent); for a fallback profile it is logged and
/// that profile is skipped. `attempt` makes one signed call. Errors carry the number of
/// attempts made.
pub async fn run<T, P, A, F>(
    profiles: &Profiles,
    limiter: &UpstreamLimiter,
    start: Arc<Profile>,
    prepare: P,
    attempt: A,
) -> Result<Answered<T>, ApiError>
where
    P: Fn(&Profile) -> Result<Bytes, ProxyError>,
    A: Fn(Arc<Profile>, Bytes, AttemptNumber) -> F,
    F: Future<Output = Result<T, AttemptError>>,
{
    let first_body = prepare(&start).map_err(|e| e.in_profile(&start.name).with_attempts(0))?;
    let permit = limiter
        .acquire()
        .await
        .map_err(|e| e.in_profile(&start.name).with_attempts(0))?;
    let chain = std::iter::once(start.clone()).chain(
        start
            .fallback
            .iter()
            .filter_map(|name| profiles.resolve(Some(name)).ok()),
    );
    let started = Instant::now();
    let invocation_id = uuid::Uuid::new_v4();
    let mut attempts = 0u32;
    let mut last: Option<(Arc<Profile>, ProxyError)> = None;
    let mut first_body = Some(first_body);
    for profile in chain {
        let body = match first_body.take() {
            Some(b) => b,
            None => {
                let policy = profile.retry;
                if started.elapsed() >= policy.max_elapsed {
                    tracing::warn!(
                        profile = %profile.name,
                        "not falling back: retry.max_elapsed_secs has passed"
                    );
                    break;
                }
                match prepare(&profile) {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(profile = %profile.name, error = %e, "fallback profile skipped: the request cannot be prepared for it");
                        continue;
                    }
                }
            }
        };
        if let Some((from, e)) = &last {
            tracing::warn!(
                from = %from.name,
                to = %profile.name,
                error_type = e.error_type(),
                "falling back to the next profile"
            );
        }
        let policy = profile.retry;
        for n in 1..=policy.max_attempts {
            if n > 1 {
                let delay = policy.backoff(n - 1);
                if started.elapsed() + delay >= policy.max_elapsed {
                    tracing::warn!(
                        profile = %profile.name,
                        "no more retries: retry.max_elapsed_secs would pass"
                    );
                    break;
                }
                tracing::info!(
                    profile = %profile.name,
                    attempt = n,
                    max_attempts = policy.max_attempts,
                    delay_ms = delay.as_millis() as u64,
                    "retrying"
                );
                tokio::time::sleep(delay).await;
            }
            attempts += 1;
            let number = AttemptNumber {
                invocation_id,
                attempt: n,
                max_attempts: policy.max_attempts,
            };
            match attempt(profile.clone(), body.clone(), number).await {
                Ok(value) => {
                    return Ok(Answered {
                        value,
                        profile,
                        attempts,
                        permit,
                    })
                }
                Err(e) => {
                    let again = retryable(&e);
                    tracing::info!(
                        profile = %profile.name,
                        attempt = n,
                        error_type = e.error.error_type(),
                        retryable = again,
                        "attempt failed"
                    );
                    if !again {
                        return Err(e.error.in_profile(&profile.name).with_attempts(attempts));
                    }
                    last = Some((profile.clone(), e.error));
                }
            }
        }
    }
    match last {
        Some((profile, e)) => Err(e.in_profile(&profile.name).with_attempts(attempts)),
        // Unreachable in practice: the first profile always makes at least one attempt.
        None => Err(ProxyError::Internal("no attempt was made".into())
            .in_profile(&start.name)
            .with_attempts(attempts)),
    }
}

/// Which attempt on the current profile this is, and the id shared by all attempts of one
/// client request. Sent upstream (and signed) as the AWS SDKs do:
/// `amz-sdk-invocation-id: <uuid>` and `amz-sdk-request: attempt=N; max=M`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptNumber {
    pub invocation_id: uuid::Uuid,
    pub attempt: u32,
    pub max_attempts: u32,
}

impl AttemptNumber {
    /// A single attempt without retries.
    pub fn single() -> AttemptNumber {
        AttemptNumber {
            invocation_id: uuid::Uuid::new_v4(),
            attempt: 1,
            max_attempts: 1,
        }
    }
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
        assert!(!retryable(&after(upstream(504, "stream_timeout"))));
        assert!(!retryable(&before(ProxyError::Credentials {
            detail: "none".into()
        })));
        assert!(!retryable(&before(ProxyError::InvalidRequest("x".into()))));
    }
}
