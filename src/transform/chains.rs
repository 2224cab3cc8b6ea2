//! Turning the configured chains into running ones.
//!
//! Each profile's request chain is `legacy_prompt`, then its configured transformers, then
//! `anthropic_defaults`; its response chain is its configured transformers. A profile that
//! writes `request_transformers` (or `response_transformers`) uses that list instead of the
//! default one (top-level `request_transformers` / `response_transformers`); one that does not
//! uses the default. An empty list opts out of the default.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::settings::{Config, ConfigError, TransformerSpec};

use super::{
    BuildError, OnConverse, Origin, Registry, RequestChain, RequestTransformer, ResponseChain,
    ResponseTransformer, Step,
};

/// A profile's two chains.
#[derive(Debug, Clone, Default)]
pub struct ProfileChains {
    pub request: RequestChain,
    pub response: ResponseChain,
}

fn build<T: ?Sized>(
    specs: &[TransformerSpec],
    origin: Origin,
    make: impl Fn(&TransformerSpec) -> Result<Arc<T>, BuildError>,
) -> Result<Vec<Step<T>>, ConfigError> {
    specs
        .iter()
        .map(|spec| {
            let transformer = make(spec).map_err(|e| spec.invalid(e.to_string()))?;
            Ok(Step {
                transformer,
                origin,
                options: Some(spec.options.clone()),
            })
        })
        .collect()
}

fn request_steps(
    registry: &Registry,
    specs: &[TransformerSpec],
    origin: Origin,
) -> Result<Vec<Step<dyn RequestTransformer>>, ConfigError> {
    build(specs, origin, |s| {
        registry.build_request(&s.name, s.options.clone())
    })
}

fn response_steps(
    registry: &Registry,
    specs: &[TransformerSpec],
    origin: Origin,
) -> Result<Vec<Step<dyn ResponseTransformer>>, ConfigError> {
    build(specs, origin, |s| {
        registry.build_response(&s.name, s.options.clone())
    })
}

/// Say at start-up which configured steps will not run on the OpenAI surface's Converse
/// bodies: skipped ones (nothing to do there) and refusing ones (requests are refused), and
/// that `/v1/embeddings` refuses a profile with any.
fn warn_converse(profile: &str, steps: &[Step<dyn RequestTransformer>]) {
    if !steps.is_empty() {
        tracing::warn!(
            profile,
            "profile has request transformers, which do not edit embedding inputs; /v1/embeddings requests on this profile are refused (400)"
        );
    }
    for step in steps {
        let name = step.transformer.name();
        match step.transformer.on_converse() {
            OnConverse::Run => {}
            OnConverse::Skip => tracing::warn!(
                profile,
                transformer = name,
                "request transformer does not apply to Converse bodies; /v1/chat/completions requests on this profile skip it"
            ),
            OnConverse::Refuse => tracing::warn!(
                profile,
                transformer = name,
                "request transformer cannot edit Converse bodies; /v1/chat/completions requests on this profile are refused (400)"
            ),
        }
    }
}

/// Build every profile's chains from the configuration. The first entry that names an unknown
/// transformer or has bad options is the error, naming the entry's key and source.
pub fn assemble(
    config: &Config,
    registry: &Registry,
) -> Result<BTreeMap<String, ProfileChains>, ConfigError> {
    let empty = Vec::new();
    let default_request = request_steps(
        registry,
        config.transformers.request.as_ref().unwrap_or(&empty),
        Origin::Default,
    )?;
    let default_response = response_steps(
        registry,
        config.transformers.response.as_ref().unwrap_or(&empty),
        Origin::Default,
    )?;
    let mut out = BTreeMap::new();
    for p in &config.profiles {
        let request = match &p.transformers.request {
            Some(specs) => request_steps(registry, specs, Origin::Profile)?,
            None => default_request.clone(),
        };
        let response = match &p.transformers.response {
            Some(specs) => response_steps(registry, specs, Origin::Profile)?,
            None => default_response.clone(),
        };
        warn_converse(&p.name, &request);
        out.insert(
            p.name.clone(),
            ProfileChains {
                request: RequestChain::framed(request),
                response: ResponseChain::from_steps(response),
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map, Value};

    use super::*;
    use crate::transform::{obj, test_context, EndpointKind, TransformError};

    /// A transformer written before Converse existed: it says nothing about Converse.
    struct Tag;

    impl RequestTransformer for Tag {
        fn name(&self) -> &str {
            "tag"
        }
        fn transform(
            &self,
            _ctx: &crate::transform::RequestContext<'_>,
            body: &mut Map<String, Value>,
        ) -> Result<(), TransformError> {
            body.insert("tagged".into(), Value::Bool(true));
            Ok(())
        }
    }

    #[test]
    fn a_transformer_silent_about_converse_refuses_converse_bodies_only() {
        let chain = RequestChain::framed(Vec::new()).then(vec![Arc::new(Tag)]);
        let headers = http::HeaderMap::new();
        let mut body = obj(json!({"messages": []}));
        let converse = test_context(&headers, EndpointKind::ConverseStream, false);
        let e = chain.apply(&converse, &mut body).unwrap_err().to_string();
        assert!(e.contains("(tag)") && e.contains("refused"), "{e}");
        assert!(body.get("tagged").is_none(), "nothing ran");
        let invoke = test_context(&headers, EndpointKind::Invoke, false);
        chain.apply(&invoke, &mut body).unwrap();
        assert_eq!(body["tagged"], true);
        assert_eq!(body["anthropic_version"], "bedrock-2023-05-31");
    }

    #[test]
    fn built_ins_skip_converse_bodies() {
        let chain = RequestChain::framed(Vec::new());
        let headers = http::HeaderMap::new();
        let mut body = obj(json!({"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}));
        let before = body.clone();
        let ctx = test_context(&headers, EndpointKind::Converse, false);
        chain.apply(&ctx, &mut body).unwrap();
        assert_eq!(
            body, before,
            "legacy_prompt and anthropic_defaults leave Converse alone"
        );
        assert!(chain.refusing_converse().is_empty());
        assert!(chain.configured().is_empty());
    }
}
