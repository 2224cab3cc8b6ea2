//! `[server]`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use figment::Figment;

use super::{duration, invalid};
use crate::config::{RawConfig, RawServer};
use crate::settings::{ConfigError, ServerConfig};

/// `[server]` without `default_profile` (checked once the profiles are).
pub(super) fn server(figment: &Figment, raw: &RawServer) -> Result<ServerConfig, ConfigError> {
    let host = parse_host(figment, &raw.host)?;
    let stream_keepalive = duration(
        figment,
        "server.stream_keepalive_secs",
        raw.stream_keepalive_secs,
    )?;
    let shutdown_grace = duration(
        figment,
        "server.shutdown_grace_secs",
        raw.shutdown_grace_secs,
    )?;
    for origin in &raw.cors_allowed_origins {
        check_origin(origin).map_err(|why| {
            invalid(
                figment,
                "server.cors_allowed_origins",
                format!("'{origin}' {why}"),
            )
        })?;
    }
    Ok(ServerConfig {
        addr: SocketAddr::new(host, raw.port),
        stream_keepalive,
        shutdown_grace,
        cors_allowed_origins: raw.cors_allowed_origins.clone(),
    })
}

/// An origin as browsers send it: `http(s)://host[:port]`, no path, no trailing slash; or `*`.
fn check_origin(origin: &str) -> Result<(), &'static str> {
    if origin == "*" {
        return Ok(());
    }
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return Err("is not an origin: write it as a browser sends it, e.g. https://app.example or http://localhost:8080 (or * for any)");
    };
    let ok = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    if ok {
        Ok(())
    } else {
        Err("is not an origin: only scheme://host[:port], without a path or trailing slash")
    }
}

fn parse_host(figment: &Figment, host: &str) -> Result<IpAddr, ConfigError> {
    if host == "localhost" {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    host.parse().map_err(|_| {
        invalid(
            figment,
            "server.host",
            format!("'{host}' is not an IP address (use e.g. 127.0.0.1, ::1 or 0.0.0.0)"),
        )
    })
}

/// `server.default_profile`, which must name a defined profile.
pub(super) fn default_profile(figment: &Figment, raw: &RawConfig) -> Result<String, ConfigError> {
    let default_profile = raw.server.default_profile.clone();
    if !raw.profiles.contains_key(&default_profile) {
        return Err(invalid(
            figment,
            "server.default_profile",
            format!(
                "profile '{default_profile}' is not defined; defined profiles: {}",
                raw.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    Ok(default_profile)
}
