//! The registry: transformer names → factories that read an entry's options and build the
//! transformer. Configuration (`proxy.toml`) names transformers; the registry is how a name
//! becomes an instance. The built-ins are registered by [`Registry::builtin`]; an embedding
//! program adds its own through `ProxyBuilder::register_request_transformer` /
//! `register_response_transformer`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    BetaFilter, LegacyCompletion, MaxTokensLimit, Redact, RequestTransformer, ResponseTransformer,
    SystemPrompt,
};

/// The options of one chain entry: every key of its table except `name`.
pub type Options = Map<String, Value>;

/// The two built-ins every request chain starts and ends with. They cannot be listed in a
/// configured chain (they always run), so a configuration cannot remove or misplace them.
pub const FIXED: [&str; 2] = ["legacy_prompt", "anthropic_defaults"];

/// Options a factory could not accept: a missing or unknown key, a wrong type, a value out of
/// range. The message is shown at startup after the entry's key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OptionsError(pub String);

impl OptionsError {
    pub fn new(message: impl Into<String>) -> Self {
        OptionsError(message.into())
    }
}

impl From<serde_json::Error> for OptionsError {
    /// serde's wording, in terms of options: "unknown option `maxx`, expected `max` or …".
    fn from(e: serde_json::Error) -> Self {
        OptionsError(
            e.to_string()
                .replace("unknown field", "unknown option")
                .replace("missing field", "missing option")
                .replace("there are no fields", "this transformer takes no options"),
        )
    }
}

/// Options of a transformer that takes none: any key is an error.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

/// A chain entry that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("unknown {kind} transformer '{name}'; known {kind} transformers: {known}")]
    Unknown {
        kind: Kind,
        name: String,
        known: String,
    },
    #[error("'{name}' is a {actual} transformer; list it under {actual}_transformers")]
    WrongKind { name: String, actual: Kind },
    #[error("'{0}' always runs (legacy_prompt first, anthropic_defaults last) and cannot be listed; remove this entry")]
    Fixed(String),
    #[error("transformer '{name}': {error}")]
    Options { name: String, error: OptionsError },
}

/// Request or response transformer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Request,
    Response,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Request => "request",
            Kind::Response => "response",
        })
    }
}

type Factory<T> = Arc<dyn Fn(Options) -> Result<Arc<T>, OptionsError> + Send + Sync>;

/// Transformer names and their factories. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    request: BTreeMap<String, Factory<dyn RequestTransformer>>,
    response: BTreeMap<String, Factory<dyn ResponseTransformer>>,
}

impl Default for Registry {
    /// The built-ins.
    fn default() -> Self {
        Registry::builtin()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("request", &self.request_names())
            .field("response", &self.response_names())
            .finish()
    }
}

fn deserialize<O: DeserializeOwned>(options: Options) -> Result<O, OptionsError> {
    Ok(serde_json::from_value(Value::Object(options))?)
}

impl Registry {
    /// A registry without any transformer.
    pub fn empty() -> Self {
        Registry {
            request: BTreeMap::new(),
            response: BTreeMap::new(),
        }
    }

    /// The built-in configurable transformers: request transformers `system_prompt`,
    /// `max_tokens_limit`, `beta_filter`, `redact`; response transformer `legacy_completion`.
    pub fn builtin() -> Self {
        let mut r = Registry::empty();
        r.register_request("system_prompt", SystemPrompt::new)
            .register_request("max_tokens_limit", MaxTokensLimit::new)
            .register_request("beta_filter", BetaFilter::new)
            .register_request("redact", Redact::new)
            .register_response("legacy_completion", LegacyCompletion::new);
        r
    }

    /// Register a request transformer under `name`. The factory gets the entry's options
    /// deserialized into `O` (give `O` `#[serde(deny_unknown_fields)]` so a misspelt option is
    /// an error; use [`NoOptions`] for none) and returns the transformer or why the options
    /// are wrong. Registering a name again replaces the earlier factory, built-ins included.
    pub fn register_request<O, T, F>(&mut self, name: impl Into<String>, factory: F) -> &mut Self
    where
        O: DeserializeOwned + 'static,
        T: RequestTransformer + 'static,
        F: Fn(O) -> Result<T, OptionsError> + Send + Sync + 'static,
    {
        let make = move |options: Options| -> Result<Arc<dyn RequestTransformer>, OptionsError> {
            Ok(Arc::new(factory(deserialize(options)?)?))
        };
        self.request.insert(name.into(), Arc::new(make));
        self
    }

    /// Register a response transformer under `name`; see [`Registry::register_request`].
    pub fn register_response<O, T, F>(&mut self, name: impl Into<String>, factory: F) -> &mut Self
    where
        O: DeserializeOwned + 'static,
        T: ResponseTransformer + 'static,
        F: Fn(O) -> Result<T, OptionsError> + Send + Sync + 'static,
    {
        let make = move |options: Options| -> Result<Arc<dyn ResponseTransformer>, OptionsError> {
            Ok(Arc::new(factory(deserialize(options)?)?))
        };
        self.response.insert(name.into(), Arc::new(make));
        self
    }

