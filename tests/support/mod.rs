//! Test support: the fake Bedrock (`fake`, the `fake-bedrock` crate in tests/fake-bedrock), a
//! proxy booted in-process against it, the binary started as a child process, and a small SSE
//! parser. Everything binds to 127.0.0.1:0.
#![allow(dead_code)]

#[allow(unused_imports)]
pub use fake_bedrock as fake;

pub mod prometheus;
pub mod py;
#[allow(unused_imports)]
pub use py::{py, run_py, PY_TIMEOUT};

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_credential_types::Credentials;
use bedrock_proxy::bedrock::CredentialStore;
use bedrock_proxy::config::{Config, Sources};
use bedrock_proxy::ProxyBuilder;

#[allow(unused_imports)]
pub use fake::{Behavior, FakeBedrock, StreamScript};

/// A proxy running in this test process.
pub struct Proxy {
    pub url: String,
    pub http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A scratch directory under cargo's per-test temp dir (inside `target/`).
pub fn scratch_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("bp-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir")
}

/// Boot the proxy with `toml` as its proxy.toml, pointed at `fake` through
/// `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, with the fake's credentials.
pub async fn start_proxy(fake: &FakeBedrock, toml: &str) -> Proxy {
    start_proxy_with(fake, toml, &[]).await
}

/// Like `start_proxy`, with extra variables for the configuration loader.
pub async fn start_proxy_with(fake: &FakeBedrock, toml: &str, vars: &[(&str, &str)]) -> Proxy {
    start_proxy_custom(fake, toml, vars, |b| b).await
}

/// Like `start_proxy_with`, letting the test add to the builder (e.g. transformers).
pub async fn start_proxy_custom(
    fake: &FakeBedrock,
    toml: &str,
    vars: &[(&str, &str)],
    customize: impl FnOnce(ProxyBuilder) -> ProxyBuilder,
) -> Proxy {
    let dir = scratch_dir();
    let path = dir.path().join("proxy.toml");
    std::fs::write(&path, toml).expect("write proxy.toml");
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("AWS_ENDPOINT_URL_BEDROCK_RUNTIME".into(), fake.url());
    env.insert("AWS_ENDPOINT_URL_BEDROCK".into(), fake.url());
    for (k, v) in vars {
        env.insert(k.to_string(), v.to_string());
    }
    let lookup = move |k: &str| env.get(k).cloned();
    let config = Config::load(&Sources {
        config_path: Some(path),
        env: &lookup,
    })
    .expect("config loads");
    let creds = fake.creds();
    let credentials = Credentials::new(
        creds.access_key,
        creds.secret_key,
        creds.session_token,
        None,
        "test",
    );
    let builder =
        ProxyBuilder::new(config).credentials(CredentialStore::from_provider(credentials));
    let app = customize(builder).build().await.expect("proxy builds");
    let (addr, serve) = app
        .bind(
            Some("127.0.0.1:0".parse().expect("addr")),
            std::future::pending(),
            Duration::from_secs(1),
        )
        .await
        .expect("bind");
    let task = tokio::spawn(async move {
        let _ = serve.await;
    });
    Proxy {
        url: format!("http://{addr}"),
        http: reqwest::Client::new(),
        task,
        _dir: dir,
    }
}

impl Proxy {
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http
            .post(format!("{}{}", self.url, path))
            .json(body)
            .send()
            .await
            .expect("proxy answers")
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: &str) -> reqwest::Response {
        self.http
            .post(format!("{}{}", self.url, path))
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .await
            .expect("proxy answers")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{}", self.url, path))
            .send()
            .await
            .expect("proxy answers")
    }
}

/// A minimal Messages body.
pub fn hi() -> serde_json::Value {
    serde_json::json!({"messages":[{"role":"user","content":"Hi"}],"max_tokens":10})
}

/// Parse an SSE body into (event, data) pairs; comment lines are counted separately.
pub fn parse_sse(text: &str) -> (Vec<(String, String)>, usize) {
    let mut events = Vec::new();
    let mut comments = 0;
    for block in text.split("\n\n") {
        let mut name = String::from("message");
        let mut data: Vec<&str> = Vec::new();
        let mut any = false;
        for line in block.lines() {
            if line.starts_with(':') {
                comments += 1;
            } else if let Some(v) = line.strip_prefix("event: ") {
                name = v.to_string();
                any = true;
            } else if let Some(v) = line.strip_prefix("data: ") {
                data.push(v);
                any = true;
            }
        }
        if any {
            events.push((name, data.join("\n")));
        }
    }
    (events, comments)
}

/// The text of all `text_delta`s in a parsed Anthropic SSE stream.
pub fn sse_text(events: &[(String, String)]) -> String {
    events
        .iter()
        .filter(|(name, _)| name == "content_block_delta")
        .filter_map(|(_, data)| serde_json::from_str::<serde_json::Value>(data).ok())
        .filter_map(|v| v["delta"]["text"].as_str().map(str::to_string))
        .collect()
}

/// The proxy binary, run as a child process in `dir` with a clean environment.
pub struct Binary {
    pub child: Child,
    pub url: String,
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn binary_path() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_bedrock-proxy"))
}

/// A command for the binary with only `vars` in its environment (plus a HOME with no AWS
/// files and IMDS disabled, so the credential chain never leaves the machine).
pub fn command(dir: &Path, vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(binary_path());
    cmd.current_dir(dir)
        .env_clear()
        .env("HOME", dir)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials"),
        );
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

/// Start the binary on a free port and wait until it logs its address.
pub fn spawn_binary(dir: &Path, vars: &[(&str, &str)]) -> Binary {
    let mut all: Vec<(&str, &str)> = vec![("PROXY_SERVER__PORT", "0"), ("RUST_LOG", "info")];
    all.extend_from_slice(vars);
    let mut child = command(dir, &all)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn proxy binary");
    let stdout = child.stdout.take().expect("stdout");
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let log2 = log.clone();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !sent {
                if let Some(i) = line.find("listening on http://") {
                    let rest = &line[i + "listening on ".len()..];
                    let url = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(url);
                    sent = true;
                }
            }
            log2.lock().expect("log lock").push(line);
        }
    });
    let url = match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(url) => url,
        Err(_) => {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("proxy binary did not start: {err}");
        }
    };
    Binary { child, url, log }
}
