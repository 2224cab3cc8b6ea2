//! Named profiles and their lookup by name (`?profile=`); which profile serves a model a
//! client names is `core::router`.
//!
//! A profile is a Bedrock model (or inference-profile) id, the region it is called from, the
//! endpoints and timeouts to use, and the transformer chains its requests run through. The
//! cross-region geographies (`us.`, `eu.`, `apac.`, …) live in [`crate::aws`].

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::bedrock::control::{ControlTarget, Scope};
use crate::bedrock::{ModelUrls, Target};
use crate::error::ProxyError;
use crate::settings::{ModelsConfig, ProfileConfig};
use crate::transform::{RequestChain, ResponseChain};

/// One routable profile: its checked settings, where its calls go, and its transformer
/// chains. Derefs to the settings, so `profile.model_id` reads as it should.
#[derive(Debug)]
pub struct Profile {
    pub settings: ProfileConfig,
    /// The runtime target its calls go to (built once from the settings).
    pub target: Target,
    pub request_chain: RequestChain,
    pub response_chain: ResponseChain,
}

impl Profile {
    pub fn new(
        settings: ProfileConfig,
        request_chain: RequestChain,
        response_chain: ResponseChain,
    ) -> Profile {
        let target = Target {
            urls: ModelUrls::new(&settings.runtime_endpoint, &settings.model_id),
            endpoint: settings.runtime_endpoint.clone(),
            model_id: settings.model_id.clone(),
            region: settings.region.clone(),
            aws_profile: settings.aws_profile.clone(),
            timeouts: settings.timeouts,
        };
        Profile {
            settings,
            target,
            request_chain,
            response_chain,
        }
    }

    /// The control plane of this profile's region, with its endpoint and credentials.
    pub fn control_target(&self) -> ControlTarget {
        ControlTarget {
            scope: Scope {
                endpoint: self.control_endpoint.clone(),
                region: self.region.clone(),
                aws_profile: self.aws_profile.clone(),
            },
            timeouts: self.timeouts,
        }
    }
}

impl std::ops::Deref for Profile {
    type Target = ProfileConfig;
    fn deref(&self) -> &ProfileConfig {
        &self.settings
    }
}

/// All profiles, by name, and the default one.
#[derive(Debug)]
pub struct Profiles {
    by_name: BTreeMap<String, Arc<Profile>>,
    default: Arc<Profile>,
}

impl Profiles {
    /// Build the router. `default` must be one of the names.
    pub fn new(profiles: Vec<Profile>, default: &str) -> Result<Profiles, String> {
        let by_name: BTreeMap<String, Arc<Profile>> = profiles
            .into_iter()
            .map(|p| (p.name.clone(), Arc::new(p)))
            .collect();
        let default = by_name
            .get(default)
            .cloned()
            .ok_or_else(|| format!("default profile '{default}' is not defined"))?;
        Ok(Profiles { by_name, default })
    }

    /// The profile a request asked for, or the default when it named none.
    pub fn resolve(&self, name: Option<&str>) -> Result<Arc<Profile>, ProxyError> {
        match name {
            None | Some("") => Ok(self.default.clone()),
            Some(name) => {
                self.by_name
                    .get(name)
                    .cloned()
                    .ok_or_else(|| ProxyError::UnknownProfile {
                        name: name.to_string(),
                        valid: self.names(),
                    })
            }
        }
    }

    pub fn default_profile(&self) -> &Arc<Profile> {
        &self.default
    }

    /// Names in sorted order.
    pub fn names(&self) -> Vec<String> {
        self.by_name.keys().cloned().collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Profile>> {
        self.by_name.values()
    }

    /// The control plane of `region` (e.g. the region an AWS SDK signed for): the settings
    /// of the default profile when it is in that region, else of the first profile that is,
    /// else the default profile's credentials with the region's standard endpoint.
    pub fn control_target(&self, models: &ModelsConfig, region: &str) -> ControlTarget {
        let default = &self.default;
        match self.in_region(region) {
            Some(p) => p.control_target(),
            None => ControlTarget {
                scope: Scope {
                    endpoint: models.endpoint_for(region),
                    region: region.to_string(),
                    aws_profile: default.aws_profile.clone(),
                },
                timeouts: default.timeouts,
            },
        }
    }

    /// A profile in `region` whose settings (credentials, endpoints, timeouts) a call to that
    /// region can borrow: the default profile when it is there, else the first by name.
    pub fn in_region(&self, region: &str) -> Option<&Arc<Profile>> {
        std::iter::once(&self.default)
            .chain(self.by_name.values())
            .find(|p| p.region == region)
    }
}
