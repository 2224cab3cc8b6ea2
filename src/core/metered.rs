//! Bedrock's usage on its way through the pipeline, for the request's
//! [`Tally`](crate::metrics::Tally): read from whole answers at once, and from streams and
//! relayed bodies as they pass (without holding them back), committed when they end.

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;

use super::stream::{event_type, StreamItem};
use crate::bedrock::eventstream::{Decoded, EventDecoder, Framing};
use crate::bedrock::Operation;
use crate::core::profiles::Profile;
use crate::error::ApiError;
use crate::metrics::{self, StreamGuard, StreamUsage, Usage};

/// The largest relayed non-stream body read for its usage (larger ones are not counted).
const MAX_RELAYED_BODY: usize = 4 * 1024 * 1024;

/// The profile that answered and the attempts made.
pub fn answered(profile: &Profile, attempts: u32) {
    metrics::with_current(|t| t.routed(&profile.name, Some(&profile.target.model_id), attempts));
}

/// The profile a failed request ended on, and its attempts.
pub fn failed(e: &ApiError) {
    if let Some(p) = &e.profile {
        metrics::with_current(|t| t.routed(p, None, e.attempts.unwrap_or(0)));
    }
}

/// The usage of a whole answer (not of CountTokens, whose count is no usage).
pub fn whole(profile: &Profile, op: Operation, body: &[u8]) {
    if op == Operation::CountTokens {
        return;
    }
    if let Some(usage) = Usage::of_answer(body) {
        metrics::with_current(|t| t.add_usage(&profile.target.model_id, usage));
    }
}

/// Whether an event is the model's content (the first one is the time to first token).
fn is_content(name: &str) -> bool {
    matches!(
        name,
        "content_block_delta" | "contentBlockDelta" | "completion"
    )
}

/// A model's events, their usage and first content event noted as they pass.
pub fn events(
    items: BoxStream<'static, StreamItem>,
    profile: &Profile,
) -> BoxStream<'static, StreamItem> {
    let Some(tally) = metrics::current() else {
        return items;
    };
    let mut guard = tally.deferred(&profile.target.model_id, true);
    let mut usage = StreamUsage::default();
    let mut first = true;
    items
        .map(move |item| {
            if let StreamItem::Event { name, data } = &item {
                note(&mut guard, &mut usage, &mut first, name, data);
            }
            item
        })
        .boxed()
}

fn note(
    guard: &mut StreamGuard,
    usage: &mut StreamUsage,
    first: &mut bool,
    name: &str,
    data: &[u8],
) {
    if *first && is_content(name) {
        *first = false;
        guard.first_token();
    }
    if StreamUsage::may_carry(name, data) {
        usage.observe(name, data);
        guard.usage(usage.0);
    }
}

/// What a relayed body is read as.
enum Reading {
    /// Event-stream frames, decoded on a copy.
    Frames(Box<EventDecoder>, Framing),
    /// A JSON body, gathered up to [`MAX_RELAYED_BODY`] and read at the end.
    Body(Vec<u8>),
    Nothing,
}

/// A relayed body's reader; what it gathered is read when it is dropped.
struct Relayed {
    guard: StreamGuard,
    reading: Reading,
    usage: StreamUsage,
    first: bool,
}

impl Relayed {
    fn take(&mut self, chunk: &[u8]) {
        match &mut self.reading {
            Reading::Frames(decoder, framing) => {
                decoder.push(chunk);
                loop {
                    match decoder.next_framed(*framing) {
                        Ok(Some(Decoded::Event(data))) => {
                            let name = event_type(&data);
                            note(
                                &mut self.guard,
                                &mut self.usage,
                                &mut self.first,
                                &name,
                                &data,
                            );
                        }
                        Ok(Some(Decoded::Other)) => {}
                        Ok(None) => break,
                        Err(_) => {
                            self.reading = Reading::Nothing;
                            break;
                        }
                    }
                }
            }
            Reading::Body(buf) if buf.len() + chunk.len() <= MAX_RELAYED_BODY => {
                buf.extend_from_slice(chunk);
            }
            Reading::Body(_) => self.reading = Reading::Nothing,
            Reading::Nothing => {}
        }
    }
}

impl Drop for Relayed {
    fn drop(&mut self) {
        if let Reading::Body(buf) = &self.reading {
            if let Some(u) = Usage::of_answer(buf) {
                self.guard.usage(u);
            }
        }
    }
}

/// Bedrock's bytes relayed as they come, their usage read on the side.
pub fn relay(
    body: BoxStream<'static, Result<Bytes, std::io::Error>>,
    profile: &Profile,
    op: Operation,
) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
    let reading = match op {
        Operation::CountTokens => return body,
        Operation::InvokeStream => Reading::Frames(Box::default(), Framing::Chunks),
        Operation::ConverseStream => Reading::Frames(Box::default(), Framing::Typed),
        Operation::Invoke | Operation::Converse => Reading::Body(Vec::new()),
    };
    let Some(tally) = metrics::current() else {
        return body;
    };
    let mut relayed = Relayed {
        guard: tally.deferred(&profile.target.model_id, op.is_stream()),
        reading,
        usage: StreamUsage::default(),
        first: true,
    };
    body.map(move |chunk| {
        if let Ok(bytes) = &chunk {
            relayed.take(bytes);
        }
        chunk
    })
    .boxed()
}
