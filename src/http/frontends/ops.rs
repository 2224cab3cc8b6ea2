//! `GET /health`: liveness, without touching AWS.

use poem_openapi::{payload::Json, Object, OpenApi};

use crate::http::ApiTags;

pub struct HealthApi;

#[derive(Object)]
pub struct Health {
    /// Always `ok` while the process serves requests.
    pub status: String,
    pub version: String,
}

#[OpenApi]
impl HealthApi {
    /// Liveness check
    ///
    /// Answers 200 as long as the server runs. Does not call AWS.
    #[oai(path = "/health", method = "get", tag = "ApiTags::Health")]
    async fn health(&self) -> Json<Health> {
        Json(Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        })
    }
}
