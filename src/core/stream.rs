//! Shaping a model's event stream once it has started: the items front ends render, the
//! response chain run on each event, the upstream slot held until the end, and the binary
//! event-stream encoding for clients that speak Bedrock's own wire format.

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use serde_json::Value;

use super::prepare::context;
use crate::bedrock::eventstream::{encode_chunk, encode_exception};
use crate::core::profiles::Profile;
use crate::core::resilience::UpstreamPermit;
use crate::error::{StreamError, StreamErrorKind};
use crate::transform::{EndpointKind, EventAction};

/// One item of a proxied stream: a model event (its `type` and JSON), or the error that ends it.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    Event { name: String, data: Bytes },
    Error(StreamError),
}

/// What the response chain is told about the request whose stream it shapes.
pub struct Shaping<'a> {
    pub headers: &'a http::HeaderMap,
    pub endpoint: EndpointKind,
    pub legacy_form: bool,
}

/// The items of a stream whose first event arrived: `events` untouched when the profile has no
/// response transformers, else each run through its chain (and cut after a failure).
pub fn shape(
    events: BoxStream<'static, Result<Bytes, StreamError>>,
    profile: &std::sync::Arc<Profile>,
    shaping: Shaping<'_>,
    permit: UpstreamPermit,
) -> BoxStream<'static, StreamItem> {
    // The upstream events end after their own error; only a transformer can fail in the
    // middle, so only the transformed stream needs cutting after an error.
    let items: BoxStream<'static, StreamItem> = if profile.response_chain.is_empty() {
        events
            .map(|e| match e {
                Ok(data) => StreamItem::Event {
                    name: event_type(&data),
                    data,
                },
                Err(e) => StreamItem::Error(e),
            })
            .boxed()
    } else {
        let p = profile.clone();
        let headers = shaping.headers.clone();
        let Shaping {
            endpoint,
            legacy_form,
            ..
        } = shaping;
        stop_after_error(
            events
                .filter_map(move |e| {
                    let item = match e {
                        Ok(data) => transform_event(&p, &headers, endpoint, legacy_form, &data),
                        Err(e) => Some(StreamItem::Error(e)),
                    };
                    futures_util::future::ready(item)
                })
                .boxed(),
        )
    };
    hold_until_end(items, permit)
}

/// The items as Bedrock's binary event stream again (`chunk` and exception frames).
pub fn encode(
    items: BoxStream<'static, StreamItem>,
) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
    items
        .map(|item| {
            Ok(match item {
                StreamItem::Event { data, .. } => encode_chunk(&data),
                StreamItem::Error(e) => encode_exception(e.kind.name(), &e.message),
            })
        })
        .boxed()
}

/// Keep the upstream slot until the stream ends or is dropped.
pub fn hold_until_end<T: Send + 'static>(
    items: BoxStream<'static, T>,
    permit: UpstreamPermit,
) -> BoxStream<'static, T> {
    futures_util::stream::unfold((items, permit), |(mut items, permit)| async move {
        let item = items.next().await?;
        Some((item, (items, permit)))
    })
    .boxed()
}

/// End a stream right after its first error item.
fn stop_after_error(items: BoxStream<'static, StreamItem>) -> BoxStream<'static, StreamItem> {
    futures_util::stream::unfold((items, false), |(mut items, stopped)| async move {
        if stopped {
            return None;
        }
        let item = items.next().await?;
        let stop = matches!(item, StreamItem::Error(_));
        Some((item, (items, stop)))
    })
    .boxed()
}

/// Run the profile's response chain on one event; `None` when a transformer dropped it.
fn transform_event(
    profile: &Profile,
    headers: &http::HeaderMap,
    endpoint: EndpointKind,
    legacy_form: bool,
    data: &[u8],
) -> Option<StreamItem> {
    let ctx = context(profile, endpoint, headers, legacy_form);
    let mut value: Value = match serde_json::from_slice(data) {
        Ok(v) => v,
        Err(e) => {
            return Some(StreamItem::Error(StreamError::interrupted(format!(
                "Bedrock sent an event that is not JSON: {e}"
            ))))
        }
    };
    match profile.response_chain.apply_event(&ctx, &mut value) {
        Ok(EventAction::Drop) => None,
        Ok(EventAction::Keep) => match serde_json::to_vec(&value) {
            Ok(bytes) => {
                let data = Bytes::from(bytes);
                Some(StreamItem::Event {
                    name: event_type(&data),
                    data,
                })
            }
            Err(e) => Some(StreamItem::Error(StreamError::interrupted(e.to_string()))),
        },
        Err(e) => Some(StreamItem::Error(StreamError {
            kind: StreamErrorKind::Transformer(e.error_type().to_string()),
            message: e.to_string(),
        })),
    }
}

/// The name of a model event: its `type` (`content_block_delta`, …), else the one key of a
/// Converse event (`{"contentBlockDelta": …}`), else `completion` (legacy text-completion
/// chunks have neither).
pub fn event_type(data: &[u8]) -> String {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    struct Name;
    impl<'de> Visitor<'de> for Name {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
            let (mut kind, mut first, mut keys) = (None, None, 0);
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                keys += 1;
                if key == "type" && kind.is_none() {
                    kind = map
                        .next_value::<serde_json::Value>()?
                        .as_str()
                        .map(str::to_string);
                    continue;
                }
                map.next_value::<IgnoredAny>()?;
                first.get_or_insert_with(|| key.into_owned());
            }
            Ok(kind.or(first.filter(|_| keys == 1)))
        }
    }
    let mut de = serde_json::Deserializer::from_slice(data);
    match de.deserialize_map(Name) {
        Ok(Some(name)) => name,
        _ => "completion".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::event_type;

    #[test]
    fn events_are_named_by_type_or_converse_key() {
        assert_eq!(
            event_type(br#"{"type":"message_start","message":{}}"#),
            "message_start"
        );
        assert_eq!(
            event_type(br#"{"index":0,"type":"content_block_delta"}"#),
            "content_block_delta"
        );
        assert_eq!(
            event_type(br#"{"contentBlockDelta":{"delta":{"text":"x"}}}"#),
            "contentBlockDelta"
        );
        assert_eq!(
            event_type(br#"{"completion":"hi","stop_reason":null}"#),
            "completion"
        );
        assert_eq!(event_type(b"not json"), "completion");
    }
}
