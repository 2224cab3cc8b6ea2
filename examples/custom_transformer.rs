//! Embedding bedrock-proxy with a transformer of your own.
//!
//! - `CostCentre` is a request transformer that tags each request with a cost centre in
//!   Bedrock's `metadata.user_id`. It is registered under the name `cost_centre` with a factory
//!   that reads its options, so `custom_transformer.toml` can list it like a built-in.
//! - `StripMetrics` is a response transformer added directly, to every profile, from code.
//!
//! ```sh
//! cargo run --example custom_transformer                        # examples/custom_transformer.toml
//! cargo run --example custom_transformer -- path/to/proxy.toml  # another configuration
//! curl -s http://127.0.0.1:3001/profiles                        # shows cost_centre in each chain
//! ```
//!
//! Requests need AWS credentials as for the binary (environment, `~/.aws`, …).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bedrock_proxy::config::{process_env, Config, Sources};
use bedrock_proxy::transform::{
    EventAction, OptionsError, RequestContext, RequestTransformer, ResponseTransformer,
    TransformError,
};
use bedrock_proxy::ProxyBuilder;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The options of a `cost_centre` entry. `deny_unknown_fields` makes a misspelt option a
/// startup error instead of being silently ignored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CostCentreOptions {
    /// Used when the client sends no (usable) header.
    default: String,
    /// The request header a client may send its cost centre in.
    #[serde(default = "default_header")]
    header: String,
}

fn default_header() -> String {
    "x-cost-centre".to_string()
}

struct CostCentre {
    default: String,
    header: http::HeaderName,
}

/// Letters, digits, `-`, `_`, `.`, at most 64 characters.
fn valid_centre(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

impl CostCentre {
    /// The factory: checks the options once, at startup.
    fn new(options: CostCentreOptions) -> Result<Self, OptionsError> {
        if !valid_centre(&options.default) {
            return Err(OptionsError::new(format!(
                "`default` must be 1-64 letters, digits, '-', '_' or '.', got '{}'",
                options.default
            )));
        }
        let header = http::HeaderName::try_from(options.header.as_str()).map_err(|_| {
            OptionsError::new(format!(
                "`header` '{}' is not a header name",
                options.header
            ))
        })?;
        Ok(CostCentre {
            default: options.default,
            header,
        })
    }
}

impl RequestTransformer for CostCentre {
    fn name(&self) -> &str {
        "cost_centre"
    }

    fn transform(
        &self,
        ctx: &RequestContext<'_>,
        body: &mut Map<String, Value>,
    ) -> Result<(), TransformError> {
        let centre = match ctx.headers.get(&self.header).map(|v| v.to_str()) {
            None => self.default.as_str(),
            Some(Ok(v)) if valid_centre(v) => v,
            // Refusing is a 400 naming this transformer.
            Some(_) => {
                return Err(TransformError(format!(
                    "the {} header must be 1-64 letters, digits, '-', '_' or '.'",
                    self.header
                )))
            }
        };
        // Bedrock's Anthropic models accept `metadata.user_id` (and nothing else there).
        body.insert(
            "metadata".into(),
            json!({ "user_id": format!("cost-centre:{centre}") }),
        );
        Ok(())
    }
}

/// Removes Bedrock's invocation metrics from answers and stream events, and drops `ping`s.
struct StripMetrics;

impl ResponseTransformer for StripMetrics {
    fn name(&self) -> &str {
        "strip_metrics"
    }

    fn transform_response(
        &self,
        _ctx: &RequestContext<'_>,
        body: &mut Value,
    ) -> Result<(), TransformError> {
        if let Some(obj) = body.as_object_mut() {
            obj.remove("amazon-bedrock-invocationMetrics");
        }
        Ok(())
    }

    fn transform_event(
        &self,
        _ctx: &RequestContext<'_>,
        event: &mut Value,
    ) -> Result<EventAction, TransformError> {
        if event["type"] == "ping" {
            return Ok(EventAction::Drop);
        }
        if let Some(obj) = event.as_object_mut() {
            obj.remove("amazon-bedrock-invocationMetrics");
        }
        Ok(EventAction::Keep)
    }
}

/// Resolves on Ctrl-C.
async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

#[allow(clippy::print_stdout)] // an example program says where it listens
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config_path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/examples/custom_transformer.toml"
            ))
        });
    // The binary's layers: this file, INFERENCE_PROFILE, PROXY_… variables.
    let config = Config::load(&Sources {
        config_path: Some(config_path),
        env: &process_env,
    })?;
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    let addr = config.server.addr;

    let app = ProxyBuilder::new(config)
        // Configuration can now say `name = "cost_centre"`; a bad entry fails build().
        .register_request_transformer("cost_centre", CostCentre::new)
        // Added to every profile (None), after its configured chain.
        .response_transformer(None, Arc::new(StripMetrics))
        .build()
        .await?;

    // Any listener you bound yourself works, e.g. one handed over by systemd.
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    println!("listening on http://{local} (profiles: http://{local}/profiles)");
    app.serve(listener, ctrl_c(), Duration::from_secs(10))
        .await?;
    Ok(())
}

// `cargo test` runs these (Cargo.toml sets `test = true` for this example).
#[cfg(test)]
mod tests {
    use super::*;
    use bedrock_proxy::transform::{EndpointKind, Registry};

    fn context(headers: &http::HeaderMap) -> RequestContext<'_> {
        RequestContext {
            profile: "eu",
            model_id: "anthropic.claude-test",
            endpoint: EndpointKind::Invoke,
            headers,
            legacy_form: false,
        }
    }

    fn cost_centre(default: &str) -> CostCentre {
        CostCentre::new(CostCentreOptions {
            default: default.into(),
            header: default_header(),
        })
        .unwrap()
    }

    #[test]
    fn header_wins_over_default() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-cost-centre", "R-42".parse().unwrap());
        let mut body = json!({"messages": []}).as_object().cloned().unwrap();
        cost_centre("x")
            .transform(&context(&headers), &mut body)
            .unwrap();
        assert_eq!(body["metadata"]["user_id"], "cost-centre:R-42");
    }

    #[test]
    fn default_without_header_and_refusal_of_a_bad_one() {
        let mut body = json!({"messages": []}).as_object().cloned().unwrap();
        cost_centre("emea")
            .transform(&context(&http::HeaderMap::new()), &mut body)
            .unwrap();
        assert_eq!(body["metadata"]["user_id"], "cost-centre:emea");

        let mut headers = http::HeaderMap::new();
        headers.insert("x-cost-centre", "no spaces please".parse().unwrap());
        let err = cost_centre("emea")
            .transform(&context(&headers), &mut body)
            .unwrap_err();
        assert!(err.0.contains("x-cost-centre header"), "{err}");
    }

    #[test]
    fn options_are_checked_like_configuration_does() {
        let mut registry = Registry::empty();
        registry.register_request("cost_centre", CostCentre::new);
        let options = json!({"defualt": "x"}).as_object().cloned().unwrap();
        let err = registry
            .build_request("cost_centre", options)
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "transformer 'cost_centre': unknown option `defualt`, expected `default` or `header`"
        );
        let options = json!({"default": "a b"}).as_object().cloned().unwrap();
        let err = registry
            .build_request("cost_centre", options)
            .err()
            .unwrap();
        assert!(err.to_string().contains("`default` must be"), "{err}");
    }
}
