use std::net::SocketAddr;
use std::time::Duration;

/// Checked `[server]`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    pub stream_keepalive: Duration,
    /// How long in-flight requests and streams may run after SIGTERM / Ctrl-C.
    pub shutdown_grace: Duration,
    /// Origins browsers may call from (`scheme://host[:port]`, or `*`); empty: CORS off.
    pub cors_allowed_origins: Vec<String>,
}