    /// Registered request transformer names, sorted.
    pub fn request_names(&self) -> Vec<&str> {
        self.request.keys().map(String::as_str).collect()
    }

    /// Registered response transformer names, sorted.
    pub fn response_names(&self) -> Vec<&str> {
        self.response.keys().map(String::as_str).collect()
    }

    /// Build the request transformer `name` from `options`.
    pub fn build_request(
        &self,
        name: &str,
        options: Options,
    ) -> Result<Arc<dyn RequestTransformer>, BuildError> {
        let factory = self.lookup(&self.request, Kind::Request, name)?;
        factory(options).map_err(|error| BuildError::Options {
            name: name.to_string(),
            error,
        })
    }

    /// Build the response transformer `name` from `options`.
    pub fn build_response(
        &self,
        name: &str,
        options: Options,
    ) -> Result<Arc<dyn ResponseTransformer>, BuildError> {
        let factory = self.lookup(&self.response, Kind::Response, name)?;
        factory(options).map_err(|error| BuildError::Options {
            name: name.to_string(),
            error,
        })
    }

    fn lookup<'a, T: ?Sized>(
        &self,
        map: &'a BTreeMap<String, Factory<T>>,
        kind: Kind,
        name: &str,
    ) -> Result<&'a Factory<T>, BuildError> {
        if FIXED.contains(&name) {
            return Err(BuildError::Fixed(name.to_string()));
        }
        if let Some(f) = map.get(name) {
            return Ok(f);
        }
        let (other, other_kind) = match kind {
            Kind::Request => (self.response.contains_key(name), Kind::Response),
            Kind::Response => (self.request.contains_key(name), Kind::Request),
        };
        if other {
            return Err(BuildError::WrongKind {
                name: name.to_string(),
                actual: other_kind,
            });
        }
        let known: Vec<&str> = map.keys().map(String::as_str).collect();
        Err(BuildError::Unknown {
            kind,
            name: name.to_string(),
            known: if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::{obj, RequestContext, TransformError};
    use serde_json::json;

    struct Tag(String);
    impl RequestTransformer for Tag {
        fn name(&self) -> &str {
            "tag"
        }
        fn transform(
            &self,
            _ctx: &RequestContext<'_>,
            body: &mut Map<String, Value>,
        ) -> Result<(), TransformError> {
            body.insert("tag".into(), Value::String(self.0.clone()));
            Ok(())
        }
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct TagOptions {
        value: String,
    }

    #[test]
    fn builtins_are_registered_by_kind() {
        let r = Registry::builtin();
        assert_eq!(
            r.request_names(),
            ["beta_filter", "max_tokens_limit", "redact", "system_prompt"]
        );
        assert_eq!(r.response_names(), ["legacy_completion"]);
    }

    #[test]
    fn unknown_wrong_kind_and_fixed_names_are_explained() {
        let r = Registry::builtin();
        let e = r
            .build_request("sytem_prompt", Options::new())
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "unknown request transformer 'sytem_prompt'; known request transformers: beta_filter, max_tokens_limit, redact, system_prompt"
        );
        let e = r
            .build_request("legacy_completion", Options::new())
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "'legacy_completion' is a response transformer; list it under response_transformers"
        );
        let e = r
            .build_request("anthropic_defaults", Options::new())
            .err()
            .unwrap();
        assert!(matches!(e, BuildError::Fixed(_)), "{e}");
        let e = Registry::empty()
            .build_response("x", Options::new())
            .err()
            .unwrap();
        assert!(e.to_string().ends_with("known response transformers: none"));
    }

    #[test]
    fn factories_get_typed_options_and_unknown_keys_fail() {
        let mut r = Registry::empty();
        r.register_request("tag", |o: TagOptions| Ok(Tag(o.value)));
        let t = r.build_request("tag", obj(json!({"value": "x"}))).unwrap();
        let headers = http::HeaderMap::new();
        let ctx =
            crate::transform::test_context(&headers, crate::transform::EndpointKind::Invoke, false);
        let mut body = Map::new();
        t.transform(&ctx, &mut body).unwrap();
        assert_eq!(body["tag"], "x");

        let e = r
            .build_request("tag", obj(json!({"value": "x", "valeu": 1})))
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "transformer 'tag': unknown option `valeu`, expected `value`"
        );
        let e = r.build_request("tag", Options::new()).err().unwrap();
        assert_eq!(e.to_string(), "transformer 'tag': missing option `value`");
        let e = r
            .build_request("tag", obj(json!({"value": 5})))
            .err()
            .unwrap();
        assert!(e.to_string().contains("invalid type"), "{e}");
    }

    #[test]
    fn no_options_refuses_any_key_and_names_can_be_replaced() {
        let mut r = Registry::builtin();
        r.register_request("system_prompt", |_: NoOptions| Ok(Tag("mine".into())));
        assert!(r.build_request("system_prompt", Options::new()).is_ok());
        let e = r
            .build_request("system_prompt", obj(json!({"text": "x"})))
            .err()
            .unwrap();
        assert!(
            e.to_string().contains("this transformer takes no options"),
            "{e}"
        );
    }
}
