//! Reading Bedrock's answers: whole bodies under the idle timeout, and transport errors
//! described with their causes.

use std::error::Error as _;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::error::ProxyError;

/// Describe a reqwest error with its causes (they carry the useful part).
pub(super) fn describe(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

pub(super) fn map_send_error(e: reqwest::Error) -> ProxyError {
    if e.is_timeout() {
        ProxyError::Timeout(describe(&e))
    } else {
        ProxyError::Unreachable(describe(&e))
    }
}

/// Read a whole body, allowing at most `idle` between chunks.
pub(super) async fn read_body(
    response: &mut reqwest::Response,
    idle: Duration,
) -> Result<Bytes, ProxyError> {
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    loop {
        let chunk = match tokio::time::timeout(idle, response.chunk()).await {
            Err(_) => {
                return Err(ProxyError::Timeout(format!(
                    "Bedrock went silent for {idle:?} while sending the answer (idle_timeout)"
                )))
            }
            Ok(Err(e)) => return Err(map_send_error(e)),
            Ok(Ok(None)) => break,
            Ok(Ok(Some(c))) => c,
        };
        match &first {
            None => first = Some(chunk),
            Some(f) => {
                if rest.is_empty() {
                    rest.extend_from_slice(f);
                }
                rest.extend_from_slice(&chunk);
            }
        }
    }
    Ok(if rest.is_empty() {
        first.unwrap_or_default()
    } else {
        rest.freeze()
    })
}
