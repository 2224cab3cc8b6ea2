//! The `bedrock-proxy` binary: read arguments, load `.env` and configuration, start logging,
//! serve.

#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use bedrock_proxy::config::{process_env, Config, Sources};
use bedrock_proxy::settings::LogFormat;
use bedrock_proxy::transform::ProfileChains;
use bedrock_proxy::ProxyBuilder;

/// mimalloc instead of glibc's malloc: the proxy allocates many small, short-lived buffers per
/// request (headers, JSON maps, signing strings), and glibc's allocator was about an eighth of
/// its CPU time under load (docs/performance.md). Built with `no_thp`: with transparent huge
/// pages its arena committed 28 MB at start-up, and idle RSS was 46 MB instead of 26 MB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
bedrock-proxy: a local HTTP proxy to AWS Bedrock with SigV4 signing

USAGE:
    bedrock-proxy [--config PATH] [--check | --openapi]

OPTIONS:
    -c, --config PATH
                    configuration file (default: $PROXY_CONFIG, else ./proxy.toml if present)
    --check         load and validate the configuration, print the resolved profiles, exit
    --openapi       print the OpenAPI document and exit
    -h, --help      this text
    -V, --version   the version

Environment: .env is loaded first (it never overrides variables already set); RUST_LOG sets
the log level; PROXY_SERVER__PORT=8080 style variables override proxy.toml; PROXY_API_KEYS or
PROXY_API_KEYS_FILE set client API keys. See docs/configuration.md.";

struct Args {
    config: Option<PathBuf>,
    check: bool,
    openapi: bool,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        config: None,
        check: false,
        openapi: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--config" | "-c" => {
                let path = it.next().ok_or("--config needs a path")?;
                args.config = Some(PathBuf::from(path));
            }
            s if s.starts_with("--config=") => {
                args.config = Some(PathBuf::from(&s["--config=".len()..]));
            }
            "--check" => args.check = true,
            "--openapi" => args.openapi = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("bedrock-proxy {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            other => return Err(format!("unknown argument '{other}'\n\n{USAGE}")),
        }
    }
    Ok(Some(args))
}

fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // aws-sigv4 traces canonical requests and signing parameters at trace level: never log them.
    let filter = filter
        .add_directive("aws_sigv4=off".parse().expect("static directive"))
        .add_directive("aws_smithy_runtime=warn".parse().expect("static directive"))
        .add_directive("aws_config=warn".parse().expect("static directive"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        // One JSON object per line; the span's fields (request id, route) ride along.
        LogFormat::Json => builder.json().with_current_span(true).init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .init(),
    }
}

/// Resolves on Ctrl-C or SIGTERM; in-flight requests and streams then get `grace`.
async fn shutdown_signal(grace: std::time::Duration) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: no new connections; in-flight requests get {grace:?}");
}

/// What `--check` prints: the resolved configuration, never a secret.
fn print_check(config: &Config, chains: &BTreeMap<String, ProfileChains>) {
    println!("configuration OK; listening address {}", config.server.addr);
    println!("default profile: {}", config.default_profile);
    let list = |names: Vec<String>| {
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    for p in &config.profiles {
        print!(
            "profile {}: model_id={} region={} endpoint={} max_attempts={}",
            p.name, p.model_id, p.region, p.runtime_endpoint, p.retry.max_attempts
        );
        if p.fallback.is_empty() {
            println!();
        } else {
            println!(" fallback={}", p.fallback.join(","));
        }
        if let Some(c) = chains.get(&p.name) {
            println!("  request transformers: {}", list(c.request.names()));
            println!("  response transformers: {}", list(c.response.names()));
        }
    }
    let auth = &config.auth;
    if auth.keys.is_empty() {
        println!("client API keys: none (no authentication)");
    } else {
        let open = if auth.open_paths.is_empty() {
            "nothing".to_string()
        } else {
            auth.open_paths.join(", ")
        };
        println!(
            "client API keys: {} (open without a key: {open})",
            auth.keys.len()
        );
    }
    let limits = &config.limits;
    println!(
        "limits: body {} bytes, {} concurrent Bedrock calls (queue timeout {:?})",
        limits.max_body_bytes,
        limits
            .max_concurrent_upstream
            .map_or("unlimited".to_string(), |n| n.to_string()),
        limits.queue_timeout
    );
    for w in &config.warnings {
        println!("warning: {w}");
    }
}

/// Everything after the arguments; an `Err` is printed and exits with status 1.
async fn run(args: Args) -> Result<(), String> {
    if let Err(e) = dotenvy::from_path(".env") {
        if !e.not_found() {
            return Err(format!("cannot read .env: {e}"));
        }
    }
    let config = Config::load(&Sources {
        config_path: args.config,
        env: &process_env,
    })
    .map_err(|e| e.to_string())?;
    init_tracing(config.log.format);
    if args.check {
        // Building the transformer chains validates their names and options.
        let chains = ProxyBuilder::new(config.clone())
            .chains()
            .map_err(|e| e.to_string())?;
        print_check(&config, &chains);
        return Ok(());
    }
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    let app = ProxyBuilder::new(config)
        .build()
        .await
        .map_err(|e| e.to_string())?;
    if args.openapi {
        println!("{}", app.openapi_json());
        return Ok(());
    }
    let grace = app.config.server.shutdown_grace;
    let (addr, serve) = app
        .bind(None, shutdown_signal(grace), grace)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("bedrock-proxy listening on http://{addr} (Swagger UI: http://{addr}/docs)");
    serve.await.map_err(|e| {
        tracing::error!("{e}");
        e.to_string()
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
