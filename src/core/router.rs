//! Which profile serves a model that a client names in a URL (`/model/{modelId}/…`) or in a
//! body (`/v1/messages`' `model`).
//!
//! In order:
//! 1. a profile name → that profile (its model id, region, transformers, retries, fallbacks);
//! 2. an alias from `[routing.aliases]` (e.g. `claude-sonnet-4-20250514`) → its target, a
//!    profile name or a Bedrock id routed as in 3;
//! 3. any other Bedrock model id, inference-profile id or ARN is called as it is ("direct"):
//!    in the ARN's region; else, for a geography prefix (`eu.`, `us.`, …), the default
//!    profile's region when it is a source region of that geography, else the region
//!    `[routing.prefix_regions]` gives the prefix; else the default profile's region. A direct
//!    call uses the credentials, endpoint, timeouts and transformer chains of a profile in
//!    that region (the default profile first, or `?profile=`'s), so naming a model id is no
//!    way around a configured redaction or system prompt; it has no fallback.

use std::sync::Arc;

use crate::aws::foundation_model_id;
use crate::core::profiles::{Profile, Profiles};
use crate::error::ProxyError;
use crate::settings::RoutingConfig;
use crate::transform::ResponseChain;

/// Where a named model goes.
#[derive(Debug, Clone)]
pub struct Routed {
    pub profile: Arc<Profile>,
    /// Not a configured profile: a Bedrock id called as it is.
    pub direct: bool,
}

impl RoutingConfig {
    /// Route `model` (see the module docs); direct calls are made from the default
    /// profile's region.
    pub fn route(&self, profiles: &Profiles, model: &str) -> Result<Routed, ProxyError> {
        self.route_from(profiles, model, profiles.default_profile())
    }

    /// Route `model`; a direct call is made from `home`'s region (and with its settings)
    /// unless the id itself says otherwise (an ARN, a geography prefix `home` cannot call).
    pub fn route_from(
        &self,
        profiles: &Profiles,
        model: &str,
        home: &Arc<Profile>,
    ) -> Result<Routed, ProxyError> {
        let model = model.trim();
        if model.is_empty() {
            return Err(ProxyError::InvalidRequest(
                "no model named: give a profile name, an alias or a Bedrock model id".into(),
            ));
        }
        let target = self.aliases.get(model).map(String::as_str).unwrap_or(model);
        if let Ok(profile) = profiles.resolve(Some(target)) {
            return Ok(Routed {
                profile,
                direct: false,
            });
        }
        // Bedrock ids always contain a `.` (`anthropic.…`) or a `:` (ARNs).
        if !target.contains('.') && !target.contains(':') {
            let mut valid = profiles.names();
            valid.extend(self.aliases.keys().cloned());
            return Err(ProxyError::UnknownModel {
                name: model.to_string(),
                valid,
                close: Vec::new(),
            });
        }
        let region = self.region_for(target, &home.region);
        let base = if region == home.region {
            Some(home)
        } else {
            profiles.in_region(&region)
        };
        // A model named directly runs the chains of the profile it borrows its settings from:
        // naming a model id must not be a way around a configured redaction or system prompt.
        let borrowed = base.unwrap_or(home);
        let mut settings = borrowed.settings.clone();
        if base.is_none() {
            settings.runtime_endpoint = self
                .runtime_endpoint_override
                .clone()
                .unwrap_or_else(|| format!("https://bedrock-runtime.{region}.amazonaws.com"));
        }
        settings.name = target.to_string();
        settings.model_id = target.to_string();
        settings.region = region;
        Ok(Routed {
            profile: Arc::new(Profile::new(
                settings,
                borrowed.request_chain.clone(),
                borrowed.response_chain.clone(),
            )),
            direct: true,
        })
    }
}

/// `profile` for a CountTokens call: its foundation-model id, no fallback (counting is not
/// worth another region's quota).
pub fn for_count_tokens(profile: &Profile) -> Arc<Profile> {
    let mut settings = profile.settings.clone();
    settings.model_id = foundation_model_id(&settings.model_id).to_string();
    settings.fallback.clear();
    Arc::new(Profile::new(
        settings,
        profile.request_chain.clone(),
        ResponseChain::new(Vec::new()),
    ))
}
