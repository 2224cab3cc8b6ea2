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
    BuildError, Origin, Registry, RequestChain, RequestTransformer, ResponseChain,
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
